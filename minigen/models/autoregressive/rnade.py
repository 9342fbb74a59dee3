"""RNADE: the real-valued NADE, each conditional a mixture of K Gaussians.

Idea: NADE's shared hidden state, read out as a mixture density network per dimension
(Uria, Murray & Larochelle, 2013, "RNADE: The real-valued neural autoregressive
density-estimator", NeurIPS):

    a_i = c + W_{:,<i} x_<i        hidden pre-activation (H,); a_{i+1} = a_i + W_{:,i} x_i
    h_i = σ(ρ_i a_i)               ρ_i the paper's learned activity rescaling
    α_i = V^α_i h_i + b^α_i        mixing logits (K,)
    μ_i = V^μ_i h_i + b^μ_i        means (K,)
    log s_i = V^s_i h_i + b^s_i    log standard deviations (K,)
    p(x_i | x_<i) = Σ_k softmax(α_i)_k N(x_i; μ_ik, s_ik²)

Objective: the exact negative log-density, computed stably,
    −log p(x) = −Σ_i logsumexp_k [log_softmax(α_i)_k + log N(x_i; μ_ik, s_ik²)].

It is a density (nats per example), so on dequantised digits its values are not
comparable with the NLL of a binary model: with y = (g + u)/17, E[log p(y)] − D log 17
lower-bounds the discrete log-likelihood of the grey levels g (see minigen.data.dequantize).

Deviations: the scale is parameterised by its log (the paper exponentiates a linear
output too, so this is the same); ρ_i starts at 1 and can be switched off
(``rescale=False``); initialisation is torch.nn.Linear's uniform ±1/√fan_in with mixture
means' biases drawn from N(0, 1) so the K components start apart.

Ordering: images (N, 1, H, W) are flattened row-major (raster order); vectors (N, D) as
given. Data: any real values (dequantised digits in [0, 1], 2-D toy sets). ``log_prob``,
``loss``, ``sample`` and ``complete`` come from
:class:`minigen.models.autoregressive.base.AutoregressiveVectorModel`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.distributions import MixtureOfNormals
from minigen.models.autoregressive.base import AutoregressiveVectorModel
from minigen.nn.layers import uniform_init
from minigen.nn.module import Parameter

from .nade import hidden_preactivations


class RNADE(AutoregressiveVectorModel):
    """Real-valued NADE with a K-component Gaussian mixture per conditional.

    Parameters
    ----------
    data_shape : one example's shape, (1, H, W) or (D,)
    rng : draws the initial weights
    hidden : H
    num_components : K
    rescale : learn the activity rescaling ρ_i (else ρ_i = 1)
    """

    def __init__(
        self,
        data_shape: tuple[int, ...],
        *,
        rng: np.random.Generator,
        hidden: int = 50,
        num_components: int = 5,
        rescale: bool = True,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        for name, value in (("hidden", hidden), ("num_components", num_components)):
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"RNADE: {name} must be an int >= 1, got {value!r}")
        self.set_data_shape(data_shape)
        dims = self.num_dims
        self.hidden = hidden = int(hidden)
        self.num_components = k = int(num_components)
        self.input_weight = Parameter(uniform_init((hidden, dims), 1 / np.sqrt(dims), rng, dtype))
        self.hidden_bias = Parameter(np.zeros(hidden, dtype))
        self.activity_scale = Parameter(np.ones(dims, dtype)) if rescale else None  # ρ
        # Per dimension i, one (H, 3K) read-out: columns [α | μ | log s].
        self.output_weight = Parameter(
            uniform_init((dims, hidden, 3 * k), 1 / np.sqrt(hidden), rng, dtype))
        bias = np.zeros((dims, 3 * k), dtype)
        bias[:, k:2 * k] = rng.standard_normal((dims, k))
        self.output_bias = Parameter(bias)

    def logits(self, x: Any) -> Tensor:
        """Mixture parameters of every conditional p(x_i | x_<i).

        x : (N, *data_shape) -> (N, D, 3, K): [:, i, 0] mixing logits α_i,
        [:, i, 1] means μ_i, [:, i, 2] log standard deviations log s_i.
        """
        return self._logits(self.flatten(x))

    def _logits(self, flat: Tensor) -> Tensor:
        n = flat.shape[0]
        # a_i = c + W_{:,<i} x_<i, as in NADE
        activation = hidden_preactivations(flat, self.input_weight, self.hidden_bias)
        if self.activity_scale is not None:
            activation = activation * self.activity_scale.reshape(self.num_dims, 1)  # ρ_i a_i
        hidden = ag.sigmoid(activation)  # h_i = σ(ρ_i a_i)
        # (D, N, H) @ (D, H, 3K): dimension i read out by its own V_i
        params = hidden.transpose(1, 0, 2) @ self.output_weight
        params = params.transpose(1, 0, 2) + self.output_bias
        return params.reshape(n, self.num_dims, 3, self.num_components)

    def _log_prob_tensor(self, flat: Tensor) -> Tensor:
        params = self._logits(flat)
        conditionals = MixtureOfNormals(params[:, :, 0], params[:, :, 1], params[:, :, 2])
        # log p(x) = Σ_i logsumexp_k [log_softmax(α_i)_k + log N(x_i; μ_ik, s_ik²)]
        return conditionals.log_prob(flat).sum(axis=1)

    def _fill(self, flat: np.ndarray, num_given: int, rng: np.random.Generator) -> np.ndarray:
        """Sample dims num_given..D−1 in order, updating a_i incrementally: O(DHK) each."""
        weight = self.input_weight.data
        rho = (self.activity_scale.data if self.activity_scale is not None
               else np.ones(self.num_dims))
        activation = self.hidden_bias.data + flat[:, :num_given] @ weight[:, :num_given].T
        for i in range(num_given, self.num_dims):
            hidden = ag.sigmoid(Tensor(rho[i] * activation)).data  # h_i = σ(ρ_i a_i)
            params = hidden @ self.output_weight.data[i] + self.output_bias.data[i]
            # x_i ~ Σ_k softmax(α_i)_k N(μ_ik, s_ik²)
            flat[:, i] = MixtureOfNormals(*np.split(params, 3, axis=1)).sample(rng)
            activation = activation + np.outer(flat[:, i], weight[:, i])  # a_{i+1}
        return flat

    def extra_repr(self) -> str:
        return (f"num_dims={self.num_dims}, hidden={self.hidden}, "
                f"num_components={self.num_components}")

"""NADE: the neural autoregressive distribution estimator for binary vectors.

Idea: FVSBN with its D(D−1)/2 weights replaced by a one-hidden-layer network whose
weights are shared by every conditional (Larochelle & Murray, 2011, "The Neural
Autoregressive Distribution Estimator", AISTATS):

    a_i = c + W_{:,<i} x_<i                    (H,)  hidden pre-activation for pixel i
    h_i = σ(a_i)                               sigmoid hidden units, as in the paper
    p(x_i = 1 | x_<i) = σ(b_i + V_i · h_i)     the logit l_i = b_i + V_i · h_i

with W (H, D), c (H,), V (D, H), b (D,). Because a_{i+1} = a_i + W_{:,i} x_i, all D
hidden states cost O(DH) per example rather than O(D²H): a cumulative sum over the
columns of W weighted by x.
Objective: the exact negative log-likelihood −log p(x) = −Σ_i [x_i l_i − softplus(l_i)].

Deviations: none in the model. Parameters are initialised as torch.nn.Linear would
(uniform ±1/√fan_in for W and V, zero biases) rather than the paper's scheme. In the
loss the cumulative sum is one matmul by a strictly lower-triangular matrix of ones
(vectorised over the batch, O(D²H) multiply-adds done in BLAS, faster here than D
recorded steps); sampling uses the incremental O(DH) update.

Ordering: images (N, 1, H, W) are flattened row-major (raster order); vectors (N, D) as
given. Binary data: x ∈ {0, 1}. ``log_prob``, ``loss``, ``sample`` and ``complete`` come
from :class:`minigen.models.autoregressive.base.AutoregressiveVectorModel`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.distributions import Bernoulli
from minigen.models.autoregressive.base import AutoregressiveVectorModel
from minigen.nn.layers import uniform_init
from minigen.nn.module import Parameter


def hidden_preactivations(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """a_i = c + Σ_{j<i} W_{:,j} x_j for every i at once: the exclusive cumulative sum of
    the columns x_j W_{:,j}, as one matmul by before[i, j] = [j < i].

    x : (N, D), weight W : (H, D), bias c : (H,) -> (N, D, H).
    """
    num_dims = x.shape[1]
    columns = x.reshape(x.shape[0], num_dims, 1) * weight.T  # x_j W_{:,j}
    before = np.tril(np.ones((num_dims, num_dims), columns.dtype), -1)
    return ag.matmul(before, columns) + bias


class NADE(AutoregressiveVectorModel):
    """Binary NADE with ``hidden`` sigmoid units shared by all D conditionals.

    Parameters
    ----------
    data_shape : one example's shape, (1, H, W) or (D,)
    rng : draws the initial weights
    hidden : H
    """

    def __init__(
        self,
        data_shape: tuple[int, ...],
        *,
        rng: np.random.Generator,
        hidden: int = 100,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        if isinstance(hidden, bool) or int(hidden) != hidden or hidden < 1:
            raise ValueError(f"NADE: hidden must be an int >= 1, got {hidden!r}")
        self.set_data_shape(data_shape)
        dims = self.num_dims
        self.hidden = hidden = int(hidden)
        self.input_weight = Parameter(uniform_init((hidden, dims), 1 / np.sqrt(dims), rng, dtype))
        self.hidden_bias = Parameter(np.zeros(hidden, dtype))
        self.output_weight = Parameter(
            uniform_init((dims, hidden), 1 / np.sqrt(hidden), rng, dtype))
        self.output_bias = Parameter(np.zeros(dims, dtype))

    def logits(self, x: Any) -> Tensor:
        """l_i = b_i + V_i · σ(a_i).  x : (N, *data_shape) -> (N, D)."""
        return self._logits(self.flatten(x))

    def _logits(self, flat: Tensor) -> Tensor:
        activation = hidden_preactivations(flat, self.input_weight, self.hidden_bias)  # a_i
        hidden = ag.sigmoid(activation)  # h_i = σ(a_i)
        return (hidden * self.output_weight).sum(axis=2) + self.output_bias

    def _log_prob_tensor(self, flat: Tensor) -> Tensor:
        # log p(x) = Σ_i log Bernoulli(x_i; σ(l_i)) = Σ_i [x_i l_i − softplus(l_i)]
        return Bernoulli(self._logits(flat)).log_prob(flat).sum(axis=1)

    def _fill(self, flat: np.ndarray, num_given: int, rng: np.random.Generator) -> np.ndarray:
        """Sample dims num_given..D−1 in order, updating a_i incrementally: O(DH) per example."""
        weight, out_weight = self.input_weight.data, self.output_weight.data
        out_bias = self.output_bias.data
        activation = self.hidden_bias.data + flat[:, :num_given] @ weight[:, :num_given].T
        for i in range(num_given, self.num_dims):
            hidden = ag.sigmoid(Tensor(activation)).data  # h_i = σ(a_i)
            logit = out_bias[i] + hidden @ out_weight[i]  # l_i = b_i + V_i · h_i
            flat[:, i] = Bernoulli(logit).sample(rng)
            activation = activation + np.outer(flat[:, i], weight[:, i])  # a_{i+1}
        return flat

    def extra_repr(self) -> str:
        return f"num_dims={self.num_dims}, hidden={self.hidden}"

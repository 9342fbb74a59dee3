"""The binary restricted Boltzmann machine, trained by contrastive divergence.

Visible units v ∈ {0,1}^V and hidden units h ∈ {0,1}^H, connected only across layers:

    E(v, h) = −bᵀv − cᵀh − vᵀWh,        p(v, h) = e^{−E(v,h)} / Z
    F(v)    = −log Σ_h e^{−E(v,h)} = −bᵀv − Σ_j softplus(c_j + (vᵀW)_j),
    p(v)    = e^{−F(v)} / Z.

Given one layer the other factorises: p(h_j=1|v) = σ(c_j + (vᵀW)_j) and
p(v_i=1|h) = σ(b_i + (Wh)_i), so a Gibbs sweep updates a whole layer at once. The
log-likelihood gradient is a difference of two expectations,

    ∇θ log p(v) = −∇θ F(v) + E_{v′~p}[∇θ F(v′)],

and the model term is estimated from a few Gibbs steps: started at the data (CD-k,
Hinton, 2002, "Training Products of Experts by Minimizing Contrastive Divergence") or
continued from persistent chains that live across updates (PCD, Tieleman, 2008,
"Training Restricted Boltzmann Machines using Approximations to the Likelihood
Gradient"). ``train_step`` writes this as the surrogate F̄(data) − F̄(negatives) with the
negatives held fixed, whose autograd gradient is exactly the CD estimate.

Z sums over 2^(V+H) states, but one layer can be summed analytically, so
``log_partition`` enumerates the smaller layer (refused above 20 units: 2^20 terms).
Larger models use annealed importance sampling (Neal, 2001; Salakhutdinov & Murray, 2008,
"On the Quantitative Analysis of Deep Belief Networks") from a base-rate model;
its Ẑ is unbiased, so log Ẑ is biased low on average and the NLL it gives optimistic.
``log_prob`` uses the exact value when it can and says which in ``metrics``.

Data: binary images in {0,1} ("digits-binary"); the visible units see them flattened.
Deviation: the optimiser is our SGD with momentum on the surrogate, instead of the
hand-written update of the papers; the update is the same.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.models.base import ChainSampler, ExplicitDensity, ReportsMetrics, TrainsItself
from minigen.nn import Parameter

EXACT_LIMIT = 20  # enumerate at most 2^20 states of the smaller layer
_CHUNK = 2**14


def binary_states(num_units: int, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Binary vectors number start..stop−1 (default all 2^num_units) in counting order.

    Returns (stop − start, num_units) float64; bit i of the number is unit i.
    """
    codes = np.arange(start, 2**num_units if stop is None else stop)[:, None]
    return ((codes >> np.arange(num_units)) & 1).astype(np.float64)


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return ag.sigmoid(a).data


def _softplus(a: np.ndarray) -> np.ndarray:
    return np.logaddexp(0, a)


def _bernoulli(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return (rng.random(probs.shape) < probs).astype(probs.dtype)


class RBM(TrainsItself, ExplicitDensity, ChainSampler, ReportsMetrics):
    """Binary RBM with V visible and H hidden units.

    Parameters
    ----------
    data_shape : one example's shape; V = its number of entries
    rng : draws the initial weights (N(0, 0.01²)) and the persistent chains
    hidden : H, the number of hidden units
    cd_steps : k, Gibbs steps per update
    persistent : PCD (chains kept across updates) instead of CD-k (chains start at data)
    num_chains : number of persistent chains
    """

    test_loss = False  # the CD surrogate is stochastic: no figure to compare

    def __init__(
        self,
        data_shape: tuple[int, ...],
        *,
        rng: np.random.Generator,
        hidden: int = 16,
        cd_steps: int = 1,
        persistent: bool = False,
        num_chains: int = 64,
    ) -> None:
        super().__init__()
        if cd_steps < 1 or hidden < 1 or num_chains < 1:
            raise ValueError(f"RBM: cd_steps, hidden and num_chains must be >= 1, got "
                             f"{cd_steps}, {hidden}, {num_chains}")
        self.data_shape = tuple(int(s) for s in data_shape)
        self.num_visible, self.num_hidden = int(np.prod(self.data_shape)), int(hidden)
        self.cd_steps, self.persistent = int(cd_steps), bool(persistent)
        shape = (self.num_visible, self.num_hidden)
        self.weight = Parameter(rng.normal(0, 0.01, shape).astype(np.float32))  # W
        self.visible_bias = Parameter(np.zeros(self.num_visible, np.float32))  # b
        self.hidden_bias = Parameter(np.zeros(self.num_hidden, np.float32))  # c
        chains = rng.random((num_chains, self.num_visible)) < 0.5
        self.register_buffer("chains", chains.astype(np.float32))
        # Marginal rate of each visible unit in the data seen so far: the AIS base model.
        self.register_buffer("base_rate", np.full(self.num_visible, 0.5, np.float32))
        self.register_buffer("examples_seen", np.zeros((), np.int64))

    # ----- energies and conditionals ------------------------------------------------
    def _flat(self, v: Any) -> np.ndarray:
        array = np.asarray(v.data if isinstance(v, Tensor) else v)
        if array.shape[1:] != self.data_shape and array.shape[1:] != (self.num_visible,):
            raise ValueError(f"RBM: v has shape {array.shape}, expected (N, "
                             f"{', '.join(map(str, self.data_shape))}) or (N, {self.num_visible})")
        return array.reshape(len(array), -1).astype(self.weight.dtype, copy=False)

    def energy(self, v: Any, h: Any) -> np.ndarray:
        """E(v, h) = −bᵀv − cᵀh − vᵀWh.  v : (N, V) or images, h : (N, H) -> (N,)."""
        v, h = self._flat(v), np.asarray(h, self.weight.dtype)
        W, b, c = self.weight.data, self.visible_bias.data, self.hidden_bias.data
        return -(v @ b) - (h @ c) - np.einsum("ni,ij,nj->n", v, W, h)

    def free_energy(self, v: Any) -> Tensor:
        """F(v) = −bᵀv − Σ_j softplus(c_j + (vᵀW)_j), recorded.  v : (N, ...) -> (N,)."""
        v = ag.Tensor(self._flat(v))
        hidden_input = v @ self.weight + self.hidden_bias  # c + vᵀW
        return -(v @ self.visible_bias) - ag.softplus(hidden_input).sum(axis=1)

    def hidden_probs(self, v: np.ndarray) -> np.ndarray:
        """p(h_j=1|v) = σ(c_j + (vᵀW)_j).  v : (N, V) -> (N, H)."""
        return _sigmoid(v @ self.weight.data + self.hidden_bias.data)

    def visible_probs(self, h: np.ndarray) -> np.ndarray:
        """p(v_i=1|h) = σ(b_i + (Wh)_i).  h : (N, H) -> (N, V)."""
        return _sigmoid(h @ self.weight.data.T + self.visible_bias.data)

    def gibbs_step(self, v: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One block Gibbs sweep v → h ~ p(h|v) → v′ ~ p(v|h).  v : (N, V) -> (N, V)."""
        hidden = _bernoulli(self.hidden_probs(v), rng)
        return _bernoulli(self.visible_probs(hidden), rng)

    def gibbs_chain(self, v0: Any, steps: int, rng: np.random.Generator,
                    every: int = 1) -> np.ndarray:
        """Frames v₀, v_every, v_2·every, … of a Gibbs chain : (T, N, *data_shape)."""
        if steps < 0 or every < 1:
            raise ValueError(f"gibbs_chain: steps must be >= 0 and every >= 1, got {steps}, "
                             f"{every}")
        v = self._flat(v0)
        frames = [v]
        for step in range(1, steps + 1):
            v = self.gibbs_step(v, rng)
            if step % every == 0:
                frames.append(v)
        return np.stack(frames).reshape(len(frames), len(v), *self.data_shape)

    def chain(self, v0: Any, steps: int, rng: np.random.Generator) -> np.ndarray:
        """Every frame of a Gibbs chain, (steps + 1, N, *data_shape) (the name the GSN's
        chain shares, so plots find both)."""
        return self.gibbs_chain(v0, steps, rng, every=1)

    # ----- training ----------------------------------------------------------------
    def players(self) -> dict[str, list[Parameter]]:
        """One player, the RBM: SGD with momentum on the CD surrogate (registry settings)."""
        return {"rbm": self.parameters()}

    def contrastive_divergence(self, data: np.ndarray, negatives: np.ndarray) -> Tensor:
        """F̄(data) − F̄(negatives), whose gradient is −(the CD estimate of ∇ log-likelihood)."""
        return self.free_energy(data).mean() - self.free_energy(negatives).mean()

    def loss(self, x: Any, rng: np.random.Generator) -> Tensor:
        """The CD-k surrogate with chains started at x (no persistent state is touched)."""
        data = self._flat(x)
        negatives = data
        for _ in range(self.cd_steps):
            negatives = self.gibbs_step(negatives, rng)
        return self.contrastive_divergence(data, negatives)

    def train_step(self, x: Any, rng: np.random.Generator) -> dict[str, float]:
        """One CD-k (or PCD-k) update on the batch x : (N, *data_shape)."""
        data = self._flat(x)
        self._update_base_rate(data)
        negatives = self.chains if self.persistent else data
        for _ in range(self.cd_steps):
            negatives = self.gibbs_step(negatives, rng)
        if self.persistent:
            self.chains = negatives
        # ∇[F̄(data) − F̄(negatives)] = −(∇ log-likelihood, CD estimate)
        surrogate = self.step_player("rbm", lambda: self.contrastive_divergence(data, negatives))
        reconstruction = self.visible_probs(self.hidden_probs(data))
        return {"free_energy_gap": surrogate,
                "reconstruction_mse": float(np.mean((reconstruction - data) ** 2))}

    def _update_base_rate(self, data: np.ndarray) -> None:
        seen = int(self.examples_seen) + len(data)
        self.base_rate = self.base_rate + (data.sum(axis=0) - len(data) * self.base_rate) / seen
        self.examples_seen = np.asarray(seen, np.int64)

    # ----- the partition function ----------------------------------------------------
    def log_partition(self) -> float:
        """log Z exactly, summing the smaller layer out analytically and enumerating it.

        log Z = log Σ_h exp(cᵀh + Σ_i softplus(b_i + (Wh)_i))   (or the same over v).
        """
        smaller = min(self.num_visible, self.num_hidden)
        if smaller > EXACT_LIMIT:
            raise ValueError(
                f"RBM.log_partition: enumerating the smaller layer needs 2^{smaller} terms "
                f"(V={self.num_visible}, H={self.num_hidden}); exact log Z is limited to "
                f"{EXACT_LIMIT} units. Use ais_log_partition(rng) for an estimate."
            )
        W = self.weight.data.astype(np.float64)
        b, c = self.visible_bias.data.astype(np.float64), self.hidden_bias.data.astype(np.float64)
        if self.num_hidden <= self.num_visible:
            enumerated, summed, weight = c, b, W.T  # states h; v summed out
        else:
            enumerated, summed, weight = b, c, W  # states v; h summed out
        terms = []
        for start in range(0, 2**smaller, _CHUNK):
            states = binary_states(smaller, start, min(start + _CHUNK, 2**smaller))
            terms.append(states @ enumerated + _softplus(states @ weight + summed).sum(axis=1))
        return float(np.logaddexp.reduce(np.concatenate(terms)))

    def ais_log_partition(self, rng: np.random.Generator, num_chains: int = 100,
                          num_betas: int = 1000, base_rate: Any = None) -> float:
        """Annealed importance sampling estimate of log Z.

        Intermediate models p_β*(v) = exp((1−β) b_Aᵀv + β bᵀv) Π_j (1 + e^{β(c_j+(vᵀW)_j)})
        go from the base-rate model (β=0: W=0, b_A = logit of ``base_rate``, default the
        running data mean; Z₀ = 2^H Π_i (1 + e^{b_A,i})) to the RBM (β=1) over
        ``num_betas`` evenly spaced β; each chain moves by one Gibbs sweep at each β.
        """
        rate = np.asarray(self.base_rate if base_rate is None else base_rate, np.float64)
        rate = np.clip(rate.reshape(-1), 1e-3, 1 - 1e-3)
        base_bias = np.log(rate) - np.log1p(-rate)  # b_A = logit(base rate)
        W = self.weight.data.astype(np.float64)
        b, c = self.visible_bias.data.astype(np.float64), self.hidden_bias.data.astype(np.float64)

        def log_p_star(v: np.ndarray, beta: float) -> np.ndarray:
            return ((1 - beta) * v @ base_bias + beta * v @ b
                    + _softplus(beta * (v @ W + c)).sum(axis=1))

        betas = np.linspace(0.0, 1.0, num_betas)
        v = _bernoulli(np.broadcast_to(_sigmoid(base_bias), (num_chains, len(b))), rng)
        log_weights = np.zeros(num_chains)
        for previous, beta in zip(betas[:-1], betas[1:]):
            log_weights += log_p_star(v, beta) - log_p_star(v, previous)  # w *= p_β*/p_β′*
            hidden = _bernoulli(_sigmoid(beta * (v @ W + c)), rng)  # a sweep leaving p_β fixed
            v = _bernoulli(_sigmoid((1 - beta) * base_bias + beta * (b + hidden @ W.T)), rng)
        log_z0 = _softplus(base_bias).sum() + self.num_hidden * math.log(2)
        return float(log_z0 + np.logaddexp.reduce(log_weights) - math.log(num_chains))

    @property
    def log_z_method(self) -> str:
        """"exact" when the smaller layer has at most 20 units, else "ais"."""
        return "exact" if min(self.num_visible, self.num_hidden) <= EXACT_LIMIT else "ais"

    def _log_z(self, rng: np.random.Generator | None) -> float:
        if self.log_z_method == "exact":
            return self.log_partition()
        return self.ais_log_partition(np.random.default_rng(0) if rng is None else rng)

    # ----- the model protocol --------------------------------------------------------
    def log_prob(self, x: Any, rng: np.random.Generator | None = None) -> np.ndarray:
        """log p(x) = −F(x) − log Z, nats per example : (N,).

        log Z is exact when the smaller layer has ≤ 20 units, else the AIS estimate
        (drawn with ``rng``, default a fixed seed 0, so repeated calls agree).
        """
        with ag.no_grad():
            free_energy = self.free_energy(x).data.astype(np.float64)
        return -free_energy - self._log_z(rng)

    def sample(self, n: int, rng: np.random.Generator, steps: int = 1000) -> np.ndarray:
        """n binary images after ``steps`` Gibbs sweeps from uniform noise."""
        start = _bernoulli(np.full((n, self.num_visible), 0.5, self.weight.dtype), rng)
        return self.gibbs_chain(start, steps, rng, every=max(steps, 1))[-1]

    def metrics(self, x: Any, rng: np.random.Generator | None = None) -> dict[str, float]:
        """Mean NLL, log Z, ``log_z_exact`` (1: enumeration, 0: AIS), reconstruction MSE."""
        data = self._flat(x)
        log_z = self._log_z(rng)
        with ag.no_grad():
            nll = self.free_energy(data).data.astype(np.float64).mean() + log_z
        reconstruction = self.visible_probs(self.hidden_probs(data))
        return {"nll": float(nll), "log_z": log_z,
                "log_z_exact": float(self.log_z_method == "exact"),
                "reconstruction_mse": float(np.mean((reconstruction - data) ** 2))}

    def extra_repr(self) -> str:
        return (f"num_visible={self.num_visible}, num_hidden={self.num_hidden}, "
                f"cd_steps={self.cd_steps}, persistent={self.persistent}")

"""The generative stochastic network: a denoising autoencoder run as a Markov chain.

Bengio, Thibodeau-Laufer, Alain & Yosinski (2014), "Deep Generative Stochastic Networks
Trainable by Backprop"; its simplest case is the walkback denoising autoencoder of
Bengio, Yao, Alain & Vincent (2013), "Generalized Denoising Auto-Encoders as Generative
Models". A corruption C(x̃|x) and a learned reconstruction distribution P_θ(x|x̃) (here
independent Bernoullis with logits g(f(x̃))) define the chain

    x_t  →  x̃_t ~ C(·|x_t)  →  x_{t+1} ~ P_θ(·|x̃_t),

whose stationary distribution approaches the data distribution when P_θ(x|x̃) is the true
posterior of the clean x given its corruption. No partition function, no explicit
density: the model is the transition operator, and samples come from running it.

Walkback training makes the chain's own wanderings part of the training set: starting at
a data point x, walk K steps with the current model and ask every step to return to x,

    L(x) = (1/K) Σ_{k=1}^{K} −log P_θ(x | x̃_k),
    x̃_1 ~ C(·|x),  x*_k ~ P_θ(·|x̃_k),  x̃_{k+1} ~ C(·|x*_k),

so spurious modes the chain would visit get unlearned. Samples x*_k are not
differentiated through (they are draws, held fixed), as in the paper.

C is salt-and-pepper noise: each pixel is, with probability ``noise_level``, replaced by
a fair coin flip. Data: binary images ("digits-binary").
Deviations: one tanh hidden layer per entry of ``hidden`` and noise at the input only (the
walkback DAE), not the paper's multi-layer GSN with noise injected in the hidden layers;
L is averaged rather than summed over the K steps, so it reads as nats per reconstruction.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.distributions import Bernoulli
from minigen.models.base import ChainSampler, Reconstructs, ReportsMetrics
from minigen.nn import Linear, Sequential


def salt_and_pepper(x: np.ndarray, probability: float, rng: np.random.Generator) -> np.ndarray:
    """Replace each entry, with ``probability``, by a fair coin flip in {0, 1}.

    x : any shape -> same shape and dtype.
    """
    if not 0 <= probability <= 1:
        raise ValueError(f"salt_and_pepper: probability must be in [0, 1], got {probability}")
    x = np.asarray(x)
    replaced = rng.random(x.shape) < probability
    coins = (rng.random(x.shape) < 0.5).astype(x.dtype)
    return np.where(replaced, coins, x).astype(x.dtype, copy=False)


class GSN(Reconstructs, ChainSampler, ReportsMetrics):
    """Walkback denoising autoencoder with Bernoulli reconstructions.

    Parameters
    ----------
    data_shape : one example's shape; D = its number of entries
    rng : draws the initial weights
    hidden : widths of the tanh hidden layers of x̃ ↦ logits
    noise_level : salt-and-pepper probability of C
    walkback : K, reconstructions per training example
    """

    def __init__(
        self,
        data_shape: tuple[int, ...],
        *,
        rng: np.random.Generator,
        hidden: tuple[int, ...] = (256,),
        noise_level: float = 0.2,
        walkback: int = 3,
    ) -> None:
        super().__init__()
        if not 0 <= noise_level <= 1 or walkback < 1:
            raise ValueError(f"GSN: noise_level must be in [0, 1] and walkback >= 1, got "
                             f"{noise_level} and {walkback}")
        self.data_shape = tuple(int(s) for s in data_shape)
        self.noise_level, self.walkback = float(noise_level), int(walkback)
        widths = (int(np.prod(self.data_shape)), *(int(h) for h in hidden))
        self.hidden_layers = Sequential(*[Linear(a, b, rng=rng)
                                          for a, b in zip(widths, widths[1:])])
        self.output = Linear(widths[-1], widths[0], rng=rng)

    def _as_array(self, x: Any) -> np.ndarray:
        array = np.asarray(x.data if isinstance(x, Tensor) else x)
        if array.shape[1:] != self.data_shape:
            raise ValueError(f"GSN: x has shape {array.shape}, expected "
                             f"(N, {', '.join(map(str, self.data_shape))})")
        return array.astype(self.output.weight.dtype, copy=False)

    def corrupt(self, x: Any, rng: np.random.Generator) -> np.ndarray:
        """x̃ ~ C(·|x), salt-and-pepper.  x : (N, *data_shape) -> same shape."""
        return salt_and_pepper(self._as_array(x), self.noise_level, rng)

    def forward(self, x_noisy: Any) -> Tensor:
        """Logits of P_θ(x | x̃).  x_noisy : (N, *data_shape) -> (N, *data_shape)."""
        hidden = ag.Tensor(self._as_array(x_noisy)).reshape(len(x_noisy), -1)
        for layer in self.hidden_layers:
            hidden = ag.tanh(layer(hidden))
        return self.output(hidden).reshape(len(x_noisy), *self.data_shape)

    def _reconstruction_nll(self, logits: Tensor, x: np.ndarray) -> Tensor:
        """−log P_θ(x | x̃) per example : (N,)."""
        return -Bernoulli(logits).log_prob(x).reshape(len(x), -1).sum(axis=1)

    # ----- the model protocol --------------------------------------------------------
    def loss(self, x: Any, rng: np.random.Generator) -> Tensor:
        """Walkback loss (1/K) Σ_k −log P_θ(x | x̃_k), mean over the batch (nats)."""
        x = self._as_array(x)
        walker, total = x, None
        for _ in range(self.walkback):
            logits = self(self.corrupt(walker, rng))
            step = self._reconstruction_nll(logits, x).mean()  # every step aims at the clean x
            total = step if total is None else total + step
            walker = Bernoulli(logits.detach()).sample(rng)  # x*_k ~ P_θ(·|x̃_k), held fixed
        return total / self.walkback

    def chain(self, x0: Any, steps: int, rng: np.random.Generator,
              probabilities: bool = False) -> np.ndarray:
        """Run the chain for ``steps`` transitions; frames (steps + 1, N, *data_shape).

        Frame 0 is x0; frame t is x_t ~ P_θ(·|C(x_{t−1})), or, with ``probabilities``,
        the mean E[x_t] = σ(logits) of that draw (smoother to look at; the chain itself
        always moves by the drawn x_t).
        """
        x = self._as_array(x0)
        frames = [x]
        with ag.no_grad():
            for _ in range(steps):
                reconstruction = Bernoulli(self(self.corrupt(x, rng)))
                x = reconstruction.sample(rng)
                frames.append(reconstruction.mean.data if probabilities else x)
        return np.stack(frames)

    def sample(self, n: int, rng: np.random.Generator, steps: int = 100) -> np.ndarray:
        """n binary images after ``steps`` transitions from uniform noise."""
        start = (rng.random((n, *self.data_shape)) < 0.5).astype(self.output.weight.dtype)
        return self.chain(start, steps, rng)[-1]

    def reconstruct(self, x: Any, rng: np.random.Generator) -> np.ndarray:
        """E[x | x̃] = σ(logits) for one corruption x̃ of x : (N, *data_shape)."""
        with ag.no_grad():
            return ag.sigmoid(self(self.corrupt(x, rng))).data

    def metrics(self, x: Any, rng: np.random.Generator | None = None) -> dict[str, float]:
        """One-step denoising NLL and MSE, and the walkback loss (needs ``rng``)."""
        rng = np.random.default_rng(0) if rng is None else rng
        x = self._as_array(x)
        with ag.no_grad():
            logits = self(self.corrupt(x, rng))
            nll = float(self._reconstruction_nll(logits, x).data.mean())
            walkback = float(self.loss(x, rng).item())
        mse = float(np.mean((ag.sigmoid(logits).data - x) ** 2))
        return {"denoising_nll": nll, "denoising_mse": mse, "walkback_loss": walkback}

    def extra_repr(self) -> str:
        return (f"data_shape={self.data_shape}, noise_level={self.noise_level}, "
                f"walkback={self.walkback}")

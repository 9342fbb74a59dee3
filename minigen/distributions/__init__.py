"""Probability distributions whose log densities, entropies and KLs are differentiable.

Parameters may be Tensors (gradients flow into them), arrays or numbers; methods return
Tensors; ``sample(rng)`` returns ndarrays and ``Normal.rsample(rng)`` a Tensor.
"""

from .bernoulli import Bernoulli
from .categorical import Categorical
from .distribution import Distribution
from .kl import kl_divergence
from .mixture import MixtureOfDiagonalNormals, MixtureOfNormals
from .normal import Normal

__all__ = ["Bernoulli", "Categorical", "Distribution", "MixtureOfDiagonalNormals",
           "MixtureOfNormals", "Normal", "kl_divergence"]

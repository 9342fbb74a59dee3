"""An exponential moving average of a module's weights (StyleGAN's G_ema, diffusion's EMA).

θ̄ ← decay · θ̄ + (1 − decay) · θ after every optimiser step. The averaged weights are
buffers of this module, so a model that owns an ``ExponentialMovingAverage`` saves and
restores them with its ``state_dict`` (and so in every checkpoint).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from .module import Module


class ExponentialMovingAverage(Module):
    """EMA of ``module``'s parameters.

    Parameters
    ----------
    module : the module whose parameters are averaged (not owned: it is not a submodule
        here, so its parameters are not counted twice)
    decay : weight of the past, 0 ≤ decay < 1 (0.999 typical)
    """

    def __init__(self, module: Module, decay: float = 0.999) -> None:
        super().__init__()
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"ExponentialMovingAverage: decay must be in [0, 1), got {decay}")
        object.__setattr__(self, "_tracked", module)  # a plain attribute: not a submodule
        self.decay = float(decay)
        self._names = [name for name, _ in module.named_parameters()]
        for index, (_, parameter) in enumerate(module.named_parameters()):
            self.register_buffer(f"average{index}", parameter.data.copy())

    def averages(self) -> list[np.ndarray]:
        return [getattr(self, f"average{index}") for index in range(len(self._names))]

    def update(self) -> None:
        """θ̄ ← decay·θ̄ + (1 − decay)·θ, in place, for every tracked parameter."""
        for average, (_, parameter) in zip(self.averages(), self._tracked.named_parameters()):
            average *= self.decay
            average += (1.0 - self.decay) * parameter.data

    @contextmanager
    def swapped_in(self) -> Iterator[Module]:
        """Within the block the tracked module holds the averaged weights; restored after."""
        parameters = [parameter for _, parameter in self._tracked.named_parameters()]
        saved = [parameter.data for parameter in parameters]
        try:
            for parameter, average in zip(parameters, self.averages()):
                parameter.data = average.astype(parameter.data.dtype, copy=True)
            yield self._tracked
        finally:
            for parameter, data in zip(parameters, saved):
                parameter.data = data

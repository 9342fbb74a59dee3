"""Learning-rate schedules: each sets ``optimizer.lr`` from a closed form of the step count.

As in torch, building a schedule records the optimiser's current ``lr`` as the base rate
and applies step 0; call :meth:`LRScheduler.step` once per epoch (or per update, as you
choose) after ``optimizer.step()``.

    StepLR              η_t = η₀ · γ^⌊t / step_size⌋
    CosineAnnealingLR   η_t = η_min + (η₀ − η_min)(1 + cos(π t / T_max)) / 2
    LinearWarmup        η_t = η₀ (t + 1) / (warmup_steps + 1) for t < warmup_steps, then
                        the wrapped schedule (or η₀) counted from the end of the warm-up
"""

from __future__ import annotations

import math

import numpy as np

from .optimizer import Optimizer


class LRScheduler:
    """Base class: ``lr_at(t)`` gives the rate after t calls to :meth:`step`."""

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{type(self).__name__}: optimizer must be a minigen.optim.Optimizer, got "
                f"{type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = 0
        optimizer.lr = self.lr_at(0)

    def lr_at(self, t: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        """Advance one step and set the optimiser's ``lr``."""
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def get_last_lr(self) -> float:
        return self.optimizer.lr

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"last_epoch": np.asarray(self.last_epoch, dtype=np.int64),
                "base_lr": np.asarray(self.base_lr, dtype=np.float64)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        missing = {"last_epoch", "base_lr"} - set(state)
        if missing:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: missing keys {sorted(missing)}"
            )
        self.last_epoch = int(state["last_epoch"])
        self.base_lr = float(state["base_lr"])
        self.optimizer.lr = self.lr_at(self.last_epoch)


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` steps."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        if not isinstance(step_size, (int, np.integer)) or step_size < 1:
            raise ValueError(f"StepLR: step_size must be an integer >= 1, got {step_size!r}")
        self.step_size = int(step_size)
        self.gamma = float(gamma)
        super().__init__(optimizer)

    def lr_at(self, t: int) -> float:
        return self.base_lr * self.gamma ** (t // self.step_size)  # η₀ γ^⌊t/s⌋


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from the base rate down to ``eta_min`` over ``T_max`` steps."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        if not isinstance(T_max, (int, np.integer)) or T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be an integer >= 1, got {T_max!r}")
        self.T_max = int(T_max)
        self.eta_min = float(eta_min)
        super().__init__(optimizer)

    def lr_at(self, t: int) -> float:
        # η_min + (η₀ − η_min)(1 + cos(π t / T_max)) / 2
        cosine = (1 + math.cos(math.pi * t / self.T_max)) / 2
        return self.eta_min + (self.base_lr - self.eta_min) * cosine


class LinearWarmup(LRScheduler):
    """Ramp the rate up linearly for ``warmup_steps`` steps, then hand over to ``after``.

    ``after`` is another schedule built on the same optimiser (e.g. a CosineAnnealingLR);
    its clock starts when the warm-up ends. Without it the rate stays at the base rate.
    """

    def __init__(
        self, optimizer: Optimizer, warmup_steps: int, after: LRScheduler | None = None
    ) -> None:
        if not isinstance(warmup_steps, (int, np.integer)) or warmup_steps < 0:
            raise ValueError(
                f"LinearWarmup: warmup_steps must be an integer >= 0, got {warmup_steps!r}"
            )
        if after is not None and after.optimizer is not optimizer:
            raise ValueError("LinearWarmup: `after` must schedule the same optimizer")
        self.warmup_steps = int(warmup_steps)
        self.after = after
        if after is not None:
            optimizer.lr = after.base_lr
        super().__init__(optimizer)

    def lr_at(self, t: int) -> float:
        if t < self.warmup_steps:
            return self.base_lr * (t + 1) / (self.warmup_steps + 1)  # η₀ (t+1)/(W+1)
        if self.after is None:
            return self.base_lr
        return self.after.lr_at(t - self.warmup_steps)

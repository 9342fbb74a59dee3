"""The Optimizer base class: a list of Parameters, a learning rate and per-parameter state.

An optimiser changes ``parameter.data`` in place, outside the graph, from ``parameter.grad``.
Its state (momentum buffers, Adam moments) lives in ``self.state[i]`` for the i-th
parameter and is saved flat, as ``{"exp_avg.3": array, "step": 0-d array, "lr": 0-d array}``,
so a checkpoint can store it in an ``.npz`` without pickling.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from autograd import Tensor


class Optimizer:
    """Base class: holds ``params``, ``lr`` (which schedules change) and the state.

    Subclasses implement :meth:`_update` for one parameter; parameters whose ``grad`` is
    None are skipped (they took no part in the loss).
    """

    def __init__(self, params: Iterable[Tensor], lr: float) -> None:
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: params is empty; pass model.parameters()")
        for index, param in enumerate(params):
            if not isinstance(param, Tensor):
                raise TypeError(
                    f"{type(self).__name__}: params[{index}] is a {type(param).__name__}, "
                    "expected a Parameter (a Tensor with requires_grad=True)"
                )
            if not np.issubdtype(param.dtype, np.floating):
                raise TypeError(
                    f"{type(self).__name__}: params[{index}] has dtype {param.dtype}; "
                    "only floating-point parameters can be optimised"
                )
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{type(self).__name__}: a parameter appears twice in params")
        _check_non_negative(type(self).__name__, "lr", lr)
        self.params = params
        self.lr = float(lr)
        self.num_steps = 0
        self.state: dict[int, dict[str, np.ndarray]] = {}

    def zero_grad(self) -> None:
        """Forget every gradient (sets ``.grad`` to None, as torch's default)."""
        for param in self.params:
            param.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        for index, param in enumerate(self.params):
            if param.grad is None:
                continue
            grad = np.asarray(param.grad)
            if grad.shape != param.shape:
                raise ValueError(
                    f"{type(self).__name__}.step: params[{index}] has shape {param.shape} "
                    f"but its grad has shape {grad.shape}"
                )
            self._update(index, param, grad.astype(param.dtype, copy=False))
        self.num_steps += 1

    def _update(self, index: int, param: Tensor, grad: np.ndarray) -> None:
        raise NotImplementedError

    # ----- state -------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Flat copies: ``lr`` and ``step`` as 0-d arrays, ``<name>.<index>`` per buffer."""
        state = {"lr": np.asarray(self.lr, dtype=np.float64),
                 "step": np.asarray(self.num_steps, dtype=np.int64)}
        for index, buffers in self.state.items():
            for name, value in buffers.items():
                state[f"{name}.{index}"] = np.array(value, copy=True)
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`state_dict` returned (e.g. read back from an ``.npz``)."""
        name = type(self).__name__
        missing = {"lr", "step"} - set(state)
        if missing:
            raise ValueError(f"{name}.load_state_dict: missing keys {sorted(missing)}")
        buffers: dict[int, dict[str, np.ndarray]] = {}
        for key, value in state.items():
            if key in ("lr", "step"):
                continue
            buffer_name, _, suffix = key.rpartition(".")
            if not buffer_name or not suffix.isdigit() or int(suffix) >= len(self.params):
                raise ValueError(
                    f"{name}.load_state_dict: unexpected key {key!r}; expected 'lr', 'step' "
                    f"or '<buffer>.<index>' with index < {len(self.params)}"
                )
            index = int(suffix)
            value = np.asarray(value)
            param = self.params[index]
            # Float buffers mirror their parameter; integer ones (step counts) are 0-d.
            floating = np.issubdtype(value.dtype, np.floating)
            if value.shape != (param.shape if floating else ()):
                raise ValueError(
                    f"{name}.load_state_dict: {key} has shape {value.shape} but params[{index}] "
                    f"has shape {param.shape}"
                )
            dtype = param.dtype if floating else value.dtype
            buffers.setdefault(index, {})[buffer_name] = value.astype(dtype, copy=True)
        self.lr = float(state["lr"])
        self.num_steps = int(state["step"])
        self.state = buffers

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_params={len(self.params)}, lr={self.lr})"


def _check_non_negative(owner: str, name: str, value: float) -> None:
    if not isinstance(value, (int, float, np.floating, np.integer)) or not value >= 0:
        raise ValueError(f"{owner}: {name} must be a number >= 0, got {value!r}")

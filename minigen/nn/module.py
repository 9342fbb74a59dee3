"""Module and Parameter: the containers every layer and model is built from.

A Module registers Parameters and sub-Modules simply by assigning them as attributes (as
torch.nn.Module); ``named_parameters`` walks that tree in assignment order, which gives
``state_dict`` keys such as ``encoder.0.weight``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from autograd import Tensor


class Parameter(Tensor):
    """A Tensor that is a learnable parameter of a Module (requires_grad by default)."""

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        super().__init__(np.array(data, copy=True), requires_grad=requires_grad)

    def __repr__(self) -> str:
        return f"Parameter(shape={self.shape}, dtype={self.dtype})"


class Module:
    """Base class of layers and models.

    Subclasses assign Parameters, Modules and (non-learnable) buffers in ``__init__``.
    Buffers are arrays registered with :meth:`register_buffer`: saved in ``state_dict``,
    never trained (e.g. BatchNorm running statistics, MADE masks).
    """

    draws: bool = False  # True: forward(x, rng) draws random numbers (Dropout, containers)

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"{type(self).__name__}: call super().__init__() before assigning attributes"
            )
        for table in (self._parameters, self._modules, self._buffers):
            table.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        elif name in self.__dict__.get("_buffer_names", ()):
            self._buffers[name] = value
        object.__setattr__(self, name, value)

    def register_buffer(self, name: str, value: np.ndarray) -> None:
        """Keep ``value`` in ``state_dict`` without training it."""
        names = self.__dict__.setdefault("_buffer_names", set())
        names.add(name)
        setattr(self, name, np.asarray(value))

    # ----- traversal ---------------------------------------------------------------
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        yield prefix, self
        for name, module in self._modules.items():
            yield from module.named_modules(f"{prefix}{name}.")

    def children(self) -> Iterator[Module]:
        yield from self._modules.values()

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) pairs; a Parameter shared by two modules appears once."""
        seen: set[int] = set()
        for prefix, module in self.named_modules():
            for name, parameter in module._parameters.items():
                if id(parameter) not in seen:
                    seen.add(id(parameter))
                    yield prefix + name, parameter

    def parameters(self) -> list[Parameter]:
        return [parameter for _, parameter in self.named_parameters()]

    def num_parameters(self) -> int:
        """Number of learnable scalars (shared Parameters counted once)."""
        return int(sum(p.size for p in self.parameters()))

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        for prefix, module in self.named_modules():
            for name, value in module._buffers.items():
                yield prefix + name, value

    # ----- state -------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, keyed by dotted name."""
        state = {name: p.data.copy() for name, p in self.named_parameters()}
        state.update({name: np.array(b, copy=True) for name, b in self.named_buffers()})
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy arrays into the parameters and buffers; names and shapes must match."""
        own = dict(self.named_parameters())
        buffers = {name: (module, name.rsplit(".", 1)[-1])
                   for prefix, module in self.named_modules()
                   for name in (prefix + b for b in module._buffers)}
        expected = set(own) | set(buffers)
        missing, unexpected = expected - set(state), set(state) - expected
        if missing or unexpected:
            raise ValueError(
                f"load_state_dict: missing keys {sorted(missing)}, unexpected keys "
                f"{sorted(unexpected)}"
            )
        for name, parameter in own.items():
            value = np.asarray(state[name])
            if value.shape != parameter.shape:
                raise ValueError(
                    f"load_state_dict: {name} has shape {value.shape} in the state but "
                    f"{parameter.shape} in the model"
                )
            parameter.data = value.astype(parameter.dtype, copy=True)
        for name, (module, attribute) in buffers.items():
            value, current = np.asarray(state[name]), getattr(module, attribute)
            if value.shape != current.shape:
                raise ValueError(
                    f"load_state_dict: buffer {name} has shape {value.shape} in the state but "
                    f"{current.shape} in the model"
                )
            setattr(module, attribute, value.astype(current.dtype, copy=True))

    # ----- modes and gradients -----------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        for _, module in self.named_modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self) -> None:
        for parameter in self.parameters():
            parameter.grad = None

    def astype(self, dtype: Any) -> Module:
        """Convert every parameter and floating buffer (in place) to ``dtype``.

        Used to run gradchecks in float64; integer buffers (counters) are left alone.
        """
        for parameter in self.parameters():
            parameter.data = parameter.data.astype(dtype)
        for _, module in self.named_modules():
            for name, value in list(module._buffers.items()):
                if np.issubdtype(np.asarray(value).dtype, np.floating):
                    setattr(module, name, np.asarray(value).astype(dtype))
        return self

    # ----- calling -----------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, module in self._modules.items():
            child = repr(module).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child}")
        return "\n".join(lines) + ("\n)" if len(lines) > 1 else ")")


class Sequential(Module):
    """Modules applied in order; ``Sequential(a, b)[0] is a``.

    ``forward(x, rng)`` hands ``rng`` to every module that draws (``draws = True``: Dropout,
    nested containers), so a Dropout inside a container works in training mode.
    """

    draws = True

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for index, module in enumerate(modules):
            setattr(self, str(index), module)

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[index]

    def __len__(self) -> int:
        return len(self._modules)

    def forward(self, x: Any, rng: np.random.Generator | None = None) -> Any:
        for module in self._modules.values():
            x = module(x, rng) if module.draws else module(x)
        return x

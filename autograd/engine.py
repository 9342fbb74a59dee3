"""The engine: a Tensor that remembers how it was made, and reverse-mode differentiation.

A Tensor wraps a NumPy array. When a primitive (see ``ops.py`` and ``conv.py``) is applied
to Tensors that require gradients while recording is on, the result keeps its parents and a
vector-Jacobian product (VJP): a function from the gradient of the result to the gradients
of the parents. ``backward`` walks those records in reverse topological order.

VJPs are written with Tensor operations, so running them while recording (``create_graph``)
builds a graph of the gradient itself, and gradients can be differentiated again.
"""

from __future__ import annotations

import contextlib
import operator
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

# One switch decides whether primitives record their parents and VJP.
_recording = True


def is_grad_enabled() -> bool:
    """True when primitives record the graph (outside ``no_grad``)."""
    return _recording


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Context in which nothing is recorded: results never require gradients."""
    global _recording
    previous, _recording = _recording, False
    try:
        yield
    finally:
        _recording = previous


@contextlib.contextmanager
def enable_grad() -> Iterator[None]:
    """Context that turns recording back on (inside ``no_grad``)."""
    global _recording
    previous, _recording = _recording, True
    try:
        yield
    finally:
        _recording = previous


def _freed_vjp(grad: Any, out: Any) -> tuple:
    raise RuntimeError(
        "Trying to backward through the graph a second time: its intermediate results were "
        "freed by the first backward. Pass retain_graph=True to the first backward (or "
        "autograd.grad) if you need to backward through it again."
    )


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    Parameters
    ----------
    data : array_like
        Anything ``np.asarray`` accepts. Floating dtypes are kept (float32 stays float32).
    requires_grad : bool
        Whether gradients with respect to this Tensor are wanted. Only floating dtypes can.
    dtype : numpy dtype, optional
        Convert the data to this dtype first.
    """

    __slots__ = ("data", "grad", "requires_grad", "_parents", "_vjp", "_op", "__weakref__")
    # NumPy defers to our reflected operators (ndarray + Tensor -> Tensor.__radd__).
    __array_ufunc__ = None

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        if isinstance(data, Tensor):
            data = data.data
        array = np.asarray(data, dtype=dtype)
        if requires_grad and not np.issubdtype(array.dtype, np.floating):
            raise TypeError(
                f"only floating-point Tensors can require gradients, got dtype {array.dtype}; "
                "pass float data or dtype=np.float32/np.float64"
            )
        self.data = array
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self._parents: tuple[Tensor, ...] = ()
        self._vjp: Callable | None = None
        self._op = ""

    # ----- array-like attributes -----------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    def __len__(self) -> int:
        return len(self.data)

    @property
    def is_leaf(self) -> bool:
        """A leaf was created by the user, not by a recorded primitive."""
        return self._vjp is None

    def item(self) -> Any:
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self.data

    def detach(self) -> Tensor:
        """The same data, cut from the graph."""
        return Tensor(self.data)

    def __repr__(self) -> str:
        grad = f", requires_grad=True, op={self._op!r}" if self.requires_grad else ""
        return f"Tensor({np.array2string(self.data, precision=4, threshold=20)}{grad})"

    def __hash__(self) -> int:
        return id(self)

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.data)

    # ----- differentiation -----------------------------------------------------------
    def backward(
        self,
        grad: Any = None,
        retain_graph: bool = False,
        create_graph: bool = False,
    ) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` (an ndarray) for every leaf.

        ``grad`` is the gradient flowing into ``self``; it may be omitted only for a
        single-element Tensor. The graph is freed afterwards unless ``retain_graph``.
        With ``create_graph`` the gradient computation is itself recorded (use
        :func:`grad` to get those gradients as Tensors).
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a Tensor that does not require gradients: none of its inputs "
                "had requires_grad=True, or it was computed under no_grad()"
            )
        seed = _seed_gradient(self, grad)
        leaf_grads = _backpropagate([self], [seed], None, retain_graph or create_graph,
                                    create_graph)
        for leaf, g in leaf_grads:
            data = g.data
            leaf.grad = data.copy() if leaf.grad is None else leaf.grad + data

    # ----- methods taking a shape or axes as varargs (operators: ops._TENSOR_METHODS) ---
    def reshape(self, *shape: Any) -> Tensor:
        return ops.reshape(self, _varargs(shape))

    def transpose(self, *axes: Any) -> Tensor:
        return ops.transpose(self, _varargs(axes) or None)

    def permute(self, *axes: Any) -> Tensor:
        return ops.transpose(self, _varargs(axes))

    @property
    def T(self) -> Tensor:
        return ops.transpose(self, None)

    def expand(self, *shape: Any) -> Tensor:
        return ops.broadcast_to(self, _varargs(shape))


def _varargs(values: tuple) -> tuple:
    """``f(2, 3)`` and ``f((2, 3))`` both mean the tuple (2, 3)."""
    return tuple(values[0]) if len(values) == 1 and isinstance(values[0], (tuple, list)) \
        else values


def _comparison(compare: Callable) -> Callable:
    return lambda self, other: compare(self.data, _raw(other))


# Comparisons give plain boolean arrays: they have no gradient.
for _name in ("__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"):
    setattr(Tensor, _name, _comparison(getattr(operator, _name)))


def _raw(value: Any) -> Any:
    return value.data if isinstance(value, Tensor) else value


def _seed_gradient(output: Tensor, grad: Any) -> Tensor:
    if grad is None:
        if output.data.size != 1:
            raise RuntimeError(
                f"backward() without a gradient needs a single-element output, got shape "
                f"{output.shape}; pass grad= an array of that shape (e.g. ones for a sum), "
                "or reduce the output with .sum() or .mean() first"
            )
        seed = np.empty_like(output.data)  # np.ones costs 3× this at one element
        seed.fill(1)
        return record(seed, (), None, "ones")  # type: ignore[arg-type]
    grad = grad if isinstance(grad, Tensor) else Tensor(np.asarray(grad, output.dtype))
    if grad.shape != output.shape:
        raise ValueError(
            f"backward(): gradient has shape {grad.shape} but the output has shape "
            f"{output.shape}; they must match"
        )
    return grad


def _topological_order(roots: Sequence[Tensor]) -> list[Tensor]:
    """Every recorded Tensor reachable from ``roots``, parents before children.

    Iterative depth-first search, so a chain of any length works (no recursion limit).
    """
    order: list[Tensor] = []
    visited: set[int] = set()
    for root in roots:
        if not root.requires_grad or id(root) in visited:
            continue
        visited.add(id(root))
        stack = [(root, iter(root._parents))]
        while stack:
            node, parents = stack[-1]
            for parent in parents:
                if parent.requires_grad and id(parent) not in visited:
                    visited.add(id(parent))
                    stack.append((parent, iter(parent._parents)))
                    break
            else:  # every parent is placed: the node can follow them
                stack.pop()
                order.append(node)
    return order


def _backpropagate(
    roots: Sequence[Tensor],
    seeds: Sequence[Tensor],
    targets: Sequence[Tensor] | None,
    retain_graph: bool,
    create_graph: bool,
) -> list[tuple[Tensor, Tensor]]:
    """Push gradients from ``roots`` back through the recorded graph.

    Returns (tensor, gradient) pairs: for every target when ``targets`` is given, else for
    every leaf that requires gradients.
    """
    global _recording
    wanted = None if targets is None else {id(t) for t in targets}
    pending: dict[int, Tensor] = {}
    for root, seed in zip(roots, seeds):
        _accumulate(pending, root, seed)
    results: list[tuple[Tensor, Tensor]] = []
    previous, _recording = _recording, create_graph
    try:
        for node in reversed(_topological_order(roots)):
            grad = pending.pop(id(node), None)
            if grad is None:
                continue
            if wanted is not None and id(node) in wanted:
                results.append((node, grad))
            if node._vjp is None:
                if wanted is None:
                    results.append((node, grad))
                continue
            parent_grads = node._vjp(grad, node)
            for parent, parent_grad in zip(node._parents, parent_grads):
                if parent_grad is not None and parent.requires_grad:
                    _accumulate(pending, parent, parent_grad)
            if not retain_graph:
                node._parents, node._vjp = (), _freed_vjp
    finally:
        _recording = previous
    return results


def _accumulate(pending: dict[int, Any], node: Tensor, grad: Any) -> None:
    key = id(node)
    if node.data is None:  # the hub of a multi-result primitive: one slot per result
        position, count, grad = grad
        slots = pending.setdefault(key, [None] * count)
        slots[position] = grad if slots[position] is None else slots[position] + grad
        return
    if grad.data.shape != node.data.shape:
        raise RuntimeError(
            f"internal error: gradient of shape {grad.shape} for a Tensor of shape "
            f"{node.shape} (op {node._op!r})"
        )
    pending[key] = grad if key not in pending else pending[key] + grad


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    create_graph: bool = False,
    retain_graph: bool | None = None,
    allow_unused: bool = False,
) -> tuple[Tensor, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned as Tensors.

    ``.grad`` of the inputs is left untouched. With ``create_graph`` the results are part
    of a recorded graph and can be differentiated again (gradient penalties,
    Hessian-vector products). An input that ``outputs`` does not depend on gets zeros,
    or raises unless ``allow_unused``.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = [grad_outputs] * len(outputs) if len(outputs) == 1 else grad_outputs
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    for i, tensor in enumerate(inputs):
        if not isinstance(tensor, Tensor) or not tensor.requires_grad:
            raise ValueError(f"grad(): input {i} does not require gradients")
    live = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    seeds = [_seed_gradient(o, g) for o, g in live]
    if retain_graph is None:
        retain_graph = create_graph
    found = dict(
        (id(t), g)
        for t, g in _backpropagate([o for o, _ in live], seeds, inputs, retain_graph,
                                   create_graph)
    )
    results = []
    for i, tensor in enumerate(inputs):
        if id(tensor) in found:
            results.append(found[id(tensor)])
        elif allow_unused:
            results.append(Tensor(np.zeros_like(tensor.data)))
        else:
            raise ValueError(
                f"grad(): the outputs do not depend on input {i} (shape {tensor.shape}); "
                "pass allow_unused=True to get zeros for it"
            )
    return tuple(results)


def record(
    data: np.ndarray,
    parents: tuple[Tensor, ...],
    vjp: Callable[[Tensor, Tensor], tuple],
    op: str,
) -> Tensor:
    """Wrap a primitive's result; keep its parents and VJP when a gradient may be needed.

    ``vjp(g, out)`` maps the gradient of the result (and the result itself) to one
    gradient per parent, None for a parent that needs none.
    """
    out = Tensor.__new__(Tensor)
    out.data = data
    out.grad = None
    out._op = op
    if _recording:
        for parent in parents:
            if parent.requires_grad:
                out.requires_grad = True
                out._parents = parents
                out._vjp = vjp
                return out
    out.requires_grad = False
    out._parents = ()
    out._vjp = None
    return out


def record_many(
    datas: Sequence[np.ndarray],
    parents: tuple[Tensor, ...],
    vjp: Callable[[list], tuple],
    op: str,
) -> list[Tensor]:
    """Wrap the several results of one primitive (split, the LSTM and GRU cells).

    A hidden hub node (``data`` None) holds the parents; result k passes its gradient to
    the hub's slot k, and the hub calls ``vjp(grads)`` once, with None for the results
    that received no gradient.
    """
    hub = record(None, parents, lambda grads, hub: vjp(grads), op)  # type: ignore[arg-type]
    if not hub.requires_grad:
        return [record(data, (), None, op) for data in datas]  # type: ignore[arg-type]
    return [record(data, (hub,), lambda g, out, k=k: ((k, len(datas), g),), op)
            for k, data in enumerate(datas)]


from . import ops  # noqa: E402  (operators above call into ops at run time)

"""autograd: minigen's tiny reverse-mode automatic differentiation engine over NumPy.

    import autograd as ag
    x = ag.Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()            # x.grad == [2., 4.]

``engine.py`` holds the Tensor and the backward pass, ``ops.py`` the primitives (each
forward beside its vector-Jacobian product), ``conv.py`` convolutions and pooling,
``gradcheck.py`` the finite-difference checker.
"""

from .conv import (
    avg_pool2d,
    conv2d,
    conv2d_weight,
    conv_transpose2d,
    max_pool2d,
    upsample_nearest,
)
from .engine import Tensor, enable_grad, grad, is_grad_enabled, no_grad, record, record_many
from .gradcheck import GradcheckError, gradcheck
from .ops import (
    abs,
    add,
    as_tensor,
    astype,
    broadcast_to,
    clip,
    concat,
    div,
    exp,
    getitem,
    gru_cell,
    leaky_relu,
    log,
    log1p,
    log_softmax,
    logsumexp,
    lstm_cell,
    lstm_sequence,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    neg,
    pad,
    power,
    relu,
    reshape,
    sigmoid,
    softmax,
    softplus,
    split,
    sqrt,
    stack,
    sub,
    sum,
    tanh,
    transpose,
    unstack,
    var,
    where,
)

# Marker that minigen checks to be sure this is minigen's engine, not HIPS autograd
# (which installs under the same import name).
__minigen_engine__ = True
__version__ = "0.1.0"

permute = transpose
expand = broadcast_to

__all__ = [
    "GradcheckError", "Tensor", "abs", "add", "as_tensor", "astype", "avg_pool2d",
    "broadcast_to", "clip", "concat", "conv2d", "conv2d_weight", "conv_transpose2d", "div",
    "enable_grad", "exp", "expand", "getitem", "grad", "gradcheck", "gru_cell",
    "is_grad_enabled", "leaky_relu", "log", "log1p", "log_softmax", "logsumexp", "lstm_cell",
    "lstm_sequence", "matmul", "max", "max_pool2d", "maximum", "mean", "min", "minimum",
    "mul", "neg", "no_grad", "pad", "permute", "power", "record", "record_many", "relu", "reshape",
    "sigmoid", "softmax", "softplus", "split", "sqrt", "stack", "sub", "sum", "tanh",
    "transpose", "unstack", "upsample_nearest", "var", "where",
]

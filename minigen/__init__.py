"""minigen: deep generative models from scratch in NumPy, on the ``autograd`` engine."""

import autograd as _autograd

if not getattr(_autograd, "__minigen_engine__", False):
    raise ImportError(
        "minigen needs its own 'autograd' engine, but the 'autograd' imported from "
        f"{getattr(_autograd, '__file__', '?')} is a different package (probably HIPS "
        "autograd from PyPI, which uses the same import name). Install minigen in a separate "
        "virtual environment: python -m venv .venv && . .venv/bin/activate && "
        "pip install -e ."
    )

__version__ = "0.1.0"

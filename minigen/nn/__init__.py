"""Layers with torch.nn's names, argument orders and tensor layouts."""

from .layers import Conv2d, ConvTranspose2d, Linear, uniform_init
from .module import Module, Parameter, Sequential

__all__ = ["Conv2d", "ConvTranspose2d", "Linear", "Module", "Parameter", "Sequential",
           "uniform_init"]

"""Layers with torch.nn's names, argument orders, tensor layouts and parameter names."""

from .activations import ELU, Identity, LeakyReLU, ReLU, Sigmoid, SiLU, Softplus, Tanh
from .attention import MultiheadAttention, causal_mask, scaled_dot_product_attention
from .dropout import Dropout, dropout
from .ema import ExponentialMovingAverage
from .embedding import Embedding
from .group_norm import GroupNorm
from .layers import Conv2d, ConvTranspose2d, Flatten, Linear, mlp, uniform_init
from .masked import MaskedLinear, made_masks
from .masked_conv import MaskedConv2d, PixelLogitHead, influence_map, skew, unskew
from .module import Module, Parameter, Sequential
from .norm import BatchNorm1d, BatchNorm2d, LayerNorm
from .patchgan import PatchGAN
from .quantize import EMAVectorQuantizer, VectorQuantizer
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell, gru_step, lstm_step, rnn_step
from .style import (
    AdaIN,
    EqualizedConv2d,
    EqualizedLinear,
    ModulatedConv2d,
    NoiseInput,
    PixelNorm,
    adain,
    minibatch_stddev,
    modulated_conv2d,
    pixel_norm,
    truncate,
)
from .tied import TiedLinear
from .timestep import SinusoidalTimestepEmbedding, timestep_embedding
from .unet_generator import UNetGenerator

__all__ = [
    "BatchNorm1d", "BatchNorm2d", "Conv2d", "ConvTranspose2d", "Dropout", "ELU",
    "EMAVectorQuantizer", "Embedding",
    "ExponentialMovingAverage", "Flatten", "GRU", "GRUCell", "Identity", "LSTM", "LSTMCell",
    "LayerNorm", "LeakyReLU", "Linear", "MaskedConv2d", "MaskedLinear", "Module",
    "MultiheadAttention", "Parameter", "PixelLogitHead",
    "RNN", "RNNCell", "ReLU", "Sequential", "SiLU", "Sigmoid", "Softplus", "Tanh",
    "TiedLinear", "VectorQuantizer", "causal_mask", "dropout", "gru_step", "influence_map",
    "lstm_step", "made_masks", "mlp", "rnn_step", "scaled_dot_product_attention", "skew",
    "uniform_init", "unskew",
    "GroupNorm", "SinusoidalTimestepEmbedding", "timestep_embedding",
    "PatchGAN", "UNetGenerator",
    "AdaIN", "EqualizedConv2d", "EqualizedLinear", "NoiseInput", "PixelNorm", "adain",
    "minibatch_stddev", "pixel_norm", "truncate",
    "ModulatedConv2d", "modulated_conv2d",
]

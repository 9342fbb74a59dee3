"""Layers with torch.nn's names, argument orders, tensor layouts and parameter names."""

from .activations import ELU, Identity, LeakyReLU, ReLU, Sigmoid, SiLU, Softplus, Tanh
from .attention import MultiheadAttention, causal_mask, scaled_dot_product_attention
from .dropout import Dropout, dropout
from .embedding import Embedding
from .layers import Conv2d, ConvTranspose2d, Flatten, Linear, uniform_init
from .module import Module, Parameter, Sequential
from .norm import BatchNorm1d, BatchNorm2d, LayerNorm
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell, gru_step, lstm_step, rnn_step

__all__ = [
    "ELU", "GRU", "LSTM", "RNN", "BatchNorm1d", "BatchNorm2d", "Conv2d", "ConvTranspose2d",
    "Dropout", "Embedding", "Flatten", "GRUCell", "Identity", "LSTMCell", "LayerNorm",
    "LeakyReLU", "Linear", "Module", "MultiheadAttention", "Parameter", "RNNCell", "ReLU",
    "Sequential", "SiLU", "Sigmoid", "Softplus", "Tanh", "causal_mask", "dropout", "gru_step",
    "lstm_step", "rnn_step", "scaled_dot_product_attention", "uniform_init",
]

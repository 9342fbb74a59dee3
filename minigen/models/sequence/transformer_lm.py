"""Transformer language model: decoder-only, causal self-attention, pre-LayerNorm.

Idea (Vaswani et al., 2017, "Attention is all you need"; decoder-only as in GPT,
Radford et al., 2018, 2019): every position looks at all earlier positions at once
through attention instead of through a recurrent state,

    x⁰_t = E_tok[s_{t−1}] + E_pos[t]                         (learned positions)
    a    = x + Dropout(MHA(LN₁(x)), causal)                   (pre-LN residual blocks,
    x'   = a + Dropout(W₂ ReLU(W₁ LN₂(a) + b₁) + b₂)           Xiong et al., 2020)
    l_t  = W_out LN_f(x^L_t) + b_out                          (W_out = E_tok[:V] if tied)

with p(s) = Π_t softmax(l_t)[s_t] (the chain rule, the end token and the length cap are
in :class:`minigen.models.sequence.base.TokenLM`).

Objective: −log p(s) = −Σ_t log softmax(l_t)[s_t], mean over the batch, nats per sequence.

Causality: query t may attend only to keys j ≤ t. The mask is applied with
``where(allowed, scores, −inf)`` (:func:`minigen.nn.scaled_dot_product_attention`), so a
future key gets weight exactly 0. A finite constant (scores − 1e4) is not a mask: with
large weights a score can exceed 1e4 and the future leaks (tested with large weights:
the logits at positions ≤ t are bit-identical whatever follows t).

A block's parameters carry the names of ``torch.nn.TransformerEncoderLayer(norm_first=True,
activation="relu", batch_first=True)`` (``self_attn``, ``linear1``, ``linear2``, ``norm1``,
``norm2``), so its state_dict copies across for the parity test.

Deviations: ReLU in the feed-forward (torch's default) rather than GPT's GELU; no dropout
on the attention weights (minigen's MultiheadAttention has none), dropout only on the
embeddings and on each residual branch, and off in eval; embeddings start N(0, 0.02²) as
in GPT-2 (torch's N(0, 1) makes tied logits start very large). The sampler has no
key/value cache: each step re-runs the prefix, O(T²) per sequence, cheap for T ≤ 64.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.nn import (
    Dropout,
    Embedding,
    LayerNorm,
    Linear,
    Module,
    MultiheadAttention,
    Parameter,
    Sequential,
)

from .base import State, TokenLM, check_rng

EMBEDDING_STD = 0.02


class DecoderBlock(Module):
    """One pre-LN block: x + Drop(MHA(LN₁ x)), then + Drop(FF(LN₂ ·)). x : (N, T, E) -> same."""

    def __init__(self, embed_dim: int, num_heads: int, feedforward_dim: int, dropout: float,
                 *, rng: np.random.Generator, dtype: Any = np.float32) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(embed_dim, num_heads, batch_first=True, rng=rng,
                                            dtype=dtype)
        self.linear1 = Linear(embed_dim, feedforward_dim, rng=rng, dtype=dtype)
        self.linear2 = Linear(feedforward_dim, embed_dim, rng=rng, dtype=dtype)
        self.norm1 = LayerNorm(embed_dim, dtype=dtype)
        self.norm2 = LayerNorm(embed_dim, dtype=dtype)
        self.dropout1, self.dropout2 = Dropout(dropout), Dropout(dropout)

    def forward(self, x: Tensor, rng: np.random.Generator | None = None) -> Tensor:
        normed = self.norm1(x)
        attended, _ = self.self_attn(normed, normed, normed, need_weights=False,
                                     is_causal=True)  # softmax(QKᵀ/√d + mask) V, heads
        x = x + self.dropout1(attended, rng)
        hidden = ag.relu(self.linear1(self.norm2(x)))  # W₁ LN₂(x) + b₁, ReLU
        return x + self.dropout2(self.linear2(hidden), rng)


class TransformerLM(TokenLM):
    """Decoder-only Transformer over tokens.

    Parameters
    ----------
    data_shape, vocab_size : see :class:`TokenLM` ((T,) tokens or (1, H, W) binary images)
    rng : draws every initial weight
    embed_dim : E, the width of the residual stream
    num_heads : attention heads (E must be a multiple)
    num_layers : decoder blocks
    feedforward_dim : width of each block's hidden layer (default 4E)
    dropout : drop probability in training; off in eval
    tied : use the token embedding's first V rows as the output matrix
    """

    def __init__(self, data_shape: tuple[int, ...], *, rng: np.random.Generator,
                 vocab_size: int | None = None, embed_dim: int = 64, num_heads: int = 4,
                 num_layers: int = 2, feedforward_dim: int | None = None,
                 dropout: float = 0.0, tied: bool = False, dtype: Any = np.float32) -> None:
        super().__init__(data_shape, vocab_size)
        check_rng(rng, "TransformerLM")
        if num_layers < 1:
            raise ValueError(f"TransformerLM: num_layers must be >= 1, got {num_layers}")
        feedforward_dim = 4 * embed_dim if feedforward_dim is None else int(feedforward_dim)
        self.embed_dim, self.tied = int(embed_dim), bool(tied)
        self.token_embedding = Embedding(self.vocab_size + 1, embed_dim, rng=rng, dtype=dtype)
        self.position_embedding = Embedding(self.sequence_length, embed_dim, rng=rng,
                                            dtype=dtype)
        for table in (self.token_embedding.weight, self.position_embedding.weight):
            table.data *= EMBEDDING_STD  # N(0, 1) -> N(0, 0.02²), GPT-2's start
        self.drop = Dropout(dropout)
        self.blocks = Sequential(*[DecoderBlock(embed_dim, num_heads, feedforward_dim, dropout,
                                                rng=rng, dtype=dtype)
                                   for _ in range(num_layers)])
        self.final_norm = LayerNorm(embed_dim, dtype=dtype)
        if self.tied:
            self.head_bias = Parameter(np.zeros(self.vocab_size, dtype=dtype))
        else:
            self.head = Linear(embed_dim, self.vocab_size, rng=rng, dtype=dtype)

    def _output(self, x: Tensor) -> Tensor:
        x = self.final_norm(x)
        if self.tied:  # l = LN_f(x) E_tok[:V]ᵀ + b: the input table read backwards
            return x @ self.token_embedding.weight[:self.vocab_size].T + self.head_bias
        return self.head(x)

    def network_logits(self, inputs: np.ndarray | Tensor,
                       rng: np.random.Generator | None = None) -> Tensor:
        length = inputs.shape[1]
        if length > self.sequence_length:
            raise ValueError(f"TransformerLM: {length} positions, but only "
                             f"{self.sequence_length} positions are learned")
        x = (self.lookup(self.token_embedding.weight, inputs)
             + self.position_embedding(np.arange(length)))
        x = self.drop(x, rng)  # x⁰_t = E_tok[s_{t−1}] + E_pos[t]
        for index in range(len(self.blocks)):
            x = self.blocks[index](x, rng)
        return self._output(x)

    def start_state(self, n: int) -> State:
        return np.zeros((n, 0), dtype=np.int64)  # the inputs seen so far

    def step(self, inputs: np.ndarray, state: State) -> tuple[Tensor, State]:
        prefix = np.concatenate([state, inputs[:, None]], axis=1)
        return self.network_logits(prefix)[:, -1], prefix  # the last position's logits

    def extra_repr(self) -> str:
        return (f"vocab_size={self.vocab_size}, length={self.sequence_length}, "
                f"embed_dim={self.embed_dim}, tied={self.tied}")

"""Scaled dot-product attention and multi-head attention (Vaswani et al., 2017).

    Attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V

Multi-head attention projects the inputs into ``num_heads`` subspaces of size
d_k = embed_dim / num_heads, attends in each, concatenates the heads and projects back:
MultiHead(Q, K, V) = concat(head_1, …, head_h) W_Oᵀ + b_O with
head_j = Attention(Q W_Q,jᵀ, K W_K,jᵀ, V W_V,jᵀ).

Parameters are laid out as torch.nn.MultiheadAttention's (``in_proj_weight`` (3E, E) stacking
W_Q, W_K, W_V; ``in_proj_bias`` (3E,); ``out_proj.weight`` (E, E); ``out_proj.bias`` (E,)),
so a state_dict copies across.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.checks import check_rng

from .layers import Linear, uniform_init
from .module import Module, Parameter


def causal_mask(length: int) -> np.ndarray:
    """(length, length) boolean mask, True where query i may attend to key j (j ≤ i)."""
    return np.tril(np.ones((length, length), dtype=bool))


def scaled_dot_product_attention(
    query: Any,
    key: Any,
    value: Any,
    attn_mask: np.ndarray | None = None,
    is_causal: bool = False,
) -> tuple[Tensor, Tensor]:
    """softmax(Q Kᵀ / √d_k + mask) V over the last two axes, as torch's functional form.

    Parameters
    ----------
    query : (..., L, d_k)
    key : (..., S, d_k)
    value : (..., S, d_v)
    attn_mask : boolean array broadcastable to (..., L, S), optional
        True where a query may attend to a key (torch.nn.functional's convention).
        Every query must keep at least one key (torch would return NaN; we raise).
    is_causal : bool
        Also mask keys after each query (query i sees keys 0 … i; needs L == S).

    Returns
    -------
    output : (..., L, d_v)
    weights : (..., L, S), the attention probabilities.
    """
    query, key, value = ag.as_tensor(query), ag.as_tensor(key), ag.as_tensor(value)
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(
            f"scaled_dot_product_attention: query {query.shape}, key {key.shape} and value "
            f"{value.shape} must be (..., L, d_k), (..., S, d_k) and (..., S, d_v)"
        )
    scores = query @ key.transpose(*range(key.ndim - 2), key.ndim - 1, key.ndim - 2)
    scores = scores / float(np.sqrt(query.shape[-1]))  # Q Kᵀ / √d_k
    allowed = None if attn_mask is None else np.asarray(attn_mask, dtype=bool)
    if is_causal:
        length, keys = scores.shape[-2], scores.shape[-1]
        if length != keys:
            raise ValueError(
                f"scaled_dot_product_attention: is_causal needs as many queries as keys, "
                f"got {length} and {keys}"
            )
        causal = causal_mask(length)
        allowed = causal if allowed is None else allowed & causal
    if allowed is not None:
        if not np.broadcast_to(allowed, scores.shape).any(axis=-1).all():
            raise ValueError(
                "scaled_dot_product_attention: the mask leaves some query with no key to "
                "attend to (its softmax would be 0/0)"
            )
        scores = ag.where(allowed, scores, -np.inf)
    weights = ag.softmax(scores, axis=-1)
    return weights @ value, weights


class MultiheadAttention(Module):
    """Multi-head attention with torch.nn.MultiheadAttention's parameters and masks.

    ``forward(query, key, value, key_padding_mask=None, need_weights=True,
    attn_mask=None, average_attn_weights=True, is_causal=False)``
    -> (output, weights or None).

    query : (N, L, E), key and value : (N, S, E); (L, N, E) and (S, N, E) when
    ``batch_first=False``. Unlike torch, ``batch_first`` defaults to True (minigen's models
    are batch-first); pass it explicitly when porting code either way.
    key_padding_mask : (N, S) bool, True marks a key to ignore (torch's convention).
    attn_mask : (L, S) or (N·num_heads, L, S) bool, True marks a pair that may *not*
    attend (torch.nn.MultiheadAttention's convention, the opposite of
    :func:`scaled_dot_product_attention`'s).
    is_causal : mask keys after each query (a decoder's self-attention).
    weights : (N, L, S) averaged over heads, or (N, num_heads, L, S).
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        *,
        bias: bool = True,
        batch_first: bool = True,
        rng: np.random.Generator,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        check_rng("MultiheadAttention", rng)
        if embed_dim <= 0 or num_heads <= 0 or embed_dim % num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim ({embed_dim}) must be a positive multiple of "
                f"num_heads ({num_heads})"
            )
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.head_dim = embed_dim // num_heads
        self.batch_first = batch_first
        # torch: Xavier-uniform in_proj_weight, zero biases, Linear's default for out_proj.
        xavier_bound = np.sqrt(6.0 / (embed_dim + 3 * embed_dim))
        self.in_proj_weight = Parameter(
            uniform_init((3 * embed_dim, embed_dim), xavier_bound, rng, dtype))
        self.in_proj_bias = Parameter(np.zeros(3 * embed_dim, dtype=dtype)) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, rng=rng, dtype=dtype)
        if bias:
            self.out_proj.bias.data[...] = 0

    def _project(self, x: Tensor, block: int) -> Tensor:
        """Rows block·E … (block+1)·E of the input projection, split into heads.

        x : (N, T, E) -> (N, num_heads, T, head_dim).
        """
        rows = slice(block * self.embed_dim, (block + 1) * self.embed_dim)
        projected = x @ self.in_proj_weight[rows].T
        if self.in_proj_bias is not None:
            projected = projected + self.in_proj_bias[rows]
        batch, length = x.shape[0], x.shape[1]
        heads = projected.reshape(batch, length, self.num_heads, self.head_dim)
        return heads.transpose(0, 2, 1, 3)

    def _allowed(self, batch: int, length: int, keys: int, key_padding_mask: Any,
                 attn_mask: Any) -> np.ndarray | None:
        """Combine torch-style 'True = blocked' masks into one 'True = allowed' mask."""
        allowed = None
        if attn_mask is not None:
            blocked = np.asarray(attn_mask, dtype=bool)
            if blocked.shape == (length, keys):
                blocked = blocked[None, None]
            elif blocked.shape == (batch * self.num_heads, length, keys):
                blocked = blocked.reshape(batch, self.num_heads, length, keys)
            else:
                raise ValueError(
                    f"MultiheadAttention: attn_mask has shape {blocked.shape}, expected "
                    f"({length}, {keys}) or ({batch * self.num_heads}, {length}, {keys})"
                )
            allowed = ~blocked
        if key_padding_mask is not None:
            padding = np.asarray(key_padding_mask, dtype=bool)
            if padding.shape != (batch, keys):
                raise ValueError(
                    f"MultiheadAttention: key_padding_mask has shape {padding.shape}, "
                    f"expected (N, S) = ({batch}, {keys})"
                )
            keep = ~padding[:, None, None, :]
            allowed = keep if allowed is None else allowed & keep
        return allowed

    def forward(
        self,
        query: Any,
        key: Any,
        value: Any,
        key_padding_mask: Any = None,
        need_weights: bool = True,
        attn_mask: Any = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        query, key, value = ag.as_tensor(query), ag.as_tensor(key), ag.as_tensor(value)
        for name, tensor in (("query", query), ("key", key), ("value", value)):
            if tensor.ndim != 3 or tensor.shape[-1] != self.embed_dim:
                layout = "(N, L, E)" if self.batch_first else "(L, N, E)"
                raise ValueError(
                    f"MultiheadAttention(embed_dim={self.embed_dim}): {name} must be "
                    f"{layout} with E = {self.embed_dim}, got shape {tensor.shape}"
                )
        if not self.batch_first:
            query, key, value = (t.transpose(1, 0, 2) for t in (query, key, value))
        if key.shape != value.shape or key.shape[0] != query.shape[0]:
            raise ValueError(
                f"MultiheadAttention: key {key.shape} and value {value.shape} must match, "
                f"with the batch size of query {query.shape}"
            )
        batch, length, keys = query.shape[0], query.shape[1], key.shape[1]
        allowed = self._allowed(batch, length, keys, key_padding_mask, attn_mask)
        heads, weights = scaled_dot_product_attention(
            self._project(query, 0), self._project(key, 1), self._project(value, 2),
            attn_mask=allowed, is_causal=is_causal)
        merged = heads.transpose(0, 2, 1, 3).reshape(batch, length, self.embed_dim)
        output = self.out_proj(merged)  # concat(head_1 … head_h) W_Oᵀ + b_O
        if not self.batch_first:
            output = output.transpose(1, 0, 2)
        if not need_weights:
            return output, None
        return output, (weights.mean(axis=1) if average_attn_weights else weights)

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"batch_first={self.batch_first}")

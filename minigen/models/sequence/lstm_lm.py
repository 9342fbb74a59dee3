"""LSTM language model: gated memory carries the prefix.

Idea (Hochreiter & Schmidhuber, 1997, with the forget gate of Gers et al., 2000; as a
language model, Sundermeyer et al., 2012; Zaremba et al., 2014): a cell state c_t is
updated additively under three gates, so gradients pass through many steps,

    i, f, o = σ(·), g = tanh(·)  of  W_ih e(s_{t−1}) + b_ih + W_hh h_{t−1} + b_hh
    c_t = f ⊙ c_{t−1} + i ⊙ g      (forget some memory, write some new)
    h_t = o ⊙ tanh(c_t),           l_t = W_out h_t + b_out

and p(s) = Π_t softmax(l_t)[s_t] (the body is
:class:`minigen.models.sequence.base.RecurrentLM`). The state is the pair (h_t, c_t).

Objective: −log p(s) = −Σ_t log softmax(l_t)[s_t], mean over the batch, nats per sequence.
Four gate blocks: 4 (H·E + H·H + 2H) parameters per layer, four times an RNN's.
"""

from __future__ import annotations

from minigen.nn import LSTM

from .base import RecurrentLM


class LSTMLM(RecurrentLM):
    """Token LM on :class:`minigen.nn.LSTM`. See :class:`RecurrentLM` for arguments."""

    layer_class = LSTM

"""RNN language model: an Elman network reads the prefix and predicts the next token.

Idea (Elman, 1990; as a language model, Mikolov et al., 2010, "Recurrent neural network
based language model", Interspeech): one hidden vector summarises the whole prefix,

    h_t = tanh(W_ih e(s_{t−1}) + b_ih + W_hh h_{t−1} + b_hh),   l_t = W_out h_t + b_out,

and p(s) = Π_t softmax(l_t)[s_t], with the end token making it a distribution over
sequences of every length (the body is :class:`minigen.models.sequence.base.RecurrentLM`).

Objective: the exact negative log-likelihood −log p(s) = −Σ_t log softmax(l_t)[s_t],
averaged over the batch (nats per sequence), trained by backpropagation through time.

Why it is hard: the gradient through T steps is a product of T Jacobians
diag(1 − h²) W_hh, which vanishes or explodes (Bengio et al., 1994); the LSTM and GRU add
gates to fix that. On names (≤ 16 steps) the plain RNN still learns well.
"""

from __future__ import annotations

from minigen.nn import RNN

from .base import RecurrentLM


class RNNLM(RecurrentLM):
    """Token LM on :class:`minigen.nn.RNN` (tanh). See :class:`RecurrentLM` for arguments."""

    layer_class = RNN

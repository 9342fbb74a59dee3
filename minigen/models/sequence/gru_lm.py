"""GRU language model: two gates and no separate cell state.

Idea (Cho et al., 2014, "Learning phrase representations using RNN encoder-decoder";
compared with the LSTM by Chung et al., 2014): a reset gate r decides how much of the past
feeds the candidate, an update gate z interpolates between the old state and it,

    r = σ(W_ir x + b_ir + W_hr h + b_hr),  z = σ(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
    h_t = (1 − z) ⊙ n + z ⊙ h_{t−1},       l_t = W_out h_t + b_out,   x = e(s_{t−1})

and p(s) = Π_t softmax(l_t)[s_t] (the body is
:class:`minigen.models.sequence.base.RecurrentLM`). The state is h_t alone.

Objective: −log p(s) = −Σ_t log softmax(l_t)[s_t], mean over the batch, nats per sequence.
Three gate blocks: 3 (H·E + H·H + 2H) parameters per layer, between an RNN and an LSTM.
"""

from __future__ import annotations

from minigen.nn import GRU

from .base import RecurrentLM


class GRULM(RecurrentLM):
    """Token LM on :class:`minigen.nn.GRU`. See :class:`RecurrentLM` for arguments."""

    layer_class = GRU

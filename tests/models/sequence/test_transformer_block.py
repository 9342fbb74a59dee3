"""The Transformer LM's block: a loop reference, gradients, parity with torch."""

import numpy as np
import pytest

import autograd as ag
from minigen.models.sequence.transformer_lm import DecoderBlock, TransformerLM

from .helpers import random_tokens, small_lm


def _block(seed=0, width=6, heads=2, hidden=10):
    return DecoderBlock(width, heads, hidden, 0.0, rng=np.random.default_rng(seed),
                        dtype=np.float64)


def _layer_norm(x, weight, bias, eps=1e-5):
    centred = x - x.mean(axis=-1, keepdims=True)
    return centred / np.sqrt((centred**2).mean(axis=-1, keepdims=True) + eps) * weight + bias


def _reference_block(block, x):
    """The block written as loops: query t attends over keys 0 … t only, head by head."""
    state = {k: v for k, v in block.state_dict().items()}
    width, heads = x.shape[-1], block.self_attn.num_heads
    size = width // heads
    w_in, b_in = state["self_attn.in_proj_weight"], state["self_attn.in_proj_bias"]
    out = np.zeros_like(x)
    for n in range(x.shape[0]):
        normed = _layer_norm(x[n], state["norm1.weight"], state["norm1.bias"])
        q, k, v = (normed @ w_in[i * width:(i + 1) * width].T + b_in[i * width:(i + 1) * width]
                   for i in range(3))
        attended = np.zeros_like(normed)
        for t in range(x.shape[1]):
            for h in range(heads):
                cols = slice(h * size, (h + 1) * size)
                scores = np.array([q[t, cols] @ k[j, cols] for j in range(t + 1)]) / np.sqrt(size)
                weights = np.exp(scores - scores.max())
                weights /= weights.sum()
                attended[t, cols] = sum(w * v[j, cols] for j, w in enumerate(weights))
        a = (x[n] + attended @ state["self_attn.out_proj.weight"].T
             + state["self_attn.out_proj.bias"])
        hidden = np.maximum(_layer_norm(a, state["norm2.weight"], state["norm2.bias"])
                            @ state["linear1.weight"].T + state["linear1.bias"], 0)
        out[n] = a + hidden @ state["linear2.weight"].T + state["linear2.bias"]
    return out


def test_block_equals_a_loop_reference():
    block = _block(seed=1)
    x = np.random.default_rng(2).standard_normal((3, 5, 6))
    np.testing.assert_allclose(block(x).data, _reference_block(block, x), rtol=1e-10, atol=1e-12)


def test_block_gradcheck():
    block = _block(seed=3, width=4, heads=2, hidden=6)
    x = ag.Tensor(np.random.default_rng(4).standard_normal((2, 3, 4)), requires_grad=True)
    direction = np.random.default_rng(5).standard_normal((2, 3, 4))
    parameters = block.parameters()
    assert ag.gradcheck(lambda x, *_: (block(x) * direction).sum(), [x, *parameters])


def test_language_model_loss_gradcheck_through_the_capped_softmax():
    model = small_lm("transformer_lm_tied", (4,), seed=6, vocab_size=4)
    tokens = random_tokens(model, 3, np.random.default_rng(7))
    tokens[0] = [1, 2, 3, 0]  # reaches the cap: its last step is the forced end token
    chosen = [model.token_embedding.weight, model.position_embedding.weight,
              model.blocks[0].self_attn.in_proj_weight, model.final_norm.weight,
              model.head_bias]  # the tied table, attention, and the head's own bias
    assert ag.gradcheck(lambda *_: model.loss(tokens), chosen)


def test_recurrent_language_model_loss_gradcheck():
    model = small_lm("gru_lm", (4,), seed=8, vocab_size=4)
    tokens = random_tokens(model, 3, np.random.default_rng(9))
    assert ag.gradcheck(lambda *_: model.loss(tokens), model.parameters())


# ----- torch parity ------------------------------------------------------------------------
def test_block_matches_torch_pre_ln_transformer_encoder_layer():
    torch = pytest.importorskip("torch")
    ours = _block(seed=10, width=8, heads=2, hidden=12)
    theirs = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=12, dropout=0.0,
                                              activation="relu", batch_first=True,
                                              norm_first=True).double()
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(11).standard_normal((3, 5, 8))
    mask = torch.nn.Transformer.generate_square_subsequent_mask(5, dtype=torch.float64)
    theirs.eval()
    with torch.no_grad():
        expected = theirs(torch.tensor(x), src_mask=mask, is_causal=True).numpy()
    np.testing.assert_allclose(ours(x).data, expected, rtol=1e-10, atol=1e-12)


def test_causal_attention_matches_torch_with_large_weights():
    torch = pytest.importorskip("torch")
    ours = _block(seed=12, width=8, heads=4).self_attn
    ours.in_proj_weight.data *= 100.0  # scores far beyond any finite "mask" constant
    theirs = torch.nn.MultiheadAttention(8, 4, batch_first=True).double()
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(13).standard_normal((2, 6, 8))
    blocked = torch.triu(torch.ones(6, 6, dtype=torch.bool), diagonal=1)
    with torch.no_grad():
        expected, _ = theirs(*(torch.tensor(x),) * 3, attn_mask=blocked, need_weights=False)
    got, _ = ours(x, x, x, need_weights=False, is_causal=True)
    np.testing.assert_allclose(got.data, expected.numpy(), rtol=1e-9, atol=1e-9)


def test_whole_model_matches_a_torch_stack_with_copied_weights():
    torch = pytest.importorskip("torch")
    model = TransformerLM((5,), rng=np.random.default_rng(14), embed_dim=8, num_heads=2,
                          num_layers=2, dtype=np.float64)
    layers = []
    for index in range(2):
        layer = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=32, dropout=0.0,
                                                 batch_first=True, norm_first=True).double()
        layer.load_state_dict({k: torch.tensor(v)
                               for k, v in model.blocks[index].state_dict().items()})
        layers.append(layer.eval())
    state = model.state_dict()
    tokens = random_tokens(model, 4, np.random.default_rng(15))
    inputs = torch.tensor(model.shifted(tokens))
    with torch.no_grad():
        h = (torch.tensor(state["token_embedding.weight"])[inputs]
             + torch.tensor(state["position_embedding.weight"]))
        mask = torch.nn.Transformer.generate_square_subsequent_mask(5, dtype=torch.float64)
        for layer in layers:
            h = layer(h, src_mask=mask, is_causal=True)
        h = torch.nn.functional.layer_norm(h, (8,), torch.tensor(state["final_norm.weight"]),
                                           torch.tensor(state["final_norm.bias"]))
        logits = h @ torch.tensor(state["head.weight"]).T + torch.tensor(state["head.bias"])
    expected = logits.numpy()
    expected[:, -1, 1:] = -np.inf  # the length cap
    np.testing.assert_allclose(model.logits(tokens).data, expected, rtol=1e-10, atol=1e-12)

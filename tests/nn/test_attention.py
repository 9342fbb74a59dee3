"""Scaled dot-product and multi-head attention: masks, causality, gradients, torch parity."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
from minigen.nn import MultiheadAttention, causal_mask, scaled_dot_product_attention

RNG = np.random.default_rng


@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 4), st.integers(0, 2 ** 16))
def test_attention_weights_are_distributions_over_allowed_keys(length, keys, width, seed):
    rng = RNG(seed)
    q, k, v = (rng.standard_normal((2, n, width)) for n in (length, keys, keys))
    mask = rng.random((length, keys)) < 0.6
    mask[:, 0] = True
    output, weights = scaled_dot_product_attention(q, k, v, attn_mask=mask)
    np.testing.assert_allclose(weights.data.sum(axis=-1), 1, rtol=1e-12)
    assert np.all(weights.data[:, ~mask] == 0)
    np.testing.assert_allclose(output.data, weights.data @ v, rtol=1e-10)


def test_attention_is_softmax_of_scaled_scores_times_values():
    rng = RNG(0)
    q, k, v = rng.standard_normal((3, 4)), rng.standard_normal((5, 4)), rng.standard_normal((5, 2))
    scores = q @ k.T / 2.0  # √d_k = 2
    probabilities = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    output, _ = scaled_dot_product_attention(q, k, v)
    np.testing.assert_allclose(output.data, probabilities @ v, rtol=1e-12)


def test_causal_mask_is_lower_triangular():
    np.testing.assert_array_equal(causal_mask(3), [[1, 0, 0], [1, 1, 0], [1, 1, 1]])


@given(st.integers(2, 6), st.integers(0, 2 ** 16))
def test_causal_attention_output_ignores_later_positions(length, seed):
    rng = RNG(seed)
    attention = MultiheadAttention(4, 2, rng=RNG(0), dtype=np.float64)
    x = rng.standard_normal((1, length, 4))
    changed = x.copy()
    changed[:, -1] += rng.standard_normal(4) * 5  # perturb only the last position
    before, _ = attention(x, x, x, is_causal=True)
    after, _ = attention(changed, changed, changed, is_causal=True)
    np.testing.assert_allclose(before.data[:, :-1], after.data[:, :-1], rtol=1e-12)
    assert not np.allclose(before.data[:, -1], after.data[:, -1])


def test_key_padding_mask_makes_padded_keys_irrelevant():
    rng = RNG(1)
    attention = MultiheadAttention(4, 2, rng=rng, dtype=np.float64)
    q, k = rng.standard_normal((1, 3, 4)), rng.standard_normal((1, 5, 4))
    padding = np.array([[False, False, False, True, True]])
    out, weights = attention(q, k, k, key_padding_mask=padding)
    k_changed = k.copy()
    k_changed[:, 3:] = 100.0
    out_changed, _ = attention(q, k_changed, k_changed, key_padding_mask=padding)
    np.testing.assert_allclose(out.data, out_changed.data, rtol=1e-12)
    assert np.all(weights.data[..., 3:] == 0)


def test_multihead_attention_gradcheck():
    rng = RNG(2)
    attention = MultiheadAttention(4, 2, rng=rng, dtype=np.float64)
    attention.in_proj_bias.data[...] = rng.standard_normal(12) * 0.1
    q = ag.Tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    kv = ag.Tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    ag.gradcheck(lambda q, kv, *p: attention(q, kv, kv, is_causal=True)[0],
                 [q, kv, *attention.parameters()])


def test_shapes_and_parameters_follow_torch_layout():
    attention = MultiheadAttention(6, 3, rng=RNG(3))
    assert {name: p.shape for name, p in attention.named_parameters()} == {
        "in_proj_weight": (18, 6), "in_proj_bias": (18,),
        "out_proj.weight": (6, 6), "out_proj.bias": (6,)}
    assert attention.num_parameters() == 4 * 6 * 6 + 4 * 6  # 4E² + 4E
    out, weights = attention(np.zeros((2, 5, 6), dtype=np.float32),
                             np.zeros((2, 7, 6), dtype=np.float32),
                             np.zeros((2, 7, 6), dtype=np.float32),
                             average_attn_weights=False)
    assert out.shape == (2, 5, 6) and weights.shape == (2, 3, 5, 7)
    assert out.dtype == np.float32


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="multiple of num_heads"):
        MultiheadAttention(5, 2, rng=RNG(0))
    attention = MultiheadAttention(4, 2, rng=RNG(0))
    x = np.zeros((1, 3, 4), dtype=np.float32)
    with pytest.raises(ValueError, match=r"query must be \(N, L, E\) with E = 4"):
        attention(np.zeros((1, 3, 5)), x, x)
    with pytest.raises(ValueError, match="no key to attend to"):
        attention(x, x, x, key_padding_mask=np.ones((1, 3), dtype=bool))
    with pytest.raises(ValueError, match=r"attn_mask has shape \(2, 2\)"):
        attention(x, x, x, attn_mask=np.zeros((2, 2), dtype=bool))


# ----- parity with torch -------------------------------------------------------------------


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("average", [True, False])
def test_multihead_attention_matches_torch(batch_first, average):
    torch = pytest.importorskip("torch")
    rng = RNG(4)
    ours = MultiheadAttention(6, 2, batch_first=batch_first, rng=rng, dtype=np.float64)
    ours.in_proj_bias.data[...] = rng.standard_normal(18)
    ours.out_proj.bias.data[...] = rng.standard_normal(6)
    theirs = torch.nn.MultiheadAttention(6, 2, batch_first=batch_first).double()
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    q = rng.standard_normal((2, 4, 6) if batch_first else (4, 2, 6))
    kv = rng.standard_normal((2, 5, 6) if batch_first else (5, 2, 6))
    padding = np.zeros((2, 5), dtype=bool)
    padding[1, 3:] = True
    blocked = rng.random((4, 5)) < 0.3
    blocked[:, 0] = False
    ours_q = ag.Tensor(q, requires_grad=True)
    out, weights = ours(ours_q, kv, kv, key_padding_mask=padding, attn_mask=blocked,
                        average_attn_weights=average)
    torch_q = torch.tensor(q, requires_grad=True)
    expected, expected_weights = theirs(torch_q, torch.tensor(kv), torch.tensor(kv),
                                        key_padding_mask=torch.tensor(padding),
                                        attn_mask=torch.tensor(blocked),
                                        average_attn_weights=average)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(weights.data, expected_weights.detach().numpy(), atol=1e-12)
    direction = rng.standard_normal(out.shape)
    (out * direction).sum().backward()
    (expected * torch.tensor(direction)).sum().backward()
    np.testing.assert_allclose(ours_q.grad, torch_q.grad.numpy(), atol=1e-12)
    torch_parameters = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, torch_parameters[name].grad.numpy(), atol=1e-12,
                                   err_msg=name)


def test_causal_multihead_attention_matches_torch():
    torch = pytest.importorskip("torch")
    rng = RNG(5)
    ours = MultiheadAttention(4, 2, rng=rng, dtype=np.float64)
    theirs = torch.nn.MultiheadAttention(4, 2, batch_first=True).double()
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    x = rng.standard_normal((2, 5, 4))
    blocked = torch.tensor(~causal_mask(5))
    tx = torch.tensor(x)
    expected, _ = theirs(tx, tx, tx, attn_mask=blocked)
    np.testing.assert_allclose(ours(x, x, x, is_causal=True)[0].data,
                               expected.detach().numpy(), atol=1e-12)


@pytest.mark.parametrize("is_causal", [False, True])
def test_scaled_dot_product_attention_matches_torch(is_causal):
    torch = pytest.importorskip("torch")
    rng = RNG(6)
    q, k, v = (rng.standard_normal((2, 3, 4, 5)) for _ in range(3))
    mask = None
    if not is_causal:
        mask = rng.random((4, 4)) < 0.7
        mask[np.arange(4), np.arange(4)] = True
    expected = torch.nn.functional.scaled_dot_product_attention(
        *(torch.tensor(t) for t in (q, k, v)),
        attn_mask=None if mask is None else torch.tensor(mask), is_causal=is_causal)
    output, _ = scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal)
    np.testing.assert_allclose(output.data, expected.numpy(), atol=1e-12)

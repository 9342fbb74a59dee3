"""Token language models: the chain rule, causality, normalisation, sampler, dropout."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigen.data import decode_names, encode_names, load_names
from minigen.models.sequence.bigram import Bigram
from minigen.models.sequence.transformer_lm import TransformerLM

from .helpers import ALL, NEURAL, all_sequences, random_tokens, scale_weights, small_lm


# ----- autoregressive property -------------------------------------------------------------
@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("data_shape", [(7,), (1, 3, 3)])
def test_changing_tokens_after_t_leaves_logits_up_to_t_bit_identical(name, data_shape):
    model = small_lm(name, data_shape, seed=1, dtype=np.float32)
    scale_weights(model, 1.0 if name == "bigram" else 30.0)  # scores ≫ 1e4 in attention
    rng = np.random.default_rng(2)
    x = random_tokens(model, 6, rng)
    before = model.logits(x).data
    assert np.isfinite(before[:, :-1]).all()
    tokens = model.tokens(x)
    for t in range(model.sequence_length - 1):
        changed = tokens.copy()
        changed[:, t + 1:] = rng.integers(0, model.vocab_size, changed[:, t + 1:].shape)
        after = model.logits(model.to_data(changed)).data
        # l_{t+1} predicts s_{t+1} from s_0 … s_t: positions 0 … t+1 must not move at all
        np.testing.assert_array_equal(after[:, :t + 2], before[:, :t + 2])


def test_attention_scores_far_beyond_1e4_still_cannot_see_the_future():
    model = small_lm("transformer_lm", (6,), seed=3, dtype=np.float32)
    for block in model.blocks._modules.values():
        block.self_attn.in_proj_weight.data *= 300.0
    x = random_tokens(model, 4, np.random.default_rng(4))
    normed = model.blocks[0].norm1(model.token_embedding(model.shifted(x))
                                   + model.position_embedding(np.arange(6)))
    queries = normed.data @ model.blocks[0].self_attn.in_proj_weight.data[:8].T
    keys = normed.data @ model.blocks[0].self_attn.in_proj_weight.data[8:16].T
    assert np.abs(queries @ keys.transpose(0, 2, 1)).max() > 1e5  # a −1e4 "mask" would leak
    future = x.copy()
    future[:, 3:] = (future[:, 3:] % 3) + 1
    np.testing.assert_array_equal(model.logits(future).data[:, :4], model.logits(x).data[:, :4])


# ----- normalisation -----------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL)
@settings(max_examples=5)
@given(seed=st.integers(0, 2**31 - 1), scale=st.sampled_from([0.5, 1.0, 3.0]))
def test_probabilities_sum_to_one_over_all_sequences_up_to_the_cap(name, seed, scale):
    # 3 letters + end token, T = 4: every sequence of 0 … 3 letters then the end token
    model = small_lm(name, (4,), seed=seed, vocab_size=4)
    if name != "bigram":
        scale_weights(model, scale)
    sequences = all_sequences(4, 4)
    assert len(sequences) == 1 + 3 + 9 + 27
    probabilities = np.exp(model.log_prob(sequences))
    np.testing.assert_allclose(probabilities.sum(), 1.0, rtol=1e-10)
    assert (probabilities > 0).all()


@pytest.mark.parametrize("name", ALL)
def test_the_cap_gives_a_sequence_without_end_token_probability_zero(name):
    model = small_lm(name, (4,), seed=6, vocab_size=4)
    uncapped = np.array([[1, 2, 3, 1]])  # four letters: longer than the cap allows
    assert model.log_prob(uncapped)[0] == -np.inf
    assert np.all(np.isinf(model.logits(uncapped).data[0, -1, 1:]))


@pytest.mark.parametrize("name", ALL)
def test_binary_images_as_sequences_sum_to_one(name):
    model = small_lm(name, (1, 2, 2), seed=7)
    codes = np.arange(16)
    images = ((codes[:, None] >> np.arange(4)[::-1]) & 1).reshape(16, 1, 2, 2)
    np.testing.assert_allclose(np.exp(model.log_prob(images.astype(np.float32))).sum(), 1.0,
                               rtol=1e-10)


def test_padding_after_the_end_token_is_not_scored():
    model = small_lm("lstm_lm", (5,), seed=8, vocab_size=4)
    a = np.array([[2, 0, 0, 0, 0]])
    b = np.array([[2, 0, 3, 1, 2]])  # same sequence "b." with different padding
    np.testing.assert_array_equal(model.log_prob(a), model.log_prob(b))


@given(st.integers(0, 2**31 - 1))
def test_log_prob_is_the_sum_of_chain_rule_terms(seed):
    model = small_lm("gru_lm", (5,), seed=seed % 7, vocab_size=4)
    tokens = random_tokens(model, 3, np.random.default_rng(seed))
    logits = model.logits(tokens).data
    expected = np.zeros(3)
    for row in range(3):
        for t in range(5):
            log_softmax = logits[row, t] - np.logaddexp.reduce(logits[row, t])
            expected[row] += log_softmax[tokens[row, t]]
            if tokens[row, t] == 0:
                break
    np.testing.assert_allclose(model.log_prob(tokens), expected, rtol=1e-12)


# ----- eval vs training mode ---------------------------------------------------------------
@pytest.mark.parametrize("name", ["lstm_lm", "transformer_lm"])
def test_eval_is_deterministic_and_training_dropout_is_not(name):
    cls, hparams = NEURAL[name]
    model = cls((6,), rng=np.random.default_rng(0), dtype=np.float64, dropout=0.5, **hparams)
    x = random_tokens(model, 8, np.random.default_rng(1))
    model.eval()
    first, second = model.log_prob(x), model.log_prob(x)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(model.loss(x).data, model.loss(x).data)
    model.train()
    np.testing.assert_array_equal(model.log_prob(x), first)  # log_prob always evaluates
    assert model.training  # ... and gives the mode back
    one = model.loss(x, np.random.default_rng(10)).data
    two = model.loss(x, np.random.default_rng(11)).data
    assert one != two
    with pytest.raises(TypeError, match="rng"):
        model.loss(x)  # dropout in training needs an explicit rng


# ----- the sampler -------------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("data_shape", [(6,), (1, 2, 3)])
def test_step_by_step_logits_equal_the_full_forward(name, data_shape):
    model = small_lm(name, data_shape, seed=9)
    tokens, used = model.generate(7, np.random.default_rng(3))
    full = model.logits(model.to_data(tokens)).data
    scored = model.scored(tokens)
    np.testing.assert_allclose(used[scored], full[scored], rtol=1e-10, atol=1e-12)


def test_samples_end_with_the_end_token_and_pad_with_it():
    model = small_lm("rnn_lm", (6,), seed=10)
    tokens = model.sample(50, np.random.default_rng(0))
    assert tokens.dtype == np.int64 and tokens.shape == (50, 6)
    assert (tokens == 0).any(axis=1).all()  # the cap forces an end
    np.testing.assert_array_equal(tokens[~model.scored(tokens)], 0)


def test_low_temperature_samples_the_most_likely_token_at_every_step():
    model = small_lm("gru_lm", (6,), seed=11)
    tokens, used = model.generate(5, np.random.default_rng(0), temperature=1e-6)
    scored = model.scored(tokens)
    np.testing.assert_array_equal(tokens[scored], used.argmax(axis=-1)[scored])


def test_temperature_flattens_the_sample_distribution():
    model = small_lm("rnn_lm", (2,), seed=12, vocab_size=4)
    scale_weights(model, 3.0)
    exact = np.exp(model.log_prob(all_sequences(2, 4)))  # ".", "a.", "b.", "c."
    for temperature, check in ((1.0, "match"), (50.0, "flat")):
        draws = model.sample(4000, np.random.default_rng(1), temperature=temperature)
        frequencies = np.bincount(draws[:, 0], minlength=4) / 4000
        if check == "match":
            np.testing.assert_allclose(frequencies, exact, atol=0.03)
        else:
            np.testing.assert_allclose(frequencies, 0.25, atol=0.03)


def test_sample_checks_its_arguments():
    model = small_lm("rnn_lm", (4,))
    with pytest.raises(ValueError, match="temperature"):
        model.sample(2, np.random.default_rng(0), temperature=0.0)
    with pytest.raises(TypeError, match="rng"):
        model.sample(2, rng=0)
    with pytest.raises(ValueError, match="tokens"):
        model.log_prob(np.zeros((2, 5), dtype=np.int64))
    with pytest.raises(ValueError, match="token ids"):
        model.log_prob(np.full((2, 4), 27))


@pytest.mark.parametrize("data_shape", [(6,), (1, 2, 4)])
def test_complete_keeps_the_first_half(data_shape):
    model = small_lm("transformer_lm", data_shape, seed=13)
    x = random_tokens(model, 6, np.random.default_rng(5))
    completed = model.tokens(model.complete(x, np.random.default_rng(0)))
    tokens = model.tokens(x)
    if len(data_shape) == 3:
        np.testing.assert_array_equal(completed[:, :4], tokens[:, :4])
    else:
        letters = model.scored(tokens).sum(axis=1) - 1
        for row, kept in zip(range(6), letters // 2):
            np.testing.assert_array_equal(completed[row, :kept], tokens[row, :kept])


def test_image_samples_are_binary_images():
    model = small_lm("lstm_lm", (1, 3, 3), seed=14)
    images = model.sample(4, np.random.default_rng(0))
    assert images.shape == (4, 1, 3, 3) and images.dtype == np.float32
    assert set(np.unique(images)) <= {0.0, 1.0}


# ----- the bigram table --------------------------------------------------------------------
def test_bigram_is_the_counting_mle():
    rng = np.random.default_rng(0)
    model = Bigram((5,), rng=rng, vocab_size=4, smoothing=0.0)
    tokens = random_tokens(model, 40, rng)
    model.fit(tokens)
    counts = np.zeros((5, 4))
    for row in tokens:
        previous = 4  # the start token
        for t, token in enumerate(row):
            if t < 4:  # the capped last step (forced end) is not a free choice
                counts[previous, token] += 1
            if token == 0:
                break
            previous = token
    seen = counts.sum(axis=1) > 0
    expected = counts[seen] / counts[seen].sum(axis=1, keepdims=True)
    np.testing.assert_allclose(np.exp(model.log_table[seen]), expected, rtol=1e-12)
    # MLE: no small move of one row raises the training likelihood
    before = model.log_prob(tokens).sum()
    model.log_table[4] = np.log(np.exp(model.log_table[4]) * 0.9 + 0.1 / 4)
    assert model.log_prob(tokens).sum() < before


def test_bigram_counts_batches_like_one_fit_and_has_v_times_v_minus_one_parameters():
    x, _ = load_names("test")
    whole = Bigram((16,), rng=np.random.default_rng(0)).fit(x)
    batched = Bigram((16,), rng=np.random.default_rng(0))
    for start in range(0, len(x), 500):
        batched.train_step(x[start:start + 500])
    np.testing.assert_allclose(batched.log_table, whole.log_table, rtol=1e-12)
    assert whole.num_free_parameters() == 27 * 26
    assert Bigram((1, 8, 8), rng=np.random.default_rng(0)).num_free_parameters() == 3


def test_bigram_on_names_reaches_the_published_anchor():
    train, _ = load_names("train")
    test, _ = load_names("test")
    model = Bigram((16,), rng=np.random.default_rng(0), smoothing=1.0).fit(train)
    assert abs(model.metrics(test)["nats_per_token"] - 2.45) < 0.02  # makemore: ≈ 2.45


def test_decode_reads_names_back():
    model = small_lm("rnn_lm", (16,))
    tokens = encode_names(["emma", "", "zyx"])
    assert model.decode(tokens) == ["emma", "", "zyx"] == decode_names(tokens)


# ----- tied embeddings ---------------------------------------------------------------------
def test_tied_head_shares_the_token_embedding():
    rng = np.random.default_rng(0)
    tied = TransformerLM((5,), rng=rng, embed_dim=8, num_heads=2, num_layers=1, tied=True)
    untied = TransformerLM((5,), rng=rng, embed_dim=8, num_heads=2, num_layers=1)
    assert untied.num_parameters() - tied.num_parameters() == 8 * 27
    x = random_tokens(tied, 4, rng)
    tied.loss(x).backward()
    gradient = tied.token_embedding.weight.grad
    assert np.abs(gradient[:27]).sum() > 0 and np.abs(gradient[27]).sum() > 0
    # every output row gets gradient through the head, even ids that never appear as input
    unused = np.setdiff1d(np.arange(27), tied.shifted(tied.tokens(x)))
    assert np.abs(gradient[unused]).sum(axis=1).min() > 0

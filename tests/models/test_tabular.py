"""Properties of the counting models: parameter counts, normalisation, maximum likelihood."""

import itertools
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from minigen.models.tabular import (
    ChainRuleTables,
    IndependentBernoulli,
    JointTable,
    MarkovChain,
    RGBPixelJoint,
)

BINARY_MODELS = [JointTable, ChainRuleTables, IndependentBernoulli, MarkovChain]
# The counts of the course notes, written out independently of the code under test.
EXPECTED_COUNT = {
    JointTable: lambda n: 2**n - 1,
    ChainRuleTables: lambda n: sum(2**i for i in range(n)),
    IndependentBernoulli: lambda n: n,
    MarkovChain: lambda n: 1 + 2 * (n - 1),
}

pixels = st.integers(1, 12)
seeds = st.integers(0, 2**32 - 1)


def evaluate_formula(formula: str, **symbols: int) -> int:
    """Evaluate "2^n - 1", "2n - 1", "K^3 - 1" with the given symbol values."""
    expression = re.sub(r"(\d)([a-zA-Z])", r"\1*\2", formula).replace("^", "**")
    assert re.fullmatch(r"[\d\s+\-*()a-zA-Z]+", expression), formula
    return eval(expression, {"__builtins__": {}}, symbols)


def all_configurations(n: int) -> np.ndarray:
    return np.array(list(itertools.product([0, 1], repeat=n)), dtype=np.float32)


@pytest.mark.parametrize("model_class", BINARY_MODELS)
@given(n=pixels, seed=seeds)
def test_num_free_parameters_equals_formula_and_stored_entries(model_class, n, seed):
    model = model_class((n,), rng=np.random.default_rng(seed))
    expected = EXPECTED_COUNT[model_class](n)
    assert model.num_free_parameters() == expected
    assert evaluate_formula(model.formula(), n=n) == expected
    assert model.free_parameters().size == expected
    assert model.num_parameters() == 0  # counting, not gradient descent


def test_parameter_counts_of_the_notes_for_a_binary_image():
    # the lecture's headline: 2^n − 1 for the joint versus 2n − 1 under the Markov assumption
    shape = (1, 3, 3)
    rng = np.random.default_rng(0)
    assert JointTable(shape, rng=rng).num_free_parameters() == 511
    assert MarkovChain(shape, rng=rng).num_free_parameters() == 17
    assert IndependentBernoulli(shape, rng=rng).num_free_parameters() == 9


@pytest.mark.parametrize("model_class", BINARY_MODELS)
@given(n=pixels, seed=seeds)
def test_probabilities_sum_to_one_over_all_configurations(model_class, n, seed):
    model = model_class((n,), rng=np.random.default_rng(seed))
    total = np.exp(model.log_prob(all_configurations(n))).sum()
    assert total == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("model_class", BINARY_MODELS)
@given(n=st.integers(1, 8), seed=seeds, smoothing=st.sampled_from([0.0, 0.5, 1.0]))
def test_fitted_probabilities_sum_to_one(model_class, n, seed, smoothing):
    rng = np.random.default_rng(seed)
    data = (rng.uniform(size=(50, n)) < rng.uniform(size=n)).astype(np.float32)
    model = model_class((n,), rng=rng).fit(data, smoothing=smoothing)
    total = np.exp(model.log_prob(all_configurations(n))).sum()
    assert total == pytest.approx(1.0, abs=1e-9)


@given(n=st.integers(1, 8), seed=seeds, num=st.integers(1, 200))
def test_joint_table_mle_equals_empirical_frequencies(n, seed, num):
    rng = np.random.default_rng(seed)
    data = (rng.uniform(size=(num, 1, 1, n)) < 0.3).astype(np.float32)
    model = JointTable((1, 1, n), rng=rng).fit(data)
    rows, counts = np.unique(data.reshape(num, n), axis=0, return_counts=True)
    np.testing.assert_allclose(np.exp(model.log_prob(rows)), counts / num, rtol=1e-12)
    unseen = [c for c in all_configurations(n) if not (rows == c).all(axis=1).any()]
    if unseen:
        assert np.all(model.log_prob(np.array(unseen)) == -np.inf)


@given(n=st.integers(1, 8), seed=seeds, smoothing=st.floats(0.1, 3.0))
def test_laplace_smoothing_adds_alpha_to_every_count(n, seed, smoothing):
    rng = np.random.default_rng(seed)
    data = (rng.uniform(size=(40, n)) < 0.5).astype(np.float32)
    joint = JointTable((n,), rng=rng).fit(data, smoothing=smoothing)
    rows, counts = np.unique(data, axis=0, return_counts=True)
    expected = (counts + smoothing) / (len(data) + smoothing * 2**n)
    np.testing.assert_allclose(np.exp(joint.log_prob(rows)), expected, rtol=1e-12)
    independent = IndependentBernoulli((n,), rng=rng).fit(data, smoothing=smoothing)
    expected_p = (data.sum(axis=0, dtype=np.float64) + smoothing) / (len(data) + 2 * smoothing)
    np.testing.assert_allclose(independent.probs_one, expected_p, rtol=1e-12)


@given(n=st.integers(1, 8), seed=seeds)
def test_chain_rule_tables_fit_the_same_distribution_as_the_joint_table(n, seed):
    # The chain rule is exact: its maximum-likelihood tables reproduce the empirical joint.
    rng = np.random.default_rng(seed)
    data = (rng.uniform(size=(60, n)) < rng.uniform(size=n)).astype(np.float32)
    joint = JointTable((n,), rng=rng).fit(data)
    chain = ChainRuleTables((n,), rng=rng).fit(data)
    np.testing.assert_allclose(chain.log_prob(data), joint.log_prob(data), rtol=1e-12)


def sample_known_chain(num, first, transition, rng):
    """Draw from p(x_0) Π p(x_i | x_{i-1}) directly, without the model under test."""
    bits = np.zeros((num, len(transition) + 1), dtype=np.int64)
    bits[:, 0] = rng.random(num) < first
    for i, (p_after_zero, p_after_one) in enumerate(transition, start=1):
        p_one = np.where(bits[:, i - 1] == 1, p_after_one, p_after_zero)
        bits[:, i] = rng.random(num) < p_one
    return bits


def test_markov_chain_recovers_known_transition_probabilities():
    rng = np.random.default_rng(1)
    first = 0.3
    transition = rng.uniform(0.1, 0.9, size=(7, 2))
    data = sample_known_chain(20_000, first, transition, rng)
    model = MarkovChain((1, 2, 4), rng=rng).fit(data.reshape(-1, 1, 2, 4))
    assert model.first[0] == pytest.approx(first, abs=0.02)
    np.testing.assert_allclose(model.transition, transition, atol=0.03)


@pytest.mark.parametrize("model_class", BINARY_MODELS)
def test_sampling_frequencies_match_probabilities(model_class):
    n, num = 3, 20_000
    model = model_class((n,), rng=np.random.default_rng(2))
    samples = model.sample(num, np.random.default_rng(3))
    assert samples.shape == (num, n)
    index = samples.astype(int) @ (2 ** np.arange(n - 1, -1, -1))
    observed = np.bincount(index, minlength=2**n)
    configurations = all_configurations(n)  # itertools.product order = binary counting
    expected = num * np.exp(model.log_prob(configurations))
    assert stats.chisquare(observed, expected).pvalue > 1e-3


@pytest.mark.parametrize("model_class", BINARY_MODELS)
def test_train_step_accumulates_counts_like_fit(model_class):
    rng = np.random.default_rng(4)
    data = (rng.uniform(size=(90, 1, 2, 3)) < 0.4).astype(np.float32)
    stepped = model_class((1, 2, 3), rng=rng, smoothing=0.5)
    for batch in np.split(data, 3):
        metrics = stepped.train_step(batch, rng)
        assert np.isfinite(metrics["loss"])
    fitted = model_class((1, 2, 3), rng=rng).fit(data, smoothing=0.5)
    configurations = all_configurations(6)
    np.testing.assert_allclose(stepped.log_prob(configurations),
                               fitted.log_prob(configurations), rtol=1e-12)
    assert float(stepped.loss(data).data) == pytest.approx(-fitted.log_prob(data).mean())


@pytest.mark.parametrize("model_class", [JointTable, ChainRuleTables])
def test_exponential_tables_refuse_more_than_twenty_pixels(model_class):
    with pytest.raises(ValueError, match=r"2\^n"):
        model_class((1, 5, 5), rng=np.random.default_rng(0))


@pytest.mark.parametrize("model_class", BINARY_MODELS)
def test_non_binary_or_misshaped_input_is_refused(model_class):
    model = model_class((4,), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="binary"):
        model.log_prob(np.full((2, 4), 0.5))
    with pytest.raises(ValueError, match="shape"):
        model.log_prob(np.zeros((2, 5)))


def test_rgb_pixel_joint_has_256_cubed_minus_one_free_parameters():
    model = RGBPixelJoint((3,), rng=np.random.default_rng(0))
    assert model.num_free_parameters() == 16_777_215
    assert evaluate_formula(model.formula(), K=256) == 16_777_215
    assert model.free_parameters().size == 16_777_215


@given(levels=st.integers(1, 12), seed=seeds)
def test_rgb_pixel_probabilities_sum_to_one_and_mle_counts(levels, seed):
    rng = np.random.default_rng(seed)
    model = RGBPixelJoint((3,), rng=rng, levels=levels)
    colours = np.array(list(itertools.product(range(levels), repeat=3)))
    assert np.exp(model.log_prob(colours)).sum() == pytest.approx(1.0, abs=1e-9)
    data = rng.integers(0, levels, size=(30, 3))
    model.fit(data)
    rows, counts = np.unique(data, axis=0, return_counts=True)
    np.testing.assert_allclose(np.exp(model.log_prob(rows)), counts / 30, rtol=1e-12)
    assert model.free_parameters().size == levels**3 - 1


def test_rgb_pixel_sampling_frequencies_match_probabilities():
    model = RGBPixelJoint((3,), rng=np.random.default_rng(5), levels=2)
    samples = model.sample(20_000, np.random.default_rng(6))
    colours = np.array(list(itertools.product(range(2), repeat=3)))
    observed = np.array([(samples == c).all(axis=1).sum() for c in colours])
    expected = 20_000 * np.exp(model.log_prob(colours))
    assert stats.chisquare(observed, expected).pvalue > 1e-3

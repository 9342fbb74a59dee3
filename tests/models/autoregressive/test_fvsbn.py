"""FVSBN with an AR(k) window; also the helpers the vector autoregressive tests share."""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import autograd as ag
from minigen.models.autoregressive.fvsbn import FVSBN
from minigen.optim import Adam

# ----- helpers shared by test_nade, test_rnade, test_made -------------------------------


def binary_vectors(num_dims: int) -> np.ndarray:
    """All 2^D binary vectors (2^D, D), the first dim most significant."""
    return np.array(list(itertools.product([0.0, 1.0], repeat=num_dims)))


def logit_jacobian(logits_fn, x: np.ndarray) -> np.ndarray:
    """J[i, j] = Σ_n |∂ logits[n, i] / ∂ x[n, j]|, each row from one autograd.grad call.

    logits_fn maps an input Tensor (N, ...) to (N, D_out, ...); x is flattened to (N, D).
    """
    x_tensor = ag.Tensor(x, requires_grad=True)
    logits = logits_fn(x_tensor)
    rows = []
    for i in range(logits.shape[1]):
        (gradient,) = ag.grad(logits[:, i].sum(), [x_tensor], retain_graph=True,
                              allow_unused=True)
        rows.append(np.abs(gradient.data.reshape(len(x), -1)).sum(axis=0))
    return np.stack(rows)


def chi_square_p_value(samples: np.ndarray, probabilities: np.ndarray) -> float:
    """Pearson chi-square of binary samples (n, D) against p over ``binary_vectors(D)``.

    Cells expected to hold fewer than 5 samples are pooled into one.
    """
    num_dims = samples.shape[1]
    assert set(np.unique(samples)) <= {0.0, 1.0}
    index = samples.astype(int) @ (2 ** np.arange(num_dims)[::-1])
    counts = np.bincount(index, minlength=2**num_dims)
    expected = len(samples) * probabilities / probabilities.sum()
    small = expected < 5
    counts = np.append(counts[~small], counts[small].sum())
    expected = np.append(expected[~small], expected[small].sum())
    keep = expected > 0
    return stats.chisquare(counts[keep], expected[keep]).pvalue


def loss_after_training(model, x: np.ndarray, steps: int, lr: float) -> tuple[float, float]:
    """(loss before, loss after) ``steps`` full-batch Adam steps."""
    optimizer = Adam(model.parameters(), lr=lr)
    before = model.loss(x).item()
    for _ in range(steps):
        optimizer.zero_grad()
        model.loss(x).backward()
        optimizer.step()
    return before, model.loss(x).item()


def toy_binary_data(num_dims: int, n: int, seed: int) -> np.ndarray:
    """Correlated binary vectors: noisy copies of one random bit."""
    rng = np.random.default_rng(seed)
    bit = rng.random((n, 1)) < 0.5
    flips = rng.random((n, num_dims)) < 0.1
    return (bit ^ flips).astype(np.float32)


# ----- FVSBN ------------------------------------------------------------------------------


def expected_num_parameters(num_dims: int, window: int) -> int:
    return num_dims + sum(min(i, window) for i in range(num_dims))


@given(st.integers(2, 8), st.integers(1, 8), st.integers(0, 2**31))
def test_logit_i_depends_exactly_on_the_k_pixels_before_it(num_dims, window, seed):
    model = FVSBN((num_dims,), rng=np.random.default_rng(seed), window=window)
    model.astype(np.float64)
    x = np.random.default_rng(seed + 1).random((3, num_dims))
    jacobian = logit_jacobian(model.logits, x)
    i, j = np.indices(jacobian.shape)
    in_window = (j < i) & (j >= i - window)
    assert np.all(jacobian[~in_window] == 0)
    assert np.all(jacobian[in_window] != 0)


@given(st.integers(1, 70), st.integers(1, 80))
def test_num_parameters_is_d_plus_sum_of_min_i_k(num_dims, window):
    model = FVSBN((num_dims,), rng=np.random.default_rng(0), window=window)
    assert model.num_parameters() == expected_num_parameters(num_dims, window)


def test_window_one_has_2d_minus_1_parameters_and_full_window_d_d_plus_1_over_2():
    assert FVSBN((1, 8, 8), rng=np.random.default_rng(0), window=1).num_parameters() == 127
    assert FVSBN((1, 8, 8), rng=np.random.default_rng(0)).num_parameters() == 64 * 65 // 2


@given(st.integers(1, 10), st.one_of(st.none(), st.integers(1, 10)), st.integers(0, 2**31))
def test_probabilities_sum_to_one_over_all_binary_vectors(num_dims, window, seed):
    model = FVSBN((num_dims,), rng=np.random.default_rng(seed), window=window)
    model.astype(np.float64)
    for parameter in model.parameters():  # larger weights than the default init
        parameter.data *= 4
    total = np.exp(model.log_prob(binary_vectors(num_dims))).sum()
    assert abs(total - 1) < 1e-6


def conditional_of_last(joint: np.ndarray, num_dims: int, i: int) -> np.ndarray:
    """p(x_i = 1 | x_<i) from the joint over binary_vectors(D), shaped (2,)*i."""
    marginal = joint.reshape((2,) * num_dims).sum(axis=tuple(range(i + 1, num_dims)))
    return marginal[..., 1] / marginal.sum(axis=-1)


@pytest.mark.parametrize("seed", [0, 1])
def test_window_one_is_a_markov_chain(seed):
    num_dims = 5
    markov = FVSBN((num_dims,), rng=np.random.default_rng(seed), window=1).astype(np.float64)
    full = FVSBN((num_dims,), rng=np.random.default_rng(seed)).astype(np.float64)
    for model in (markov, full):
        for parameter in model.parameters():
            parameter.data *= 4
    for i in range(2, num_dims):
        # p(x_i | x_<i) from enumeration: the same for every x_<i−1 given x_i−1
        markov_conditional = conditional_of_last(
            np.exp(markov.log_prob(binary_vectors(num_dims))), num_dims, i)
        spread = markov_conditional.reshape(-1, 2).max(0) - markov_conditional.reshape(
            -1, 2).min(0)
        assert np.all(spread < 1e-12)
        full_conditional = conditional_of_last(
            np.exp(full.log_prob(binary_vectors(num_dims))), num_dims, i)
        assert np.ptp(full_conditional.reshape(-1, 2), axis=0).max() > 1e-3


def test_samples_match_the_probabilities_chi_square():
    model = FVSBN((4,), rng=np.random.default_rng(3)).astype(np.float64)
    for parameter in model.parameters():
        parameter.data *= 3
    samples = model.sample(20_000, np.random.default_rng(4))
    probabilities = np.exp(model.log_prob(binary_vectors(4)))
    assert chi_square_p_value(samples, probabilities) > 1e-3


def test_complete_samples_the_lower_half_from_its_conditional():
    model = FVSBN((4,), rng=np.random.default_rng(5)).astype(np.float64)
    for parameter in model.parameters():
        parameter.data *= 3
    top = np.array([[1.0, 0.0]])
    draws = model.complete(np.repeat(top, 20_000, axis=0), np.random.default_rng(6))
    assert np.all(draws[:, :2] == top)
    joint = np.exp(model.log_prob(binary_vectors(4))).reshape(2, 2, 4)[1, 0]  # x_1=1, x_2=0
    assert chi_square_p_value(draws[:, 2:], joint / joint.sum()) > 1e-3


def test_images_are_flattened_row_major():
    rng = np.random.default_rng(7)
    image_model = FVSBN((1, 2, 3), rng=np.random.default_rng(8))
    vector_model = FVSBN((6,), rng=np.random.default_rng(8))
    images = (rng.random((4, 1, 2, 3)) < 0.5).astype(np.float32)
    np.testing.assert_array_equal(image_model.logits(images).data,
                                  vector_model.logits(images.reshape(4, 6)).data)
    assert image_model.sample(2, rng).shape == (2, 1, 2, 3)
    assert image_model.complete(images[:, :, :1], rng).shape == (4, 1, 2, 3)


def test_loss_gradcheck():
    model = FVSBN((4,), rng=np.random.default_rng(9), window=2).astype(np.float64)
    x = toy_binary_data(4, 5, seed=0).astype(np.float64)
    assert ag.gradcheck(lambda *params: model.loss(x), model.parameters())


def test_a_few_adam_steps_lower_the_loss():
    model = FVSBN((6,), rng=np.random.default_rng(10))
    before, after = loss_after_training(model, toy_binary_data(6, 200, seed=1), 30, 0.05)
    assert after < before - 0.5


def test_rejects_bad_window_and_shapes():
    with pytest.raises(ValueError, match="window"):
        FVSBN((4,), rng=np.random.default_rng(0), window=0)
    model = FVSBN((4,), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"expected \(N, 4\)"):
        model.log_prob(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="x_top"):
        model.complete(np.zeros((2, 3)), np.random.default_rng(0))

"""MADE (Germain et al., 2015): masks, orderings and the order-agnostic ensemble.

The properties it shares with every autoregressive model (the ensemble's normalisation,
natural-order sampling and completion, gradcheck, training) are in
test_explicit_density_properties.py.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import logsumexp

from minigen.models.autoregressive.made import MADE
from tests.models.autoregressive.helpers import (
    binary_vectors,
    chi_square_p_value,
    logit_jacobian,
    small_model,
    toy_binary_data,
)


def random_made(num_dims: int, seed: int, hidden=(16, 16), num_masks: int = 1,
                ordering: str = "natural", noise: float = 0.0) -> MADE:
    """A float64 MADE with parameters drawn from ``seed``, plus N(0, noise²)."""
    return small_model("made", (num_dims,), seed, noise=noise, hidden=hidden,
                       num_masks=num_masks, ordering=ordering)


@pytest.mark.parametrize("ordering", ["natural", "random"])
@pytest.mark.parametrize("hidden", [(), (24,), (24, 24)])
def test_logit_of_each_dim_depends_only_on_dims_before_it_for_every_mask(
        ordering, hidden):
    model = random_made(5, seed=1, hidden=hidden, num_masks=3, ordering=ordering)
    for layer in model.layers:
        layer.bias.data[:] = 1.0  # keeps the ReLUs on, so every masked path carries gradient
    x = np.random.default_rng(2).random((16, 5))
    for k in range(3):
        model.use_mask(k)
        position = model.input_degrees[k]  # 1-based place of each dim in the ordering
        jacobian = logit_jacobian(model.logits, x)
        earlier = position[None, :] < position[:, None]  # earlier[i, j]: j before i
        assert np.all(jacobian[~earlier] == 0)
        for i in np.flatnonzero(position > 1):
            assert jacobian[i, earlier[i]].max() > 0, f"mask {k}: dim {i} sees nothing"


def test_random_orderings_differ_between_masks_and_natural_is_raster():
    random_model = random_made(6, seed=3, num_masks=4, ordering="random")
    assert len({tuple(order) for order in random_model.input_degrees}) > 1
    natural_model = random_made(6, seed=3, num_masks=4, ordering="natural")
    assert np.all(natural_model.input_degrees == np.arange(1, 7))
    np.testing.assert_array_equal(natural_model.order, np.arange(6))


@given(st.integers(1, 8), st.integers(1, 3), st.sampled_from(["natural", "random"]),
       st.integers(0, 2**31))
def test_each_single_mask_sums_to_one_over_all_binary_vectors(
        num_dims, num_masks, ordering, seed):
    # the ensemble's normalisation: test_explicit_density_properties.py
    model = random_made(num_dims, seed, hidden=(8,), num_masks=num_masks,
                        ordering=ordering, noise=2.0)
    everything = binary_vectors(num_dims)
    for k in range(num_masks):
        model.use_mask(k)
        assert abs(np.exp(model.log_prob(everything, ensemble=False)).sum() - 1) < 1e-6


@given(st.integers(2, 6), st.integers(2, 4), st.integers(0, 2**31))
def test_ensemble_log_prob_is_logsumexp_of_single_masks_minus_log_k(num_dims, num_masks, seed):
    model = random_made(num_dims, seed, hidden=(8,), num_masks=num_masks,
                        ordering="random", noise=2.0)
    x = (np.random.default_rng(seed + 1).random((5, num_dims)) < 0.5).astype(float)
    single = []
    for k in range(num_masks):
        model.use_mask(k)
        single.append(model.log_prob(x, ensemble=False))
    expected = logsumexp(np.stack(single), axis=0) - np.log(num_masks)
    np.testing.assert_allclose(model.log_prob(x, ensemble=True), expected, rtol=1e-12)


def test_ensemble_is_not_the_model_of_averaged_logits():
    # Averaging logits over masks gives a different (and wrong) distribution.
    model = random_made(4, seed=4, hidden=(8,), num_masks=3, ordering="random",
                        noise=2.0)
    x = binary_vectors(4)
    logits = []
    for k in range(3):
        model.use_mask(k)
        logits.append(model.logits(x).data)
    averaged = np.mean(logits, axis=0)
    averaged_log_prob = (x * averaged - np.logaddexp(0, averaged)).sum(axis=1)
    assert np.abs(model.log_prob(x, ensemble=True) - averaged_log_prob).max() > 1e-2


def test_ensemble_samples_match_the_mixture_chi_square():
    # one mask in natural order: test_explicit_density_properties.py
    model = random_made(4, seed=5, hidden=(8,), num_masks=3, ordering="random",
                        noise=1.0)
    samples = model.sample(20_000, np.random.default_rng(6), ensemble=True)
    probabilities = np.exp(model.log_prob(binary_vectors(4), ensemble=True))
    assert chi_square_p_value(samples, probabilities) > 1e-3


def test_single_mask_samples_follow_that_masks_ordering():
    model = random_made(4, seed=7, hidden=(8,), num_masks=3, ordering="random",
                        noise=1.0)
    model.use_mask(2)
    samples = model.sample(20_000, np.random.default_rng(8), ensemble=False)
    probabilities = np.exp(model.log_prob(binary_vectors(4), ensemble=False))
    assert chi_square_p_value(samples, probabilities) > 1e-3
    assert int(model.mask_index) == 2


def test_masks_are_reproducible_and_restored_from_a_state_dict():
    first = MADE((1, 3, 3), rng=np.random.default_rng(11), hidden=(10,), num_masks=3,
                 ordering="random")
    again = MADE((1, 3, 3), rng=np.random.default_rng(11), hidden=(10,), num_masks=3,
                 ordering="random")
    np.testing.assert_array_equal(first.input_degrees, again.input_degrees)
    other = MADE((1, 3, 3), rng=np.random.default_rng(12), hidden=(10,), num_masks=3,
                 ordering="random")
    first.use_mask(1)
    x = (np.random.default_rng(13).random((6, 1, 3, 3)) < 0.5).astype(np.float32)
    assert not np.allclose(other.log_prob(x), first.log_prob(x))
    other.load_state_dict(first.state_dict())
    assert int(other.mask_index) == 1
    np.testing.assert_array_equal(other.log_prob(x, ensemble=False),
                                  first.log_prob(x, ensemble=False))
    np.testing.assert_array_equal(other.log_prob(x), first.log_prob(x))


def test_training_steps_cycle_through_the_masks_and_loss_has_no_side_effect():
    model = random_made(4, seed=14, hidden=(8,), num_masks=3)
    x = toy_binary_data(4, 8, seed=0)
    seen = []
    for _ in range(4):
        seen.append(int(model.mask_index))
        model.loss(x)
        assert int(model.mask_index) == seen[-1]  # loss alone never moves the mask
        model.after_step()
    assert seen == [0, 1, 2, 0]
    model.eval()
    model.loss(x)
    model.log_prob(x)
    assert int(model.mask_index) == 1


def test_metrics_report_the_mean_single_mask_nll():
    model = random_made(4, seed=15, hidden=(8,), num_masks=2, ordering="random")
    x = toy_binary_data(4, 10, seed=1)
    single = []
    for k in range(2):
        model.use_mask(k)
        single.append(-model.log_prob(x, ensemble=False).mean())
    assert model.metrics(x)["nll_single_mask"] == pytest.approx(np.mean(single))


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="ordering"):
        MADE((4,), rng=np.random.default_rng(0), hidden=(4,), ordering="reversed")
    with pytest.raises(ValueError, match="num_masks"):
        MADE((4,), rng=np.random.default_rng(0), hidden=(4,), num_masks=0)
    model = MADE((4,), rng=np.random.default_rng(0), hidden=(4,), num_masks=2)
    with pytest.raises(ValueError, match="use_mask"):
        model.use_mask(2)

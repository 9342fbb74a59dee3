"""Properties every autoregressive explicit-density model shares, checked on each of them.

p(x) = Π_i p(x_i | x_<i) is normalised by construction, ``sample`` and ``complete`` draw
from it dimension by dimension, and ``loss`` is the mean negative ``log_prob``. Each
model's own test file keeps only what is particular to it (its equations, receptive
field, parameter count, steps). RNADE is continuous: enumeration and the binary
chi-square tests do not apply to it (its own file integrates its density instead).
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import autograd as ag
from tests.models.autoregressive.helpers import (
    BINARY_MODELS,
    IMAGE_MODELS,
    MODEL_CLASSES,
    SMALL_HPARAMS,
    VECTOR_MODELS,
    binary_codes,
    binary_inputs,
    chi_square_p_value,
    conditional_given_top,
    logit_jacobian,
    loss_after_training,
    native_shape,
    random_inputs,
    small_model,
    top_half,
    toy_binary_data,
)

ANY_SEED = st.integers(0, 2**31)


def vectors(min_dims: int, max_dims: int) -> st.SearchStrategy:
    return st.integers(min_dims, max_dims).map(lambda num_dims: (num_dims,))


def configurations(shapes: st.SearchStrategy, seeds: st.SearchStrategy = ANY_SEED,
                   **hparams: st.SearchStrategy) -> st.SearchStrategy:
    """(data_shape, hparams overriding SMALL_HPARAMS, seed) triples."""
    return st.tuples(shapes, st.fixed_dictionaries(hparams), seeds)


# The image models cost ~10 ms an example: 3 shapes × 3 seeds, which hypothesis exhausts.
SMALL_IMAGES = configurations(st.sampled_from([(1, 1, 1), (1, 2, 4), (1, 3, 3)]),
                              seeds=st.integers(0, 2))
ENUMERABLE = {  # configurations small enough to enumerate every binary input
    "fvsbn": configurations(vectors(1, 10), window=st.none() | st.integers(1, 10)),
    "nade": configurations(vectors(1, 9), hidden=st.integers(1, 6)),
    "made": configurations(vectors(1, 8), num_masks=st.integers(1, 3),
                           ordering=st.sampled_from(["natural", "random"])),
    **{name: SMALL_IMAGES for name in IMAGE_MODELS},
}
CAUSAL_VECTOR_MODELS = {  # the image models' causality: test_receptive_fields.py
    "fvsbn": configurations(vectors(2, 8)),
    "nade": configurations(vectors(2, 8), hidden=st.integers(1, 6)),
    "rnade": configurations(vectors(1, 6), hidden=st.integers(1, 4),
                            num_components=st.integers(1, 3)),
}
TINY = {  # (data_shape, hparams) for finite differences through every parameter; the layers'
    # channel mixing has its own gradchecks (tests/nn, test_row_lstm, test_diagonal_bilstm)
    "fvsbn": ((4,), {"window": 2}),
    "nade": ((4,), {"hidden": 3}),
    "made": ((3,), {"hidden": (4, 4), "num_masks": 2, "ordering": "random"}),
    "rnade": ((3,), {"hidden": 2, "num_components": 2}),
    "pixelcnn": ((1, 2, 2), {"channels": 1, "num_blocks": 1}),
    "gated_pixelcnn": ((1, 2, 2), {"channels": 1, "num_layers": 2}),
    "row_lstm": ((1, 2, 2), {"channels": 1, "num_layers": 1}),
    "diagonal_bilstm": ((1, 2, 2), {"channels": 1, "num_layers": 1}),
}
TRAINABLE = {  # hparams, Adam learning rate
    "fvsbn": ({}, 0.05),
    "nade": ({"hidden": 8}, 0.05),
    "made": ({"hidden": (16,)}, 0.02),
    **{name: ({}, 0.02) for name in IMAGE_MODELS},
}


@pytest.mark.parametrize("name", sorted(ENUMERABLE))
@given(data=st.data())
def test_probabilities_sum_to_one_over_every_binary_input(name, data):
    data_shape, hparams, seed = data.draw(ENUMERABLE[name])
    model = small_model(name, data_shape, seed, noise=2.0, **hparams)
    log_probs = model.log_prob(binary_inputs(data_shape))
    assert log_probs.shape == (2 ** int(np.prod(data_shape)),)
    assert abs(np.exp(log_probs).sum() - 1) < 1e-6


@pytest.mark.parametrize("name", sorted(CAUSAL_VECTOR_MODELS))
@given(data=st.data())
def test_parameters_of_dim_i_depend_only_on_the_dims_before_i(name, data):
    data_shape, hparams, seed = data.draw(CAUSAL_VECTOR_MODELS[name])
    model = small_model(name, data_shape, seed, noise=1.0, **hparams)
    x = np.random.default_rng(seed + 1).standard_normal((3, *data_shape))
    jacobian = logit_jacobian(model.logits, x)
    i, j = np.indices(jacobian.shape)
    assert np.all(jacobian[j >= i] == 0)
    assert np.all(jacobian[1:].max(axis=1) > 0)  # every later dim sees something before it


@pytest.mark.parametrize("name", BINARY_MODELS)
def test_sample_frequencies_match_the_probabilities_chi_square(name):
    data_shape = native_shape(name, 2, 2)
    model = small_model(name, data_shape, seed=1, noise=0.7)
    probabilities = np.exp(model.log_prob(binary_inputs(data_shape)))
    samples = model.sample(20_000, np.random.default_rng(2))
    assert samples.shape == (20_000, *data_shape)
    assert chi_square_p_value(samples, probabilities) > 1e-3
    counts = np.bincount(binary_codes(samples), minlength=16)
    assert stats.chisquare(counts).pvalue < 1e-6  # power: the model is far from uniform


@pytest.mark.parametrize("name", sorted(MODEL_CLASSES))
def test_complete_keeps_the_given_top_half_and_samples_the_rest(name):
    data_shape = native_shape(name, 4, 5)
    model = small_model(name, data_shape, seed=3, noise=0.7, dtype=np.float32)
    x = random_inputs(name, data_shape, 7, seed=4).astype(np.float32)
    num_given = top_half(x).reshape(7, -1).shape[1]  # 2 rows of 5 pixels, or 10 dims
    for context in (x, top_half(x)):  # the lower half of whole examples is ignored
        completed = model.complete(context, np.random.default_rng(5))
        assert completed.shape == (7, *data_shape)
        flat, flat_x = completed.reshape(7, -1), x.reshape(7, -1)
        np.testing.assert_array_equal(flat[:, :num_given], flat_x[:, :num_given])
        assert not np.allclose(flat[:, num_given:], flat_x[:, num_given:])
        if name in BINARY_MODELS:
            assert set(np.unique(completed)) <= {0.0, 1.0}


@pytest.mark.parametrize("name", BINARY_MODELS)
def test_complete_samples_the_rest_from_its_conditional_chi_square(name):
    data_shape = native_shape(name, 2, 2)
    model = small_model(name, data_shape, seed=6, noise=0.7)
    top = np.array([1.0, 0.0])  # the first row of a 2×2 image, the first 2 of 4 dims
    example = np.concatenate([top, [0.0, 0.0]]).reshape(1, *data_shape)
    context = top_half(np.repeat(example, 20_000, axis=0))
    draws = model.complete(context, np.random.default_rng(7)).reshape(20_000, 4)
    assert np.all(draws[:, :2] == top)
    joint = np.exp(model.log_prob(binary_inputs(data_shape)))
    assert chi_square_p_value(draws[:, 2:], conditional_given_top(joint, top)) > 1e-3


@pytest.mark.parametrize("name", sorted(MODEL_CLASSES))
def test_loss_is_the_mean_negative_log_prob(name):
    data_shape = native_shape(name, 4, 5)
    model = small_model(name, data_shape, seed=8, noise=0.7, dtype=np.float32)
    x = random_inputs(name, data_shape, 6, seed=9).astype(np.float32)
    np.testing.assert_allclose(model.loss(x).item(), -model.log_prob(x).mean(), rtol=1e-5)


@pytest.mark.parametrize("name", sorted(TINY))
def test_loss_gradcheck(name):
    data_shape, hparams = TINY[name]
    model = small_model(name, data_shape, seed=10, noise=0.5, **hparams)
    model.eval()  # MADE: one fixed mask while finite differences call the loss many times
    x = random_inputs(name, data_shape, 2, seed=11)
    assert ag.gradcheck(lambda *params: model.loss(x), model.parameters())


@pytest.mark.parametrize("name", sorted(TRAINABLE))
def test_a_few_adam_steps_lower_the_loss(name):
    hparams, lr = TRAINABLE[name]
    data_shape = native_shape(name, 2, 3)
    model = small_model(name, data_shape, seed=12, dtype=np.float32, **hparams)
    before, after = loss_after_training(model, toy_binary_data(data_shape, 200, seed=13), 30, lr)
    assert after < before - 0.5


@pytest.mark.parametrize("name", VECTOR_MODELS)
def test_vector_models_read_images_in_raster_order(name):
    image_model = small_model(name, (1, 2, 3), seed=14, dtype=np.float32)
    vector_model = small_model(name, (6,), seed=14, dtype=np.float32)
    images = random_inputs(name, (1, 2, 3), 4, seed=15).astype(np.float32)
    np.testing.assert_array_equal(image_model.logits(images).data,
                                  vector_model.logits(images.reshape(4, 6)).data)
    np.testing.assert_array_equal(image_model.log_prob(images),
                                  vector_model.log_prob(images.reshape(4, 6)))
    rng = np.random.default_rng(16)
    assert image_model.sample(2, rng).shape == (2, 1, 2, 3)
    assert image_model.complete(images, rng).shape == (4, 1, 2, 3)
    assert image_model.complete(images[:, :, :1], rng).shape == (4, 1, 2, 3)


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_image_logits_are_a_tensor_of_the_image_shape(name):
    model = small_model(name, (1, 4, 6), dtype=np.float32)
    logits = model.logits(ag.Tensor(np.zeros((3, 1, 4, 6), np.float32)))
    assert isinstance(logits, ag.Tensor) and logits.shape == (3, 1, 4, 6)
    assert logits.dtype == np.float32


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_image_models_reject_bad_shapes_naming_the_argument(name):
    with pytest.raises(ValueError, match="data_shape"):
        MODEL_CLASSES[name]((3, 8, 8), rng=np.random.default_rng(0), **SMALL_HPARAMS[name])
    model = small_model(name, (1, 4, 4), dtype=np.float32)
    with pytest.raises(ValueError, match="x must have shape"):
        model.loss(np.zeros((2, 1, 4, 5), np.float32))
    with pytest.raises(ValueError, match="x_top"):
        model.complete(np.zeros((2, 1, 3, 4)), np.random.default_rng(0))

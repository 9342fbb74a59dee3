"""The denoising networks (minigen/models/diffusion/denoisers.py): shapes, the zero start
ε̂ = 0, that the step and the label reach the output, and float64 gradients."""

from __future__ import annotations

import numpy as np
import pytest

import autograd as ag
from minigen.models.diffusion.denoisers import NoisyClassifier, TimeMLP, UNet


def _unet(**kwargs) -> UNet:
    return UNet(1, rng=np.random.default_rng(0), channels=8, groups=4, **kwargs)


def test_unet_starts_at_zero_noise_and_keeps_the_image_shape() -> None:
    x = np.random.default_rng(1).standard_normal((3, 1, 8, 8))
    out = _unet()(x.astype(np.float32), np.array([1, 50, 999]))
    assert out.shape == (3, 1, 8, 8)
    np.testing.assert_array_equal(out.data, 0.0)  # zero-initialised output conv (Ho et al.)


def test_unet_output_depends_on_the_step_and_the_label() -> None:
    model = _unet(num_classes=10)
    rng = np.random.default_rng(2)
    for parameter in model.parameters():  # move off the zero start
        parameter.data = parameter.data + 0.05 * rng.standard_normal(parameter.shape).astype(
            parameter.dtype)
    x = np.repeat(rng.standard_normal((1, 1, 8, 8)).astype(np.float32), 2, axis=0)
    by_step = model(x, np.array([10, 900]), np.array([3, 3])).data
    by_label = model(x, np.array([10, 10]), np.array([3, 7])).data
    assert not np.allclose(by_step[0], by_step[1])
    assert not np.allclose(by_label[0], by_label[1])


def test_unet_refuses_odd_images() -> None:
    with pytest.raises(ValueError, match="even H and W"):
        _unet()(np.zeros((1, 1, 7, 8), np.float32), np.array([1]))


def test_unet_input_gradient_matches_finite_differences() -> None:
    model = _unet(attention=True).astype(np.float64)
    rng = np.random.default_rng(3)
    for parameter in model.parameters():
        parameter.data = parameter.data + 0.1 * rng.standard_normal(parameter.shape)
    x = ag.Tensor(rng.standard_normal((2, 1, 4, 4)), requires_grad=True)
    steps = np.array([5, 500])
    assert ag.gradcheck(lambda inputs: (model(inputs, steps) ** 2).sum(), [x])


def test_time_mlp_and_classifier_shapes() -> None:
    rng = np.random.default_rng(4)
    points = rng.standard_normal((5, 2)).astype(np.float32)
    assert TimeMLP(2, 2, rng=rng)(points, np.arange(5)).shape == (5, 2)
    classifier = NoisyClassifier(1, 10, rng=rng, channels=8, groups=4)
    assert classifier(np.zeros((3, 1, 8, 8), np.float32), np.array([1, 2, 3])).shape == (3, 10)

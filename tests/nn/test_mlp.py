"""nn.mlp: the layer stack it builds, its output equals the composition by hand, and its
gradient (float64) matches finite differences."""

from functools import partial

import numpy as np
import pytest

import autograd as ag
from autograd import Tensor
from minigen.nn import LeakyReLU, Linear, ReLU, Tanh, mlp


def test_activations_sit_between_linear_layers_and_not_after_the_last():
    net = mlp([3, 5, 4, 2], np.random.default_rng(0), partial(LeakyReLU, 0.2))
    kinds = [type(layer) for layer in net]
    assert kinds == [Linear, LeakyReLU, Linear, LeakyReLU, Linear]
    assert [net[i].weight.shape for i in (0, 2, 4)] == [(5, 3), (4, 5), (2, 4)]
    assert net[1] is not net[3]  # a fresh activation each time
    assert [type(layer) for layer in mlp([3, 2], np.random.default_rng(0))] == [Linear]


def test_output_is_the_composition_of_its_layers():
    net = mlp([3, 6, 2], np.random.default_rng(1), ReLU)
    x = np.random.default_rng(2).standard_normal((4, 3)).astype(np.float32)
    hidden = np.maximum(x @ net[0].weight.data.T + net[0].bias.data, 0)
    expected = hidden @ net[2].weight.data.T + net[2].bias.data
    np.testing.assert_allclose(net(x).data, expected, rtol=1e-5, atol=1e-6)


def test_gradient_matches_finite_differences():
    net = mlp([3, 4, 2], np.random.default_rng(3), Tanh, dtype=np.float64)  # smooth
    x = Tensor(np.random.default_rng(4).standard_normal((5, 3)), requires_grad=True)
    assert ag.gradcheck(lambda inputs: net(inputs), [x])


def test_bad_widths_are_named():
    with pytest.raises(ValueError, match=r"mlp: widths must be at least two positive ints"):
        mlp([3], np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"got \[3, 0\]"):
        mlp([3, 0], np.random.default_rng(0))

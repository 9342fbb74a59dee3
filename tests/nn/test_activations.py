"""Activation modules: their formulas, gradients, stability and torch parity."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import autograd as ag
from minigen.nn import ELU, Identity, LeakyReLU, ReLU, Sequential, Sigmoid, SiLU, Softplus, Tanh

values = arrays(np.float64, st.integers(1, 8),
                elements=st.floats(-30, 30, allow_nan=False, allow_subnormal=False))

FORMULAS = [
    (ReLU(), lambda x: np.maximum(x, 0)),
    (LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    (Tanh(), np.tanh),
    (Sigmoid(), lambda x: 0.5 * (1 + np.tanh(x / 2))),  # σ(x) = (1 + tanh(x/2)) / 2
    (Softplus(), lambda x: np.logaddexp(0, x)),
    (Softplus(beta=2.0), lambda x: np.logaddexp(0, 2 * x) / 2),
    (ELU(alpha=1.5), lambda x: np.where(x > 0, x, 1.5 * np.expm1(np.minimum(x, 0)))),
    (SiLU(), lambda x: x * 0.5 * (1 + np.tanh(x / 2))),
    (Identity(), lambda x: x),
]


@pytest.mark.parametrize("module, formula", FORMULAS, ids=lambda v: type(v).__name__)
@given(x=values)
def test_activation_computes_its_formula(module, formula, x):
    np.testing.assert_allclose(module(ag.Tensor(x)).data, formula(x), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("module", [m for m, _ in FORMULAS[:-1]], ids=lambda m: repr(m))
def test_activation_gradcheck(module):
    # Away from 0, where ReLU-like kinks have no derivative.
    x = np.array([-2.5, -1.0, -0.3, 0.4, 1.2, 3.0])
    ag.gradcheck(lambda t: module(t), [ag.Tensor(x, requires_grad=True)])


def test_elu_at_large_inputs_is_finite_and_linear():
    x = ag.Tensor(np.array([-1e4, 1e4], dtype=np.float32), requires_grad=True)
    y = ELU()(x)
    y.sum().backward()
    np.testing.assert_array_equal(y.data, [-1.0, 1e4])
    np.testing.assert_array_equal(x.grad, [0.0, 1.0])


def test_activations_keep_float32():
    x = ag.Tensor(np.linspace(-3, 3, 7, dtype=np.float32))
    for module, _ in FORMULAS:
        assert module(x).dtype == np.float32, module


def test_activations_have_no_parameters_and_fit_in_sequential():
    model = Sequential(ReLU(), Tanh(), Sigmoid())
    assert model.num_parameters() == 0
    np.testing.assert_allclose(model(np.array([-1.0, 2.0])).data,
                               1 / (1 + np.exp(-np.tanh([0.0, 2.0]))))


def test_softplus_rejects_a_non_positive_beta():
    with pytest.raises(ValueError, match="beta"):
        Softplus(beta=0.0)


def test_activations_match_torch():
    torch = pytest.importorskip("torch")
    x = np.linspace(-4, 4, 17)
    pairs = [
        (ReLU(), torch.nn.ReLU()), (LeakyReLU(0.1), torch.nn.LeakyReLU(0.1)),
        (Tanh(), torch.nn.Tanh()), (Sigmoid(), torch.nn.Sigmoid()),
        (Softplus(beta=1.5), torch.nn.Softplus(beta=1.5)), (ELU(0.7), torch.nn.ELU(0.7)),
        (SiLU(), torch.nn.SiLU()),
    ]
    for ours, theirs in pairs:
        expected = theirs(torch.tensor(x)).numpy()
        np.testing.assert_allclose(ours(x).data, expected, atol=1e-12, err_msg=repr(ours))

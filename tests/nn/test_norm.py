"""LayerNorm and BatchNorm: normalisation properties, running statistics, torch parity."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
from minigen.nn import BatchNorm1d, BatchNorm2d, LayerNorm

RNG = np.random.default_rng


def _randomise_affine(module, rng):
    module.weight.data[...] = rng.uniform(0.5, 1.5, module.weight.shape)
    module.bias.data[...] = rng.standard_normal(module.bias.shape)


@given(st.integers(1, 4), st.integers(2, 6), st.integers(0, 2 ** 16))
def test_layer_norm_output_has_zero_mean_and_unit_variance_per_example(batch, width, seed):
    x = RNG(seed).standard_normal((batch, width)) * 3 + 1
    y = LayerNorm(width, eps=0.0, dtype=np.float64)(x).data
    np.testing.assert_allclose(y.mean(axis=-1), 0, atol=1e-10)
    np.testing.assert_allclose(y.var(axis=-1), 1, atol=1e-8)


def test_layer_norm_over_two_trailing_axes_gradcheck():
    rng = RNG(0)
    norm = LayerNorm((2, 3), dtype=np.float64)
    _randomise_affine(norm, rng)
    x = ag.Tensor(rng.standard_normal((2, 2, 3)), requires_grad=True)
    ag.gradcheck(lambda t, *p: norm(t), [x, *norm.parameters()])


def test_layer_norm_without_affine_has_no_parameters():
    assert LayerNorm(4, elementwise_affine=False).num_parameters() == 0


def test_layer_norm_names_the_shapes_on_mismatch():
    with pytest.raises(ValueError, match=r"\(2, 5\) does not end with normalized_shape \(4,\)"):
        LayerNorm(4)(np.zeros((2, 5), dtype=np.float32))


@pytest.mark.parametrize("shape", [(3, 4), (2, 4, 3)])
def test_layer_norm_matches_torch(shape):
    torch = pytest.importorskip("torch")
    rng = RNG(1)
    ours = LayerNorm(shape[-1], dtype=np.float64)
    _randomise_affine(ours, rng)
    theirs = torch.nn.LayerNorm(shape[-1]).double()
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    x = rng.standard_normal(shape)
    tx = torch.tensor(x, requires_grad=True)
    ox = ag.Tensor(x, requires_grad=True)
    direction = rng.standard_normal(shape)
    (ours(ox) * direction).sum().backward()
    (theirs(tx) * torch.tensor(direction)).sum().backward()
    np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x)).detach().numpy(),
                               atol=1e-12)
    np.testing.assert_allclose(ox.grad, tx.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), atol=1e-12)


# ----- BatchNorm --------------------------------------------------------------------------


@pytest.mark.parametrize("cls, shape", [(BatchNorm1d, (5, 3)), (BatchNorm1d, (4, 3, 2)),
                                        (BatchNorm2d, (2, 3, 2, 2))])
def test_batch_norm_in_training_standardises_each_channel(cls, shape):
    x = RNG(0).standard_normal(shape) * 4 - 2
    y = cls(3, eps=0.0, dtype=np.float64)(x).data
    axes = (0,) + tuple(range(2, len(shape)))
    np.testing.assert_allclose(y.mean(axis=axes), 0, atol=1e-10)
    np.testing.assert_allclose(y.var(axis=axes), 1, atol=1e-8)


@given(st.integers(2, 6), st.floats(0.05, 0.9), st.integers(0, 2 ** 16))
def test_running_statistics_follow_the_momentum_rule(batch, momentum, seed):
    rng = RNG(seed)
    norm = BatchNorm1d(2, momentum=momentum, dtype=np.float64)
    mean, var = np.zeros(2), np.ones(2)
    for _ in range(3):
        x = rng.standard_normal((batch, 2)) * 2 + 1
        norm(x)
        # running ← (1 − m) running + m · statistic, with the unbiased batch variance
        mean = (1 - momentum) * mean + momentum * x.mean(axis=0)
        var = (1 - momentum) * var + momentum * x.var(axis=0, ddof=1)
    np.testing.assert_allclose(norm.running_mean, mean, rtol=1e-12)
    np.testing.assert_allclose(norm.running_var, var, rtol=1e-12)
    assert int(norm.num_batches_tracked) == 3


def test_momentum_none_keeps_the_cumulative_average():
    rng = RNG(3)
    norm = BatchNorm1d(2, momentum=None, dtype=np.float64)
    batches = [rng.standard_normal((4, 2)) for _ in range(5)]
    for x in batches:
        norm(x)
    np.testing.assert_allclose(norm.running_mean, np.mean([x.mean(0) for x in batches], 0))


def test_eval_uses_running_statistics_and_leaves_them_alone():
    rng = RNG(4)
    norm = BatchNorm2d(2, dtype=np.float64)
    norm.running_mean = np.array([1.0, -2.0])
    norm.running_var = np.array([4.0, 0.25])
    norm.eval()
    x = rng.standard_normal((3, 2, 2, 2))
    expected = (x - norm.running_mean[:, None, None]) / np.sqrt(
        norm.running_var[:, None, None] + norm.eps)
    np.testing.assert_allclose(norm(x).data, expected, rtol=1e-12)
    np.testing.assert_array_equal(norm.running_mean, [1.0, -2.0])
    assert int(norm.num_batches_tracked) == 0


@pytest.mark.parametrize("cls, shape", [(BatchNorm1d, (4, 2)), (BatchNorm1d, (3, 2, 2)),
                                        (BatchNorm2d, (2, 2, 2, 2))])
def test_batch_norm_train_mode_gradcheck(cls, shape):
    rng = RNG(5)
    norm = cls(2, dtype=np.float64)
    _randomise_affine(norm, rng)
    x = ag.Tensor(rng.standard_normal(shape), requires_grad=True)
    ag.gradcheck(lambda t, *p: norm(t), [x, *norm.parameters()])


def test_batch_norm_eval_mode_gradcheck():
    rng = RNG(6)
    norm = BatchNorm1d(3, dtype=np.float64)
    _randomise_affine(norm, rng)
    norm.running_var = np.array([0.5, 1.0, 2.0])
    norm.eval()
    x = ag.Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    ag.gradcheck(lambda t, *p: norm(t), [x, *norm.parameters()])


def test_batch_norm_names_the_problem_with_a_bad_input():
    with pytest.raises(ValueError, match=r"input has 4 channels on axis 1 \(shape \(2, 4\)\)"):
        BatchNorm1d(3)(np.zeros((2, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="4-D"):
        BatchNorm2d(3)(np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="more than one value per channel"):
        BatchNorm1d(3)(np.zeros((1, 3), dtype=np.float32))


def test_batch_norm_without_tracking_uses_batch_statistics_in_eval():
    norm = BatchNorm1d(2, track_running_stats=False, dtype=np.float64).eval()
    x = RNG(7).standard_normal((5, 2))
    np.testing.assert_allclose(norm(x).data.mean(axis=0), 0, atol=1e-12)
    assert "running_mean" not in norm.state_dict()


@pytest.mark.parametrize("cls, shape", [(BatchNorm1d, (6, 3)), (BatchNorm1d, (4, 3, 5)),
                                        (BatchNorm2d, (3, 3, 4, 2))])
def test_batch_norm_matches_torch_in_train_and_eval(cls, shape):
    torch = pytest.importorskip("torch")
    rng = RNG(8)
    ours = cls(3, momentum=0.2)
    _randomise_affine(ours, rng)
    theirs = getattr(torch.nn, cls.__name__)(3, momentum=0.2)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    for _ in range(3):
        x = (rng.standard_normal(shape) * 2 + 0.5).astype(np.float32)
        ox, tx = ag.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out, expected = ours(ox), theirs(tx)
        np.testing.assert_allclose(out.data, expected.detach().numpy(), atol=1e-5)
        direction = rng.standard_normal(shape).astype(np.float32)
        (out * direction).sum().backward()
        (expected * torch.tensor(direction)).sum().backward()
        np.testing.assert_allclose(ox.grad, tx.grad.numpy(), atol=1e-4)
    for name, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[name], value.numpy(), rtol=1e-5,
                                   err_msg=name)
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), atol=1e-4)
    ours.eval()
    theirs.eval()
    x = rng.standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x)).detach().numpy(),
                               atol=1e-5)

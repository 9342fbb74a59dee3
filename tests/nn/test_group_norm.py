"""GroupNorm: per-group statistics, gradcheck in float64, torch parity."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
from minigen.nn import GroupNorm


@given(st.sampled_from([(1, 4), (2, 4), (4, 4), (3, 6)]), st.integers(1, 3),
       st.integers(0, 2 ** 16))
def test_each_group_has_zero_mean_and_unit_variance(groups_channels, batch, seed):
    groups, channels = groups_channels
    x = np.random.default_rng(seed).standard_normal((batch, channels, 3, 2)) * 2 + 1
    y = GroupNorm(groups, channels, eps=0.0, dtype=np.float64)(x).data
    grouped = y.reshape(batch, groups, -1)
    np.testing.assert_allclose(grouped.mean(-1), 0, atol=1e-10)
    np.testing.assert_allclose(grouped.var(-1), 1, atol=1e-8)


def test_group_norm_gradcheck_second_order():
    rng = np.random.default_rng(0)
    norm = GroupNorm(2, 4, dtype=np.float64)
    norm.weight.data[...] = rng.uniform(0.5, 1.5, 4)
    norm.bias.data[...] = rng.standard_normal(4)
    x = ag.Tensor(rng.standard_normal((2, 4, 2, 2)), requires_grad=True)
    ag.gradcheck(lambda t, *p: norm(t), [x, *norm.parameters()], order=2)


def test_group_norm_names_the_shapes_on_mismatch():
    with pytest.raises(ValueError, match="multiple of num_groups"):
        GroupNorm(3, 4)
    with pytest.raises(ValueError, match=r"expected input \(N, 4, \*\), got shape \(2, 3, 5\)"):
        GroupNorm(2, 4)(np.zeros((2, 3, 5)))


@pytest.mark.parametrize("shape", [(3, 6, 4, 4), (2, 6, 5)])
def test_group_norm_matches_torch(shape):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    ours = GroupNorm(3, 6, dtype=np.float64)
    ours.weight.data[...] = rng.uniform(0.5, 1.5, 6)
    ours.bias.data[...] = rng.standard_normal(6)
    theirs = torch.nn.GroupNorm(3, 6).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight.data))
        theirs.bias.copy_(torch.from_numpy(ours.bias.data))
    x_torch = torch.tensor(x, requires_grad=True)
    upstream = rng.standard_normal(shape)
    (theirs(x_torch) * torch.from_numpy(upstream)).sum().backward()
    x_ours = ag.Tensor(x, requires_grad=True)
    y = ours(x_ours)
    (y * upstream).sum().backward()
    np.testing.assert_allclose(y.data, theirs(x_torch).detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(x_ours.grad, x_torch.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(ours.bias.grad, theirs.bias.grad.numpy(), atol=1e-10)

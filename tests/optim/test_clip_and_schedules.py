"""clip_grad_norm_ and the learning-rate schedules, against torch and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigen.nn import Parameter
from minigen.optim import SGD, CosineAnnealingLR, LinearWarmup, StepLR, clip_grad_norm_

SHAPES = [(3, 4), (5,), (2, 2, 2)]


def _params_with_grads(rng: np.random.Generator, scale: float) -> list[Parameter]:
    params = [Parameter(np.zeros(shape)) for shape in SHAPES]
    for p in params:
        p.grad = scale * rng.standard_normal(p.shape)
    return params


@given(seed=st.integers(0, 2**31), scale=st.floats(1e-3, 1e3), max_norm=st.floats(0.01, 10))
def test_clip_grad_norm_returns_the_norm_before_and_leaves_at_most_max_norm(
    seed, scale, max_norm
):
    params = _params_with_grads(np.random.default_rng(seed), scale)
    before = [p.grad.copy() for p in params]
    expected_norm = math.sqrt(sum(float(np.sum(g**2)) for g in before))
    total = clip_grad_norm_(params, max_norm)
    assert total == pytest.approx(expected_norm, rel=1e-12)
    after = math.sqrt(sum(float(np.sum(p.grad**2)) for p in params))
    assert after <= max_norm * (1 + 1e-9)
    if expected_norm <= max_norm:
        for p, g in zip(params, before):
            np.testing.assert_array_equal(p.grad, g)
    else:  # the direction is kept: every gradient is scaled by one common factor
        factor = after / expected_norm
        for p, g in zip(params, before):
            np.testing.assert_allclose(p.grad, factor * g, rtol=1e-12)


@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(max_norm):
    torch = pytest.importorskip("torch")
    params = _params_with_grads(np.random.default_rng(0), 2.0)
    theirs = [torch.zeros(p.shape, dtype=torch.float64, requires_grad=True) for p in params]
    for t, p in zip(theirs, params):
        t.grad = torch.tensor(p.grad.copy())
    params.append(Parameter(np.zeros(3)))  # no gradient: skipped
    total = clip_grad_norm_(params, max_norm)
    total_torch = torch.nn.utils.clip_grad_norm_(theirs, max_norm)
    assert total == pytest.approx(float(total_torch), rel=1e-12)
    for p, t in zip(params, theirs):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-12)


def test_clip_grad_norm_keeps_float32_and_rejects_bad_max_norm():
    param = Parameter(np.zeros(4, dtype=np.float32))
    param.grad = np.full(4, 10.0, dtype=np.float32)
    assert clip_grad_norm_([param], 1.0) == pytest.approx(20.0)
    assert param.grad.dtype == np.float32
    with pytest.raises(ValueError, match="max_norm must be > 0"):
        clip_grad_norm_([param], 0.0)


def _our_lrs(make, steps: int) -> list[float]:
    optimizer = SGD([Parameter(np.zeros(2))], lr=0.5)
    scheduler = make(optimizer)
    lrs = [optimizer.lr]
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
        lrs.append(optimizer.lr)
    return lrs


def _torch_lrs(torch, make, steps: int) -> list[float]:
    param = torch.zeros(2, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=0.5)
    scheduler = make(optimizer)
    lrs = [optimizer.param_groups[0]["lr"]]
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    return lrs


@pytest.mark.parametrize("name, kwargs", [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("StepLR", dict(step_size=1)),
    ("CosineAnnealingLR", dict(T_max=10)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01)),
])
def test_schedules_match_torch_learning_rate_sequence(name, kwargs):
    torch = pytest.importorskip("torch")
    ours_class = {"StepLR": StepLR, "CosineAnnealingLR": CosineAnnealingLR}[name]
    torch_class = getattr(torch.optim.lr_scheduler, name)
    steps = 2 * kwargs.get("T_max", 10)
    ours = _our_lrs(lambda opt: ours_class(opt, **kwargs), steps)
    theirs = _torch_lrs(torch, lambda opt: torch_class(opt, **kwargs), steps)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


def test_cosine_schedule_starts_at_base_ends_at_eta_min_and_never_increases():
    lrs = _our_lrs(lambda opt: CosineAnnealingLR(opt, T_max=20, eta_min=0.05), 20)
    assert lrs[0] == 0.5
    assert lrs[-1] == pytest.approx(0.05, abs=1e-15)
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))


def test_linear_warmup_ramps_up_then_hands_over_to_the_wrapped_schedule():
    def make(opt):
        return LinearWarmup(opt, warmup_steps=4, after=CosineAnnealingLR(opt, T_max=6))

    lrs = _our_lrs(make, 10)
    np.testing.assert_allclose(lrs[:4], [0.5 * k / 5 for k in range(1, 5)])
    cosine = [0.5 * (1 + math.cos(math.pi * t / 6)) / 2 for t in range(7)]
    np.testing.assert_allclose(lrs[4:], cosine)
    plain = _our_lrs(lambda opt: LinearWarmup(opt, warmup_steps=2), 4)
    np.testing.assert_allclose(plain, [0.5 / 3, 1.0 / 3, 0.5, 0.5, 0.5])


@pytest.mark.parametrize("make", [
    lambda opt: StepLR(opt, step_size=2, gamma=0.3),
    lambda opt: CosineAnnealingLR(opt, T_max=9, eta_min=0.001),
])
def test_scheduler_state_dict_resumes_the_same_sequence(make):
    expected = _our_lrs(make, 9)
    optimizer = SGD([Parameter(np.zeros(2))], lr=0.5)
    scheduler = make(optimizer)
    for _ in range(4):
        scheduler.step()
    state = {k: np.array(v) for k, v in scheduler.state_dict().items()}
    fresh_optimizer = SGD([Parameter(np.zeros(2))], lr=0.5)
    fresh = make(fresh_optimizer)
    fresh.load_state_dict(state)
    lrs = [fresh_optimizer.lr]
    for _ in range(5):
        fresh.step()
        lrs.append(fresh_optimizer.lr)
    assert lrs == expected[4:]


def test_schedules_reject_bad_arguments():
    optimizer = SGD([Parameter(np.zeros(2))], lr=0.5)
    with pytest.raises(ValueError, match="step_size must be an integer >= 1"):
        StepLR(optimizer, step_size=0)
    with pytest.raises(ValueError, match="T_max must be an integer >= 1"):
        CosineAnnealingLR(optimizer, T_max=2.5)
    with pytest.raises(TypeError, match="must be a minigen.optim.Optimizer"):
        StepLR(object(), step_size=2)

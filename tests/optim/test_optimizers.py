"""SGD and Adam: parity with torch.optim, closed forms, state round trips, convergence."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigen.nn import Parameter
from minigen.optim import SGD, Adam, AdamW, Optimizer

SHAPES = [(3, 4), (5,), ()]


def _params(rng: np.random.Generator, dtype=np.float64) -> list[Parameter]:
    return [Parameter(rng.standard_normal(shape).astype(dtype)) for shape in SHAPES]


def _gradient_sequence(rng: np.random.Generator, steps: int, dtype=np.float64) -> list:
    return [[rng.standard_normal(shape).astype(dtype) for shape in SHAPES]
            for _ in range(steps)]


def _run_ours(optimizer: Optimizer, grads: list) -> list[np.ndarray]:
    for step_grads in grads:
        for param, g in zip(optimizer.params, step_grads):
            param.grad = g.copy()
        optimizer.step()
    return [p.data.copy() for p in optimizer.params]


def _run_torch(torch, make, initial: list[np.ndarray], grads: list) -> list[np.ndarray]:
    params = [torch.tensor(x.copy(), requires_grad=True) for x in initial]
    optimizer = make(params)
    for step_grads in grads:
        for param, g in zip(params, step_grads):
            param.grad = torch.tensor(g.copy())
        optimizer.step()
    return [p.detach().numpy() for p in params]


SGD_SETTINGS = [
    dict(lr=0.1),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.05, momentum=0.5, weight_decay=0.1),
    dict(lr=0.05, momentum=0.9, weight_decay=0.01, nesterov=True),
]
ADAM_SETTINGS = [
    dict(lr=0.01),
    dict(lr=0.1, betas=(0.5, 0.9), eps=1e-6),
    dict(lr=0.01, weight_decay=0.1),
]


@pytest.mark.parametrize("settings", SGD_SETTINGS)
def test_sgd_matches_torch_over_ten_steps(settings):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    params, grads = _params(rng), _gradient_sequence(rng, 10)
    initial = [p.data.copy() for p in params]
    ours = _run_ours(SGD(params, **settings), grads)
    theirs = _run_torch(torch, lambda ps: torch.optim.SGD(ps, **settings), initial, grads)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("optimizer_class", ["Adam", "AdamW"])
@pytest.mark.parametrize("settings", ADAM_SETTINGS)
def test_adam_matches_torch_over_ten_steps(settings, optimizer_class):
    torch = pytest.importorskip("torch")
    ours_class = {"Adam": Adam, "AdamW": AdamW}[optimizer_class]
    settings = dict(settings, weight_decay=settings.get("weight_decay", 0.0))
    rng = np.random.default_rng(1)
    params, grads = _params(rng), _gradient_sequence(rng, 10)
    initial = [p.data.copy() for p in params]
    ours = _run_ours(ours_class(params, **settings), grads)
    torch_class = getattr(torch.optim, optimizer_class)
    theirs = _run_torch(torch, lambda ps: torch_class(ps, **settings), initial, grads)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_float32_parameters_stay_float32_and_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    params = _params(rng, np.float32)
    grads = _gradient_sequence(rng, 10, np.float32)
    initial = [p.data.copy() for p in params]
    ours = _run_ours(Adam(params, lr=0.01, weight_decay=0.01), grads)
    theirs = _run_torch(torch, lambda ps: torch.optim.Adam(ps, lr=0.01, weight_decay=0.01),
                        initial, grads)
    for param, a, b in zip(params, ours, theirs):
        assert param.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    sgd_params = _params(rng, np.float32)
    _run_ours(SGD(sgd_params, lr=0.1, momentum=0.9, weight_decay=0.1), grads)
    assert all(p.dtype == np.float32 for p in sgd_params)


@given(
    grad=hnp.arrays(np.float64, 6, elements=st.floats(1e-3, 1e3).map(float)),
    signs=hnp.arrays(np.bool_, 6),
    lr=st.floats(1e-4, 1.0),
)
def test_adam_first_step_moves_each_parameter_by_lr_times_sign_of_gradient(grad, signs, lr):
    # After one step m̂ = g and v̂ = g², so Δθ = −η g / (|g| + ε) ≈ −η sign(g).
    grad = np.where(signs, grad, -grad)
    start = np.linspace(-1, 1, 6)
    param = Parameter(start)
    param.grad = grad.copy()
    Adam([param], lr=lr).step()
    np.testing.assert_allclose(param.data - start, -lr * np.sign(grad), rtol=1e-4, atol=0)


def test_parameters_without_gradient_are_left_alone():
    rng = np.random.default_rng(3)
    for make in (lambda ps: SGD(ps, lr=0.1, momentum=0.9), lambda ps: Adam(ps, lr=0.1)):
        params = _params(rng)
        before = [p.data.copy() for p in params]
        params[0].grad = np.ones(SHAPES[0])
        optimizer = make(params)
        optimizer.step()
        assert not np.array_equal(params[0].data, before[0])
        for p, b in zip(params[1:], before[1:]):
            np.testing.assert_array_equal(p.data, b)
        assert set(optimizer.state) <= {0}


def test_zero_grad_sets_every_gradient_to_none():
    params = _params(np.random.default_rng(4))
    for p in params:
        p.grad = np.ones(p.shape)
    SGD(params, lr=0.1).zero_grad()
    assert all(p.grad is None for p in params)


@pytest.mark.parametrize("make", [
    lambda ps: SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    lambda ps: Adam(ps, lr=0.05, weight_decay=0.01),
    lambda ps: AdamW(ps, lr=0.05),
])
def test_state_dict_round_trip_through_npz_continues_to_identical_numbers(make, tmp_path):
    rng = np.random.default_rng(5)
    initial = _params(rng)
    grads = _gradient_sequence(rng, 8)
    # Uninterrupted: eight steps.
    straight = [Parameter(p.data) for p in initial]
    expected = _run_ours(make(straight), grads)
    # Interrupted: four steps, save to .npz, rebuild everything, load, four more.
    first = [Parameter(p.data) for p in initial]
    optimizer = make(first)
    _run_ours(optimizer, grads[:4])
    optimizer.lr = optimizer.lr * 0.5 * 2  # the lr is saved too (touch it to be sure)
    np.savez(tmp_path / "optim.npz", **optimizer.state_dict())
    saved = [p.data.copy() for p in first]
    resumed = [Parameter(x) for x in saved]
    fresh = make(resumed)
    with np.load(tmp_path / "optim.npz", allow_pickle=False) as archive:
        fresh.load_state_dict(dict(archive))
    assert fresh.num_steps == 4
    got = _run_ours(fresh, grads[4:])
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


def test_state_dict_restores_the_learning_rate():
    params = _params(np.random.default_rng(6))
    optimizer = Adam(params, lr=0.01)
    optimizer.lr = 0.123
    other = Adam(params, lr=0.5)
    other.load_state_dict(optimizer.state_dict())
    assert other.lr == 0.123


def test_load_state_dict_rejects_wrong_shapes_and_unknown_keys():
    rng = np.random.default_rng(7)
    params = _params(rng)
    optimizer = SGD(params, lr=0.1, momentum=0.9)
    for p in params:
        p.grad = np.ones(p.shape)
    optimizer.step()
    state = optimizer.state_dict()
    bad_shape = dict(state, **{"momentum_buffer.0": np.zeros((2, 2))})
    with pytest.raises(ValueError, match=r"momentum_buffer\.0.*\(2, 2\).*\(3, 4\)"):
        optimizer.load_state_dict(bad_shape)
    with pytest.raises(ValueError, match="unexpected key 'momentum_buffer.9'"):
        optimizer.load_state_dict(dict(state, **{"momentum_buffer.9": np.zeros(())}))
    with pytest.raises(ValueError, match="missing keys"):
        optimizer.load_state_dict({})


@given(
    curvature=hnp.arrays(np.float64, 4, elements=st.floats(0.5, 4.0)),
    target=hnp.arrays(np.float64, 4, elements=st.floats(-5, 5)),
    momentum=st.sampled_from([0.0, 0.5, 0.9]),
)
def test_sgd_on_a_convex_quadratic_converges_to_the_minimiser(curvature, target, momentum):
    # f(θ) = ½ Σ a_i (θ_i − c_i)², ∇f = a (θ − c), minimiser θ* = c.
    param = Parameter(np.zeros(4))
    optimizer = SGD([param], lr=0.2, momentum=momentum)
    for _ in range(300):
        param.grad = curvature * (param.data - target)
        optimizer.step()
    np.testing.assert_allclose(param.data, target, atol=1e-6)


def test_adam_minimises_a_loss_built_with_autograd():
    import autograd as ag

    rng = np.random.default_rng(8)
    x = rng.standard_normal((32, 3))
    true_w = np.array([1.0, -2.0, 0.5])
    y = x @ true_w
    w = Parameter(np.zeros(3))
    optimizer = Adam([w], lr=0.1)
    for _ in range(300):
        optimizer.zero_grad()
        loss = ((ag.Tensor(x) @ w - y) ** 2).mean()
        loss.backward()
        optimizer.step()
    np.testing.assert_allclose(w.data, true_w, atol=1e-3)


def test_bad_arguments_raise_clear_errors():
    params = _params(np.random.default_rng(9))
    with pytest.raises(ValueError, match="params is empty"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match=r"params\[0\].*ndarray"):
        SGD([np.zeros(3)], lr=0.1)
    with pytest.raises(ValueError, match="lr must be"):
        SGD(params, lr=-1.0)
    with pytest.raises(ValueError, match="nesterov"):
        SGD(params, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="betas"):
        Adam(params, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="appears twice"):
        SGD([params[0], params[0]], lr=0.1)
    params[0].grad = np.ones((4, 3))
    with pytest.raises(ValueError, match=r"shape \(3, 4\).*grad has shape \(4, 3\)"):
        SGD(params, lr=0.1).step()

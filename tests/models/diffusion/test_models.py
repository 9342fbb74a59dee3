"""The registered diffusion models: the protocol, the EMA in after_step and the
state_dict, sampler keywords, DDIM inversion, the bound, and a short fit on a toy set."""

import numpy as np
import pytest

from minigen.models.base import Model
from minigen.models.diffusion.classifier_free_guidance import ClassifierFreeGuidance
from minigen.models.diffusion.classifier_guidance import ClassifierGuidance
from minigen.models.diffusion.ddim import DDIM
from minigen.models.diffusion.ddpm import DDPM
from minigen.optim import Adam

RNG = np.random.default_rng


def test_models_follow_the_protocol():
    for cls in (DDPM, DDIM, ClassifierGuidance, ClassifierFreeGuidance):
        assert issubclass(cls, Model)
    assert DDPM.conditions == () and DDIM.conditions == ()
    assert ClassifierFreeGuidance.conditions == ("y",) == ClassifierGuidance.conditions


def test_after_step_moves_the_average_and_sampling_uses_it():
    model = DDPM((2,), rng=RNG(0), timesteps=50, hidden=16, ema_decay=0.5)
    before = [a.copy() for a in model.ema.averages()]
    optimizer = Adam(model.parameters(), lr=1e-2)
    loss = model.loss(RNG(1).standard_normal((32, 2)).astype(np.float32), RNG(2))
    loss.backward()
    optimizer.step()
    model.after_step()
    for average, old, parameter in zip(model.ema.averages(), before, model.network.parameters()):
        np.testing.assert_allclose(average, 0.5 * old + 0.5 * parameter.data, rtol=1e-6)
    state = model.state_dict()
    assert any(name.startswith("ema.") for name in state)
    copy = DDPM((2,), rng=RNG(9), timesteps=50, hidden=16, ema_decay=0.5)
    copy.load_state_dict(state)
    np.testing.assert_array_equal(copy.sample(5, RNG(3), steps=10), model.sample(5, RNG(3),
                                                                                steps=10))


def test_sample_keywords_choose_the_sampler():
    model = DDPM((1, 4, 4), rng=RNG(0), timesteps=40, width=8, attention=True)
    for parameter in model.network.parameters():  # leave the zero-initialised output
        parameter.data = parameter.data + 0.05 * RNG(1).standard_normal(parameter.shape).astype(
            np.float32)
    model.ema.update()
    model.ema.decay = 0.0
    model.ema.update()  # average = weights
    a = model.sample(3, RNG(5), sampler="ddim", steps=8, eta=0.0)
    b = model.sample(3, RNG(5), sampler="ddim", steps=8, eta=0.0)
    c = model.sample(3, RNG(5), sampler="ddim", steps=8, eta=1.0)
    d = model.sample(3, RNG(5), steps=8)
    assert a.shape == (3, 1, 4, 4) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    np.testing.assert_allclose(c, d, rtol=1e-4, atol=1e-3)  # respaced DDPM = DDIM η = 1
    with pytest.raises(ValueError, match="sampler must be one of"):
        model.sample(2, RNG(0), sampler="heun")
    with pytest.raises(ValueError, match=r"expected \(N, 1, 4, 4\)"):
        model.loss(np.zeros((2, 16), np.float32), RNG(0))


def test_ddim_encode_then_decode_returns_the_input_better_with_more_steps():
    model = DDIM((2,), rng=RNG(0), timesteps=200, hidden=16, ema_decay=0.0)
    model.ema.update()
    x0 = RNG(1).uniform(-1, 1, (8, 2))
    errors = [np.abs(model.decode(model.invert(x0, steps), steps) - x0).max()
              for steps in (5, 40, 200)]
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 1e-2
    assert model.sampler == "ddim" and model.steps == 50


def test_nll_bound_is_per_example_and_finite():
    model = DDPM((1, 4, 4), rng=RNG(0), timesteps=30, width=8, attention=False)
    bound = model.nll_bound(RNG(1).uniform(-1, 1, (4, 1, 4, 4)), RNG(2))
    assert bound.shape == (4,) and np.isfinite(bound).all()
    cfg = ClassifierFreeGuidance((2,), rng=RNG(0), timesteps=30, hidden=16, num_classes=3)
    assert cfg.nll_bound(np.zeros((2, 2)), RNG(0), y=np.array([0, 1])).shape == (2,)
    cg = ClassifierGuidance((2,), rng=RNG(0), timesteps=30, hidden=16, num_classes=3)
    assert cg.nll_bound(np.zeros((2, 2)), RNG(0), y=np.array([0, 1])).shape == (2,)


def test_conditional_samples_have_the_requested_shape():
    cfg = ClassifierFreeGuidance((1, 4, 4), rng=RNG(0), timesteps=40, width=8, num_classes=3)
    assert cfg.sample(4, RNG(1), y=2, guidance=2.0, steps=5).shape == (4, 1, 4, 4)
    cg = ClassifierGuidance((1, 4, 4), rng=RNG(0), timesteps=40, width=8, num_classes=3,
                            classifier_width=8)
    assert cg.sample(4, RNG(1), y=np.array([0, 1, 2, 0]), guidance=1.0,
                     sampler="ddim", steps=5).shape == (4, 1, 4, 4)
    loss = cg.loss(RNG(2).uniform(-1, 1, (6, 1, 4, 4)).astype(np.float32), RNG(3),
                   y=np.array([0, 1, 2, 0, 1, 2]))
    assert np.isfinite(loss.data) and loss.data > 0


def test_toy_ddpm_learns_two_clusters():
    rng = RNG(0)
    centres = np.array([[-1.0, 0.0], [1.0, 0.0]])
    data = (centres[rng.integers(0, 2, 2048)] + 0.05 * rng.standard_normal((2048, 2))).astype(
        np.float32)
    model = DDPM((2,), rng=rng, timesteps=100, hidden=64, ema_decay=0.9)
    optimizer = Adam(model.parameters(), lr=3e-3)
    for _ in range(400):
        optimizer.zero_grad()
        model.loss(data[rng.integers(0, 2048, 256)], rng).backward()
        optimizer.step()
        model.after_step()
    samples = model.sample(400, RNG(1), sampler="ddim", steps=50)
    distance = np.min(np.abs(samples[:, None] - centres).sum(-1), axis=1)
    assert np.median(distance) < 0.3
    assert 0.3 < (samples[:, 0] > 0).mean() < 0.7  # both modes, in proportion

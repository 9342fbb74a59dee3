"""ProGAN: the fade-in is exact at α = 0 and α = 1 in both networks, α is monotone and
linear over a fade, the schedule survives a checkpoint and --resume mid-fade, the critic's
loss is WGAN-GP plus the drift term on raw critic values, and each player's step moves only
that player."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd as ag
from minigen.checkpoint import load_model
from minigen.models.adversarial.progan import ProGAN, resolution, schedule_at
from minigen.models.base import PlayerSettings
from minigen.models.registry import get_spec
from minigen.nn import EqualizedConv2d, EqualizedLinear
from minigen.nn.losses import gradient_penalty
from minigen.train import train

from .test_gan import _assert_identical, _digits_batch, _snapshot

PROGAN_BETAS = PlayerSettings(betas=(0.0, 0.99))


def _model(**kwargs):
    return ProGAN(rng=np.random.default_rng(0), channels=4, latent_dim=6, **kwargs)


def _at(model, stage, alpha):
    model.stage, model.alpha = np.asarray(stage), np.asarray(alpha)
    return model


@pytest.mark.parametrize("stage", [1, 2])
def test_generator_fade_in_is_the_upsampled_old_path_at_alpha_0_and_the_new_path_at_1(stage):
    generator = _model().generator
    z = np.random.default_rng(1).standard_normal((5, 6)).astype(np.float32)
    old = generator(z, stage - 1, 1.0).data  # the previous stage's finished output
    upsampled = old.repeat(2, axis=2).repeat(2, axis=3)
    np.testing.assert_array_equal(generator(z, stage, 0.0).data, upsampled)
    new = generator.image(generator.features(z, stage), stage).data  # tanh(toRGB(h))
    np.testing.assert_array_equal(generator(z, stage, 1.0).data, new)
    halfway = generator(z, stage, 0.25).data
    np.testing.assert_allclose(halfway, 0.75 * upsampled + 0.25 * new, rtol=1e-5, atol=1e-6)
    assert new.shape == (5, 1, resolution(stage), resolution(stage))


@pytest.mark.parametrize("stage", [1, 2])
def test_discriminator_fade_in_mirrors_the_generators(stage):
    discriminator = _model().discriminator
    side = resolution(stage)
    x = np.random.default_rng(2).uniform(-1, 1, (4, 1, side, side)).astype(np.float32)
    downsampled = ag.avg_pool2d(x, 2)
    # α = 0: exactly the previous stage's critic on the downsampled image
    np.testing.assert_array_equal(discriminator(x, stage, 0.0).data,
                                  discriminator(downsampled, stage - 1, 1.0).data)
    # α = 1: the new fromRGB and block, then the older blocks
    h = discriminator._block(discriminator._from_rgb(ag.as_tensor(x), stage), stage)
    for lower in range(stage - 1, 0, -1):
        h = discriminator._block(h, lower)
    np.testing.assert_array_equal(discriminator(x, stage, 1.0).data, discriminator.head(h).data)


@settings(deadline=None)
@given(st.integers(1, 20), st.integers(0, 20), st.integers(1, 4))
def test_alpha_rises_linearly_and_monotonically_over_each_fade(fade, stabilise, stages):
    phases = [schedule_at(step, fade, stabilise, stages)
              for step in range(stabilise + stages * (fade + stabilise) + 5)]
    stage_of = [stage for stage, _ in phases]
    assert stage_of == sorted(stage_of) and set(range(1, stages)) <= set(stage_of)
    for stage in range(1, stages):
        alphas = [alpha for s, alpha in phases if s == stage]
        assert alphas[:fade] == [t / fade for t in range(fade)]  # 0, 1/F, …, 1 − 1/F
        assert all(alpha == 1.0 for alpha in alphas[fade:])  # then it stabilises
        assert stage == stages - 1 or len(alphas) == fade + stabilise
    assert all(alpha == 1.0 for s, alpha in phases if s == 0)
    assert stage_of.count(0) == (stabilise if stages > 1 else len(phases))


def test_after_step_advances_the_schedule_kept_in_buffers():
    model = _model(fade_steps=4, stabilise_steps=2, ema_decay=0.0)  # θ̄ = θ: no drift
    seen = []
    for _ in range(9):
        seen.append(model.phase())
        if model.phase() in ((0, 1.0), (1, 1.0)):
            last_of_stage = model.fixed_samples()
        model.after_step()
        if len(seen) in (2, 8):  # the step that ended stage 0, stage 1: its images are kept
            np.testing.assert_array_equal(model.stage_samples[seen[-1][0]], last_of_stage)
    assert np.all(model.stage_samples[2] == 0)  # the last stage's are drawn when wanted
    assert seen == [(0, 1.0), (0, 1.0), (1, 0.0), (1, 0.25), (1, 0.5), (1, 0.75), (1, 1.0),
                    (1, 1.0), (2, 0.0)]
    state = model.state_dict()
    assert int(state["schedule_step"]) == 9 and int(state["stage"]) == 2
    assert float(state["alpha"]) == 0.25  # one step into stage 2's fade of 4


def test_resume_continues_mid_fade_exactly(tmp_path: Path) -> None:
    """One epoch (12 steps) ends 7 steps into stage 1's fade (α = 0.7); resuming for a
    second epoch lands where an uninterrupted two-epoch run does, α included."""
    spec = get_spec("progan")
    overrides = {"channels": 2, "latent_dim": 4, "fade_steps": 10, "stabilise_steps": 5}
    straight = train(spec, epochs=2, batch_size=128, seed=0, progress=False,
                     overrides=overrides)
    train(spec, epochs=1, batch_size=128, seed=0, progress=False, overrides=overrides,
          out_dir=tmp_path)
    halfway, _, _ = load_model(tmp_path)
    assert halfway.phase() == pytest.approx((1, 0.7)) and int(halfway.schedule_step) == 12
    assert int(halfway.images_seen) == 1497  # one epoch of the training digits
    resumed = train(spec, epochs=2, progress=False, out_dir=tmp_path, resume=True).model
    assert resumed.phase() == straight.model.phase() == pytest.approx((2, 0.4))
    for key, value in straight.model.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key], value, err_msg=key)


def test_reals_are_blended_like_the_generators_output_during_a_fade():
    model = _at(_model(), 1, 0.0)
    x = _digits_batch(3)
    four = ag.avg_pool2d(x, 2).data
    two = ag.avg_pool2d(four, 2).data
    np.testing.assert_array_equal(model.reals(x).data, two.repeat(2, axis=2).repeat(2, axis=3))
    np.testing.assert_array_equal(_at(model, 1, 1.0).reals(x).data, four)
    np.testing.assert_array_equal(_at(model, 2, 1.0).reals(x).data, x)
    np.testing.assert_allclose(_at(model, 0, 1.0).reals(x).data, two, rtol=1e-6)


def test_critic_loss_is_wgan_gp_plus_drift_on_raw_critic_values():
    model = _at(_model(), 2, 0.5)
    rng = np.random.default_rng(3)
    real = model.reals(_digits_batch(6))
    fake = model.generate(model.noise(6, rng)).detach()
    d_real, d_fake = model.critic(real).data, model.critic(fake).data
    penalty = gradient_penalty(model.critic, real.data, fake.data, np.random.default_rng(4)).data
    value = model.discriminator_loss(real, fake, np.random.default_rng(4)).data
    expected = d_fake.mean() - d_real.mean() + 10 * penalty + 0.001 * (d_real ** 2).mean()
    assert value == pytest.approx(expected, rel=1e-5)
    assert model.generator_loss(fake).data == pytest.approx(-d_fake.mean(), rel=1e-5)
    # the critic ends in an equalised linear layer: its values are unsquashed logits
    assert isinstance(model.discriminator.output, EqualizedLinear)
    model.discriminator.output.weight.data *= 1e4
    assert np.abs(model.critic(real).data).max() > 10 and np.isfinite(
        model.discriminator_loss(real, fake, rng).data)


@pytest.mark.parametrize("stage", [1, 2])
def test_each_player_step_moves_only_that_player(stage):
    model = _at(_model(), stage, 0.5)
    model.build_optimizers(1e-3, {"generator": PROGAN_BETAS, "discriminator": PROGAN_BETAS})
    players = model.players()
    rng = np.random.default_rng(1)
    real = model.reals(_digits_batch(8))
    fake = model.generate(model.noise(8, rng)).detach()
    g_before, d_before = _snapshot(players["generator"]), _snapshot(players["discriminator"])
    model.step_player("discriminator", lambda: model.discriminator_loss(real, fake, rng))
    _assert_identical(players["generator"], g_before)
    assert any(not np.array_equal(p.data, b) for p, b in zip(players["discriminator"],
                                                             d_before))
    z = model.noise(8, rng)
    d_before = _snapshot(players["discriminator"])
    model.step_player("generator", lambda: model.generator_loss(model.generate(z)))
    _assert_identical(players["discriminator"], d_before)
    assert any(not np.array_equal(p.data, b) for p, b in zip(players["generator"], g_before))


def test_every_layer_has_an_equalised_learning_rate():
    model = _model()
    weighted = [m for _, m in model.named_modules() if hasattr(m, "weight")]
    assert weighted and all(isinstance(m, (EqualizedLinear, EqualizedConv2d)) for m in weighted)


def test_samples_are_8x8_in_range_at_every_stage():
    model = _model()
    for stage in range(3):
        samples = _at(model, stage, 0.5 if stage else 1.0).sample(5, np.random.default_rng(0))
        assert samples.shape == (5, 1, 8, 8) and samples.min() >= -1 and samples.max() <= 1
    coarse = _at(model, 0, 1.0).sample(2, np.random.default_rng(0))
    np.testing.assert_array_equal(coarse[:, :, ::4, ::4].repeat(4, 2).repeat(4, 3), coarse)
    # n, NaN and empty batches: tests/models/test_input_at_the_door.py, for every model
    with pytest.raises(ValueError, match=r"data_shape must be \(1, 8, 8\)"):
        ProGAN((1, 28, 28), rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="unconditional"):
        model.sample(2, np.random.default_rng(0), y=np.zeros(2, int))

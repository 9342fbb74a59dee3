"""StyleGAN: style mixing feeds w₁ to the layers before the crossover and w₂ after (a spy on
the modulated convolutions), zeroed noise makes the image a function of w alone, truncation at ψ = 1
and 0, w̄ as a moving average, the mapping's learning-rate multiplier moves its effective
weights 100× less, player isolation, and losses on raw logits."""

from pathlib import Path

import numpy as np
import pytest

from minigen.checkpoint import load_model
from minigen.models.adversarial.stylegan import COARSE_LAYERS, StyleGAN, mix_styles
from minigen.models.base import PlayerSettings
from minigen.models.registry import get_spec
from minigen.nn import EqualizedConv2d, EqualizedLinear, ModulatedConv2d
from minigen.nn.losses import gan_loss
from minigen.train import train

from .test_gan import _assert_identical, _digits_batch, _snapshot

BETAS = PlayerSettings(betas=(0.0, 0.99))


def _model(**kwargs):
    return StyleGAN(rng=np.random.default_rng(0), channels=4, latent_dim=6, w_dim=5, **kwargs)


def _spy_on_styles(model):
    """Record the w each style layer (modulated conv) receives, in call order: (layer, w)."""
    seen = []
    for index, layer in enumerate(model.generator.synthesis.convs):
        def forward(x, w, index=index, original=layer.forward):
            seen.append((index, np.array(w.data)))
            return original(x, w)
        object.__setattr__(layer, "forward", forward)
    return seen


def test_style_mixing_uses_w1_before_the_crossover_and_w2_after():
    model = _model(mixing_probability=1.0)
    seen_crossovers = set()
    for seed in range(12):
        seen = _spy_on_styles(model)
        model.training_fakes(3, np.random.default_rng(seed))
        replay = np.random.default_rng(seed)  # the same draws, in the same order
        z_first, z_second = model.noise(3, replay), model.noise(3, replay)
        crossover = model.crossover(replay)
        w_first, w_second = model.mapping(z_first).data, model.mapping(z_second).data
        assert [index for index, _ in seen] == list(range(model.num_layers))
        for index, w in seen:
            np.testing.assert_array_equal(w, w_first if index < crossover else w_second)
        seen_crossovers.add(crossover)
    assert seen_crossovers == {1, 2, 3}  # every crossover k ∈ {1, …, L − 1} was exercised


def test_without_mixing_every_layer_gets_the_same_w():
    model = _model(mixing_probability=0.0)
    seen = _spy_on_styles(model)
    model.training_fakes(2, np.random.default_rng(0))
    assert all(np.array_equal(w, seen[0][1]) for _, w in seen)


def test_mixing_happens_with_probability_0_9_at_a_uniform_crossover():
    model = _model()
    rng = np.random.default_rng(0)
    crossovers = np.array([model.crossover(rng) for _ in range(4000)])
    assert np.mean(crossovers < model.num_layers) == pytest.approx(0.9, abs=0.02)
    counts = np.bincount(crossovers[crossovers < model.num_layers], minlength=4)[1:]
    np.testing.assert_allclose(counts / counts.sum(), 1 / 3, atol=0.03)


def test_mix_styles_stacks_w1_then_w2():
    w1, w2 = np.zeros((2, 3)), np.ones((2, 3))
    styles = mix_styles(w1, w2, 1, 4).data
    assert styles.shape == (2, 4, 3)
    np.testing.assert_array_equal(styles[:, 0], w1)
    np.testing.assert_array_equal(styles[:, 1:], np.ones((2, 3, 3)))


def test_with_the_noise_zeroed_the_image_is_a_function_of_w_alone():
    model = _model()
    for noise_input in model.generator.synthesis.noise_inputs:
        noise_input.weight.data[...] = 0.5  # the noise matters ...
    rng = np.random.default_rng(1)
    w = model.mapping(model.noise(4, rng)).data
    styles = np.repeat(w[:, None], model.num_layers, axis=1)
    zeros = [np.zeros_like(m) for m in model.generator.synthesis.noise_maps(4, rng)]
    image = model.synthesize(styles, zeros).data
    np.testing.assert_array_equal(model.synthesize(styles, zeros).data, image)
    np.testing.assert_array_equal(model.synthesize(styles[:2], [m[:2] for m in zeros]).data,
                                  image[:2])  # nor on the other images of the batch
    noisy = [model.synthesize(styles, model.generator.synthesis.noise_maps(4, rng)).data
             for _ in range(2)]
    assert not np.allclose(noisy[0], noisy[1])  # ... unless it is zeroed


def test_truncation_at_one_is_the_identity_and_at_zero_every_image_is_the_mean_ws():
    model = _model()
    model.w_average = np.random.default_rng(2).standard_normal(5).astype(np.float32)
    untruncated = model.sample(4, np.random.default_rng(3))
    np.testing.assert_array_equal(model.sample(4, np.random.default_rng(3), truncation=1.0),
                                  untruncated)
    mean_image = model.images_from_styles(np.broadcast_to(model.w_average, (1, 4, 5)),
                                          np.random.default_rng(9))
    for noise_input in model.generator.synthesis.noise_inputs:
        assert np.all(noise_input.weight.data == 0)  # untrained: no noise reaches the image
    at_zero = model.sample(4, np.random.default_rng(3), truncation=0.0)
    np.testing.assert_allclose(at_zero, np.repeat(mean_image, 4, axis=0), rtol=1e-5, atol=1e-6)
    assert not np.allclose(untruncated[0], untruncated[1])


def test_w_average_is_a_moving_average_of_w():
    model = _model()
    w = np.random.default_rng(0).standard_normal((8, 5))
    model.track_w_average(w)
    np.testing.assert_allclose(model.w_average, 0.005 * w.mean(axis=0), rtol=1e-5)
    model.track_w_average(w)
    np.testing.assert_allclose(model.w_average, (1 - 0.995 ** 2) * w.mean(axis=0), rtol=1e-5)
    model.build_optimizers(1e-3, {"generator": BETAS, "discriminator": BETAS})
    before = model.w_average.copy()
    model.train_step(_digits_batch(4), np.random.default_rng(0))
    assert not np.array_equal(model.w_average, before)  # a training step moves w̄


def test_the_mapping_learns_100_times_slower_than_the_synthesis():
    """One Adam step (β₁ = 0) moves each stored weight by ≈ lr; the effective weight moves by
    μ·c·lr: μ = 0.01 in the mapping, 1 in the synthesis. (float64: the mapping stores
    weights of size ~1/μ = 100, where float32 resolves a step of 1e-3 only to ~1%.)"""
    model = _model().astype(np.float64)
    model.build_optimizers(1e-3, {"generator": BETAS, "discriminator": BETAS})
    layers = [m for _, m in model.generator.named_modules()
              if isinstance(m, (EqualizedLinear, EqualizedConv2d))]
    before = [layer.effective_weight().data.copy() for layer in layers]
    rng = np.random.default_rng(0)
    # Adam is blind to the loss's scale but for its ε: scaled up, ε cannot trim the steps
    model.step_player("generator",
                      lambda: model.generator_loss(model.training_fakes(8, rng)[0]) * 1e6)
    mapping = {id(m) for m in model.generator.mapping.layers}
    for layer, old in zip(layers, before):
        move = np.abs(layer.effective_weight().data - old)
        mu = 0.01 if id(layer) in mapping else 1.0
        assert layer.lr_multiplier == mu
        c = layer.scale / mu  # √(gain / fan_in)
        assert move.max() <= mu * c * 1e-3 * 1.001
        assert np.median(move[move > 0]) == pytest.approx(mu * c * 1e-3, rel=2e-3)
        assert (move > 0).all()


def test_every_layer_has_an_equalised_learning_rate_and_styles_come_by_modulation():
    model = _model()
    weighted = [m for _, m in model.named_modules()
                if hasattr(m, "weight") and not type(m).__name__ == "NoiseInput"]
    assert weighted and all(isinstance(m, (EqualizedLinear, EqualizedConv2d)) for m in weighted)
    synthesis = model.generator.synthesis
    assert [m.demodulate for m in synthesis.convs] == [True] * model.num_layers
    assert isinstance(synthesis.to_rgb, ModulatedConv2d) and not synthesis.to_rgb.demodulate
    modulated = [m for _, m in model.named_modules() if isinstance(m, ModulatedConv2d)]
    assert len(modulated) == model.num_layers + 1 == 5 and COARSE_LAYERS == 2


def test_each_player_step_moves_only_that_player():
    model = _model()
    model.build_optimizers(1e-3, {"generator": BETAS, "discriminator": BETAS})
    players = model.players()
    rng = np.random.default_rng(1)
    real = model.examples(_digits_batch(8))
    fake = model.training_fakes(8, rng)[0].detach()
    g_before, d_before = _snapshot(players["generator"]), _snapshot(players["discriminator"])
    model.step_player("discriminator", lambda: model.discriminator_loss(real, fake))
    _assert_identical(players["generator"], g_before)
    assert any(not np.array_equal(p.data, b) for p, b in zip(players["discriminator"],
                                                             d_before))
    d_before = _snapshot(players["discriminator"])
    model.step_player("generator",
                      lambda: model.generator_loss(model.training_fakes(8, rng)[0]))
    _assert_identical(players["discriminator"], d_before)
    assert any(not np.array_equal(p.data, b) for p, b in zip(players["generator"], g_before))


def test_losses_are_the_non_saturating_game_on_raw_logits_plus_r1():
    model = _model(r1_weight=0.0)
    rng = np.random.default_rng(4)
    real = model.examples(_digits_batch(6))
    fake = model.training_fakes(6, rng)[0].detach()
    d_real, d_fake = model.critic(real).data, model.critic(fake).data
    softplus = np.logaddexp(0, np.concatenate([-d_real, d_fake])).reshape(2, -1).mean(axis=1)
    assert model.discriminator_loss(real, fake).data == pytest.approx(softplus.sum(), rel=1e-5)
    assert model.generator_loss(fake).data == pytest.approx(np.logaddexp(0, -d_fake).mean(),
                                                            rel=1e-5)
    model.r1_weight = 10.0
    assert model.discriminator_loss(real, fake).data > softplus.sum()  # + γ/2 E‖∇d(x)‖²
    model.discriminator.output.weight.data *= 1e4  # logits far beyond σ's float range
    logits = model.critic(real).data
    assert np.abs(logits).max() > 50
    expected = gan_loss("non_saturating").discriminator(model.critic(real), model.critic(fake))
    assert np.isfinite(expected.data) and np.isfinite(model.discriminator_loss(real, fake).data)


def test_lazy_r1_weights_every_kth_critic_step_by_k_and_its_clock_is_a_buffer():
    model = _model(r1_weight=2.0, r1_interval=4)
    weights = [model.lazy_r1_weight(step) for step in range(12)]
    assert weights == [8.0, 0.0, 0.0, 0.0] * 3  # γ·k every k-th step: γ per step on average
    assert _model(r1_weight=2.0, r1_interval=1).lazy_r1_weight(7) == 2.0  # k = 1: every step
    model.build_optimizers(1e-3, {"generator": BETAS, "discriminator": BETAS})
    model.train_step(_digits_batch(4), np.random.default_rng(0))
    assert int(model.critic_steps) == 1 and "critic_steps" in model.state_dict()
    with pytest.raises(ValueError, match="r1_interval must be >= 1"):
        _model(r1_interval=0)


def test_samples_are_8x8_in_range_and_bad_arguments_are_named():
    model = _model()
    samples = model.sample(5, np.random.default_rng(0), truncation=0.7)
    assert samples.shape == (5, 1, 8, 8) and samples.min() >= -1 and samples.max() <= 1
    assert StyleGAN.sample_options == ("truncation",)
    # n, NaN and empty batches: tests/models/test_input_at_the_door.py, for every model
    with pytest.raises(ValueError, match=r"data_shape must be \(1, 8, 8\)"):
        StyleGAN((1, 28, 28), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="mixing_probability"):
        _model(mixing_probability=1.5)


def test_registered_stylegan_trains_one_epoch_and_reloads_to_the_same_samples(tmp_path: Path):
    spec = get_spec("stylegan")
    assert spec.players["generator"].betas == (0.0, 0.99)
    result = train(spec, epochs=1, seed=0, progress=False, out_dir=tmp_path,
                   overrides={"channels": 4, "latent_dim": 6, "w_dim": 5})
    model = result.model
    for player, optimizer in model.optimizers().items():
        assert optimizer.lr == pytest.approx(spec.lr * spec.players[player].lr_scale)
    loaded, _, _ = load_model(tmp_path)
    np.testing.assert_array_equal(loaded.w_average, model.w_average)
    np.testing.assert_allclose(loaded.sample(6, np.random.default_rng(0), truncation=0.5),
                               model.sample(6, np.random.default_rng(0), truncation=0.5),
                               rtol=1e-6, atol=1e-6)


def test_minigen_sample_takes_truncation_for_stylegan_and_refuses_it_elsewhere(
        tmp_path, monkeypatch, capsys):
    from minigen.cli import main
    monkeypatch.chdir(tmp_path)
    assert main(["train", "stylegan", "--epochs", "1", "--no-progress"]) == 0
    assert main(["sample", "runs/stylegan", "-n", "4", "--truncation", "0.5"]) == 0
    assert "4 samples of stylegan" in capsys.readouterr().out
    assert main(["train", "gan", "--epochs", "1", "--no-progress"]) == 0
    assert main(["sample", "runs/gan", "-n", "4", "--truncation", "0.5"]) == 2
    assert "gan does not take --truncation" in capsys.readouterr().err

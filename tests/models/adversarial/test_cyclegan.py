"""CycleGAN: exact inverses have cycle loss 0; the identity loss feeds each generator its
target domain; the image pool (cap, filling, the ½ swap); player isolation; sampling."""

from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binomtest

import autograd as ag
from autograd import Tensor
from minigen.checkpoint import load_model
from minigen.data import get_fields
from minigen.models.adversarial.cyclegan import CycleGAN, ImagePool
from minigen.models.registry import get_spec
from minigen.nn import Module
from minigen.train import train

from .test_gan import GAN_BETAS, _assert_identical, _snapshot


def _model(**kwargs):
    return CycleGAN(rng=np.random.default_rng(0), channels=4, discriminator_channels=4,
                    **kwargs)


def _domains(n=6, seed=0):
    rng = np.random.default_rng(seed)
    return (Tensor(rng.uniform(-1, 1, (n, 1, 8, 8)).astype(np.float32)),
            Tensor(rng.uniform(-1, 1, (n, 1, 8, 8)).astype(np.float32)))


class PixelPermutation(Module):
    """A generator that moves pixel i to position order[i]: invertible exactly."""

    def __init__(self, order: np.ndarray) -> None:
        super().__init__()
        self.order = order

    def forward(self, x):
        x = ag.as_tensor(x)
        return x.reshape(len(x), -1)[:, self.order].reshape(x.shape)


class Spy(Module):
    """The identity map that records every batch it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[np.ndarray] = []

    def forward(self, x):
        self.seen.append(np.array(ag.as_tensor(x).data))
        return ag.as_tensor(x)


def test_exact_inverse_generators_have_zero_cycle_loss():
    model = _model()
    order = np.random.default_rng(3).permutation(64)
    model.generator_ab = PixelPermutation(order)  # G
    model.generator_ba = PixelPermutation(np.argsort(order))  # F = G⁻¹
    a, b = _domains()
    assert float(model.cycle_loss(a, b).data) == 0.0  # exactly, not approximately
    model.generator_ba = PixelPermutation(order)  # F = G, not its inverse
    assert float(model.cycle_loss(a, b).data) > 0.1


def test_identity_loss_feeds_each_generator_its_own_target_domain():
    model = _model()
    model.generator_ab, model.generator_ba = Spy(), Spy()  # G: A -> B, F: B -> A
    a, b = _domains()
    assert float(model.identity_loss(a, b).data) == 0.0  # identity maps
    [given_to_g], [given_to_f] = model.generator_ab.seen, model.generator_ba.seen
    np.testing.assert_array_equal(given_to_g, b.data)  # ‖G(b) − b‖: G is given b
    np.testing.assert_array_equal(given_to_f, a.data)  # ‖F(a) − a‖: F is given a


def test_generator_loss_weighs_cycle_by_lambda_and_identity_by_half_lambda():
    model = _model(cycle_weight=10.0, identity_weight=0.5)
    a, b = _domains()
    expected = (model.adversarial_loss(a, b).data + 10 * model.cycle_loss(a, b).data
                + 5 * model.identity_loss(a, b).data)
    np.testing.assert_allclose(model.generator_loss(a, b).data, expected, rtol=1e-6)


def test_image_pool_returns_its_input_while_filling_and_never_exceeds_its_cap():
    pool, rng = ImagePool(50), np.random.default_rng(0)
    batches = [np.full((8, 1, 2, 2), i, np.float32) + np.arange(8)[:, None, None, None] / 10
               for i in range(20)]
    np.testing.assert_array_equal(pool.query(batches[0], rng), batches[0])
    for batch in batches[1:6]:  # 48 images: still filling
        np.testing.assert_array_equal(pool.query(batch, rng), batch)
    assert len(pool) == 48
    seen = np.concatenate(batches)
    for batch in batches[6:]:
        out = pool.query(batch, rng)
        assert len(pool) == 50  # the cap
        assert all((seen == image).all(axis=(1, 2, 3)).any() for image in out)  # past fakes


def test_image_pool_swaps_with_probability_one_half():
    pool, rng = ImagePool(50), np.random.default_rng(1)
    pool.query(-np.ones((50, 1, 1, 1)), rng)  # full of −1
    images = np.arange(1, 2001, dtype=np.float64).reshape(-1, 1, 1, 1)
    out = pool.query(images, rng)
    swapped = int((out != images).sum())
    assert binomtest(swapped, len(images), 0.5).pvalue > 1e-3
    assert ImagePool(0).query(images[:3], rng) is not images  # no pool: a copy
    with pytest.raises(ValueError, match="capacity"):
        ImagePool(-1)


def test_each_player_step_moves_only_that_player():
    model = _model()
    model.build_optimizers(2e-4, {"generators": GAN_BETAS, "discriminators": GAN_BETAS})
    generators = model.players()["generators"]
    discriminators = model.players()["discriminators"]
    a, b = _domains()

    g_before, d_before = _snapshot(generators), _snapshot(discriminators)
    model.step_player("generators", lambda: model.generator_loss(a, b))
    _assert_identical(discriminators, d_before)
    assert all(not np.array_equal(p.data, before) for p, before in zip(generators, g_before)
               if p.ndim > 1)

    g_before, d_before = _snapshot(generators), _snapshot(discriminators)
    with ag.no_grad():
        fake_a, fake_b = model.generator_ba(b).data, model.generator_ab(a).data
    model.step_player("discriminators", lambda: model.discriminator_loss(a, b, fake_a, fake_b))
    _assert_identical(generators, g_before)
    assert all(not np.array_equal(p.data, before) for p, before in zip(discriminators,
                                                                       d_before))


def test_train_step_steps_each_player_once_and_fills_both_pools():
    model = _model(pool_size=4)
    optimizers = model.build_optimizers(2e-4)
    a, b = _domains()
    figures = model.train_step(a.data, np.random.default_rng(0), x_b=b.data)
    assert set(figures) == {"generators", "discriminators", "cycle", "d_a_real", "d_a_fake",
                            "d_b_real", "d_b_fake"}
    assert {name: int(opt.state[0]["step"]) for name, opt in optimizers.items()} == {
        "generators": 1, "discriminators": 1}
    assert len(model.pool_a) == len(model.pool_b) == 4


def test_sample_translates_a_to_b_and_sampling_conditions_take_test_a_digits():
    model = _model()
    fields = get_fields("digits-thin-bold", "test")
    given, labels = model.sampling_conditions(5, fields, np.random.default_rng(0))
    np.testing.assert_array_equal(given["source"], fields["x"][:5])
    np.testing.assert_array_equal(labels, fields["y"][:5])
    samples = model.sample(5, np.random.default_rng(0), **given)
    np.testing.assert_array_equal(samples, model.to_b(fields["x"][:5]))
    with pytest.raises(ValueError, match="positive int"):
        model.sample(0, np.random.default_rng(0), source=fields["x"][:0])
    with pytest.raises(ValueError, match="x_b has shape"):
        model.loss(fields["x"][:2], np.random.default_rng(0), x_b=np.zeros((2, 8, 8)))
    title, rows = model.figure_rows(fields, np.random.default_rng(0))
    assert len(rows) == 6 and all(images.shape == (10, 1, 8, 8) for images in rows.values())


def test_registered_cyclegan_trains_one_epoch_and_reloads(tmp_path: Path):
    spec = get_spec("cyclegan")
    result = train(spec, epochs=1, batch_size=64, seed=0, progress=False, out_dir=tmp_path / "run",
                   overrides={"channels": 8, "discriminator_channels": 8})
    assert spec.data == "digits-thin-bold" and 0 < result.metrics["loss"] < 4
    loaded, _, _ = load_model(tmp_path / "run")
    a = get_fields("digits-thin-bold", "test")["x"][:4]
    np.testing.assert_allclose(loaded.to_b(a), result.model.to_b(a), rtol=1e-6, atol=1e-6)


def test_a_resumed_run_draws_the_same_pooled_fakes_as_an_uninterrupted_one(tmp_path):
    """The pools are buffers: a checkpoint keeps them, so resuming is bit for bit."""
    small = {"channels": 4, "discriminator_channels": 4, "pool_size": 20}
    straight = train("cyclegan", epochs=2, seed=5, out_dir=tmp_path / "straight",
                     overrides=small, progress=False)
    assert len(straight.model.pool_a) == 20
    train("cyclegan", epochs=1, seed=5, out_dir=tmp_path / "resumed", overrides=small,
          progress=False)
    resumed = train("cyclegan", epochs=2, out_dir=tmp_path / "resumed", resume=True,
                    progress=False)
    for key, value in straight.model.state_dict().items():
        np.testing.assert_array_equal(resumed.model.state_dict()[key], value, err_msg=key)


def test_a_state_saved_without_pools_loads_with_empty_pools():
    """Runs saved before the pools were kept still load."""
    model, rng = _model(), np.random.default_rng(2)
    model.pool_a.query(np.ones((3, 1, 8, 8), np.float32), rng)
    state = {key: value for key, value in model.state_dict().items()
             if not key.startswith("pool_")}
    restored = _model()
    restored.load_state_dict(state)
    assert len(restored.pool_a) == len(restored.pool_b) == 0
    for key, value in state.items():
        np.testing.assert_array_equal(restored.state_dict()[key], value, err_msg=key)

"""Puzzle-GAN: the patch set's order never matters (bit for bit), the part embeddings are
summed, a perfect mask and a perfect copy cost exactly 0, the patches are cut with ink at
their places, and each player's step moves only that player."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Tensor
from minigen.data import load_digits
from minigen.models.adversarial.puzzle_gan import (
    PuzzleGAN,
    cut_patches,
    mask_iou,
    paste_patches,
    patch_mask,
)
from minigen.nn.losses import gan_loss

from .test_gan import GAN_BETAS, _assert_all_moved, _assert_identical, _snapshot

DIGITS = load_digits("test", view="signed")[0].astype(np.float32)


def _model(**kwargs):
    return PuzzleGAN(rng=np.random.default_rng(0), channels=4, embedding_dim=16, **kwargs)


@settings(max_examples=20, deadline=None)
@given(st.permutations(range(3)), st.integers(0, 2**31 - 1))
def test_permuting_the_patches_leaves_every_output_bit_identical(permutation, seed):
    model = _model()
    rng = np.random.default_rng(seed)
    patches, _ = model.cut(DIGITS[rng.integers(0, len(DIGITS), 12)], rng)
    z = model.noise(12, rng)
    own_order = np.stack([rng.permutation(3) for _ in range(12)])  # one order per example
    reordered = [patches[:, list(permutation)],
                 np.take_along_axis(patches, own_order[:, :, None, None, None], axis=1)]
    h, (mask, image) = model.embed(patches).data, model.assemble(patches, z)
    for other in reordered:
        np.testing.assert_array_equal(model.embed(other).data, h)
        other_mask, other_image = model.assemble(other, z)
        np.testing.assert_array_equal(other_mask.data, mask.data)
        np.testing.assert_array_equal(other_image.data, image.data)


def test_the_embedding_is_the_sum_of_the_part_encodings():
    model = _model()
    patches, _ = model.cut(DIGITS[:6], np.random.default_rng(0))
    each = [model.part_encoder(Tensor(patches[:, k].reshape(6, -1))).data for k in range(3)]
    np.testing.assert_allclose(model.embed(patches).data, sum(each), rtol=1e-5, atol=1e-6)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 4), st.integers(2, 4))
def test_a_perfect_mask_and_a_perfect_copy_cost_exactly_zero(seed, num_patches, size):
    rng = np.random.default_rng(seed)
    x = DIGITS[rng.integers(0, len(DIGITS), 5)]
    _, corners = cut_patches(x, num_patches, size, 2, rng)
    true_mask = patch_mask(corners, size, x.shape[1:])
    copy = np.where(true_mask == 1, x, rng.uniform(-1, 1, x.shape))  # any pixels outside M
    assert PuzzleGAN.mask_loss(Tensor(true_mask), true_mask).data == 0.0
    assert PuzzleGAN.appearance_loss(Tensor(copy), x, true_mask).data == 0.0
    wrong = copy + true_mask * 0.5  # a copy off by 0.5 inside the mask
    expected = 0.5 * true_mask.mean()
    assert PuzzleGAN.appearance_loss(Tensor(wrong), x, true_mask).data == pytest.approx(expected)
    assert PuzzleGAN.mask_loss(Tensor(1 - true_mask), true_mask).data == 1.0


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 4), st.integers(2, 4), st.integers(0, 6))
def test_patches_are_cut_at_their_corners_from_distinct_inked_windows(seed, k, size, min_ink):
    min_ink = min(min_ink, size * size)
    rng = np.random.default_rng(seed)
    x = DIGITS[rng.integers(0, len(DIGITS), 6)]
    patches, corners = cut_patches(x, k, size, min_ink, rng)
    assert patches.shape == (6, k, 1, size, size) and corners.shape == (6, k, 2)
    for n in range(6):
        assert len({tuple(c) for c in corners[n]}) == k  # distinct windows
        inked = 0
        for (row, col), patch in zip(corners[n], patches[n]):
            window = x[n, :, row:row + size, col:col + size]
            np.testing.assert_array_equal(patch, window)
            inked += (window > 0).sum() >= min_ink
        eligible = sum((x[n, 0, r:r + size, c:c + size] > 0).sum() >= min_ink
                       for r in range(9 - size) for c in range(9 - size))
        assert inked == min(k, eligible)  # inked windows first, whenever there are enough
    pasted = paste_patches(patches, corners, x.shape[1:])
    mask = patch_mask(corners, size, x.shape[1:])
    np.testing.assert_array_equal(pasted[mask == 1], x[mask == 1])
    assert np.all(pasted[mask == 0] == -1)


def test_mask_iou_is_one_for_the_true_mask_and_zero_for_its_complement():
    _, corners = cut_patches(DIGITS[:4], 2, 3, 3, np.random.default_rng(0))
    true_mask = patch_mask(corners, 3, (1, 8, 8))
    assert mask_iou(true_mask, true_mask) == 1.0
    assert mask_iou(1 - true_mask, true_mask) == 0.0
    assert mask_iou(0.5 * true_mask + 0.3, true_mask) == 1.0  # 0.8 > ½ inside, 0.3 out
    half = true_mask.copy()
    half[:2] = 0  # the first two examples' masks missed entirely
    assert mask_iou(half, true_mask) == pytest.approx(half.sum() / true_mask.sum())


def test_each_player_step_moves_only_that_player():
    model = _model()
    model.build_optimizers(1e-3, {"generator": GAN_BETAS, "discriminator": GAN_BETAS})
    generator, discriminator = model.players()["generator"], model.players()["discriminator"]
    rng = np.random.default_rng(1)
    real = Tensor(DIGITS[:8])
    patches, corners = model.cut(real.data, rng)
    true_mask = patch_mask(corners, model.patch_size, (1, 8, 8))
    z = model.noise(8, rng)
    fake = model.assemble(patches, z)[1].detach()
    g_before, d_before = _snapshot(generator), _snapshot(discriminator)
    model.step_player("discriminator", lambda: gan_loss("non_saturating").discriminator(
        model.critic(real), model.critic(fake)))
    _assert_identical(generator, g_before)  # bit-identical E, mask network and G
    _assert_all_moved(discriminator, d_before)
    g_before, d_before = _snapshot(generator), _snapshot(discriminator)
    model.step_player("generator",
                      lambda: model.generator_loss(real, patches, true_mask, z, {}))
    _assert_identical(discriminator, d_before)  # bit-identical D
    _assert_all_moved(generator, g_before)


def test_train_step_sampling_and_figure_rows():
    model = _model()
    model.build_optimizers(1e-3, {"generator": GAN_BETAS, "discriminator": GAN_BETAS})
    figures = model.train_step(DIGITS[:16], np.random.default_rng(0))
    assert set(figures) == {"discriminator", "generator", "mask_l1", "appearance_l1"}
    fields = {"x": DIGITS, "y": load_digits("test", view="signed")[1]}
    given_, labels = model.sampling_conditions(20, fields, np.random.default_rng(0))
    assert given_["patches"].shape == (20, 3, 1, 4, 4)
    np.testing.assert_array_equal(labels, fields["y"][:20])
    samples = model.sample(20, np.random.default_rng(0), **given_)
    assert samples.shape == (20, 1, 8, 8) and np.abs(samples).max() <= 1
    title, rows = model.figure_rows(fields, np.random.default_rng(0))
    assert list(rows) == ["patches", "predicted mask", "output", "real"]
    assert all(images.shape == (10, 1, 8, 8) for images in rows.values())
    metrics = model.metrics(DIGITS[:50], np.random.default_rng(0))
    assert set(metrics) == {"mask_iou", "mask_l1", "appearance_l1"}
    assert 0 <= metrics["mask_iou"] <= 1


def test_bad_arguments_are_named():
    model = _model()
    with pytest.raises(ValueError, match="n must be a positive int"):
        model.sample(0, np.random.default_rng(0), patches=np.zeros((1, 3, 1, 4, 4)))
    with pytest.raises(ValueError, match="pass patches="):
        model.sample(2, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"patches must be \(N, K, 1, 4, 4\)"):
        model.sample(2, np.random.default_rng(0), patches=np.zeros((2, 3, 1, 3, 3)))
    with pytest.raises(TypeError, match="cuts its patches"):
        model.loss(DIGITS[:4], np.random.default_rng(0), y=np.zeros(4, int))
    with pytest.raises(ValueError, match="NaN"):
        bad = DIGITS[:4].copy()
        bad[0, 0, 0, 0] = np.nan
        model.loss(bad, np.random.default_rng(0))
    with pytest.raises(ValueError, match="do not fit"):
        cut_patches(DIGITS[:2], 40, 3, 0, np.random.default_rng(0))

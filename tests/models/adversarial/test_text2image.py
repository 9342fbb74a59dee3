"""GAN-CLS (text2image): the matching-aware discriminator's three pairs and their weights,
wrong captions of another digit, per-example text conditioning, a frozen pre-trained text
encoder, player isolation, the input door, and the CLI's --text."""

import ast
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd as ag
from autograd import Tensor
from minigen.checkpoint import load_model
from minigen.cli import main
from minigen.data import get_fields
from minigen.data.captions import (
    HELD_OUT_TEMPLATES,
    NUM_CLASSES,
    caption_classes,
    decode_captions,
    encode_captions,
    every_caption,
    make_captions,
)
from minigen.models.adversarial.text2image import TextToImageGAN
from minigen.models.base import PlayerSettings
from minigen.nn.losses import bce_with_logits, gan_loss
from minigen.train import train

BETAS = PlayerSettings(betas=(0.5, 0.999))
SETTINGS = {"generator": BETAS, "discriminator": BETAS}


def _model(seed: int = 0, **hparams) -> TextToImageGAN:
    small = {"channels": 4, "latent_dim": 4, "word_dim": 4, "text_hidden": 6,
             "text_projection": 3, "pretrain_steps": 2, "pretrain_batch_size": 8}
    return TextToImageGAN(rng=np.random.default_rng(seed), **{**small, **hparams})


def _batch(n: int = 8) -> tuple[np.ndarray, np.ndarray]:
    fields = get_fields("digits-captions", "train")
    return fields["x"][:n], fields["text"][:n]


def _snapshot(parameters):
    return [p.data.copy() for p in parameters]


def _identical(parameters, before) -> bool:
    return all(np.array_equal(p.data, b) for p, b in zip(parameters, before))


def _all_moved(parameters, before) -> bool:
    return all(not np.array_equal(p.data, b) for p, b in zip(parameters, before))


# ----- the discriminator conditions each example on its own caption --------------------
@settings(max_examples=20, deadline=None)
@given(st.permutations(range(8)), st.booleans())
def test_permuting_the_pairs_permutes_the_discriminators_outputs(order, training):
    model = _model()
    model.train(training)  # BatchNorm on batch statistics, or on running ones
    x, tokens = _batch(8)
    order = np.array(order)
    with ag.no_grad():
        logits = model.discriminator_logits(x, model.embed(tokens)).data
        permuted = model.discriminator_logits(x[order], model.embed(tokens[order])).data
    np.testing.assert_allclose(permuted, logits[order], rtol=1e-5, atol=1e-6)


@settings(max_examples=20, deadline=None)
@given(st.permutations(range(8)))
def test_permuting_the_captions_of_one_image_permutes_the_outputs(order):
    model = _model()
    x, tokens = _batch(8)
    same_image = np.repeat(x[:1], 8, axis=0)
    order = np.array(order)
    with ag.no_grad():
        logits = model.discriminator_logits(same_image, model.embed(tokens)).data
        permuted = model.discriminator_logits(same_image, model.embed(tokens[order])).data
    np.testing.assert_allclose(permuted, logits[order], rtol=1e-5, atol=1e-6)
    assert np.ptp(logits) > 0  # the captions do reach D


def test_the_embedding_does_not_read_the_padding():
    model = _model()
    tokens = encode_captions(["seven", "a picture of the digit 7 written by hand"])
    longer = np.pad(tokens, ((0, 0), (0, 5)))  # five more padding positions
    with ag.no_grad():
        np.testing.assert_allclose(model.embed(longer).data, model.embed(tokens).data,
                                   atol=1e-6)
        words_only = model.gru(model.words(tokens[:1, :1]))[0].data[:, -1]
        np.testing.assert_allclose(model.embed(tokens[:1]).data, words_only, atol=1e-6)


# ----- wrong captions -----------------------------------------------------------------
@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, NUM_CLASSES - 1), min_size=1, max_size=30),
       st.integers(0, 2**32 - 1))
def test_a_wrong_caption_never_names_the_right_digit(labels, seed):
    rng = np.random.default_rng(seed)
    right = encode_captions(make_captions(np.array(labels), rng))
    wrong = _model().wrong_captions(right, rng)
    assert wrong.shape == right.shape
    assert np.all(caption_classes(wrong) != caption_classes(right))


def test_wrong_captions_name_each_other_digit_about_equally_often():
    right = encode_captions(make_captions(np.full(1800, 3), np.random.default_rng(0)))
    wrong = caption_classes(_model().wrong_captions(right, np.random.default_rng(1)))
    counts = np.bincount(wrong, minlength=NUM_CLASSES)
    assert counts[3] == 0 and np.all(np.abs(np.delete(counts, 3) - 200) < 60)


# ----- the three pairs and their weights ----------------------------------------------
@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6))
def test_discriminator_loss_weighs_real_1_wrong_half_fake_half(seed, n):
    rng = np.random.default_rng(seed)
    real, wrong, fake = (Tensor(3 * rng.standard_normal(n), requires_grad=True)
                         for _ in range(3))
    loss = _model().matching_aware_loss(real, wrong, fake)
    # L_D = −log σ(s_r) − ½ log(1 − σ(s_w)) − ½ log(1 − σ(s_f)), each a batch mean
    expected = (bce_with_logits(real, 1.0) + 0.5 * bce_with_logits(wrong, 0.0)
                + 0.5 * bce_with_logits(fake, 0.0))
    np.testing.assert_allclose(loss.data, expected.data, rtol=1e-10)
    loss.backward()

    def plain_game_gradients(values):  # ∂/∂(real, fake) of the two-pair game at (real, values)
        r, f = Tensor(real.data, requires_grad=True), Tensor(values.data, requires_grad=True)
        gan_loss("non_saturating").discriminator(r, f).backward()
        return r.grad, f.grad

    real_grad, fake_grad = plain_game_gradients(fake)
    np.testing.assert_allclose(real.grad, real_grad, rtol=1e-10)  # the real pair: weight 1
    np.testing.assert_allclose(fake.grad, 0.5 * fake_grad, rtol=1e-10)  # weight ½
    np.testing.assert_allclose(wrong.grad, 0.5 * plain_game_gradients(wrong)[1], rtol=1e-10)


def test_train_step_scores_real_with_right_real_with_wrong_and_fake_with_right(monkeypatch):
    model = _model()
    model.build_optimizers(1e-3, SETTINGS)
    x, tokens = _batch(8)
    seen = {}
    monkeypatch.setattr(model, "wrong_captions", lambda right, rng: seen.setdefault(
        "wrong", TextToImageGAN.wrong_captions(model, right, rng)))
    generate = model.generate
    monkeypatch.setattr(model, "generate", lambda z, embedding: seen.setdefault(
        "fake", generate(z, embedding)))  # the first call makes D's fakes
    loss = model.matching_aware_loss

    def spy(real, wrong, fake):  # recompute each pair's logits before D's update
        with ag.no_grad():
            for name, images, text in (("real", x, tokens), ("wrong", x, seen["wrong"]),
                                       ("fake", seen["fake"].data, tokens)):
                expected = model.discriminator_logits(images, model.embed(text)).data
                np.testing.assert_allclose(locals()[name].data, expected, rtol=1e-5)
        seen["loss"] = loss(real, wrong, fake).data
        return loss(real, wrong, fake)

    monkeypatch.setattr(model, "matching_aware_loss", spy)
    figures = model.train_step(x, np.random.default_rng(0), text=tokens)
    assert np.all(caption_classes(seen["wrong"]) != caption_classes(tokens))
    assert figures["discriminator"] == pytest.approx(float(seen["loss"]))


# ----- players --------------------------------------------------------------------------
def test_each_player_step_moves_only_that_player():
    model = _model()
    model.build_optimizers(1e-3, SETTINGS)
    players = model.players()
    x, tokens = _batch(8)
    rng = np.random.default_rng(1)
    right = model.embed(tokens).detach()
    wrong = model.embed(model.wrong_captions(tokens, rng)).detach()
    fake = model.generate(model.noise(8, rng), right).detach()
    steps = {
        "text_encoder": lambda: model.text_encoder_loss(tokens),
        "discriminator": lambda: model.discriminator_loss(Tensor(x), fake, right, wrong),
        "generator": lambda: gan_loss("non_saturating").generator(
            model.discriminator_logits(model.generate(model.noise(8, rng), right), right)),
    }
    for name, objective in steps.items():
        before = {player: _snapshot(parameters) for player, parameters in players.items()}
        model.step_player(name, objective)
        assert _all_moved(players[name], before[name]), name
        for other in set(players) - {name}:
            assert _identical(players[other], before[other]), (name, other)  # bit-identical


def test_the_text_encoder_is_pretrained_once_then_frozen(tmp_path: Path):
    model = _model(pretrain_steps=3)
    optimizers = model.build_optimizers(1e-3, SETTINGS)
    x, tokens = _batch(8)
    model.train_step(x, np.random.default_rng(0), text=tokens)
    assert int(model.pretrained_steps) == 3
    assert int(optimizers["text_encoder"].state[0]["step"]) == 3
    encoder = _snapshot(model.players()["text_encoder"])
    generator = _snapshot(model.players()["generator"])
    model.train_step(x, np.random.default_rng(1), text=tokens)
    assert _identical(model.players()["text_encoder"], encoder)  # frozen during the game
    assert _all_moved(model.players()["generator"], generator)
    fresh = _model(seed=1, pretrain_steps=3)
    fresh.load_state_dict(model.state_dict())
    assert int(fresh.pretrained_steps) == 3  # a resumed run does not pre-train again


def test_a_pretrained_encoder_reads_the_digit_of_held_out_phrasings():
    model = _model(word_dim=8, text_hidden=16, pretrain_steps=150, pretrain_batch_size=32)
    model.build_optimizers(1e-2, SETTINGS)
    model.pretrain_text_encoder(np.random.default_rng(0))
    test = get_fields("digits-captions", "test")
    assert np.mean(model.read_classes(test["text"]) == test["y"]) > 0.9


# ----- sampling and its conditions ------------------------------------------------------
def test_samples_follow_their_own_captions_in_range():
    model = _model()
    fours = model.sample(4, np.random.default_rng(0), text="a bold four")
    mixed = model.sample(4, np.random.default_rng(0),
                         text=["a bold four", "a bold four", "seven", "a bold four"])
    assert fours.shape == (4, 1, 8, 8) and fours.min() >= -1 and fours.max() <= 1
    np.testing.assert_allclose(mixed[[0, 1, 3]], fours[[0, 1, 3]], rtol=1e-6)  # eval mode
    assert not np.allclose(mixed[2], fours[2])


def test_sampling_conditions_are_held_out_captions_of_class_i_mod_10():
    conditions, labels = _model().sampling_conditions(23, {}, np.random.default_rng(0))
    np.testing.assert_array_equal(labels, np.arange(23) % 10)
    np.testing.assert_array_equal(caption_classes(conditions["text"]), labels)
    for caption, label in zip(decode_captions(conditions["text"]), labels):
        assert caption in every_caption(HELD_OUT_TEMPLATES, label)


def test_figure_rows_are_one_row_per_caption_with_every_held_out_phrasing():
    title, rows = _model().figure_rows({}, np.random.default_rng(0))
    assert all(images.shape == (8, 1, 8, 8) for images in rows.values())
    held_out = [ast.literal_eval(label.removesuffix(" (held out)")) for label in rows
                if label.endswith("(held out)")]
    assert len(held_out) == NUM_CLASSES and len(rows) > NUM_CLASSES  # training rows too
    used = {template for digit, caption in enumerate(held_out)
            for template in HELD_OUT_TEMPLATES if caption in every_caption([template], digit)}
    assert used == set(HELD_OUT_TEMPLATES)
    blind = _model()  # a generator deaf to the text: rows differ only if their z differ
    blind.generator_text[0].weight.data[...] = 0
    blind.generator_text[0].bias.data[...] = 0
    _, rows = blind.figure_rows({}, np.random.default_rng(0))
    first = next(iter(rows.values()))
    assert all(np.array_equal(images, first) for images in rows.values())
    assert not np.allclose(first[0], first[1])  # and the columns' z differ


# ----- the input door -------------------------------------------------------------------
def test_bad_inputs_are_refused_with_what_was_expected():
    model = _model()
    x, tokens = _batch(4)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="pass the captions, text="):
        model.loss(x, rng)
    with pytest.raises(ValueError, match=r"text must be 4 captions.*\(4, T\); got shape \(3, 10\)"):
        model.loss(x, rng, text=tokens[:3])
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 46\)"):
        model.loss(x, rng, text=tokens + 100)
    gap = tokens.copy()
    gap[0, :2] = [0, 5]
    with pytest.raises(ValueError, match="padding .* only after its last word"):
        model.loss(x, rng, text=gap)
    with pytest.raises(ValueError, match="unknown word 'bolt'.*closest known words: bold"):
        model.sample(2, rng, text="a bolt four")
    bad = x.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.loss(bad, rng, text=tokens)
    with pytest.raises(ValueError, match="empty"):
        model.loss(x[:0], rng, text=tokens[:0])
    for n in (0, 2.0, True):
        with pytest.raises((TypeError, ValueError), match="n must be a positive int"):
            model.sample(n, rng, text="seven")
    with pytest.raises(ValueError, match="data_shape must be"):
        TextToImageGAN((1, 4, 4), rng=rng)
    with pytest.raises(ValueError, match="loss must be one of"):
        TextToImageGAN(rng=rng, loss="wasserstein")


# ----- through the trainer and the CLI ------------------------------------------------
@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("text2image") / "run"
    train("text2image", epochs=1, seed=0, progress=False, out_dir=out,
          overrides={"channels": 8, "pretrain_steps": 5})
    return out


def test_registered_text2image_trains_and_reloads_to_the_same_samples(run_dir: Path):
    model, config, _ = load_model(run_dir)
    assert config["data"] == "digits-captions" and int(model.pretrained_steps) == 5
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert "conditional_accuracy" in metrics  # judged against the captions' classes
    again, _, _ = load_model(run_dir)
    np.testing.assert_array_equal(model.sample(6, np.random.default_rng(0), text="seven"),
                                  again.sample(6, np.random.default_rng(0), text="seven"))


def test_cli_samples_from_text_and_refuses_unknown_words_in_one_line(run_dir: Path, capsys):
    assert main(["sample", str(run_dir), "-n", "8", "--text", "a bold four",
                 "--out", str(run_dir / "fours.png")]) == 0
    assert (run_dir / "fours.png").exists()
    assert main(["sample", str(run_dir), "-n", "4", "--text", "seven", "--text", "3",
                 "--out", str(run_dir / "two.png")]) == 0
    capsys.readouterr()
    assert main(["sample", str(run_dir), "--text", "a bold fuor"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "'fuor'" in err and "four" in err


def test_cli_refuses_text_for_a_model_without_captions(tmp_path: Path, capsys):
    out = tmp_path / "bernoulli"
    train("independent-bernoulli", progress=False, out_dir=out)
    capsys.readouterr()
    assert main(["sample", str(out), "--text", "a bold four"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "not conditioned on text" in err

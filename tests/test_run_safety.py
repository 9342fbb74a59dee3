"""A run is the user's work: a save interrupted anywhere loses nothing, hostile checkpoints
are refused in one line without running anything, and the CLI never shows a traceback."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from minigen import checkpoint
from minigen.checkpoint import (
    CHECKPOINT_FILES,
    POINTER_FILE,
    checkpoint_dir,
    load_checkpoint,
    strict_json_value,
    write_json,
)
from minigen.cli import main
from minigen.models.registry import REGISTRY, check_overrides
from minigen.train import TrainingDivergedError, train
from tests.test_cli import _assert_one_line_error, _run
from tests.test_train import register_dummies

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _dummies(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    register_dummies(monkeypatch)
    monkeypatch.chdir(tmp_path)


_one_line = _assert_one_line_error


# ----- a save interrupted at any instant ----------------------------------------------
class Killed(BaseException):
    """The process dies here: nothing after this point runs, not even clean-up."""


# (what, which call, before or after it): every step of save_checkpoint
SAVE_POINTS = [
    *[("write", k, when) for k in range(len(CHECKPOINT_FILES)) for when in ("before", "after")],
    ("rename", 0, "before"), ("rename", 0, "after"),
    ("pointer", 0, "before"), ("pointer", 0, "after"),
    ("delete-previous", 0, "before"), ("delete-previous", 0, "after"),
]


def _arm(monkeypatch: pytest.MonkeyPatch, what: str, index: int, when: str) -> None:
    """Make the next save die at one point, as a kill would: after the kill no clean-up
    runs (the rmtree of the temporary directory is skipped)."""
    calls = {"write": 0, "rename": 0, "pointer": 0, "delete-previous": 0}
    dead = {"yes": False}
    real_write, real_rename = checkpoint._write_file, os.rename
    real_replace, real_rmtree = os.replace, shutil.rmtree

    def at(kind: str, call: Any) -> Any:
        if dead["yes"]:
            return None
        hit = kind == what and calls[kind] == index
        calls[kind] += 1
        if hit and when == "before":
            dead["yes"] = True
            raise Killed(f"{kind} {index} before")
        result = call()
        if hit:
            dead["yes"] = True
            raise Killed(f"{kind} {index} after")
        return result

    monkeypatch.setattr(checkpoint, "_write_file",
                        lambda path, write: at("write", lambda: real_write(path, write)))
    monkeypatch.setattr(checkpoint.os, "rename",
                        lambda a, b: at("rename", lambda: real_rename(a, b)))
    monkeypatch.setattr(checkpoint.os, "replace", lambda a, b: at(
        "pointer", lambda: real_replace(a, b)) if str(b).endswith(POINTER_FILE)
        else real_replace(a, b))
    monkeypatch.setattr(checkpoint.shutil, "rmtree", lambda path, **kw: None if dead["yes"]
                        else at("delete-previous", lambda: real_rmtree(path, **kw))
                        if Path(path).name.startswith("checkpoint-") else real_rmtree(path, **kw))


@pytest.mark.parametrize(("what", "index", "when"), SAVE_POINTS,
                         ids=[f"{w}{i}-{t}" for w, i, t in SAVE_POINTS])
def test_a_save_killed_at_any_point_loses_nothing_and_resumes_bit_for_bit(
        capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        what: str, index: int, when: str) -> None:
    straight = train("test-coins", epochs=3, seed=3, out_dir=tmp_path / "straight",
                     progress=False)
    run = tmp_path / "killed"
    train("test-coins", epochs=1, seed=3, out_dir=run, progress=False)
    with monkeypatch.context() as patch:
        _arm(patch, what, index, when)
        with pytest.raises(Killed):
            train("test-coins", epochs=3, out_dir=run, resume=True, progress=False)

    # the run loads as a whole: the previous checkpoint or the new one, never a mix
    _, _, _, state = load_checkpoint(run)
    assert state["epoch"] in (1, 2)
    assert _run(capsys, "sample", str(run), "-n", "4")[0] == 0
    assert _run(capsys, "eval", str(run))[0] == 0
    # and it continues to exactly what an uninterrupted run gives
    train("test-coins", epochs=3, out_dir=run, resume=True, progress=False)
    final, _, _, final_state = load_checkpoint(run)
    for key, value in straight.model.state_dict().items():
        np.testing.assert_array_equal(final[key], value)
    assert final_state["history"]["train"] == straight.history["train"]
    leftovers = sorted(p.name for p in run.iterdir() if p.name.startswith(("checkpoint-", ".c")))
    assert leftovers == ["checkpoint-000003"]


# ----- hostile checkpoints --------------------------------------------------------------
class Payload:
    """Unpickling this would create a file: the proof that loading executed nothing."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.touch, (self.marker,))


def _npy_bytes(header_shape: tuple[int, ...], dtype: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False,
                                                  "shape": header_shape})
    return buffer.getvalue() + data


def _replace_model_file(run: Path, write: Any) -> None:
    """Put hostile bytes in model.npz and re-sign them, so only the content is wrong."""
    current = checkpoint_dir(run)
    with open(current / "model.npz", "wb") as file:
        write(file)
    state = json.loads((current / "trainer_state.json").read_text())
    state["files"]["model.npz"] = checkpoint._sha256(current / "model.npz")
    (current / "trainer_state.json").write_text(json.dumps(state))


def _zip_member(file: Any, name: str, payload: bytes) -> None:
    with zipfile.ZipFile(file, "w") as archive:
        archive.writestr(name, payload)


def _edit_json(run: Path, name: str, edit: Any) -> None:
    path = checkpoint_dir(run) / name
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


HOSTILE = {
    "object array": lambda run, marker: _replace_model_file(run, lambda f: np.savez(
        f, logits=np.array([Payload(marker), 1], dtype=object), allow_pickle=True)),
    "plain npy": lambda run, marker: _replace_model_file(
        run, lambda f: np.save(f, np.zeros((1, 3, 3), np.float32))),
    "10^12 elements": lambda run, marker: _replace_model_file(run, lambda f: _zip_member(
        f, "logits.npy", _npy_bytes((10**12,), "<f8", b"\0" * 64))),
    "NaN weights": lambda run, marker: _replace_model_file(
        run, lambda f: np.savez(f, logits=np.full((1, 3, 3), np.nan, np.float32))),
    "string weights": lambda run, marker: _replace_model_file(
        run, lambda f: np.savez(f, logits=np.array(["a", "b"]))),
    "complex weights": lambda run, marker: _replace_model_file(
        run, lambda f: np.savez(f, logits=np.zeros((1, 3, 3), np.complex64))),
    "no data": lambda run, marker: _edit_json(run, "config.json", lambda c: c.pop("data")),
    "no seed": lambda run, marker: _edit_json(run, "config.json", lambda c: c.pop("seed")),
    "no hparams": lambda run, marker: _edit_json(run, "config.json",
                                                 lambda c: c.pop("hparams")),
    "conditional on an unconditional model": lambda run, marker: _edit_json(
        run, "config.json", lambda c: c.update(conditional=True)),
    "negative epoch": lambda run, marker: _edit_json(run, "trainer_state.json",
                                                     lambda s: s.update(epoch=-3)),
    "pointer out of the run": lambda run, marker: (run / POINTER_FILE).write_text(
        json.dumps({"directory": "../../etc", "epoch": 1})),
}
EXPECTED = {"object array": "object array", "plain npy": "not a .npz archive",
            "10^12 elements": "claims shape (1000000000000,)", "NaN weights": "NaN or inf",
            "string weights": "real numbers only", "complex weights": "real numbers only",
            "no data": "no 'data'", "no seed": "no 'seed'", "no hparams": "no 'hparams'",
            "conditional on an unconditional model": "conditional=True",
            "negative epoch": "'epoch' must be a non-negative integer",
            "pointer out of the run": "not a checkpoint directory"}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_hostile_checkpoint_is_refused_in_one_line_and_runs_nothing(
        capsys: pytest.CaptureFixture, tmp_path: Path, kind: str) -> None:
    run = tmp_path / "run"
    train("test-coins", epochs=1, out_dir=run, progress=False)
    marker = tmp_path / "executed"
    HOSTILE[kind](run, marker)
    for argv in (["sample", str(run)], ["eval", str(run)],
                 ["train", "test-coins", "--out", str(run), "--resume", "--epochs", "2"]):
        code, _, err = _run(capsys, *argv)
        assert code == 2, (argv, err)
        _one_line(err, EXPECTED[kind])
    assert not marker.exists()


# ----- the CLI: one line, never a traceback -------------------------------------------
def test_overwrite_refusal_force_and_resume_from_the_cli(capsys: pytest.CaptureFixture,
                                                         tmp_path: Path) -> None:
    assert _run(capsys, "train", "test-coins", "--epochs", "1", "--no-progress")[0] == 0
    code, _, err = _run(capsys, "train", "test-latent", "--out", "runs/test-coins",
                        "--no-progress")
    assert code == 2
    _one_line(err, "already holds a test-coins run (epoch 1 of 1)", "--resume", "--force")
    code, out, _ = _run(capsys, "train", "test-coins", "--resume", "--no-progress")
    assert code == 0 and "already complete: 1 of 1 epochs; nothing changed" in out
    code, out, _ = _run(capsys, "train", "test-latent", "--out", "runs/test-coins", "--force",
                        "--epochs", "1", "--no-progress")
    assert code == 0 and "trained test-latent" in out
    code, _, err = _run(capsys, "train", "test-coins", "--out", "runs/none", "--resume")
    assert code == 2
    _one_line(err, "nothing to resume in runs/none")


def test_ctrl_c_says_which_epoch_and_how_to_continue(capsys: pytest.CaptureFixture,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from minigen import train as train_module
    real_epoch = train_module._train_epoch
    epochs = {"n": 0}

    def interrupted_in_the_second(*args: Any, **kwargs: Any) -> Any:
        epochs["n"] += 1
        if epochs["n"] == 2:
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(train_module, "_train_epoch", interrupted_in_the_second)
    code, _, err = _run(capsys, "train", "test-coins", "--epochs", "3", "--no-progress")
    assert code == 2
    _one_line(err, "interrupted in epoch 2; the checkpoint of epoch 1 is kept",
              "minigen train test-coins --out runs/test-coins --resume")
    monkeypatch.setattr(train_module, "_train_epoch", real_epoch)
    assert _run(capsys, "train", "test-coins", "--resume", "--no-progress")[0] == 0
    assert load_checkpoint("runs/test-coins")[3]["epoch"] == 3


@pytest.mark.parametrize(("error", "fragment"), [
    (MemoryError(), "out of memory; try a smaller --batch-size"),
    (OSError(28, "No space left on device", "runs/x/model.npz"), "disk full writing runs/x"),
    (KeyError("hparams"), "missing key 'hparams'"),
])
def test_out_of_memory_disk_full_and_missing_keys_are_one_line(
        capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, error: BaseException,
        fragment: str) -> None:
    from minigen import cli

    def fail(*args: Any, **kwargs: Any) -> None:
        raise error

    monkeypatch.setattr(cli, "train", fail)
    code, _, err = _run(capsys, "train", "test-coins")
    assert code == 2
    _one_line(err, fragment)
    with pytest.raises(type(error)):  # --debug shows the real thing
        main(["train", "test-coins", "--debug"])


def test_bare_minigen_prints_help_and_version_works(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = _run(capsys)
    assert code == 0 and "usage: minigen" in out and "train" in out
    code, out, _ = _run(capsys, "--version")
    assert code == 0 and out.startswith("minigen 0.")


def test_list_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    result = subprocess.run(f"'{sys.executable}' -m minigen list | head -1", shell=True,
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert len(result.stdout.splitlines()) == 1
    assert result.stderr == ""


def test_list_verbose_and_train_help_show_defaults_keys_and_data(
        capsys: pytest.CaptureFixture) -> None:
    code, out, _ = _run(capsys, "list", "-v")
    assert code == 0
    assert "--set       latent_dim=16 (int)" in out and "digits-binary" in out
    code, out, _ = _run(capsys, "train", "made", "--help")
    assert code == 0
    assert "--set       hidden=" in out
    assert "data sets it takes: digits-binary, bars-and-stripes-3, bars-and-stripes-4" in out


def test_made_refuses_the_ring_naming_the_data_it_takes(capsys: pytest.CaptureFixture,
                                                        tmp_path: Path) -> None:
    code, _, err = _run(capsys, "train", "made", "--data", "ring", "--no-progress")
    assert code == 2
    _one_line(err, "made cannot train on 'ring'", "it takes digits-binary")


# ----- --set and other values at the door -------------------------------------------------
@pytest.mark.parametrize(("setting", "fragment"), [
    ("latent_dim=2.5", "latent_dim must be an int like its default 16; got 2.5"),
    ("latent_dim=True", "latent_dim must be an int"),
    ("hidden=abc", "hidden must be a list of int"),
    ("hidden=[256,2.5]", "hidden must be a list of int"),
    ("latent_dim=0", "latent_dim=0 is out of range; it must be positive"),
    ("hidden=[64,-1]", "out of range"),
    ("decoder_log_scale=nan", "decoder_log_scale must be a float"),
    ("colour=3", "vae has no hyper-parameter 'colour'; its hyper-parameters are: "
                 "latent_dim=16"),
])
def test_set_is_checked_for_key_type_and_range(capsys: pytest.CaptureFixture, tmp_path: Path,
                                               setting: str, fragment: str) -> None:
    code, _, err = _run(capsys, "train", "vae", "--set", setting, "--no-progress")
    assert code == 2
    _one_line(err, fragment)
    assert not (tmp_path / "runs").exists()  # refused before the run directory is made


def test_every_registered_default_passes_its_own_check() -> None:
    for spec in REGISTRY.values():
        check_overrides(spec, dict(spec.hparams))


# ----- values at the door of the models and the trainer ---------------------------------
def test_sample_takes_only_a_positive_int() -> None:
    model = REGISTRY["test-coins"].model_class()((1, 3, 3), rng=np.random.default_rng(0))
    for bad, kind in ((0, ValueError), (-2, ValueError), (2.5, TypeError), (True, TypeError),
                      ("4", TypeError)):
        with pytest.raises(kind, match="n must be a positive int"):
            model.sample(bad, np.random.default_rng(0))
    assert model.sample(np.int64(3), np.random.default_rng(0)).shape == (3, 1, 3, 3)


def test_a_self_training_step_stops_before_a_nan_update(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    from tests.test_train import TwoPlayerToy
    seen = {}
    real = TwoPlayerToy.train_step

    def poisoned(self: Any, x: Any, rng: Any) -> Any:
        seen["before"] = {k: v.copy() for k, v in self.state_dict().items()}
        return real(self, np.full_like(np.asarray(x), np.nan), rng)

    monkeypatch.setattr(TwoPlayerToy, "train_step", poisoned)
    with pytest.raises(TrainingDivergedError, match="player 'discriminator'.*not updated"):
        result = train("test-two-player", epochs=1, progress=False)
        del result
    assert all(np.isfinite(v).all() for v in seen["before"].values())


def test_metrics_json_is_strict_json(tmp_path: Path) -> None:
    write_json(tmp_path / "m.json", {"fd": float("nan"), "kid": [1.0, float("inf")],
                                     "n": np.float32(2.5)})

    def refuse(constant: str) -> None:
        raise AssertionError(f"not strict JSON: {constant}")

    loaded = json.loads((tmp_path / "m.json").read_text(), parse_constant=refuse)
    assert loaded == {"fd": None, "kid": [1.0, None], "n": 2.5}
    assert strict_json_value({"a": (1, float("-inf"))}) == {"a": [1, None]}


def test_without_a_terminal_each_epoch_prints_one_line(capsys: pytest.CaptureFixture) -> None:
    train("test-coins", epochs=3, progress=True)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("epoch")]
    assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"]
    assert all("loss" in line and line.endswith(" s)") for line in lines)


# ----- what a user sees -------------------------------------------------------------------
def test_every_figure_of_a_data_set_uses_its_one_grey_scale() -> None:
    from minigen.plot import on_data_scale
    dipping = np.array([-0.1, 0.0, 0.5, 1.0]).reshape(1, 1, 1, 4)  # a Gaussian mean below 0
    # [0, 1] data: clipped at black, not mistaken for [−1, 1] data and washed out
    np.testing.assert_allclose(on_data_scale(dipping, "digits-dequantized").ravel(),
                               [0.0, 0.0, 0.5, 1.0])
    np.testing.assert_allclose(on_data_scale(dipping, "digits-signed").ravel(),
                               [0.45, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(on_data_scale(np.full((1, 1, 1, 1), 8.0), "digits-grey"), 0.5)


def test_cli_samples_are_titled_as_decoder_means_and_drawn_on_the_data_scale(
        capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    from minigen import cli
    drawn = {}

    def capture(images: Any, path: Any, nrow: int = 8, title: str | None = None) -> str:
        drawn.update(images=np.asarray(images), title=title)
        return str(path)

    assert _run(capsys, "train", "vae", "--epochs", "1", "--no-progress")[0] == 0
    monkeypatch.setattr(cli, "plot_image_grid", capture)
    assert _run(capsys, "sample", "runs/vae", "-n", "4")[0] == 0
    assert drawn["title"].startswith("vae decoder means")
    assert drawn["images"].min() >= 0 and drawn["images"].max() <= 1


def test_download_fetches_mnist_only_when_asked_and_only_for_mnist(
        capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    from minigen import cli
    fetched = []

    def fake_load_mnist(split: str, download: bool = False, **kwargs: Any) -> None:
        fetched.append((split, download))
        raise OSError("no network here (simulated)")

    monkeypatch.setattr(cli, "load_mnist", fake_load_mnist)
    code, _, err = _run(capsys, "train", "vae", "--data", "mnist-binary", "--download")
    assert code == 2 and fetched == [("all", True)]
    _one_line(err, "no network here")
    code, _, err = _run(capsys, "train", "vae", "--download")
    assert code == 2
    _one_line(err, "--download fetches MNIST; 'digits-binary' is embedded")

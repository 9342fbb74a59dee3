"""Checkpoints: round trip, atomic writes, refusal of object arrays, one-line errors."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from minigen import checkpoint
from minigen.checkpoint import (
    CheckpointError,
    checkpoint_dir,
    load_checkpoint,
    load_model,
    save_checkpoint,
    write_npz,
)
from minigen.optim import Adam
from tests.test_train import PixelCoins, register_dummies


@pytest.fixture(autouse=True)
def _dummies(monkeypatch: pytest.MonkeyPatch) -> None:
    register_dummies(monkeypatch)


CONFIG = {"model": "test-coins", "data": "bars-and-stripes-3", "data_shape": [1, 3, 3],
          "hparams": {"noise": 0.1}, "seed": 0}


def _trained_pair(seed: int = 0) -> tuple[PixelCoins, Adam]:
    rng = np.random.default_rng(seed)
    model = PixelCoins((1, 3, 3), rng=rng)
    optimizer = Adam(model.parameters(), lr=0.1)
    x = (rng.random((8, 1, 3, 3)) < 0.5).astype(np.float32)
    for _ in range(3):
        optimizer.zero_grad()
        model.loss(x, rng).backward()
        optimizer.step()
    return model, optimizer


def _save(run_dir: Path, seed: int = 0, epoch: int = 1) -> tuple[PixelCoins, Adam, dict]:
    model, optimizer = _trained_pair(seed)
    rng = np.random.default_rng(seed)
    rng.random(5)
    state = {"epoch": epoch, "rng": rng.bit_generator.state, "history": {"train": {}}}
    save_checkpoint(run_dir, model, CONFIG, {"adam": optimizer}, state)
    return model, optimizer, state


def _current(run_dir: Path) -> Path:
    found = checkpoint_dir(run_dir)
    assert found is not None and found != run_dir
    return found


def test_round_trip_restores_model_optimizer_config_and_generator(tmp_path: Path) -> None:
    model, optimizer, state = _save(tmp_path)
    state_dict, config, optimizer_states, trainer_state = load_checkpoint(tmp_path)

    assert config == CONFIG
    assert state_dict.keys() == model.state_dict().keys()
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(state_dict[key], value)
        assert state_dict[key].dtype == value.dtype
    for key, value in optimizer.state_dict().items():
        np.testing.assert_array_equal(optimizer_states["adam"][key], value)
    assert trainer_state == state
    restored = np.random.default_rng(123)
    restored.bit_generator.state = trainer_state["rng"]
    original = np.random.default_rng(0)
    original.random(5)
    np.testing.assert_array_equal(restored.random(4), original.random(4))


def test_load_model_rebuilds_the_registered_model_with_its_weights(tmp_path: Path) -> None:
    model, _, _ = _save(tmp_path)
    rebuilt, config, _ = load_model(tmp_path)
    assert isinstance(rebuilt, PixelCoins) and not rebuilt.training
    np.testing.assert_array_equal(rebuilt.logits.data, model.logits.data)


def _fail_after_partial_write(file: Any, **arrays: Any) -> None:
    file.write(b"PK\x03\x04 half of a zip archive")
    raise OSError("disk full (simulated)")


def test_interrupted_npz_write_leaves_the_previous_checkpoint_loadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, _, _ = _save(tmp_path, seed=0)
    before = sorted(os.listdir(tmp_path))
    with monkeypatch.context() as patch, pytest.raises(OSError, match="simulated"):
        patch.setattr(np, "savez", _fail_after_partial_write)
        _save(tmp_path, seed=1, epoch=2)

    assert sorted(os.listdir(tmp_path)) == before  # no temporary file left behind
    state_dict, _, _, trainer_state = load_checkpoint(tmp_path)
    np.testing.assert_array_equal(state_dict["logits"], model.logits.data)
    assert trainer_state["epoch"] == 1


def test_interrupted_json_write_leaves_the_previous_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.json"
    checkpoint.write_json(path, {"old": 1})

    def crash_before_rename(source: str, target: str) -> None:
        raise KeyboardInterrupt  # the process dies after writing, before renaming

    with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(checkpoint.os, "replace", crash_before_rename)
        checkpoint.write_json(path, {"new": 2})
    assert json.loads(path.read_text()) == {"old": 1}
    assert os.listdir(tmp_path) == ["config.json"]


def test_a_model_file_from_another_save_is_detected(tmp_path: Path) -> None:
    _save(tmp_path / "a", seed=0)
    _save(tmp_path / "b", seed=1)
    (_current(tmp_path / "a") / "model.npz").write_bytes(
        (_current(tmp_path / "b") / "model.npz").read_bytes())
    with pytest.raises(CheckpointError, match="does not match"):
        load_checkpoint(tmp_path / "a")


def test_saving_an_object_array_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'bad'.*only numeric arrays"):
        write_npz(tmp_path / "x.npz", {"good": np.zeros(3), "bad": np.array([{}, 1], object)})
    assert not (tmp_path / "x.npz").exists()


def test_loading_an_object_array_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    _save(tmp_path)
    with open(_current(tmp_path) / "model.npz", "wb") as file:  # what an attacker could leave
        np.savez(file, logits=np.array([object(), "x"], dtype=object), allow_pickle=True)
    with pytest.raises(CheckpointError,
                       match=r"object array \(.logits.\); refusing to load it") as caught:
        load_checkpoint(tmp_path)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("name", ["config.json", "trainer_state.json"])
def test_corrupt_json_is_a_checkpoint_error(tmp_path: Path, name: str) -> None:
    _save(tmp_path)
    (_current(tmp_path) / name).write_text('{"model": "test-coins", ')
    with pytest.raises(CheckpointError, match=f"{name} is not valid JSON"):
        load_checkpoint(tmp_path)


def test_truncated_npz_is_a_checkpoint_error(tmp_path: Path) -> None:
    _save(tmp_path)
    data = (_current(tmp_path) / "optimizer.npz").read_bytes()
    (_current(tmp_path) / "optimizer.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="optimizer.npz is not a .npz archive"):
        load_checkpoint(tmp_path)


def test_missing_directory_and_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nowhere")
    _save(tmp_path)
    (_current(tmp_path) / "optimizer.npz").unlink()
    with pytest.raises(CheckpointError, match="missing optimizer.npz"):
        load_checkpoint(tmp_path)


def test_an_unregistered_model_name_lists_the_valid_ones(tmp_path: Path) -> None:
    _save(tmp_path)
    config = json.loads((_current(tmp_path) / "config.json").read_text())
    (_current(tmp_path) / "config.json").write_text(
        json.dumps({**config, "model": "no-such-model"}))
    with pytest.raises(CheckpointError, match="'no-such-model'.*valid models: .*test-coins"):
        load_checkpoint(tmp_path)


def test_weights_that_do_not_fit_the_model_are_a_checkpoint_error(tmp_path: Path) -> None:
    _save(tmp_path)
    config = json.loads((_current(tmp_path) / "config.json").read_text())
    (_current(tmp_path) / "config.json").write_text(json.dumps({**config, "data_shape": [1, 4, 4]}))
    with pytest.raises(CheckpointError, match="cannot rebuild"):
        load_model(tmp_path)

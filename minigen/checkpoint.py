"""Checkpoints: a run directory of plain arrays and JSON that loading never executes.

A run directory holds

* ``model.npz``: the model's ``state_dict()`` (parameters and buffers by dotted name);
* ``optimizer.npz``: every optimiser's ``state_dict()``, keys ``<optimiser>/<key>``;
* ``config.json``: how to rebuild the model (registry name, data, shape, hyper-parameters);
* ``trainer_state.json``: epoch, step, history, the random generator's state, and the
  SHA-256 of both ``.npz`` files so a set mixed from two saves is detected.

Arrays are written with ``np.savez`` and read with ``np.load(allow_pickle=False)``: an
object array would need pickle, and unpickling can run arbitrary code, so saving refuses
one and loading reports it instead of opening it. Every file is written to a temporary
file in the same directory and renamed over the old one with ``os.replace`` (atomic on
POSIX and Windows), so a crash mid-write leaves the previous file whole.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

from minigen.models.registry import REGISTRY, build

MODEL_FILE = "model.npz"
OPTIMIZER_FILE = "optimizer.npz"
CONFIG_FILE = "config.json"
TRAINER_STATE_FILE = "trainer_state.json"
CHECKPOINT_FILES = (MODEL_FILE, OPTIMIZER_FILE, CONFIG_FILE, TRAINER_STATE_FILE)


class CheckpointError(ValueError):
    """A run directory that cannot be loaded; the message is one line for the user."""


# ----- atomic writes ----------------------------------------------------------------
def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it to ``path``.

    If ``write`` raises, the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@functools.cache
def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _to_json(value: Any) -> Any:
    """json.dumps fallback: NumPy scalars and arrays become Python numbers and lists."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"cannot store a {type(value).__name__} in JSON: {value!r}")


def write_json(path: str | os.PathLike, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    text = json.dumps(data, indent=2, default=_to_json) + "\n"
    atomic_write(path, lambda file: file.write(text.encode("utf-8")))


def write_npz(path: str | os.PathLike, arrays: dict[str, Any]) -> str:
    """Write numeric ``arrays`` to ``path`` atomically; return the file's SHA-256.

    Raises ValueError for an object array (it could only be read back with pickle).
    """
    arrays = {key: np.asarray(value) for key, value in arrays.items()}
    for key, array in arrays.items():
        if array.dtype.hasobject:
            raise ValueError(
                f"cannot save array {key!r} (dtype {array.dtype}, shape {array.shape}) to "
                f"{path}: checkpoints hold only numeric arrays, never objects"
            )
    atomic_write(path, lambda file: np.savez(file, **arrays))
    return _sha256(path)


def _sha256(path: str | os.PathLike) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ----- save / load ------------------------------------------------------------------
def save_checkpoint(
    run_dir: str | os.PathLike,
    model: Any,
    config: dict[str, Any],
    optimizers: dict[str, Any],
    trainer_state: dict[str, Any],
) -> None:
    """Write the model, optimisers, config and trainer state into ``run_dir``.

    Parameters
    ----------
    run_dir : created if missing
    model : a Module (``state_dict()``)
    config : JSON-serialisable; must name the registered model under ``"model"``
    optimizers : name -> optimiser with ``state_dict()``; names may not contain "/"
    trainer_state : JSON-serialisable (epoch, history, rng state, ...); written last,
        with the SHA-256 of both ``.npz`` files added under ``"files"``
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    optimizer_arrays = {}
    for name, optimizer in optimizers.items():
        if "/" in name:
            raise ValueError(f"optimizer name {name!r} may not contain '/'")
        for key, value in optimizer.state_dict().items():
            optimizer_arrays[f"{name}/{key}"] = value
    digests = {
        MODEL_FILE: write_npz(run_dir / MODEL_FILE, model.state_dict()),
        OPTIMIZER_FILE: write_npz(run_dir / OPTIMIZER_FILE, optimizer_arrays),
    }
    write_json(run_dir / CONFIG_FILE, config)
    write_json(run_dir / TRAINER_STATE_FILE, {**trainer_state, "files": digests})


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise CheckpointError(
                f"{path} contains an object array; refusing to load it (that would need "
                "pickle, which can run code). Checkpoints hold only numeric arrays"
            ) from None
        raise CheckpointError(f"{path} is not a valid .npz checkpoint: {error}") from None
    except (OSError, EOFError, zipfile.BadZipFile) as error:
        raise CheckpointError(f"{path} is not a valid .npz checkpoint: {error}") from None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} should hold a JSON object, found {type(data).__name__}")
    return data


def load_checkpoint(
    run_dir: str | os.PathLike,
) -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, dict[str, np.ndarray]], dict]:
    """Read what :func:`save_checkpoint` wrote.

    Returns
    -------
    state_dict : model arrays by dotted name
    config : the saved config
    optimizer_states : optimiser name -> its state_dict
    trainer_state : the saved trainer state (without the ``"files"`` digests)

    Raises CheckpointError (one line) for a missing directory or file, a corrupt or
    object-holding ``.npz``, corrupt JSON, ``.npz`` files from another save, or a model
    name that is not registered.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise CheckpointError(f"run directory {run_dir} does not exist")
    missing = [name for name in CHECKPOINT_FILES if not (run_dir / name).is_file()]
    if missing:
        raise CheckpointError(
            f"{run_dir} is not a complete run directory: missing {', '.join(missing)}"
        )
    config = _read_json(run_dir / CONFIG_FILE)
    trainer_state = _read_json(run_dir / TRAINER_STATE_FILE)
    name = config.get("model")
    if name not in REGISTRY:
        valid = ", ".join(sorted(REGISTRY)) or "(none registered)"
        raise CheckpointError(
            f"{run_dir / CONFIG_FILE} names model {name!r}, which is not registered; "
            f"valid models: {valid}"
        )
    state_dict = _read_npz(run_dir / MODEL_FILE)
    optimizer_states: dict[str, dict[str, np.ndarray]] = {}
    for key, value in _read_npz(run_dir / OPTIMIZER_FILE).items():
        optimizer_name, _, state_key = key.partition("/")
        optimizer_states.setdefault(optimizer_name, {})[state_key] = value
    digests = trainer_state.pop("files", {})
    for file_name in (MODEL_FILE, OPTIMIZER_FILE):
        expected = digests.get(file_name) if isinstance(digests, dict) else None
        if expected is not None and _sha256(run_dir / file_name) != expected:
            raise CheckpointError(
                f"{run_dir / file_name} does not match {TRAINER_STATE_FILE} (it comes from "
                "another save, probably an interrupted one)"
            )
    return state_dict, config, optimizer_states, trainer_state


def load_model(run_dir: str | os.PathLike) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Rebuild the saved model from its registry name and config, with the saved weights.

    Returns ``(model, config, trainer_state)``; the model is in eval mode.
    """
    state_dict, config, _, trainer_state = load_checkpoint(run_dir)
    try:
        model = build(config["model"], tuple(config["data_shape"]), np.random.default_rng(0),
                      **config.get("hparams", {}))
        model.load_state_dict(state_dict)
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(
            f"{run_dir}: cannot rebuild model {config.get('model')!r} from the checkpoint: "
            f"{str(error).splitlines()[0] if str(error) else type(error).__name__}"
        ) from None
    model.eval()
    return model, config, trainer_state

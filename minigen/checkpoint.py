"""Checkpoints: a run directory of plain arrays and JSON that loading never executes.

A checkpoint is one directory, ``RUN/checkpoint-000012/`` for the end of epoch 12, holding

* ``model.npz``: the model's ``state_dict()`` (parameters and buffers by dotted name);
* ``optimizer.npz``: every optimiser's ``state_dict()``, keys ``<optimiser>/<key>``;
* ``config.json``: how to rebuild the model (registry name, data, shape, hyper-parameters);
* ``trainer_state.json``: epoch, step, history, the random generator's state, and the
  SHA-256 of both ``.npz`` files so a set mixed from two saves is detected.

``RUN/checkpoint.json`` names the current one. A save is one unit: the four files go into
a hidden temporary directory, which is synced and renamed to ``checkpoint-NNNNNN``; then
``checkpoint.json`` is replaced by an atomic rename (``os.replace``), and only then is the
previous checkpoint deleted. A crash, a kill or a full disk at any instant leaves
``checkpoint.json`` naming a complete checkpoint: the previous one, or the new one.
What a killed save leaves behind (the temporary directory, a checkpoint that was never
named) is removed by :func:`remove_stale` when the next run starts.

Arrays are written with ``np.savez`` and read with ``np.load(allow_pickle=False)``: an
object array would need pickle, and unpickling can run arbitrary code, so saving refuses
one and loading reports it instead of opening it. Run directories written before
checkpoints were directories (the four files directly in ``RUN/``) still load.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import re
import shutil
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
POINTER_FILE = "checkpoint.json"  # {"directory": "checkpoint-000012", "epoch": 12}
_CHECKPOINT_NAME = re.compile(r"checkpoint-\d{6,}")
_TEMPORARY_PREFIX = ".checkpoint-"


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


def strict_json_value(value: Any) -> Any:
    """``value`` with every NaN or ±inf float (nested in dicts and lists) replaced by None.

    JSON has no NaN or Infinity; Python writes them anyway, and strict readers (browsers,
    ``jq``) then refuse the whole file. A figure that is not a number is stored as null.
    """
    if isinstance(value, dict):
        return {key: strict_json_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json_value(item) for item in value]
    if isinstance(value, (np.generic, np.ndarray)):
        return strict_json_value(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: str | os.PathLike, data: Any) -> None:
    """Write ``data`` as indented, strict JSON (NaN and ±inf as null), atomically."""
    text = json.dumps(strict_json_value(data), indent=2, default=_to_json,
                      allow_nan=False) + "\n"
    atomic_write(path, lambda file: file.write(text.encode("utf-8")))


def _npz_arrays(path: str | os.PathLike, arrays: dict[str, Any]) -> dict[str, np.ndarray]:
    """``arrays`` as NumPy arrays; ValueError for an object array (it could only be read
    back with pickle)."""
    arrays = {key: np.asarray(value) for key, value in arrays.items()}
    for key, array in arrays.items():
        if array.dtype.hasobject:
            raise ValueError(
                f"cannot save array {key!r} (dtype {array.dtype}, shape {array.shape}) to "
                f"{path}: checkpoints hold only numeric arrays, never objects"
            )
    return arrays


def write_npz(path: str | os.PathLike, arrays: dict[str, Any]) -> str:
    """Write numeric ``arrays`` to ``path`` atomically; return the file's SHA-256.

    Raises ValueError for an object array (it could only be read back with pickle).
    """
    arrays = _npz_arrays(path, arrays)
    atomic_write(path, lambda file: np.savez(file, **arrays))
    return _sha256(path)


def _sha256(path: str | os.PathLike) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ----- save / load ------------------------------------------------------------------
def _fsync_directory(directory: Path) -> None:
    """Make a rename inside ``directory`` durable (a no-op where directories cannot be
    opened, e.g. on Windows)."""
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def _read_pointer(run_dir: Path) -> str | None:
    """The current checkpoint's directory name from ``checkpoint.json``, or None."""
    path = run_dir / POINTER_FILE
    if not path.exists():
        return None
    name = _read_json(path).get("directory")
    if not isinstance(name, str) or not _CHECKPOINT_NAME.fullmatch(name):
        raise CheckpointError(f"{path} names {name!r}, not a checkpoint directory "
                              "(checkpoint-NNNNNN)")
    return name


def checkpoint_dir(run_dir: str | os.PathLike) -> Path | None:
    """The directory holding ``run_dir``'s current checkpoint files, or None if it has none.

    That is ``run_dir / <the name in checkpoint.json>``, or ``run_dir`` itself for a run
    directory from before checkpoints were directories (the files directly inside).
    """
    run_dir = Path(run_dir)
    name = _read_pointer(run_dir) if run_dir.is_dir() else None
    if name is not None:
        return run_dir / name
    if run_dir.is_dir() and any((run_dir / file).exists() for file in CHECKPOINT_FILES):
        return run_dir
    return None


def remove_stale(run_dir: str | os.PathLike) -> list[str]:
    """Delete what interrupted saves left in ``run_dir``; return the names removed.

    That is: hidden temporary checkpoint directories and files (``.checkpoint-*``,
    ``.*.tmp``), and ``checkpoint-NNNNNN`` directories other than the current one (a save
    killed between renaming its directory and switching ``checkpoint.json``, or before
    deleting its predecessor). Call it only while holding the run's lock.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    current = _read_pointer(run_dir)
    removed = []
    for entry in run_dir.iterdir():
        temporary = entry.name.startswith(_TEMPORARY_PREFIX) or (
            entry.name.startswith(".") and entry.name.endswith(".tmp"))
        superseded = _CHECKPOINT_NAME.fullmatch(entry.name) and entry.name != current
        if temporary or superseded:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed.append(entry.name)
    return sorted(removed)


def _write_file(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    with open(path, "wb") as file:
        write(file)
        file.flush()
        os.fsync(file.fileno())


def _json_bytes(data: Any) -> bytes:
    return (json.dumps(strict_json_value(data), indent=2, default=_to_json, allow_nan=False)
            + "\n").encode("utf-8")


def save_checkpoint(
    run_dir: str | os.PathLike,
    model: Any,
    config: dict[str, Any],
    optimizers: dict[str, Any],
    trainer_state: dict[str, Any],
) -> Path:
    """Write the model, optimisers, config and trainer state as one new checkpoint.

    Parameters
    ----------
    run_dir : created if missing
    model : a Module (``state_dict()``)
    config : JSON-serialisable; must name the registered model under ``"model"``
    optimizers : name -> optimiser with ``state_dict()``; names may not contain "/"
    trainer_state : JSON-serialisable (epoch, history, rng state, ...), with the SHA-256
        of both ``.npz`` files added under ``"files"``; its ``"epoch"`` names the directory

    Returns the new checkpoint directory. If anything fails (an exception, a full disk, a
    kill), ``checkpoint.json`` still names the previous checkpoint, which is untouched.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    optimizer_arrays = {}
    for name, optimizer in optimizers.items():
        if "/" in name:
            raise ValueError(f"optimizer name {name!r} may not contain '/'")
        for key, value in optimizer.state_dict().items():
            optimizer_arrays[f"{name}/{key}"] = value
    model_arrays = _npz_arrays(run_dir / MODEL_FILE, model.state_dict())
    optimizer_arrays = _npz_arrays(run_dir / OPTIMIZER_FILE, optimizer_arrays)
    previous = checkpoint_dir(run_dir)
    epoch = int(trainer_state.get("epoch", 0))
    name = f"checkpoint-{epoch:06d}"
    if previous is not None and previous.name == name:  # saving the same epoch again
        name = f"checkpoint-{epoch:06d}{len(list(run_dir.glob(name + '*'))):03d}"
    staging = Path(tempfile.mkdtemp(dir=run_dir, prefix=_TEMPORARY_PREFIX))
    try:
        _write_file(staging / MODEL_FILE, lambda file: np.savez(file, **model_arrays))
        _write_file(staging / OPTIMIZER_FILE, lambda file: np.savez(file, **optimizer_arrays))
        digests = {file: _sha256(staging / file) for file in (MODEL_FILE, OPTIMIZER_FILE)}
        _write_file(staging / CONFIG_FILE, lambda file: file.write(_json_bytes(config)))
        state = {**trainer_state, "files": digests}
        _write_file(staging / TRAINER_STATE_FILE, lambda file: file.write(_json_bytes(state)))
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes 0700; give the usual mode
        _fsync_directory(staging)
        target = run_dir / name
        if target.exists():  # an unnamed leftover of a killed save of this epoch
            shutil.rmtree(target)
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _fsync_directory(run_dir)
    # the commit point: from here on the run is the new checkpoint
    write_json(run_dir / POINTER_FILE, {"directory": name, "epoch": epoch})
    _fsync_directory(run_dir)
    if previous is not None and previous != run_dir:
        shutil.rmtree(previous, ignore_errors=True)
    elif previous == run_dir:  # an old-layout run: its loose files are now superseded
        for file in CHECKPOINT_FILES:
            (run_dir / file).unlink(missing_ok=True)
    return target


def _npy_header(member: IO[bytes]) -> tuple[tuple[int, ...], np.dtype]:
    """The (shape, dtype) an .npy stream declares, read without reading its data."""
    version = np.lib.format.read_magic(member)
    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                   else np.lib.format.read_array_header_2_0)
    shape, _, dtype = read_header(member)
    return shape, dtype


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a checkpoint's .npz, each checked before it is read: real numbers
    only (no object, string or complex arrays), no more elements than the file holds bytes
    for (a header may claim 10¹² of them), and every float finite."""
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"{path} is not a .npz archive (a zip of .npy arrays), so "
                              "not a checkpoint file")
    arrays = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                key = info.filename.removesuffix(".npy")
                with archive.open(info) as member:
                    shape, dtype = _npy_header(member)
                if dtype.hasobject:
                    raise CheckpointError(
                        f"{path} contains an object array ({key!r}); refusing to load it "
                        "(that would need pickle, which can run code). Checkpoints hold only "
                        "numeric arrays")
                if dtype.kind not in "fiub":
                    raise CheckpointError(f"{path}: array {key!r} has dtype {dtype}; "
                                          "checkpoints hold real numbers only")
                claimed = math.prod(shape) * dtype.itemsize
                if claimed > info.file_size:
                    raise CheckpointError(
                        f"{path}: array {key!r} claims shape {shape} ({claimed:,} bytes) "
                        f"but the file holds {info.file_size:,}; the file is corrupt")
                with archive.open(info) as member:
                    array = np.lib.format.read_array(member, allow_pickle=False)
                if dtype.kind == "f" and not np.isfinite(array).all():
                    raise CheckpointError(f"{path}: array {key!r} holds NaN or inf; a "
                                          "checkpoint of a diverged model is not loaded")
                arrays[key] = array
    except CheckpointError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise CheckpointError(f"{path} is not a valid .npz checkpoint: {error}") from None
    return arrays


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} should hold a JSON object, found {type(data).__name__}")
    return data


_CONFIG_FIELDS = {"model": str, "data": str, "data_shape": list, "hparams": dict, "seed": int}


def _check_config(path: Path, config: dict[str, Any]) -> None:
    """Refuse a config that lacks what rebuilding the run needs, or contradicts its model."""
    for key, kind in _CONFIG_FIELDS.items():
        if key not in config:
            raise CheckpointError(f"{path} has no {key!r}; a run's config needs "
                                  f"{', '.join(_CONFIG_FIELDS)}")
        if not isinstance(config[key], kind) or isinstance(config[key], bool):
            raise CheckpointError(f"{path}: {key!r} must be a {kind.__name__}, got "
                                  f"{config[key]!r}")
    if not all(isinstance(size, int) and size > 0 for size in config["data_shape"]):
        raise CheckpointError(f"{path}: data_shape must be positive integers, got "
                              f"{config['data_shape']}")
    conditional = bool(REGISTRY[config["model"]].model_class().conditions)
    if "conditional" in config and config["conditional"] is not conditional:
        raise CheckpointError(f"{path} says conditional={config['conditional']!r}, but "
                              f"{config['model']} is {'' if conditional else 'not '}"
                              "conditional; the file was edited or comes from another run")


def _check_trainer_state(path: Path, state: dict[str, Any]) -> None:
    for key in ("epoch", "step"):
        value = state.get(key, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise CheckpointError(f"{path}: {key!r} must be a non-negative integer, got "
                                  f"{value!r}")


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
    found = checkpoint_dir(run_dir)
    if found is None:
        raise CheckpointError(f"{run_dir} holds no checkpoint (no {POINTER_FILE}); train "
                              "into it first")
    run_dir = found
    if not run_dir.is_dir():
        raise CheckpointError(f"{run_dir} is missing: {POINTER_FILE} names a checkpoint "
                              "that is not there")
    missing = [name for name in CHECKPOINT_FILES if not (run_dir / name).is_file()]
    if missing:
        raise CheckpointError(
            f"{run_dir} is not a complete checkpoint: missing {', '.join(missing)}"
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
    _check_config(run_dir / CONFIG_FILE, config)
    _check_trainer_state(run_dir / TRAINER_STATE_FILE, trainer_state)
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


# ----- the run directory as the user's work ----------------------------------------
LOCK_FILE = ".lock"
RUN_FILES = ("metrics.json", "history.json")  # written beside the checkpoint at the end


class RunLockedError(CheckpointError):
    """Another process is training into the same run directory."""


class RunLock:
    """An exclusive lock on a run directory, held while a process trains into it.

    ``flock`` on ``RUN/.lock``: the kernel releases it when the process ends, however it
    ends (kill -9 included), so a crashed run never leaves a stale lock behind. The file
    records the holder's pid for the message a second process sees. Where ``fcntl`` does
    not exist (Windows) the lock is a no-op.
    """

    def __init__(self, run_dir: str | os.PathLike) -> None:
        self.path = Path(run_dir) / LOCK_FILE
        self._handle: int | None = None

    def __enter__(self) -> RunLock:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return self
        handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(handle, 32, 0).decode("ascii", "replace").strip() or "?"
            os.close(handle)
            raise RunLockedError(f"another minigen process (pid {holder}) is training into "
                                 f"{self.path.parent}; wait for it or choose another --out"
                                 ) from None
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"{os.getpid()}\n".encode("ascii"), 0)
        self._handle = handle
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._handle is not None:
            os.close(self._handle)  # closing releases the flock
            self._handle = None


def run_summary(run_dir: str | os.PathLike) -> str | None:
    """"a nade run (epoch 20 of 20)" for a directory holding a run, else None.

    A run is a checkpoint (current or old layout) or the metrics a run writes.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return None
    try:
        found = checkpoint_dir(run_dir)
    except CheckpointError:
        return "a run with a damaged checkpoint.json"
    if found is not None:
        try:
            config = _read_json(found / CONFIG_FILE)
            state = _read_json(found / TRAINER_STATE_FILE)
            return (f"a {config.get('model', '?')} run (epoch {state.get('epoch', '?')} of "
                    f"{config.get('epochs', '?')})")
        except CheckpointError:
            return "a run with an incomplete checkpoint"
    if any((run_dir / name).exists() for name in RUN_FILES):
        return "a finished run's metrics"
    return None


def clear_run(run_dir: str | os.PathLike) -> list[str]:
    """Delete a run's own files from ``run_dir`` (for ``--force``); return their names.

    That is the checkpoint (directories, ``checkpoint.json``, old-layout files),
    ``metrics.json``, ``history.json`` and the figures (``*.png``), so no figure of the old
    run is mixed into the new one. Anything else in the directory is left alone.
    """
    run_dir = Path(run_dir)
    removed = []
    for entry in sorted(run_dir.iterdir()):
        ours = (_CHECKPOINT_NAME.fullmatch(entry.name) or entry.name == POINTER_FILE
                or entry.name in CHECKPOINT_FILES or entry.name in RUN_FILES
                or (entry.suffix == ".png" and entry.is_file()))
        if ours:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed.append(entry.name)
    return removed

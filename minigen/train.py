"""The training loop every registered model runs through.

One loop serves every family, dispatching on what the model declares (the protocol in
``minigen.models.base``):

* a gradient model: θ ← Adam(θ, ∇θ loss(x, rng)) on ``model.parameters()`` at the run's lr;
* a :class:`~minigen.models.base.TrainsItself` model: the trainer builds one optimiser per
  declared player from the run's lr and the registry's player settings, and calls
  ``train_step(x, rng)``, the model's own algorithm (two players, contrastive divergence,
  counting).

Either way the model's ``before_step`` and ``after_step`` hooks run around every step, and
a conditional model gets the batch fields it lists in ``conditions`` as keywords. A
:class:`~minigen.models.base.SecondStage` model (the VQ-VAE's PixelCNN prior over its
codes) has its second stage fitted in the last epoch, before that epoch is evaluated and
saved.

After every epoch the model is evaluated on the test split (the IWAE bound, which costs
k forward passes, and the sample-quality judge only after the last epoch) and a
checkpoint is written, so a crash loses at most one epoch. All randomness
(initialisation, shuffling, the model's noise) comes from one
``np.random.default_rng(seed)`` whose state is saved, so a resumed run continues with
exactly the numbers an uninterrupted run would produce.
Evaluation draws from its own generator, ``default_rng([seed, epoch])``, so how a run is
evaluated never changes how it trains.
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from minigen.checkpoint import (
    CheckpointError,
    RunLock,
    clear_run,
    load_checkpoint,
    remove_stale,
    run_summary,
    save_checkpoint,
    write_json,
)
from minigen.data import DATASETS, DataLoader, get_dataset, get_fields
from minigen.evaluate import DEFAULT_IWAE_K, evaluate
from minigen.models.base import Batch, Model, SecondStage, TrainsItself
from minigen.models.registry import ModelSpec, check_overrides, get_spec
from minigen.optim import Adam, Optimizer

METRICS_FILE = "metrics.json"
HISTORY_FILE = "history.json"


class TrainingDivergedError(ValueError):
    """A training loss became NaN or infinite; the message gives the step and last finite value."""


class RunExistsError(ValueError):
    """The run directory already holds a run, and neither resume nor force was given."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training; the message says which epoch and how to continue."""

    def __init__(self, epoch: int, model: str, run_dir: Path | None) -> None:
        self.epoch = epoch
        if run_dir is None:
            message = f"interrupted in epoch {epoch}; nothing was saved (no run directory)"
        else:
            message = (f"interrupted in epoch {epoch}; the checkpoint of epoch {epoch - 1} is "
                       f"kept. Continue with `minigen train {model} --out {run_dir} --resume`"
                       if epoch > 1 else f"interrupted in epoch 1, before any checkpoint; "
                       f"start again with `minigen train {model} --out {run_dir}`")
        super().__init__(message)


@dataclass
class RunResult:
    """What :func:`train` returns.

    Attributes
    ----------
    model : the trained model
    history : ``{"train": {name: [value per step]}, "test": [metrics per epoch]}``; each
        test entry also holds its ``epoch`` and the global ``step`` it was taken at
    metrics : the final test metrics (see ``minigen.evaluate``)
    run_dir : where the checkpoint and JSON files are, or None without ``out_dir``
    config : the run's settings as saved in ``config.json``
    """

    model: Any
    history: dict[str, Any]
    metrics: dict[str, float]
    run_dir: str | None
    config: dict[str, Any]
    already_complete: bool = False  # resumed a finished run: nothing was trained or written


def load_split(data: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """``get_dataset(data, split)`` with floating data as float32 (the trainer's view)."""
    x, y = get_dataset(data, split)
    if np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32, copy=False)  # float32 by default, whatever the loader gives
    return x, y


def load_fields(data: str, split: str) -> Batch:
    """A data set's split as batch fields: ``{"x": examples, "y": labels, ...}``.

    Floating fields become float32, as in ``load_split``."""
    fields = get_fields(data, split)
    return {name: value.astype(np.float32, copy=False)
            if np.issubdtype(value.dtype, np.floating) else value
            for name, value in fields.items()}


def conditions_of(model: Model, fields: Batch) -> Batch:
    """The fields a model conditions on (its ``conditions``), taken from ``fields``."""
    missing = [name for name in model.conditions if name not in fields]
    if missing:
        raise ValueError(f"{type(model).__name__} conditions on {missing}, which this data "
                         f"set does not have (its fields: {sorted(fields)})")
    return {name: fields[name] for name in model.conditions}


def _positive(name: str, value: Any, kind: type) -> None:
    if isinstance(value, bool) or not isinstance(value, kind) or not value > 0:
        raise ValueError(f"train: {name} must be a positive {kind.__name__}, got {value!r}")


def _new_config(
    spec: ModelSpec,
    data: str | None,
    epochs: int | None,
    batch_size: int | None,
    lr: float | None,
    seed: int,
    overrides: dict[str, Any],
) -> dict[str, Any]:
    model_class = spec.model_class()
    if lr is not None and not model_class.uses_learning_rate:
        raise ValueError(f"train: {spec.name} is fitted without a learning rate (counting or "
                         "a closed form); drop --lr")
    config = {
        "model": spec.name,
        "family": spec.family,
        "data": spec.data if data is None else data,
        "conditional": bool(model_class.conditions),
        "hparams": {**spec.hparams, **overrides},
        "epochs": spec.epochs if epochs is None else epochs,
        "batch_size": spec.batch_size if batch_size is None else batch_size,
        "lr": (spec.lr if lr is None else lr) if model_class.uses_learning_rate else None,
        "seed": seed,
        "iwae_k": DEFAULT_IWAE_K,
    }
    _positive("epochs", config["epochs"], int)
    _positive("batch_size", config["batch_size"], int)
    if config["lr"] is not None:
        _positive("lr", float(config["lr"]), float)
    if config["data"] not in DATASETS:
        raise ValueError(f"train: unknown data set {config['data']!r}; valid: "
                         f"{', '.join(DATASETS)}")
    return config


def _check_resume(config: dict[str, Any], spec: ModelSpec, **given: Any) -> None:
    """A resumed run keeps its saved settings; refuse arguments that contradict them."""
    if config["model"] != spec.name:
        raise CheckpointError(f"cannot resume: the run directory holds model "
                              f"{config['model']!r}, not {spec.name!r}")
    if given.pop("overrides"):
        raise ValueError("train: overrides cannot change a resumed run's hyper-parameters")
    for name, value in given.items():
        if value is not None and value != config[name]:
            raise ValueError(f"train: cannot resume with {name}={value!r}; the run was started "
                             f"with {name}={config[name]!r} (only epochs may change)")


def _restore(
    model: Any,
    optimizers: dict[str, Any],
    rng: np.random.Generator,
    state_dict: dict[str, np.ndarray],
    optimizer_states: dict[str, dict[str, np.ndarray]],
    trainer_state: dict[str, Any],
) -> tuple[int, int, dict[str, Any]]:
    """Put a checkpoint back into a freshly built model; return (epoch, step, history)."""
    try:
        model.load_state_dict(state_dict)
        for name, optimizer in optimizers.items():
            if name not in optimizer_states:
                raise ValueError(f"no state saved for optimizer {name!r}")
            optimizer.load_state_dict(optimizer_states[name])
        rng.bit_generator.state = trainer_state["rng"]
        return int(trainer_state["epoch"]), int(trainer_state["step"]), trainer_state["history"]
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"cannot resume from the checkpoint: {error}") from None


def _check_finite(values: dict[str, float], step: int, history: dict[str, Any]) -> None:
    for name, value in values.items():
        if not math.isfinite(value):
            previous = history["train"].get(name, [])
            last = (f"last finite {name} {previous[-1]:.6g} at step {step - 1}" if previous
                    else f"no finite {name} before it")
            raise TrainingDivergedError(
                f"training diverged: {name} is {value} at step {step}; {last}. The last good "
                "checkpoint is kept; try a smaller --lr"
            )


def _gradient_step(model: Model, optimizer: Optimizer, x: np.ndarray, rng: np.random.Generator,
                   conditions: Batch, step: int, history: dict[str, Any]) -> dict[str, float]:
    """θ ← θ − Adam(∇θ loss): zero the gradients, take the loss, check it, step."""
    optimizer.zero_grad()
    loss = model.loss(x, rng, **conditions)
    values = {"loss": float(loss.data)}
    _check_finite(values, step, history)  # before the update, so no NaN reaches θ
    loss.backward()
    optimizer.step()
    return values


def _self_step(model: TrainsItself, x: np.ndarray, rng: np.random.Generator, conditions: Batch,
               step: int, history: dict[str, Any]) -> dict[str, float]:
    """The model's own training step (its players and optimisers). A player whose
    objective is not finite is stopped before its update (``step_player``); the reported
    values and, for updates by other rules (contrastive divergence, counting), every
    parameter are checked after."""
    try:
        values = {k: float(v) for k, v in model.train_step(x, rng, **conditions).items()}
    except FloatingPointError as error:
        raise TrainingDivergedError(f"training diverged at step {step}: {error}. The last "
                                    "good checkpoint is kept; try a smaller --lr") from None
    _check_finite(values, step, history)
    broken = [name for name, value in model.named_parameters() if not np.isfinite(value.data).all()]
    if broken:
        raise TrainingDivergedError(f"training diverged at step {step}: {broken[0]} holds NaN "
                                    "or inf after the step. The last good checkpoint is kept; "
                                    "try a smaller --lr")
    return values


def _train_epoch(
    model: Model,
    optimizers: dict[str, Optimizer],
    loader: DataLoader,
    fields: tuple[str, ...],
    rng: np.random.Generator,
    history: dict[str, Any],
    step: int,
    bar: tqdm,
) -> tuple[int, dict[str, float]]:
    """One pass over ``loader`` (yielding the arrays named in ``fields``), appending
    per-step values to history.

    Returns the global step count and the epoch's mean of each reported value.
    """
    model.train()
    sums: dict[str, float] = {}
    for batch_number, arrays in enumerate(loader, start=1):
        step += 1
        batch = dict(zip(fields, arrays if isinstance(arrays, tuple) else (arrays,)))
        x, conditions = batch.pop("x"), batch
        model.before_step(x, rng)
        if isinstance(model, TrainsItself):
            values = _self_step(model, x, rng, conditions, step, history)
        else:
            values = _gradient_step(model, optimizers["adam"], x, rng, conditions, step,
                                    history)
        model.after_step()
        for name, value in values.items():
            history["train"].setdefault(name, []).append(value)
            sums[name] = sums.get(name, 0.0) + value
        means = {name: total / batch_number for name, total in sums.items()}
        bar.update()
        bar.set_postfix({name: f"{mean:.4g}" for name, mean in means.items()}, refresh=False)
    return step, means


def build_optimizers(model: Model, spec: ModelSpec, lr: float | None) -> dict[str, Optimizer]:
    """Every optimiser of a run from its settings: one per player of a model that trains
    itself (``lr`` × each player's scale), else one Adam over all parameters."""
    if isinstance(model, TrainsItself):
        return model.build_optimizers(lr if lr is not None else 0.0, spec.players)
    return {"adam": Adam(model.parameters(), lr=lr)}


def train(
    spec_or_name: ModelSpec | str,
    *,
    data: str | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    seed: int = 0,
    out_dir: str | os.PathLike | None = None,
    resume: bool = False,
    force: bool = False,
    overrides: dict[str, Any] | None = None,
    progress: bool = True,
) -> RunResult:
    """Train a registered model on its data set, evaluating and checkpointing every epoch.

    Parameters
    ----------
    spec_or_name : a registry name ("vae") or a ModelSpec
    data : a name from ``minigen.data.DATASETS`` (default: the spec's)
    epochs, batch_size, lr : default: the spec's. ``epochs`` is the total, so resuming a
        2-epoch run with ``epochs=4`` trains epochs 3 and 4
    seed : seeds the one generator behind initialisation, shuffling and model noise
    out_dir : run directory for the checkpoint, ``metrics.json`` and ``history.json``;
        None keeps everything in memory. It is locked while training (a second process
        is refused), and a directory that already holds a run is refused unless
        ``resume`` or ``force`` says what to do with it
    resume : continue the run saved in ``out_dir`` (model, optimisers, epoch, history,
        generator state); its saved settings are kept, only ``epochs`` may change. A
        directory without a complete checkpoint is refused, never restarted; a finished
        run is returned as it is, with ``already_complete`` set
    force : replace the run in ``out_dir`` (its checkpoint, metrics and figures)
    overrides : hyper-parameters replacing the spec's defaults (new runs only), checked
        against the model's (``check_overrides``)
    progress : show a tqdm bar per epoch on a terminal, or one line per epoch on stderr
        when stderr is not a terminal (a log file, CI)

    Raises
    ------
    TrainingDivergedError : a loss became NaN/inf (the step and last finite value are in
        the message; the previous epoch's checkpoint stays on disk)
    TrainingInterrupted : Ctrl-C; the last finished epoch's checkpoint stays on disk
    RunExistsError : ``out_dir`` holds a run and neither ``resume`` nor ``force`` is given
    CheckpointError : ``resume`` with a run directory that cannot be loaded; a locked run
    """
    spec = spec_or_name if isinstance(spec_or_name, ModelSpec) else get_spec(spec_or_name)
    overrides = dict(overrides or {})
    if resume and force:
        raise ValueError("train: resume and force contradict each other: --resume continues "
                         "the run in --out, --force replaces it")
    if resume and out_dir is None:
        raise ValueError("train: resume=True needs out_dir, the run directory to continue")
    new_config = None
    if not resume:  # bad settings are refused before the run directory is touched
        check_overrides(spec, overrides)
        new_config = _new_config(spec, data, epochs, batch_size, lr, seed, overrides)
    if out_dir is None:
        return _train(spec, new_config, data, epochs, batch_size, lr, None, overrides,
                      progress)
    run_dir = _checked_run_dir(out_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with RunLock(run_dir):
        remove_stale(run_dir)
        existing = run_summary(run_dir)
        if existing is not None and not resume:
            if not force:
                raise RunExistsError(f"{run_dir} already holds {existing}; pass --resume to "
                                     "continue it or --force to replace it")
            clear_run(run_dir)
        if resume and existing is None:
            raise CheckpointError(f"nothing to resume in {run_dir}: it holds no checkpoint; "
                                  "drop --resume to start a new run there")
        return _train(spec, new_config, data, epochs, batch_size, lr, run_dir, overrides,
                      progress)


def accepted_data(spec: ModelSpec) -> list[str]:
    """The data sets ``spec``'s model can train on: those whose examples it can be built
    for and lets through its input door (``Model.examples``), with every field it
    conditions on. MNIST is left out (it may not be downloaded)."""
    tokens = _models_tokens(spec)
    return [name for name in DATASETS if not name.startswith("mnist")
            and _refusal(spec, load_fields(name, "test"), tokens) is None]


def _models_tokens(spec: ModelSpec) -> bool:
    """Whether the model's own data set holds integer tokens or levels."""
    return load_fields(spec.data, "test")["x"].dtype.kind in "iu"


def _refusal(spec: ModelSpec, fields: Batch, tokens: bool) -> str | None:
    """Why the model refuses a data set with these fields (None if it takes them);
    ``tokens``: the model's own data set holds integer tokens (``_models_tokens``)."""
    model_class = spec.model_class()
    missing = [name for name in model_class.conditions if name not in fields]
    if missing:
        return f"it conditions on {', '.join(missing)}, which the data set does not have"
    x = fields["x"][:2]
    if tokens and not np.array_equal(x, np.round(x)):
        # binary digits are fine as 64 tokens; points on a ring are no tokens at all
        return "it models integer tokens or levels, and this data set holds fractions"
    hparams = dict(spec.hparams)
    if "y" in model_class.conditions:
        hparams.setdefault("num_classes", int(fields["y"].max()) + 1)
    try:
        model = model_class(tuple(x.shape[1:]), rng=np.random.default_rng(0), **hparams)
        model.examples(x)
    except (ValueError, TypeError) as error:
        return str(error).splitlines()[0]
    return None


def _check_data(spec: ModelSpec, data: str, fields: Batch) -> None:
    """Refuse a data set the model cannot take before training, naming the ones it can."""
    reason = _refusal(spec, fields, _models_tokens(spec))
    if reason is not None:
        raise ValueError(f"train: {spec.name} cannot train on {data!r} ({reason}); it takes "
                         f"{', '.join(accepted_data(spec))}")


def _checked_run_dir(out_dir: str | os.PathLike) -> Path:
    """``out_dir`` checked before any training starts: not empty, not a file, and a
    writable directory or one that can be created (its nearest existing parent is one)."""
    if str(out_dir).strip() == "":
        raise ValueError("train: the run directory (--out) is empty; give a directory path")
    run_dir = Path(out_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise ValueError(f"train: --out {run_dir} is a file, not a directory")
    existing = run_dir
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"train: cannot create the run directory {run_dir}: {existing} is a "
                         "file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"train: the run directory {run_dir} is not writable "
                         f"({existing} is not)")
    return run_dir


def _train(
    spec: ModelSpec,
    config: dict[str, Any] | None,
    data: str | None,
    epochs: int | None,
    batch_size: int | None,
    lr: float | None,
    run_dir: Path | None,
    overrides: dict[str, Any],
    progress: bool,
) -> RunResult:
    """Train a new run from ``config``, or (config None) resume the run in ``run_dir``."""
    checkpoint = None
    if config is None:
        checkpoint = load_checkpoint(run_dir)
        config = checkpoint[1]
        _check_resume(config, spec, data=data, batch_size=batch_size, lr=lr,
                      overrides=overrides)
        if epochs is not None:
            _positive("epochs", epochs, int)
            config["epochs"] = epochs

    train_fields = load_fields(config["data"], "train")
    test_fields = load_fields(config["data"], "test")
    x_train, x_test = train_fields["x"], test_fields["x"]
    if config["data"] != spec.data:
        _check_data(spec, config["data"], train_fields)
    if "y" in spec.model_class().conditions and "num_classes" not in config["hparams"]:
        config["hparams"]["num_classes"] = int(train_fields["y"].max()) + 1
    config["data_shape"] = list(x_train.shape[1:])

    rng = np.random.default_rng(config["seed"])
    model = spec.model_class()(tuple(x_train.shape[1:]), rng=rng, **config["hparams"])
    optimizers = build_optimizers(model, spec, config["lr"])
    epochs_done, step, history = 0, 0, {"train": {}, "test": []}
    if checkpoint is not None:
        epochs_done, step, history = _restore(model, optimizers, rng, checkpoint[0], checkpoint[2],
                                        checkpoint[3])
        if epochs_done >= config["epochs"]:  # nothing to do: change nothing on disk
            metrics = ({k: v for k, v in history["test"][-1].items()
                        if k not in ("epoch", "step")} if history["test"] else {})
            return RunResult(model=model, history=history, metrics=metrics,
                             run_dir=str(run_dir), config=config, already_complete=True)

    fields = ("x", *model.conditions)
    test_conditions = conditions_of(model, test_fields)
    # Every field rides in one loader so its rows stay aligned; a single permutation per
    # epoch is drawn from rng however many fields there are.
    loader = DataLoader(*(train_fields[name] for name in fields),
                        batch_size=config["batch_size"], shuffle=True, rng=rng)
    bar_on_terminal = progress and sys.stderr.isatty()
    epoch = epochs_done + 1
    try:
        for epoch in range(epochs_done + 1, config["epochs"] + 1):
            started = time.perf_counter()
            with tqdm(total=len(loader), desc=f"epoch {epoch}/{config['epochs']}",
                      unit="batch", disable=not bar_on_terminal, dynamic_ncols=True) as bar:
                step, means = _train_epoch(model, optimizers, loader, fields, rng, history,
                                           step, bar)
                last = epoch == config["epochs"]  # the IWAE bound costs k passes: last only
                second_stage = {}
                if last and isinstance(model, SecondStage):
                    # Two-stage models (VQ-VAE) fit their prior on the finished encoder's codes.
                    bar.set_postfix_str("fitting the prior")
                    fitted = model.fit_prior(x_train, rng)  # figures on the training codes
                    second_stage = {f"train_{name}": value for name, value in fitted.items()}
                metrics = evaluate(model, x_test, conditions=test_conditions,
                                   rng=np.random.default_rng([config["seed"], epoch]),
                                   iwae_k=config["iwae_k"] if last else None,
                                   quality_data=config["data"] if last else None,
                                   fields=test_fields)
                history["test"].append({"epoch": epoch, "step": step, **second_stage,
                                        **metrics})
                if "loss" in metrics:
                    means["test_loss"] = metrics["loss"]
                bar.set_postfix({name: f"{mean:.4g}" for name, mean in means.items()})
            if progress and not bar_on_terminal:  # a log file: one line per epoch
                figures = "  ".join(f"{name} {mean:.4g}" for name, mean in means.items())
                print(f"epoch {epoch}/{config['epochs']}  {figures}  "
                      f"({time.perf_counter() - started:.2f} s)", file=sys.stderr, flush=True)
            if run_dir is not None:
                save_checkpoint(run_dir, model, config, optimizers, {
                    "epoch": epoch, "step": step, "rng": rng.bit_generator.state,
                    "history": history})
    except KeyboardInterrupt:
        raise TrainingInterrupted(epoch, spec.name, run_dir) from None

    if history["test"]:
        metrics = {k: v for k, v in history["test"][-1].items() if k not in ("epoch", "step")}
    else:
        metrics = evaluate(model, x_test, conditions=test_conditions,
                           rng=np.random.default_rng([config["seed"], 0]),
                           iwae_k=config["iwae_k"], quality_data=config["data"],
                           fields=test_fields)
    if run_dir is not None:
        write_json(run_dir / METRICS_FILE, metrics)
        write_json(run_dir / HISTORY_FILE, history)
    return RunResult(model=model, history=history, metrics=metrics,
                     run_dir=None if run_dir is None else str(run_dir), config=config)

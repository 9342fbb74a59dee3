"""The ``minigen`` command: list, train, sample and evaluate registered models.

    minigen list
    minigen train vae [--data NAME] [--epochs N] [--batch-size N] [--lr F] [--seed N]
                      [--out DIR] [--resume] [--no-progress] [--set key=value ...]
    minigen sample runs/vae [-n 64] [--seed 0] [--out FILE] [--text CAPTION ...]
    minigen eval runs/vae

Mistakes (an unknown model, a bad argument, a missing or corrupt run directory, a run
directory that already holds a run), running out of memory or disk, and Ctrl-C print one
line on stderr and exit with status 2; a diverged training run exits with status 1.
``--debug`` (or MINIGEN_DEBUG=1) shows the full traceback instead.
"""

from __future__ import annotations

import argparse
import ast
import errno
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from minigen import __version__
from minigen.checkpoint import POINTER_FILE, CheckpointError, load_model, write_json
from minigen.data import DATASETS, load_mnist
from minigen.evaluate import evaluate
from minigen.models.base import DecodesText
from minigen.models.registry import REGISTRY, get_spec, hyperparameters
from minigen.plot import make_run_plots, on_data_scale, plot_image_grid, plot_points_2d
from minigen.quality import FLOOR_SUFFIX, direction
from minigen.train import (
    HISTORY_FILE,
    METRICS_FILE,
    TrainingDivergedError,
    accepted_data,
    conditions_of,
    load_fields,
    load_split,
    train,
)

EXIT_USAGE = 2
EXIT_DIVERGED = 1


class UsageError(ValueError):
    """A mistake in the command line; printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse prints the whole usage block and exits; we want one line and main()'s code
        raise UsageError(f"{message} (see {self.prog} --help)")


# ----- argument types ---------------------------------------------------------------
def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return value


def parse_overrides(assignments: Sequence[str]) -> dict[str, Any]:
    """``["latent_dim=8", "kind='gaussian'"]`` -> ``{"latent_dim": 8, "kind": "gaussian"}``.

    Values are Python literals (numbers, True/False/None, lists, quoted strings), read with
    ``ast.literal_eval`` (which never runs code); anything else is kept as a string.
    """
    overrides = {}
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        if not sep or not key.isidentifier():
            raise UsageError(f"--set expects key=value with a Python name as key, got "
                             f"{assignment!r}")
        try:
            overrides[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            overrides[key] = text
    return overrides


def _format_value(value: Any) -> str:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f"{value:,}"
    return f"{value:.6g}" if isinstance(value, (float, np.floating)) else str(value)


def format_metrics(metrics: dict[str, Any]) -> str:
    """Metrics as an aligned table; a sample-quality figure shows its real-data floor and
    which way is better (the per-class fractions stay in metrics.json)."""
    shown = [key for key in metrics if not key.endswith(FLOOR_SUFFIX)
             and not key.startswith("class_fraction_")]
    width = max((len(key) for key in shown), default=0)
    lines = []
    for key in shown:
        line = f"  {key:<{width}}  {_format_value(metrics[key]):>14}"
        if key + FLOOR_SUFFIX in metrics:
            better = {"lower": "lower is better", "higher": "higher is better",
                      "match": "closest to real data is best"}[direction(key)]
            line += f"   real data {_format_value(metrics[key + FLOOR_SUFFIX]):>10}   ({better})"
        lines.append(line)
    return "\n".join(lines)


# ----- subcommands ------------------------------------------------------------------
def describe_model(name: str) -> str:
    """A model's defaults in a few lines: data, training settings, players, ``--set`` keys."""
    spec = get_spec(name)
    lr = "none (fitted without a learning rate)" if spec.lr is None else f"{spec.lr:g}"
    lines = [f"{spec.name} ({spec.family}): {spec.description}",
             f"  data        {spec.data} (--data; must fit the model: same shape and range)",
             f"  training    {spec.epochs} epoch{'s' if spec.epochs != 1 else ''}, batch size "
             f"{spec.batch_size}, --lr {lr}"]
    for player, settings in spec.players.items():
        lines.append(f"  player      {player}: lr x {settings.lr_scale:g}, "
                     f"{settings.optimizer}, {settings.steps} step(s) per batch")
    for key, default in hyperparameters(spec).items():
        kind = ("list" if isinstance(default, (list, tuple)) else type(default).__name__)
        shown = default.__name__ if isinstance(default, type) else repr(default)
        lines.append(f"  --set       {key}={shown} ({kind})")
    return "\n".join(lines)


def cmd_list(args: argparse.Namespace) -> int:
    specs = list(REGISTRY.values())
    if not specs:
        print("no models registered")
        return 0
    if args.verbose:
        print("\n\n".join(describe_model(spec.name) for spec in specs))
        return 0
    name_width = max(len(spec.name) for spec in specs)
    family_width = max(len(spec.family) for spec in specs)
    for spec in specs:
        print(f"{spec.name:<{name_width}}  {spec.family:<{family_width}}  {spec.description}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    try:
        spec = get_spec(args.model)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if args.data is not None and args.data not in DATASETS:
        raise UsageError(f"unknown data set {args.data!r}; valid: {', '.join(DATASETS)}")
    run_dir = Path(args.out if args.out is not None else Path("runs") / spec.name)
    if args.download:
        data = args.data if args.data is not None else spec.data
        if not data.startswith("mnist"):
            raise UsageError(f"--download fetches MNIST; {data!r} is embedded (drop "
                             "--download, or add --data mnist)")
        load_mnist("all", download=True)  # both splits, each file checked by its SHA-256
    started = time.perf_counter()
    result = train(spec, data=args.data, epochs=args.epochs, batch_size=args.batch_size,
                   lr=args.lr, seed=args.seed, out_dir=run_dir, resume=args.resume,
                   force=args.force, overrides=parse_overrides(args.set),
                   progress=not args.no_progress)
    seconds = time.perf_counter() - started
    config = result.config
    if result.already_complete:
        done = result.history["test"][-1]["epoch"] if result.history["test"] else 0
        print(f"{run_dir} is already complete: {done} of {config['epochs']} epochs; nothing "
              f"changed (to train further: --resume --epochs N with N > {done})")
        return 0
    test_fields = load_fields(config["data"], "test")
    plots = make_run_plots(result.model, run_dir, test_fields["x"], test_fields["y"],
                           result.history, np.random.default_rng(config["seed"]),
                           config["data"], fields=test_fields)
    last = result.history["test"][-1] if result.history["test"] else {"epoch": 0, "step": 0}
    plural = "" if last["epoch"] == 1 else "s"
    print(f"trained {spec.name} on {config['data']}: {last['epoch']} epoch{plural}, "
          f"{last['step']} steps, {seconds:.1f} s")
    checkpoint = json.loads((run_dir / POINTER_FILE).read_text())["directory"]
    files = [f"{checkpoint}/", POINTER_FILE, METRICS_FILE, HISTORY_FILE,
             *(Path(p).name for p in plots)]
    print(f"wrote {run_dir}/: {' '.join(files)}")
    print("test metrics:")
    print(format_metrics(result.metrics))
    return 0


SAMPLE_OPTIONS = ("sampler", "steps", "eta", "guidance", "temperature", "truncation")


def cmd_sample(args: argparse.Namespace) -> int:
    model, config, _ = load_model(args.run_dir)
    rng = np.random.default_rng(args.seed)
    out = Path(args.out if args.out is not None else Path(args.run_dir) / "samples_cli.png")
    nrow = math.ceil(math.sqrt(args.n))
    options = {name: getattr(args, name) for name in SAMPLE_OPTIONS
               if getattr(args, name) is not None}
    refused = sorted(set(options) - set(model.sample_options))
    if refused:
        offered = ", ".join(f"--{name}" for name in model.sample_options) or "none"
        raise UsageError(f"{config['model']} does not take {', '.join('--' + r for r in refused)}"
                         f" (its sampling options: {offered})")
    if args.y is not None and "y" not in model.conditions:
        raise UsageError(f"{config['model']} is not conditioned on labels; drop --y")
    if args.text is not None and "text" not in model.conditions:
        raise UsageError(f"{config['model']} is not conditioned on text; drop --text")
    if "y" in model.conditions:
        num_classes = int(config["hparams"]["num_classes"])
        if args.y is not None and not 0 <= args.y < num_classes:
            raise UsageError(f"--y must be a class in 0 … {num_classes - 1}, got {args.y}")
        labels = (np.full(args.n, args.y) if args.y is not None
                  else np.arange(args.n) % num_classes)  # column c of the grid is class c
        samples = np.asarray(model.sample(args.n, rng, y=labels, **options))
        nrow = nrow if args.y is not None else num_classes
    else:  # unconditional, or conditioned on test-split fields (source images, domains)
        if args.text is not None:  # caption i mod k of the k given: one column each
            given, labels = {"text": [args.text[i % len(args.text)] for i in range(args.n)]}, None
            nrow = len(args.text) if len(args.text) > 1 else nrow
        else:
            given, labels = model.sampling_conditions(
                args.n, load_fields(config["data"], "test"), rng)
        samples = np.asarray(model.sample(args.n, rng, **given, **options))
    if samples.ndim == 2 and samples.dtype.kind in "iu" and isinstance(model, DecodesText):
        names = model.decode(samples)
        print("\n".join(names))
        print(f"({args.n} samples of {config['model']})")
        return 0
    if samples.ndim == 4:
        plot_image_grid(on_data_scale(samples, config["data"]), out, nrow=nrow,
                        title=f"{config['model']} {model.samples_are}")
    elif samples.ndim == 2 and samples.shape[1] == 2:
        plot_points_2d(samples, out, reference=load_split(config["data"], "test")[0],
                       labels=labels)
    else:
        raise UsageError(f"cannot draw samples of shape {samples.shape}; expected images "
                         "(N, C, H, W) or 2-D points (N, 2)")
    print(f"wrote {out} ({args.n} samples of {config['model']})")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    model, config, trainer_state = load_model(args.run_dir)
    test_fields = load_fields(config["data"], "test")
    x_test = test_fields["x"]
    # the generator the trainer evaluated this epoch with, so the numbers are reproduced
    rng = np.random.default_rng([config["seed"], int(trainer_state.get("epoch", 0))])
    metrics = evaluate(model, x_test, conditions=conditions_of(model, test_fields), rng=rng,
                       quality_data=config["data"], fields=test_fields,
                       **({"iwae_k": config["iwae_k"]} if "iwae_k" in config else {}))
    write_json(Path(args.run_dir) / METRICS_FILE, metrics)
    print(f"{config['model']} on the {config['data']} test split ({len(x_test)} examples):")
    print(format_metrics(metrics))
    print(f"wrote {Path(args.run_dir) / METRICS_FILE}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="minigen", description="Deep generative models from scratch in "
                     "NumPy: list, train, sample and evaluate them.")
    parser.add_argument("--version", action="version", version=f"minigen {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error")
    # --debug after the command too (`minigen train vae --debug`); SUPPRESS keeps a
    # subcommand from resetting a --debug given before it
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the full traceback of an error")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    listing = commands.add_parser("list", help="one line per registered model",
                                  parents=[debug])
    listing.add_argument("-v", "--verbose", action="store_true",
                         help="also each model's data, training settings and --set keys")
    listing.set_defaults(handler=cmd_list)

    training = commands.add_parser("train", help="train a model, write a run directory",
                                   parents=[debug])
    training.add_argument("model", help="registered model name (see `minigen list`)")
    training.add_argument("--data", help="data set (default: the model's)")
    training.add_argument("--epochs", type=_positive_int, help="total epochs")
    training.add_argument("--batch-size", type=_positive_int)
    training.add_argument("--lr", type=_positive_float, help="learning rate")
    training.add_argument("--seed", type=int, default=0)
    training.add_argument("--out", help="run directory (default: runs/MODEL)")
    training.add_argument("--resume", action="store_true",
                          help="continue the run in --out up to --epochs")
    training.add_argument("--download", action="store_true",
                          help="fetch MNIST first if it is missing (with --data mnist or "
                               "mnist-binary; checked by SHA-256)")
    training.add_argument("--force", action="store_true",
                          help="replace the run already in --out (its checkpoint, metrics "
                               "and figures)")
    training.add_argument("--no-progress", action="store_true", help="no progress bar")
    training.add_argument("--set", nargs="+", action="extend", default=[],
                          metavar="KEY=VALUE", help="override a hyper-parameter")
    training.set_defaults(handler=cmd_train)

    sampling = commands.add_parser("sample", help="draw samples from a trained run as a PNG",
                                   parents=[debug])
    sampling.add_argument("run_dir")
    sampling.add_argument("-n", type=_positive_int, default=64, help="number of samples")
    sampling.add_argument("--seed", type=int, default=0)
    sampling.add_argument("--out", help="PNG path (default: RUN_DIR/samples_cli.png)")
    sampling.add_argument("--y", type=int, help="class label, for a model conditioned on "
                          "labels (default: every class, one column each)")
    sampling.add_argument("--text", action="append", help="caption, for a model conditioned "
                          "on text; repeat it for several (sample i takes caption i mod k)")
    sampling.add_argument("--sampler", choices=("ddpm", "ddim"), help="diffusion sampler")
    sampling.add_argument("--steps", type=_positive_int, help="diffusion sampling steps")
    sampling.add_argument("--eta", type=float, help="DDIM's eta (0: deterministic)")
    sampling.add_argument("--guidance", type=float, help="guidance weight (guided diffusion)")
    sampling.add_argument("--temperature", type=float,
                          help="softmax temperature (language models)")
    sampling.add_argument("--truncation", type=float, metavar="PSI",
                          help="truncation psi in [0, 1] (StyleGAN): w' = w_mean + psi (w - "
                               "w_mean); 1 draws from the whole distribution")
    sampling.set_defaults(handler=cmd_sample)

    evaluating = commands.add_parser("eval", help="test metrics of a trained run",
                                     parents=[debug])
    evaluating.add_argument("run_dir")
    evaluating.set_defaults(handler=cmd_eval)
    return parser


def _error(command: str | None, error: BaseException) -> None:
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    print(f"minigen{' ' + command if command else ''}: error: {message}", file=sys.stderr)


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[name]
    raise KeyError(name)


def _stdout_closed() -> None:
    """The reader of our stdout went away (``minigen list | head``): stop quietly, and keep
    Python from complaining when it flushes stdout at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _one_line(error: BaseException) -> str:
    """The message of an expected failure the user can act on."""
    if isinstance(error, MemoryError):
        return ("out of memory; try a smaller --batch-size, fewer samples (-n) or a smaller "
                "model (--set)")
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        where = f" writing {error.filename}" if error.filename else ""
        return f"disk full{where}; free some space (the last complete checkpoint is kept)"
    if isinstance(error, KeyError):
        return f"missing key {error}"
    if isinstance(error, KeyboardInterrupt) and not str(error):
        return "interrupted"
    return str(error)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    command = None
    debug = "--debug" in argv or bool(os.environ.get("MINIGEN_DEBUG"))
    if len(argv) >= 2 and argv[0] == "train" and argv[1] in REGISTRY and (
            "-h" in argv or "--help" in argv):
        print(_subparser(parser, "train").format_help())
        print(describe_model(argv[1]))
        print(f"  data sets it takes: {', '.join(accepted_data(get_spec(argv[1])))}")
        return 0
    try:
        args = parser.parse_args(argv)
        command = args.command
        if command is None:  # `minigen` alone: say what it can do
            parser.print_help()
            return 0
        return args.handler(args)
    except SystemExit as exit_request:  # --help, --version, or argparse exiting on its own
        code = exit_request.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_USAGE)
    except BrokenPipeError:
        _stdout_closed()
        return 0
    except TrainingDivergedError as error:
        if debug:
            raise
        _error(command, error)
        return EXIT_DIVERGED
    except (UsageError, CheckpointError, ValueError, TypeError, KeyError, OSError,
            NotImplementedError, MemoryError, KeyboardInterrupt) as error:
        if debug:
            raise
        _error(command, _OneLine(_one_line(error)))
        return EXIT_USAGE


class _OneLine(Exception):
    """A message already phrased for the user."""


BLAS_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# glibc's allocator returns big freed blocks to the kernel at once (mmap above 128 KiB,
# trim above 128 KiB), so a model that allocates the same large temporaries every step
# page-faults them back in each time: 12-18% of Row LSTM's CPU went to the kernel.
# Fixed thresholds keep such blocks in the heap (a Row LSTM run: 4.4 s -> 0.15 s of system
# time, byte-identical weights).
MALLOC_VARIABLES = {"MALLOC_MMAP_THRESHOLD_": str(256 * 2**20),
                    "MALLOC_TRIM_THRESHOLD_": str(512 * 2**20)}


def console_main() -> NoReturn:
    """The ``minigen`` console script and ``python -m minigen``: ``main`` on one BLAS thread.

    minigen's models multiply small matrices, which a second BLAS thread does not speed up
    and, on a busy machine, slows down several-fold (10 VAE epochs here: 1.1 s on one
    thread, 4.3 s on two while another job ran). BLAS reads its thread count when NumPy is
    loaded, and glibc its allocator thresholds (``MALLOC_VARIABLES``) when the process
    starts, so when the user set none of the thread variables, or not the allocator's,
    the process starts again with them set. Set any of them to choose yourself.
    """
    wanted = {}
    if not any(name in os.environ for name in BLAS_THREAD_VARIABLES):
        wanted.update(dict.fromkeys(BLAS_THREAD_VARIABLES, "1"))
    if sys.platform.startswith("linux"):
        wanted.update({name: value for name, value in MALLOC_VARIABLES.items()
                       if name not in os.environ})
    if wanted:
        os.environ.update(wanted)
        try:
            os.execv(sys.executable, [sys.executable, "-m", "minigen", *sys.argv[1:]])
        except OSError:
            pass  # cannot start again (unusual platform): run as we are
    try:
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:
        _stdout_closed()
        status = 0
    raise SystemExit(status)

"""One training step of the current code against an older commit's, in the same run.

    python benchmarks/speedup_vs.py [--ref 9ac248c] [--rounds 7] [--phase-seconds 0.5]
                                    [--threads N] [--models pixelcnn,row_lstm,...]

Issue 11 asks that Row LSTM, Diagonal BiLSTM and Gated PixelCNN train "at least 1.5×
faster than today, measured in the same run against the current code"; "today" is
``--ref``, by default 9ac248c, where the engine's speed work forked. A step is what the
trainer runs for these models: ``before_step``, zero the gradients, ``loss(x, rng)``,
backward, Adam at the registry's learning rate, ``after_step`` (the hooks only where the
code has them), on one batch of the registry's size.

How the two codes are kept apart and compared fairly:

* the old code is ``git archive REF`` unpacked into a temporary directory, removed at the
  end; nothing in the checkout or its ``.git`` changes. The "new" code is this checkout's
  working tree as it is, uncommitted edits included;
* each code runs in its own child process with ``PYTHONPATH`` set to its tree (a child
  checks that ``minigen`` and ``autograd`` came from there), both alive for the whole run
  and idle while the other is timed, with the same BLAS/OpenMP thread count and the glibc
  malloc settings of ``harness.py``;
* first the old child builds each model (seed 0), draws the batch, starts the VQ-VAE's
  codebook, and saves weights and batch; the new child loads them (a name the current
  code does not know is matched to the saved name it ends with, or that ends with it: the
  heads moved into ``head.`` after the fork) and both losses must agree to 1e-6 relative,
  so the two children time the same computation from the same weights;
* then old and new phases alternate for ``--rounds`` rounds per model (odd rounds new
  first), each phase a 0.3 s pause, one untimed step, then timed steps for at least
  ``--phase-seconds`` (``harness.timed_phase``). The table gives the median step time of
  each and the speedup, the median over rounds of old round median / new round median.

By default it runs at 1 thread and at the machine default and prints one table with both.
Numbers from a busy machine are noisy; fewer than 5 rounds is for checking the script.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import IO, Any

# Run as `python benchmarks/speedup_vs.py`, Python puts benchmarks/ first on sys.path.
import harness  # stdlib only at import: the parent process never loads NumPy

CURRENT_TREE = Path(__file__).resolve().parents[1]
DEFAULT_REF = "9ac248c"
MODELS = ("pixelcnn", "gated_pixelcnn", "row_lstm", "diagonal_bilstm", "vqvae", "vae")
CONTINUOUS = {"vqvae"}  # [0, 1] images; the others see binary pixels
IMAGE_SHAPE = (1, 8, 8)
TOLERANCE = 1e-6
CHECK_STEPS = 3
CHECKED = ("loss", "gradient norm", f"loss after {CHECK_STEPS} steps")


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--ref", default=DEFAULT_REF, help="the old commit (any git ref)")
    parser.add_argument("--rounds", type=int, default=7, help="alternating old/new rounds")
    parser.add_argument("--phase-seconds", type=float, default=0.5,
                        help="minimum timed seconds per phase")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS/OpenMP threads (default: 1 and the machine default)")
    parser.add_argument("--models", default=",".join(MODELS),
                        help=f"comma-separated registry names (default: {','.join(MODELS)})")
    parser.add_argument("--child", choices=("old", "new"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    return args


# ----- the child: one tree's minigen, driven by JSON lines on stdin ---------------------


class Driver:
    """Builds, checks and times training steps with the minigen on ``sys.path``.

    Written against the registry/Module API both trees share (``registry.build``,
    ``get_spec``, ``state_dict``/``load_state_dict``, ``loss(x, rng)``, ``minigen.optim.Adam``);
    an older tree that differs more is adapted here, nowhere else.
    """

    def __init__(self, tree: Path) -> None:
        import numpy as np

        import autograd
        import minigen
        from minigen.models import registry
        from minigen.optim import Adam

        for module in (minigen, autograd):
            if not Path(module.__file__).resolve().is_relative_to(tree):
                raise RuntimeError(f"{module.__name__} was imported from {module.__file__}, "
                                   f"not from {tree}: PYTHONPATH did not win")
        self.np, self.autograd, self.registry, self.adam = np, autograd, registry, Adam
        self.steps: dict[str, Any] = {}

    def build(self, name: str) -> Any:
        model = self.registry.build(name, IMAGE_SHAPE, self.np.random.default_rng(0))
        model.train()
        return model

    def batch(self, name: str) -> Any:
        np = self.np
        draw = np.random.default_rng(1).random(
            (self.registry.get_spec(name).batch_size, *IMAGE_SHAPE))
        return draw.astype(np.float32) if name in CONTINUOUS else (draw < 0.4).astype(np.float32)

    def start_codebook(self, model: Any, x: Any) -> None:
        """The VQ-VAE starts its codebook on the first batch: in ``before_step`` now, inside
        the first training-mode ``loss`` at the fork. A no-op for the other models."""
        rng = self.np.random.default_rng(0)
        if hasattr(model, "before_step"):
            model.before_step(x, rng)
        elif hasattr(model, "codebook_initialised"):
            with self.autograd.no_grad():
                model.loss(x, rng)

    def check_loss(self, model: Any, x: Any) -> float:
        with self.autograd.no_grad():
            return float(model.loss(x, self.np.random.default_rng(2)).data)

    def gradient_norm(self, model: Any, x: Any) -> float:
        """‖∇θ loss‖ over every parameter: unlike the loss near initialisation, it moves
        when any layer's computation does."""
        model.zero_grad()
        model.loss(x, self.np.random.default_rng(2)).backward()
        squares = sum(float((self.np.asarray(parameter.grad, dtype=self.np.float64) ** 2).sum())
                      for parameter in model.parameters() if parameter.grad is not None)
        model.zero_grad()
        return squares ** 0.5

    def prepare(self, name: str, save: str) -> dict:
        """Build the model, start it on the batch, save weights and batch to ``save``."""
        model, x = self.build(name), self.batch(name)
        self.start_codebook(model, x)
        state = {f"state/{key}": self.np.asarray(value)
                 for key, value in model.state_dict().items()}
        self.np.savez(save, x=x, **state)
        return self.ready(name, model, x)

    def load(self, name: str, source: str) -> dict:
        """Build the model and load the weights and batch another tree saved."""
        model = self.build(name)
        with self.np.load(source, allow_pickle=False) as saved:
            x = saved["x"]
            state = {key[len("state/"):]: saved[key] for key in saved.files
                     if key.startswith("state/")}
        model.load_state_dict(matched_state(state, list(model.state_dict())))
        return self.ready(name, model, x)

    def ready(self, name: str, model: Any, x: Any) -> dict:
        """Keep the model's training step for ``time``; return the figures both trees must
        agree on: the loss and the gradient's norm, then the loss after ``CHECK_STEPS``
        steps (at initialisation every logit is near 0 and the loss near 64 log 2 whatever
        most layers do; the gradient and the steps tell networks and Adam apart)."""
        before = [self.check_loss(model, x), self.gradient_norm(model, x)]
        optimizer = self.adam(model.parameters(), lr=self.registry.get_spec(name).lr)
        rng = self.np.random.default_rng(3)  # the VAE's ε, the same stream in both trees

        def step() -> None:
            if hasattr(model, "before_step"):
                model.before_step(x, rng)
            optimizer.zero_grad()
            model.loss(x, rng).backward()
            optimizer.step()
            if hasattr(model, "after_step"):
                model.after_step()

        self.steps[name] = step
        for _ in range(CHECK_STEPS):
            step()
        return {"losses": [*before, self.check_loss(model, x)]}

    def time(self, name: str, seconds: float) -> dict:
        return {"times": harness.timed_phase(self.steps[name], seconds)}


def matched_state(state: dict[str, Any], wanted: list[str]) -> dict[str, Any]:
    """``state`` renamed to the ``wanted`` keys. A wanted key missing from the state takes
    the one saved key it ends with, or that ends with it, at a dot ("head.output.weight"
    ← "output.weight"); no match, or two, stops with both key lists."""
    renamed = {}
    for key in wanted:
        if key in state:
            renamed[key] = state[key]
            continue
        candidates = [saved for saved in state if saved not in wanted
                      and (key.endswith("." + saved) or saved.endswith("." + key))]
        if len(candidates) != 1:
            raise KeyError(f"no single saved weight for {key!r} (candidates {candidates}); "
                           f"saved keys {sorted(state)}")
        renamed[key] = state[candidates[0]]
    return renamed


def run_child(tree: Path) -> None:
    """Answer one JSON command per stdin line with one JSON line; anything else the
    libraries print goes to stderr, so it cannot break the protocol."""
    channel: IO[str] = sys.stdout
    sys.stdout = sys.stderr
    driver = Driver(tree)
    commands = {"prepare": driver.prepare, "load": driver.load, "time": driver.time}
    for line in sys.stdin:
        request = json.loads(line)
        reply = commands[request.pop("command")](**request)
        channel.write(json.dumps(reply) + "\n")
        channel.flush()


# ----- the parent: two children per thread count, alternating ----------------------------


class Child:
    """A child process running one tree's code, asked one command at a time."""

    def __init__(self, role: str, tree: Path, threads: int) -> None:
        env = {**os.environ, **harness.MALLOC_SETTINGS, "PYTHONPATH": str(tree),
               **{name: str(threads) for name in harness.THREAD_VARIABLES}}
        self.role = role
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--child", role],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
            cwd=tree)

    def ask(self, command: str, **arguments: Any) -> dict:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"command": command, **arguments}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            sys.exit(f"speedup_vs.py: the {self.role} code's process stopped during "
                     f"{command!r} (its error is above)")
        return json.loads(line)

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait()


def check_same(name: str, old: float, new: float) -> None:
    if not abs(old - new) <= TOLERANCE * abs(old):
        sys.exit(f"speedup_vs.py: {name}: the old code's {old:.7g} and the current "
                 f"code's {new:.7g} differ on the same weights and batch; the two would "
                 f"not time the same computation")


def measure(old_tree: Path, threads: int, models: list[str], rounds: int,
            phase_seconds: float, folder: str) -> dict[str, dict]:
    """{model: {"old": seconds, "new": seconds, "speedup": ratio}} at ``threads``."""
    children = {"old": Child("old", old_tree, threads), "new": Child("new", CURRENT_TREE,
                                                                      threads)}
    try:
        for name in models:
            saved = os.path.join(folder, f"{name}-{threads}.npz")
            old_losses = children["old"].ask("prepare", name=name, save=saved)["losses"]
            new_losses = children["new"].ask("load", name=name, source=saved)["losses"]
            for when, old_loss, new_loss in zip(CHECKED, old_losses, new_losses):
                check_same(f"{name} {when}", old_loss, new_loss)
        results = {}
        for name in models:
            times: dict[str, list[float]] = {"old": [], "new": []}
            ratios = []
            for round_index in range(rounds):
                order = ("old", "new") if round_index % 2 == 0 else ("new", "old")
                medians = {}
                for role in order:
                    phase = children[role].ask("time", name=name,
                                               seconds=phase_seconds)["times"]
                    times[role] += phase
                    medians[role] = statistics.median(phase)
                ratios.append(medians["old"] / medians["new"])
            results[name] = {"old": statistics.median(times["old"]),
                             "new": statistics.median(times["new"]),
                             "speedup": statistics.median(ratios)}
        return results
    finally:
        for child in children.values():
            child.close()


def unpack(ref: str, folder: Path) -> str:
    """``git archive ref`` into ``folder``; returns the commit it names."""
    commit = subprocess.run(["git", "-C", str(CURRENT_TREE), "rev-parse", "--short",
                             f"{ref}^{{commit}}"], check=True, capture_output=True,
                            text=True).stdout.strip()
    archive = subprocess.Popen(["git", "-C", str(CURRENT_TREE), "archive", "--format=tar",
                                commit], stdout=subprocess.PIPE)
    with tarfile.open(fileobj=archive.stdout, mode="r|") as tar:
        tar.extractall(folder, filter="data")
    if archive.wait():
        sys.exit(f"speedup_vs.py: git archive {commit} failed")
    return commit


def describe_current() -> str:
    return subprocess.run(["git", "-C", str(CURRENT_TREE), "describe", "--always", "--dirty"],
                          capture_output=True, text=True).stdout.strip() or "this tree"


def table(results: dict[int, dict[str, dict]], models: list[str]) -> str:
    header = ["model"]
    for threads in results:
        label = f"{threads} thread" + ("s" if threads > 1 else "")
        header += [f"old ms, {label}", f"new ms, {label}", f"speedup, {label}"]
    cells = []
    for name in models:
        row = [name]
        for by_model in results.values():
            figures = by_model[name]
            row += [f"{figures['old'] * 1e3:.2f}", f"{figures['new'] * 1e3:.2f}",
                    f"{figures['speedup']:.2f}×"]
        cells.append(row)
    return harness.markdown_table(header, cells)


def main() -> None:
    args = parse_arguments()
    if args.child:
        run_child(Path(os.environ["PYTHONPATH"]).resolve())
        return
    models = [name for name in args.models.split(",") if name]
    counts = [args.threads] if args.threads else sorted({1, harness.machine_threads()})
    with tempfile.TemporaryDirectory(prefix="speedup_vs-") as folder:
        old_tree = Path(folder) / "old"
        old_tree.mkdir()
        commit = unpack(args.ref, old_tree)
        results = {threads: measure(old_tree, threads, models, args.rounds,
                                    args.phase_seconds, folder) for threads in counts}
    note = "; fewer than 5 rounds: for checking the script only" if args.rounds < 5 else ""
    print(f"one training step (loss, backward, Adam), registry batch sizes and lr, old = "
          f"{commit} ({args.ref}), new = {describe_current()}; {', '.join(CHECKED)} equal "
          f"to {TOLERANCE:g} relative first; {args.rounds} alternating rounds{note}\n")
    print(table(results, models))


if __name__ == "__main__":
    main()

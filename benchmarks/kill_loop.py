"""Kill a training run with SIGKILL at random instants and check that nothing is lost.

Each round starts (or resumes) ``minigen train MODEL`` in one run directory, kills it with
``kill -9`` after a random delay, then checks that the run directory still loads as a
whole (``minigen eval`` and ``minigen sample`` exit 0, or the run had not finished its
first epoch), and resumes. At the end the run is resumed to completion and its weights
are compared with an uninterrupted run of the same seed: they must be bit-identical.

    python benchmarks/kill_loop.py                 # 20 kills of a 40-epoch VAE run
    python benchmarks/kill_loop.py --rounds 5 --model nade --epochs 6

Prints one line per kill and a summary table. Exit status 1 if any check failed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from minigen.checkpoint import CheckpointError, checkpoint_dir, load_checkpoint  # noqa: E402


def minigen(*argv: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "minigen", *argv], capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=ROOT)


def start(*argv: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "minigen", *argv], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="vae")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0, help="seeds the kill instants")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    work = Path(tempfile.mkdtemp(prefix="minigen-kill-loop-"))
    run, straight = work / "killed", work / "straight"
    train = ["train", args.model, "--epochs", str(args.epochs), "--no-progress", "--seed", "1"]

    began = time.perf_counter()
    reference = minigen(*train, "--out", str(straight))
    if reference.returncode != 0:
        print(reference.stderr)
        return 1
    full_time = time.perf_counter() - began
    print(f"uninterrupted {args.model}, {args.epochs} epochs: {full_time:.1f} s "
          "(startup included)")

    failures, epochs_seen = [], []
    for round_number in range(1, args.rounds + 1):
        resume = ["--resume"] if checkpoint_dir(run) is not None else []
        process = start(*train, "--out", str(run), *resume)
        delay = float(rng.uniform(0.5, max(1.0, 0.25 * full_time)))
        time.sleep(delay)
        finished = process.poll() is not None
        if not finished:
            process.send_signal(signal.SIGKILL)
        process.wait()
        try:
            epoch = load_checkpoint(run)[3]["epoch"] if checkpoint_dir(run) else 0
        except CheckpointError as error:
            failures.append(f"round {round_number}: {error}")
            epoch = -1
        checks = "no checkpoint yet"
        if epoch > 0:
            evaluated = minigen("eval", str(run), timeout=600)
            sampled = minigen("sample", str(run), "-n", "4", "--out", str(work / "s.png"),
                              timeout=600)
            ok = evaluated.returncode == 0 and sampled.returncode == 0
            checks = "eval and sample ok" if ok else "eval/sample FAILED"
            if not ok:
                failures.append(f"round {round_number}: {evaluated.stderr}{sampled.stderr}")
        epochs_seen.append(epoch)
        status = "finished before the kill" if finished else f"killed after {delay:.2f} s"
        print(f"round {round_number:2d}: {status}; checkpoint at epoch {epoch}; {checks}")

    done = minigen(*train, "--out", str(run), *(["--resume"] if checkpoint_dir(run) else []))
    if done.returncode != 0:
        failures.append(f"final resume: {done.stderr}")
    else:
        final, reference_weights = load_checkpoint(run)[0], load_checkpoint(straight)[0]
        identical = all(np.array_equal(final[key], value)
                        for key, value in reference_weights.items())
        if not identical:
            failures.append("the resumed run differs from the uninterrupted one")
        print(f"resumed to the end: weights {'bit-identical to' if identical else 'DIFFER from'}"
              " the uninterrupted run")
    print()
    print("| kills | loadable after every kill | eval+sample ok | resumed = uninterrupted |")
    print("|---|---|---|---|")
    loadable = sum(1 for epoch in epochs_seen if epoch >= 0)
    print(f"| {args.rounds} | {loadable}/{args.rounds} | "
          f"{'yes' if not any('eval' in f for f in failures) else 'no'} | "
          f"{'yes' if not any('differs' in f or 'final' in f for f in failures) else 'no'} |")
    for failure in failures:
        print("FAILURE:", failure)
    shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())

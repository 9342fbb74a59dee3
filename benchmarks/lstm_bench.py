"""minigen.nn.LSTM against torch.nn.LSTM on the CPU: forward + backward of output.sum().

    MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 \\
        python benchmarks/lstm_bench.py [--rounds 7] [--threads 1]

Sequence 64, batch 32, input 128, hidden 128, float32, one layer. Both run in this process,
alternating, for ``--rounds`` rounds; before each timed phase the script sleeps 0.3 s and
makes one untimed call (the other library's BLAS threads may still be spinning). It prints
a Markdown table of median milliseconds per call and the median of the per-round ratios.
Both libraries use ``--threads`` threads (default 1: fair on a shared machine).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

THREADS = next((a.split("=")[1] for a in sys.argv if a.startswith("--threads=")), None)
if THREADS is None and "--threads" in sys.argv:
    THREADS = sys.argv[sys.argv.index("--threads") + 1]
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, THREADS or "1")  # before NumPy loads its BLAS

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import autograd as ag  # noqa: E402
from minigen.nn import LSTM  # noqa: E402

SEQUENCE, BATCH, INPUT, HIDDEN = 64, 32, 128, 128


def timed_phase(run: Callable[[], None], repeat: int) -> float:
    """Pause, warm up once, then the mean seconds per call over ``repeat`` calls."""
    time.sleep(0.3)
    run()
    start = time.perf_counter()
    for _ in range(repeat):
        run()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per phase")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.rounds < 5:
        parser.error("--rounds must be at least 5")
    torch.set_num_threads(args.threads)

    rng = np.random.default_rng(0)
    ours = LSTM(INPUT, HIDDEN, rng=rng)
    theirs = torch.nn.LSTM(INPUT, HIDDEN)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    x = rng.standard_normal((SEQUENCE, BATCH, INPUT)).astype(np.float32)
    torch_x = torch.tensor(x)

    def ours_train() -> None:
        ours.zero_grad()
        output, _ = ours(x)
        output.sum().backward()

    def theirs_train() -> None:
        theirs.zero_grad()
        output, _ = theirs(torch_x)
        output.sum().backward()

    def ours_forward() -> None:
        with ag.no_grad():
            ours(x)

    def theirs_forward() -> None:
        with torch.no_grad():
            theirs(torch_x)

    phases = {"forward + backward": (ours_train, theirs_train),
              "forward only (no grad)": (ours_forward, theirs_forward)}
    rows = []
    for name, (mine, reference) in phases.items():
        mine_times, reference_times = [], []
        for _ in range(args.rounds):
            mine_times.append(timed_phase(mine, args.repeat))
            reference_times.append(timed_phase(reference, args.repeat))
        ratios = np.array(mine_times) / np.array(reference_times)
        rows.append((name, 1e3 * np.median(mine_times), 1e3 * np.median(reference_times),
                     np.median(ratios)))

    print(f"LSTM seq {SEQUENCE}, batch {BATCH}, input {INPUT}, hidden {HIDDEN}, float32; "
          f"{args.rounds} alternating rounds × {args.repeat} calls; "
          f"{args.threads} thread(s); torch {torch.__version__}, numpy {np.__version__}\n")
    print("| phase | minigen (ms) | torch (ms) | median ratio |")
    print("|---|---:|---:|---:|")
    for name, mine_ms, reference_ms, ratio in rows:
        print(f"| {name} | {mine_ms:.1f} | {reference_ms:.1f} | {ratio:.2f}× |")


if __name__ == "__main__":
    main()

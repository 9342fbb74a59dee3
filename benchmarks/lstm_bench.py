"""minigen.nn.LSTM against torch.nn.LSTM on the CPU: forward + backward of output.sum().

    python benchmarks/lstm_bench.py [--rounds 7] [--phase-seconds 0.25] [--threads N]

Sequence 64, batch 32, input 128, hidden 128, float32, one layer, torch's weights copied
from ours; also forward only, without recording a graph. Timing is benchmarks/harness.py's:
glibc malloc settings applied by re-exec, ``--threads`` BLAS threads for both libraries,
both in this process alternating for ``--rounds`` rounds, each timed phase preceded by a
0.3 s pause and one untimed call; by default at 1 thread and at the machine default, in
one Markdown table of median time per call and the median of the per-round ratios. The
peak-memory rows (forward + backward at T = 64, 256, 1024) are in ``models_bench.py``.
Needs torch.
"""

from __future__ import annotations

# Run as `python benchmarks/lstm_bench.py`, Python puts benchmarks/ first on sys.path,
# so the sibling harness imports by name.
import harness

ARGS = harness.start(__doc__)  # before NumPy: pins BLAS threads, may re-execute

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import autograd as ag  # noqa: E402
from minigen.nn import LSTM  # noqa: E402

torch = harness.import_torch(ARGS.threads)
if torch is None:
    sys.exit("lstm_bench.py compares against torch.nn.LSTM: install torch")

SEQUENCE, BATCH, INPUT, HIDDEN = 64, 32, 128, 128


def main() -> None:
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

    rows = harness.compare(
        {"forward + backward": ours_train, "forward only (no grad)": ours_forward},
        {"forward + backward": theirs_train, "forward only (no grad)": theirs_forward},
        ARGS.rounds, ARGS.phase_seconds)

    harness.report(ARGS, f"LSTM seq {SEQUENCE}, batch {BATCH}, input {INPUT}, hidden {HIDDEN}, "
                         f"float32; {ARGS.rounds} alternating rounds × ≥ {ARGS.phase_seconds} s "
                         f"phases; torch {torch.__version__}, numpy {np.__version__}", rows)


if __name__ == "__main__":
    main()

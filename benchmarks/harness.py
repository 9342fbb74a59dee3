"""What every "ours vs torch" benchmark shares: process set-up, alternating timing, tables.

A fair comparison on a small shared machine needs three things (DESIGN.md, "How we know it
is right"):

* glibc settings ``MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824``:
  without them torch's conv time swings by up to 2× because the allocator returns and
  re-maps its large buffers on every call. glibc reads them once, at start-up, so the
  process re-executes itself when they are missing;
* the same number of BLAS/OpenMP threads for both libraries, fixed before NumPy loads its
  BLAS (and the same for both: two libraries' default pools would oversubscribe the cores);
* both libraries in one process, alternating phases for several rounds; before each timed
  phase a 0.3 s pause and one untimed call, because the other library's threads keep
  spinning for a while and slow whichever runs next.

Users run NumPy and torch at their default thread count (all cores: 2 here), and a
steady measurement wants 1, so by default every speed table has both: ``start`` runs the
script once per thread count, each in a fresh process (BLAS fixes its threads at import),
and merges the rows the children ``report`` into one table. ``--threads N`` runs once.

A script uses it in this order::

    import harness                   # stdlib only: safe before NumPy
    ARGS = harness.start(__doc__)    # before ``import numpy``: may re-execute the process
    import numpy as np               # now with the pinned thread count
    torch = harness.import_torch(ARGS.threads)
    rows = harness.compare(ours, theirs, ARGS.rounds, ARGS.phase_seconds)
    harness.report(ARGS, title, rows)   # one table, or rows for the merged table

This module must not import NumPy or torch at module level, or ``start`` would come too
late to pin their threads.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

MALLOC_SETTINGS = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "1073741824"}
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
PAUSE_SECONDS = 0.3
MIN_CALLS_PER_PHASE = 3

Step = Callable[[], None]


def start(description: str, phase_seconds: float = 0.25,
          add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
          ) -> argparse.Namespace:
    """Parse ``--rounds``, ``--phase-seconds``, ``--threads`` and fix the environment.

    Must be called at the very top of a script, before NumPy (or torch, or anything that
    imports them) is imported: BLAS reads its thread count when NumPy loads, and glibc
    reads the malloc settings when the process starts, so when those are missing this
    function replaces the process with a fresh one that has them (``os.execv``; the new
    process runs the script from the top and gets here again with nothing to change).

    Parameters
    ----------
    description : the script's docstring; its first line is the ``--help`` summary.
    phase_seconds : default of ``--phase-seconds``, the minimum timed seconds per phase.
    add_arguments : adds a script's own options to the parser.
    """
    if "numpy" in sys.modules or "torch" in sys.modules:
        raise RuntimeError("harness.start() must run before numpy or torch is imported "
                           "(their BLAS thread count is fixed at import)")
    parser = argparse.ArgumentParser(description=description.strip().splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7,
                        help="alternating ours/torch rounds (at least 5)")
    parser.add_argument("--phase-seconds", type=float, default=phase_seconds,
                        help="minimum timed seconds per phase")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS/OpenMP threads for both libraries (default: 1 and the "
                             "machine default, one process each, merged into one table)")
    parser.add_argument("--rows-to", help=argparse.SUPPRESS)  # a child's JSON rows go here
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args()
    if args.rounds < 5:
        parser.error(f"--rounds must be at least 5, got {args.rounds}")
    if args.threads is None:
        sys.exit(_run_each_thread_count())
    os.environ.update({name: str(args.threads) for name in THREAD_VARIABLES})
    if any(os.environ.get(name) != value for name, value in MALLOC_SETTINGS.items()):
        os.environ.update(MALLOC_SETTINGS)
        # orig_argv keeps the interpreter's own flags (-X, -W) as well as the script's.
        os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
    return args


def machine_threads() -> int:
    """What NumPy's BLAS and torch use when nobody sets a thread count: every core."""
    return os.cpu_count() or 1


def _run_each_thread_count() -> int:
    """Run this script at 1 thread and at the machine default; print one merged table."""
    counts = sorted({1, machine_threads()})
    reports = []
    with tempfile.TemporaryDirectory() as folder:
        for threads in counts:
            rows_file = os.path.join(folder, f"rows-{threads}.json")
            command = [sys.executable, *sys.orig_argv[1:], "--threads", str(threads),
                       "--rows-to", rows_file]
            completed = subprocess.run(command, check=False)
            if completed.returncode:
                return completed.returncode
            if os.path.exists(rows_file):
                with open(rows_file) as handle:
                    reports.append((threads, json.load(handle)))
    for title, threads_rows in _merge(reports):
        print(f"{title}\n")
        print(_both_counts_table(threads_rows) + "\n")
    return 0


def _merge(reports: list[tuple[int, list[dict]]]) -> list[tuple[str, list[tuple[int, dict]]]]:
    """[(threads, [table, …])] -> [(title, [(threads, table), …])], tables in order."""
    titles: dict[str, list[tuple[int, dict]]] = {}
    for threads, tables in reports:
        for table in tables:
            titles.setdefault(table["title"], []).append((threads, table))
    return list(titles.items())


def _both_counts_table(threads_tables: list[tuple[int, dict]]) -> str:
    header = ["case"]
    for threads, _ in threads_tables:
        label = f"{threads} thread" + ("s" if threads > 1 else "")
        header += [f"ours, {label}", f"torch, {label}", f"ratio, {label}"]
    first = threads_tables[0][1]
    if first.get("notes"):
        header.append("note")
    cells = []
    for index, row in enumerate(first["rows"]):
        line = [row["name"]]
        for _, table in threads_tables:
            other = table["rows"][index]
            line += [format_seconds(other["ours_seconds"]),
                     format_seconds(other["torch_seconds"]), format_ratio(other["ratio"])]
        if first.get("notes"):
            line.append(first["notes"].get(row["name"], ""))
        cells.append(line)
    return markdown_table(header, cells)


def report(args: argparse.Namespace, title: str, rows: list[Row],
           notes: dict[str, str] | None = None) -> None:
    """Print ``rows`` as a table, or, in a child of the both-thread-counts run, save them
    for the merged table. ``notes`` maps a row name to a last column (e.g. its target)."""
    table = {"title": title, "rows": [dataclasses.asdict(row) for row in rows],
             "notes": notes or {}}
    if args.rows_to:
        tables = []
        if os.path.exists(args.rows_to):
            with open(args.rows_to) as handle:
                tables = json.load(handle)
        with open(args.rows_to, "w") as handle:
            json.dump(tables + [table], handle)
        return
    print(f"{title} ({args.threads} thread(s))\n")
    print(_both_counts_table([(args.threads, table)]) + "\n")


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    return f"{seconds * 1e3:.2f} ms"


def format_ratio(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio:.2f}×"


def import_torch(threads: int) -> ModuleType | None:
    """torch with ``threads`` intra-op threads, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    return torch


@dataclass
class Row:
    """One case of :func:`compare`; times are seconds per call, torch fields None without it."""

    name: str
    ours_seconds: float
    torch_seconds: float | None
    ratio: float | None  # median over rounds of median(ours round) / median(torch round)
    round_ratios: list[float]


def timed_phase(step: Step, seconds: float) -> list[float]:
    """Pause, call once untimed, then time single calls until ``seconds`` have passed."""
    time.sleep(PAUSE_SECONDS)
    step()  # warms caches and lets the other library's threads go quiet
    times: list[float] = []
    phase_start = time.perf_counter()
    while len(times) < MIN_CALLS_PER_PHASE or time.perf_counter() - phase_start < seconds:
        call_start = time.perf_counter()
        step()
        times.append(time.perf_counter() - call_start)
    return times


def compare(cases_ours: dict[str, Step], cases_torch: dict[str, Step] | None,
            rounds: int, phase_seconds: float) -> list[Row]:
    """Time each case in both libraries, alternating phases, one :class:`Row` per case.

    A round times our phase and torch's phase for a case; odd rounds run torch first so
    neither library always follows the other. ``cases_torch`` must have the same keys as
    ``cases_ours``, or be None (only our times are measured).
    """
    if cases_torch is not None and cases_torch.keys() != cases_ours.keys():
        raise ValueError(f"cases_torch has keys {sorted(cases_torch)}, expected the keys of "
                         f"cases_ours {sorted(cases_ours)}")
    rows = []
    for name, ours in cases_ours.items():
        ours_times: list[float] = []
        torch_times: list[float] = []
        round_ratios: list[float] = []
        for round_index in range(rounds):
            if cases_torch is None:
                ours_times += timed_phase(ours, phase_seconds)
                continue
            if round_index % 2 == 0:
                ours_round = timed_phase(ours, phase_seconds)
                torch_round = timed_phase(cases_torch[name], phase_seconds)
            else:
                torch_round = timed_phase(cases_torch[name], phase_seconds)
                ours_round = timed_phase(ours, phase_seconds)
            ours_times += ours_round
            torch_times += torch_round
            round_ratios.append(statistics.median(ours_round) / statistics.median(torch_round))
        rows.append(Row(
            name=name,
            ours_seconds=statistics.median(ours_times),
            torch_seconds=statistics.median(torch_times) if torch_times else None,
            ratio=statistics.median(round_ratios) if round_ratios else None,
            round_ratios=round_ratios,
        ))
    return rows


def markdown_table(header: list[str], cells: list[list[str]]) -> str:
    """A Markdown table: the first column left-aligned, the others (numbers) right-aligned."""
    for row in cells:
        if len(row) != len(header):
            raise ValueError(f"row {row} has {len(row)} cells, expected {len(header)} "
                             f"(one per header entry)")
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)

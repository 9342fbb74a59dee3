"""The minigen command line: every subcommand in a temporary directory, errors as one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigen import cli
from minigen.checkpoint import checkpoint_dir
from minigen.cli import main, parse_overrides
from minigen.models.registry import REGISTRY
from tests.test_plot import assert_valid_png
from tests.test_train import register_dummies

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _in_tmp_with_dummies(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    register_dummies(monkeypatch)
    monkeypatch.chdir(tmp_path)


def _run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _assert_one_line_error(err: str, *fragments: str) -> None:
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err


def test_list_prints_one_aligned_line_per_model_name_first(capsys: pytest.CaptureFixture
                                                          ) -> None:
    code, out, _ = _run(capsys, "list")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == len(REGISTRY)
    for line, spec in zip(lines, REGISTRY.values()):
        name, family, description = line.split(maxsplit=2)
        assert (name, family, description) == (spec.name, spec.family, spec.description)
    assert len({line.index(spec.family, len(spec.name)) for line, spec in
                zip(lines, REGISTRY.values())}) == 1  # the family column is aligned


def test_train_writes_the_run_directory_and_prints_the_metrics(capsys: pytest.CaptureFixture,
                                                               tmp_path: Path) -> None:
    code, out, err = _run(capsys, "train", "test-latent", "--epochs", "2", "--no-progress")
    assert code == 0, err
    run_dir = tmp_path / "runs" / "test-latent"
    expected = {"checkpoint-000002", "checkpoint.json", ".lock",
                "metrics.json", "history.json", "loss.png", "samples.png",
                "reconstructions.png", "latent.png", "completions.png"}
    assert {p.name for p in run_dir.iterdir()} == expected
    assert {p.name for p in (run_dir / "checkpoint-000002").iterdir()} == {
        "model.npz", "optimizer.npz", "config.json", "trainer_state.json"}
    for png in run_dir.glob("*.png"):
        assert_valid_png(png)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert {"elbo", "iwae_50", "nll"} <= set(metrics)
    assert "runs/test-latent" in out and "elbo" in out and "2 epochs" in out


def test_train_options_reach_the_run_config(capsys: pytest.CaptureFixture, tmp_path: Path
                                            ) -> None:
    code, _, err = _run(capsys, "train", "test-coins", "--data", "bars-and-stripes-4",
                        "--epochs", "1", "--batch-size", "1000", "--lr", "0.05", "--seed", "7",
                        "--out", "elsewhere", "--no-progress", "--set", "noise=0.0")
    assert code == 0, err
    config = json.loads((checkpoint_dir(tmp_path / "elsewhere") / "config.json").read_text())
    assert (config["data"], config["epochs"], config["batch_size"], config["lr"],
            config["seed"]) == ("bars-and-stripes-4", 1, 1000, 0.05, 7)
    assert config["hparams"] == {"noise": 0.0}


def test_resume_continues_a_run_to_more_epochs(capsys: pytest.CaptureFixture, tmp_path: Path
                                               ) -> None:
    assert _run(capsys, "train", "test-coins", "--epochs", "1", "--no-progress")[0] == 0
    code, out, _ = _run(capsys, "train", "test-coins", "--epochs", "3", "--resume",
                        "--no-progress")
    assert code == 0 and "3 epochs" in out
    history = json.loads((tmp_path / "runs/test-coins/history.json").read_text())
    assert [entry["epoch"] for entry in history["test"]] == [1, 2, 3]


def test_sample_and_eval_read_a_trained_run_and_eval_reproduces_its_metrics(
    capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    assert _run(capsys, "train", "test-coins", "--epochs", "1", "--no-progress")[0] == 0
    run_dir = tmp_path / "runs" / "test-coins"

    code, out, _ = _run(capsys, "sample", str(run_dir), "-n", "12", "--seed", "3")
    assert code == 0 and "samples_cli.png" in out
    assert_valid_png(run_dir / "samples_cli.png")
    assert _run(capsys, "sample", str(run_dir), "--out", "mine.png")[0] == 0
    assert_valid_png(tmp_path / "mine.png")

    trained_metrics = json.loads((run_dir / "metrics.json").read_text())
    (run_dir / "metrics.json").unlink()
    code, out, _ = _run(capsys, "eval", str(run_dir))
    assert code == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics == trained_metrics  # same weights, same evaluation generator
    for key in metrics:
        assert key in out


def test_sample_and_eval_of_conditional_and_two_player_runs(capsys: pytest.CaptureFixture,
                                                            tmp_path: Path) -> None:
    for name in ("test-conditional", "test-two-player"):
        assert _run(capsys, "train", name, "--epochs", "1", "--no-progress")[0] == 0
        assert _run(capsys, "sample", f"runs/{name}", "-n", "20")[0] == 0
        assert_valid_png(tmp_path / "runs" / name / "samples_cli.png")
        assert _run(capsys, "eval", f"runs/{name}")[0] == 0


def test_unknown_model_exits_2_listing_the_valid_ones(capsys: pytest.CaptureFixture) -> None:
    code, _, err = _run(capsys, "train", "no-such-model")
    assert code == 2
    _assert_one_line_error(err, "no-such-model", "valid models:", "test-coins")


@pytest.mark.parametrize("argv, fragment", [
    (["train", "test-coins", "--epochs", "0"], "--epochs"),
    (["train", "test-coins", "--lr", "fast"], "--lr"),
    (["train", "test-coins", "--data", "nope"], "unknown data set 'nope'"),
    (["train", "test-coins", "--set", "noise"], "key=value"),
    (["train", "test-coins", "--set", "colour=3", "--no-progress"], "colour"),
    (["sample", "x", "-n", "-3"], "-n"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_arguments_exit_2_with_one_line(capsys: pytest.CaptureFixture, argv: list[str],
                                            fragment: str) -> None:
    code, _, err = _run(capsys, *argv)
    assert code == 2
    _assert_one_line_error(err, fragment)


@pytest.mark.parametrize("command", ["sample", "eval"])
def test_missing_or_corrupt_run_directory_exits_2_with_one_line(
    capsys: pytest.CaptureFixture, command: str, tmp_path: Path
) -> None:
    code, _, err = _run(capsys, command, "runs/missing")
    assert code == 2
    _assert_one_line_error(err, "runs/missing", "does not exist")

    assert _run(capsys, "train", "test-coins", "--epochs", "1", "--no-progress")[0] == 0
    (checkpoint_dir(tmp_path / "runs/test-coins") / "config.json").write_text("{not json")
    code, _, err = _run(capsys, command, "runs/test-coins")
    assert code == 2
    _assert_one_line_error(err, "config.json is not valid JSON")


def test_a_model_that_cannot_sample_trains_but_sample_exits_2(capsys: pytest.CaptureFixture
                                                             ) -> None:
    code, out, err = _run(capsys, "train", "test-code-only", "--epochs", "1", "--no-progress")
    assert code == 0, err
    assert "samples.png" not in out and "latent.png" in out
    code, _, err = _run(capsys, "sample", "runs/test-code-only")
    assert code == 2
    _assert_one_line_error(err, "no distribution to sample from")


def test_diverged_training_exits_1_naming_the_step(capsys: pytest.CaptureFixture) -> None:
    code, _, err = _run(capsys, "train", "test-diverging", "--no-progress",
                        "--set", "diverge_at=3")
    assert code == 1
    _assert_one_line_error(err, "at step 3")


def test_help_exits_0(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = _run(capsys, "--help")
    assert code == 0 and "train" in out


@given(st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True),
                       st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                                 st.booleans(), st.none(), st.lists(st.integers(), max_size=3),
                                 st.from_regex(r"[a-z]{1,8}", fullmatch=True))))
def test_set_values_are_read_as_python_literals_or_kept_as_strings(values: dict) -> None:
    assignments = [f"{key}={value!r}" if not isinstance(value, str) else f"{key}={value}"
                   for key, value in values.items()]
    parsed = parse_overrides(assignments)
    assert parsed == values


def test_python_dash_m_minigen_runs_and_fails_cleanly(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1"}
    listing = subprocess.run([sys.executable, "-m", "minigen", "list"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=120)
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.count("\n") == len([n for n in REGISTRY if not n.startswith("test-")])
    missing = subprocess.run([sys.executable, "-m", "minigen", "eval", "no/run"], cwd=tmp_path,
                             env=env, capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2
    assert missing.stderr.strip() == "minigen eval: error: run directory no/run does not exist"


class _Restarted(Exception):
    pass


def test_console_script_restarts_itself_on_one_blas_thread_when_none_is_chosen(monkeypatch):
    for name in cli.BLAS_THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    calls = []

    def fake_execv(path, args):
        calls.append((path, list(args), {n: os.environ[n] for n in cli.BLAS_THREAD_VARIABLES}))
        raise _Restarted

    monkeypatch.setattr(os, "execv", fake_execv)
    monkeypatch.setattr(sys, "argv", ["minigen", "list"])
    with pytest.raises(_Restarted):
        cli.console_main()
    assert calls == [(sys.executable, [sys.executable, "-m", "minigen", "list"],
                      dict.fromkeys(cli.BLAS_THREAD_VARIABLES, "1"))]


def test_console_script_keeps_the_users_thread_choice(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    monkeypatch.setattr(os, "execv", lambda *args: pytest.fail("restarted despite the choice"))
    monkeypatch.setattr(cli, "main", lambda argv=None: 0)
    with pytest.raises(SystemExit) as exit_info:
        cli.console_main()
    assert exit_info.value.code == 0 and os.environ["OMP_NUM_THREADS"] == "2"


def test_sample_offers_only_the_models_own_sampling_options(capsys: pytest.CaptureFixture
                                                           ) -> None:
    assert _run(capsys, "train", "test-coins", "--epochs", "1", "--no-progress")[0] == 0
    code, _, err = _run(capsys, "sample", "runs/test-coins", "-n", "4", "--steps", "20")
    assert code == 2
    _assert_one_line_error(err, "--steps", "its sampling options: none")
    code, _, err = _run(capsys, "sample", "runs/test-coins", "-n", "4", "--y", "3")
    assert code == 2
    _assert_one_line_error(err, "not conditioned on labels")


def test_sample_prints_names_from_a_language_model(capsys: pytest.CaptureFixture) -> None:
    assert _run(capsys, "train", "bigram", "--no-progress")[0] == 0
    code, out, err = _run(capsys, "sample", "runs/bigram", "-n", "6", "--temperature", "0.5")
    assert code == 0, err
    names = out.strip().splitlines()[:-1]
    assert len(names) == 6 and all(name.isalpha() and name.islower() for name in names)

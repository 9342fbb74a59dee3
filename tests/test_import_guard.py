"""minigen refuses to run on an `autograd` that is not its own engine (HIPS autograd on PyPI)."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _import_minigen_with(path_first: Path) -> subprocess.CompletedProcess:
    code = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
        "import minigen\n"
    )
    return subprocess.run([sys.executable, "-c", code, str(path_first), str(REPO)],
                          capture_output=True, text=True, timeout=60)


def test_a_foreign_autograd_stops_minigen_with_one_clear_import_error(tmp_path):
    impostor = tmp_path / "autograd"
    impostor.mkdir()
    (impostor / "__init__.py").write_text("grad = None  # stands in for HIPS autograd\n")

    result = _import_minigen_with(tmp_path)

    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("ImportError")
    assert str(impostor) in last_line  # names the package that shadows ours
    assert "HIPS autograd" in last_line and "virtual environment" in last_line


def test_our_own_engine_imports_cleanly(tmp_path):
    result = _import_minigen_with(tmp_path)  # nothing shadows autograd here
    assert result.returncode == 0, result.stderr

"""Imports flow one way (DESIGN.md): autograd ← nn/optim/distributions ← models ←
train/evaluate/plot/checkpoint ← cli; and no model reaches into another family's files.

Every module's imports are read from its source with ``ast``, so the check covers code
paths that a test run would not import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Lower numbers sit lower; a module may import its own layer or any layer below it.
LAYERS: dict[str, int] = {
    "autograd": 0,
    "minigen.data": 0,  # pure NumPy: imports nothing else of ours
    "minigen.checks": 0,
    "minigen.nn": 1,
    "minigen.optim": 1,
    "minigen.distributions": 1,
    "minigen.models": 2,
    "minigen.quality": 2,
    "minigen.train": 3,
    "minigen.evaluate": 3,
    "minigen.plot": 3,
    "minigen.checkpoint": 3,
    "minigen.cli": 4,
    "minigen.__main__": 4,
    "minigen": 4,  # the package's __init__
}
FAMILY_SHARED = {"base", "registry"}  # minigen/models/base.py and registry.py serve all


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer(module: str) -> int | None:
    best = None
    for prefix, rank in LAYERS.items():
        if module == prefix or module.startswith(prefix + "."):
            if best is None or len(prefix) > len(best[0]):
                best = (prefix, rank)
    return None if best is None else best[1]


def _imports(path: Path) -> list[str]:
    """Absolute names of every ``import`` / ``from … import`` in the file."""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names += [f"{module}.{alias.name}" for alias in node.names]
    return [name for name in names if name.split(".")[0] in ("autograd", "minigen")]


def _family(module: str) -> str | None:
    parts = module.split(".")
    if parts[:2] != ["minigen", "models"] or len(parts) < 3 or parts[2] in FAMILY_SHARED:
        return None
    return parts[2]


SOURCES = sorted([*ROOT.joinpath("autograd").rglob("*.py"),
                  *ROOT.joinpath("minigen").rglob("*.py")])


def test_every_module_has_a_layer() -> None:
    unplaced = [_module_name(p) for p in SOURCES if _layer(_module_name(p)) is None]
    assert not unplaced, f"give these modules a layer in LAYERS: {unplaced}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down_the_layers(path: Path) -> None:
    source = _module_name(path)
    wrong = [name for name in _imports(path)
             if (_layer(name) or 0) > (_layer(source) or 0)]
    assert not wrong, f"{source} (layer {_layer(source)}) imports upwards: {wrong}"


@pytest.mark.parametrize("path", [p for p in SOURCES if _family(_module_name(p))],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_model_imports_another_familys_internals(path: Path) -> None:
    family = _family(_module_name(path))
    foreign = [name for name in _imports(path)
               if _family(name) is not None and _family(name) != family]
    assert not foreign, f"{_module_name(path)} ({family}) imports {foreign}"


def test_the_checker_sees_a_wrong_arrow(tmp_path: Path) -> None:
    # the check itself can fail: nn importing the trainer is an upward arrow
    layer_of_nn, layer_of_train = _layer("minigen.nn.layers"), _layer("minigen.train")
    assert layer_of_nn is not None and layer_of_train is not None
    assert layer_of_train > layer_of_nn
    assert _family("minigen.models.latent.vqvae") == "latent"
    assert _family("minigen.models.base") is None

"""docs/architecture.md draws the layers from the import-linter configuration: the picture
under its marker is pyproject.toml's `layers` contract, top first, line for line, so the
doc cannot drift from what `lint-imports` (make lint, make test) enforces."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- layers contract: pyproject.toml [tool.importlinter], top to bottom -->"


def contract(contract_id: str) -> dict[str, object]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    return next(c for c in contracts if c["id"] == contract_id)


def drawn_layers() -> list[str]:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    after = text.split(MARKER, 1)[1].lstrip("\n")
    assert after.startswith("```\n"), "the layer picture is a fenced block right after the marker"
    return after[4:].split("```", 1)[0].strip("\n").splitlines()


def test_the_doc_draws_the_layers_contract_line_for_line():
    layers = contract("layers")
    assert drawn_layers() == layers["layers"]


def test_every_package_has_a_layer():
    """The contract is exhaustive: a package added under fleetchaos/ without a layer fails
    lint-imports; this says which packages exist, so the doc's picture names them all."""
    assert contract("layers")["exhaustive"] is True
    drawn = {name.strip() for line in drawn_layers() for name in line.replace(":", "|").split("|")}
    package = ROOT / "fleetchaos"
    children = {p.stem for p in package.iterdir()
                if (p.is_dir() and (p / "__init__.py").exists())
                or (p.suffix == ".py" and p.name != "__init__.py")}
    assert children == drawn

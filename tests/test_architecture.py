"""The layering of docs/architecture.md holds in the code, and the document's diagram is the code's."""

from __future__ import annotations

from pathlib import Path

from .conftest import load_script

arch = load_script("architecture")
DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def test_every_import_goes_to_its_own_layer_or_below():
    assert arch.violations() == []
    assert len(arch.imports()) > 100  # the parser sees the package's imports (an empty list would pass above)


def test_an_upward_import_is_reported(monkeypatch):
    real = arch.imports()
    monkeypatch.setattr(arch, "imports", lambda: real + [("data", "service")])
    assert arch.violations() == ["data (data) imports service (service), a higher layer"]


def test_the_documented_diagram_is_drawn_from_the_code():
    text = DOC.read_text()
    block = text.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert block.strip() == arch.mermaid().strip(), "regenerate it: python scripts/architecture.py"

"""The package's layers, read from its real imports: a mermaid diagram for docs/architecture.md, and a check.

A module may import modules of its own layer or of the layers below it, never above. This script parses
every module under ``regime/`` (no import is executed), maps each relative import to its layer, and

- prints the mermaid diagram of the layers and of the imports between them (``--mermaid``, the default), which
  ``docs/architecture.md`` embeds (a test keeps the two equal);
- with ``--check``, lists every import that goes up a layer and exits 1 if there is one.

Usage::

    python scripts/architecture.py            # the diagram
    python scripts/architecture.py --check    # the layering rule
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "regime"

#: Layers from the bottom up, and the modules (or subpackages) in each.
LAYERS: dict[str, tuple[str, ...]] = {
    "foundation": ("errors", "config", "_io", "measures", "_version"),
    "data": ("data", "importers", "synth", "variants", "online"),
    "features": ("features",),
    "models": ("models",),
    "labeling": ("labeling", "metrics", "episodes"),
    "pipeline": ("pipeline", "backtest", "scoring", "allocation", "artifacts", "plotting", "report", "history",
                 "sweep"),
    "service": ("service",),
    "cli": ("cli", "render"),
}


def layer_of(module: str) -> str | None:
    """The layer of a module path below the package (``features._risk`` is in ``features``)."""
    top = module.split(".")[0]
    return next((name for name, mods in LAYERS.items() if top in mods), None)


def imports() -> list[tuple[str, str]]:
    """Every ``(importer, imported)`` pair of modules inside the package, from the source text."""
    pairs = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        module = ".".join(p for p in parts if p != "__init__")
        package = parts[:-1]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level > 0:
                base = list(package[: len(package) - (node.level - 1)])
                if node.module:
                    pairs.append((module, ".".join(base + [node.module])))
                else:
                    pairs.extend((module, ".".join(base + [a.name])) for a in node.names)
            elif isinstance(node, ast.Import):
                pairs.extend((module, a.name.removeprefix("regime.")) for a in node.names
                             if a.name.startswith("regime."))
    return [(a, b) for a, b in pairs if a and b]


def violations() -> list[str]:
    """Imports that go up a layer (the package's ``__init__`` re-exports are exempt)."""
    order = list(LAYERS)
    bad = []
    for a, b in imports():
        la, lb = layer_of(a), layer_of(b)
        if a == "" or la is None or lb is None:
            if a and (la is None or lb is None) and b != "__version__":
                bad.append(f"{a} -> {b}: a module in no layer; add it to LAYERS in scripts/architecture.py")
            continue
        if order.index(lb) > order.index(la):
            bad.append(f"{a} ({la}) imports {b} ({lb}), a higher layer")
    return bad


def mermaid() -> str:
    """The layers as boxes listing their modules, and an arrow for each layer that imports another."""
    lines = ["flowchart BT"]
    present = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in PACKAGE.glob("*")
               if not p.name.startswith("__")}
    for name, mods in LAYERS.items():
        shown = [m for m in mods if m in present]
        lines.append(f'    {name}["<b>{name}</b><br/>{", ".join(shown)}"]')
    edges = sorted({(layer_of(a), layer_of(b)) for a, b in imports()
                    if layer_of(a) and layer_of(b) and layer_of(a) != layer_of(b)},
                   key=lambda e: (list(LAYERS).index(e[0]), list(LAYERS).index(e[1])))
    lines += [f"    {a} --> {b}" for a, b in edges]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="list imports that go up a layer; exit 1 if any")
    args = parser.parse_args(argv)
    if args.check:
        bad = violations()
        print("\n".join(bad) if bad else f"every import goes to its own layer or below ({len(imports())} imports)")
        return 1 if bad else 0
    print(mermaid())
    return 0


if __name__ == "__main__":
    sys.exit(main())

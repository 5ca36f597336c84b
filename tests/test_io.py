"""The one atomic-write helper: a failed write leaves the previous file (or set of files) whole."""

from __future__ import annotations

import pytest

from regime._io import atomic_path, atomic_write_text, staged_directory


def test_atomic_path_replaces_the_target_only_on_success(tmp_path):
    target = tmp_path / "sub" / "out.csv"
    atomic_write_text(target, "old\n")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            assert tmp.parent == target.parent and tmp.suffix == ".csv" and tmp != target
            tmp.write_text("half")
            raise RuntimeError("disk full")
    assert target.read_text() == "old\n"
    assert [p.name for p in target.parent.iterdir()] == ["out.csv"]  # no temporary file left behind
    atomic_write_text(target, "new\n")
    assert target.read_text() == "new\n"


def test_staged_directory_moves_all_files_or_none(tmp_path):
    out = tmp_path / "results"
    with staged_directory(out) as staged:
        (staged / "a.csv").write_text("1")
        (staged / "b.json").write_text("{}")
    assert sorted(p.name for p in out.iterdir()) == ["a.csv", "b.json"]
    with pytest.raises(ValueError):
        with staged_directory(out) as staged:
            (staged / "a.csv").write_text("2")
            raise ValueError("chart failed")
    assert (out / "a.csv").read_text() == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]  # the staging directory is gone


def test_one_helper_moves_files_into_place():
    """The package renames files in one place only (`regime/_io.py`)."""
    import re
    from pathlib import Path

    import regime

    pattern = re.compile(r"os\.replace\(|os\.rename\(|\.rename\(\s*(final|out|target|tmp)\b|"
                         r"\)\.replace\(\s*(out|path|target)|tmp\.replace\(")
    hits = [f"{p.name}:{i}" for p in Path(regime.__file__).parent.rglob("*.py") if p.name != "_io.py"
            for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert hits == []

"""Atomic writes: the one place where the engine moves a file into place.

Every output (data files, charts, reports, JSON, artifacts) is written to a
temporary path beside its target and renamed onto it only when the write has
succeeded, so a failed or interrupted run leaves the previous file whole.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["atomic_path", "atomic_write_json", "atomic_write_text", "move_into_place", "staged_directory"]

log = logging.getLogger(__name__)


def move_into_place(src: str | Path, dst: str | Path) -> None:
    """Rename ``src`` onto ``dst`` in one step (``os.replace``): readers see the old or the new, never half.

    ``src`` and ``dst`` must be on the same file system; an existing file or symlink at ``dst`` is
    replaced, an existing directory is not.
    """
    os.replace(src, dst)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed onto ``path`` when the block succeeds.

    The temporary name keeps the target's suffix (writers such as ``savefig`` infer the format from it) and is
    unique to the call, so concurrent writers of one target do not clash: the last rename wins, whole.
    If the block raises, the temporary file is removed and ``path`` is untouched.

    Examples
    --------
    >>> with atomic_path(target) as tmp:  # doctest: +SKIP
    ...     frame.to_csv(tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # a name of its own, so two processes writing the same target at once never share a temporary file
    tmp = path.with_name(f".{path.stem}.{os.getpid()}-{secrets.token_hex(4)}.tmp{path.suffix}")
    try:
        yield tmp
        move_into_place(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def atomic_write_json(path: str | Path, payload: Any) -> Path:
    """Write ``payload`` as indented JSON (and a final newline) to ``path`` atomically; returns the path."""
    return atomic_write_text(path, json.dumps(payload, indent=2) + "\n")


@contextmanager
def staged_directory(out_dir: str | Path) -> Iterator[Path]:
    """A staging directory whose files all move into ``out_dir`` together when the block succeeds.

    Files that belong together (a CSV, its JSON summary and its chart) are written side by side first, so a
    failure part-way leaves the previous set whole rather than a new file beside an old one. The staging
    directory sits beside ``out_dir`` (same file system) and is removed in every case.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=f".{out_dir.name}.staged-") as tmp:
        staged = Path(tmp)
        yield staged
        out_dir.mkdir(exist_ok=True)
        for f in sorted(staged.iterdir()):
            move_into_place(f, out_dir / f.name)
            log.debug("wrote %s", out_dir / f.name)


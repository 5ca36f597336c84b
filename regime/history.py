"""The point-in-time record of each day's label: what was reported that morning, never rewritten.

``regime daily`` appends one row per trading day to ``<models-dir>/<name>/history.csv``: the day, its regime,
confidence and probabilities, the target weights, the model version and the data it saw. A row, once written,
is never changed, so the file answers "what did the engine say on that day, with what it knew then", even
after the data are revised or the model is retrained. Appending keeps every earlier byte of the file: the new
file is the old bytes plus one line, written beside it and renamed into place, so an interrupted run leaves
the previous record whole.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ._io import atomic_path
from .errors import DataError

__all__ = ["HISTORY_FILE", "DailyRecord", "append_record", "history_path", "read_history", "record_on"]

#: The history's file name, in the model name's directory (beside ``latest``), so it spans retrains.
HISTORY_FILE = "history.csv"

_FIXED = ("date", "regime", "name", "confidence", "days_in_regime", "data_through", "model_version",
          "trained_through", "data_hash", "recorded_at")


def history_path(models_dir: str | Path, name: str) -> Path:
    """``<models_dir>/<name>/history.csv``."""
    return Path(models_dir) / name / HISTORY_FILE


@dataclass(frozen=True)
class DailyRecord:
    """One morning's label, as reported. Checks its own invariants on creation.

    Attributes
    ----------
    date : str
        The labelled trading day (``YYYY-MM-DD``): the last day of the data, or the as-of day.
    regime, name : str
        The regime id and its name.
    confidence : float
        The regime's filtered probability.
    days_in_regime : int
        Consecutive days with this label, ending at ``date``.
    data_through : str
        The last day of the data the label saw.
    model_version : str
        The artifact's directory name (its UTC training timestamp).
    trained_through : str
        The last day of the model's training data.
    data_hash : str
        SHA-256 over the data files read.
    recorded_at : str
        When the row was written (UTC, ISO 8601).
    probabilities : dict
        Filtered probability of every regime (``p_<id>`` columns).
    weights : dict
        Target weights of every sleeve (``w_<sleeve>`` columns); empty without an allocation.
    """

    date: str
    regime: str
    name: str
    confidence: float
    days_in_regime: int
    data_through: str
    model_version: str
    trained_through: str
    data_hash: str
    recorded_at: str
    probabilities: dict[str, float] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.regime not in self.probabilities:
            raise ValueError(f"regime {self.regime!r} has no probability")
        if not math.isclose(sum(self.probabilities.values()), 1.0, abs_tol=1e-6):
            raise ValueError("probabilities must sum to 1")
        if self.weights and not math.isclose(sum(self.weights.values()), 1.0, abs_tol=1e-5):  # rounded to 1e-6 each
            raise ValueError("weights must sum to 1")
        if self.data_through < self.date:
            raise ValueError("data_through cannot be before the labelled day")

    def row(self) -> dict[str, Any]:
        """The CSV row: the fixed columns, then ``p_<regime>`` and ``w_<sleeve>``."""
        out: dict[str, Any] = {k: getattr(self, k) for k in _FIXED}
        out.update({f"p_{k}": v for k, v in self.probabilities.items()})
        out.update({f"w_{k}": v for k, v in self.weights.items()})
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {**{k: getattr(self, k) for k in _FIXED}, "probabilities": dict(self.probabilities),
                "weights": dict(self.weights)}

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> DailyRecord:
        """A record read back from a history row (as :func:`read_history` returns them)."""
        probs = {k[2:]: float(v) for k, v in row.items() if k.startswith("p_") and pd.notna(v)}
        weights = {k[2:]: float(v) for k, v in row.items() if k.startswith("w_") and pd.notna(v)}
        fixed = {k: row[k] for k in _FIXED}
        fixed["confidence"] = float(fixed["confidence"])
        fixed["days_in_regime"] = int(fixed["days_in_regime"])
        return cls(**{k: str(v) if k not in ("confidence", "days_in_regime") else v for k, v in fixed.items()},
                   probabilities=probs, weights=weights)


def read_history(path: str | Path) -> pd.DataFrame:
    """The history as a frame indexed by ``date`` (empty, with no columns, when there is none yet).

    Raises
    ------
    DataError
        The file exists but is not a history (missing columns, repeated days).
    """
    path = Path(path)
    if not path.is_file():
        return pd.DataFrame(index=pd.DatetimeIndex([], name="date"))
    df = pd.read_csv(path, dtype={"model_version": str, "data_hash": str})
    missing = [c for c in _FIXED if c not in df.columns]
    if missing:
        raise DataError(f"{path} is not a regime history (no column {missing[0]}); move it aside and rerun")
    df.index = pd.DatetimeIndex(pd.to_datetime(df.pop("date")), name="date")
    if df.index.has_duplicates:
        raise DataError(f"{path}: the day {df.index[df.index.duplicated()][0].date()} is recorded twice; "
                        "the history was edited by hand -- restore it from a backup")
    return df


def record_on(path: str | Path, day: str) -> DailyRecord | None:
    """The record of ``day`` (``YYYY-MM-DD``), or None when that day has none."""
    hist = read_history(path)
    ts = pd.Timestamp(day)
    if ts not in hist.index:
        return None
    row = hist.loc[ts].to_dict()
    row["date"] = str(ts.date())
    return DailyRecord.from_row(row)


def append_record(path: str | Path, record: DailyRecord) -> bool:
    """Append ``record`` to the history at ``path`` unless its day is already recorded.

    The old bytes of the file are kept as they are and one line is added; the result is written beside the
    file and renamed into place, so the history is never rewritten and an interrupted run leaves it whole.

    Returns
    -------
    bool
        True when the row was written, False when the day was already recorded (the file is not touched).

    Raises
    ------
    DataError
        The record's columns differ from the file's (a model with other regimes or sleeves): the message
        says to start a new history.
    """
    path = Path(path)
    row = record.row()
    old = path.read_bytes() if path.is_file() else b""
    if old:
        hist = read_history(path)
        if pd.Timestamp(record.date) in hist.index:
            return False
        if len(hist) and pd.Timestamp(record.date) < hist.index.max():
            raise DataError(f"{path} already records {hist.index.max().date()}, after {record.date}; "
                            "the history only grows forward in time")
        header = next(csv.reader(io.StringIO(old.decode().splitlines()[0])))
        if header != list(row):
            raise DataError(
                f"{path} has the columns {', '.join(header[len(_FIXED):]) or 'none'} but this model reports "
                f"{', '.join(list(row)[len(_FIXED):])}; pass --history with a new file for this model"
            )
        if not old.endswith(b"\n"):
            raise DataError(f"{path} ends in a partial line; the history was edited by hand -- restore it")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(row), lineterminator="\n")
    if not old:
        writer.writeheader()
    writer.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in row.items()})
    with atomic_path(path) as tmp:
        tmp.write_bytes(old + buf.getvalue().encode())
    return True

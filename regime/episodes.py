"""Dated episodes: judging labels against what is known to have happened.

An episodes file is a CSV with the columns ``start,end,expected,min_share,why``.
``expected`` is a regime id, or ``!id`` for "anything but id" (a calm spell
that must not be called stress). An episode **passes** when at least
``min_share`` of its trading days carry the expected label; a day without a
label (before the walk-forward starts, or with stale inputs) counts against
it. An episode that the data does not cover (it starts before the first or
ends after the last price date) is **not evaluated**, and is reported as such.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError
from .metrics import switches_per_year

__all__ = ["Episode", "EpisodeReport", "read_episodes", "evaluate_episodes"]

log = logging.getLogger(__name__)

_COLUMNS = ("start", "end", "expected", "min_share", "why")


@dataclass(frozen=True)
class Episode:
    """One dated episode.

    Attributes
    ----------
    start, end : Timestamp
        Inclusive calendar dates.
    expected : str
        A regime id, or ``!id`` for "anything but id".
    min_share : float
        The share of the episode's days that must carry the expected label, in (0, 1].
    why : str
        The evidence for the episode.
    """

    start: pd.Timestamp
    end: pd.Timestamp
    expected: str
    min_share: float
    why: str = ""

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"episode {self.start.date()}..{self.end.date()} ends before it starts")
        if not 0.0 < self.min_share <= 1.0:
            raise ValueError(f"episode {self.start.date()}: min_share must be in (0, 1], got {self.min_share}")
        if not self.regime:
            raise ValueError(f"episode {self.start.date()}: expected needs a regime id")

    @property
    def negated(self) -> bool:
        """True for ``!id`` episodes (anything but ``id``)."""
        return self.expected.startswith("!")

    @property
    def regime(self) -> str:
        """The regime id named by ``expected``, without ``!``."""
        return self.expected.lstrip("!")

    def hits(self, labels: pd.Series) -> np.ndarray:
        """Whether each label matches the expectation (a missing label never does)."""
        lab = labels.astype(object).to_numpy()
        known = pd.notna(lab)
        same = np.array([known[i] and str(lab[i]) == self.regime for i in range(len(lab))], dtype=bool)
        return (known & ~same) if self.negated else same


@dataclass(frozen=True, eq=False)
class EpisodeReport:
    """Labels judged against dated episodes.

    Attributes
    ----------
    table : DataFrame
        One row per episode: ``start, end, expected, min_share, days, labelled, share, passed, evaluated, why``.
        ``share`` is the share of the episode's trading days carrying the expected label.
    switches_per_year : float
        Label changes per 252 labelled days, over the whole label sequence.
    first_label, last_label : str or None
        The labelled span.
    """

    table: pd.DataFrame
    switches_per_year: float
    first_label: str | None
    last_label: str | None

    def __post_init__(self) -> None:
        need = {"start", "end", "expected", "share", "passed", "evaluated"}
        if not need.issubset(self.table.columns):
            raise ValueError(f"episode table lacks {sorted(need - set(self.table.columns))}")
        ev = self.table["evaluated"].astype(bool)
        if (self.table["passed"].astype(bool) & ~ev).any():
            raise ValueError("an episode that was not evaluated cannot pass")

    @property
    def evaluated(self) -> int:
        """Episodes inside the data's span."""
        return int(self.table["evaluated"].sum())

    @property
    def passed(self) -> int:
        """Episodes whose share reached their ``min_share``."""
        return int(self.table["passed"].sum())

    @property
    def pass_rate(self) -> float:
        """``passed / evaluated`` (NaN with nothing evaluated)."""
        return self.passed / self.evaluated if self.evaluated else float("nan")

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        rows = self.table.copy()
        for c in ("start", "end"):
            rows[c] = rows[c].dt.strftime("%Y-%m-%d")
        rows["share"] = rows["share"].round(4)
        return {
            "passed": self.passed, "evaluated": self.evaluated,
            "pass_rate": None if np.isnan(self.pass_rate) else round(self.pass_rate, 4),
            "switches_per_year": round(self.switches_per_year, 3),
            "first_label": self.first_label, "last_label": self.last_label,
            "episodes": rows.replace({np.nan: None}).to_dict(orient="records"),
        }


def read_episodes(path: str | Path, regime_ids: list[str] | None = None) -> list[Episode]:
    """Read an episodes CSV (``start,end,expected,min_share,why``).

    Parameters
    ----------
    path : str or Path
    regime_ids : list of str, optional
        When given, every ``expected`` must name one of them.

    Raises
    ------
    DataError
        A missing file or column, a bad date, share or regime id, named with its row.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"episodes file {path} not found; pass a CSV with columns {','.join(_COLUMNS)}")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise DataError(f"{path.name} could not be read as CSV ({exc}); write {','.join(_COLUMNS)}") from None
    df.columns = [str(c).strip().lower() for c in df.columns]
    missing = [c for c in _COLUMNS[:4] if c not in df.columns]
    if missing:
        raise DataError(f"{path.name} has no column(s) {', '.join(missing)}; the header is {','.join(_COLUMNS)}")
    out = []
    for i, row in enumerate(df.itertuples(index=False), start=2):
        rec = row._asdict()
        try:
            start, end = pd.Timestamp(rec["start"].strip()), pd.Timestamp(rec["end"].strip())
        except (ValueError, TypeError):
            raise DataError(f"{path.name}: row {i} has a start or end that is not a date "
                            f"({rec['start']!r}, {rec['end']!r}); write YYYY-MM-DD") from None
        try:
            share = float(rec["min_share"])
        except ValueError:
            raise DataError(f"{path.name}: row {i} has min_share {rec['min_share']!r}; write a number in (0, 1]") from None
        expected = rec["expected"].strip()
        if regime_ids is not None and expected.lstrip("!") not in regime_ids:
            raise DataError(f"{path.name}: row {i} expects {expected!r}, which is not a regime id "
                            f"({', '.join(regime_ids)}), optionally prefixed by '!'")
        try:
            out.append(Episode(start, end, expected, share, rec.get("why", "").strip()))
        except ValueError as exc:
            raise DataError(f"{path.name}: row {i}: {exc}") from None
    if not out:
        raise DataError(f"{path.name} holds no episodes; add rows under the header {','.join(_COLUMNS)}")
    return out


def evaluate_episodes(
    labels: pd.Series,
    episodes: list[Episode],
    calendar: pd.DatetimeIndex | None = None,
) -> EpisodeReport:
    """Judge a label sequence against dated episodes.

    Parameters
    ----------
    labels : Series
        Regime id per date (None/NaN = no label).
    episodes : list of Episode
    calendar : DatetimeIndex, optional
        The trading days of the data (for example ``MarketData.dates``). Days of
        an episode without a label count against it. Without a calendar the
        labels' own dates are the calendar, so days before the first label are
        not seen: pass the data's calendar for a fair count.

    Returns
    -------
    EpisodeReport
    """
    cal = pd.DatetimeIndex(labels.index if calendar is None else calendar).sort_values()
    lab = labels.reindex(cal)
    rows = []
    for ep in episodes:
        covered = len(cal) > 0 and ep.start >= cal[0] and ep.end <= cal[-1]
        days = lab.loc[ep.start:ep.end]
        n = len(days)
        share = float(ep.hits(days).mean()) if covered and n else np.nan
        rows.append({
            "start": ep.start, "end": ep.end, "expected": ep.expected, "min_share": ep.min_share,
            "days": n, "labelled": int(days.notna().sum()), "share": share,
            "passed": bool(covered and n and share >= ep.min_share), "evaluated": bool(covered and n),
            "why": ep.why,
        })
    table = pd.DataFrame(rows)
    known = labels.dropna()
    return EpisodeReport(
        table=table,
        switches_per_year=switches_per_year(known),
        first_label=str(known.index[0].date()) if len(known) else None,
        last_label=str(known.index[-1].date()) if len(known) else None,
    )

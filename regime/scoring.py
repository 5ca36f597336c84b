"""Scoring one day: the named regime, its confidence, and why."""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .data import MarketData, parse_day, snap_asof
from .errors import DataError
from .features import cached_features
from .pipeline import RegimeModel, labelled_rows

__all__ = ["Driver", "ScoreResult", "score_day", "drivers", "run_length"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Driver:
    """A feature that sets today's regime apart.

    Attributes
    ----------
    feature : str
    value : float
        Today's raw value.
    z : float
        Today's value standardised with the training window's mean and std.
    regime_mean_z, others_mean_z : float
        The regime's typical z, and the other regimes' average.
    contribution : float
        ``(regime_mean_z - others_mean_z) * (z - midpoint)``: how far today's
        value pushes toward this regime rather than the others.
    """

    feature: str
    value: float
    z: float
    regime_mean_z: float
    others_mean_z: float
    contribution: float


@dataclass(frozen=True)
class ScoreResult:
    """The label of one day. Checks its own invariants on creation."""

    asof: str
    regime: str
    name: str
    confidence: float
    probabilities: dict[str, float]
    drivers: list[Driver]
    days_in_regime: int
    data_through: str
    model: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        total = sum(self.probabilities.values())
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"probabilities sum to {total}, not 1")
        if self.regime not in self.probabilities:
            raise ValueError(f"regime {self.regime!r} has no probability")
        if not 0.0 <= self.confidence <= 1.0 or not math.isclose(
            self.confidence, self.probabilities[self.regime], abs_tol=1e-9
        ):
            raise ValueError("confidence must be the regime's probability, in [0, 1]")
        if self.days_in_regime < 1:
            raise ValueError("days_in_regime must be at least 1")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def run_length(labels: pd.Series) -> int:
    """Consecutive days, ending at the last row, with the last row's label."""
    vals = labels.to_numpy()
    last = vals[-1]
    n = 0
    for v in vals[::-1]:
        if v != last:
            break
        n += 1
    return n


def drivers(model: RegimeModel, features_row: pd.Series, regime: str, top: int = 5) -> list[Driver]:
    """The model features that most set ``regime`` apart today."""
    prof = model.regime_profile
    cols = [c for c in model.feature_names if c in prof.columns and pd.notna(features_row.get(c))]
    z = model.standardise(features_row.to_frame().T).iloc[0]
    mine = prof.loc[regime, cols]
    others_ids = [r for r in prof.index if r != regime]
    others = prof.loc[others_ids, cols].mean(axis=0) if others_ids else pd.Series(0.0, index=cols)
    contrib = (mine - others) * (z[cols] - (mine + others) / 2.0)
    order = contrib.sort_values(ascending=False).index[:top]
    return [
        Driver(
            feature=f,
            value=round(float(features_row[f]), 6),
            z=round(float(z[f]), 3),
            regime_mean_z=round(float(mine[f]), 3),
            others_mean_z=round(float(others[f]), 3),
            contribution=round(float(contrib[f]), 3),
        )
        for f in order
    ]


def _undefined_message(model: RegimeModel, past: MarketData, feats: pd.DataFrame, day: pd.Timestamp,
                       row: pd.Series) -> str:
    """Why the as-of day has no label: a stale input, windows over missing data, or too little history."""
    stale = past.stale_on(day)
    if stale is not None:
        return stale
    missing = ", ".join(row.index[row.isna()][:5])
    complete_before = feats[model.feature_names].iloc[:-1].notna().all(axis=1)
    if not complete_before.any():  # a warm-up shortfall: no earlier day had the features either
        return (
            f"on {day.date()} these model features are undefined: {missing}; the data needs more history "
            f"before that date (about {model.config.features.lookback()} days) or fresher rates"
        )
    since = complete_before.index[complete_before.to_numpy()][-1]
    earlier = past.stale_inputs(since, day)
    cause = (f"their trailing windows still cover days with stale inputs ({earlier[-1]})" if earlier
             else "their trailing windows cover missing input values")
    return (
        f"on {day.date()} these model features are undefined: {missing}, although they were defined on "
        f"{since.date()}: {cause}; pick --asof on or before {since.date()}, or fill the missing data"
    )


def label_history(model: RegimeModel, data: MarketData, through: str | pd.Timestamp | None = None,
                  store: str | Path | None = None) -> tuple[MarketData, pd.DataFrame, pd.DataFrame]:
    """The data up to ``through``, its features and the model's filtered probabilities of every day.

    Nothing after ``through`` (default: the last day) is even loaded into the features, so each day's
    probabilities use data up to that day only. With ``store`` (a directory, e.g. ``features``) the
    constituents' daily aggregates come from a feature snapshot there, extended by the days after it
    (:func:`regime.features.cached_features`); the features are exactly those of a full rebuild.

    Returns
    -------
    past : MarketData
        ``data`` truncated at ``through``.
    features : DataFrame
        Every feature of ``past``.
    probabilities : DataFrame
        Filtered regime probabilities (NaN rows where a model feature is undefined).

    Raises
    ------
    DataError
        ``through`` is not a date.
    ModelError
        The data lacks features the model was trained on.
    """
    past = data if through is None else data.truncate(parse_day(through))
    feats = cached_features(past, model.config, store)
    model.check_features(feats, source=f"the data in {data.source}")
    return past, feats, model.filtered_probabilities(feats)


def score_day(
    model: RegimeModel,
    data: MarketData,
    asof: str | pd.Timestamp | None = None,
    model_info: dict[str, Any] | None = None,
    store: str | Path | None = None,
) -> ScoreResult:
    """Label one day with the trained model, using data up to that day only.

    Parameters
    ----------
    model : RegimeModel
    data : MarketData
    asof : date, optional
        Defaults to the last date in the data. A date between trading days
        uses the last trading day before it.
    model_info : dict, optional
        Extra facts about the model to echo in the result.
    store : path, optional
        A feature-snapshot directory (see :func:`label_history`); None computes every feature afresh.

    Raises
    ------
    DataError
        The as-of date is outside the data, an input is stale on it (the
        message names the file, column and last date), or its features are
        otherwise incomplete (too little history).
    ModelError
        The data lacks features the model was trained on.
    """
    day = data.dates[-1] if asof is None else snap_asof(
        data.dates, asof, "as-of date {day} is outside the data ({first} to {last}); "
        "pick a date in that range or update the data")
    past, feats, probs = label_history(model, data, day, store)
    row = feats.loc[day, model.feature_names]
    # a model that marginalises missing values (kind: axes) labels a day from the features that remain
    if not bool(labelled_rows(feats.loc[[day]], model.config).iloc[0]):
        raise DataError(_undefined_message(model, past, feats, day, row))
    if row.isna().any():
        log.warning("on %s %s undefined; the label uses the features that remain", day.date(),
                    ", ".join(row.index[row.isna()][:5]) + (" are" if row.isna().sum() > 1 else " is"))
    p = probs.loc[day]
    labels = model.labels_from(probs).dropna()
    regime = str(labels.iloc[-1])
    info = {
        "trained_through": str(model.trained_through.date()),
        "estimator": model.estimator_name,
    }
    info.update(model_info or {})
    return ScoreResult(
        asof=str(day.date()),
        regime=regime,
        name=model.regime_names[regime],
        confidence=float(p[regime]),
        probabilities={k: float(v) for k, v in p.items()},
        drivers=drivers(model, feats.loc[day], regime),
        days_in_regime=run_length(labels),
        data_through=str(day.date()),
        model=info,
    )

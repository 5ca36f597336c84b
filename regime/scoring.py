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
from .features import assemble_features, cached_aggregates, cached_features
from .features._panel import panel_aggregates, panel_lookback
from .features._risk import WHOLE_HISTORY
from .labeling import persist
from .pipeline import RegimeModel, labelled_rows

__all__ = ["DailyScorer", "Driver", "ScoreResult", "score_day", "score_labelled", "drivers", "run_length"]

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
    where = {c: i for i, c in enumerate(prof.columns)}
    cols = [c for c in model.feature_names if c in where and pd.notna(features_row.get(c))]
    at = [where[c] for c in cols]
    scaler = model.profile_scaler  # profile columns are the scaler's (profile_names)
    value = features_row[cols].to_numpy(dtype=float)
    z = (value - scaler.mean_[at]) / scaler.scale_[at]
    table = prof.to_numpy()
    me = list(prof.index).index(regime)
    mine = table[me, at]
    rest = [i for i in range(len(prof.index)) if i != me]
    others = table[rest][:, at].mean(axis=0) if rest else np.zeros(len(cols))
    contrib = (mine - others) * (z - (mine + others) / 2.0)
    order = np.argsort(-contrib, kind="stable")[:top]
    return [
        Driver(
            feature=cols[i],
            value=round(float(value[i]), 6),
            z=round(float(z[i]), 3),
            regime_mean_z=round(float(mine[i]), 3),
            others_mean_z=round(float(others[i]), 3),
            contribution=round(float(contrib[i]), 3),
        )
        for i in order
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
                  store: str | Path | None = None, columns: list[str] | None = None
                  ) -> tuple[MarketData, pd.DataFrame, pd.DataFrame]:
    """The data up to ``through``, its features and the model's filtered probabilities of every day.

    Nothing after ``through`` (default: the last day) is even loaded into the features, so each day's
    probabilities use data up to that day only. With ``store`` (a directory, e.g. ``features``) the
    constituents' daily aggregates come from a feature snapshot there, extended by the days after it
    (:func:`regime.features.cached_features`); the features are exactly those of a full rebuild. With
    ``columns``, only the features that give them are computed (they must include the model's).

    Returns
    -------
    past : MarketData
        ``data`` truncated at ``through``.
    features : DataFrame
        Every feature of ``past`` (with ``columns``: those of their families).
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
    feats = cached_features(past, model.config, store, columns)
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
    return score_labelled(model, *label_history(model, data, day, store, columns=model.feature_names), model_info)


def score_labelled(model: RegimeModel, past: MarketData, feats: pd.DataFrame, probs: pd.DataFrame,
                   model_info: dict[str, Any] | None = None) -> ScoreResult:
    """:func:`score_day` of the last day of :func:`label_history`'s output (for a caller that needs the
    probabilities too, as the daily job's signal does).

    Raises
    ------
    DataError
        The last day has no label (the message says why).
    """
    day = past.dates[-1]
    row = feats.loc[day, model.feature_names]
    if not bool(labelled_rows(feats.loc[[day]], model.config).iloc[0]):
        raise DataError(_undefined_message(model, past, feats, day, row))
    labels = model.labels_from(probs).dropna()
    return _result(model, day, row, probs.loc[day], str(labels.iloc[-1]), run_length(labels), model_info)


def _result(model: RegimeModel, day: pd.Timestamp, row: pd.Series, p: pd.Series, regime: str, days_in_regime: int,
            model_info: dict[str, Any] | None) -> ScoreResult:
    """The labelled day's result: ``row`` its model features, ``p`` its probabilities, ``regime`` its label."""
    if row.isna().any():  # a model that marginalises missing values (kind: axes) labels from what remains
        log.warning("on %s %s undefined; the label uses the features that remain", day.date(),
                    ", ".join(row.index[row.isna()][:5]) + (" are" if row.isna().sum() > 1 else " is"))
    info = {"trained_through": str(model.trained_through.date()), "estimator": model.estimator_name,
            **(model_info or {})}
    return ScoreResult(
        asof=str(day.date()),
        regime=regime,
        name=model.regime_names[regime],
        confidence=float(p[regime]),
        probabilities={k: float(v) for k, v in p.items()},
        drivers=drivers(model, row, regime),
        days_in_regime=days_in_regime,
        data_through=str(day.date()),
        model=info,
    )


class DailyScorer:
    """Labels each new day from what it carried over from the day before: scoring day after day in one process.

    Built once from a model and the data so far (every feature and filter over the whole history, as
    :func:`score_day` does), it then labels each later day from that day's inputs: the day's panel aggregates
    (from the panel's last lookback rows), its series features from the data's last
    :meth:`~regime.config.FeaturesConfig.lookback` rows (the volatility percentiles, whose window is the whole
    history, from the whole series), one step of each model filter, of the label persistence and of the run
    length. The result is :func:`score_day`'s on the same data, to rounding (tested day by day).

    It reports point in time, like the daily history: the filters carry what they computed on earlier days,
    and earlier days are not read again, so a later revision of old data changes nothing here
    (:func:`score_day` on the revised data shows what it changes).

    Parameters
    ----------
    model : RegimeModel
    data : MarketData
        The history so far, with its panel if it has constituents.
    store : path, optional
        A feature-snapshot directory for the first, full build (see :func:`label_history`).
    model_info : dict, optional
        Extra facts about the model to echo in each result.

    Examples
    --------
    >>> scorer = DailyScorer(model, load_data(directory, model.config))    # doctest: +SKIP
    >>> result = scorer.update(load_data(directory, model.config))       # doctest: +SKIP
    """

    def __init__(self, model: RegimeModel, data: MarketData, store: str | Path | None = None,
                 model_info: dict[str, Any] | None = None) -> None:
        if data.panel_file is not None:
            raise ValueError(f"{data.panel_file} was not read; load the data with its panel")
        cfg = model.config
        self.model = model
        self.model_info = model_info
        self._aggregates = None if data.closes is None else (
            panel_aggregates(data.closes, data.caps, data.sectors, cfg.features) if store is None
            else cached_aggregates(data, cfg, store).aggregates)
        feats = assemble_features(data, cfg, self._aggregates)
        probs, self._filters = model.filter(feats)
        codes, self._persistence = persist(probs.to_numpy(), cfg.label.margin, cfg.label.min_days)
        self._label, self._run = -1, 0
        self._count(codes)
        self._dates = data.dates
        names = model.feature_names
        self._whole = [c for c in names if c.startswith(WHOLE_HISTORY)]  # from the whole series
        self._windowed = [c for c in names if c not in self._whole]  # from the last lookback rows
        self._rows = cfg.features.lookback() + 1

    @property
    def through(self) -> pd.Timestamp:
        """The last day labelled."""
        return self._dates[-1]

    def _count(self, codes: np.ndarray) -> None:
        """Carry the run length of the reported label over newly labelled days (-1: no label)."""
        for code in codes[codes >= 0].tolist():
            self._run = self._run + 1 if code == self._label else 1
            self._label = code

    def update(self, data: MarketData) -> ScoreResult:
        """Label the last day of ``data``, which extends the data seen so far by one or more days.

        Raises
        ------
        ValueError
            ``data`` does not extend the days seen so far (an earlier last day, other dates, no new day).
        DataError
            The last day has no label (as :func:`score_day` raises: a stale input, too little history).
        """
        n, model, cfg = len(self._dates), self.model, self.model.config
        if len(data.dates) <= n or not data.dates[:n].equals(self._dates):
            raise ValueError(f"the data must extend the days scored so far (through {self.through.date()}) "
                             "by one or more days")
        new = len(data.dates) - n
        if data.closes is not None:
            lo = max(n - panel_lookback(cfg.features), 0)
            fresh = panel_aggregates(data.closes.iloc[lo:], None if data.caps is None else data.caps.iloc[lo:],
                                     None if data.sectors is None else data.sectors.iloc[lo:], cfg.features,
                                     start=n - lo)
            self._aggregates = pd.concat([self._aggregates, fresh])
        rows = self._rows + new
        feats = assemble_features(data.tail(rows), cfg, None if self._aggregates is None
                                  else self._aggregates.iloc[-rows:], columns=self._windowed).iloc[-new:]
        if self._whole:
            whole = assemble_features(data, cfg, None, columns=self._whole)
            feats = feats.drop(columns=self._whole, errors="ignore").join(whole[self._whole].iloc[-new:])
        feats = feats[model.feature_names]
        probs, self._filters = model.filter(feats, self._filters)
        codes, self._persistence = persist(probs.to_numpy(), cfg.label.margin, cfg.label.min_days, self._persistence)
        self._count(codes)
        self._dates = data.dates
        day = data.dates[-1]
        if codes[-1] < 0:  # no label: score_day says why (the full computation, on this rare path)
            score_day(model, data, model_info=self.model_info)
            raise DataError(f"on {day.date()} the model's features are undefined")  # pragma: no cover
        return _result(model, day, feats.iloc[-1], probs.iloc[-1], model.regime_ids[self._label], self._run,
                       self.model_info)

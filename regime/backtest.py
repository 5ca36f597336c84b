"""Walk-forward evaluation: what the engine would have said each day, with the data it had then.

At each refit date R the model is fitted on data before R only (expanding or
rolling window), warm-started from the previous fit; every day from R to the
next refit is then labelled with filtered probabilities from that model, its
filter running from ``burn_in`` days before R. Features are trailing, so they
are computed once for the whole history and sliced.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import ValidationError
from threadpoolctl import threadpool_limits

from .config import Config
from .data import MarketData, parse_day
from .errors import ConfigError, DataError
from .features import build_features
from .labeling import persistent_labels
from .metrics import label_summary, truth_metrics
from .pipeline import RegimeModel, _design, _fit_window, fit_on_features

__all__ = ["BacktestResult", "walk_forward", "refit_schedule", "read_truth"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """The out-of-sample labels of a walk-forward run and their evaluation.

    Attributes
    ----------
    probabilities : DataFrame
        Date x regime id: filtered probabilities from the model in force that day,
        on the labelled days only (a day with a missing model feature has no row).
    labels : Series
        The reported regime (with the configured persistence).
    confidence : Series
        The filtered probability of the reported regime.
    refits : DataFrame
        One row per refit: date, training window, convergence, seconds.
    summary : dict
        Switches per year, mean duration, shares, per-regime index statistics;
        ``unlabelled_days`` (out-of-sample days with a missing model feature,
        which have no row), ``unlabelled_stale_days`` (those of them on which
        an input is stale) and ``stale_inputs`` (one line per stale input, see
        :meth:`MarketData.stale_inputs`).
    truth : dict or None
        Accuracy, lag and calibration against ``truth.csv``, when present.
    seconds : float
        Wall time of the walk-forward (fits and filtering; features included).
    """

    probabilities: pd.DataFrame
    labels: pd.Series
    confidence: pd.Series
    refits: pd.DataFrame
    summary: dict
    truth: dict | None = None
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if not (self.probabilities.index.equals(self.labels.index)
                and self.labels.index.equals(self.confidence.index)):
            raise ValueError("probabilities, labels and confidence must share one index")
        sums = self.probabilities.sum(axis=1).to_numpy()
        if len(sums) and not np.allclose(sums, 1.0, atol=1e-6):
            raise ValueError("every row of probabilities must sum to 1")
        if not set(self.labels.dropna()).issubset(self.probabilities.columns):
            raise ValueError("labels must be regime ids")

    def to_frame(self) -> pd.DataFrame:
        """The CSV layout: ``date,regime,confidence,p_<id>...``."""
        out = pd.DataFrame({"regime": self.labels, "confidence": self.confidence})
        for rid in self.probabilities.columns:
            out[f"p_{rid}"] = self.probabilities[rid]
        out.index.name = "date"
        return out


def refit_schedule(dates: pd.DatetimeIndex, start: pd.Timestamp, refit_every: int | None) -> pd.DatetimeIndex:
    """Refit dates from ``start``: the first trading day of each month, or every N trading days."""
    d = dates[dates >= start]
    if len(d) == 0:
        return d
    if refit_every is None:
        month = d.to_period("M")
        first = np.r_[True, month[1:] != month[:-1]]
        first[0] = True
        return d[first]
    return d[::refit_every]


def read_truth(directory) -> pd.Series | None:
    """``truth.csv`` (date,regime) of a data directory, if present."""
    from pathlib import Path

    from .data import _check_dates, read_table

    p = Path(directory) / "truth.csv"
    if not p.is_file():
        return None
    df = _check_dates(read_table(p), p.name)
    if "regime" not in df.columns:
        raise DataError(f"{p.name} has no 'regime' column; write date,regime")
    return df["regime"].astype(str).rename("truth")


def _default_start(complete: pd.Series, min_days: int) -> pd.Timestamp:
    idx = complete.index[complete.to_numpy()]
    if len(idx) <= min_days:
        raise DataError(
            f"prices: only {len(idx)} days have every model feature defined; the walk-forward needs more than "
            f"train.min_days = {min_days} before its first out-of-sample day; supply a longer history"
        )
    return idx[min_days]


def walk_forward(
    data: MarketData,
    config: Config,
    start: str | pd.Timestamp | None = None,
    refit_every: int | None = None,
    window: str | None = None,
    naive: bool = False,
    truth: pd.Series | None = None,
    features: pd.DataFrame | None = None,
    progress: Callable[[int, int, pd.Timestamp], None] | None = None,
) -> BacktestResult:
    """Run a walk-forward, out-of-sample evaluation.

    Parameters
    ----------
    data : MarketData
    config : Config
        ``config.backtest`` supplies defaults for the refit schedule, window,
        filter burn-in and warm-start iterations.
    start : date, optional
        First out-of-sample day; default: the day with ``train.min_days``
        complete feature rows before it.
    refit_every : int, optional
        Trading days between refits; default ``config.backtest.refit_every``
        (None = the first trading day of each month).
    window : str, optional
        'expanding' or 'rolling:N'; default ``config.backtest.window``.
    naive : bool
        The straightforward loop the engine is measured against: at every
        refit, rebuild the features from the data available then, fit every
        model from scratch with all its restarts, and run the filter from the
        start of the history. Same labels in principle, no shortcuts.
    truth : Series, optional
        True regimes; adds accuracy, lag and calibration metrics.
    features : DataFrame, optional
        Precomputed ``build_features(data, config)``.
    progress : callable, optional
        ``progress(i, n, refit_date)`` after each refit.

    Returns
    -------
    BacktestResult
    """
    t0 = time.perf_counter()
    bt = config.backtest
    refit_every = refit_every if refit_every is not None else bt.refit_every
    if window is not None:
        try:
            bt = bt.model_copy(update={"window": type(bt).model_validate({"window": window}).window})
        except ValidationError:
            raise ConfigError(
                f"--window {window!r}: window must be 'expanding' or 'rolling:N' with N >= 20 trading days"
            ) from None
    rolling = bt.rolling_days()
    if features is None:
        features = build_features(data, config)
    # the features as arrays, once: each refit slices its window (no per-refit selection or re-testing of rows)
    design = _design(features, config)
    complete = pd.Series(design.labelled, index=features.index)
    dates = features.index
    first_ok = _default_start(complete, config.train.min_days)
    if start is None:
        start_ts = first_ok
    else:
        start_ts = parse_day(start, "--start")
        if start_ts > dates[-1]:
            raise DataError(f"--start {start_ts.date()} is after the last date {dates[-1].date()}; pick an earlier day")
        if start_ts < first_ok:
            n_before = int(complete.loc[: start_ts - pd.Timedelta(days=1)].sum())
            raise DataError(
                f"--start {start_ts.date()} leaves {n_before} complete feature days to train on, fewer than "
                f"train.min_days = {config.train.min_days}; start on or after {first_ok.date()}"
            )
    schedule = refit_schedule(dates, start_ts, refit_every)
    pos = {d: i for i, d in enumerate(dates)}
    prev: RegimeModel | None = None
    chunks, records = [], []
    # the fits are small (thousands of days x tens of features): BLAS and OpenMP threads only wait on each other
    # (and on other processes); on one thread the numbers are the same and, on a busy machine, come several times
    # sooner
    with threadpool_limits(limits=1):
        for i, R in enumerate(schedule):
            iR = pos[R]
            iN = pos[schedule[i + 1]] if i + 1 < len(schedule) else len(dates)
            lo = 0 if rolling is None else max(0, iR - rolling)
            t_fit = time.perf_counter()
            if naive:  # no cached features, no warm start, no burn-in shortcut
                feats_now = build_features(data.truncate(dates[iN - 1]), config)
                model = fit_on_features(feats_now.iloc[lo:iR], config, previous=prev)
                fit_s = time.perf_counter() - t_fit
                probs = model.filtered_probabilities(feats_now.iloc[lo:iN]).iloc[iR - lo:]
            else:
                fresh = bt.fresh_every is not None and i > 0 and i % bt.fresh_every == 0
                model = _fit_window(design, lo, iR, config, previous=prev, warm=prev is not None,
                                    n_iter=bt.refit_n_iter, also_fresh=fresh)
                fit_s = time.perf_counter() - t_fit
                seg_start = max(lo, iR - bt.burn_in)
                # model.filtered_probabilities on the segment, from the prepared arrays
                rows = model._average(design.rows(model, seg_start, iN))[0][iR - seg_start:]
                probs = pd.DataFrame(rows, index=dates[iR:iN], columns=pd.Index(model.regime_ids, name="regime"))
            chunks.append(probs)
            records.append({
                "date": R, "train_start": model.trained_from, "train_end": model.trained_through,
                "n_train": model.diagnostics["n_train_days"], "converged": model.diagnostics["converged"],
                "n_iter": model.diagnostics["n_iter"], "fit_seconds": round(fit_s, 4),
            })
            prev = model
            if progress is not None:
                progress(i + 1, len(schedule), R)
    probs = pd.concat(chunks)
    # days with a missing model feature (stale inputs, or windows still covering them) get no label: no row
    unlabelled = probs.index[probs.isna().any(axis=1).to_numpy()]
    stale_lines = data.stale_inputs(start_ts, dates[-1])
    for line in stale_lines:
        log.warning("%s", line)
    probs = probs.dropna()
    if probs.empty:
        why = "; ".join(stale_lines) or "a model feature is undefined on every one of them"
        raise DataError(f"no out-of-sample day from {start_ts.date()} to {dates[-1].date()} can be labelled: {why}")
    in_span = np.zeros(len(unlabelled), dtype=bool)
    for span in data.stale_spans(start_ts, dates[-1]):
        in_span |= (unlabelled >= span.first) & (unlabelled <= span.last)
    labels = persistent_labels(probs, config.label.margin, config.label.min_days)
    ids = list(probs.columns)
    conf_vals = [probs.iat[k, ids.index(lab)] for k, lab in enumerate(labels.to_numpy())]
    confidence = pd.Series(conf_vals, index=probs.index, name="confidence", dtype=float)
    summary = label_summary(labels, ids, data.prices)
    summary["refits"] = len(schedule)
    summary["refit_every"] = "monthly" if refit_every is None else f"{refit_every} trading days"
    summary["window"] = bt.window
    summary["mode"] = "naive" if naive else "warm-start"
    summary["unlabelled_days"] = len(unlabelled)
    summary["unlabelled_stale_days"] = int(in_span.sum())
    summary["stale_inputs"] = stale_lines
    tm = truth_metrics(probs, labels, confidence, truth, bt.confirm_days) if truth is not None else None
    seconds = time.perf_counter() - t0
    summary["seconds"] = round(seconds, 2)
    refits = pd.DataFrame(records).set_index("date")
    log.info("walk-forward: %d refits in %.1f s", len(schedule), seconds)
    return BacktestResult(probs, labels, confidence, refits, summary, tm, seconds)

"""How right, how stable and how timely a sequence of regime labels is."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .measures import TRADING_DAYS, annual_volatility, compound_annual_return, spell_ids

__all__ = [
    "run_lengths",
    "switches_per_year",
    "regime_shares",
    "index_stats",
    "detection_lags",
    "brier_score",
    "expected_calibration_error",
    "label_summary",
    "truth_metrics",
]


#: The walk-forward targets on the built-in market (from the walk-forward issue): ``regime backtest`` shows
#: them beside the truth metrics and ``scripts/bench_backtest.py`` checks them.
TRUTH_TARGETS = {"balanced_accuracy": 0.80, "switch_ratio": 1.5, "median_lag_days": 15.0, "ece": 0.10}


def run_lengths(labels: pd.Series) -> pd.Series:
    """Lengths (days) of the runs of equal consecutive labels, indexed by each run's label."""
    lab = labels.dropna()
    if lab.empty:
        return pd.Series(dtype=float)
    g = lab.groupby(spell_ids(lab))
    return pd.Series(g.size().to_numpy(), index=g.first().to_numpy())


def switches_per_year(labels: pd.Series) -> float:
    """Label changes per 252 trading days."""
    lab = labels.dropna()
    if len(lab) < 2:
        return 0.0
    return float((spell_ids(lab).iloc[-1] - 1) / (len(lab) / TRADING_DAYS))


def regime_shares(labels: pd.Series, regime_ids: list[str]) -> dict[str, float]:
    """Share of labelled days in each regime."""
    lab = labels.dropna()
    counts = lab.value_counts(normalize=True)
    return {r: float(counts.get(r, 0.0)) for r in regime_ids}


def index_stats(prices: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """Annualised return and volatility of each index over the day *after* each labelled day.

    The return from t to t+1 is attributed to the label of day t: what holding
    the index on the label would have earned, with no look-ahead.

    Returns
    -------
    DataFrame
        Index (regime, stat) with stat in {ann_return, ann_vol, days}; one column per index.
    """
    nxt = np.log(prices).diff().shift(-1).reindex(labels.index)
    lab = labels.dropna()
    rows = {}
    for rid, idx in lab.groupby(lab).groups.items():
        r = nxt.loc[idx].dropna(how="all")
        rows[(rid, "ann_return")] = compound_annual_return(r)
        rows[(rid, "ann_vol")] = annual_volatility(r)
        rows[(rid, "days")] = r.count().astype(float)
    return pd.DataFrame(rows).T


def detection_lags(labels: pd.Series, truth: pd.Series, confirm: int = 5) -> pd.DataFrame:
    """Days from each true regime change to the first day the label shows it and keeps it.

    "Keeps it" means the label equals the new regime for ``confirm`` days in a
    row (or until the true spell ends, if sooner). A change never detected
    within its spell counts with a lag equal to the spell's length and
    ``detected = False``.

    Returns
    -------
    DataFrame
        One row per true change inside the labelled period: ``date``,
        ``regime``, ``spell_days``, ``lag``, ``detected``.
    """
    lab = labels.reindex(truth.index)
    t = truth.dropna()
    lab = lab.loc[t.index]
    valid = lab.notna()
    t, lab = t[valid], lab[valid]
    spell_id = spell_ids(t)
    rows = []
    for k, idx in t.groupby(spell_id).groups.items():
        if k == 1:  # the first spell starts before the labelled period: no change to detect
            continue
        regime = t.loc[idx[0]]
        hit = (lab.loc[idx] == regime).to_numpy()
        n = len(hit)
        need = min(confirm, n)
        lag = None
        run = 0
        for i, h in enumerate(hit):
            run = run + 1 if h else 0
            if run >= need:
                lag = i - need + 1
                break
        rows.append({"date": idx[0], "regime": regime, "spell_days": n,
                     "lag": n if lag is None else lag, "detected": lag is not None})
    return pd.DataFrame(rows, columns=["date", "regime", "spell_days", "lag", "detected"])


def brier_score(probs: pd.DataFrame, truth: pd.Series) -> float:
    """Multi-class Brier score: mean over days of sum_k (p_k - 1[truth = k])^2 (0 is perfect, 2 worst)."""
    p = probs.dropna()
    t = truth.reindex(p.index)
    ok = t.notna()
    p, t = p[ok], t[ok]
    onehot = pd.get_dummies(t).reindex(columns=p.columns, fill_value=False).to_numpy(dtype=float)
    return float(((p.to_numpy() - onehot) ** 2).sum(axis=1).mean())


def expected_calibration_error(confidence: pd.Series, correct: pd.Series, bins: int = 10) -> float:
    """ECE: the day-weighted mean |accuracy - confidence| over equal-width confidence bins."""
    c = confidence.to_numpy(dtype=float)
    y = correct.to_numpy(dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(c, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            ece += m.mean() * abs(y[m].mean() - c[m].mean())
    return float(ece)


def label_summary(labels: pd.Series, regime_ids: list[str], prices: pd.DataFrame | None = None) -> dict:
    """Stability and content of a label sequence."""
    lab = labels.dropna()
    lengths = run_lengths(lab)
    out = {
        "first_day": str(lab.index[0].date()) if len(lab) else None,
        "last_day": str(lab.index[-1].date()) if len(lab) else None,
        "days": int(len(lab)),
        "switches_per_year": round(switches_per_year(lab), 3),
        "mean_duration_days": round(float(lengths.mean()), 1) if len(lengths) else None,
        "share": {k: round(v, 4) for k, v in regime_shares(lab, regime_ids).items()},
    }
    if prices is not None:
        st = index_stats(prices, lab)
        out["index_stats"] = {
            rid: {col: {"ann_return": round(float(st.loc[(rid, "ann_return"), col]), 4),
                        "ann_vol": round(float(st.loc[(rid, "ann_vol"), col]), 4)} for col in prices.columns}
            for rid in regime_ids if (rid, "ann_return") in st.index
        }
    return out


def truth_metrics(probs: pd.DataFrame, labels: pd.Series, confidence: pd.Series, truth: pd.Series,
                  confirm: int = 5) -> dict:
    """Accuracy, stability, timeliness and calibration against the true regimes."""
    lab = labels.dropna()
    t = truth.reindex(lab.index)
    ok = t.notna()
    lab, t = lab[ok].astype(str), t[ok].astype(str)
    ids = list(probs.columns)
    present = [r for r in ids if (t == r).any()]
    from sklearn.metrics import balanced_accuracy_score, recall_score  # only to judge labels: imported then

    recall = recall_score(t, lab, labels=present, average=None, zero_division=0)
    lags = detection_lags(labels, truth, confirm)
    truth_in = truth.reindex(lab.index)
    return {
        "balanced_accuracy": round(float(balanced_accuracy_score(t, lab)), 4),
        "recall": {r: round(float(v), 4) for r, v in zip(present, recall)},
        "switches_per_year": round(switches_per_year(lab), 3),
        "truth_switches_per_year": round(switches_per_year(truth_in), 3),
        "median_detection_lag_days": float(lags["lag"].median()) if len(lags) else None,
        "changes": int(len(lags)),
        "changes_missed": int((~lags["detected"]).sum()) if len(lags) else 0,
        "brier": round(brier_score(probs, truth), 4),
        "ece": round(expected_calibration_error(confidence.reindex(lab.index), lab == t), 4),
    }

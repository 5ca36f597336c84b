"""A one-page HTML report of a walk-forward run, with its charts."""

from __future__ import annotations

import html
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ._io import atomic_write_text
from .config import PRICE_ROLES, Config
from .data import MarketData, read_table
from .errors import DataError
from .features import build_features
from .metrics import label_summary, truth_metrics
from .plotting import plot_panels, plot_probabilities, plot_regimes

__all__ = ["read_backtest", "write_report"]

log = logging.getLogger(__name__)


def read_backtest(path: str | Path, regime_ids: list[str]) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Read a ``regime backtest`` CSV: probabilities, labels, confidence.

    Raises
    ------
    DataError
        Missing file or columns, or labels that are not regime ids.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"backtest file {path} not found; write one with `regime backtest --out {path.name}`")
    df = read_table(path)
    need = ["regime", "confidence"] + [f"p_{r}" for r in regime_ids]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise DataError(f"{path.name} has no column(s) {', '.join(missing)}; is it the output of `regime backtest` "
                        "with the same config's regimes?")
    probs = df[[f"p_{r}" for r in regime_ids]].apply(pd.to_numeric, errors="coerce")
    probs.columns = regime_ids
    labels = df["regime"].astype(str)
    bad = ~labels.isin(regime_ids)
    if bad.any():
        raise DataError(f"{path.name}: regime {labels[bad].iloc[0]!r} on {labels.index[bad][0].date()} is not one of "
                        f"{', '.join(regime_ids)}")
    return probs, labels.rename("regime"), pd.to_numeric(df["confidence"], errors="coerce")


def _table(rows: dict, header: tuple[str, str] = ("", "")) -> str:
    body = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>" for k, v in rows.items())
    return f"<table><tr><th>{header[0]}</th><th>{header[1]}</th></tr>{body}</table>"


def write_report(backtest: str | Path, data: MarketData, config: Config, out: str | Path,
                 truth: pd.Series | None = None) -> Path:
    """Write PNG charts and ``report.html`` for a walk-forward run.

    Charts: the cap-weighted index with regime shading; stacked regime
    probabilities; relative strength, breadth and rates panels with regime
    shading.

    Returns
    -------
    Path
        The HTML file.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ids = list(config.regimes)
    names = {rid: rule.name for rid, rule in config.regimes.items()}
    probs, labels, confidence = read_backtest(backtest, ids)
    first, last = labels.index[0], labels.index[-1]
    if first < data.dates[0] or last > data.dates[-1]:
        raise DataError(f"{Path(backtest).name} covers {first.date()}..{last.date()}, beyond the data "
                        f"({data.dates[0].date()}..{data.dates[-1].date()}); pass the --data it was run on")
    feats = build_features(data, config).loc[first:last]
    level = data.series("large_cap").loc[first:last]
    # on the price calendar, so days without a label (no row in the CSV) show as gaps, not as the last regime
    calendar = data.dates[(data.dates >= first) & (data.dates <= last)]
    chart_probs, chart_labels = probs.reindex(calendar), labels.reindex(calendar)
    files = {}
    files["index"] = plot_regimes(level, chart_probs, chart_labels, names, out / "index.png",
                                  title="Walk-forward regimes (out of sample, filtered)",
                                  truth=truth.loc[first:last] if truth is not None else None)
    files["probabilities"] = plot_probabilities(chart_probs, names, out / "probabilities.png")
    rs = {}
    for pair, (a, b) in config.features.pairs.items():
        sa, sb = data.series(a), data.series(b)
        if sa is not None and sb is not None:
            r = np.log(sa / sb).loc[first:last]
            rs[pair] = r - r.iloc[0]
    panels = {"log ratio": pd.DataFrame(rs)} if rs else {}
    mom = [c for c in feats.columns if c.startswith("rs_") and c.endswith("_mom_63d")]
    if mom:
        panels["63d momentum"] = feats[mom]
    if panels:
        files["relative_strength"] = plot_panels(panels, chart_labels, ids, out / "relative_strength.png",
                                                 "Relative strength")
    br = [c for c in ("br_above_50d", "br_above_200d", "br_pct_up") if c in feats]
    br2 = [c for c in ("br_ad_slope", "br_hi_lo", "px_ew_cw_spread", "px_dispersion") if c in feats]
    bpanels = {k: feats[v] for k, v in (("share of names", br), ("breadth", br2)) if v}
    if bpanels:
        files["breadth"] = plot_panels(bpanels, chart_labels, ids, out / "breadth.png", "Breadth")
    if data.rates is not None:
        lv = [c for c in ("rt_policy", "rt_2y", "rt_10y") if c in feats]
        sp = [c for c in ("rt_slope", "rt_credit") if c in feats]
        rpanels = {k: feats[v] for k, v in (("rates %", lv), ("slope / credit %", sp)) if v}
        if rpanels:
            files["rates"] = plot_panels(rpanels, chart_labels, ids, out / "rates.png", "Rates and credit")

    prices = data.prices[[c for c in (getattr(data.roles, r) for r in PRICE_ROLES) if c in data.prices]]
    summary = label_summary(labels, ids, prices)
    parts = [f"<h1>Regime walk-forward report</h1><p>{html.escape(str(Path(backtest).name))}: "
             f"{first.date()} to {last.date()}, {len(labels)} out-of-sample days.</p>"]
    inside, after = int(len(calendar) - len(labels)), int((data.dates > last).sum())
    stale = data.stale_inputs(first, data.dates[-1])
    if inside or stale:
        tail = f", and the {after} after it to {data.dates[-1].date()}" if stale and after else ""
        parts.append(f"<p>Days without a label (a model feature undefined): {inside} between {first.date()} and "
                     f"{last.date()}{tail}." + "".join(f"<br>{html.escape(line)}" for line in stale) + "</p>")
    parts.append("<h2>Labels</h2>" + _table({
        "switches per year": summary["switches_per_year"],
        "mean regime duration (days)": summary["mean_duration_days"],
        **{f"share {r}": f"{v:.1%}" for r, v in summary["share"].items()},
    }, ("metric", "value")))
    stats = summary.get("index_stats", {})
    if stats:
        frame = pd.DataFrame({r: {c: f"{v['ann_return']:+.1%} / {v['ann_vol']:.1%}" for c, v in s.items()}
                              for r, s in stats.items()})
        parts.append("<h2>Annualised next-day return / volatility while labelled</h2>" + frame.to_html())
    if truth is not None:
        tm = truth_metrics(probs, labels, confidence, truth, config.backtest.confirm_days)
        flat = {k: v for k, v in tm.items() if not isinstance(v, dict)}
        flat.update({f"recall {k}": v for k, v in tm["recall"].items()})
        parts.append("<h2>Against truth</h2>" + _table(flat, ("metric", "value")))
    for key, path in files.items():
        parts.append(f"<h2>{key.replace('_', ' ').capitalize()}</h2><img src='{path.name}' style='max-width:100%'>")
    style = ("body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}")
    page = f"<!doctype html><html><head><meta charset='utf-8'><title>Regime report</title><style>{style}</style>" \
           f"</head><body>{''.join(parts)}</body></html>"
    target = atomic_write_text(out / "report.html", page)
    log.info("wrote %s", target)
    return target

"""Charts: an index with regime-shaded background, and regime probabilities beneath."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ._io import atomic_path
from .measures import drawdown, spell_ids

__all__ = [
    "REGIME_COLORS", "regime_color", "shade_regimes", "plot_regimes", "plot_probabilities", "plot_panels",
    "plot_allocation", "plot_history", "plot_sweep",
]

REGIME_COLORS = {"concentration": "#7b3294", "broadening": "#1a9641", "stress": "#d7191c"}
_EXTRA = ["#fdae61", "#2c7bb6", "#a6611a", "#018571", "#e66101"]


def regime_color(rid: str, order: list[str]) -> str:
    """A stable colour for a regime id."""
    if rid in REGIME_COLORS:
        return REGIME_COLORS[rid]
    extras = [r for r in order if r not in REGIME_COLORS]
    return _EXTRA[extras.index(rid) % len(_EXTRA)] if rid in extras else "#999999"


def shade_regimes(ax, labels: pd.Series, order: list[str], alpha: float = 0.18) -> None:
    """Shade an axis's background by contiguous runs of ``labels``; a day without a label (NaN) ends a run."""
    valid = labels.notna()
    if not valid.any():
        return
    runs = spell_ids(labels)  # a day without a label is a spell of its own: it ends a run
    lab = labels[valid]
    for _, run in lab.groupby(runs[valid]):
        ax.axvspan(run.index[0], run.index[-1], color=regime_color(run.iloc[0], order), alpha=alpha, lw=0)


def _from_first(probs: pd.DataFrame) -> pd.DataFrame:
    """The rows from the first complete one on; later NaN rows stay, so a stackplot leaves them blank."""
    ok = probs.notna().all(axis=1).to_numpy()
    return probs.iloc[int(ok.argmax()):] if ok.any() else probs.iloc[:0]


def plot_regimes(
    level: pd.Series,
    probs: pd.DataFrame,
    labels: pd.Series,
    names: dict[str, str],
    out: str | Path,
    title: str = "",
    truth: pd.Series | None = None,
) -> Path:
    """Save a PNG: ``level`` (log scale) shaded by regime, stacked filtered probabilities below.

    With ``truth``, a thin strip shows the true regimes for comparison.
    """
    order = list(probs.columns)
    n_rows = 3 if truth is not None else 2
    ratios = [3, 1.4, 0.25] if truth is not None else [3, 1.4]
    fig = Figure(figsize=(12, 7))
    axes = fig.subplots(n_rows, 1, sharex=True, gridspec_kw={"height_ratios": ratios})
    ax = axes[0]
    shade_regimes(ax, labels, order)
    ax.plot(level.index, level.to_numpy(), color="black", lw=0.9)
    ax.set_yscale("log")
    ax.set_ylabel(f"{level.name} (log)")
    ax.set_title(title or "Regimes (filtered, no look-ahead)")
    handles = [Rectangle((0, 0), 1, 1, color=regime_color(r, order), alpha=0.5) for r in order]
    ax.legend(handles, [names.get(r, r) for r in order], loc="upper left", fontsize=8)
    p = _from_first(probs)  # a day without probabilities stays a gap in the chart, not an interpolation
    axes[1].stackplot(p.index, p.to_numpy().T, colors=[regime_color(r, order) for r in order], alpha=0.8)
    axes[1].set_ylim(0, 1)
    axes[1].set_ylabel("filtered P")
    if truth is not None:
        t = truth.reindex(level.index)
        shade_regimes(axes[2], t, order, alpha=0.8)
        axes[2].set_yticks([])
        axes[2].set_ylabel("truth", rotation=0, ha="right", va="center")
    return _save(fig, out)




def plot_probabilities(probs: pd.DataFrame, names: dict[str, str], out: str | Path, title: str = "") -> Path:
    """Save a PNG of stacked filtered regime probabilities."""
    order = list(probs.columns)
    p = _from_first(probs)
    fig = Figure(figsize=(12, 3.2))
    ax = fig.subplots()
    ax.stackplot(p.index, p.to_numpy().T, colors=[regime_color(r, order) for r in order], alpha=0.85,
                 labels=[names.get(r, r) for r in order])
    ax.set_ylim(0, 1)
    ax.set_ylabel("filtered P")
    ax.set_title(title or "Regime probabilities (walk-forward, filtered)")
    ax.legend(loc="upper left", fontsize=8, ncol=len(order))
    return _save(fig, out)


def plot_panels(panels: dict[str, pd.DataFrame], labels: pd.Series, order: list[str], out: str | Path,
                title: str = "") -> Path:
    """Save a PNG with one panel per frame (its columns as lines), each on a regime-shaded background."""
    n = len(panels)
    fig = Figure(figsize=(12, 2.4 * n + 0.6))
    axes = fig.subplots(n, 1, sharex=True, squeeze=False)
    for ax, (name, frame) in zip(axes[:, 0], panels.items()):
        shade_regimes(ax, labels, order)
        for col in frame.columns:
            ax.plot(frame.index, frame[col].to_numpy(), lw=0.8, label=col)
        ax.set_ylabel(name)
        ax.legend(loc="upper left", fontsize=7, ncol=min(4, frame.shape[1]))
    axes[0, 0].set_title(title)
    return _save(fig, out)


def plot_allocation(returns: pd.DataFrame, weights: pd.DataFrame, labels: pd.Series, order: list[str],
                    out: str | Path, title: str = "") -> Path:
    """Save a PNG: equity curves (log), drawdowns, and the regime strategy's weights over time.

    ``returns`` holds daily net returns per strategy; the background is shaded by ``labels``.
    """
    wealth = (1.0 + returns.fillna(0.0)).cumprod()
    fig = Figure(figsize=(12, 9))
    axes = fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.5, 1.8]})
    shade_regimes(axes[0], labels, order)
    for col in wealth.columns:
        axes[0].plot(wealth.index, wealth[col].to_numpy(), lw=1.4 if col == "regime" else 0.9, label=col)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("wealth (log), after costs")
    axes[0].legend(loc="upper left", fontsize=8)
    axes[0].set_title(title or "Allocation: regime strategy against its comparisons (out of sample)")
    dd = drawdown(returns.fillna(0.0))
    for col in dd.columns:
        axes[1].plot(dd.index, dd[col].to_numpy(), lw=1.2 if col == "regime" else 0.7, label=col)
    axes[1].set_ylabel("drawdown")
    axes[2].stackplot(weights.index, weights.to_numpy().T, labels=list(weights.columns), alpha=0.85)
    axes[2].set_ylim(0, 1)
    axes[2].set_ylabel("regime strategy weights")
    axes[2].legend(loc="upper left", fontsize=7, ncol=weights.shape[1])
    return _save(fig, out)


def plot_history(probs: pd.DataFrame, labels: pd.Series, weights: pd.DataFrame, names: dict[str, str],
                 out: str | Path, title: str = "") -> Path:
    """Save a PNG of the daily record: the reported confidence on a regime-shaded background, the stacked
    probabilities, and (when recorded) the target weights, each day as it was reported."""
    order = list(probs.columns)
    n = 3 if weights.shape[1] else 2
    fig = Figure(figsize=(12, 2.6 * n + 0.6))
    axes = fig.subplots(n, 1, sharex=True)
    conf = pd.Series([probs.at[d, r] if isinstance(r, str) else float("nan") for d, r in labels.items()],
                     index=labels.index)
    shade_regimes(axes[0], labels, order)
    axes[0].plot(conf.index, conf.to_numpy(), color="black", lw=1.0, marker="." if len(conf) < 60 else None)
    axes[0].set_ylim(0, 1.02)
    axes[0].set_ylabel("confidence")
    axes[0].set_title(title or "Daily record: each morning's regime, as reported")
    handles = [Rectangle((0, 0), 1, 1, color=regime_color(r, order), alpha=0.5) for r in order]
    axes[0].legend(handles, [names.get(r, r) for r in order], loc="lower left", fontsize=8, ncol=len(order))
    axes[1].stackplot(probs.index, probs.to_numpy().T, colors=[regime_color(r, order) for r in order], alpha=0.8,
                      step="post")
    axes[1].set_ylim(0, 1)
    axes[1].set_ylabel("filtered P")
    if n == 3:
        axes[2].stackplot(weights.index, weights.fillna(0.0).to_numpy().T, labels=list(weights.columns),
                          step="post", alpha=0.85)
        axes[2].set_ylim(0, 1)
        axes[2].set_ylabel("target weights")
        axes[2].legend(loc="upper left", fontsize=7, ncol=weights.shape[1])
    locator = AutoDateLocator()
    axes[-1].xaxis.set_major_locator(locator)
    axes[-1].xaxis.set_major_formatter(ConciseDateFormatter(locator))
    return _save(fig, out)


def plot_sweep(table: pd.DataFrame, out: str | Path, title: str = "") -> Path:
    """Save a PNG of a sweep's results: per config, each dataset's value (dots) and their mean (bar).

    One panel per measure the successful runs have: balanced accuracy against the truth, the share of dated
    episodes passed, and switches per year. ``table`` is :attr:`regime.sweep.SweepResult.table`.
    """
    ok = table[table["status"] == "ok"].copy()
    ok["episode_share"] = ok["episodes_passed"].astype(float) / ok["episodes_evaluated"].astype(float)
    measures = [(c, head) for c, head in (("balanced_accuracy", "balanced accuracy (truth)"),
                                          ("episode_share", "share of episodes passed"),
                                          ("switches_per_year", "switches per year"))
                if ok[c].notna().any()]
    configs = list(dict.fromkeys(table["config"]))
    datasets = list(dict.fromkeys(table["dataset"]))
    colors = {d: _EXTRA[i % len(_EXTRA)] if len(datasets) <= len(_EXTRA) else "#08519c" for i, d in enumerate(datasets)}
    step = min(0.08, 0.5 / len(datasets))  # each dataset keeps its place beside every bar
    fig = Figure(figsize=(max(6.0, 1.2 * len(configs) + 3), 2.8 * max(len(measures), 1) + 0.6))
    axes = fig.subplots(max(len(measures), 1), 1, squeeze=False)[:, 0]
    if not measures:
        axes[0].text(0.5, 0.5, "no run succeeded", ha="center", va="center")
        axes[0].set_axis_off()
    for ax, (col, head) in zip(axes, measures):
        labelled: set[str] = set()
        for x, name in enumerate(configs):
            part = ok[(ok["config"] == name) & ok[col].notna()]
            if part.empty:
                continue
            ax.bar(x, part[col].astype(float).mean(), width=0.6, color="#deebf7", edgecolor="#3182bd")
            for dset, v in zip(part["dataset"], part[col].astype(float)):
                k = datasets.index(dset)
                ax.plot(x + (k - (len(datasets) - 1) / 2.0) * step, v, "o", color=colors[dset], ms=5,
                        label=None if dset in labelled else dset)
                labelled.add(dset)
        ax.set_xticks(range(len(configs)), configs, rotation=20 if len(configs) > 4 else 0)
        ax.set_xlim(-0.6, len(configs) - 0.4)
        ax.set_ylabel(head)
        if col in ("balanced_accuracy", "episode_share"):
            ax.set_ylim(0, 1.02)
    if measures and len(datasets) <= len(_EXTRA):
        handles, names = axes[0].get_legend_handles_labels()
        axes[0].legend(handles, names, loc="lower right", fontsize=7, title="dataset", title_fontsize=7)
    axes[0].set_title(title or "Sweep: each dataset (dots) and the mean over datasets (bar), per config")
    return _save(fig, out)


def _save(fig, out: str | Path) -> Path:
    """Lay out, write to a temporary file beside ``out``, then rename it into place."""
    fig.tight_layout()
    out = Path(out)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=100)
    return out

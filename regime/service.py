"""The engine's workflows, one function each: what ``regime <command>`` runs, callable from Python.

The command line (:mod:`regime.cli`) only parses options, calls one function here and renders its result
(:mod:`regime.render`), so the Python API and the CLI run the same code and give the same results.

Every function takes paths, writes its outputs atomically (a failed run leaves existing files whole) and
returns a result object or a plain dict. ``progress`` callbacks receive short stage messages; library code
logs, it never prints.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._io import atomic_path, atomic_write_json, move_into_place, staged_directory
from .errors import ConfigError, RegimeError

if TYPE_CHECKING:
    import pandas as pd

    from .online import FetchResult, Sources, UpdateResult

__all__ = [
    "BacktestRun",
    "DailyRun",
    "DemoResult",
    "TrainResult",
    "allocate_backtest",
    "backtest",
    "daily",
    "demo",
    "evaluate",
    "feature_snapshot",
    "fetch_data",
    "history",
    "import_data",
    "import_french",
    "report",
    "score",
    "signal",
    "sweep",
    "synth",
    "train",
    "update_data",
]

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


def _say(progress: Progress | None) -> Progress:
    return progress if progress is not None else (lambda _msg: None)


# ----------------------------------------------------------------------------------------- train
@dataclass(frozen=True)
class TrainResult:
    """A stored artifact: where it is, its metadata, and the summary ``regime train`` shows."""

    path: Path
    metadata: dict[str, Any]
    summary: dict[str, Any]


def train(data_dir: str | Path, config_path: str | Path | None = None, models_dir: str | Path = "models",
          name: str = "default", progress: Progress | None = None) -> TrainResult:
    """Fit a regime model on every day in ``data_dir`` and store it as a new artifact.

    Writes ``<models_dir>/<name>/<UTC timestamp>/`` and points ``<models_dir>/<name>/latest`` at it; a failed
    run leaves the previous ``latest`` untouched.
    """
    from .artifacts import build_metadata, save_artifact
    from .config import load_config
    from .data import load_data
    from .pipeline import fit_regime_model

    say = _say(progress)
    t0 = time.perf_counter()
    cfg = load_config(config_path)
    say(f"loading {data_dir}")
    data = load_data(data_dir, cfg)
    model = fit_regime_model(data, cfg, progress=say)
    say("writing artifact")
    meta = build_metadata(model, data)
    path = save_artifact(model, meta, models_dir, name)
    diag = meta["diagnostics"]
    summary = {
        "artifact": str(path),
        "trained_from": meta["trained_from"],
        "trained_through": meta["trained_through"],
        "n_features": len(meta["features"]),
        "state_map": meta["state_map"],
        "converged": diag["converged"],
        "n_iter": diag["n_iter"],
        "mean_log_likelihood": diag["mean_log_likelihood"],
        "bic": diag["bic"],
        "seconds": round(time.perf_counter() - t0, 2),
    }
    return TrainResult(path=path, metadata=meta, summary=summary)


def _load_model(model: str | Path | None, models_dir: str | Path, name: str, say: Progress):
    from .artifacts import load_artifact, resolve_model_path

    path = resolve_model_path(model, models_dir, name)
    say(f"loading model {path}")
    rmodel, meta = load_artifact(path)
    return path, rmodel, meta


# ----------------------------------------------------------------------------------------- score
def score(data_dir: str | Path, model: str | Path | None = None, models_dir: str | Path = "models",
          name: str = "default", asof: str | None = None, json_out: str | Path | None = None,
          progress: Progress | None = None, features_dir: str | Path | None = "features"):
    """Label the as-of day with a stored model: regime, confidence, probabilities, drivers.

    Uses the artifact ``model``, or ``<models_dir>/<name>/latest``; only data up to the as-of day is used.
    With ``json_out`` the result is also written there as JSON. The constituents' feature work comes from the
    feature snapshot in ``features_dir``, extended by the days after it (None: computed afresh; the result is
    the same either way). When the snapshot was made from byte-identical files (nothing new since the last run),
    the constituents are not even read.

    Returns
    -------
    ScoreResult
    """
    from .data import load_data, load_panel
    from .errors import DataError
    from .features import stored_aggregates
    from .scoring import score_day

    say = _say(progress)
    path, rmodel, meta = _load_model(model, models_dir, name, say)
    say(f"loading {data_dir}")
    data = load_data(data_dir, rmodel.config, panel=features_dir is None)  # the panel: only if needed
    if data.panel_file is not None and stored_aggregates(data, rmodel.config, features_dir) is None:
        data = load_panel(data)  # no exact snapshot of these files: read the panel
    info = {"version": meta.get("package_version"), "path": str(Path(path).resolve())}
    say("scoring")
    try:
        result = score_day(rmodel, data, asof, model_info=info, store=features_dir)
    except DataError:
        if data.panel_file is None:
            raise
        # the day has no label: with the panel read, the message can name a stale constituents file
        result = score_day(rmodel, load_panel(data), asof, model_info=info, store=features_dir)
    if json_out is not None:
        atomic_write_json(json_out, result.to_dict())
    return result


# ----------------------------------------------------------------------------------------- features
def feature_snapshot(data_dir: str | Path, config_path: str | Path | None = None,
                     features_dir: str | Path = "features", out: str | Path | None = None,
                     progress: Progress | None = None, cache: bool = True) -> dict[str, Any]:
    """Compute every feature the data supports (trailing windows only) and save them as a table.

    The default file is ``<features_dir>/<first 16 hex digits of the data hash>.parquet``. With ``cache`` the
    constituents' daily aggregates come from (and update) the feature snapshot in ``features_dir`` (see
    :func:`regime.features.cached_features`); the features are the same either way.

    Returns
    -------
    dict
        ``path``, ``features``, ``days``, ``complete_from`` (the first day with every feature, or None) and
        ``snapshot`` (how the panel aggregates were obtained: ``exact``, ``extended``, ``built``, ``rebuilt``,
        ``uncached``, ``none``, or ``off`` without ``cache``).
    """
    from .config import load_config
    from .data import load_data, write_table
    from .features import assemble_features, build_features, cached_aggregates

    cfg = load_config(config_path)
    say = _say(progress)
    say(f"loading {data_dir}")
    data = load_data(data_dir, cfg)
    say("building features")
    if cache:
        snap = cached_aggregates(data, cfg, features_dir)
        feats, status = assemble_features(data, cfg, snap.aggregates), snap.status
    else:
        feats, status = build_features(data, cfg), "off"
    target = Path(out) if out is not None else Path(features_dir) / f"{data.data_hash()[:16]}.parquet"
    write_table(feats, target)
    first = feats.dropna().index
    return {"path": str(target), "features": int(feats.shape[1]), "days": int(len(feats)),
            "complete_from": str(first[0].date()) if len(first) else None, "snapshot": status}


# ----------------------------------------------------------------------------------------- backtest
@dataclass(frozen=True, eq=False)
class BacktestRun:
    """A walk-forward run, its labels CSV, and (with episodes) how it did on them."""

    result: Any  # BacktestResult
    csv: Path
    episodes: Any = None  # EpisodeReport or None

    def to_dict(self) -> dict[str, Any]:
        """What ``regime backtest --format json`` prints."""
        payload = {"summary": self.result.summary, "truth": self.result.truth, "csv": str(self.csv)}
        if self.episodes is not None:
            payload["episodes"] = self.episodes.to_dict()
        return payload


def backtest(data_dir: str | Path, out_csv: str | Path, config_path: str | Path | None = None,
             start: str | None = None, refit_every: int | None = None, window: str | None = None,
             naive: bool = False, episodes: str | Path | None = None, progress: Progress | None = None,
             on_refit: Callable[[int, int, pd.Timestamp], None] | None = None) -> BacktestRun:
    """Walk forward: refit on data before each refit date, label the days after, write the labels CSV.

    Every label is the filtered probability from the model in force that day. If ``data_dir`` has
    ``truth.csv``, the summary adds accuracy, detection lag and calibration; with ``episodes`` (a CSV of dated
    episodes), each episode's share of days carrying the expected label.
    """
    from .backtest import read_truth, walk_forward
    from .config import load_config
    from .data import load_data
    from .episodes import evaluate_episodes, read_episodes

    cfg = load_config(config_path)
    eps = read_episodes(episodes, list(cfg.regimes)) if episodes is not None else None
    _say(progress)(f"loading {data_dir}")
    data = load_data(data_dir, cfg)
    truth = read_truth(data_dir)
    result = walk_forward(data, cfg, start=start, refit_every=refit_every, window=window, naive=naive,
                          truth=truth, progress=on_refit)
    out_csv = Path(out_csv)
    with atomic_path(out_csv) as tmp:
        result.to_frame().to_csv(tmp, date_format="%Y-%m-%d", float_format="%.6f")
    report_ = evaluate_episodes(result.labels, eps, data.dates) if eps is not None else None
    return BacktestRun(result=result, csv=out_csv, episodes=report_)


def evaluate(labels_csv: str | Path, episodes: str | Path, data_dir: str | Path | None = None,
             config_path: str | Path | None = None):
    """Judge walk-forward labels against dated episodes.

    With ``data_dir``, its trading days are the calendar, so days before the first label count against an
    episode; without it, only labelled days are seen.

    Returns
    -------
    EpisodeReport
    """
    from .config import load_config
    from .data import load_data
    from .episodes import evaluate_episodes, read_episodes
    from .report import read_backtest

    cfg = load_config(config_path)
    ids = list(cfg.regimes)
    eps = read_episodes(episodes, ids)
    _, lab, _ = read_backtest(labels_csv, ids)
    calendar = load_data(data_dir, cfg).dates if data_dir is not None else None
    return evaluate_episodes(lab, eps, calendar)


def report(backtest_csv: str | Path, data_dir: str | Path, out_dir: str | Path,
           config_path: str | Path | None = None) -> Path:
    """PNG charts and a one-page ``report.html`` of a walk-forward run; returns the HTML file."""
    from .backtest import read_truth
    from .config import load_config
    from .data import load_data
    from .report import write_report

    cfg = load_config(config_path)
    data = load_data(data_dir, cfg)
    return write_report(backtest_csv, data, cfg, out_dir, truth=read_truth(data_dir))


# ----------------------------------------------------------------------------------------- allocation
def _backtest_inputs(backtest_csv: str | Path, data_dir: str | Path, config_path: str | Path | None):
    from .config import load_config
    from .data import load_data
    from .report import read_backtest

    cfg = load_config(config_path)
    probs, labels, _ = read_backtest(backtest_csv, list(cfg.regimes))
    return cfg, probs, labels, load_data(data_dir, cfg)


def signal(data_dir: str | Path, model: str | Path | None = None, backtest_csv: str | Path | None = None,
           config_path: str | Path | None = None, models_dir: str | Path = "models", name: str = "default",
           asof: str | None = None, json_out: str | Path | None = None, progress: Progress | None = None,
           features_dir: str | Path | None = "features"):
    """Target weights over the sleeves, decided at the as-of close, from a model or a backtest CSV.

    From a model, the filtered probabilities of every day up to the as-of day are computed from data up to
    that day only, with the constituents' feature work from the snapshot in ``features_dir`` (None: afresh).
    The allocation section is ``config_path``'s, else the model's (or the defaults with
    ``backtest_csv``).

    Returns
    -------
    Signal
    """
    from .allocation import signal as make_signal
    from .config import load_config
    from .data import load_data, parse_day
    from .scoring import label_history

    if model is not None and backtest_csv is not None:
        raise ConfigError("give --model or --backtest, not both")
    say = _say(progress)
    if backtest_csv is not None:
        cfg, probs, labels, data = _backtest_inputs(backtest_csv, data_dir, config_path)
    else:
        _, rmodel, _ = _load_model(model, models_dir, name, say)
        cfg = load_config(config_path) if config_path is not None else rmodel.config
        data = load_data(data_dir, rmodel.config)
        say("filtering")
        last = data.dates[-1]
        data, _, probs = label_history(rmodel, data, asof, store=features_dir)
        probs = probs.dropna()
        labels = rmodel.labels_from(probs)
        if asof is not None and parse_day(asof) <= last:  # a weekend or holiday: the trading day before it
            asof = data.dates[-1]
    sig = make_signal(probs, labels, data, cfg.allocation, asof)
    if json_out is not None:
        atomic_write_json(json_out, sig.to_dict())
    return sig


ALLOCATION_FILES = ("allocation.csv", "allocation.json", "allocation.png")


def allocate_backtest(backtest_csv: str | Path, data_dir: str | Path, out_dir: str | Path = "allocation",
                      config_path: str | Path | None = None, progress: Progress | None = None) -> dict[str, Any]:
    """Follow walk-forward labels with the tilt table, after costs, against simple alternatives.

    Writes ``allocation.csv`` (daily returns and weights), ``allocation.json`` (the returned summary) and
    ``allocation.png`` into ``out_dir`` together: a failure leaves the previous three whole.

    Returns
    -------
    dict
        ``table`` (strategy -> measure -> value), ``placebo_beaten``, ``first_day``, ``last_day``, ``config``.
    """
    from .allocation import allocation_backtest
    from .data import write_table
    from .plotting import plot_allocation

    say = _say(progress)
    cfg, probs, labels, data = _backtest_inputs(backtest_csv, data_dir, config_path)
    say(f"simulating the strategy and {cfg.allocation.placebo_draws} placebo draws")
    res = allocation_backtest(probs, labels, data, cfg.allocation)
    say("writing results")
    frame = res.returns.add_prefix("ret_").join(res.weights.add_prefix("w_"))
    frame.index.name = "date"
    payload = {
        "table": json.loads(res.table.to_json(orient="index")),
        "placebo_beaten": res.placebo_beaten,
        "first_day": str(res.returns.index[0].date()),
        "last_day": str(res.returns.index[-1].date()),
        "config": res.config,
    }
    with staged_directory(out_dir) as staged:
        write_table(frame, staged / "allocation.csv")
        atomic_write_json(staged / "allocation.json", payload)
        plot_allocation(res.returns, res.weights, labels.reindex(res.returns.index), list(probs.columns),
                        staged / "allocation.png")
    return payload


# ----------------------------------------------------------------------------------------- sweep
def sweep(grid_path: str | Path, out: str | Path, *, n_jobs: int | None = None, scheduler: str | None = None,
          chart: str | Path | None = None, progress: Callable[[int, int, str, str], None] | None = None):
    """Run many walk-forwards from a YAML grid of datasets and configs; write their table, summary and chart.

    The whole grid is checked before anything runs. Each (dataset, config) pair is one walk-forward and one row
    of ``out`` (``.csv`` or ``.parquet``); ``out`` with ``.json`` gets the summary, ``chart`` (default ``out``
    with ``.png``) the summary chart. A failed run is a row with its error; the others go on.

    Parameters
    ----------
    grid_path : str or Path
        The grid YAML (format: :mod:`regime.sweep`; an example: ``configs/sweep.yaml``).
    out : str or Path
        The results table.
    n_jobs : int, optional
        Local worker processes (joblib loky; -1 = every core; None = 1, in this process). With
        ``scheduler``: the most runs in flight (default: every worker thread of the cluster).
    scheduler : str, optional
        A Dask scheduler, ``tcp://HOST:PORT``: the runs go to its workers (needs ``pip install 'regime[dask]'``).
    chart : str or Path, optional
        The summary chart's PNG.
    progress : callable, optional
        ``progress(done, total, run_id, status)`` after each finished run.

    Returns
    -------
    SweepResult
        Every row in grid order, the backend and the files written (:class:`regime.sweep.SweepResult`).
    """
    from .sweep import read_grid, run_sweep, table_suffix, write_sweep

    if n_jobs == 0:
        raise ConfigError("--n-jobs 0 runs nothing; give a number of processes, or -1 for every core")
    table_suffix(out)  # a bad --out fails before anything runs
    grid = read_grid(grid_path)
    result = run_sweep(grid, n_jobs=n_jobs, scheduler=scheduler, progress=progress)
    return write_sweep(result, out, chart)


# ----------------------------------------------------------------------------------------- data
def synth(out_dir: str | Path, seed: int = 0, years: float = 30.0, stocks: int = 500, file_format: str = "csv",
          variant: str = "base", progress: Progress | None = None) -> dict[str, Any]:
    """Write the built-in synthetic market (prices, rates, constituents, truth.csv) or one of its variants.

    Returns
    -------
    dict
        ``out``, ``variant``, ``files``, ``days``, ``stocks``, ``survivors`` (None unless the variant drops
        delisted names) and ``shares`` (each true regime's share of days).
    """
    from .synth import VARIANTS, simulate_market, write_market

    options = VARIANTS[variant]
    n_stocks = options.n_stocks or stocks
    _say(progress)(f"simulating {years:g} years x {n_stocks} stocks ({variant})")
    market = simulate_market(seed=seed, years=years, n_stocks=stocks, options=options)
    write_market(market, out_dir, file_format)
    files = ["prices"] + ["rates"] * (market.rates is not None) + ["constituents"] * (market.panel is not None)
    survivors = len(market.panel.tickers) if market.universe is not None and market.panel is not None else None
    return {
        "out": str(out_dir), "variant": variant, "files": files, "days": len(market.prices), "stocks": n_stocks,
        "survivors": survivors,
        "shares": market.truth.value_counts(normalize=True).round(3).to_dict(),
    }


def import_french(french_dir: str | Path, fred_dir: str | Path, out_dir: str | Path) -> dict[str, Any]:
    """Turn the Kenneth French and FRED files, as published, into a data directory (see ``import_french_fred``)."""
    from .importers import import_french_fred

    return import_french_fred(french_dir, fred_dir, out_dir)


def import_data(out_dir: str | Path, prices: Mapping[str, Sequence[Path]] | None = None,
                rates: Mapping[str, Sequence[Path]] | None = None, constituents: str | Path | None = None,
                mapping: str | Path | None = None, start: str | None = None,
                end: str | None = None) -> dict[str, Any]:
    """Turn downloaded price files, FRED CSVs and a wide constituents panel into a data directory.

    ``prices`` and ``rates`` map a column name to its files (several are spliced, the later one winning); they
    add to the ``mapping`` YAML's, and ``constituents`` replaces its panel.
    """
    from .data import parse_day
    from .importers import import_files, read_import_mapping

    spec: dict[str, Any] = {"prices": {}, "rates": {}, "constituents": None}
    if mapping is not None:
        spec = read_import_mapping(mapping)
    for section, given in (("prices", prices), ("rates", rates)):
        for key, files in (given or {}).items():
            spec[section][key] = list(spec[section].get(key, [])) + list(files)
    if constituents is not None:
        spec["constituents"] = Path(constituents)
    return import_files(out_dir, spec["prices"], spec["rates"], spec["constituents"],
                        start=None if start is None else parse_day(start, "--start"),
                        end=None if end is None else parse_day(end, "--end"))


def fetch_data(out_dir: str | Path, *, preset: str | None = None, tickers: Mapping[str, str] | None = None,
               series: Mapping[str, str] | None = None, start: str | None = None, end: str | None = None,
               config_out: str | Path | None = None, sources: Sources | None = None,
               progress: Progress | None = None) -> FetchResult:
    """Download ETFs or indices (Yahoo Finance) and FRED series into a data directory (see :func:`regime.online.fetch`).

    With neither ``tickers`` nor ``series`` the ``us`` preset is fetched (SPY, RSP, QQQ, IJH, IJR, IWM; DFF,
    DGS2, DGS10, BAA10Y); ``tickers`` and ``series`` (column -> symbol) add to a named ``preset``. Writes
    ``prices.csv``, ``rates.csv``, ``source.json`` and a ``config.yaml`` with the roles (or ``config_out``).
    """
    from .online import fetch

    return fetch(out_dir, preset=preset, tickers=tickers, series=series, start=start, end=end,
                 config_out=config_out, sources=sources, progress=_say(progress))


def update_data(data_dir: str | Path, *, end: str | None = None, overlap_days: int = 10,
                sources: Sources | None = None, progress: Progress | None = None) -> UpdateResult:
    """Append the days published since ``data_dir`` was fetched, and apply revisions (see :func:`regime.online.update`).

    Idempotent (a second run writes nothing) and all-or-nothing (a failed download leaves every file whole).
    """
    from .online import update

    return update(data_dir, end=end, overlap_days=overlap_days, sources=sources, progress=_say(progress))


# ----------------------------------------------------------------------------------------- demo
@dataclass(frozen=True, eq=False)
class DemoResult:
    """The demo's score of the last day, the true regime then, the in-sample accuracy, and the chart."""

    score: Any  # ScoreResult
    truth_today: str
    balanced_accuracy: float
    chart: Path
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """What ``regime demo --format json`` prints."""
        d = self.score.to_dict()
        d["chart"] = str(self.chart)
        d["in_sample_balanced_accuracy"] = round(float(self.balanced_accuracy), 4)
        return d


def demo(chart: str | Path = "regime_demo.png", seed: int = 7, years: float = 20.0, stocks: int = 300,
         progress: Progress | None = None) -> DemoResult:
    """Synthesize a market, train, score the last day, and save a regime chart.

    Everything happens in a temporary directory except the chart.
    """
    from sklearn.metrics import balanced_accuracy_score

    from .data import load_data
    from .plotting import plot_regimes
    from .scoring import label_history, score_day
    from .synth import simulate_market, write_market

    say = _say(progress)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="regime-demo-") as tmp:
        tmp = Path(tmp)
        say(f"simulating {years:g} years x {stocks} stocks")
        market = simulate_market(seed=seed, years=years, n_stocks=stocks)
        write_market(market, tmp / "data", "parquet")
        trained = train(tmp / "data", None, tmp / "models", "demo", progress)
        _, rmodel, meta = _load_model(trained.path, tmp / "models", "demo", say)
        data = load_data(tmp / "data", rmodel.config)
        say("scoring the last day")
        store = tmp / "features"  # the chart's features come from the snapshot the score just made
        result = score_day(rmodel, data, model_info={"version": meta["package_version"]}, store=store)
        say("drawing the chart")
        _, feats, probs = label_history(rmodel, data, store=store)
        labels = rmodel.labels_from(probs)
        plot_regimes(data.series("large_cap"), probs, labels, rmodel.regime_names, chart,
                     title="Built-in market: filtered regimes (in-sample fit, no look-ahead in the filter)",
                     truth=market.truth)
    ok = labels.notna()
    acc = balanced_accuracy_score(market.truth[ok], labels[ok].astype(str))
    return DemoResult(score=result, truth_today=str(market.truth.iloc[-1]), balanced_accuracy=float(acc),
                      chart=Path(chart), seconds=time.perf_counter() - t0)


# ----------------------------------------------------------------------------------------- daily
@dataclass(frozen=True, eq=False)
class DailyRun:
    """One morning's run: the record of the day, whether it was new, and whether the regime changed.

    Attributes
    ----------
    record : DailyRecord
        The day's row of the history (the one already there when ``recorded`` is False).
    recorded : bool
        True when this run wrote the row; False when the day was already recorded (nothing changed).
    changed : bool
        The regime differs from the previous recorded day's.
    previous : DailyRecord or None
        The last record before this day.
    history : Path
        The history file.
    update : UpdateResult or None
        What ``data update`` did first (None when it did not run).
    score : ScoreResult or None
        The full score of a newly recorded day (drivers included); None on a re-run.
    """

    record: Any
    recorded: bool
    changed: bool
    previous: Any
    history: Path
    update: Any = None  # UpdateResult or None
    score: Any = None

    def __post_init__(self) -> None:
        if self.changed and (self.previous is None or self.previous.regime == self.record.regime):
            raise ValueError("changed means the previous record has another regime")

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.record.date,
            "recorded": self.recorded,
            "regime_changed": self.changed,
            "previous": None if self.previous is None else {"date": self.previous.date,
                                                            "regime": self.previous.regime},
            "record": self.record.to_dict(),
            "history": str(self.history),
            "update": None if self.update is None else self.update.to_dict(),
            "drivers": None if self.score is None else [vars(d) for d in self.score.drivers],
        }


def daily(data_dir: str | Path, model: str | Path | None = None, models_dir: str | Path = "models",
          name: str = "default", history_file: str | Path | None = None, update: bool | None = None,
          update_end: str | None = None, sources: Sources | None = None, json_out: str | Path | None = None,
          progress: Progress | None = None, features_dir: str | Path | None = "features") -> DailyRun:
    """The morning job: update the data, label the last day, decide the weights, and record them once.

    1. With ``update`` (default: when ``data_dir`` was made by ``regime data fetch``), append the days
       published since the last run and apply revisions (:func:`update_data`, through ``update_end``).
    2. Label the data's last day with the model (filtered probabilities: data up to that day only), with the
       constituents' feature work from the feature snapshot of ``data_dir`` in ``features_dir`` (None: afresh).
    3. Decide the target weights at that close (the model config's ``allocation`` section).
    4. Append one row to the point-in-time history (default ``<models_dir>/<name>/history.csv``, beside
       the model's ``latest``): date, regime, confidence, probabilities, weights, model version, data through.

    A day already in the history is not scored again and nothing is written: re-running a morning is a no-op,
    and the history keeps what was reported the first time.

    Returns
    -------
    DailyRun

    Raises
    ------
    DataError
        The data or the update fails (the message names the file, series or date), or the last day's inputs are
        stale; the history is untouched.
    """
    from .history import HISTORY_FILE
    from .online import MANIFEST

    say = _say(progress)
    data_dir = Path(data_dir)
    path, rmodel, meta = _load_model(model, models_dir, name, say)
    hist = Path(history_file) if history_file is not None else Path(path).absolute().parent / HISTORY_FILE
    if not (update or (update is None and (data_dir / MANIFEST).is_file())):
        run = _record_day(data_dir, path, rmodel, meta, hist, None, say, features_dir=features_dir)
    else:
        # update a working copy, label it, then move the updated files into place: a failed download or a
        # failed label leaves every file of data_dir (and the history) as it was
        with tempfile.TemporaryDirectory(dir=data_dir.parent, prefix=f".{data_dir.name}.daily-") as tmp:
            work = Path(tmp)
            for f in data_dir.iterdir():
                if f.is_file():
                    shutil.copy2(f, work / f.name)
            try:
                say(f"updating {data_dir}")
                upd = update_data(work, end=update_end, sources=sources, progress=progress)
                run = _record_day(work, path, rmodel, meta, hist, upd, say, commit=lambda: [
                    move_into_place(work / f, data_dir / f) for f in upd.written],
                    features_dir=features_dir, source=data_dir)
            except RegimeError as exc:  # name the user's directory, not the working copy
                raise type(exc)(str(exc).replace(str(work), str(data_dir))) from None
        run = replace(run, update=replace(upd, data_dir=data_dir))
    if json_out is not None:
        atomic_write_json(json_out, run.to_dict())
    return run


def _record_day(data_dir: Path, path: Path, rmodel, meta: dict[str, Any], hist: Path, upd,
                say: Progress, commit: Callable[[], Any] | None = None, features_dir: str | Path | None = None,
                source: Path | None = None) -> DailyRun:
    """Label the last day of ``data_dir`` and append it to ``hist`` (unless it is recorded); ``commit`` runs
    once the label and weights exist, just before the history row is written. ``source`` is the directory the
    data stands for when ``data_dir`` is a working copy of it (it keys the feature snapshot)."""
    from datetime import datetime, timezone

    from .allocation import signal as make_signal
    from .data import load_data, load_panel
    from .history import DailyRecord, append_record, read_history, record_on
    from .scoring import label_history, score_labelled

    say(f"loading {data_dir}")
    data = load_data(data_dir, rmodel.config, panel=False)  # the panel only once the day needs a label
    if source is not None:
        data = replace(data, source=Path(source))
    day = str(data.dates[-1].date())
    past = read_history(hist)
    before = past[past.index < day]
    previous = DailyRecord.from_row({**before.iloc[-1].to_dict(), "date": str(before.index[-1].date())}) \
        if len(before) else None
    done = record_on(hist, day)
    if done is not None:
        log.info("%s is already recorded in %s; nothing to do", day, hist)
        if commit is not None:
            commit()
        return DailyRun(done, False, previous is not None and previous.regime != done.regime, previous, hist, upd)
    say("scoring")
    data = load_panel(data)  # the signal's staleness checks read the constituents too
    info = {"version": meta.get("package_version"), "path": str(Path(path).resolve())}
    labelled = label_history(rmodel, data, store=features_dir, columns=rmodel.feature_names)
    result = score_labelled(rmodel, *labelled, model_info=info)
    say("allocating")
    probs = labelled[2].dropna()
    sig = make_signal(probs, rmodel.labels_from(probs), data, rmodel.config.allocation)
    record = DailyRecord(
        date=result.asof, regime=result.regime, name=result.name, confidence=result.confidence,
        days_in_regime=result.days_in_regime, data_through=day, model_version=Path(path).resolve().name,
        trained_through=str(rmodel.trained_through.date()), data_hash=data.data_hash(),
        recorded_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        probabilities=dict(result.probabilities), weights=dict(sig.weights),
    )
    if commit is not None:
        commit()
    append_record(hist, record)
    return DailyRun(record, True, previous is not None and previous.regime != record.regime, previous, hist, upd,
                    result)


def history(models_dir: str | Path = "models", name: str = "default", history_file: str | Path | None = None,
            last: int | None = None, chart: str | Path | None = None) -> dict[str, Any]:
    """The point-in-time record of daily labels, optionally as a regime-shaded chart.

    Returns
    -------
    dict
        ``history`` (the file), ``days``, ``rows`` (the last ``last`` records, oldest first) and ``chart``.

    Raises
    ------
    DataError
        No history yet (the message says how to start one), or the file is not a history.
    """
    from .errors import DataError
    from .history import HISTORY_FILE, DailyRecord, read_history

    hist = Path(history_file) if history_file is not None else Path(models_dir) / name / HISTORY_FILE
    frame = read_history(hist)
    if frame.empty:
        raise DataError(f"no history at {hist} yet; `regime daily --data DIR` records one row per day")
    shown = frame if last is None else frame.iloc[-last:]
    rows = [DailyRecord.from_row({**r, "date": str(d.date())}).to_dict() for d, r in shown.iterrows()]
    out = {"history": str(hist), "days": int(len(frame)), "rows": rows, "chart": None}
    if chart is not None:
        from .plotting import plot_history

        probs = shown[[c for c in shown.columns if c.startswith("p_")]].rename(columns=lambda c: c[2:])
        weights = shown[[c for c in shown.columns if c.startswith("w_")]].rename(columns=lambda c: c[2:])
        names = dict(zip(frame["regime"], frame["name"]))
        out["chart"] = str(plot_history(probs, shown["regime"], weights, names, chart))
    return out

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
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._io import atomic_path, atomic_write_json, staged_directory
from .errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BacktestRun",
    "DemoResult",
    "TrainResult",
    "allocate_backtest",
    "backtest",
    "demo",
    "evaluate",
    "feature_snapshot",
    "import_data",
    "import_french",
    "report",
    "score",
    "signal",
    "synth",
    "train",
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
          progress: Progress | None = None):
    """Label the as-of day with a stored model: regime, confidence, probabilities, drivers.

    Uses the artifact ``model``, or ``<models_dir>/<name>/latest``; only data up to the as-of day is used.
    With ``json_out`` the result is also written there as JSON.

    Returns
    -------
    ScoreResult
    """
    from .data import load_data
    from .scoring import score_day

    say = _say(progress)
    path, rmodel, meta = _load_model(model, models_dir, name, say)
    say(f"loading {data_dir}")
    data = load_data(data_dir, rmodel.config)
    info = {"version": meta.get("package_version"), "path": str(Path(path).resolve())}
    result = score_day(rmodel, data, asof, model_info=info)
    if json_out is not None:
        atomic_write_json(json_out, result.to_dict())
    return result


# ----------------------------------------------------------------------------------------- features
def feature_snapshot(data_dir: str | Path, config_path: str | Path | None = None,
                     features_dir: str | Path = "features", out: str | Path | None = None,
                     progress: Progress | None = None) -> dict[str, Any]:
    """Compute every feature the data supports (trailing windows only) and save a snapshot.

    The default file is ``<features_dir>/<first 16 hex digits of the data hash>.parquet``.

    Returns
    -------
    dict
        ``path``, ``features``, ``days`` and ``complete_from`` (the first day with every feature, or None).
    """
    from .config import load_config
    from .data import load_data, write_table
    from .features import build_features

    cfg = load_config(config_path)
    _say(progress)(f"building features from {data_dir}")
    data = load_data(data_dir, cfg)
    feats = build_features(data, cfg)
    target = Path(out) if out is not None else Path(features_dir) / f"{data.data_hash()[:16]}.parquet"
    write_table(feats, target)
    first = feats.dropna().index
    return {"path": str(target), "features": int(feats.shape[1]), "days": int(len(feats)),
            "complete_from": str(first[0].date()) if len(first) else None}


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
           asof: str | None = None, json_out: str | Path | None = None, progress: Progress | None = None):
    """Target weights over the sleeves, decided at the as-of close, from a model or a backtest CSV.

    From a model, the filtered probabilities of every day up to the as-of day are computed from data up to
    that day only. The allocation section is ``config_path``'s, else the model's (or the defaults with
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
        data, _, probs = label_history(rmodel, data, asof)
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
        result = score_day(rmodel, data, model_info={"version": meta["package_version"]})
        say("drawing the chart")
        _, feats, probs = label_history(rmodel, data)
        labels = rmodel.labels_from(probs)
        plot_regimes(data.series("large_cap"), probs, labels, rmodel.regime_names, chart,
                     title="Built-in market: filtered regimes (in-sample fit, no look-ahead in the filter)",
                     truth=market.truth)
    ok = labels.notna()
    acc = balanced_accuracy_score(market.truth[ok], labels[ok].astype(str))
    return DemoResult(score=result, truth_today=str(market.truth.iloc[-1]), balanced_accuracy=float(acc),
                      chart=Path(chart), seconds=time.perf_counter() - t0)

"""Commands that train, score and judge models: train, score, features, backtest, evaluate, report, demo."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Literal

import typer

from .. import render
from ..render import out
from ._app import (AsofOpt, BacktestCsvOpt, ConfigOpt, DataOpt, EpisodesOpt, FormatOpt, JsonOutOpt, ModelsDirOpt,
                   NameOpt)
from ._app import command as _command

command = functools.partial(_command, rich_help_panel="Models")


@command()
def train(data: DataOpt, config: ConfigOpt = None, models_dir: ModelsDirOpt = Path("models"),
          name: NameOpt = "default", fmt: FormatOpt = "table") -> None:
    """Fit a regime model on all data in --data and store it as a new artifact.

    Writes <models-dir>/<name>/<UTC timestamp>/model.joblib and metadata.json, then points
    <models-dir>/<name>/latest at it. A failed run leaves the previous latest untouched.
    """
    from .. import service
    with render.stage("training", quiet=fmt == "json") as say:
        result = service.train(data, config, models_dir, name, progress=say)
    render.show_train(result.summary, fmt == "json")


@command()
def score(
    data: DataOpt,
    model: Annotated[Path | None, typer.Option("--model", help="Artifact directory or its model.joblib.")] = None,
    models_dir: ModelsDirOpt = Path("models"), name: NameOpt = "default", asof: AsofOpt = None,
    fmt: FormatOpt = "table", json_out: JsonOutOpt = None,
) -> None:
    """Classify the as-of day with a trained model: regime, confidence, probabilities, drivers.

    Uses the artifact --model, or <models-dir>/<name>/latest. Only data up to the as-of day is used.
    """
    from .. import service
    with render.stage("scoring", quiet=fmt == "json") as say:
        result = service.score(data, model, models_dir, name, asof, json_out, progress=say)
    render.show_score(result, fmt == "json")


@command()
def features(
    data: DataOpt, config: ConfigOpt = None,
    features_dir: Annotated[Path, typer.Option("--features-dir", help="Store of feature snapshots.")] = Path(
        "features"),
    snapshot: Annotated[Path | None, typer.Option(
        "--out", help="Snapshot file (.parquet or .csv); default: <features-dir>/<hash>.parquet")] = None,
) -> None:
    """Compute every feature the data supports and save a snapshot (trailing windows only)."""
    from .. import service
    with render.stage(f"building features from {data}") as say:
        info = service.feature_snapshot(data, config, features_dir, snapshot, progress=say)
    render.show_features(info)


@command()
def backtest(
    data: DataOpt,
    out_csv: Annotated[Path, typer.Option("--out", help="CSV to write: date,regime,confidence,p_<id>...")],
    config: ConfigOpt = None,
    start: Annotated[str | None, typer.Option(
        "--start", help="First out-of-sample day (default: once train.min_days are available).")] = None,
    refit_every: Annotated[int | None, typer.Option(
        "--refit-every", min=1, help="Trading days between refits (default: monthly).")] = None,
    window: Annotated[str | None, typer.Option(
        "--window", help="Training window: expanding or rolling:N (trading days).")] = None,
    naive: Annotated[bool, typer.Option(
        "--naive", help="Refit from scratch with all restarts each time (the slow baseline).")] = False,
    episodes: EpisodesOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Walk-forward, out-of-sample labels: refit on data before each refit date, label the days after.

    Every label is the filtered probability from the model in force that day. If DIR has truth.csv
    (date,regime), the summary adds accuracy, detection lag and calibration; with --episodes, each dated
    episode's share of days carrying the expected label.
    """
    from .. import service
    with render.refit_progress(f"loading {data}", quiet=fmt == "json") as (say, tick):
        run = service.backtest(data, out_csv, config, start=start, refit_every=refit_every, window=window,
                               naive=naive, episodes=episodes, progress=say, on_refit=tick)
    render.show_backtest(run, fmt == "json")


@command()
def evaluate(
    labels: Annotated[Path, typer.Option("--labels", help="CSV written by `regime backtest --out`.")],
    episodes: Annotated[Path, typer.Option("--episodes", help="CSV of dated episodes: start,end,expected,"
                                           "min_share,why (expected: a regime id, or !id for anything but id).")],
    data: Annotated[Path | None, typer.Option(
        "--data", help="The data directory the labels came from: its trading days are the calendar, so days "
        "before the first label count against an episode (without it, only labelled days are seen).")] = None,
    config: ConfigOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Judge walk-forward labels against dated episodes: each episode's share, the count passed, switches a year.

    An episode passes when at least min_share of its trading days carry the expected label; an episode
    outside the data is not evaluated.
    """
    from .. import service
    render.show_episodes(service.evaluate(labels, episodes, data, config), fmt == "json")


@command()
def report(
    backtest_csv: BacktestCsvOpt, data: DataOpt,
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for the PNG charts and report.html.")],
    config: ConfigOpt = None,
) -> None:
    """Charts and a one-page HTML report of a walk-forward run.

    PNGs: the index with regime shading, stacked regime probabilities, relative strength, breadth and rates
    panels with regime shading; report.html embeds them with the summary table (and truth metrics when DIR
    has truth.csv).
    """
    from .. import service
    with render.stage("writing report"):
        page = service.report(backtest_csv, data, out_dir, config)
    out.print(f"wrote [bold]{page}[/] and its charts in {out_dir}")


@command()
def demo(
    png: Annotated[Path, typer.Option("--out", help="Where to save the chart.")] = Path("regime_demo.png"),
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic market.")] = 7,
    years: Annotated[float, typer.Option("--years", min=5, help="Years of synthetic history.")] = 20.0,
    stocks: Annotated[int, typer.Option("--stocks", min=60, help="Number of constituents.")] = 300,
    fmt: FormatOpt = "table",
) -> None:
    """Synthesize a market, train, score the last day, and save a regime chart.

    Everything happens in a temporary directory except the chart.
    """
    from .. import service
    with render.stage("demo", quiet=fmt == "json") as say:
        result = service.demo(png, seed, years, stocks, progress=say)
    render.show_demo(result, fmt == "json")

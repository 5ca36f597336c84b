"""The ``regime`` command line: train, score, backtest, report, signal, allocate-backtest, demo, data.

Each command parses its options, makes one call into :mod:`regime.service` and renders the result with
:mod:`regime.render`. Errors in the input print one line naming the file, column or date and what to do,
and exit with status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from typer.core import TyperCommand

from . import __version__, render, service
from .errors import RegimeError
from .importers import name_file_pairs
from .render import err, log_to_stderr, out
from .synth import VARIANTS  # their names and descriptions make --variant's choices and help

app = typer.Typer(
    name="regime",
    help="Which equity-leadership regime is the market in (mega-cap concentration, broadening, stress), "
    "and how sure are we? Filtered probabilities only: no look-ahead.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Make data directories that follow the data contract.", no_args_is_help=True)
app.add_typer(data_app, name="data")
SynthVariant = Literal[tuple(VARIANTS)]  # type: ignore[valid-type]


class _Command(TyperCommand):
    """A command whose engine errors become one line on stderr and a non-zero exit (unless --debug)."""

    def invoke(self, ctx):
        if (ctx.find_object(dict) or {}).get("debug"):
            return super().invoke(ctx)
        try:
            return super().invoke(ctx)
        except RegimeError as exc:
            _fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted; existing artifacts are untouched", 130)
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:  # an engine bug, not bad input: still one line
            _fail(f"internal error {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", 1)


def _fail(message: str, code: int) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


command = functools.partial(app.command, cls=_Command)
data_command = functools.partial(data_app.command, cls=_Command)


@app.callback()
def _root(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks instead of one-line errors.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details to stderr.")] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        out.print(__version__)
        raise typer.Exit(0)
    ctx.ensure_object(dict)["debug"] = debug
    log_to_stderr(verbose)


# ----------------------------------------------------------------------------------------- options
DataOpt = Annotated[
    Path, typer.Option("--data", help="Data directory: prices (required), rates, constituents as .csv or .parquet.")
]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="YAML config; omitted fields take the defaults of configs/default.yaml.")
]
ModelsDirOpt = Annotated[Path, typer.Option("--models-dir", help="Root of the artifact store.")]
NameOpt = Annotated[str, typer.Option("--name", help="Model name: artifacts go to <models-dir>/<name>/<UTC timestamp>.")]
FormatOpt = Annotated[Literal["table", "json"], typer.Option("--format", help="table for people, json for machines.")]
AsofOpt = Annotated[
    str | None,
    typer.Option("--asof", help="The as-of day, YYYY-MM-DD (no later data is used); default: the last date."),
]
JsonOutOpt = Annotated[Path | None, typer.Option("--out", help="Also write the JSON to this file (atomically).")]
EpisodesOpt = Annotated[
    Path | None,
    typer.Option("--episodes", help="CSV of dated episodes (start,end,expected,min_share,why; expected is a regime "
                 "id or !id for 'anything but'): print each episode's share of days with the expected label."),
]
BacktestCsvOpt = Annotated[Path, typer.Option("--backtest", help="CSV written by `regime backtest --out`.")]


# ----------------------------------------------------------------------------------------- commands
@command()
def train(data: DataOpt, config: ConfigOpt = None, models_dir: ModelsDirOpt = Path("models"),
          name: NameOpt = "default", fmt: FormatOpt = "table") -> None:
    """Fit a regime model on all data in --data and store it as a new artifact.

    Writes <models-dir>/<name>/<UTC timestamp>/model.joblib and metadata.json, then points
    <models-dir>/<name>/latest at it. A failed run leaves the previous latest untouched.
    """
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
    with render.stage("writing report"):
        page = service.report(backtest_csv, data, out_dir, config)
    out.print(f"wrote [bold]{page}[/] and its charts in {out_dir}")


@command()
def signal(
    data: DataOpt,
    model: Annotated[Path | None, typer.Option(
        "--model", help="Artifact directory or model.joblib (default: <models-dir>/<name>/latest).")] = None,
    backtest_csv: Annotated[Path | None, typer.Option(
        "--backtest", help="Use this `regime backtest` CSV's probabilities instead of a model.")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", help="YAML whose `allocation` section to use (default: the model's, or the defaults with "
        "--backtest).")] = None,
    models_dir: ModelsDirOpt = Path("models"), name: NameOpt = "default", asof: AsofOpt = None,
    fmt: FormatOpt = "table", json_out: JsonOutOpt = None,
) -> None:
    """Target weights over the sleeves from the regime probabilities, decided at the as-of close.

    Weights are the probability-weighted blend of the config's tilt table, within its bounds; the
    path of held weights (drift, rebalance schedule, no-trade band, turnover cap) runs from the first
    probability to the as-of day, using no later data. JSON has asof, weights (summing to 1), regime,
    confidence, previous weights and the change.
    """
    with render.stage("allocating", quiet=fmt == "json") as say:
        sig = service.signal(data, model, backtest_csv, config, models_dir, name, asof, json_out, progress=say)
    render.show_signal(sig, fmt == "json")


@command("allocate-backtest")
def allocate_backtest(
    backtest_csv: BacktestCsvOpt, data: DataOpt,
    out_dir: Annotated[Path, typer.Option(
        "--out", help="Directory for allocation.csv, allocation.json and allocation.png.")] = Path("allocation"),
    config: ConfigOpt = None, fmt: FormatOpt = "table",
) -> None:
    """Follow the walk-forward labels with the tilt table, after costs, against simple alternatives.

    Weights decided at a close earn from the next day (one-day lag); trades cost allocation.cost_bp per
    unit of turnover; cash earns the policy rate. Compared on the same days: buy-and-hold of the
    cap-weighted index, a static equal mix of the sleeves, and a placebo that shuffles the regime spells
    (same durations, random order; the mean of allocation.placebo_draws draws).
    """
    with render.stage("allocation backtest", quiet=fmt == "json") as say:
        payload = service.allocate_backtest(backtest_csv, data, out_dir, config, progress=say)
    render.show_allocation(payload, out_dir, fmt == "json")


@data_command("synth")
def data_synth(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write prices, rates, constituents, truth.csv.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same market.")] = 0,
    years: Annotated[float, typer.Option("--years", min=3, help="Years of 252 business days.")] = 30.0,
    stocks: Annotated[int, typer.Option(
        "--stocks", min=40, help="Number of constituents (a variant may fix it).")] = 500,
    file_format: Annotated[Literal["csv", "parquet"], typer.Option("--format", help="File format of the data files.")] = "csv",
    variant: Annotated[SynthVariant, typer.Option(
        "--variant", help="Market variant (regime/synth.py, VARIANTS): " + "; ".join(
            f"{k}: {v.description}" for k, v in VARIANTS.items()) + ".")] = "base",
) -> None:
    """Write the built-in synthetic market (with its true regimes in truth.csv), or one of its variants."""
    with render.stage("simulating") as say:
        info = service.synth(out_dir, seed, years, stocks, file_format, variant, progress=say)
    render.show_synth(info)


@data_command("french")
def data_french(
    french: Annotated[Path, typer.Option("--french", help="Directory with the Kenneth French daily CSV files.")],
    fred: Annotated[Path, typer.Option("--fred", help="Directory with the FRED CSV files (DGS2, DGS10, DFF, ...).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Data directory to write (prices, rates, constituents).")],
    fmt: FormatOpt = "table",
) -> None:
    """Turn the Kenneth French and FRED files, as published, into a data directory.

    Large caps = the top size decile, small caps = the bottom 30 %, equal weight = the average of the size
    deciles, breadth from the ten industries. Use it with --config configs/french.yaml.
    """
    with render.stage("importing French and FRED files", quiet=fmt == "json"):
        info = service.import_french(french, fred, out_dir)
    render.show_french(info, fmt == "json")


@data_command("import")
def data_import(
    out_dir: Annotated[Path, typer.Option("--out", help="Data directory to write (prices.csv, rates.csv, "
                                          "constituents.parquet); an existing one is changed only on success.")],
    price: Annotated[list[str] | None, typer.Option(
        "--price", metavar="NAME=FILE",
        help="A daily price file (yfinance or EOD style, .csv or .csv.gz) becomes column NAME of prices.csv; "
        "repeat the option for more, and repeat a NAME to splice files (the later one wins).")] = None,
    rate: Annotated[list[str] | None, typer.Option(
        "--rate", metavar="NAME=FILE",
        help="A FRED CSV (or a price-style file such as ^VIX.csv) becomes column NAME of rates.csv; "
        "repeat as for --price.")] = None,
    constituents: Annotated[Path | None, typer.Option(
        "--constituents", help="Wide panel of constituent closes (a date column, then one column per ticker; "
        ".csv, .csv.gz or .parquet), written as constituents.parquet.")] = None,
    mapping: Annotated[Path | None, typer.Option(
        "--mapping", help="YAML with prices: {NAME: FILE or [FILES]}, rates: {...}, constituents: FILE; paths "
        "relative to the YAML file. --price/--rate add to it, --constituents replaces its panel.")] = None,
    start: Annotated[str | None, typer.Option("--start", help="Keep price dates from this day (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Keep price dates up to this day (YYYY-MM-DD).")] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Turn downloaded daily price files, FRED CSVs and a wide constituents panel into a data directory.

    Tip: name the columns after the default roles and the default config needs no roles section:
    prices spx (cap weight), spx_ew (equal weight), ndx (mega cap), mid, sml, rut;
    rates fed_funds, ust_2y, ust_10y, baa_spread.

    Example: regime data import --out data/etf --price spx=SPY.csv --rate fed_funds=DFF.csv
    """
    with render.stage("importing files", quiet=fmt == "json"):
        info = service.import_data(out_dir, name_file_pairs(price, "--price"), name_file_pairs(rate, "--rate"),
                                   constituents, mapping, start, end)
    render.show_import(info, fmt == "json")


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
    with render.stage("demo", quiet=fmt == "json") as say:
        result = service.demo(png, seed, years, stocks, progress=say)
    render.show_demo(result, fmt == "json")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

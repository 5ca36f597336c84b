"""The ``regime`` command line: train, score, backtest, report, signal, allocate-backtest, demo, data.

Errors in the input print one line naming the file, column or date and what
to do, and exit with status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
import tempfile
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from . import __version__
from .errors import RegimeError

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

out = Console()
err = Console(stderr=True)
_STATE = {"debug": False}
log = logging.getLogger("regime")


class Fmt(str, Enum):
    table = "table"
    json = "json"


class FileFmt(str, Enum):
    csv = "csv"
    parquet = "parquet"


def _synth_variants() -> dict:
    from .synth import VARIANTS

    return VARIANTS


SynthVariant = Enum("SynthVariant", {k: k for k in _synth_variants()}, type=str)  # type: ignore[misc]


def _fail(message: str, code: int) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def handle_errors(fn):
    """Turn engine errors into one line on stderr and a non-zero exit (unless --debug)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if _STATE["debug"]:
            return fn(*args, **kwargs)
        try:
            return fn(*args, **kwargs)
        except RegimeError as exc:
            _fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted; existing artifacts are untouched", 130)
        except typer.Exit:
            raise
        except Exception as exc:  # an engine bug, not bad input: still one line
            _fail(f"internal error {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", 1)

    return wrapper


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks instead of one-line errors.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details to stderr.")] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        out.print(__version__)
        raise typer.Exit(0)
    _STATE["debug"] = debug
    handler = _LineHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler], force=True)


class _LineHandler(logging.Handler):
    """Each log record as ONE line on stderr, ``warning: <message>``: never wrapped, so it can be grepped."""

    _STYLES = {"warning": "yellow", "error": "bold red", "critical": "bold red"}

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level = record.levelname.lower()
            line = Text.assemble((f"{level}:", self._STYLES.get(level, "dim")), " ", self.format(record))
            err.print(line, soft_wrap=True, highlight=False)
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


def _stage(progress_msg: str, quiet: bool = False):
    return err.status(progress_msg, spinner="dots") if not quiet else _Null()


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

    def update(self, *a, **k):
        pass


# ----------------------------------------------------------------------------------------- train
DataOpt = Annotated[
    Path, typer.Option("--data", help="Data directory: prices (required), rates, constituents as .csv or .parquet.")
]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="YAML config; omitted fields take the defaults of configs/default.yaml.")
]
ModelsDirOpt = Annotated[Path, typer.Option("--models-dir", help="Root of the artifact store.")]
NameOpt = Annotated[str, typer.Option("--name", help="Model name: artifacts go to <models-dir>/<name>/<UTC timestamp>.")]
FormatOpt = Annotated[Fmt, typer.Option("--format", help="table for people, json for machines.")]
AsofOpt = Annotated[
    str | None,
    typer.Option("--asof", help="The as-of day, YYYY-MM-DD (no later data is used); default: the last date."),
]
JsonOutOpt = Annotated[Path | None, typer.Option("--out", help="Also write the JSON to this file (atomically).")]


def train_to_store(data_dir: Path, config_path: Path | None, models_dir: Path, name: str,
                   status=None) -> tuple[Path, dict[str, Any]]:
    """Load, fit and save; returns the artifact path and its metadata."""
    from .artifacts import build_metadata, save_artifact
    from .config import load_config
    from .data import load_data
    from .pipeline import fit_regime_model

    say = status.update if status is not None else (lambda _m: None)
    cfg = load_config(config_path)
    say(f"loading {data_dir}")
    data = load_data(data_dir, cfg)
    model = fit_regime_model(data, cfg, progress=say)
    say("writing artifact")
    meta = build_metadata(model, data)
    path = save_artifact(model, meta, models_dir, name)
    return path, meta


@app.command()
@handle_errors
def train(
    data: DataOpt,
    config: ConfigOpt = None,
    models_dir: ModelsDirOpt = Path("models"),
    name: NameOpt = "default",
    fmt: FormatOpt = Fmt.table,
) -> None:
    """Fit a regime model on all data in --data and store it as a new artifact.

    Writes <models-dir>/<name>/<UTC timestamp>/model.joblib and metadata.json, then points
    <models-dir>/<name>/latest at it. A failed run leaves the previous latest untouched.
    """
    t0 = time.perf_counter()
    with _stage("training", quiet=fmt is Fmt.json) as status:
        path, meta = train_to_store(data, config, models_dir, name, status)
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
    if fmt is Fmt.json:
        print(json.dumps(summary, indent=2))
        return
    t = Table(title="Trained", show_header=False)
    for k, v in summary.items():
        t.add_row(k, str(v))
    out.print(t)
    if not diag["converged"]:
        err.print("[yellow]warning:[/] EM did not converge; consider raising model.n_iter")


# ----------------------------------------------------------------------------------------- score
def print_score(result, fmt: Fmt) -> None:
    d = result.to_dict()
    if fmt is Fmt.json:
        print(json.dumps(d, indent=2))
        return
    out.print(
        f"[bold]{d['asof']}[/]  regime: [bold]{d['name']}[/] ({d['regime']})  "
        f"confidence [bold]{d['confidence']:.2f}[/]  for {d['days_in_regime']} days"
    )
    pt = Table(title="Filtered probabilities")
    pt.add_column("regime")
    pt.add_column("p", justify="right")
    for rid, p in sorted(d["probabilities"].items(), key=lambda kv: -kv[1]):
        pt.add_row(rid, f"{p:.3f}")
    out.print(pt)
    dt = Table(title=f"Why {d['regime']}: features that set it apart today")
    dt.add_column("feature", no_wrap=True, min_width=22)
    for col in ("value", "z", "regime mean z", "others mean z", "push"):
        dt.add_column(col, justify="right")
    for drv in d["drivers"]:
        dt.add_row(drv["feature"], f"{drv['value']:.4g}", f"{drv['z']:+.2f}", f"{drv['regime_mean_z']:+.2f}",
                   f"{drv['others_mean_z']:+.2f}", f"{drv['contribution']:+.2f}")
    out.print(dt)
    m = d["model"]
    out.print(f"data through {d['data_through']}; model {m.get('estimator')} v{m.get('version', '?')} "
              f"trained through {m.get('trained_through')}")
    if m.get("trained_through") and d["asof"] <= m["trained_through"]:
        out.print("[dim]note: the as-of day is inside the model's training window, so this label is in-sample "
                  "(the filter still uses no later data)[/]")


@app.command()
@handle_errors
def score(
    data: DataOpt,
    model: Annotated[Path | None, typer.Option("--model", help="Artifact directory or its model.joblib.")] = None,
    models_dir: ModelsDirOpt = Path("models"),
    name: NameOpt = "default",
    asof: AsofOpt = None,
    fmt: FormatOpt = Fmt.table,
    json_out: JsonOutOpt = None,
) -> None:
    """Classify the as-of day with a trained model: regime, confidence, probabilities, drivers.

    Uses the artifact --model, or <models-dir>/<name>/latest. Only data up to the as-of day is used.
    """
    from .artifacts import load_artifact, resolve_model_path
    from .data import load_data
    from .scoring import score_day

    path = resolve_model_path(model, models_dir, name)
    with _stage("scoring", quiet=fmt is Fmt.json) as status:
        status.update(f"loading model {path}")
        rmodel, meta = load_artifact(path)
        status.update(f"loading {data}")
        mdata = load_data(data, rmodel.config)
        info = {"version": meta.get("package_version"), "path": str(Path(path).resolve())}
        result = score_day(rmodel, mdata, asof, model_info=info)
    if json_out is not None:
        atomic_write_text(json_out, json.dumps(result.to_dict(), indent=2) + "\n")
    print_score(result, fmt)


def atomic_write_text(path: Path, text: str) -> None:
    """Write text to a temporary file beside ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


# ----------------------------------------------------------------------------------------- features
@app.command()
@handle_errors
def features(
    data: DataOpt,
    config: ConfigOpt = None,
    features_dir: Annotated[Path, typer.Option("--features-dir", help="Store of feature snapshots.")] = Path(
        "features"
    ),
    snapshot: Annotated[
        Path | None, typer.Option("--out", help="Snapshot file (.parquet or .csv); default: <features-dir>/<hash>.parquet")
    ] = None,
) -> None:
    """Compute every feature the data supports and save a snapshot (trailing windows only)."""
    from .config import load_config
    from .data import load_data, write_table
    from .features import build_features

    cfg = load_config(config)
    with _stage(f"building features from {data}"):
        mdata = load_data(data, cfg)
        feats = build_features(mdata, cfg)
    target = snapshot or features_dir / f"{mdata.data_hash()[:16]}.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    write_table(feats, target)
    first = feats.dropna().index
    span = f"complete from {first[0].date()}" if len(first) else "no day has every feature yet"
    out.print(f"wrote {target}: {feats.shape[1]} features x {len(feats)} days ({span})")


# ----------------------------------------------------------------------------------------- backtest
def print_backtest(result, fmt: Fmt, csv_path: Path | None = None) -> None:
    """Summary of a walk-forward run: JSON for machines, tables for people."""
    payload = {"summary": result.summary, "truth": result.truth, "csv": str(csv_path) if csv_path else None}
    if fmt is Fmt.json:
        print(json.dumps(payload, indent=2, default=str))
        return
    s = result.summary
    out.print(f"[bold]Walk-forward[/] {s['first_day']} .. {s['last_day']}: {s['days']} out-of-sample days, "
              f"{s['refits']} refits ({s['refit_every']}, {s['window']} window, {s['mode']}) in {s['seconds']:.1f} s")
    t = Table(title="Labels")
    for col in ("regime", "share of days", "ann. return (next day)", "ann. vol"):
        t.add_column(col, justify="left" if col == "regime" else "right")
    stats = s.get("index_stats", {})
    first_index = next(iter(next(iter(stats.values()), {})), None) if stats else None
    for rid, share in s["share"].items():
        st = stats.get(rid, {}).get(first_index, {}) if first_index else {}
        t.add_row(rid, f"{share:.1%}", f"{st.get('ann_return', float('nan')):+.1%}",
                  f"{st.get('ann_vol', float('nan')):.1%}")
    out.print(t)
    if first_index:
        it = Table(title="Annualised next-day return / volatility of each index while labelled")
        it.add_column("index")
        for rid in stats:
            it.add_column(rid, justify="right")
        for col in next(iter(stats.values())):
            it.add_row(col, *[f"{stats[r][col]['ann_return']:+.1%} / {stats[r][col]['ann_vol']:.1%}" for r in stats])
        out.print(it)
    out.print(f"switches per year {s['switches_per_year']:.2f}; mean regime duration {s['mean_duration_days']} days")
    if s.get("unlabelled_days"):
        n, stale = s["unlabelled_days"], s.get("unlabelled_stale_days", 0)
        out.print(f"[yellow]{n} out-of-sample days got no label[/] (no row in the CSV): {stale} with a stale input, "
                  f"{n - stale} with a model feature whose trailing window covers missing or stale data",
                  soft_wrap=True)
    for line in s.get("stale_inputs", []):
        out.print(f"[yellow]stale input:[/] {line}", soft_wrap=True, highlight=False)
    if result.truth:
        tm = result.truth
        tt = Table(title="Against truth.csv (targets from the walk-forward issue)")
        for col in ("metric", "value", "target"):
            tt.add_column(col, justify="left" if col == "metric" else "right")
        lag = tm["median_detection_lag_days"]
        ratio = tm["switches_per_year"] / tm["truth_switches_per_year"] if tm["truth_switches_per_year"] else float("nan")
        rows = [
            ("balanced accuracy", f"{tm['balanced_accuracy']:.3f}", ">= 0.80"),
            *[(f"recall {r}", f"{v:.3f}", "") for r, v in tm["recall"].items()],
            ("switches / year (truth)", f"{tm['switches_per_year']:.2f} ({tm['truth_switches_per_year']:.2f})",
             f"ratio {ratio:.2f} <= 1.5"),
            ("median detection lag", f"{lag:.1f} days" if lag is not None else "-",
             f"<= 15 ({tm['changes']} changes, {tm['changes_missed']} missed)"),
            ("Brier score", f"{tm['brier']:.3f}", "lower is better"),
            ("expected calibration error", f"{tm['ece']:.3f}", "<= 0.10"),
        ]
        for r in rows:
            tt.add_row(*r)
        out.print(tt)
    if csv_path:
        out.print(f"labels written to [bold]{csv_path}[/]")


@app.command()
@handle_errors
def backtest(
    data: DataOpt,
    out_csv: Annotated[Path, typer.Option("--out", help="CSV to write: date,regime,confidence,p_<id>...")],
    config: ConfigOpt = None,
    start: Annotated[
        str | None, typer.Option("--start", help="First out-of-sample day (default: once train.min_days are available).")
    ] = None,
    refit_every: Annotated[
        int | None, typer.Option("--refit-every", min=1, help="Trading days between refits (default: monthly).")
    ] = None,
    window: Annotated[
        str | None, typer.Option("--window", help="Training window: expanding or rolling:N (trading days).")
    ] = None,
    naive: Annotated[
        bool, typer.Option("--naive", help="Refit from scratch with all restarts each time (the slow baseline).")
    ] = False,
    episodes: EpisodesOpt = None,
    fmt: FormatOpt = Fmt.table,
) -> None:
    """Walk-forward, out-of-sample labels: refit on data before each refit date, label the days after.

    Every label is the filtered probability from the model in force that day. If DIR has truth.csv
    (date,regime), the summary adds accuracy, detection lag and calibration; with --episodes, each dated
    episode's share of days carrying the expected label.
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from .backtest import read_truth, walk_forward
    from .config import load_config
    from .data import load_data

    from .episodes import evaluate_episodes, read_episodes

    cfg = load_config(config)
    eps = read_episodes(episodes, list(cfg.regimes)) if episodes is not None else None
    with _stage(f"loading {data}", quiet=fmt is Fmt.json):
        mdata = load_data(data, cfg)
        truth = read_truth(data)
    columns = [TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} refits"),
               TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=err, transient=True, disable=fmt is Fmt.json) as bar:
        task = bar.add_task("walk-forward", total=None)

        def tick(i: int, n: int, day) -> None:
            bar.update(task, completed=i, total=n, description=f"walk-forward {day.date()}")

        result = walk_forward(mdata, cfg, start=start, refit_every=refit_every, window=window, naive=naive,
                              truth=truth, progress=tick)
    frame = result.to_frame()
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_csv.with_name(f".{out_csv.name}.tmp")
    frame.to_csv(tmp, date_format="%Y-%m-%d", float_format="%.6f")
    tmp.replace(out_csv)
    report = evaluate_episodes(result.labels, eps, mdata.dates) if eps is not None else None
    if fmt is Fmt.json:
        payload = {"summary": result.summary, "truth": result.truth, "csv": str(out_csv)}
        if report is not None:
            payload["episodes"] = report.to_dict()
        print(json.dumps(payload, indent=2, default=str))
        return
    print_backtest(result, fmt, out_csv)
    if report is not None:
        print_episodes(report, fmt)


EpisodesOpt = Annotated[
    Path | None,
    typer.Option("--episodes", help="CSV of dated episodes (start,end,expected,min_share,why; expected is a regime "
                 "id or !id for 'anything but'): print each episode's share of days with the expected label."),
]


def print_episodes(report, fmt: Fmt) -> None:
    """Episodes passed, each episode's share, and switches a year: JSON for machines, a table for people."""
    d = report.to_dict()
    if fmt is Fmt.json:
        print(json.dumps(d, indent=2))
        return
    outside = len(d["episodes"]) - d["evaluated"]
    t = Table(title=f"Dated episodes: {d['passed']} of {d['evaluated']} passed; "
                    f"{d['switches_per_year']:.2f} switches a year"
                    + (f" ({outside} outside the data, not shown)" if outside else ""))
    t.add_column("episode", no_wrap=True, min_width=22)
    t.add_column("expected", no_wrap=True, min_width=13)
    for col in ("needs", "share"):
        t.add_column(col, justify="right", no_wrap=True, min_width=5)
    t.add_column("", no_wrap=True, min_width=11)
    t.add_column("why", overflow="fold")
    for e in d["episodes"]:
        if not e["evaluated"]:
            continue
        t.add_row(f"{e['start']}..{e['end']}", e["expected"], f"{e['min_share']:.0%}", f"{e['share']:.0%}",
                  "[green]pass[/]" if e["passed"] else "[red]FAIL[/]", _short(e["why"]))
    out.print(t)
    out.print("share: the episode's trading days carrying the expected label; a day without a label counts "
              "against it", style="dim")


def _short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@app.command()
@handle_errors
def evaluate(
    labels: Annotated[Path, typer.Option("--labels", help="CSV written by `regime backtest --out`.")],
    episodes: Annotated[Path, typer.Option("--episodes", help="CSV of dated episodes: start,end,expected,"
                                           "min_share,why (expected: a regime id, or !id for anything but id).")],
    data: Annotated[Path | None, typer.Option(
        "--data", help="The data directory the labels came from: its trading days are the calendar, so days "
        "before the first label count against an episode (without it, only labelled days are seen).")] = None,
    config: ConfigOpt = None,
    fmt: FormatOpt = Fmt.table,
) -> None:
    """Judge walk-forward labels against dated episodes: each episode's share, the count passed, switches a year.

    An episode passes when at least min_share of its trading days carry the expected label; an episode
    outside the data is not evaluated.
    """
    from .config import load_config
    from .data import load_data
    from .episodes import evaluate_episodes, read_episodes
    from .report import read_backtest

    cfg = load_config(config)
    ids = list(cfg.regimes)
    eps = read_episodes(episodes, ids)
    _, lab, _ = read_backtest(labels, ids)
    calendar = load_data(data, cfg).dates if data is not None else None
    print_episodes(evaluate_episodes(lab, eps, calendar), fmt)


# ----------------------------------------------------------------------------------------- report
@app.command()
@handle_errors
def report(
    backtest_csv: Annotated[Path, typer.Option("--backtest", help="CSV written by `regime backtest --out`.")],
    data: DataOpt,
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for the PNG charts and report.html.")],
    config: ConfigOpt = None,
) -> None:
    """Charts and a one-page HTML report of a walk-forward run.

    PNGs: the index with regime shading, stacked regime probabilities, relative strength, breadth and rates
    panels with regime shading; report.html embeds them with the summary table (and truth metrics when DIR
    has truth.csv).
    """
    from .backtest import read_truth
    from .config import load_config
    from .data import load_data
    from .report import write_report

    cfg = load_config(config)
    with _stage("writing report"):
        mdata = load_data(data, cfg)
        page = write_report(backtest_csv, mdata, cfg, out_dir, truth=read_truth(data))
    out.print(f"wrote [bold]{page}[/] and its charts in {out_dir}")


# ----------------------------------------------------------------------------------------- allocation
BacktestCsvOpt = Annotated[Path, typer.Option("--backtest", help="CSV written by `regime backtest --out`.")]


def _backtest_inputs(backtest_csv: Path, data: Path, config: Path | None):
    from .config import load_config
    from .data import load_data
    from .report import read_backtest

    cfg = load_config(config)
    probs, labels, _ = read_backtest(backtest_csv, list(cfg.regimes))
    return cfg, probs, labels, load_data(data, cfg)


def print_signal(sig, fmt: Fmt) -> None:
    d = sig.to_dict()
    if fmt is Fmt.json:
        print(json.dumps(d, indent=2))
        return
    out.print(f"[bold]{d['asof']}[/]  regime [bold]{d['regime']}[/] (confidence {d['confidence']:.2f}); "
              f"{'rebalance day' if d['rebalance_day'] else 'not a rebalance day'}, turnover {d['turnover']:.3f}")
    t = Table(title="Weights to hold from the next trading day")
    for col in ("sleeve", "weight", "previous", "change", "target"):
        t.add_column(col, justify="left" if col == "sleeve" else "right")
    for s, w in d["weights"].items():
        t.add_row(s, f"{w:.1%}", f"{d['previous'][s]:.1%}", f"{d['change'][s]:+.1%}", f"{d['target'][s]:.1%}")
    out.print(t)


@app.command()
@handle_errors
def signal(
    data: DataOpt,
    model: Annotated[
        Path | None, typer.Option("--model", help="Artifact directory or model.joblib (default: <models-dir>/<name>/latest).")
    ] = None,
    backtest_csv: Annotated[
        Path | None, typer.Option("--backtest", help="Use this `regime backtest` CSV's probabilities instead of a model.")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML whose `allocation` section to use (default: the model's, or "
                                  "the defaults with --backtest).")
    ] = None,
    models_dir: ModelsDirOpt = Path("models"),
    name: NameOpt = "default",
    asof: AsofOpt = None,
    fmt: FormatOpt = Fmt.table,
    json_out: JsonOutOpt = None,
) -> None:
    """Target weights over the sleeves from the regime probabilities, decided at the as-of close.

    Weights are the probability-weighted blend of the config's tilt table, within its bounds; the
    path of held weights (drift, rebalance schedule, no-trade band, turnover cap) runs from the first
    probability to the as-of day, using no later data. JSON has asof, weights (summing to 1), regime,
    confidence, previous weights and the change.
    """
    from .allocation import signal as make_signal
    from .config import load_config
    from .data import load_data, parse_day

    if model is not None and backtest_csv is not None:
        from .errors import ConfigError

        raise ConfigError("give --model or --backtest, not both")
    with _stage("allocating", quiet=fmt is Fmt.json) as status:
        if backtest_csv is not None:
            cfg, probs, labels, mdata = _backtest_inputs(backtest_csv, data, config)
        else:
            from .artifacts import load_artifact, resolve_model_path
            from .features import build_features

            path = resolve_model_path(model, models_dir, name)
            status.update(f"loading model {path}")
            rmodel, _ = load_artifact(path)
            cfg = load_config(config) if config is not None else rmodel.config
            mdata = load_data(data, rmodel.config)
            if asof is not None:
                mdata = mdata.truncate(parse_day(asof))
            status.update("filtering")
            feats = build_features(mdata, rmodel.config)
            rmodel.check_features(feats, source=f"the data in {data}")
            probs = rmodel.filtered_probabilities(feats).dropna()
            labels = rmodel.labels_from(probs)
        sig = make_signal(probs, labels, mdata, cfg.allocation, asof)
    if json_out is not None:
        atomic_write_text(json_out, json.dumps(sig.to_dict(), indent=2) + "\n")
    print_signal(sig, fmt)


@app.command("allocate-backtest")
@handle_errors
def allocate_backtest(
    backtest_csv: BacktestCsvOpt,
    data: DataOpt,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Directory for allocation.csv, allocation.json and allocation.png.")
    ] = Path("allocation"),
    config: ConfigOpt = None,
    fmt: FormatOpt = Fmt.table,
) -> None:
    """Follow the walk-forward labels with the tilt table, after costs, against simple alternatives.

    Weights decided at a close earn from the next day (one-day lag); trades cost allocation.cost_bp per
    unit of turnover; cash earns the policy rate. Compared on the same days: buy-and-hold of the
    cap-weighted index, a static equal mix of the sleeves, and a placebo that shuffles the regime spells
    (same durations, random order; the mean of allocation.placebo_draws draws).
    """
    from .allocation import allocation_backtest
    from .data import write_table
    from .plotting import plot_allocation

    with _stage("allocation backtest", quiet=fmt is Fmt.json) as status:
        cfg, probs, labels, mdata = _backtest_inputs(backtest_csv, data, config)
        status.update(f"simulating the strategy and {cfg.allocation.placebo_draws} placebo draws")
        res = allocation_backtest(probs, labels, mdata, cfg.allocation)
        status.update("writing results")
        frame = res.returns.add_prefix("ret_").join(res.weights.add_prefix("w_"))
        frame.index.name = "date"
        payload = {
            "table": json.loads(res.table.to_json(orient="index")),
            "placebo_beaten": res.placebo_beaten,
            "first_day": str(res.returns.index[0].date()),
            "last_day": str(res.returns.index[-1].date()),
            "config": res.config,
        }
        # all three files are written beside each other first and moved in together, so a failure leaves the
        # previous results whole rather than a new CSV beside an old chart
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out_dir, prefix=".allocation-") as tmp:
            staged = Path(tmp)
            write_table(frame, staged / "allocation.csv")
            (staged / "allocation.json").write_text(json.dumps(payload, indent=2) + "\n")
            plot_allocation(res.returns, res.weights, labels.reindex(res.returns.index), list(probs.columns),
                            staged / "allocation.png")
            for f in ("allocation.csv", "allocation.json", "allocation.png"):
                (staged / f).replace(out_dir / f)
    if fmt is Fmt.json:
        print(json.dumps(payload, indent=2))
        return
    t = Table(title=f"Allocation {payload['first_day']} .. {payload['last_day']}, after "
                    f"{cfg.allocation.cost_bp:g} bp costs, one-day lag")
    cols = [("ann_return", "return/yr", "{:+.1%}"), ("ann_vol", "vol", "{:.1%}"), ("sharpe", "Sharpe", "{:.2f}"),
            ("max_drawdown", "max DD", "{:.1%}"), ("calmar", "Calmar", "{:.2f}"),
            ("turnover_per_year", "turnover/yr", "{:.2f}"), ("hit_rate", "hit rate", "{:.0%}")]
    t.add_column("strategy", no_wrap=True)
    for _, head, _ in cols:
        t.add_column(head, justify="right")
    for strat, row in res.table.iterrows():
        t.add_row(strat, *["-" if pd.isna(row[k]) else f.format(row[k]) for k, _, f in cols])
    out.print(t)
    out.print("hit rate: share of months in which the regime strategy beat that row", style="dim")
    pb = res.placebo_beaten
    out.print(f"the regime strategy beats {pb['sharpe']:.0%} of placebo draws on Sharpe and {pb['max_drawdown']:.0%} on "
              f"maximum drawdown; files in [bold]{out_dir}[/]")


# ----------------------------------------------------------------------------------------- data synth
@data_app.command("synth")
@handle_errors
def data_synth(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write prices, rates, constituents, truth.csv.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same market.")] = 0,
    years: Annotated[float, typer.Option("--years", min=3, help="Years of 252 business days.")] = 30.0,
    stocks: Annotated[int, typer.Option(
        "--stocks", min=40, help="Number of constituents (a variant may fix it).")] = 500,
    file_format: Annotated[FileFmt, typer.Option("--format", help="File format of the data files.")] = FileFmt.csv,
    variant: Annotated[SynthVariant, typer.Option(
        "--variant", help="Market variant (regime/synth.py, VARIANTS): " + "; ".join(
            f"{k}: {v.description}" for k, v in _synth_variants().items()) + ".",
    )] = SynthVariant.base,  # type: ignore[attr-defined]
) -> None:
    """Write the built-in synthetic market (with its true regimes in truth.csv), or one of its variants."""
    from .synth import VARIANTS, simulate_market, write_market

    options = VARIANTS[variant.value]
    n_stocks = options.n_stocks or stocks
    with _stage(f"simulating {years:g} years x {n_stocks} stocks ({variant.value})"):
        market = simulate_market(seed=seed, years=years, n_stocks=stocks, options=options)
        write_market(market, out_dir, file_format.value)
    share = market.truth.value_counts(normalize=True).round(3).to_dict()
    files = "prices" + ", rates" * (market.rates is not None) + ", constituents" * (market.constituents is not None)
    names = f"{n_stocks} stocks"
    if market.universe is not None:
        names += f" simulated, {market.constituents['ticker'].nunique()} survivors in the constituents"
    out.print(f"wrote {out_dir} ({variant.value}: {files}): {len(market.prices)} days, {names}; "
              f"true regime shares {share}")


@data_app.command("french")
@handle_errors
def data_french(
    french: Annotated[Path, typer.Option("--french", help="Directory with the Kenneth French daily CSV files.")],
    fred: Annotated[Path, typer.Option("--fred", help="Directory with the FRED CSV files (DGS2, DGS10, DFF, ...).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Data directory to write (prices, rates, constituents).")],
    fmt: FormatOpt = Fmt.table,
) -> None:
    """Turn the Kenneth French and FRED files, as published, into a data directory.

    Large caps = the top size decile, small caps = the bottom 30 %, equal weight = the average of the size
    deciles, breadth from the ten industries. Use it with --config configs/french.yaml.
    """
    from .importers import import_french_fred

    with _stage("importing French and FRED files", quiet=fmt is Fmt.json):
        info = import_french_fred(french, fred, out_dir)
    if fmt is Fmt.json:
        print(json.dumps(info, indent=2))
        return
    out.print(f"wrote {info['out']}: {info['days']} days {info['start']} .. {info['end']}; prices {info['prices']}; "
              f"{len(info['industries'])} industries as constituents")
    out.print("rates start: " + ", ".join(f"{k} {v}" for k, v in info["rates"].items()))
    out.print(f"sources aligned to their common end {info['aligned']['common_end']}")


# ----------------------------------------------------------------------------------------- data import
def _pairs(values: list[str] | None, option: str) -> dict[str, list[Path]]:
    """``NAME=FILE`` pairs from repeated options; a repeated NAME collects its files in order (to splice)."""
    from .errors import ConfigError

    pairs: dict[str, list[Path]] = {}
    for raw in values or []:
        key, sep, file = raw.partition("=")
        if not sep or not key.strip() or not file.strip():
            raise ConfigError(f"{option} {raw!r} is not NAME=FILE; write it as e.g. {option} spx=SPY.csv")
        pairs.setdefault(key.strip(), []).append(Path(file.strip()))
    return pairs


@data_app.command("import")
@handle_errors
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
    fmt: FormatOpt = Fmt.table,
) -> None:
    """Turn downloaded daily price files, FRED CSVs and a wide constituents panel into a data directory.

    Tip: name the columns after the default roles and the default config needs no roles section:
    prices spx (cap weight), spx_ew (equal weight), ndx (mega cap), mid, sml, rut;
    rates fed_funds, ust_2y, ust_10y, baa_spread.

    Example: regime data import --out data/etf --price spx=SPY.csv --rate fed_funds=DFF.csv
    """
    from .data import parse_day
    from .importers import import_files, read_import_mapping

    spec: dict[str, Any] = {"prices": {}, "rates": {}, "constituents": None}
    if mapping is not None:
        spec = read_import_mapping(mapping)
    for section, values, option in (("prices", price, "--price"), ("rates", rate, "--rate")):
        for key, files in _pairs(values, option).items():
            spec[section][key] = list(spec[section].get(key, [])) + files
    if constituents is not None:
        spec["constituents"] = constituents
    with _stage("importing files", quiet=fmt is Fmt.json):
        info = import_files(out_dir, spec["prices"], spec["rates"], spec["constituents"],
                            start=None if start is None else parse_day(start, "--start"),
                            end=None if end is None else parse_day(end, "--end"))
    if fmt is Fmt.json:
        print(json.dumps(info, indent=2))
        return
    t = Table(title=f"{info['out']}: {info['days']} days {info['start']} .. {info['end']}")
    for col in ("column", "file", "first", "last", "days"):
        t.add_column(col, justify="right" if col == "days" else "left")
    for kind in ("prices", "rates"):
        for key, v in info[kind].items():
            t.add_row(f"{kind}.{key}", ", ".join(v["files"]), v["first"], v["last"], str(v["days"]))
    c = info["constituents"]
    if c is not None:
        t.add_row(f"constituents ({c['tickers']} tickers)", c["file"], c["first"], c["last"], str(c["days"]))
    out.print(t)
    out.print(f"wrote {', '.join(info['written'])}")


# ----------------------------------------------------------------------------------------- demo
@app.command()
@handle_errors
def demo(
    png: Annotated[Path, typer.Option("--out", help="Where to save the chart.")] = Path("regime_demo.png"),
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic market.")] = 7,
    years: Annotated[float, typer.Option("--years", min=5, help="Years of synthetic history.")] = 20.0,
    stocks: Annotated[int, typer.Option("--stocks", min=60, help="Number of constituents.")] = 300,
    fmt: FormatOpt = Fmt.table,
) -> None:
    """Synthesize a market, train, score the last day, and save a regime chart.

    Everything happens in a temporary directory except the chart.
    """
    from sklearn.metrics import balanced_accuracy_score

    from .artifacts import load_artifact
    from .data import load_data
    from .features import build_features
    from .plotting import plot_regimes
    from .scoring import score_day
    from .synth import simulate_market, write_market

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="regime-demo-") as tmp, _stage("demo", quiet=fmt is Fmt.json) as status:
        tmp = Path(tmp)
        status.update(f"simulating {years:g} years x {stocks} stocks")
        market = simulate_market(seed=seed, years=years, n_stocks=stocks)
        write_market(market, tmp / "data", "parquet")
        path, meta = train_to_store(tmp / "data", None, tmp / "models", "demo", status)
        rmodel, meta = load_artifact(path)
        data = load_data(tmp / "data", rmodel.config)
        status.update("scoring the last day")
        result = score_day(rmodel, data, model_info={"version": meta["package_version"]})
        status.update("drawing the chart")
        feats = build_features(data, rmodel.config)
        probs = rmodel.filtered_probabilities(feats)
        labels = rmodel.labels(feats)
        plot_regimes(data.series("large_cap"), probs, labels, rmodel.regime_names, png,
                     title="Built-in market: filtered regimes (in-sample fit, no look-ahead in the filter)",
                     truth=market.truth)
    ok = labels.notna()
    acc = balanced_accuracy_score(market.truth[ok], labels[ok].astype(str))
    if fmt is Fmt.json:
        d = result.to_dict()
        d["chart"] = str(png)
        d["in_sample_balanced_accuracy"] = round(float(acc), 4)
        print(json.dumps(d, indent=2))
        return
    print_score(result, fmt)
    out.print(f"true regime on {result.asof}: [bold]{market.truth.iloc[-1]}[/]; in-sample balanced accuracy of the "
              f"filtered labels: {acc:.3f}")
    out.print(f"chart saved to [bold]{png}[/] in {time.perf_counter() - t0:.1f} s")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""What the command line shows: JSON for machines, rich tables for people.

Each ``show_*`` function renders one result of :mod:`regime.service` on standard output; it computes
nothing. Messages for people go to standard error (:data:`err`), so standard output stays parseable.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

out = Console()
err = Console(stderr=True)


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


def log_to_stderr(verbose: bool) -> None:
    """Show the engine's log records on stderr, one line each: warnings, or everything with ``verbose``."""
    handler = _LineHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler], force=True)


@contextmanager
def stage(message: str, quiet: bool = False) -> Iterator[Callable[[str], None]]:
    """A spinner on stderr while the block runs (none when ``quiet``); yields its progress callback."""
    if quiet:
        yield lambda _msg: None
        return
    with err.status(message, spinner="dots") as status:
        yield status.update


@contextmanager
def refit_progress(message: str, quiet: bool = False) -> Iterator[tuple[Callable[[str], None], Callable]]:
    """A progress bar of walk-forward refits on stderr; yields a stage callback and a per-refit callback."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = [TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} refits"),
               TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=err, transient=True, disable=quiet) as bar:
        task = bar.add_task(message, total=None)
        yield (lambda msg: bar.update(task, description=msg),
               lambda i, n, day: bar.update(task, completed=i, total=n, description=f"walk-forward {day.date()}"))


@contextmanager
def sweep_progress(message: str, quiet: bool = False) -> Iterator[Callable[[int, int, str, str], None]]:
    """A progress bar of a sweep's finished runs on stderr; yields the per-run callback of ``service.sweep``."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = [TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} runs"),
               TimeElapsedColumn(), TimeRemainingColumn()]
    failed: list[str] = []
    with Progress(*columns, console=err, transient=True, disable=quiet) as bar:
        task = bar.add_task(message, total=None)

        def update(done: int, total: int, run_id: str, status: str) -> None:
            if status != "ok":
                failed.append(run_id)
            note = f" ({len(failed)} failed)" if failed else ""
            bar.update(task, completed=done, total=total, description=f"{message}: last {run_id} {status}{note}")

        yield update


def show_json(payload: Any) -> None:
    """Indented JSON on standard output."""
    print(json.dumps(payload, indent=2, default=str))


def _num(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def show_train(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        return show_json(summary)
    t = Table(title="Trained", show_header=False)
    for k, v in summary.items():
        t.add_row(k, str(v))
    out.print(t)
    if not summary["converged"]:
        err.print("[yellow]warning:[/] EM did not converge; consider raising model.n_iter")


def show_score(result, as_json: bool) -> None:
    """Regime, confidence, probabilities and drivers of one day."""
    d = result.to_dict()
    if as_json:
        return show_json(d)
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


def show_features(info: dict[str, Any]) -> None:
    span = f"complete from {info['complete_from']}" if info["complete_from"] else "no day has every feature yet"
    out.print(f"wrote {info['path']}: {info['features']} features x {info['days']} days ({span})")


def show_backtest(run, as_json: bool) -> None:
    """Summary of a walk-forward run, its truth metrics against the targets, and its episodes."""
    if as_json:
        return show_json(run.to_dict())
    result = run.result
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
        _show_truth(result.truth)
    out.print(f"labels written to [bold]{run.csv}[/]")
    if run.episodes is not None:
        show_episodes(run.episodes, as_json)


def _show_truth(tm: dict[str, Any]) -> None:
    from .metrics import TRUTH_TARGETS

    tt = Table(title="Against truth.csv (targets from the walk-forward issue)")
    for col in ("metric", "value", "target"):
        tt.add_column(col, justify="left" if col == "metric" else "right")
    lag = tm["median_detection_lag_days"]
    ratio = tm["switches_per_year"] / tm["truth_switches_per_year"] if tm["truth_switches_per_year"] else float("nan")
    rows = [
        ("balanced accuracy", f"{tm['balanced_accuracy']:.3f}", f">= {TRUTH_TARGETS['balanced_accuracy']:.2f}"),
        *[(f"recall {r}", f"{v:.3f}", "") for r, v in tm["recall"].items()],
        ("switches / year (truth)", f"{tm['switches_per_year']:.2f} ({tm['truth_switches_per_year']:.2f})",
         f"ratio {ratio:.2f} <= {TRUTH_TARGETS['switch_ratio']}"),
        ("median detection lag", f"{lag:.1f} days" if lag is not None else "-",
         f"<= {TRUTH_TARGETS['median_lag_days']:g} ({tm['changes']} changes, {tm['changes_missed']} missed)"),
        ("Brier score", f"{tm['brier']:.3f}", "lower is better"),
        ("expected calibration error", f"{tm['ece']:.3f}", f"<= {TRUTH_TARGETS['ece']:.2f}"),
    ]
    for r in rows:
        tt.add_row(*r)
    out.print(tt)


def _short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def show_episodes(report, as_json: bool) -> None:
    """Episodes passed, each episode's share, and switches a year."""
    d = report.to_dict()
    if as_json:
        return show_json(d)
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


def show_signal(sig, as_json: bool) -> None:
    """Weights to hold from the next trading day, against the previous ones."""
    d = sig.to_dict()
    if as_json:
        return show_json(d)
    out.print(f"[bold]{d['asof']}[/]  regime [bold]{d['regime']}[/] (confidence {d['confidence']:.2f}); "
              f"{'rebalance day' if d['rebalance_day'] else 'not a rebalance day'}, turnover {d['turnover']:.3f}")
    t = Table(title="Weights to hold from the next trading day")
    for col in ("sleeve", "weight", "previous", "change", "target"):
        t.add_column(col, justify="left" if col == "sleeve" else "right")
    for s, w in d["weights"].items():
        t.add_row(s, f"{w:.1%}", f"{d['previous'][s]:.1%}", f"{d['change'][s]:+.1%}", f"{d['target'][s]:.1%}")
    out.print(t)


def show_allocation(payload: dict[str, Any], out_dir: Path, as_json: bool) -> None:
    """The regime strategy against its comparisons, after costs."""
    if as_json:
        return show_json(payload)
    t = Table(title=f"Allocation {payload['first_day']} .. {payload['last_day']}, after "
                    f"{payload['config']['cost_bp']:g} bp costs, one-day lag")
    cols = [("ann_return", "return/yr", "+.1%"), ("ann_vol", "vol", ".1%"), ("sharpe", "Sharpe", ".2f"),
            ("max_drawdown", "max DD", ".1%"), ("calmar", "Calmar", ".2f"),
            ("turnover_per_year", "turnover/yr", ".2f"), ("hit_rate", "hit rate", ".0%")]
    t.add_column("strategy", no_wrap=True)
    for _, head, _ in cols:
        t.add_column(head, justify="right")
    for strat, row in payload["table"].items():
        t.add_row(strat, *[_num(row.get(k), f) for k, _, f in cols])
    out.print(t)
    out.print("hit rate: share of months in which the regime strategy beat that row", style="dim")
    pb = payload["placebo_beaten"]
    out.print(f"the regime strategy beats {pb['sharpe']:.0%} of placebo draws on Sharpe and {pb['max_drawdown']:.0%} on "
              f"maximum drawdown; files in [bold]{out_dir}[/]")


def show_sweep(result, as_json: bool) -> None:
    """A sweep's runs (one row each, failures with their error), each config's means, and the files written."""
    if as_json:
        return show_json(result.to_dict())
    d = result.to_dict()
    t = Table(title=f"Sweep {Path(d['grid']).name}: {d['runs']} walk-forwards on {d['backend']} in "
                    f"{d['seconds']:.1f} s" + (f", [red]{d['failed']} failed[/]" if d["failed"] else ""))
    t.add_column("run", no_wrap=True, min_width=min(40, max(len(r["run_id"]) for r in d["rows"])))
    for col in ("bal.acc", "sw/yr", "lag d", "ECE", "episodes", "secs"):
        t.add_column(col, justify="right", no_wrap=True, min_width=len(col))
    for r in d["rows"]:
        if r["status"] != "ok":
            t.add_row(r["run_id"], "[red]failed[/]", "", "", "", "", f"{r['seconds']:.1f}")
            continue
        eps = "-" if r["episodes_evaluated"] is None else f"{r['episodes_passed']}/{r['episodes_evaluated']}"
        t.add_row(r["run_id"], _num(r["balanced_accuracy"], ".3f"), _num(r["switches_per_year"], ".2f"),
                  _num(r["median_lag_days"], ".0f"), _num(r["ece"], ".3f"), eps, f"{r['seconds']:.1f}")
    out.print(t)
    bt = Table(title="Per config, mean over its datasets (successful runs)")
    bt.add_column("config", no_wrap=True, min_width=min(30, max(len(c) for c in d["by_config"])))
    for col in ("runs", "failed", "bal.acc", "sw/yr", "lag d", "ECE", "episodes"):
        bt.add_column(col, justify="right", no_wrap=True, min_width=len(col))
    for name, c in d["by_config"].items():
        eps = "-" if c["episodes_evaluated"] is None else f"{c['episodes_passed']}/{c['episodes_evaluated']}"
        bt.add_row(name, str(c["runs"]), str(c["failed"]), _num(c["balanced_accuracy"], ".3f"),
                   _num(c["switches_per_year"], ".2f"), _num(c["median_lag_days"], ".1f"), _num(c["ece"], ".3f"), eps)
    out.print(bt)
    out.print("bal.acc: balanced accuracy against truth.csv; sw/yr: label switches a year; lag d: median days to "
              "detect a true change; ECE: expected calibration error; episodes: dated episodes passed/evaluated",
              style="dim")
    for f in d["failures"]:
        out.print(Text.assemble(("failed: ", "bold red"), f"{f['run_id']}: {f['error']}"), soft_wrap=True)
    if d["files"]:
        f = d["files"]
        out.print(f"wrote [bold]{f['table']}[/], {f['summary']} and {f['chart']}", soft_wrap=True)


def show_synth(info: dict[str, Any]) -> None:
    names = f"{info['stocks']} stocks"
    if info["survivors"] is not None:
        names += f" simulated, {info['survivors']} survivors in the constituents"
    out.print(f"wrote {info['out']} ({info['variant']}: {', '.join(info['files'])}): {info['days']} days, {names}; "
              f"true regime shares {info['shares']}")


def show_french(info: dict[str, Any], as_json: bool) -> None:
    if as_json:
        return show_json(info)
    out.print(f"wrote {info['out']}: {info['days']} days {info['start']} .. {info['end']}; prices {info['prices']}; "
              f"{len(info['industries'])} industries as constituents")
    out.print("rates start: " + ", ".join(f"{k} {v}" for k, v in info["rates"].items()))
    out.print(f"sources aligned to their common end {info['aligned']['common_end']}")


def show_import(info: dict[str, Any], as_json: bool) -> None:
    if as_json:
        return show_json(info)
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


def show_fetch(result, as_json: bool) -> None:
    """A :class:`regime.online.FetchResult`: one row per column, then the roles and the files written."""
    if as_json:
        return show_json(result.to_dict())
    t = Table(title=f"{result.out}: {result.days} price days {result.start} .. {result.end}")
    for col in ("column", "source", "first", "last", "values"):
        t.add_column(col, justify="right" if col == "values" else "left")
    for c in result.columns:
        t.add_row(f"{c.file.removesuffix('.csv')}.{c.column}", f"{'Yahoo' if c.source == 'yahoo' else 'FRED'} "
                  f"{c.symbol}", c.first, c.last, str(c.values))
    out.print(t)
    roles = ", ".join(f"{role}={col}" for role, col in result.roles.items() if col is not None)
    off = [role for role, col in result.roles.items() if col is None]
    out.print(f"roles: {roles}" + (f"; off: {', '.join(off)}" if off else ""))
    out.print(f"wrote {', '.join(result.written)}; use it with --data {result.out} --config {result.config}")


def show_update(result, as_json: bool) -> None:
    """A :class:`regime.online.UpdateResult`: one line per file, then what was written."""
    if as_json:
        return show_json(result.to_dict())
    for f in result.files:
        parts = [f"{f.rows_added} new row{'' if f.rows_added == 1 else 's'}"]
        if f.filled:
            parts.append(f"{f.filled} blank{'' if f.filled == 1 else 's'} filled")
        if f.revisions:
            parts.append(f"{len(f.revisions)} revised value{'' if len(f.revisions) == 1 else 's'}")
        if f.refetched:
            parts.append(f"fetched again in full: {', '.join(f.refetched)}")
        span = f.last_after if f.last_after == f.last_before else f"{f.last_before} -> {f.last_after}"
        out.print(f"{f.file}: {', '.join(parts)}; last day {span}")
    if result.changed:
        out.print(f"wrote {', '.join(result.written)} in {result.data_dir}")
    else:
        out.print(f"{result.data_dir} is up to date; nothing written")


def show_demo(result, as_json: bool) -> None:
    if as_json:
        return show_json(result.to_dict())
    show_score(result.score, as_json)
    out.print(f"true regime on {result.score.asof}: [bold]{result.truth_today}[/]; in-sample balanced accuracy of "
              f"the filtered labels: {result.balanced_accuracy:.3f}")
    out.print(f"chart saved to [bold]{result.chart}[/] in {result.seconds:.1f} s")


def show_daily(run, as_json: bool) -> None:
    """The morning's record: the regime, whether it changed, the weights, and whether the row is new."""
    d = run.to_dict()
    if as_json:
        return show_json(d)
    rec = d["record"]
    if run.update is not None:
        show_update(run.update, as_json=False)
    change = ""
    if d["previous"] is not None:
        change = (f"  [bold yellow]changed[/] from {d['previous']['regime']} ({d['previous']['date']})"
                  if d["regime_changed"] else f"  unchanged since {d['previous']['date']}")
    out.print(f"[bold]{rec['date']}[/]  regime: [bold]{rec['name']}[/] ({rec['regime']})  confidence "
              f"[bold]{rec['confidence']:.2f}[/]  for {rec['days_in_regime']} days{change}")
    if rec["weights"]:
        t = Table(title="Target weights")
        t.add_column("sleeve")
        t.add_column("weight", justify="right")
        for k, v in rec["weights"].items():
            t.add_row(k, f"{v:.3f}")
        out.print(t)
    state = "recorded in" if d["recorded"] else "[dim]already recorded (nothing changed) in[/]"
    out.print(f"{state} {d['history']}; model {rec['model_version']} trained through {rec['trained_through']}; "
              f"data through {rec['data_through']}")


def show_history(info: dict[str, Any], as_json: bool) -> None:
    """The point-in-time record as a table (oldest first), and where the chart went."""
    if as_json:
        return show_json(info)
    rows = info["rows"]
    versions = sorted({r["model_version"] for r in rows})
    t = Table(title=f"{info['history']}: {len(rows)} of {info['days']} days",
              caption=f"model {versions[0]}" if len(versions) == 1 else None)
    widths = {"date": 10, "regime": 13, "conf.": 5, "days": 4, "largest weights": 30}
    if len(versions) > 1:
        widths["model"] = 16
    for col, width in widths.items():
        t.add_column(col, justify="right" if col in ("conf.", "days") else "left", min_width=width, no_wrap=True)
    prev = None
    for r in rows:
        regime = r["regime"] if prev in (None, r["regime"]) else f"[bold yellow]{r['regime']}[/]"
        prev = r["regime"]
        top = sorted(r["weights"].items(), key=lambda kv: -kv[1])[:2]
        cells = [r["date"], regime, f"{r['confidence']:.2f}", str(r["days_in_regime"]),
                 ", ".join(f"{k} {v:.2f}" for k, v in top) or "-"]
        t.add_row(*cells, *([r["model_version"]] if len(versions) > 1 else []))
    out.print(t)
    if info["chart"]:
        out.print(f"wrote {info['chart']}")

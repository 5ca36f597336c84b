"""The morning job and its record: ``regime daily`` and ``regime history``."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import typer

from .. import render
from ._app import DataOpt, FormatOpt, JsonOutOpt, ModelsDirOpt, NameOpt
from ._app import command as _command

command = functools.partial(_command, rich_help_panel="Daily")

HistoryOpt = Annotated[Path | None, typer.Option(
    "--history", help="History file (default: <models-dir>/<name>/history.csv, beside the model's latest).")]


@command()
def daily(
    data: DataOpt,
    model: Annotated[Path | None, typer.Option(
        "--model", help="Artifact directory or model.joblib (default: <models-dir>/<name>/latest).")] = None,
    models_dir: ModelsDirOpt = Path("models"), name: NameOpt = "default", history: HistoryOpt = None,
    update: Annotated[bool | None, typer.Option(
        "--update/--no-update", help="First append the days published since the last run (`regime data update`); "
        "default: when --data was made by `regime data fetch`.", show_default=False)] = None,
    end: Annotated[str | None, typer.Option(
        "--end", help="With the update: the last day to fetch (YYYY-MM-DD); default today.")] = None,
    alert_exit: Annotated[int, typer.Option(
        "--alert-exit", min=0, max=125,
        help="Exit with this status when a newly recorded day's regime differs from the previous day's "
        "(0: never; e.g. 3 lets cron or a scheduler alert on a regime change).")] = 0,
    fmt: FormatOpt = "table", json_out: JsonOutOpt = None,
) -> None:
    """The morning job: update the data, label its last day, decide the weights, and record them once.

    Appends one row per day (date, regime, confidence, probabilities, target weights, model version, data
    through) to a point-in-time history that is never rewritten. A day already recorded is not scored again:
    re-running a morning changes nothing. JSON says whether the regime changed from the previous day.
    """
    from .. import service

    with render.stage("daily run", quiet=fmt == "json") as say:
        run = service.daily(data, model, models_dir, name, history, update=update, update_end=end,
                            json_out=json_out, progress=say)
    render.show_daily(run, fmt == "json")
    if alert_exit and run.recorded and run.changed:
        raise typer.Exit(alert_exit)


@command()
def history(
    models_dir: ModelsDirOpt = Path("models"), name: NameOpt = "default", history: HistoryOpt = None,
    last: Annotated[int | None, typer.Option("--last", min=1, help="Show only the last N days.")] = None,
    chart: Annotated[Path | None, typer.Option(
        "--chart", help="Also save a PNG: confidence on a regime-shaded background, probabilities, weights.")] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Show the point-in-time record of daily labels, as each morning reported them."""
    from .. import service

    render.show_history(service.history(models_dir, name, history, last, chart), fmt == "json")

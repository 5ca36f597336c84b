"""Many walk-forwards at once, locally or on a Dask cluster: ``regime sweep``."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import typer

from .. import render
from ._app import FormatOpt
from ._app import command as _command

command = functools.partial(_command, rich_help_panel="Models")


@command()
def sweep(
    grid: Annotated[Path, typer.Argument(
        help="YAML grid of datasets and configs (see configs/sweep.yaml); every config runs on every dataset.")],
    out: Annotated[Path, typer.Option(
        "--out", help="Results table, one row per run: .csv or .parquet; the JSON summary is written beside it "
        "(same name, .json).")],
    n_jobs: Annotated[int | None, typer.Option(
        "--n-jobs", help="Local worker processes (joblib loky); -1 = every core; default 1 (in this process). "
        "With --scheduler: the most runs in flight (default: every worker thread).")] = None,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", metavar="tcp://HOST:PORT", help="Run on a Dask cluster instead of locally "
        "(pip install 'regime\\[dask]'; the grid's data paths must exist on the workers).")] = None,
    chart: Annotated[Path | None, typer.Option(
        "--chart", help="Summary chart PNG (default: --out with .png).")] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Run many walk-forwards from a YAML grid: one row per run (accuracy, switches, lag, calibration, episodes).

    The grid is checked whole before anything runs; a failed run keeps its one-line error and the others go
    on (exit status 1 when any failed, after writing every file). The same grid gives the same rows on any
    backend: in this process, on local workers, or on a Dask cluster.
    """
    from .. import service

    with render.sweep_progress("sweep", quiet=fmt == "json") as on_run:
        result = service.sweep(grid, out, n_jobs=n_jobs, scheduler=scheduler, chart=chart, progress=on_run)
    render.show_sweep(result, fmt == "json")
    if (result.table["status"] != "ok").any():
        raise typer.Exit(1)

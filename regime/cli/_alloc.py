"""Commands that turn regime probabilities into weights: signal, allocate-backtest."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Literal

import typer

from .. import render
from ._app import AsofOpt, BacktestCsvOpt, ConfigOpt, DataOpt, FormatOpt, JsonOutOpt, ModelsDirOpt, NameOpt
from ._app import command as _command

command = functools.partial(_command, rich_help_panel="Allocation")


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
    from .. import service
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
    from .. import service
    with render.stage("allocation backtest", quiet=fmt == "json") as say:
        payload = service.allocate_backtest(backtest_csv, data, out_dir, config, progress=say)
    render.show_allocation(payload, out_dir, fmt == "json")

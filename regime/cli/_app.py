"""The application, its error handling and the options the commands share."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Literal

import typer
from typer.core import TyperCommand

from .. import __version__
from ..errors import RegimeError
from ..render import err, log_to_stderr, out

app = typer.Typer(
    name="regime",
    help="Which equity-leadership regime is the market in (mega-cap concentration, broadening, stress), "
    "and how sure are we? Filtered probabilities only: no look-ahead.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Make data directories that follow the data contract.", no_args_is_help=True)
app.add_typer(data_app, name="data", rich_help_panel="Data")


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


def main() -> None:
    """Console-script entry point."""
    app()

"""Commands that make data directories: ``regime data synth|french|import``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from .. import render
from ..variants import VARIANTS  # names and descriptions only: no numpy
from ._app import FormatOpt, data_command

SynthVariant = Literal[tuple(VARIANTS)]  # type: ignore[valid-type]


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
    from .. import service
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
    from .. import service
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
    from .. import service
    from ..importers import name_file_pairs
    with render.stage("importing files", quiet=fmt == "json"):
        info = service.import_data(out_dir, name_file_pairs(price, "--price"), name_file_pairs(rate, "--rate"),
                                   constituents, mapping, start, end)
    render.show_import(info, fmt == "json")

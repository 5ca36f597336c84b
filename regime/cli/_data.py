"""Commands that make and refresh data directories: ``regime data synth|french|import|fetch|update``."""

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


@data_command("fetch")
def data_fetch(
    out_dir: Annotated[Path, typer.Option("--out", help="Data directory to write (prices.csv, rates.csv, source.json, "
                                          "config.yaml); an existing one is changed only on success.")],
    preset: Annotated[str | None, typer.Option(
        "--preset", help="Named set of tickers and FRED series (us: SPY RSP QQQ IJH IJR IWM; DFF DGS2 DGS10 "
        "BAA10Y). Default us when no --ticker/--fred is given; --ticker/--fred add to an explicit preset.")] = None,
    ticker: Annotated[list[str] | None, typer.Option(
        "--ticker", metavar="[COLUMN=]TICKER", help="A Yahoo Finance symbol, adjusted closes into prices.csv "
        "(COLUMN=TICKER names its column); repeat for more.")] = None,
    fred: Annotated[list[str] | None, typer.Option(
        "--fred", metavar="[COLUMN=]ID", help="A FRED series ID, percent into rates.csv (COLUMN=ID names its "
        "column); repeat for more.")] = None,
    start: Annotated[str | None, typer.Option("--start", help="First price day (YYYY-MM-DD); default: all.")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Last price day (YYYY-MM-DD); default: today.")] = None,
    config_out: Annotated[Path | None, typer.Option(
        "--config-out", help="Write the roles config here instead of <out>/config.yaml.")] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Download ETFs or indices (Yahoo Finance) and FRED series into a data directory, with a roles config.

    Needs the online extra: pip install 'regime\\[online]'. Then keep it current with `regime data update`
    (or `regime daily`, which updates first).
    """
    from .. import service
    from ..online import parse_pairs

    with render.stage("fetching", quiet=fmt == "json") as say:
        result = service.fetch_data(out_dir, preset=preset, tickers=parse_pairs(ticker, "--ticker"),
                                    series=parse_pairs(fred, "--fred"), start=start, end=end,
                                    config_out=config_out, progress=say)
    render.show_fetch(result, fmt == "json")


@data_command("update")
def data_update(
    data: Annotated[Path, typer.Option(
        "--data", help="A directory written by `regime data fetch` (its source.json says what to fetch).")],
    end: Annotated[str | None, typer.Option("--end", help="Last day to fetch (YYYY-MM-DD); default: today.")] = None,
    overlap_days: Annotated[int, typer.Option(
        "--overlap-days", min=1, help="Last values of each column fetched again to catch revisions and "
        "dividend re-basing.")] = 10,
    fmt: FormatOpt = "table",
) -> None:
    """Append the days published since the last fetch, and apply revisions; a second run changes nothing.

    A re-based adjusted-close history (a dividend or split) is fetched again in full, with a warning; a
    revised FRED value is replaced and logged. A failed download leaves every file as it was.
    """
    from .. import service

    with render.stage("updating", quiet=fmt == "json") as say:
        result = service.update_data(data, end=end, overlap_days=overlap_days, progress=say)
    render.show_update(result, fmt == "json")

"""Kenneth French Data Library and FRED files, as published, into the data contract.

The French files carry header text before the table, a copyright footer after
it, dates as YYYYMMDD or YYYY-MM-DD, space-padded values and -99.99 (or
-999) for missing; FRED files carry blank values on holidays and differ in
their header names. Nothing here needs the files to be cleaned by hand.

The result:

- ``prices.csv``: levels built from daily returns (percent):
  ``hi10`` top size decile (large caps), ``mkt`` the cap-weighted market
  (Mkt-RF + RF), ``ew`` the equal-weighted average of the ten size deciles,
  ``med40`` the middle 40 %, ``lo30`` the bottom 30 % (small caps) and
  ``lo10`` the bottom decile;
- ``constituents.csv``: the ten industry portfolios as constituents (levels,
  no market caps): the source of breadth;
- ``rates.csv``: ``fed_funds`` (the two DFF files spliced, the newer one
  winning where they overlap), ``ust_2y``, ``ust_10y``, ``baa_spread`` (FRED
  BAA10Y) and ``vix``, each on its own calendar with blanks kept.

``configs/french.yaml`` maps the roles onto these columns.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from .._io import staged_directory
from ..data import _check_dates, _numeric, write_table
from ..errors import DataError

__all__ = ["read_french_table", "read_fred_series", "parse_fred_csv", "import_french_fred"]

log = logging.getLogger(__name__)

_DATE = re.compile(r"^\s*(\d{8}|\d{4}-\d{2}-\d{2})\s*,")
_MISSING = (-99.99, -999.0)


def read_french_table(path: str | Path) -> pd.DataFrame:
    """The first daily table of a Kenneth French CSV file, as published.

    Finds the header line just before the first dated row, reads rows while
    they start with a date, and stops at the first line that does not (a
    blank line, a footer or the next section). -99.99 and -999 become NaN.

    Returns
    -------
    DataFrame
        Returns in percent, DatetimeIndex ``date``, columns as in the file.

    Raises
    ------
    DataError
        The file is missing or has no dated rows.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} not found; point --french at the directory holding the Kenneth French files")
    lines = path.read_text(encoding="latin-1").splitlines()
    first = next((i for i, ln in enumerate(lines) if _DATE.match(ln)), None)
    if first is None or first == 0:
        raise DataError(f"{path.name}: no dated rows found; is this a daily Kenneth French file?")
    header = [h.strip() for h in lines[first - 1].split(",")]
    rows = []
    for ln in lines[first:]:
        if not _DATE.match(ln):
            break
        rows.append([v.strip() for v in ln.split(",")])
    df = pd.DataFrame(rows, columns=["date"] + header[1:])
    fmt = "%Y%m%d" if len(df["date"].iloc[0]) == 8 else "%Y-%m-%d"
    try:
        df["date"] = pd.to_datetime(df["date"], format=fmt)
    except ValueError as exc:
        raise DataError(f"{path.name}: a date does not parse as {fmt} ({exc}); is the file complete?") from None
    df = df.set_index("date").apply(pd.to_numeric, errors="coerce")
    df = df.mask(df.isin(_MISSING))
    log.info("%s: %d rows %s..%s", path.name, len(df), df.index[0].date(), df.index[-1].date())
    return df


def read_fred_series(path: str | Path) -> pd.Series:
    """One FRED CSV series (``observation_date,ID``, ``DATE,ID`` or ``date,value``); blanks and '.' are NaN.

    Raises
    ------
    DataError
        Missing file, not two columns, an unparseable or repeated date, or a
        value that is neither a number nor blank.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} not found; point --fred at the directory holding the FRED files")
    return parse_fred_csv(path, path.name).rename(path.stem)


def parse_fred_csv(source: str | Path | IO[str], name: str) -> pd.Series:
    """A FRED CSV as published (a file or a text buffer): dates, then one column of values.

    The header is ``observation_date,ID``, ``DATE,ID`` or ``date,value``; blank and ``.`` values (FRED's
    holidays) are NaN.

    Parameters
    ----------
    source : str, Path or text buffer
        What :func:`pandas.read_csv` reads.
    name : str
        What to call the source in messages (a file name, ``FRED series DGS10``).

    Returns
    -------
    Series
        Floats, DatetimeIndex ``date`` sorted (with a warning if it was not), named after the value column.

    Raises
    ------
    DataError
        Not two columns, an unparseable or repeated date, or a value that is neither a number nor blank.
    """
    df = pd.read_csv(source, dtype=str, keep_default_na=False)
    if df.shape[1] != 2:
        raise DataError(f"{name}: expected two columns (date, value), found {df.shape[1]}")
    dates = pd.to_datetime(df.iloc[:, 0].str.strip(), errors="coerce")
    if dates.isna().any():
        i = int(np.flatnonzero(dates.isna().to_numpy())[0])
        raise DataError(f"{name}: row {i + 2} has date {df.iloc[i, 0]!r} that cannot be parsed")
    frame = pd.DataFrame({df.columns[1]: df.iloc[:, 1].to_numpy()}, index=pd.DatetimeIndex(dates, name="date"))
    frame = _check_dates(frame, name)
    return _numeric(frame, name, [df.columns[1]])[df.columns[1]]


def _level(returns_pct: pd.Series) -> pd.Series:
    r = returns_pct / 100.0
    first = r.first_valid_index()
    level = 100.0 * (1.0 + r.loc[first:].fillna(0.0)).cumprod()
    return level.reindex(r.index)


def import_french_fred(french: str | Path, fred: str | Path, out: str | Path) -> dict:
    """Build a contract data directory from the French and FRED files as published.

    Parameters
    ----------
    french, fred : path
        Directories with the files listed in the module docstring.
    out : path
        Data directory to write (created).

    Returns
    -------
    dict
        What was written: date range, columns, and what was cut to align sources.
    """
    french, fred, out = Path(french), Path(fred), Path(out)
    size = read_french_table(french / "Portfolios_Formed_on_ME_daily_VW.csv")
    inds = read_french_table(french / "10_Industry_Portfolios_daily_VW.csv")
    facs = read_french_table(french / "F-F_Research_Data_Factors_daily.csv")
    deciles = ["Lo 10"] + [f"{i}-Dec" for i in range(2, 10)] + ["Hi 10"]
    missing = [c for c in deciles + ["Med 40", "Lo 30"] if c not in size.columns]
    if missing:
        raise DataError(f"Portfolios_Formed_on_ME_daily_VW.csv has no column(s) {', '.join(missing)}")
    end = min(size.index[-1], inds.index[-1], facs.index[-1])
    start = max(size.index[0], inds.index[0], facs.index[0])
    cut = {"size_after": str(size.index[-1].date()), "industries_after": str(inds.index[-1].date()),
           "factors_after": str(facs.index[-1].date()), "common_end": str(end.date())}
    rets = pd.DataFrame({
        "hi10": size["Hi 10"],
        "mkt": facs["Mkt-RF"] + facs["RF"],
        "ew": size[deciles].mean(axis=1, skipna=False),
        "med40": size["Med 40"],
        "lo30": size["Lo 30"],
        "lo10": size["Lo 10"],
    }).loc[start:end].dropna(how="all")
    prices = rets.apply(_level).dropna(how="all")
    cons_levels = inds.loc[start:end].apply(_level)
    cons = cons_levels.stack().rename("close").reset_index()
    cons.columns = ["date", "ticker", "close"]
    cons = cons.set_index("date")

    dff_old = read_fred_series(fred / "DFF_1954_2023.csv")
    dff_new = read_fred_series(fred / "DFF_1994_2026.csv")
    fed = dff_new.combine_first(dff_old)
    rates = pd.concat({
        "fed_funds": fed,
        "ust_2y": read_fred_series(fred / "DGS2.csv"),
        "ust_10y": read_fred_series(fred / "DGS10.csv"),
        "baa_spread": read_fred_series(fred / "BAA10Y.csv"),
        "vix": read_fred_series(fred / "VIXCLS.csv"),
    }, axis=1).sort_index()
    rates.index.name = "date"
    rates = rates.loc[: end]

    with staged_directory(out) as staged:
        write_table(prices, staged / "prices.csv")
        write_table(cons, staged / "constituents.csv")
        write_table(rates, staged / "rates.csv")
    info = {
        "out": str(out), "start": str(prices.index[0].date()), "end": str(prices.index[-1].date()),
        "days": int(len(prices)), "prices": list(prices.columns), "industries": list(inds.columns),
        "rates": {c: str(rates[c].first_valid_index().date()) for c in rates.columns}, "aligned": cut,
    }
    log.info("wrote %s: %s..%s", out, info["start"], info["end"])
    return info

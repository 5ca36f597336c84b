"""Daily price files as people download them, wide panels and FRED CSVs, into the data contract.

Nothing here needs the files edited by hand:

- price files from yfinance or EOD-style sources (``.csv`` or ``.csv.gz``),
  with or without a leading unnamed index column; the date column is named
  ``Date``, ``date``, ``timestamp`` or ``datetime`` (any case), and the close
  is the first of ``Adj Close``, ``Adjusted_close``, ``adjusted_close``,
  ``adjclose``, ``Close`` found (any case, spaces or underscores);
- wide panels: a date column, then one column of closes per ticker, blank
  before a name lists (``.csv``, ``.csv.gz`` or ``.parquet``);
- FRED CSVs (``observation_date,ID``, ``DATE,ID``, ``date,value``), read by
  :func:`~regime.importers.read_fred_series`; a yfinance-style file (such as
  ``^VIX.csv``) also serves as a rate-like series.

Blank, ``null``, ``.`` (and ``NA``, ``NaN``, ``#N/A``) cells are missing
values. Anything else that is not a positive number, a date that does not
parse, a repeated date, or a file with no date or close column stops with one
line naming the file, column and date and saying what to do. Dates out of
order are sorted, with a warning.

:func:`import_files` writes ``prices.csv`` (one column per name, on the union
of the price files' dates), ``rates.csv`` (each series on its own calendar;
:func:`~regime.data.load_data` aligns them as of each price date) and
``constituents.parquet`` (the wide panel) into a directory, all or nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import yaml

from .._io import staged_directory
from ..data import _check_dates, _numeric, check_wide, parse_dates, raw_header, write_table
from ..errors import ConfigError, DataError
from ._french import read_fred_series

__all__ = ["read_price_file", "read_wide_panel", "import_files", "read_import_mapping"]

log = logging.getLogger(__name__)

PathLike = str | Path
Files = PathLike | Sequence[PathLike]

_DATE_NAMES = ("date", "timestamp", "datetime")
_CLOSE_ORDER = ("adj close", "adjusted close", "adjclose", "close")
_NAME = re.compile(r"^[A-Za-z0-9_.^-]+$")
_ISO_WITH_TIME = r"^\d{4}-\d{2}-\d{2}[ T]\d"
CONTRACT_FILES = tuple(f"{stem}.{ext}" for stem in ("prices", "rates", "constituents") for ext in ("csv", "parquet"))


def _key(column: str) -> str:
    return re.sub(r"[\s_]+", " ", column.strip().lower())


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".csv", ".parquet"):
        name = name.removesuffix(suffix)
    return name


def _read_raw(path: Path) -> pd.DataFrame:
    """A CSV (optionally compressed) or Parquet file as read: strings for CSV, stripped column names."""
    name = path.name
    if not path.is_file():
        raise DataError(f"{path} not found; check the file name and directory")
    try:
        if path.suffix == ".parquet":
            df = pd.read_parquet(path)
            if isinstance(df.index, pd.DatetimeIndex):
                df = df.reset_index()
        else:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataError(f"{name} is empty; download it again or point at the right file") from None
    except Exception as exc:  # parser, decompression and pyarrow errors
        raise DataError(
            f"{name} could not be read ({type(exc).__name__}: {exc}); it should be a CSV file (optionally .gz) "
            "or Parquet"
        ) from None
    df.columns = [str(c).strip() for c in df.columns]
    if df.empty:
        raise DataError(f"{name} has a header but no rows; download it again or point at the right file")
    return df


def _date_column(df: pd.DataFrame, name: str) -> str:
    for col in df.columns:
        if _key(col) in _DATE_NAMES:
            return col
    cols = ", ".join(df.columns[:8]) or "none"
    raise DataError(f"{name} has no date column (columns: {cols}); name the column of dates 'Date'")


def _dates(raw: pd.Series, name: str) -> pd.DatetimeIndex:
    """Parse a date column; a time of day (and its UTC offset) after an ISO date is dropped: these are daily files."""
    if not pd.api.types.is_datetime64_any_dtype(raw):
        text = raw.astype(str).str.strip()
        if text.str.match(_ISO_WITH_TIME).all():
            text = text.str[:10]
        raw = text
    return parse_dates(raw, name)


def _positive(s: pd.Series, name: str, col: str) -> pd.Series:
    nonpos = s <= 0
    if nonpos.any():
        d = s.index[nonpos.to_numpy()][0]
        raise DataError(
            f"{name}: column '{col}' has non-positive price {s[d]:g} on {d.date()}; prices must be > 0, "
            "so fix or blank that cell"
        )
    return s


def read_price_file(path: PathLike, column: str | None = None) -> pd.Series:
    """One daily close series from a yfinance- or EOD-style CSV file (optionally .gz).

    Parameters
    ----------
    path : str or Path
        The file. A leading unnamed index column is ignored.
    column : str, optional
        The column to use (any case). Default: the first of ``Adj Close``,
        ``Adjusted_close``, ``adjusted_close``, ``adjclose``, ``Close`` the
        file has (any case). The choice is logged at INFO.

    Returns
    -------
    Series
        Floats (NaN where blank, ``null`` or ``.``), DatetimeIndex ``date``
        sorted, named after the file (``SPY`` for ``SPY.csv``).

    Raises
    ------
    DataError
        No date column, no close column (or no ``column``), an unparseable or
        repeated date, a non-numeric or non-positive value, no value at all.
    """
    path = Path(path)
    name = path.name
    df = _read_raw(path)
    dcol = _date_column(df, name)
    cols = [c for c in df.columns if c != dcol]
    listed = ", ".join(df.columns[:10])
    if column is not None:
        col = next((c for c in cols if c.lower() == column.strip().lower()), None)
        if col is None:
            raise DataError(f"{name} has no column '{column}' (columns: {listed}); pick one of those")
    else:
        keys = {_key(c): c for c in reversed(cols)}  # the first column wins when two spell the same name
        col = next((keys[k] for k in _CLOSE_ORDER if k in keys), None)
        if col is None:
            raise DataError(
                f"{name} has no close column (columns: {listed}); name the adjusted close 'Adj Close' "
                "or the close 'Close', or pass column="
            )
    log.info("%s: using column '%s' as the daily close", name, col)
    frame = pd.DataFrame({col: df[col].to_numpy()}, index=_dates(df[dcol], name))
    frame = _check_dates(frame, name)
    s = _numeric(frame, name, [col])[col]
    if s.isna().all():
        raise DataError(f"{name}: column '{col}' has no values; download the file again or pass another column")
    return _positive(s, name, col).rename(_stem(path))


def read_wide_panel(path: PathLike) -> pd.DataFrame:
    """A wide panel of daily closes: a date column, then one column per ticker.

    Parameters
    ----------
    path : str or Path
        ``.csv``, ``.csv.gz`` or ``.parquet``. A leading unnamed index column
        is dropped.

    Returns
    -------
    DataFrame
        Floats (NaN where blank, e.g. before a name lists), DatetimeIndex
        ``date`` sorted, columns named ``ticker``.

    Raises
    ------
    DataError
        No date column, a long-format file (a ``ticker`` column), an unnamed
        or repeated ticker, an unparseable or repeated date, a non-numeric or
        non-positive value.
    """
    path = Path(path)
    name = path.name
    df = _read_raw(path)
    dcol = _date_column(df, name)
    header = None if path.suffix == ".parquet" else raw_header(path)
    first = df.columns[0]
    if first != dcol and (first.startswith("Unnamed:") or first == "index"):
        log.info("%s: dropped the leading index column", name)
        df = df.drop(columns=first)
        header = header[1:] if header is not None else None
    if any(_key(c) == "ticker" for c in df.columns):
        raise DataError(
            f"{name} has a ticker column, so it is long format (date,ticker,close,...), not a wide panel; "
            "save it as constituents.csv in the data directory instead"
        )
    if header is not None:
        del header[list(df.columns).index(dcol)]
    body = df.drop(columns=dcol)
    body.index = _dates(df[dcol], name)
    panel = check_wide(name, body, "close", header)
    log.info("%s: %d tickers, %d days %s..%s", name, panel.shape[1], len(panel),
             panel.index[0].date(), panel.index[-1].date())
    return panel


def _read_rate(path: Path) -> pd.Series:
    """A FRED CSV, or a yfinance-style price file (more than two columns) for a rate-like series."""
    try:
        ncols = len(raw_header(path))
    except Exception:  # empty or unreadable: read_fred_series names the problem
        ncols = 0
    if ncols > 2:
        return read_price_file(path)
    s = read_fred_series(path)
    if s.isna().all():
        raise DataError(f"{path.name} has no values; download it again")
    return s


def check_output_dir(out: Path, written: Sequence[str], what: str) -> None:
    """Refuse an output directory that is a file, or that holds data files a new write would leave stale.

    Parameters
    ----------
    out : Path
        The data directory about to be written.
    written : sequence of str
        The file names the write puts there.
    what : str
        What writes it, for the message (``this import``).

    Raises
    ------
    DataError
        ``out`` is a file, or holds a contract file (or ``truth.csv``) not in ``written``: loading the
        directory afterwards would mix it with the new files.
    """
    if out.exists() and not out.is_dir():
        raise DataError(f"{out} is a file; --out must be a directory")
    stale = [f for f in (*CONTRACT_FILES, "truth.csv") if f not in written and (out / f).exists()]
    if stale:
        raise DataError(
            f"{out} already holds {', '.join(stale)}, which {what} would not replace (it writes "
            f"{', '.join(written)}); remove them or choose another output directory"
        )


def _file_list(files: Files, key: str, kind: str) -> list[Path]:
    items = [files] if isinstance(files, (str, Path)) else list(files)
    if not items:
        raise ConfigError(f"{kind} '{key}' has no file; give at least one")
    paths = [Path(p).expanduser() for p in items]
    for p in paths:
        if not p.is_file():
            raise DataError(f"{p} not found; check the file given for {kind} '{key}'")
    return paths


def _check_names(mapping: Mapping[str, Files], kind: str) -> None:
    for key in mapping:
        if not isinstance(key, str) or not _NAME.match(key) or key.lower() == "date":
            raise ConfigError(
                f"{kind} name {key!r} cannot be a column name; use letters, digits and _ . - ^ only "
                "(and not 'date'), e.g. spx"
            )


def _splice(parts: list[pd.Series], key: str, files: list[Path], prices: bool) -> pd.Series:
    """Several files of one series: the later file wins where both have a value."""
    s = parts[0]
    for later, path in zip(parts[1:], files[1:], strict=True):
        both = s.index.intersection(later.index)
        if prices and len(both):
            a, b = s.loc[both], later.loc[both]
            rel = (b / a - 1.0).abs().dropna()
            if len(rel) and rel.max() > 0.01:
                log.warning(
                    "%s: %s differs from the earlier file by up to %.1f%% on the %d days they share "
                    "(first %s); the later file wins; are both on the same adjustment basis?",
                    key, path.name, 100 * rel.max(), len(rel), rel.index[(rel > 0.01).to_numpy()][0].date(),
                )
        s = later.combine_first(s)
    return s.rename(key)


def _span(s: pd.Series | pd.DataFrame) -> dict:
    idx = s.dropna(how="all").index if isinstance(s, pd.DataFrame) else s.dropna().index
    return {"first": str(idx[0].date()), "last": str(idx[-1].date()), "days": int(len(idx))}


def import_files(
    out: PathLike,
    prices: Mapping[str, Files],
    rates: Mapping[str, Files] | None = None,
    constituents: PathLike | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> dict:
    """Turn downloaded price, rate and panel files into a data directory that follows the data contract.

    Parameters
    ----------
    out : str or Path
        The data directory to write (created).
    prices : mapping
        Column name -> price file, or a list of files that are spliced in
        order (the later file wins on the dates where both have a value).
        Read with :func:`read_price_file`.
    rates : mapping, optional
        Column name -> FRED CSV (or list of them, spliced the same way); a file
        of more than two columns is read with :func:`read_price_file`.
    constituents : str or Path, optional
        A wide panel of constituent closes (:func:`read_wide_panel`).
    start, end : date, optional
        Keep only the price and panel dates in ``[start, end]`` (rates keep
        the month before ``start`` too, so the first days align as of a
        published value).

    Returns
    -------
    dict
        ``out``, ``start``, ``end``, ``days`` (of the price calendar), per-name
        ``first``, ``last``, ``days`` and ``files`` under ``prices`` and
        ``rates``, the panel's under ``constituents`` (or None) and the files
        ``written``.

    Raises
    ------
    DataError
        A file is missing or breaks the rules above; ``out`` already holds
        contract files this import would not replace; the panel shares no
        date with the prices.
    ConfigError
        A name that cannot be a column name, or a name without files.

    Notes
    -----
    The price calendar is the union of the price files' dates (a date on
    which every price is blank is dropped); a series is blank before its first
    date. Rates keep their own calendar. Everything is written into a
    temporary directory beside ``out`` and moved in only when all of it
    succeeded, so a failure leaves an existing ``out`` as it was.
    """
    out = Path(out)
    rates = dict(rates or {})
    if not prices:
        raise ConfigError("no price files given; give at least one, e.g. spx=SPY.csv")
    _check_names(prices, "price")
    _check_names(rates, "rate")
    pfiles = {k: _file_list(v, k, "price") for k, v in prices.items()}
    rfiles = {k: _file_list(v, k, "rate") for k, v in rates.items()}
    cpath = None
    if constituents is not None:
        cpath = Path(constituents).expanduser()
        if not cpath.is_file():
            raise DataError(f"{cpath} not found; check the file given for the constituents")
    written = ["prices.csv"] + (["rates.csv"] if rfiles else []) + (["constituents.parquet"] if cpath else [])
    check_output_dir(out, written, "this import")

    series = {k: _splice([read_price_file(p) for p in fs], k, fs, prices=True) for k, fs in pfiles.items()}
    table = pd.concat(series, axis=1, sort=True)
    blank = table.isna().all(axis=1)
    if blank.any():
        log.info("dropped %d date(s) on which every price is blank (first %s)", int(blank.sum()),
                 table.index[blank.to_numpy()][0].date())
        table = table.loc[~blank]
    table.index.name = "date"
    lo = None if start is None else pd.Timestamp(start)
    hi = None if end is None else pd.Timestamp(end)
    table = table.loc[lo:hi]
    if table.empty:
        raise DataError(f"no price date lies in {start or '...'}..{end or '...'}; check --start and --end")
    rtable = None
    if rfiles:
        rseries = {k: _splice([_read_rate(p) for p in fs], k, fs, prices=False) for k, fs in rfiles.items()}
        rtable = pd.concat(rseries, axis=1, sort=True)
        rtable.index.name = "date"
        rtable = rtable.loc[None if lo is None else lo - pd.Timedelta(days=31):hi]
    panel = None
    if cpath is not None:
        panel = read_wide_panel(cpath).loc[lo:hi]
        if not len(panel.index.intersection(table.index)):
            raise DataError(
                f"{cpath.name} covers {panel.index[0].date()}..{panel.index[-1].date()}, no day in common with "
                f"the prices ({table.index[0].date()}..{table.index[-1].date()}); check that the files belong together"
            )

    with staged_directory(out) as staged:
        write_table(table, staged / "prices.csv")
        if rtable is not None:
            write_table(rtable, staged / "rates.csv")
        if panel is not None:
            write_table(panel, staged / "constituents.parquet")

    info = {
        "out": str(out),
        "start": str(table.index[0].date()),
        "end": str(table.index[-1].date()),
        "days": int(len(table)),
        "prices": {k: {**_span(table[k]), "files": [p.name for p in pfiles[k]]} for k in table.columns},
        "rates": {} if rtable is None else {
            k: {**_span(rtable[k]), "files": [p.name for p in rfiles[k]]} for k in rtable.columns
        },
        "constituents": None if panel is None else {
            **_span(panel), "file": cpath.name, "tickers": int(panel.shape[1])  # type: ignore[union-attr]
        },
        "written": written,
    }
    log.info("wrote %s: %s in %s..%s", out, ", ".join(written), info["start"], info["end"])
    return info


def name_file_pairs(values: Sequence[str] | None, option: str) -> dict[str, list[Path]]:
    """``NAME=FILE`` pairs (as given to ``--price`` / ``--rate``); a repeated NAME collects its files in order.

    Raises
    ------
    ConfigError
        A value that is not ``NAME=FILE``; the message names ``option``.
    """
    pairs: dict[str, list[Path]] = {}
    for raw in values or []:
        key, sep, file = raw.partition("=")
        if not sep or not key.strip() or not file.strip():
            raise ConfigError(f"{option} {raw!r} is not NAME=FILE; write it as e.g. {option} spx=SPY.csv")
        pairs.setdefault(key.strip(), []).append(Path(file.strip()))
    return pairs


def read_import_mapping(path: PathLike) -> dict:
    """The ``prices``, ``rates`` and ``constituents`` of an import mapping file (YAML).

    ``prices`` and ``rates`` map a column name to a file or a list of files;
    ``constituents`` is one file. Relative paths are relative to the YAML
    file's directory.

    Returns
    -------
    dict
        ``prices`` and ``rates`` (name -> list of Paths) and ``constituents``
        (Path or None), ready for :func:`import_files`.

    Raises
    ------
    ConfigError
        Missing file, invalid YAML, an unknown key or a value of the wrong kind.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path} not found; give the YAML file with prices:, rates: and constituents:")
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{path.name} is not valid YAML ({first}); fix the file") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path.name} should map prices:, rates: and constituents: to files")
    unknown = sorted(set(map(str, doc)) - {"prices", "rates", "constituents"})
    if unknown:
        raise ConfigError(f"{path.name}: unknown key(s) {', '.join(unknown)}; use prices:, rates:, constituents:")
    base = path.parent

    def resolve(value: object, where: str) -> Path:
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{path.name}: {where} should be a file name, not {value!r}")
        p = Path(value.strip()).expanduser()
        return p if p.is_absolute() else base / p

    result: dict = {"prices": {}, "rates": {}, "constituents": None}
    for section in ("prices", "rates"):
        entries = doc.get(section) or {}
        if not isinstance(entries, dict):
            raise ConfigError(f"{path.name}: {section}: should map names to files, e.g. spx: SPY.csv")
        for key, value in entries.items():
            values = value if isinstance(value, list) else [value]
            result[section][str(key)] = [resolve(v, f"{section}.{key}") for v in values]
    if doc.get("constituents") is not None:
        result["constituents"] = resolve(doc["constituents"], "constituents")
    return result

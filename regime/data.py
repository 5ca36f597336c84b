"""Reading a data directory that follows the data contract.

A data directory holds ``prices`` (required), ``rates`` and ``constituents``
(optional), each as ``.csv`` or ``.parquet``. See the README section
"Data contract". Every problem found raises :class:`~regime.errors.DataError`
with one line naming the file, column or date.

``constituents`` comes in one of two layouts:

- long: ``date,ticker,close[,market_cap][,sector]``, one row per name and day;
- wide: a ``date`` column, then one column of closes per ticker (blank where
  a name has no close, e.g. before its listing); no market caps and no
  sectors. A file with no ``ticker`` column (and no ``close``,
  ``market_cap`` or ``sector`` column) is read as wide.

Files are read typed: pyarrow reads each column with a declared type (CSV) or as stored (Parquet) straight into
float arrays, never a frame of strings; long constituents a record batch at a time, each batch's dates, tickers
and sectors coded and its values written into the wide arrays before the next is read. A file the typed reader cannot vouch for (a cell that is not a number, a date it would name by row, a
ticker twice on a day, a value not above zero) is read as text, every cell a string first, whose checks name the
problem; both give the same data, bit for bit, where both read a file.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ._io import atomic_path
from .config import PRICE_ROLES, RATE_ROLES, Config, RolesConfig
from .errors import DataError

__all__ = ["MarketData", "StaleSpan", "load_data", "load_panel", "read_table", "align_asof", "write_table",
           "parse_dates"]

log = logging.getLogger(__name__)

_MISSING_TOKENS = {"", ".", "na", "nan", "null", "none", "#n/a"}

#: The missing tokens in every mix of upper and lower case: the typed CSV reader matches null values exactly.
_NULL_VALUES = sorted({"".join(chars) for token in _MISSING_TOKENS
                       for chars in itertools.product(*({c.lower(), c.upper()} for c in token))})

#: Labels (dates, tickers, sectors) are read dictionary-encoded: one code per row, each distinct text once.
_LABEL = pa.dictionary(pa.int32(), pa.string())


@dataclass(frozen=True)
class StaleSpan:
    """A run of price days on which one input has no fresh data.

    Rates are carried as of each date for ``data.max_stale_days`` calendar
    days, so a rate column is stale on a price day whose last value is older
    than that. Constituents are never carried (a carried close would fake a
    zero return), so the constituents file is stale on every price day after
    its first on which it has no close, whether it ended or skipped days.
    Staleness is causal: whether a day is stale depends only on data up to it.

    Attributes
    ----------
    file : str
        The input file's name, e.g. ``constituents.csv``.
    column : str or None
        The rate column; None for the whole constituents file.
    last_fresh : Timestamp
        The input's last date with data before the span.
    first, last : Timestamp
        The first and last price days of the span.
    days : int
        Price days in the span.
    resumes : Timestamp or None
        The input's next date with data, None if it ended before prices did
        (or resumes only after the data's end).
    max_stale_days : int or None
        Calendar days a value is carried (rates); None when not carried.
    """

    file: str
    column: str | None
    last_fresh: pd.Timestamp
    first: pd.Timestamp
    last: pd.Timestamp
    days: int
    resumes: pd.Timestamp | None = None
    max_stale_days: int | None = None

    @property
    def what(self) -> str:
        """``constituents.csv`` or ``rates.csv column 'baa_spread'``."""
        return self.file if self.column is None else f"{self.file} column '{self.column}'"

    def overlaps(self, start: pd.Timestamp, end: pd.Timestamp) -> bool:
        """Whether the span shares a day with ``[start, end]``."""
        return self.first <= end and self.last >= start


def _days(n: int) -> str:
    return f"{n} price day{'' if n == 1 else 's'}"


def _stale_spans(fresh: pd.DatetimeIndex, dates: pd.DatetimeIndex, file: str, column: str | None,
                max_stale_days: int | None) -> list[StaleSpan]:
    """The runs of price days on which an input has no fresh data.

    Parameters
    ----------
    fresh : DatetimeIndex
        The dates on which the input has data.
    dates : DatetimeIndex
        The price calendar, sorted.
    file, column : str
        Where the input comes from (column None for constituents).
    max_stale_days : int or None
        A price day is stale when the input's last date on or before it is
        more than this many calendar days earlier; None: whenever the input
        has no data on the day itself. Days before the input starts are
        warm-up, not stale.

    Returns
    -------
    list of StaleSpan
    """
    fresh = pd.DatetimeIndex(fresh).unique().sort_values()
    if len(fresh) == 0 or len(dates) == 0:
        return []
    pos = fresh.searchsorted(dates, side="right") - 1
    started = pos >= 0
    prev = fresh[np.maximum(pos, 0)]
    age = np.asarray((dates - prev).days)
    stale = started & (age > (0 if max_stale_days is None else max_stale_days))
    spans: list[StaleSpan] = []
    i, n = 0, len(dates)
    while i < n:
        if not stale[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and stale[j + 1] and pos[j + 1] == pos[i]:
            j += 1
        k = int(pos[i]) + 1
        spans.append(StaleSpan(
            file=file, column=column, last_fresh=fresh[pos[i]], first=dates[i], last=dates[j], days=j - i + 1,
            resumes=fresh[k] if k < len(fresh) and fresh[k] <= dates[-1] else None, max_stale_days=max_stale_days,
        ))
        i = j + 1
    return spans


@dataclass(frozen=True, eq=False)
class MarketData:
    """A validated data directory, on the price calendar.

    Attributes
    ----------
    prices : DataFrame
        Daily closes, one column per index, DatetimeIndex named ``date``.
    rates : DataFrame or None
        Rate series in percent, aligned as of each price date: the last value
        published on or before that date (never a later one).
    closes, caps : DataFrame or None
        Constituent closes and market caps, wide (dates x tickers), on the
        price calendar. ``caps`` is None when ``market_cap`` is absent.
    roles : RolesConfig
        The role -> column mapping used.
    files : dict
        File name -> SHA-256 of its bytes, in reading order.
    source : Path
        The data directory.
    sectors : DataFrame or None
        Each constituent's sector on each day as an integer code (dates x
        tickers, NaN where unknown); None when ``sector`` is absent.
    staleness : tuple of StaleSpan
        The runs of price days on which a rate column (used by a role) or the
        constituents file has no fresh data; see :meth:`stale_inputs`.
    panel_file : str or None
        The constituents file when it was hashed but not read (``load_data(..., panel=False)``): ``closes``,
        ``caps`` and ``sectors`` are then None, its staleness is not known, and its features come from a
        feature snapshot of byte-identical files (:func:`regime.features.stored_aggregates`).
    """

    prices: pd.DataFrame
    rates: pd.DataFrame | None
    closes: pd.DataFrame | None
    caps: pd.DataFrame | None
    roles: RolesConfig
    files: dict[str, str] = field(default_factory=dict)
    source: Path = Path(".")
    sectors: pd.DataFrame | None = None
    staleness: tuple[StaleSpan, ...] = ()
    panel_file: str | None = None

    @property
    def dates(self) -> pd.DatetimeIndex:
        """The price calendar."""
        return self.prices.index  # type: ignore[return-value]

    def series(self, role: str) -> pd.Series | None:
        """The column a role maps to, or None when the role is switched off or absent."""
        col = getattr(self.roles, role)
        if col is None:
            return None
        if role in PRICE_ROLES:
            return self.prices[col]
        if self.rates is None or col not in self.rates:
            return None
        return self.rates[col]

    def data_hash(self) -> str:
        """One SHA-256 over the hashes of every file read."""
        h = hashlib.sha256()
        for name, digest in self.files.items():
            h.update(f"{name}:{digest}\n".encode())
        return h.hexdigest()

    def truncate(self, end: pd.Timestamp | str) -> MarketData:
        """The same data ending at ``end`` (inclusive); for as-of runs and prefix tests."""
        end = pd.Timestamp(end)

        def cut(df: pd.DataFrame | None) -> pd.DataFrame | None:
            return None if df is None else df.loc[:end]

        return MarketData(
            prices=self.prices.loc[:end],
            rates=cut(self.rates),
            closes=cut(self.closes),
            caps=cut(self.caps),
            roles=self.roles,
            files=self.files,
            source=self.source,
            sectors=cut(self.sectors),
            staleness=tuple(self._clip(span, end) for span in self.staleness if span.first <= end),
            panel_file=self.panel_file,
        )

    def tail(self, rows: int) -> MarketData:
        """The last ``rows`` days: what the latest days' trailing windows read (``files`` left empty, as a tail
        is not the files)."""
        start = max(len(self.dates) - rows, 0)

        def cut(df: pd.DataFrame | None) -> pd.DataFrame | None:
            return None if df is None else df.iloc[start:]

        first = self.dates[start]
        return MarketData(
            prices=self.prices.iloc[start:], rates=cut(self.rates), closes=cut(self.closes), caps=cut(self.caps),
            roles=self.roles, source=self.source, sectors=cut(self.sectors),
            staleness=tuple(span for span in self.staleness if span.last >= first), panel_file=self.panel_file,
        )

    def _clip(self, span: StaleSpan, end: pd.Timestamp) -> StaleSpan:
        """A span as the data ending at ``end`` sees it (staleness is causal, so this equals recomputing)."""
        if span.last <= end and (span.resumes is None or span.resumes <= end):
            return span
        last = min(span.last, end)
        days = int(((self.dates >= span.first) & (self.dates <= last)).sum())
        resumes = span.resumes if span.resumes is not None and span.resumes <= end else None
        return replace(span, last=last, days=days, resumes=resumes)

    def stale_spans(self, start: pd.Timestamp | str | None = None,
                    end: pd.Timestamp | str | None = None) -> list[StaleSpan]:
        """The stale spans that share a day with ``[start, end]`` (default: all the data)."""
        lo = pd.Timestamp(start) if start is not None else self.dates[0]
        hi = pd.Timestamp(end) if end is not None else self.dates[-1]
        return [span for span in self.staleness if span.overlaps(lo, hi)]

    def stale_inputs(self, start: pd.Timestamp | str | None = None,
                     end: pd.Timestamp | str | None = None) -> list[str]:
        """Which inputs are stale on some day of ``[start, end]``: one line each.

        Each line names the file, the column where it applies and its last
        date, the price days without a label, and what to do, e.g.
        ``constituents.csv ends 2011-06-30, 126 price days before prices.csv
        (2011-12-30): those days get no label; update constituents.csv``. Rate
        columns stale over the same days share a line.
        """
        groups: dict[tuple, list[StaleSpan]] = {}
        for span in self.stale_spans(start, end):
            key = (span.file, span.column is None, span.last_fresh, span.first, span.last, span.resumes)
            groups.setdefault(key, []).append(span)
        return [self._describe(spans) for spans in groups.values()]

    def stale_on(self, day: pd.Timestamp | str, option: str = "--asof") -> str | None:
        """One line saying which inputs are stale on ``day`` and what to do, or None if none is.

        The line names the file, the column where it applies and its last date,
        and suggests updating that file or picking ``option`` on or before
        that date. Used where a stale day must stop a run (``regime score``).
        """
        day = pd.Timestamp(day)
        spans = self.stale_spans(day, day)
        if not spans:
            return None
        parts = []
        for span in spans:
            n = int(((self.dates > span.last_fresh) & (self.dates <= day)).sum())
            limit = (f", more than data.max_stale_days = {span.max_stale_days} calendar days"
                     if span.max_stale_days is not None else "")
            parts.append(f"{span.what} has no data after {span.last_fresh.date()}, {_days(n)} earlier{limit}")
        files = ", ".join(dict.fromkeys(s.file for s in spans))
        last = min(s.last_fresh for s in spans)
        return (f"on {day.date()} {'; '.join(parts)}, so that day gets no label; update {files}, or pick "
                f"{option} on or before {last.date()}")

    def _describe(self, spans: list[StaleSpan]) -> str:
        span = spans[0]
        if len(spans) == 1:
            what = span.what
        else:
            what = f"{span.file} columns " + ", ".join(f"'{s.column}'" for s in spans)
        prices_file = next(iter(self.files), "prices")
        limit = span.max_stale_days
        if span.resumes is None:
            n_after = int((self.dates > span.last_fresh).sum())
            verb = "ends" if len(spans) == 1 else "end"
            if span.days == n_after:
                tail = "those days get no label"
            else:
                tail = (f"the last {span.days} of them, from {span.first.date()} (more than data.max_stale_days = "
                        f"{limit} calendar days later), get no label")
            return (f"{what} {verb} {span.last_fresh.date()}, {_days(n_after)} before {prices_file} "
                    f"({self.dates[-1].date()}): {tail}; update {span.file}")
        gap = (span.resumes - span.last_fresh).days
        days = (f"the {span.days} price days {span.first.date()}..{span.last.date()}" if span.days > 1
                else f"the price day {span.first.date()}")
        if limit is None:
            return (f"{what} has no rows on {days} (between {span.last_fresh.date()} and {span.resumes.date()}): "
                    f"those days get no label; fill the gap in {span.file}")
        return (f"{what} has no data from {span.last_fresh.date()} to {span.resumes.date()} ({gap} calendar days, "
                f"more than data.max_stale_days = {limit}): {days} get no label; fill the gap in {span.file}")


def _find(directory: Path, stem: str, required: bool) -> Path | None:
    found = [p for p in (directory / f"{stem}.csv", directory / f"{stem}.parquet") if p.is_file()]
    if len(found) == 2:
        raise DataError(f"{directory} holds both {stem}.csv and {stem}.parquet; keep only one of them")
    if not found:
        if required:
            raise DataError(
                f"{directory / (stem + '.csv')} not found (nor {stem}.parquet); "
                f"put the daily {stem} there (see README 'Data contract')"
            )
        return None
    return found[0]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_table(path: Path) -> pd.DataFrame:
    """Read one contract file, check its ``date`` column, and index by date.

    Values are returned as read (strings for CSV); dates are parsed, checked
    for duplicates and sorted (with a warning) if out of order.

    Raises
    ------
    DataError
        Empty file, no ``date`` column, unparseable or duplicate dates.
    """
    name = path.name
    try:
        if path.suffix == ".parquet":
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataError(f"{name} is empty; write a header row with 'date' and the columns, then the data") from None
    except Exception as exc:  # pyarrow / parser errors
        raise DataError(f"{name} could not be read ({type(exc).__name__}: {exc}); check the file format") from None
    df.columns = [str(c).strip() for c in df.columns]
    if "date" not in df.columns:
        cols = ", ".join(df.columns[:8]) or "none"
        raise DataError(f"{name} has no 'date' column (columns: {cols}); name the date column 'date'")
    if df.empty:
        raise DataError(f"{name} is empty (a header but no rows); add the data rows")
    dates = parse_dates(df["date"], name)
    df = df.drop(columns="date")
    df.index = dates
    return df


#: A time of day followed by a UTC offset (``00:00:00-05:00``, ``09:30Z``): the offset is dropped, the local time kept.
_OFFSET = r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?:Z|UTC|[+-]\d{2}:?\d{2})$"


def parse_dates(raw: pd.Series, name: str) -> pd.DatetimeIndex:
    """A file's date column as a normalised, timezone-naive DatetimeIndex named ``date``: each row's own local
    date, whatever its UTC offset (a timestamp with an offset keeps its wall-clock date).

    Raises
    ------
    DataError
        A date that cannot be parsed, named with its row (counting the header as row 1).
    """
    if pd.api.types.is_datetime64_any_dtype(raw):
        dates = pd.to_datetime(raw)
    else:
        text = raw.astype(str).str.strip()
        try:
            dates = pd.to_datetime(text, errors="coerce", format="mixed")
        except ValueError:  # offsets that differ (-05:00 in winter, -04:00 in summer): each day's local date counts
            text = text.str.replace(_OFFSET, r"\1", regex=True)
            try:
                dates = pd.to_datetime(text, errors="coerce", format="mixed")
            except ValueError:
                raise DataError(f"{name}: its dates mix time zones that cannot be told apart from their text; "
                                "write dates as YYYY-MM-DD") from None
        bad = dates.isna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{name}: row {i + 2} has date {text.iloc[i]!r} that cannot be parsed; write dates as YYYY-MM-DD"
            )
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    return pd.DatetimeIndex(dates.dt.normalize().to_numpy(), name="date")


def _check_dates(df: pd.DataFrame, name: str, unique: bool = True) -> pd.DataFrame:
    if unique and df.index.has_duplicates:
        dup = df.index[df.index.duplicated()][0]
        n = int((df.index == dup).sum())
        raise DataError(f"{name}: date {dup.date()} appears {n} times; keep one row per date")
    if not df.index.is_monotonic_increasing:
        log.warning("%s: dates are out of order; sorted them", name)
        df = df.sort_index(kind="stable")
    return df


def _numeric(df: pd.DataFrame, name: str, columns: list[str]) -> pd.DataFrame:
    """Parse columns to float; blanks and '.' become NaN, anything else non-numeric is an error."""
    out = {}
    for col in columns:
        s = df[col]
        if pd.api.types.is_numeric_dtype(s):
            out[col] = s.astype(float)
            continue
        text = s.astype(str).str.strip()
        missing = text.str.lower().isin(_MISSING_TOKENS) | s.isna()
        vals = pd.to_numeric(text.where(~missing), errors="coerce")
        bad = vals.isna() & ~missing
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{name}: column '{col}' has non-numeric value {text.iloc[i]!r} on {df.index[i].date()}; "
                "fix or blank that cell"
            )
        out[col] = vals.astype(float)
    return pd.DataFrame(out, index=df.index)


class _Declined(Exception):
    """The typed reader cannot vouch for a file; the text reader then reads it and names any problem exactly."""


def _typed(read, path: Path, *args):
    """``read(path, *args)``, or None when the typed reader declines the file (then read it as text).

    The typed reader takes the files a careful writer produces (a clean header, numbers and the missing
    tokens, one row per ticker and day) straight into float arrays. Anything else -- a cell that is not a
    number, a date it would have to report by row, a repeated ticker -- sends the file down the text path,
    whose checks and one-line errors are the data contract's. A DataError raised by the shared checks on the
    typed result is the text path's error for the same values, so it is raised as is.
    """
    try:
        return read(path, *args)
    except (DataError, MemoryError):
        raise
    except Exception as exc:  # _Declined, pyarrow's conversion and parse errors, anything unexpected
        log.debug("%s: typed read declined (%s: %s); reading it as text", path.name, type(exc).__name__, exc)
        return None


def _raw_names(path: Path) -> list[str]:
    """The header cells as written (a CSV file's first record; a Parquet file's columns)."""
    if path.suffix == ".parquet":
        schema = pq.read_schema(path)
        index = (schema.pandas_metadata or {}).get("index_columns", [])
        if any(isinstance(c, str) for c in index):
            raise _Declined("a stored pandas index")  # pandas would read it as the index, not a column
        return list(schema.names)
    with path.open(newline="", encoding="utf-8-sig") as fh:
        row = next(csv.reader(fh), None)
    if not row:
        raise _Declined("no header")
    return row


def _clean_names(names: list[str]) -> list[str]:
    """Stripped header names, declined unless unique, non-empty and with a ``date`` column."""
    clean = [n.strip() for n in names]
    if "date" not in clean or "" in clean or len(set(clean)) != len(clean):
        raise _Declined("header")
    return clean


def _csv_convert(types: dict[str, pa.DataType]) -> pacsv.ConvertOptions:
    """The typed CSV reader's options: the named columns (raw names) as declared, the missing tokens as null."""
    return pacsv.ConvertOptions(column_types=types, include_columns=list(types), null_values=_NULL_VALUES,
                                strings_can_be_null=False, quoted_strings_can_be_null=True)


def _arrow_table(path: Path, types: dict[str, pa.DataType]) -> pa.Table:
    """The named columns (raw names) of a file, typed as declared (CSV) or as stored (Parquet), with rows.

    Labels (columns declared as dictionaries) come dictionary-encoded from Parquet too: one code per row.
    """
    if path.suffix == ".parquet":
        labels = [n for n, t in types.items() if pa.types.is_dictionary(t)]
        table = pq.read_table(path, columns=list(types), read_dictionary=labels)
    else:
        table = pacsv.read_csv(path, convert_options=_csv_convert(types))
    if table.num_rows == 0 or table.column_names != list(types):
        raise _Declined("no rows")
    return table


#: Bytes of CSV text per record batch when long constituents are streamed. pyarrow's streaming CSV reader reads
#: up to 32 blocks ahead, so this bounds what the reader holds to a few megabytes.
_CSV_BLOCK = 1 << 18

#: Rows per record batch when long constituents are streamed from Parquet.
_PARQUET_BATCH = 1 << 18


def _record_batches(path: Path, types: dict[str, pa.DataType]) -> Iterator[pa.RecordBatch]:
    """The named columns of a file as :func:`_arrow_table` types them, a record batch at a time.

    CSV comes a block of text at a time, Parquet a slice of a row group at a time; the memory pyarrow's pool
    keeps for the freed batches is handed back at the end.
    """
    names = list(types)
    try:
        if path.suffix == ".parquet":
            labels = [n for n, t in types.items() if pa.types.is_dictionary(t)]
            with pq.ParquetFile(path, read_dictionary=labels) as file:
                for group in range(file.num_row_groups):  # one reader per row group: one over all keeps them all
                    for batch in file.iter_batches(batch_size=_PARQUET_BATCH, row_groups=[group], columns=names):
                        if batch.schema.names != names:
                            raise _Declined("columns")
                        yield batch
        else:
            with pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=_CSV_BLOCK),
                                convert_options=_csv_convert(types)) as reader:
                if reader.schema.names != names:
                    raise _Declined("columns")
                yield from reader
    finally:
        pa.default_memory_pool().release_unused()


#: Record batches a reader thread may hold ready ahead of the caller (:func:`_read_ahead`).
_AHEAD = 4


def _read_ahead(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """``batches`` as they come, read by a worker thread up to :data:`_AHEAD` batches ahead of the caller.

    pyarrow parses a batch without the GIL, so the file is read while the caller codes the batch before (the
    streaming readers parse on the calling thread otherwise). An error in the reader is raised to the caller;
    a caller that stops early stops the worker and waits for it.
    """
    ready: queue.Queue = queue.Queue(maxsize=_AHEAD)
    stop = threading.Event()
    end = object()

    def work() -> None:
        item: object = end
        try:
            for batch in batches:
                if stop.is_set():
                    return
                ready.put(batch)
        except BaseException as exc:  # handed to the caller, who raises it
            item = exc
        finally:
            getattr(batches, "close", lambda: None)()
        if not stop.is_set():
            ready.put(item)

    worker = threading.Thread(target=work, name="regime-read-ahead", daemon=True)
    worker.start()
    try:
        while (item := ready.get()) is not end:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # a worker waiting to hand a batch over gets room, then sees the stop
            try:
                ready.get_nowait()
            except queue.Empty:
                pass
            worker.join(0.01)


#: Rows handled at a time where a row-wise step needs int64 temporaries.
_SPAN = 1 << 22


def _spans(n: int) -> list[tuple[int, int]]:
    return [(a, min(a + _SPAN, n)) for a in range(0, n, _SPAN)]


class _Coder:
    """Codes a label column a chunk at a time: each distinct value gets the next int32 code when a row first uses it.

    Works on each chunk's dictionary (a chunk not dictionary-encoded is encoded first), looked up among the values
    met so far in one pyarrow call, so a row costs one int32 and only a value met for the first time is handled
    in Python; values a chunk's dictionary holds but no row uses get no code.

    Parameters
    ----------
    key : callable, optional
        Maps a value (as Python object) to what identifies it (``str.strip``: values equal after stripping get
        one code); ``keys`` holds the results in code order.
    """

    def __init__(self, key: Callable | None = None) -> None:
        self.key = key
        self.codes: dict = {}
        self.keys: list = []
        self.met: pa.Array | None = None  # the distinct values met so far, as written
        self.met_code = np.empty(0, dtype=np.int32)  # and each one's code

    def code(self, chunk: pa.Array) -> tuple[np.ndarray, pa.Array | None]:
        """Each row's code, and the values coded for the first time (as the chunk holds them, in code order)."""
        enc = chunk if pa.types.is_dictionary(chunk.type) else pc.dictionary_encode(chunk)
        if enc.null_count:
            raise _Declined("missing labels")
        local = enc.dictionary
        idx = enc.indices.to_numpy(zero_copy_only=False)
        at = np.full(len(local), -1, dtype=np.int32)  # each dictionary value's place among those met, -1: new
        if self.met is not None:
            at = pc.fill_null(pc.index_in(local, value_set=self.met), -1).to_numpy(zero_copy_only=False)
        remap = np.zeros(len(local), dtype=np.int32)
        remap[at >= 0] = self.met_code[at[at >= 0]]
        unmet = np.flatnonzero(at < 0)
        if len(unmet):
            unmet = unmet[np.bincount(idx, minlength=len(local))[unmet] > 0]  # only values some row uses
        new = []
        if len(unmet):
            values = local.take(pa.array(unmet))
            keys = values.to_numpy(zero_copy_only=False)
            keys = (keys.view(np.int64) if keys.dtype.kind in "mM" else keys).tolist()
            for j, key in zip(unmet.tolist(), keys):
                if self.key is not None:
                    key = self.key(key)
                code = self.codes.get(key)
                if code is None:
                    code = self.codes[key] = len(self.keys)
                    self.keys.append(key)
                    new.append(j)
                remap[j] = code
            self.met = values if self.met is None else pa.concat_arrays([self.met, values])
            self.met_code = np.concatenate([self.met_code, remap[unmet]])
        return remap[idx], (local.take(pa.array(new, type=pa.int32())) if new else None)


def _codes(col: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Each row's code (int32) into the column's distinct values (in order of appearance), and those values."""
    coder = _Coder()
    codes = np.empty(len(col), dtype=np.int32)
    parts: list[pa.Array] = []
    pos = 0
    for chunk in col.chunks:
        chunk_codes, new = coder.code(chunk)
        codes[pos:pos + len(chunk)] = chunk_codes
        pos += len(chunk)
        if new is not None:
            parts.append(new)
    return codes, pa.concat_arrays(parts)


def _recode(codes: np.ndarray, new: np.ndarray) -> None:
    """``codes = new[codes]`` in place, a span at a time."""
    for a, b in _spans(len(codes)):
        codes[a:b] = new[codes[a:b]]


def _date_type(t: pa.DataType) -> None:
    """Declines a date column the typed reader does not parse (it takes text, timestamps and dates)."""
    t = t.value_type if pa.types.is_dictionary(t) else t
    if not (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_timestamp(t) or pa.types.is_date(t)):
        raise _Declined(f"date column of type {t}")


def _label_type(t: pa.DataType) -> None:
    """Declines a label column (ticker, sector) that is not text."""
    t = t.value_type if pa.types.is_dictionary(t) else t
    if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
        raise _Declined(f"label column of type {t}")


def _parsed(values: pa.Array, name: str) -> pd.DatetimeIndex:
    """Dates as :func:`parse_dates` parses them; declined (the text path names the row) where one cannot be."""
    try:
        return parse_dates(values.to_pandas(), name)
    except DataError:
        raise _Declined("a date that cannot be parsed") from None


def _day_numbers(days: pd.DatetimeIndex) -> np.ndarray:
    """Normalised dates as whole days since 1970-01-01 (int64), whatever the index's unit."""
    return days.to_numpy().astype("datetime64[D]").view(np.int64)


def _date_codes(col: pa.ChunkedArray, name: str) -> tuple[np.ndarray, pd.DatetimeIndex]:
    """Each row's position in the sorted distinct dates, and those dates, parsed as :func:`parse_dates` does."""
    _date_type(col.type)
    codes, values = _codes(col)
    parsed = _parsed(values, name)
    _, first, inverse = np.unique(parsed.asi8, return_index=True, return_inverse=True)
    _recode(codes, inverse.astype(np.int32))
    return codes, parsed[first]


def _sorted_labels(keys: list[str], blank_missing: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Distinct labels sorted, and each one's position among them (-1: blank, with ``blank_missing``)."""
    uniq, inverse = np.unique(np.array(keys, dtype=object), return_inverse=True)
    inverse = inverse.astype(np.int32)
    if blank_missing and len(uniq) and uniq[0] == "":  # "" sorts first
        uniq, inverse = uniq[1:], inverse - 1
    return uniq, inverse


def _floats(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A numeric column as float64, missing as NaN."""
    if not (pa.types.is_floating(col.type) or pa.types.is_integer(col.type)):
        raise _Declined(f"values of type {col.type}")
    return np.asarray(pc.cast(col, pa.float64(), safe=False).to_numpy(zero_copy_only=False), dtype=float)


#: Columns per block of a :class:`_Wide` array.
_BLOCK = 64


def _places(rows: np.ndarray, cols: np.ndarray) -> list[tuple[int, np.ndarray | None, np.ndarray]]:
    """Where cells (row, column) fall in :class:`_Wide` blocks: (block, which cells -- None for all -- and their
    flat positions in that block), grouped by block once for all the arrays a batch fills."""
    if not len(cols):
        return []
    block = cols // _BLOCK
    flat = rows.astype(np.int64) * _BLOCK + (cols - block * _BLOCK)
    if block.min() == block.max():
        return [(int(block[0]), None, flat)]
    order = np.argsort(block.astype(np.uint16) if block.max() < 1 << 16 else block, kind="stable")  # radix sort
    counts = np.bincount(block)
    ends = np.cumsum(counts)
    return [(k, order[ends[k] - counts[k]:ends[k]], flat[order[ends[k] - counts[k]:ends[k]]])
            for k in np.flatnonzero(counts).tolist()]


class _Wide:
    """A (days x names) array filled a record batch at a time, its names (columns) coded in order of first use.

    Names keep arriving while a file is read, so the columns live in blocks of :data:`_BLOCK`: a new name never
    copies the columns before it. :meth:`take` lays them out in their final order as one C-contiguous array.
    """

    def __init__(self, rows: int, dtype: type, fill) -> None:
        self.rows, self.dtype, self.fill = rows, dtype, fill
        self.blocks: list[np.ndarray] = []

    def grow(self, names: int) -> None:
        """Room for ``names`` columns."""
        while len(self.blocks) * _BLOCK < names:
            self.blocks.append(np.full(self.rows * _BLOCK, self.fill, dtype=self.dtype))

    def put(self, places: list[tuple[int, np.ndarray | None, np.ndarray]], values: np.ndarray) -> None:
        """Write ``values`` (one per cell) at :func:`_places`' places."""
        for k, which, flat in places:
            self.blocks[k][flat] = values if which is None else values[which]

    def count(self) -> int:
        """Cells set (for a boolean array)."""
        return sum(int(np.count_nonzero(b)) for b in self.blocks)

    def take(self, position: np.ndarray, lut: np.ndarray | None = None) -> np.ndarray:
        """Float64 (rows x names): column ``position[c]`` holds name ``c`` (through ``lut``); frees the blocks."""
        out = np.empty((self.rows, len(position)))
        for k in range(len(self.blocks)):
            lo, hi = k * _BLOCK, min((k + 1) * _BLOCK, len(position))
            if lo < hi:
                block = self.blocks[k].reshape(self.rows, _BLOCK)[:, :hi - lo]
                to = position[lo:hi]
                cut = np.flatnonzero(np.diff(to) != 1) + 1  # runs of columns that stay side by side: slices
                for a, b in zip([0, *cut.tolist()], [*cut.tolist(), hi - lo]):
                    out[:, to[a]:to[a] + b - a] = block[:, a:b] if lut is None else lut[block[:, a:b]]
            self.blocks[k] = None
        return out


class _LongPanel:
    """Long constituents gathered a record batch at a time into wide arrays on the price calendar.

    Each batch's dates, tickers and sectors are coded on arrival and its values written into the wide arrays,
    so a batch and the wide arrays are all that is held; tickers and sectors are coded in order of first use
    and laid out sorted at the end (:meth:`frames`), as the text path sorts them. Declines as the whole-file
    reader did: a missing label, a date it names by row, a value not above zero, a ticker twice on a day.
    """

    def __init__(self, name: str, dates: pd.DatetimeIndex, columns: list[str]) -> None:
        self.name, self.dates = name, dates
        rows = len(dates)
        #: A date written as the calendar writes it (YYYY-MM-DD) is that day; other dates are parsed.
        self.iso = {d: i for i, d in enumerate(np.datetime_as_string(dates.to_numpy(), unit="D").tolist())}
        self.calendar_day = _day_numbers(dates)
        self.days = _Coder()
        self.day_number = np.empty(0, dtype=np.int64)  # per date code: days since 1970
        self.day_row = np.empty(0, dtype=np.int64)  # per date code: row on the price calendar, -1 if absent
        self.written: list[pa.Array] = []  # the distinct dates as written, in code order
        self.parsed = False  # whether any date went through parse_dates
        self.tickers = _Coder(str.strip)
        self.sectors = _Coder(str.strip) if "sector" in columns else None
        #: ``seen`` marks the cells a row set (for repeats); ``sector`` holds 1 + the sector's code, 0 for none
        self.wide = {"seen": _Wide(rows, bool, False),
                     **{c: _Wide(rows, float, np.nan) for c in ("close", "market_cap") if c in columns},
                     **({"sector": _Wide(rows, np.int32, 0)} if self.sectors is not None else {})}
        self.off: list[np.ndarray] = []  # (day, ticker) keys of rows on days the prices lack
        self.n = 0
        self.last_day: int | None = None
        self.unsorted = False

    def _day_codes(self, col: pa.Array) -> np.ndarray:
        _date_type(col.type)
        codes, new = self.days.code(col)
        if new is not None:
            self.written.append(new)
            keys = self.days.keys[len(self.day_row):]
            rows = np.array([self.iso.get(k, -1) if isinstance(k, str) else -1 for k in keys], dtype=np.int64)
            numbers = np.zeros(len(keys), dtype=np.int64)
            known = rows >= 0
            numbers[known] = self.calendar_day[rows[known]]
            if not known.all():
                self.parsed = True
                pick = np.flatnonzero(~known)
                parsed = _parsed(new.take(pa.array(pick)), self.name)
                numbers[pick], rows[pick] = _day_numbers(parsed), self.dates.get_indexer(parsed)
            self.day_number = np.concatenate([self.day_number, numbers])
            self.day_row = np.concatenate([self.day_row, rows])
        return codes

    def add(self, batch: dict[str, pa.Array]) -> None:
        """Code one record batch (column name -> values) and write its values."""
        day = self._day_codes(batch["date"])
        if not len(day):
            return
        number = self.day_number[day]
        if (self.last_day is not None and number[0] < self.last_day) or (number[1:] < number[:-1]).any():
            self.unsorted = True
        self.last_day = int(number[-1])
        _label_type(batch["ticker"].type)
        tick, _ = self.tickers.code(batch["ticker"])
        values = {"seen": np.ones(len(day), dtype=bool)}
        for col in ("close", "market_cap"):
            if col in self.wide:
                values[col] = _floats(batch[col])
                if (values[col] <= 0).any():
                    raise _Declined("a value not above zero")
        if self.sectors is not None:
            _label_type(batch["sector"].type)
            values["sector"] = self.sectors.code(batch["sector"])[0] + 1
        row = self.day_row[day]
        off = row < 0
        if off.any():
            self.off.append(number[off] * (1 << 32) + tick[off])
            on = ~off
            row, tick, values = row[on], tick[on], {c: v[on] for c, v in values.items()}
        places = _places(row, tick)
        for col, wide in self.wide.items():
            wide.grow(len(self.tickers.keys))
            wide.put(places, values[col])
        self.n += len(day)

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None]:
        """Closes, caps (if the file has them) and sector codes (if it names at least 3 sectors)."""
        if not self.n:
            raise _Declined("no rows")
        if self.parsed:  # parse_dates on all the distinct dates at once gives the same days (one time zone, ...)
            whole = _parsed(pa.concat_arrays(self.written), self.name)
            if not np.array_equal(_day_numbers(whole), self.day_number):
                raise _Declined("dates parsed apart differ from dates parsed together")
        off = np.concatenate(self.off) if self.off else np.empty(0, dtype=np.int64)
        if self.wide["seen"].count() + len(np.unique(off)) != self.n:
            raise _Declined("a ticker twice on a day")
        if self.unsorted:
            log.warning("%s: dates are out of order; sorted them", self.name)
        tickers, position = _sorted_labels(self.tickers.keys)
        columns = pd.Index(tickers, name="ticker")

        def frame(wide: _Wide, lut: np.ndarray | None = None) -> pd.DataFrame:
            wide.grow(len(tickers))  # names only on days the prices lack have no block yet
            return pd.DataFrame(wide.take(position, lut), index=self.dates, columns=columns, copy=False)

        closes = frame(self.wide["close"])
        caps = frame(self.wide["market_cap"]) if "market_cap" in self.wide else None
        sectors = None
        if self.sectors is not None:
            labels, code = _sorted_labels(self.sectors.keys, blank_missing=True)
            if len(labels) < 3:
                log.warning("%s: column 'sector' names %d sector(s); sector rotation needs at least 3, so it is "
                            "left out", self.name, len(labels))
            else:
                sectors = frame(self.wide["sector"], np.concatenate([[np.nan], np.where(code < 0, np.nan, code)]))
        return closes, caps, sectors


def _typed_frame(path: Path) -> pd.DataFrame:
    """A contract file whose columns besides ``date`` are all numbers, as floats indexed by date (as read)."""
    names = _raw_names(path)
    clean = _clean_names(names)
    table = _arrow_table(path, {n: (_LABEL if c == "date" else pa.float64()) for n, c in zip(names, clean)})
    codes, days = _date_codes(table.column(clean.index("date")), path.name)
    cols = {c: _floats(table.column(i)) for i, c in enumerate(clean) if c != "date"}
    return pd.DataFrame(cols, index=days.take(codes), columns=[c for c in clean if c != "date"])


def _read_values(path: Path) -> pd.DataFrame:
    """A file of numbers by date: typed when it can be, else :func:`read_table`'s text."""
    frame = _typed(_typed_frame, path)
    return read_table(path) if frame is None else frame


def _typed_long(path: Path, dates: pd.DatetimeIndex) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None]:
    """Long constituents straight into wide arrays on the price calendar: closes, caps and sector codes.

    The file is read a record batch at a time (:func:`_record_batches`, :func:`_read_ahead`) into a
    :class:`_LongPanel`: about the wide arrays and a few batches at most. Declines (the text path then reads the
    file) on anything the text path reports: a missing column, a date it names by row, a ticker twice on a day, a
    value not above zero.
    """
    names = _raw_names(path)
    raw = dict(zip(_clean_names(names), names))
    if "ticker" not in raw or "close" not in raw:
        raise _Declined("not long constituents")
    wanted = ["date", "ticker", "close"] + [c for c in ("market_cap", "sector") if c in raw]
    types = {raw[c]: (pa.float64() if c in ("close", "market_cap") else _LABEL) for c in wanted}
    panel = _LongPanel(path.name, dates, wanted)
    with closing(_read_ahead(_record_batches(path, types))) as batches:  # a decline stops the reader at once
        for batch in batches:
            panel.add(dict(zip(wanted, batch.columns)))
    return panel.frames()


def _load_prices(path: Path, roles: RolesConfig) -> pd.DataFrame:
    name = path.name
    df = _check_dates(_read_values(path), name)
    needed = {r: getattr(roles, r) for r in PRICE_ROLES if getattr(roles, r) is not None}
    for role, col in needed.items():
        if col not in df.columns:
            cols = ", ".join(df.columns[:10])
            hint = "" if role == "large_cap" else f", or set roles.{role}: null"
            raise DataError(
                f"{name} has no column '{col}' for role {role} (columns: {cols}); "
                f"add it or map roles.{role} to another column in the config{hint}"
            )
    df = _numeric(df, name, list(df.columns))
    for role, col in needed.items():
        s = df[col]
        if s.isna().all():
            raise DataError(f"{name}: column '{col}' (role {role}) has no values; fill it or set roles.{role}: null")
        nonpos = s <= 0
        if nonpos.any():
            d = s.index[nonpos.to_numpy()][0]
            raise DataError(
                f"{name}: column '{col}' has non-positive price {s[d]:g} on {d.date()}; prices must be > 0"
            )
        first = s.first_valid_index()
        gaps = s.loc[first:].isna()
        if gaps.any():
            log.warning(
                "%s: column '%s' has %d blank prices after its start (first %s); carried the last close forward",
                name, col, int(gaps.sum()), s.index[gaps.to_numpy()][0].date(),
            )
    return df.ffill()


def align_asof(rates: pd.DataFrame, dates: pd.DatetimeIndex, max_stale_days: int | None = None) -> pd.DataFrame:
    """Align rate series to a calendar as of each date.

    The value at each date is the last non-blank value published on or before
    that date, never a later one. With ``max_stale_days``, a value older than
    that many calendar days becomes NaN rather than silently stale.

    Parameters
    ----------
    rates : DataFrame
        Rate series on their own calendar (DatetimeIndex), blanks as NaN.
    dates : DatetimeIndex
        The target calendar, sorted.
    max_stale_days : int, optional
        Oldest acceptable age of a carried value, in calendar days.

    Returns
    -------
    DataFrame
        Index ``dates``, same columns as ``rates``.
    """
    out = {}
    target = pd.DataFrame(index=pd.DatetimeIndex(dates, name="date"))
    for col in rates.columns:
        s = rates[col].dropna()
        if s.empty:
            out[col] = pd.Series(np.nan, index=target.index)
            continue
        right = pd.DataFrame({"value": s.to_numpy(), "as_of": s.index}, index=s.index)
        merged = pd.merge_asof(target, right, left_index=True, right_index=True, direction="backward")
        vals = merged["value"]
        if max_stale_days is not None:
            age = (merged.index - pd.DatetimeIndex(merged["as_of"])).days
            vals = vals.where(~(age > max_stale_days))
        out[col] = vals.to_numpy()
    return pd.DataFrame(out, index=target.index)


def _load_rates(
    path: Path, roles: RolesConfig, dates: pd.DatetimeIndex, max_stale_days: int
) -> tuple[pd.DataFrame, list[StaleSpan]]:
    name = path.name
    df = _check_dates(_read_values(path), name)
    for role in RATE_ROLES:
        col = getattr(roles, role)
        if col is not None and col not in df.columns:
            cols = ", ".join(df.columns[:10])
            raise DataError(
                f"{name} has no column '{col}' for role {role} (columns: {cols}); "
                f"add it, map roles.{role} to another column, or set roles.{role}: null"
            )
    df = _numeric(df, name, list(df.columns))
    used = dict.fromkeys(c for r in RATE_ROLES if (c := getattr(roles, r)) is not None)
    spans = [span for col in used
             for span in _stale_spans(df.index[df[col].notna().to_numpy()], dates, name, col, max_stale_days)]
    return align_asof(df, dates, max_stale_days), spans


def _is_wide(columns) -> bool:
    """A constituents file with no ``ticker`` column (and no ``close``, ``market_cap`` or ``sector``) is wide."""
    return "ticker" not in columns and not {"close", "market_cap", "sector"} & set(columns)


def _load_constituents(
    path: Path, dates: pd.DatetimeIndex
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None, list[StaleSpan]]:
    """Closes, caps and sector codes on the price calendar, and the constituents' stale spans."""
    read = _typed(_typed_constituents, path, dates)
    closes, caps, sectors = _text_constituents(path, dates) if read is None else read
    # closes are not carried forward, so every price day without one (after the file starts) is stale
    spans = _stale_spans(dates[closes.notna().any(axis=1).to_numpy()], dates, path.name, None, None)
    return closes, caps, sectors, spans


def _typed_constituents(
    path: Path, dates: pd.DatetimeIndex
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None]:
    if _is_wide(_clean_names(_raw_names(path))):
        return _load_wide_constituents(path, _typed_frame(path), dates), None, None
    return _typed_long(path, dates)


def _text_constituents(
    path: Path, dates: pd.DatetimeIndex
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None]:
    """The constituents read as text (every cell a string first): the reference the typed reader matches."""
    name = path.name
    df = read_table(path)
    if _is_wide(df.columns):
        return _load_wide_constituents(path, df, dates), None, None
    for col in ("ticker", "close"):
        if col not in df.columns:
            raise DataError(
                f"{name} has no '{col}' column; constituents are long format date,ticker,close[,market_cap][,sector]"
            )
    df = _check_dates(df, name, unique=False)
    tick = df["ticker"].astype(str).str.strip().to_numpy()
    dcodes, duniq = pd.factorize(df.index)
    tcodes, tuniq = pd.factorize(tick, sort=True)
    key = dcodes.astype(np.int64) * len(tuniq) + tcodes
    dup = pd.Series(key).duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise DataError(f"{name}: ticker {tick[i]} appears twice on {df.index[i].date()}; keep one row")
    value_cols = ["close"] + (["market_cap"] if "market_cap" in df.columns else [])
    vals = _numeric(df, name, value_cols)
    for col in value_cols:
        nonpos = (vals[col] <= 0).to_numpy()
        if nonpos.any():
            i = int(np.flatnonzero(nonpos)[0])
            raise DataError(
                f"{name}: {col} of {tick[i]} is {vals[col].iloc[i]:g} on {df.index[i].date()}; must be > 0"
            )

    def wide(col: str, values: np.ndarray | None = None) -> pd.DataFrame:
        arr = np.full((len(duniq), len(tuniq)), np.nan)
        arr[dcodes, tcodes] = vals[col].to_numpy() if values is None else values
        frame = pd.DataFrame(arr, index=pd.DatetimeIndex(duniq, name="date"), columns=pd.Index(tuniq, name="ticker"))
        return frame.sort_index().reindex(dates)

    closes = wide("close")
    caps = wide("market_cap") if "market_cap" in vals else None
    sectors = None
    if "sector" in df.columns:
        label = df["sector"].astype("string").str.strip()
        codes, names = pd.factorize(label.where(label != ""), sort=True)
        if len(names) < 3:
            log.warning(
                "%s: column 'sector' names %d sector(s); sector rotation needs at least 3, so it is left out",
                name, len(names),
            )
        else:
            sectors = wide("sector", np.where(codes < 0, np.nan, codes.astype(float)))
    return closes, caps, sectors


def raw_header(path: Path) -> list[str]:
    """The header cells of a CSV file (optionally compressed) exactly as written, duplicates included."""
    head = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False)
    return [str(c).strip() for c in head.iloc[0]]


def check_wide(name: str, df: pd.DataFrame, what: str, header: list[str] | None = None) -> pd.DataFrame:
    """Validate a wide table (dates x tickers): names, dates, numbers and signs.

    Parameters
    ----------
    name : str
        The file's name, for messages.
    df : DataFrame
        As read: DatetimeIndex ``date`` and one column per ticker (strings or numbers).
    what : str
        What the values are, for messages (``close``).
    header : list of str, optional
        The ticker columns' names exactly as written in the file, duplicates included (a CSV reader renames
        repeated names); default: ``df.columns``.

    Returns
    -------
    DataFrame
        Floats, sorted by date, columns named ``ticker``.

    Raises
    ------
    DataError
        No ticker columns, an unnamed or repeated ticker, a duplicate date, a non-numeric or non-positive value.
    """
    if df.shape[1] == 0:
        raise DataError(f"{name} has only a date column; a wide file needs one column of {what}s per ticker")
    names = [str(c).strip() for c in (df.columns if header is None else header)]
    seen: set[str] = set()
    for i, tick in enumerate(names):
        if tick == "" or tick.startswith("Unnamed:"):
            after = f"after '{names[i - 1]}'" if i else "after the date"
            raise DataError(f"{name}: the column {after} has no name; write its ticker in the header row")
        if tick in seen:
            raise DataError(f"{name}: ticker {tick} has two columns; keep one column per ticker")
        seen.add(tick)
    df = _check_dates(df, name)
    vals = _numeric(df, name, list(df.columns))
    nonpos = (vals <= 0).to_numpy()
    if nonpos.any():
        r, c = np.argwhere(nonpos)[0]
        raise DataError(
            f"{name}: {what} of {vals.columns[c]} is {vals.iat[r, c]:g} on {vals.index[r].date()}; must be > 0"
        )
    vals.columns = pd.Index([str(c) for c in vals.columns], name="ticker")
    return vals


def _load_wide_constituents(path: Path, df: pd.DataFrame, dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Constituent closes from a wide file (``date`` then one column per ticker), on the price calendar."""
    header = None
    if path.suffix != ".parquet":
        raw = raw_header(path)
        if "date" in raw:
            raw.remove("date")
            header = raw
    closes = check_wide(path.name, df, "close", header)
    log.info("%s: wide constituents, %d tickers, no market caps or sectors", path.name, closes.shape[1])
    return closes.reindex(dates)


def load_data(directory: str | Path, config: Config | None = None, *, panel: bool = True) -> MarketData:
    """Load and validate a data directory.

    Parameters
    ----------
    directory : str or Path
        Holds ``prices``, and optionally ``rates`` and ``constituents``.
    config : Config, optional
        Supplies the role mapping and staleness limit; defaults otherwise.
    panel : bool
        Read the constituents. False only hashes the file (``MarketData.panel_file``): for scoring from a
        feature snapshot of byte-identical files, which needs no panel.

    Returns
    -------
    MarketData

    Raises
    ------
    DataError
        Anything that breaks the data contract, named in one line.
    """
    config = config or Config()
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"data directory {directory} not found; pass --data DIR with prices.csv inside")
    roles = config.roles
    files: dict[str, str] = {}
    ppath = _find(directory, "prices", required=True)
    assert ppath is not None
    prices = _load_prices(ppath, roles)
    files[ppath.name] = _sha256(ppath)
    dates = pd.DatetimeIndex(prices.index, name="date")

    rates = None
    staleness: list[StaleSpan] = []
    rpath = _find(directory, "rates", required=False)
    if rpath is not None:
        rates, spans = _load_rates(rpath, roles, dates, config.data.max_stale_days)
        staleness += spans
        files[rpath.name] = _sha256(rpath)

    closes = caps = sectors = None
    cpath = _find(directory, "constituents", required=False)
    if cpath is not None and panel:
        closes, caps, sectors, spans = _load_constituents(cpath, dates)
        staleness += spans
    if cpath is not None:
        files[cpath.name] = _sha256(cpath)

    log.info("loaded %s: %d days %s..%s", directory, len(dates), dates[0].date(), dates[-1].date())
    data = MarketData(prices, rates, closes, caps, roles, files, directory, sectors,
                      tuple(sorted(staleness, key=lambda s: (s.first, s.file, s.column or ""))),
                      panel_file=None if cpath is None or panel else cpath.name)
    for line in data.stale_inputs():
        log.info("stale input: %s", line)
    return data


def load_panel(data: MarketData) -> MarketData:
    """``data`` as loaded with ``panel=False``, now with its constituents read: what ``load_data`` gives, without
    reading and hashing the other files again. Data that has its panel (or none) is returned as it is."""
    if data.panel_file is None:
        return data
    closes, caps, sectors, spans = _load_constituents(Path(data.source) / data.panel_file, data.dates)
    return replace(data, closes=closes, caps=caps, sectors=sectors, panel_file=None,
                   staleness=tuple(sorted(data.staleness + tuple(spans),
                                          key=lambda s: (s.first, s.file, s.column or ""))))


def parse_day(value: str | pd.Timestamp, option: str = "--asof") -> pd.Timestamp:
    """A day given on the command line or to the API, or a one-line DataError naming the option."""
    try:
        return pd.Timestamp(value)
    except (ValueError, TypeError):
        raise DataError(f"{option} {value!r} is not a date; write it as YYYY-MM-DD") from None


def snap_asof(dates: pd.DatetimeIndex, asof: str | pd.Timestamp, outside: str) -> pd.Timestamp:
    """The last day of ``dates`` on or before ``asof``: a weekend or holiday means the trading day before it.

    Parameters
    ----------
    dates : DatetimeIndex
        Sorted trading days (the data's, or the days that have probabilities).
    asof : str or Timestamp
        The requested day (``YYYY-MM-DD``).
    outside : str
        The one-line message when ``asof`` is before the first or after the last day; ``{day}``, ``{first}``
        and ``{last}`` are filled in.

    Raises
    ------
    DataError
        ``asof`` is not a date, or is outside ``dates``.
    """
    req = parse_day(asof)
    first, last = dates[0], dates[-1]
    if req < first or req > last:
        raise DataError(outside.format(day=req.date(), first=first.date(), last=last.date()))
    return dates[dates <= req][-1]


def write_table(df: pd.DataFrame | Iterable[pd.DataFrame], path: Path) -> None:
    """Write a frame with a ``date`` index as CSV or Parquet (by suffix), atomically.

    ``df`` may also be an iterable of frames, consecutive blocks of rows of one table (same columns): they
    are written one after another, so the whole table is never in memory. The file is the one their
    concatenation would give (CSV byte for byte; Parquet with a row group per block).
    """
    blocks = iter([df] if isinstance(df, pd.DataFrame) else df)
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            if isinstance(df, pd.DataFrame):
                df.reset_index().to_parquet(tmp, index=False)
                return
            writer = None
            try:
                for block in blocks:
                    if writer is None:
                        table = pa.Table.from_pandas(block.reset_index(), preserve_index=False)
                        writer = pq.ParquetWriter(tmp, table.schema)
                    else:  # the first block's types: a block whose labels are all blank has no type of its own
                        table = pa.Table.from_pandas(block.reset_index(), schema=writer.schema, preserve_index=False)
                    writer.write_table(table)
            finally:
                if writer is not None:
                    writer.close()
        else:
            with open(tmp, "w", newline="", encoding="utf-8") as fh:
                for i, block in enumerate(blocks):
                    block.reset_index().to_csv(fh, index=False, header=i == 0, date_format="%Y-%m-%d",
                                               float_format="%.10g")

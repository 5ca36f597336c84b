"""Daily data from the internet: ETFs and indices from Yahoo Finance, rates from FRED, kept up to date.

:func:`fetch` writes a data directory that follows the data contract (README "Data contract"):

- ``prices.csv``: a ``date`` column, then one column of adjusted closes per ticker, from Yahoo Finance through
  yfinance (``auto_adjust=True``: the ``Close`` is split- and dividend-adjusted), on the union of the
  tickers' trading days; a ticker is blank before its first day;
- ``rates.csv``: a ``date`` column, then one column per FRED series in percent, each on its own calendar
  (blank where FRED publishes a blank, e.g. on holidays), from the month before the first price day; read
  from FRED's keyless CSV download (:data:`FRED_CSV_URL`) with the standard library;
- ``source.json``: the manifest: which ticker or series feeds which column, the sources, when they were
  fetched and each file's last date, so :func:`update` knows what to fetch again;
- ``config.yaml``: the roles (``configs/etf.yaml`` is the model) filled in from the column names and symbols
  (:data:`ROLE_HINTS`); edit it if a guess is wrong.

:func:`update` appends the days published since each column's last value. It fetches the last
``overlap_days`` values of every column again and compares them with the file:

- an adjusted-close history whose first overlap day moved (a dividend or split re-based every earlier
  close by a factor) is fetched again in full, with a warning naming the ticker;
- any other changed value (a revised FRED observation, a price that had been published before the close)
  is replaced and logged with its date, old and new value.

Nothing is rewritten when nothing changed, so a second update changes no byte (nor any modification time).
Everything is fetched before anything is written, and the changed files are written side by side and moved
into place together (:func:`regime._io.staged_directory`), so a failed fetch or update leaves the
previous files whole.

Failures are one line naming the source, the ticker or series and what to do (:class:`DataError`): no
network, an unknown ticker or series, a rate limit that outlasts the retries (HTTP 429 from FRED,
``YFRateLimitError`` from yfinance: retried with exponential backoff, see :class:`Sources`). A column that
ends well before the others (more than ``data.max_stale_days`` calendar days) is a warning: the data
contract's staleness rules then apply to it.

yfinance is an optional dependency (``pip install 'regime[online]'``), imported only when a ticker is
fetched.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import yaml

from ._io import atomic_write_json, atomic_write_text, staged_directory
from ._version import __version__
from .config import PRICE_ROLES, RATE_ROLES, DataConfig
from .data import _check_dates, _numeric, parse_dates, parse_day, read_table, write_table
from .errors import ConfigError, DataError
from .importers import parse_fred_csv
from .importers._csv import _check_names, check_output_dir

__all__ = [
    "FRED_CSV_URL",
    "PRESETS",
    "ROLE_HINTS",
    "ColumnInfo",
    "Preset",
    "FetchResult",
    "FileUpdate",
    "Revision",
    "Sources",
    "UpdateResult",
    "assign_roles",
    "fetch",
    "fetch_fred",
    "fetch_yahoo",
    "parse_pairs",
    "resolve",
    "update",
]

log = logging.getLogger(__name__)

#: FRED's keyless CSV download; ``?id=<SERIES>`` (and ``cosd``/``coed`` for the first and last day).
FRED_CSV_URL = "https://fred.stlouisfed.org/graph/fredgraph.csv"
MANIFEST = "source.json"
CONFIG = "config.yaml"
PRICES = "prices.csv"
RATES = "rates.csv"
YAHOO = "yahoo"
FRED = "fred"
_SOURCE_NAMES = {YAHOO: "Yahoo Finance", FRED: "FRED"}
_FORMAT = 1
#: Relative move of an overlap close beyond which it counts as changed (the files keep 10 digits).
REBASE_TOL = 1e-6
#: Absolute change of an overlap rate (percent) beyond which it counts as revised.
RATE_TOL = 1e-9
#: Rates are kept from this many calendar days before the first price day, so it aligns as of a value.
RATES_LEAD_DAYS = 31


@dataclass(frozen=True)
class Preset:
    """A named set of tickers (column -> Yahoo symbol) and FRED series (column -> series ID)."""

    tickers: Mapping[str, str]
    series: Mapping[str, str]
    description: str = ""


#: ``us``: the ETFs and FRED series of ``configs/etf.yaml``, with IJH (S&P 400) as the mid cap.
PRESETS: dict[str, Preset] = {
    "us": Preset(
        tickers={t: t for t in ("SPY", "RSP", "QQQ", "IJH", "IJR", "IWM")},
        series={s: s for s in ("DFF", "DGS2", "DGS10", "BAA10Y")},
        description="SPY, RSP, QQQ, IJH, IJR, IWM from Yahoo Finance; DFF, DGS2, DGS10, BAA10Y from FRED",
    ),
}

#: Which column fills each role: the role's default column name first, then known symbols (any case).
ROLE_HINTS: dict[str, tuple[str, ...]] = {
    "large_cap": ("spx", "SPY", "^GSPC", "^SP500TR", "IVV", "VOO"),
    "equal_weight": ("spx_ew", "RSP", "^SPXEW"),
    "mega_cap": ("ndx", "QQQ", "^NDX", "QQQM"),
    "mid_cap": ("mid", "IJH", "MDY", "^SP400", "^MID"),
    "small_cap": ("sml", "IJR", "^SP600"),
    "small_cap_2": ("rut", "IWM", "^RUT"),
    "policy_rate": ("fed_funds", "DFF", "EFFR", "FEDFUNDS"),
    "yield_2y": ("ust_2y", "DGS2"),
    "yield_10y": ("ust_10y", "DGS10"),
    "credit_spread": ("baa_spread", "BAA10Y"),
}

T = TypeVar("T")
Progress = Callable[[str], None]


# ----------------------------------------------------------------------------------------- sources
@dataclass(frozen=True)
class Sources:
    """Where the data comes from and how hard to try.

    Attributes
    ----------
    fred_url : str
        FRED's CSV download (default: the environment variable ``REGIME_FRED_URL`` when set, e.g. a mirror or
        a proxy, else FRED's own address); tests point it at a local server.
    attempts : int
        Tries per request when the source rate-limits (HTTP 429 or 5xx from FRED, ``YFRateLimitError``).
    backoff : float
        Seconds before the second try; each later wait doubles (a ``Retry-After`` header, up to
        ``max_wait``, can lengthen it).
    max_wait : float
        Longest single wait, in seconds.
    timeout : float
        Seconds to wait for an answer.
    sleep : callable
        How to wait (``time.sleep``); tests pass a recorder.
    """

    fred_url: str = field(default_factory=lambda: os.environ.get("REGIME_FRED_URL") or FRED_CSV_URL)
    attempts: int = 4
    backoff: float = 2.0
    max_wait: float = 60.0
    timeout: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts must be at least 1, not {self.attempts}")
        if self.backoff < 0 or self.max_wait < 0 or self.timeout <= 0:
            raise ValueError("backoff and max_wait must be >= 0 and timeout > 0")


class _Throttled(Exception):
    """The source asked us to slow down (or is briefly unavailable): worth another try."""

    def __init__(self, what: str, retry_after: float | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.retry_after = retry_after


def _with_retries(call: Callable[[], T], sources: Sources, advice: str) -> T:
    """``call()``, tried again after an exponential backoff while it raises :class:`_Throttled`; then a
    one-line :class:`DataError` saying how often it was refused, ending in ``advice``."""
    waited = 0.0
    for attempt in range(1, sources.attempts + 1):
        try:
            return call()
        except _Throttled as exc:
            if attempt == sources.attempts:
                raise DataError(f"{exc.what} {attempt} times in a row ({waited:g} s of backoff); {advice}") from None
            delay = sources.backoff * 2 ** (attempt - 1)
            if exc.retry_after is not None:
                delay = max(delay, exc.retry_after)
            delay = min(delay, sources.max_wait)
            log.info("%s; trying again in %g s (attempt %d of %d)", exc.what, delay, attempt + 1, sources.attempts)
            sources.sleep(delay)
            waited += delay
    raise AssertionError("unreachable")  # pragma: no cover


def _first_line(exc: BaseException, width: int = 160) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else ""
    return f"{type(exc).__name__}: {line[:width]}" if line else type(exc).__name__


def _span(lo: pd.Timestamp | None, hi: pd.Timestamp | None) -> str:
    return f"{lo.date() if lo is not None else '...'}..{hi.date() if hi is not None else 'today'}"


# ----------------------------------------------------------------------------------------- FRED
def fetch_fred(series_id: str, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None,
               sources: Sources | None = None) -> pd.Series:
    """One FRED series from its keyless CSV download, as published.

    Parameters
    ----------
    series_id : str
        The FRED series ID, e.g. ``DGS10``.
    start, end : Timestamp, optional
        First and last day to keep (both inclusive); default: the whole series.
    sources : Sources, optional
        The URL, retries and timeout.

    Returns
    -------
    Series
        Percent values (NaN where FRED publishes a blank or ``.``), DatetimeIndex ``date``, named
        ``series_id``.

    Raises
    ------
    DataError
        FRED cannot be reached, does not know the series, keeps rate-limiting, or sends no values.
    """
    sources = sources or Sources()
    query = {"id": series_id}
    if start is not None:
        query["cosd"] = f"{start.date()}"
    if end is not None:
        query["coed"] = f"{end.date()}"
    url = f"{sources.fred_url}?{urllib.parse.urlencode(query)}"
    name = f"FRED series {series_id}"

    def get() -> str:
        request = urllib.request.Request(url, headers={"User-Agent": f"regime/{__version__}"})
        try:
            with urllib.request.urlopen(request, timeout=sources.timeout) as response:
                return response.read().decode("utf-8-sig")
        except urllib.error.HTTPError as exc:
            if exc.code == 429 or exc.code >= 500:
                after = exc.headers.get("Retry-After") if exc.headers is not None else None
                wait = float(after) if after is not None and after.strip().isdigit() else None
                raise _Throttled(f"FRED answered HTTP {exc.code} for series {series_id}", wait) from None
            if exc.code in (400, 404):
                raise DataError(
                    f"FRED has no series '{series_id}' (HTTP {exc.code}); check the series ID on "
                    "fred.stlouisfed.org, e.g. DGS10"
                ) from None
            raise DataError(f"FRED answered HTTP {exc.code} {exc.reason} for series {series_id}; try again "
                            "later") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            raise DataError(
                f"could not reach FRED for series {series_id} at {sources.fred_url} ({reason}); check the network "
                "connection (or proxy) and try again"
            ) from None

    text = _with_retries(get, sources, "FRED is rate-limiting or busy: wait a few minutes and try again")
    if text.lstrip().startswith("<"):
        raise DataError(f"FRED sent a web page, not a CSV, for series '{series_id}'; check the series ID on "
                        "fred.stlouisfed.org, e.g. DGS10")
    try:
        s = parse_fred_csv(io.StringIO(text), name)
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise DataError(f"{name}: FRED's answer is not a CSV ({_first_line(exc)}); try again later") from None
    s = s.loc[start:end]
    if s.notna().sum() == 0:
        raise DataError(f"{name} has no values in {_span(start, end)}; check the series ID and the dates")
    log.info("%s: %d rows %s..%s", name, len(s), s.index[0].date(), s.index[-1].date())
    return s.rename(series_id)


# ----------------------------------------------------------------------------------------- Yahoo
def _yfinance() -> Any:
    try:
        import yfinance
    except ImportError:
        raise DataError("fetching from Yahoo Finance needs yfinance: pip install 'regime[online]'") from None
    return yfinance


@contextmanager
def _raising(yf: Any) -> Iterator[dict[str, Any]]:
    """yfinance raising its errors instead of logging them and returning an empty frame.

    yfinance >= 0.2.60 reads ``yf.config.debug.hide_exceptions`` (set for the block and restored); older
    versions take ``raise_errors=True`` (yielded as a keyword to pass to ``history``).
    """
    debug = getattr(getattr(yf, "config", None), "debug", None)
    if debug is None:
        yield {"raise_errors": True}
        return
    old = debug.hide_exceptions
    debug.hide_exceptions = False
    try:
        yield {}
    finally:
        debug.hide_exceptions = old


@contextmanager
def _quiet_yfinance() -> Iterator[None]:
    """yfinance's own deprecation warnings (e.g. pandas' ``inplace``) are not the user's to act on."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=r"yfinance(\.|$)")
        yield


def _close_column(frame: pd.DataFrame, symbol: str) -> pd.Series:
    """The adjusted close of a frame as yfinance returns it (one level, or download's MultiIndex)."""
    cols = frame.columns
    if isinstance(cols, pd.MultiIndex):
        level = next((i for i in range(cols.nlevels) if {"Close", "Adj Close"} & set(cols.get_level_values(i))),
                     None)
        if level is None:
            return pd.Series(dtype=float)
        others = [i for i in range(cols.nlevels) if i != level]
        for i in others:  # download's Ticker level: keep this symbol's columns
            values = set(cols.get_level_values(i))
            if symbol in values or symbol.upper() in values:
                frame = frame.xs(symbol if symbol in values else symbol.upper(), axis=1, level=i, drop_level=False)
        frame = frame.droplevel(others, axis=1) if others else frame
        frame = frame.loc[:, ~frame.columns.duplicated()]
    for name in ("Adj Close", "Close"):
        if name in frame.columns:
            return pd.to_numeric(frame[name], errors="coerce")
    return pd.Series(dtype=float)


def fetch_yahoo(symbol: str, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None,
                sources: Sources | None = None) -> pd.Series:
    """Daily adjusted closes of one ticker from Yahoo Finance (yfinance ``Ticker.history``).

    Parameters
    ----------
    symbol : str
        The Yahoo symbol, e.g. ``SPY`` or ``^GSPC``.
    start, end : Timestamp, optional
        First and last day (both inclusive); default: the whole history up to today.
    sources : Sources, optional
        The retries and timeout.

    Returns
    -------
    Series
        Split- and dividend-adjusted closes (``auto_adjust=True``), DatetimeIndex ``date`` (the exchange's
        trading days), named ``symbol``.

    Raises
    ------
    DataError
        yfinance is not installed, Yahoo cannot be reached, keeps rate-limiting, has no prices for the symbol
        in the window, or sends a non-positive close.
    """
    sources = sources or Sources()
    yf = _yfinance()
    exceptions = getattr(yf, "exceptions", None)
    rate_limit = getattr(exceptions, "YFRateLimitError", None)
    missing = getattr(exceptions, "YFTickerMissingError", None) or getattr(exceptions, "YFPricesMissingError", None)
    window: dict[str, Any] = {"start": f"{start.date()}"} if start is not None else {"period": "max"}
    if end is not None:  # yfinance's end is exclusive
        window["end"] = f"{(end + pd.Timedelta(days=1)).date()}"
    no_prices = (f"Yahoo Finance has no daily prices for ticker '{symbol}' in {_span(start, end)}; check the symbol "
                 "on finance.yahoo.com (indices start with ^, e.g. ^GSPC) and the dates")

    def get() -> pd.DataFrame:
        try:
            with _raising(yf) as extra, _quiet_yfinance():
                return yf.Ticker(symbol).history(interval="1d", auto_adjust=True, actions=False,
                                                 timeout=sources.timeout, **window, **extra)
        except Exception as exc:
            if rate_limit is not None and isinstance(exc, rate_limit):
                raise _Throttled(f"Yahoo Finance rate-limited the download of {symbol}") from None
            if missing is not None and isinstance(exc, missing):
                raise DataError(f"{no_prices} ({_first_line(exc)})") from None
            raise DataError(
                f"could not download {symbol} from Yahoo Finance ({_first_line(exc)}); check the network "
                "connection and try again"
            ) from None

    frame = _with_retries(get, sources, "wait a few minutes (Yahoo's limit is per address) and try again")
    if frame is None or frame.empty:
        raise DataError(no_prices)
    close = _close_column(frame, symbol)
    if close.empty:
        raise DataError(f"Yahoo Finance sent no Close column for '{symbol}' (columns: "
                        f"{', '.join(map(str, frame.columns[:8]))}); update yfinance: pip install -U yfinance")
    close.index = parse_dates(pd.Series(close.index), f"Yahoo Finance {symbol}")
    close = close.dropna()
    close = close[~close.index.duplicated(keep="last")].sort_index().loc[start:end]
    if close.empty:
        raise DataError(no_prices)
    bad = close <= 0
    if bad.any():
        day = close.index[bad.to_numpy()][0]
        raise DataError(f"Yahoo Finance sent a non-positive close {close[day]:g} for {symbol} on {day.date()}; "
                        "fetch again later or leave the ticker out")
    log.info("Yahoo Finance %s: %d days %s..%s", symbol, len(close), close.index[0].date(), close.index[-1].date())
    return close.rename(symbol).astype(float)


# ----------------------------------------------------------------------------------------- what to fetch
def parse_pairs(values: Sequence[str] | None, option: str) -> dict[str, str]:
    """``TICKER`` or ``COLUMN=TICKER`` values (as given to ``--ticker`` / ``--fred``): column -> symbol.

    Raises
    ------
    ConfigError
        An empty column or symbol, or a column given twice; the message names ``option``.
    """
    pairs: dict[str, str] = {}
    for raw in values or []:
        key, sep, symbol = raw.partition("=")
        key, symbol = key.strip(), symbol.strip()
        if not sep:
            symbol = key
        if not key or not symbol:
            raise ConfigError(f"{option} {raw!r} is not TICKER or COLUMN=TICKER; write it as e.g. {option} SPY or "
                              f"{option} spx=^GSPC")
        if key in pairs:
            raise ConfigError(f"{option}: column '{key}' is given twice; give each column once")
        pairs[key] = symbol
    return pairs


def resolve(preset: str | None, tickers: Mapping[str, str] | None,
            series: Mapping[str, str] | None) -> tuple[dict[str, str], dict[str, str]]:
    """The tickers and FRED series to fetch, column -> symbol.

    With neither ``tickers`` nor ``series``, the preset (default ``us``); with them, they add to the preset
    if one is named (a column they name replaces the preset's), or stand alone.

    Raises
    ------
    ConfigError
        An unknown preset, no ticker at all, or a name that cannot be a column name.
    """
    if preset is None and not tickers and not series:
        preset = "us"
    base = Preset({}, {})
    if preset is not None:
        if preset not in PRESETS:
            raise ConfigError(f"unknown preset '{preset}'; presets: {', '.join(PRESETS)}")
        base = PRESETS[preset]
    prices = {**base.tickers, **(tickers or {})}
    rates = {**base.series, **(series or {})}
    if not prices:
        raise ConfigError("no ticker to fetch: prices.csv needs at least one; add --ticker SPY or --preset us")
    _check_names(prices, "price")
    _check_names(rates, "rate")
    return prices, rates


def assign_roles(prices: Mapping[str, str], rates: Mapping[str, str]) -> dict[str, str | None]:
    """Each role's column, from :data:`ROLE_HINTS`: a column named after the role's default column, or fed by
    a known symbol; None when no column fits. ``large_cap`` falls back to the first price column."""
    roles: dict[str, str | None] = {}
    used: set[tuple[str, str]] = set()
    for group, cols in ((PRICE_ROLES, prices), (RATE_ROLES, rates)):
        kind = "prices" if group is PRICE_ROLES else "rates"
        for role in group:
            pick = None
            for hint in ROLE_HINTS[role]:
                pick = next((c for c, sym in cols.items() if (kind, c) not in used
                             and hint.lower() in (c.lower(), sym.lower())), None)
                if pick is not None:
                    break
            if pick is not None:
                used.add((kind, pick))
            roles[role] = pick
    if roles["large_cap"] is None:
        first = next(iter(prices))
        log.warning("no price column is a known cap-weighted index (%s), so roles.large_cap is '%s'; edit the "
                    "config if that is wrong", ", ".join(ROLE_HINTS["large_cap"][1:]), first)
        roles["large_cap"] = first
    return roles


def _edited_config(path: Path, manifest: Path, text: str) -> bool:
    """Whether ``path`` holds a config someone edited: it differs from ``text`` and from what the last fetch
    into ``manifest``'s directory wrote (its SHA-256 in ``config_sha256``). Such a file is never overwritten."""
    if not path.is_file():
        return False
    current = path.read_bytes()
    if current == text.encode():
        return False
    try:
        recorded = json.loads(manifest.read_text()).get("config_sha256")
    except (OSError, ValueError, AttributeError):
        recorded = None
    return recorded != hashlib.sha256(current).hexdigest()


def _config_text(roles: Mapping[str, str | None], out: Path) -> str:
    head = (f"# Roles for the data in {out}, written by regime data fetch ({MANIFEST} there says which ticker or\n"
            "# FRED series feeds each column). Set a role to null to switch it off; large_cap is required.\n")
    return head + yaml.safe_dump({"roles": dict(roles)}, sort_keys=False, default_flow_style=False)


# ----------------------------------------------------------------------------------------- results
def _day(ts: pd.Timestamp | None) -> str | None:
    return None if ts is None or pd.isna(ts) else str(pd.Timestamp(ts).date())


@dataclass(frozen=True)
class ColumnInfo:
    """One fetched column: its file, where it comes from and what it covers."""

    file: str
    column: str
    source: str
    symbol: str
    first: str
    last: str
    values: int

    def __post_init__(self) -> None:
        if self.source not in _SOURCE_NAMES or self.values < 1 or self.first > self.last:
            raise ValueError(f"inconsistent column info {self}")


@dataclass(frozen=True)
class FetchResult:
    """What :func:`fetch` wrote.

    Attributes
    ----------
    out : Path
        The data directory.
    config : Path
        The YAML config with the roles.
    start, end : str
        The first and last price day.
    days : int
        Rows of ``prices.csv``.
    columns : tuple of ColumnInfo
        Every column of ``prices.csv`` then ``rates.csv``.
    roles : dict
        Role -> column (None: switched off), as written to the config.
    warnings : tuple of str
        Columns that end early, and a config kept because it was edited, one line each.
    written : tuple of str
        The files written.
    """

    out: Path
    config: Path
    start: str
    end: str
    days: int
    columns: tuple[ColumnInfo, ...]
    roles: dict[str, str | None]
    warnings: tuple[str, ...] = ()
    written: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.days < 1 or not self.columns or self.start > self.end:
            raise ValueError("a fetch writes at least one price day and one column")
        if self.roles.get("large_cap") is None:
            raise ValueError("roles.large_cap is required")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: paths as strings."""
        return {
            "out": str(self.out), "config": str(self.config), "start": self.start, "end": self.end,
            "days": self.days, "columns": [vars(c) for c in self.columns], "roles": dict(self.roles),
            "warnings": list(self.warnings), "written": list(self.written),
        }


@dataclass(frozen=True)
class Revision:
    """A value the source changed since it was written: ``old`` -> ``new`` (None: blank)."""

    column: str
    date: str
    old: float | None
    new: float | None

    def __str__(self) -> str:
        def fmt(v: float | None) -> str:
            return "blank" if v is None else f"{v:.10g}"

        return f"{self.date} {fmt(self.old)} -> {fmt(self.new)}"


@dataclass(frozen=True)
class FileUpdate:
    """What :func:`update` did to one file.

    Attributes
    ----------
    file : str
        ``prices.csv`` or ``rates.csv``.
    rows_added : int
        New dates.
    filled : int
        Blank cells of existing rows that now have a value (a column that lagged the others).
    revisions : tuple of Revision
        Changed values in the overlap, replaced.
    refetched : tuple of str
        Tickers whose adjusted history was re-based (dividend or split) and fetched again in full.
    last_before, last_after : str
        The file's last date before and after.
    """

    file: str
    rows_added: int
    filled: int
    revisions: tuple[Revision, ...]
    refetched: tuple[str, ...]
    last_before: str
    last_after: str

    def __post_init__(self) -> None:
        if self.rows_added < 0 or self.filled < 0 or self.last_after < self.last_before:
            raise ValueError(f"inconsistent update of {self.file}")

    @property
    def changed(self) -> bool:
        """Whether the file was rewritten."""
        return bool(self.rows_added or self.filled or self.revisions or self.refetched)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "file": self.file, "rows_added": self.rows_added, "filled": self.filled,
            "revisions": [vars(r) for r in self.revisions], "refetched": list(self.refetched),
            "last_before": self.last_before, "last_after": self.last_after, "changed": self.changed,
        }


@dataclass(frozen=True)
class UpdateResult:
    """What :func:`update` did: one :class:`FileUpdate` per data file, warnings and the files written."""

    data_dir: Path
    files: tuple[FileUpdate, ...]
    warnings: tuple[str, ...] = ()
    written: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if bool(self.written) != any(f.changed for f in self.files):
            raise ValueError("files are written exactly when one changed")

    @property
    def changed(self) -> bool:
        """Whether anything was written."""
        return bool(self.written)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"data_dir": str(self.data_dir), "changed": self.changed, "files": [f.to_dict() for f in self.files],
                "warnings": list(self.warnings), "written": list(self.written)}


# ----------------------------------------------------------------------------------------- fetch
def _fetch_column(kind: str, symbol: str, start: pd.Timestamp | None, end: pd.Timestamp | None,
                  sources: Sources, say: Progress) -> pd.Series:
    say(f"{symbol} from {_SOURCE_NAMES[kind]}" + (f" from {start.date()}" if start is not None else ""))
    return (fetch_yahoo if kind == YAHOO else fetch_fred)(symbol, start, end, sources)


def _early_ends(tables: Mapping[str, tuple[pd.DataFrame, str, Mapping[str, str]]],
                end: pd.Timestamp | None) -> list[str]:
    """One warning per column whose last value is more than ``data.max_stale_days`` before the latest one's."""
    limit = DataConfig().max_stale_days
    lasts = {(file, col): (table[col].last_valid_index(), kind, cols[col])
             for file, (table, kind, cols) in tables.items() for col in table.columns}
    known = [v[0] for v in lasts.values() if v[0] is not None]
    if not known:
        return []
    ref = max(known)
    if end is not None:
        ref = max(ref, min(end, pd.Timestamp.today().normalize()))
    lines = []
    for (file, col), (last, kind, symbol) in lasts.items():
        if last is None or (ref - last).days <= limit:
            continue
        line = (f"{file} column '{col}' ({_SOURCE_NAMES[kind]} {symbol}) ends {last.date()}, {(ref - last).days} "
                f"calendar days before the latest data ({ref.date()}): more than data.max_stale_days = {limit}, so "
                "its later days count as stale (no label); update again later, or drop the column or its role")
        log.warning("%s", line)
        lines.append(line)
    return lines


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _file_entry(kind: str, columns: Mapping[str, str], table: pd.DataFrame, sources: Sources) -> dict[str, Any]:
    entry: dict[str, Any] = {"source": kind}
    if kind == YAHOO:
        entry["what"] = "Yahoo Finance daily Close with auto_adjust=True (split- and dividend-adjusted), via yfinance"
    else:
        entry["what"] = "FRED daily series in percent, as published (keyless CSV download)"
        entry["url"] = sources.fred_url
    entry["columns"] = dict(columns)
    entry["first"] = _day(table.index[0])
    entry["last"] = _day(table.index[-1])
    entry["rows"] = int(len(table))
    return entry


def fetch(out: str | Path, *, preset: str | None = None, tickers: Mapping[str, str] | None = None,
          series: Mapping[str, str] | None = None, start: str | pd.Timestamp | None = None,
          end: str | pd.Timestamp | None = None, config_out: str | Path | None = None,
          sources: Sources | None = None, progress: Progress | None = None) -> FetchResult:
    """Download tickers and FRED series into a data directory that follows the data contract.

    Parameters
    ----------
    out : str or Path
        The data directory to write: ``prices.csv``, ``rates.csv`` (when there are series), ``source.json``
        and, unless ``config_out`` is given, ``config.yaml``. An existing directory is changed only on success.
    preset : str, optional
        A name from :data:`PRESETS`; default ``us`` when neither ``tickers`` nor ``series`` is given.
    tickers, series : mapping, optional
        Column -> Yahoo symbol, column -> FRED series ID (see :func:`parse_pairs`); they add to a named preset.
    start, end : date, optional
        First and last price day (inclusive); default: each ticker's whole history up to today. Rates keep the
        month before the first price day too.
    config_out : str or Path, optional
        Where to write the YAML config with the roles instead of ``out/config.yaml``.
    sources : Sources, optional
        FRED's URL, retries, timeout.
    progress : callable, optional
        Receives one message per download.

    Returns
    -------
    FetchResult

    Raises
    ------
    DataError
        A download failed (see the module docstring), no price day lies between ``start`` and ``end``, or
        ``out`` holds data files this fetch would not replace.
    ConfigError
        An unknown preset or a name that cannot be a column name.
    """
    out = Path(out)
    sources = sources or Sources()
    say = progress or (lambda _msg: None)
    lo = None if start is None else parse_day(start, "--start")
    hi = None if end is None else parse_day(end, "--end")
    if lo is not None and hi is not None and lo > hi:
        raise DataError(f"--start {lo.date()} is after --end {hi.date()}; swap them")
    prices_map, rates_map = resolve(preset, tickers, series)
    data_files = [PRICES] + ([RATES] if rates_map else [])
    check_output_dir(out, data_files, "this fetch")

    prices = pd.concat({c: _fetch_column(YAHOO, s, lo, hi, sources, say) for c, s in prices_map.items()},
                       axis=1, sort=True)
    prices = prices.dropna(how="all").loc[lo:hi]
    prices.index.name = "date"
    if prices.empty:
        raise DataError(f"no price day lies in {_span(lo, hi)}; check --start and --end")
    rates = None
    if rates_map:
        rlo = (lo if lo is not None else prices.index[0]) - pd.Timedelta(days=RATES_LEAD_DAYS)
        rates = pd.concat({c: _fetch_column(FRED, s, rlo, hi, sources, say) for c, s in rates_map.items()},
                          axis=1, sort=True)
        rates = rates.loc[prices.index[0] - pd.Timedelta(days=RATES_LEAD_DAYS):hi]
        rates.index.name = "date"

    tables = {PRICES: (prices, YAHOO, prices_map)}
    if rates is not None:
        tables[RATES] = (rates, FRED, rates_map)
    notes = _early_ends(tables, hi)
    roles = assign_roles(prices_map, rates_map)
    config_path = Path(config_out) if config_out is not None else out / CONFIG
    text = _config_text(roles, out)
    target = config_path  # where the roles go: beside an edited config, never over it
    if _edited_config(config_path, out / MANIFEST, text):
        target = config_path.with_name(f"{config_path.stem}.fetched{config_path.suffix}")
        notes.append(f"kept {config_path}: it was edited since regime data fetch wrote it; the roles this fetch "
                     f"found are in {target}, so merge what you need")
        log.warning("%s", notes[-1])
    manifest = {
        "format": _FORMAT, "written_by": f"regime {__version__}", "fetched": _now(), "updated": None,
        "start": _day(lo), "end": _day(hi), "config": str(config_path) if config_out is not None else CONFIG,
        "config_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "files": {file: _file_entry(kind, cols, table, sources) for file, (table, kind, cols) in tables.items()},
    }
    say(f"writing {out}")
    inside = config_out is None  # the config moves in with the data files
    with staged_directory(out) as staged:
        for file, (table, _kind, _cols) in tables.items():
            write_table(table, staged / file)
        atomic_write_json(staged / MANIFEST, manifest)
        if inside:
            atomic_write_text(staged / target.name, text)
    if not inside:
        atomic_write_text(target, text)
    columns = tuple(
        ColumnInfo(file=file, column=col, source=kind, symbol=cols[col], first=_day(s.first_valid_index()) or "",
                   last=_day(s.last_valid_index()) or "", values=int(s.notna().sum()))
        for file, (table, kind, cols) in tables.items() for col, s in table.items()
    )
    written = tuple(data_files + [MANIFEST] + ([target.name] if config_out is None else [str(target)]))
    log.info("wrote %s: %s", out, ", ".join(written))
    return FetchResult(out=out, config=config_path, start=_day(prices.index[0]) or "",
                       end=_day(prices.index[-1]) or "", days=int(len(prices)), columns=columns, roles=roles,
                       warnings=tuple(notes), written=written)


# ----------------------------------------------------------------------------------------- update
def _read_manifest(data_dir: Path) -> dict[str, Any]:
    path = data_dir / MANIFEST
    if not data_dir.is_dir():
        raise DataError(f"data directory {data_dir} not found; write it first with regime data fetch")
    if not path.is_file():
        raise DataError(f"{path} not found, so {data_dir} was not written by regime data fetch and update cannot "
                        "know what to fetch; write it with regime data fetch")
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"{path} is not readable JSON ({_first_line(exc)}); write the directory again with "
                        "regime data fetch") from None
    files = doc.get("files") if isinstance(doc, dict) else None
    ok = (isinstance(files, dict) and PRICES in files and all(
        isinstance(e, dict) and e.get("source") in _SOURCE_NAMES and isinstance(e.get("columns"), dict)
        and e["columns"] and all(isinstance(v, str) for v in e["columns"].values()) for e in files.values()))
    if not ok or doc.get("format") != _FORMAT:
        raise DataError(f"{path} does not describe the data files (format {_FORMAT}: files -> source, columns); "
                        "write the directory again with regime data fetch")
    return doc


def _read_data(path: Path, columns: Mapping[str, str]) -> pd.DataFrame:
    name = path.name
    if not path.is_file():
        raise DataError(f"{path} not found though {MANIFEST} lists it; write the directory again with regime data "
                        "fetch")
    df = _check_dates(read_table(path), name)
    if list(df.columns) != list(columns):
        raise DataError(f"{name} has columns {', '.join(df.columns)} but {MANIFEST} lists {', '.join(columns)}; "
                        "write the directory again with regime data fetch (update keeps them in step)")
    df = _numeric(df, name, list(df.columns))
    df.index.name = "date"
    return df


def _same(a: np.ndarray, b: np.ndarray, kind: str) -> np.ndarray:
    """Elementwise: equal within the kind's tolerance, or both blank."""
    if kind == YAHOO:
        close = np.isclose(b, a, rtol=REBASE_TOL, atol=0.0)
    else:
        close = np.isclose(b, a, rtol=0.0, atol=RATE_TOL)
    return close | (np.isnan(a) & np.isnan(b))


def _update_table(old: pd.DataFrame, file: str, kind: str, columns: Mapping[str, str], end: pd.Timestamp | None,
                  overlap: int, sources: Sources, say: Progress) -> tuple[pd.DataFrame, FileUpdate]:
    """The file with the new days, filled blanks and revisions, or re-based histories fetched again."""
    new = old.copy()
    filled = 0
    revisions: list[Revision] = []
    refetched: list[str] = []
    source = _SOURCE_NAMES[kind]
    for col, symbol in columns.items():
        have = old[col].dropna()
        begin = have.index[max(0, len(have) - overlap)] if len(have) else old.index[0]
        got = _fetch_column(kind, symbol, begin, end, sources, say)
        shared = got.index.intersection(old.index)
        before, after = old.loc[shared, col].to_numpy(), got.loc[shared].to_numpy()
        same = _same(before, after, kind)
        blank = np.isnan(before) & ~np.isnan(after)
        moved = ~same & ~blank
        known = ~np.isnan(before)
        first = int(np.flatnonzero(known)[0]) if known.any() else None
        if kind == YAHOO and first is not None and moved[first]:
            # the first overlap close moved, so every close before it moved too: a dividend or split re-based
            # the adjusted history (a change confined to later days is a revision, replaced below)
            ratio = after[known] / before[known]
            log.warning(
                "%s column '%s' (%s %s): the adjusted closes of the %d overlap days from %s differ from the file "
                "by a factor of about %.6g (a dividend or split re-based the history); fetched it again in full "
                "from %s", file, col, source, symbol, len(ratio), shared[first].date(),
                float(np.median(ratio)), old.index[0].date())
            got = _fetch_column(kind, symbol, old.index[0], end, sources, say)
            new = new.reindex(new.index.union(got.index))
            new[col] = got.reindex(new.index)
            refetched.append(symbol)
            continue
        changed = [Revision(col, _day(d) or "", None if np.isnan(a) else float(a), None if np.isnan(b) else float(b))
                   for d, a, b in zip(shared[moved], before[moved], after[moved], strict=True)]
        if changed:
            shown = "; ".join(map(str, changed[:5])) + (f"; and {len(changed) - 5} more" if len(changed) > 5 else "")
            log.warning("%s column '%s' (%s %s): %s revised %d value(s) since it was written; replaced: %s",
                        file, col, source, symbol, source, len(changed), shown)
        revisions += changed
        filled += int(blank.sum())
        fresh = got.index.difference(old.index)
        update_at = shared[moved | blank].append(fresh)
        if len(fresh):
            new = new.reindex(new.index.union(fresh))
        if len(update_at):
            new.loc[update_at, col] = got.loc[update_at].to_numpy()
    new.index.name = "date"
    if kind == YAHOO:
        new = new.dropna(how="all")
    result = FileUpdate(file=file, rows_added=int(len(new.index.difference(old.index))), filled=filled,
                        revisions=tuple(revisions), refetched=tuple(refetched), last_before=_day(old.index[-1]) or "",
                        last_after=_day(new.index[-1]) or "")
    return new, result


def update(data_dir: str | Path, *, end: str | pd.Timestamp | None = None, overlap_days: int = 10,
           sources: Sources | None = None, progress: Progress | None = None) -> UpdateResult:
    """Append the days published since a fetched data directory was written, and apply revisions.

    Parameters
    ----------
    data_dir : str or Path
        A directory written by :func:`fetch` (its ``source.json`` says what to fetch).
    end : date, optional
        Last day to fetch (inclusive); default: up to today.
    overlap_days : int
        How many of each column's last values to fetch again and compare (see the module docstring).
    sources : Sources, optional
        FRED's URL, retries, timeout.
    progress : callable, optional
        Receives one message per download.

    Returns
    -------
    UpdateResult
        Per file: rows added, blanks filled, revisions, tickers fetched again in full, the new last date.

    Raises
    ------
    DataError
        No or a broken manifest, files that no longer match it, ``end`` before the data's last day, or a
        failed download; nothing is written then.
    """
    data_dir = Path(data_dir)
    sources = sources or Sources()
    say = progress or (lambda _msg: None)
    if overlap_days < 1:
        raise ConfigError(f"overlap_days must be at least 1, not {overlap_days}")
    hi = None if end is None else parse_day(end, "--end")
    manifest = _read_manifest(data_dir)
    entries: dict[str, dict[str, Any]] = manifest["files"]
    olds = {file: _read_data(data_dir / file, entry["columns"]) for file, entry in entries.items()}
    if hi is not None and hi < olds[PRICES].index[-1]:
        raise DataError(f"--end {hi.date()} is before the last day of {data_dir / PRICES} "
                        f"({olds[PRICES].index[-1].date()}); update only appends, so pick a later --end or none")
    tables: dict[str, tuple[pd.DataFrame, str, Mapping[str, str]]] = {}
    files: list[FileUpdate] = []
    for file, entry in entries.items():
        new, done = _update_table(olds[file], file, entry["source"], entry["columns"], hi, overlap_days, sources, say)
        tables[file] = (new, entry["source"], entry["columns"])
        files.append(done)
    notes = _early_ends(tables, hi)
    changed = [f.file for f in files if f.changed]
    if not changed:
        log.info("%s is up to date; nothing written", data_dir)
        return UpdateResult(data_dir=data_dir, files=tuple(files), warnings=tuple(notes))
    manifest["updated"] = _now()
    manifest["end"] = _day(hi)
    for file in changed:
        table, kind, cols = tables[file]
        manifest["files"][file] = {**entries[file], **_file_entry(kind, cols, table, sources)}
    say(f"writing {', '.join(changed)}")
    with staged_directory(data_dir) as staged:
        for file in changed:
            write_table(tables[file][0], staged / file)
        atomic_write_json(staged / MANIFEST, manifest)
    written = tuple(changed + [MANIFEST])
    log.info("updated %s: %s", data_dir, ", ".join(written))
    return UpdateResult(data_dir=data_dir, files=tuple(files), warnings=tuple(notes), written=written)

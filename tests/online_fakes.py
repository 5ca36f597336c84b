"""Recorded responses for the online fetchers: a local FRED server and a fake Yahoo Finance, with no network.

FRED is a local HTTP server on 127.0.0.1 serving the real FRED files as published (and able to answer 429,
cut a series or revise a value); Yahoo Finance is ``yfinance.Ticker`` replaced at the library boundary by a
fake whose ``history`` returns the real ETF files shaped as yfinance returns them (tz-aware ``Date`` index,
Open/High/Low/Close/Volume, ``Close`` adjusted; an empty frame for an unknown ticker). A socket guard refuses
every connection that is not to 127.0.0.1, so a slip cannot reach the network.

Test modules import the fixtures they use from here (``tests/test_online.py``, ``tests/test_daily.py``).
"""

from __future__ import annotations

import socket
import threading
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest

from regime import service
from regime.importers import read_price_file
from regime.online import Sources

from .conftest import REAL_DATA

ETF = REAL_DATA / "etf"
FRED_DIR = REAL_DATA / "fred"
real = pytest.mark.skipif(not (ETF.is_dir() and FRED_DIR.is_dir()),
                          reason="../shared/data/real (etf/, fred/) is not beside the project")
FRED_FILES = {"DGS10": "DGS10.csv", "DGS2": "DGS2.csv", "DFF": "DFF_1994_2026.csv", "BAA10Y": "BAA10Y.csv"}
NY = "America/New_York"
LOCAL = ("127.0.0.1", "localhost", "::1")


# ----------------------------------------------------------------------------------------- no network
@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Refuse any connection or name lookup that is not the local machine."""
    connect, lookup = socket.socket.connect, socket.getaddrinfo

    def guarded_connect(self, address):
        if isinstance(address, tuple) and address[0] not in LOCAL:
            raise OSError(f"test guard: no network ({address[0]})")
        return connect(self, address)

    def guarded_lookup(host, *args, **kwargs):
        if host not in LOCAL:
            raise OSError(f"test guard: no network ({host})")
        return lookup(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_lookup)


# ----------------------------------------------------------------------------------------- FRED server
class FredState:
    """What the local FRED answers: 429s left per series, cut dates, revised values; the requests seen."""

    def __init__(self) -> None:
        self.throttle: dict[str, int] = {}
        self.cut: dict[str, str] = {}
        self.revise: dict[tuple[str, str], str] = {}
        self.requests: list[dict[str, str]] = []


@cache
def fred_lines(series_id: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The header and (date, line) rows of a real FRED file, as published."""
    header, *rows = (FRED_DIR / FRED_FILES[series_id]).read_text().splitlines()
    return header, tuple((row.split(",", 1)[0], row) for row in rows if row)


@pytest.fixture(scope="module")
def fred_server():
    state = {"now": FredState()}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            fred = state["now"]
            query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
            fred.requests.append(query)
            sid = query.get("id", "")
            if fred.throttle.get(sid, 0) > 0:
                fred.throttle[sid] -= 1
                return self._send(429, "Too Many Requests")
            if sid not in FRED_FILES:
                return self._send(404, "<html><body>Series not found</body></html>", "text/html")
            header, rows = fred_lines(sid)
            lo, hi = query.get("cosd", "0000"), min(query.get("coed", "9999"), fred.cut.get(sid, "9999"))
            body = [header]
            for day, line in rows:
                if lo <= day <= hi:
                    body.append(f"{day},{fred.revise[sid, day]}" if (sid, day) in fred.revise else line)
            return self._send(200, "\n".join(body) + "\n", "text/csv")

        def _send(self, code, text, kind="text/plain"):
            data = text.encode()
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/graph/fredgraph.csv"
    server.shutdown()
    server.server_close()


@pytest.fixture
def fred(fred_server):
    """A fresh FRED state for each test."""
    state, _url = fred_server
    state["now"] = FredState()
    return state["now"]


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def sources(fred_server, sleeps):
    return Sources(fred_url=fred_server[1], backoff=1.0, sleep=sleeps.append)


# ----------------------------------------------------------------------------------------- Yahoo fake
@cache
def etf_frame(symbol: str) -> pd.DataFrame:
    """A real ETF file shaped as ``yfinance.Ticker(symbol).history(auto_adjust=True, actions=False)``."""
    close = read_price_file(ETF / f"{symbol}.csv")
    index = pd.DatetimeIndex(close.index).tz_localize(NY)
    frame = pd.DataFrame({"Open": close.to_numpy(), "High": close.to_numpy() * 1.01, "Low": close.to_numpy() * 0.99,
                          "Close": close.to_numpy(), "Volume": 1_000_000}, index=index)
    frame.index.name = "Date"
    return frame


class FakeYahoo:
    """``yfinance.Ticker`` for the tests: real ETF histories, errors to raise, re-based histories."""

    KNOWN = ("SPY", "RSP", "QQQ", "IJH", "IJR", "IWM")

    def __init__(self) -> None:
        self.errors: dict[str, list[BaseException]] = {}  # raised once each, in order
        self.forever: dict[str, BaseException] = {}  # raised at every call
        self.rebase: dict[str, tuple[str, float]] = {}
        self.patch: dict[tuple[str, str], float] = {}
        self.calls: list[tuple[str, str | None, str | None]] = []

    def Ticker(self, symbol):  # noqa: N802 - yfinance's name
        return FakeTicker(self, symbol)


class FakeTicker:
    def __init__(self, yahoo: FakeYahoo, symbol: str) -> None:
        self.yahoo, self.symbol = yahoo, symbol

    def history(self, period="1mo", interval="1d", start=None, end=None, auto_adjust=True, actions=True,
                timeout=10, **kwargs):
        yahoo = self.yahoo
        assert interval == "1d" and auto_adjust and not actions
        yahoo.calls.append((self.symbol, start, end))
        if yahoo.errors.get(self.symbol):
            raise yahoo.errors[self.symbol].pop(0)
        if self.symbol in yahoo.forever:
            raise yahoo.forever[self.symbol]
        if self.symbol not in FakeYahoo.KNOWN:  # what yfinance returns for an unknown ticker
            empty = pd.DataFrame({c: [] for c in ("Open", "High", "Low", "Close", "Adj Close", "Volume")},
                                 index=pd.DatetimeIndex([], name="Date"))
            return empty
        frame = etf_frame(self.symbol).copy()
        if self.symbol in yahoo.rebase:  # a dividend on `day`: every adjusted close before it scaled
            day, factor = yahoo.rebase[self.symbol]
            before = frame.index < pd.Timestamp(day, tz=NY)
            frame.loc[before, ["Open", "High", "Low", "Close"]] *= factor
        for (sym, day), value in yahoo.patch.items():
            if sym == self.symbol:
                frame.loc[pd.Timestamp(day, tz=NY), "Close"] = value
        if start is not None:
            frame = frame[frame.index >= pd.Timestamp(start, tz=NY)]
        if end is not None:  # exclusive, as in yfinance
            frame = frame[frame.index < pd.Timestamp(end, tz=NY)]
        return frame


@pytest.fixture
def yahoo(monkeypatch):
    yfinance = pytest.importorskip("yfinance")
    fake = FakeYahoo()
    monkeypatch.setattr(yfinance, "Ticker", fake.Ticker)
    return fake


# ----------------------------------------------------------------------------------------- helpers
def state(directory: Path) -> dict[str, tuple[bytes, int]]:
    """Every file's bytes and modification time."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(directory.iterdir())}


def fetch(out: Path, sources: Sources, start="2010-01-01", end="2012-06-30", **kw):
    return service.fetch_data(out, start=start, end=end, sources=sources, **kw)


def real_close(symbol: str, lo: str, hi: str) -> pd.Series:
    return read_price_file(ETF / f"{symbol}.csv").loc[lo:hi]


@pytest.fixture
def fetched(tmp_path, fred, yahoo, sources) -> Path:
    """The us preset fetched for 2010-01-01 .. 2012-06-30."""
    out = tmp_path / "data"
    fetch(out, sources)
    return out

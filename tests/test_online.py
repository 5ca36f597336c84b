"""Online data (``regime data fetch`` / ``update``) without the network.

FRED is a local HTTP server on 127.0.0.1 serving the real FRED files as published (and able to answer 429,
cut a series or revise a value); Yahoo Finance is ``yfinance.Ticker`` replaced at the library boundary by a
fake whose ``history`` returns the real ETF files shaped as yfinance returns them (tz-aware ``Date`` index,
Open/High/Low/Close/Volume, ``Close`` adjusted; an empty frame for an unknown ticker). A socket guard refuses
every connection that is not to 127.0.0.1, so a slip cannot reach the network.
"""

from __future__ import annotations

import json
import logging
import socket
import sys

import numpy as np
import pandas as pd
import pytest

from regime import service
from regime.config import load_config
from regime.data import load_data
from regime.errors import ConfigError, DataError
from regime.online import (
    PRESETS,
    Revision,
    Sources,
    _close_column,
    assign_roles,
    parse_pairs,
    resolve,
)

from .online_fakes import (  # noqa: F401  (fixtures)
    ETF, NY, fetch, fetched, fred, fred_server, no_network, real, real_close, sleeps, sources, state, yahoo,
)

# ----------------------------------------------------------------------------------------- fetch
@real
def test_fetch_us_preset_writes_a_loadable_directory(tmp_path, fred, yahoo, sources):
    messages: list[str] = []
    out = tmp_path / "data"
    result = fetch(out, sources, progress=messages.append)
    assert sorted(p.name for p in out.iterdir()) == ["config.yaml", "prices.csv", "rates.csv", "source.json"]
    cfg = load_config(out / "config.yaml")
    assert cfg.roles.model_dump() == {
        "large_cap": "SPY", "equal_weight": "RSP", "mega_cap": "QQQ", "mid_cap": "IJH", "small_cap": "IJR",
        "small_cap_2": "IWM", "policy_rate": "DFF", "yield_2y": "DGS2", "yield_10y": "DGS10",
        "credit_spread": "BAA10Y"}
    data = load_data(out, cfg)
    spy = real_close("SPY", "2010-01-01", "2012-06-30")
    assert data.dates.equals(pd.DatetimeIndex(spy.index, name="date"))
    assert (data.dates[0], data.dates[-1]) == (pd.Timestamp("2010-01-04"), pd.Timestamp("2012-06-29"))
    np.testing.assert_allclose(data.prices["SPY"], spy, rtol=1e-9)
    assert list(data.prices.columns) == list(PRESETS["us"].tickers)
    assert data.stale_inputs() == []
    raw_rates = pd.read_csv(out / "rates.csv", index_col="date", parse_dates=True)
    assert list(raw_rates.columns) == ["DFF", "DGS2", "DGS10", "BAA10Y"]
    assert raw_rates.index[0] == pd.Timestamp("2009-12-04")  # a month before the first price day
    assert raw_rates.loc["2012-06-29", "DGS10"] == 1.67  # as published in DGS10.csv
    assert np.isnan(raw_rates.loc["2012-05-28", "DGS10"])  # Memorial Day: blank, as published
    manifest = json.loads((out / "source.json").read_text())
    assert manifest["files"]["prices.csv"]["columns"] == {t: t for t in PRESETS["us"].tickers}
    assert manifest["files"]["rates.csv"]["source"] == "fred" and manifest["files"]["prices.csv"]["last"] == "2012-06-29"
    assert (result.start, result.end, result.days, result.warnings) == ("2010-01-04", "2012-06-29", len(spy), ())
    assert [c.symbol for c in result.columns] == list(PRESETS["us"].tickers) + list(PRESETS["us"].series)
    json.dumps(result.to_dict())
    assert any("SPY from Yahoo Finance" in m for m in messages) and any("DGS10 from FRED" in m for m in messages)
    assert all(q["cosd"] == "2009-12-01" and q["coed"] == "2012-06-30" for q in fred.requests)
    assert ("SPY", "2010-01-01", "2012-07-01") in yahoo.calls  # yfinance's end is exclusive


@real
def test_named_tickers_and_series_columns_and_roles(tmp_path, fred, yahoo, sources):
    cfg_path = tmp_path / "roles.yaml"
    result = fetch(tmp_path / "d", sources, start="2012-01-01", tickers=parse_pairs(["spx=SPY", "IWM"], "--ticker"),
                   series=parse_pairs(["ust_10y=DGS10"], "--fred"), config_out=cfg_path)
    assert result.roles["large_cap"] == "spx" and result.roles["small_cap_2"] == "IWM"
    assert result.roles["yield_10y"] == "ust_10y" and result.roles["policy_rate"] is None
    assert not (tmp_path / "d" / "config.yaml").exists()
    data = load_data(tmp_path / "d", load_config(cfg_path))
    assert list(data.prices.columns) == ["spx", "IWM"] and list(data.rates.columns) == ["ust_10y"]


@real
def test_failed_fetch_leaves_an_existing_directory_and_writes_no_new_one(fetched, tmp_path, yahoo, sources):
    before = state(fetched)
    yahoo.forever["IWM"] = ConnectionError("Failed to perform, curl: (7) Failed to connect")
    with pytest.raises(DataError, match="could not download IWM from Yahoo Finance"):
        fetch(fetched, sources, end="2012-12-31")
    assert state(fetched) == before
    with pytest.raises(DataError):
        fetch(tmp_path / "new", sources)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # no new directory, no staging left behind


# ----------------------------------------------------------------------------------------- update
@real
def test_update_appends_the_new_days_and_a_second_update_changes_nothing(fetched, tmp_path, fred, sources):
    result = service.update_data(fetched, end="2012-12-31", sources=sources)
    new_days = real_close("SPY", "2012-07-01", "2012-12-31")
    prices = result.files[0]
    assert (prices.file, prices.rows_added, prices.last_before, prices.last_after) == (
        "prices.csv", len(new_days), "2012-06-29", "2012-12-31")
    assert prices.revisions == () and prices.refetched == () and result.written == (
        "prices.csv", "rates.csv", "source.json")
    # appending equals fetching the longer window at once
    direct = tmp_path / "direct"
    fetch(direct, sources, end="2012-12-31")
    for name in ("prices.csv", "rates.csv"):
        assert (fetched / name).read_bytes() == (direct / name).read_bytes(), name
    manifest = json.loads((fetched / "source.json").read_text())
    assert manifest["files"]["prices.csv"]["last"] == "2012-12-31" and manifest["updated"]
    # the overlap: each column's last 10 values fetched again
    assert {q["id"]: q["cosd"] for q in fred.requests[-8:-4]}["DGS10"] == "2012-06-18"
    before = state(fetched)
    again = service.update_data(fetched, end="2012-12-31", sources=sources)
    assert not again.changed and again.written == () and all(f.rows_added == 0 for f in again.files)
    assert state(fetched) == before  # bytes and modification times
    json.dumps(again.to_dict())


@real
def test_a_revised_fred_value_is_replaced_and_logged(fetched, fred, sources, caplog):
    old = pd.read_csv(fetched / "rates.csv", index_col="date").loc["2012-06-28", "DGS10"]
    fred.revise["DGS10", "2012-06-28"] = "1.99"
    with caplog.at_level(logging.WARNING, logger="regime.online"):
        result = service.update_data(fetched, end="2012-06-30", sources=sources)
    rates = result.files[1]
    assert rates.revisions == (Revision("DGS10", "2012-06-28", float(old), 1.99),) and rates.rows_added == 0
    assert f"2012-06-28 {old:g} -> 1.99" in caplog.text and "DGS10" in caplog.text
    assert pd.read_csv(fetched / "rates.csv", index_col="date").loc["2012-06-28", "DGS10"] == 1.99
    assert result.files[0].changed is False and result.written == ("rates.csv", "source.json")


@real
def test_a_dividend_rebase_refetches_the_ticker_in_full(fetched, yahoo, sources, caplog):
    yahoo.rebase["SPY"] = ("2012-09-21", 0.99)
    with caplog.at_level(logging.WARNING, logger="regime.online"):
        result = service.update_data(fetched, end="2012-12-31", sources=sources)
    assert result.files[0].refetched == ("SPY",)
    assert "SPY" in caplog.text and "re-based" in caplog.text and "0.99" in caplog.text
    prices = pd.read_csv(fetched / "prices.csv", index_col="date", parse_dates=True)
    full = real_close("SPY", "2010-01-01", "2012-12-31")
    scaled = full.where(full.index >= "2012-09-21", full * 0.99)
    np.testing.assert_allclose(prices["SPY"], scaled, rtol=1e-9)
    np.testing.assert_allclose(prices["QQQ"], real_close("QQQ", "2010-01-01", "2012-12-31"), rtol=1e-9)
    assert [c for c in yahoo.calls if c[0] == "SPY"][-1][1] == "2010-01-04"  # from the first day


@real
def test_a_changed_last_close_is_a_revision_not_a_rebase(fetched, yahoo, sources):
    yahoo.patch["SPY", "2012-06-29"] = 200.0
    result = service.update_data(fetched, end="2012-06-30", sources=sources)
    prices = result.files[0]
    assert prices.refetched == () and [(r.column, r.date, r.new) for r in prices.revisions] == [
        ("SPY", "2012-06-29", 200.0)]


@real
@pytest.mark.parametrize("fail", ["yahoo", "fred"])
def test_an_interrupted_update_leaves_every_file_as_it_was(fetched, tmp_path, yahoo, fred, sources, fail):
    before = state(fetched)
    if fail == "yahoo":  # the second ticker fails after the first was fetched
        yahoo.errors["RSP"] = [ConnectionError("Connection reset by peer")]
    else:  # prices fetched, then the second FRED series fails
        fred.throttle["DGS2"] = 99
    with pytest.raises(DataError):
        service.update_data(fetched, end="2012-12-31", sources=sources)
    assert state(fetched) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


@real
def test_update_refuses_what_it_cannot_do(fetched, tmp_path, sources):
    with pytest.raises(DataError, match="update only appends"):
        service.update_data(fetched, end="2012-01-31", sources=sources)
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "prices.csv").write_text("date,spx\n2020-01-02,1\n")
    with pytest.raises(DataError, match="source.json not found"):
        service.update_data(plain, sources=sources)
    (fetched / "source.json").write_text("{")
    with pytest.raises(DataError, match="not readable JSON"):
        service.update_data(fetched, sources=sources)


# ----------------------------------------------------------------------------------------- failures
def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


@real
def test_no_network_is_one_line_naming_the_source(tmp_path, yahoo, sleeps):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    closed = probe.getsockname()[1]
    probe.close()
    offline = Sources(fred_url=f"http://127.0.0.1:{closed}/fredgraph.csv", sleep=sleeps.append)
    with pytest.raises(DataError) as exc:
        fetch(tmp_path / "d", offline)
    assert "could not reach FRED for series DFF" in one_line(exc) and "check the network" in str(exc.value)
    yahoo.errors["SPY"] = [ConnectionError("Failed to perform, curl: (6) Could not resolve host: query2.finance"
                                           ".yahoo.com\nmore")]
    with pytest.raises(DataError) as exc:
        fetch(tmp_path / "d", offline)
    assert "could not download SPY from Yahoo Finance (ConnectionError: Failed" in one_line(exc)
    assert sleeps == [] and not (tmp_path / "d").exists()


@real
def test_unknown_ticker_or_series_is_one_line_naming_it(tmp_path, fred, yahoo, sources):
    with pytest.raises(DataError) as exc:
        fetch(tmp_path / "d", sources, tickers={"XX": "NOSUCHTICKER"}, series={})
    assert "no daily prices for ticker 'NOSUCHTICKER'" in one_line(exc)
    with pytest.raises(DataError) as exc:
        fetch(tmp_path / "d", sources, tickers={"SPY": "SPY"}, series={"x": "NOSUCHSERIES"})
    assert "FRED has no series 'NOSUCHSERIES' (HTTP 404)" in one_line(exc)
    yfinance = pytest.importorskip("yfinance")
    yahoo.errors["QQQ"] = [yfinance.exceptions.YFTzMissingError("QQQ")]  # what yfinance raises when told to
    with pytest.raises(DataError, match="no daily prices for ticker 'QQQ'"):
        fetch(tmp_path / "d", sources)


@real
def test_fred_429_is_retried_with_backoff_then_succeeds_or_fails_in_one_line(tmp_path, fred, yahoo, sources, sleeps):
    fred.throttle["DGS2"] = 2
    fetch(tmp_path / "ok", sources)
    assert sleeps == [1.0, 2.0]
    sleeps.clear()
    fred.throttle["DGS2"] = 99
    with pytest.raises(DataError) as exc:
        fetch(tmp_path / "bad", sources)
    assert "FRED answered HTTP 429 for series DGS2 4 times in a row" in one_line(exc)
    assert sleeps == [1.0, 2.0, 4.0] and not (tmp_path / "bad").exists()


@real
def test_yahoo_rate_limit_is_retried_then_fails_in_one_line(tmp_path, fred, yahoo, sources, sleeps):
    yfinance = pytest.importorskip("yfinance")
    limited = yfinance.exceptions.YFRateLimitError
    yahoo.errors["QQQ"] = [limited(), limited()]  # twice, then the history
    fetch(tmp_path / "ok", sources)
    assert sleeps == [1.0, 2.0]
    sleeps.clear()
    yahoo.forever["QQQ"] = limited()
    with pytest.raises(DataError) as exc:
        fetch(tmp_path / "bad", sources)
    assert "Yahoo Finance rate-limited the download of QQQ 4 times in a row" in one_line(exc)
    assert sleeps == [1.0, 2.0, 4.0]


@real
def test_a_series_that_ends_early_is_a_warning_naming_it(tmp_path, fred, yahoo, sources, caplog):
    fred.cut["BAA10Y"] = "2012-03-30"
    with caplog.at_level(logging.WARNING, logger="regime.online"):
        result = fetch(tmp_path / "d", sources)
    assert len(result.warnings) == 1 and "BAA10Y" in result.warnings[0] and "2012-03-30" in result.warnings[0]
    assert "BAA10Y" in caplog.text
    data = load_data(tmp_path / "d", load_config(tmp_path / "d" / "config.yaml"))
    assert any("BAA10Y" in line for line in data.stale_inputs())  # the data contract's staleness applies


# ----------------------------------------------------------------------------------------- pieces
def test_missing_yfinance_is_one_line_saying_what_to_install(tmp_path, monkeypatch, sources):
    monkeypatch.setitem(sys.modules, "yfinance", None)
    with pytest.raises(DataError, match=r"pip install 'regime\[online\]'"):
        fetch(tmp_path / "d", sources)
    assert not (tmp_path / "d").exists()


def test_pairs_presets_and_roles():
    assert parse_pairs(["SPY", "spx=^GSPC", " ndx = ^NDX "], "--ticker") == {"SPY": "SPY", "spx": "^GSPC",
                                                                            "ndx": "^NDX"}
    for bad in ("=SPY", "spx=", ""):
        with pytest.raises(ConfigError, match="--ticker"):
            parse_pairs([bad], "--ticker")
    with pytest.raises(ConfigError, match="given twice"):
        parse_pairs(["SPY", "SPY=SPY"], "--ticker")
    assert resolve(None, None, None) == (dict(PRESETS["us"].tickers), dict(PRESETS["us"].series))
    assert resolve(None, {"spx": "^GSPC"}, None) == ({"spx": "^GSPC"}, {})
    assert resolve("us", {"SPY": "VOO"}, None)[0]["SPY"] == "VOO"
    with pytest.raises(ConfigError, match="unknown preset 'eu'"):
        resolve("eu", None, None)
    with pytest.raises(ConfigError, match="no ticker"):
        resolve(None, None, {"DGS10": "DGS10"})
    with pytest.raises(ConfigError, match="cannot be a column name"):
        resolve(None, {"a b": "SPY"}, None)
    roles = assign_roles({"x": "^GSPC", "MDY": "MDY", "small": "^RUT"}, {"fed_funds": "EFFR"})
    assert (roles["large_cap"], roles["mid_cap"], roles["small_cap"], roles["small_cap_2"]) == ("x", "MDY", None, "small")
    assert roles["policy_rate"] == "fed_funds" and roles["yield_10y"] is None
    assert assign_roles({"gold": "GLD"}, {})["large_cap"] == "gold"  # the first column, with a warning


def test_close_column_reads_each_yfinance_shape():
    days = pd.DatetimeIndex(["2020-01-02", "2020-01-03"], name="Date").tz_localize(NY)
    cols = pd.MultiIndex.from_product([["Close", "Open"], ["SPY", "QQQ"]], names=["Price", "Ticker"])
    download = pd.DataFrame(np.arange(8.0).reshape(2, 4) + 1, index=days, columns=cols)
    assert _close_column(download, "QQQ").tolist() == [2.0, 6.0]
    adj = pd.DataFrame({"Close": [1.0, 2.0], "Adj Close": [0.5, 1.0]}, index=days)
    assert _close_column(adj, "SPY").tolist() == [0.5, 1.0]
    assert _close_column(pd.DataFrame({"Open": [1.0]}), "SPY").empty


def test_real_yfinance_with_its_http_layer_replaced(monkeypatch, sleeps):
    """The real ``Ticker.history`` on canned Yahoo answers: adjusted closes, and each failure as one line."""
    yfinance = pytest.importorskip("yfinance")
    yd = pytest.importorskip("yfinance.data")
    ycache = pytest.importorskip("yfinance.cache")
    if not all(hasattr(x, a) for x, a in ((yd.YfData, "get"), (yd.YfData, "cache_get"), (ycache, "get_tz_cache"))):
        pytest.skip("this yfinance fetches differently")
    from regime.online import fetch_yahoo

    class NoCache:
        def lookup(self, key):
            return None

        def store(self, key, value):
            pass

    days = pd.DatetimeIndex(["2012-06-27 13:30", "2012-06-28 13:30", "2012-06-29 13:30"]).tz_localize("UTC")
    stamps = [int(d.timestamp()) for d in days]
    period = {"timezone": "EDT", "start": stamps[-1], "end": stamps[-1], "gmtoffset": -14400}
    meta = {"currency": "USD", "symbol": "SPY", "instrumentType": "ETF", "exchangeTimezoneName": NY,
            "regularMarketTime": stamps[-1], "gmtoffset": -14400, "timezone": "EDT", "priceHint": 2,
            "dataGranularity": "1d", "validRanges": ["1d", "5d", "1mo", "max"],
            "currentTradingPeriod": {"pre": period, "regular": period, "post": period}}
    quote = {"open": [133.0, 134.0, 135.0], "high": [134.0, 135.0, 137.0], "low": [132.0, 133.0, 134.0],
             "close": [133.5, 134.5, 136.1], "volume": [1, 2, 3]}
    good = {"chart": {"result": [{"meta": meta, "timestamp": stamps, "indicators": {
        "quote": [quote], "adjclose": [{"adjclose": [120.0, 121.0, 122.5]}]}}], "error": None}}
    unknown = {"chart": {"result": None, "error": {"code": "Not Found", "description": "symbol may be delisted"}}}
    answer = {"now": good}

    class Response:
        status_code = 200

        def __init__(self, payload):
            self.payload, self.text = payload, json.dumps(payload)

        def json(self):
            return self.payload

        def raise_for_status(self):
            pass

    def get(self, url, params=None, timeout=30, **kwargs):
        if isinstance(answer["now"], BaseException):
            raise answer["now"]
        return Response(answer["now"])

    monkeypatch.setattr(yd.YfData, "get", get)
    monkeypatch.setattr(yd.YfData, "cache_get", get)
    monkeypatch.setattr(ycache, "get_tz_cache", NoCache)
    src = Sources(backoff=1.0, sleep=sleeps.append, attempts=2)
    lo, hi = pd.Timestamp("2012-06-27"), pd.Timestamp("2012-06-29")
    close = fetch_yahoo("SPY", lo, hi, src)
    assert close.tolist() == [120.0, 121.0, 122.5] and list(close.index.strftime("%Y-%m-%d")) == [
        "2012-06-27", "2012-06-28", "2012-06-29"]
    answer["now"] = unknown
    with pytest.raises(DataError, match="no daily prices for ticker 'NOPE1'"):
        fetch_yahoo("NOPE1", lo, hi, src)
    answer["now"] = ConnectionError("Failed to perform, curl: (6) Could not resolve host")
    with pytest.raises(DataError, match="could not download NOPE2 from Yahoo Finance"):
        fetch_yahoo("NOPE2", lo, hi, src)
    answer["now"] = yfinance.exceptions.YFRateLimitError()
    with pytest.raises(DataError, match="rate-limited the download of NOPE3 2 times"):
        fetch_yahoo("NOPE3", lo, hi, src)
    assert sleeps == [1.0] and yfinance.config.debug.hide_exceptions is True  # restored


@real
def test_render_shows_fetch_and_update(tmp_path, fred, yahoo, sources, capsys):
    from regime import render

    result = fetch(tmp_path / "d", sources)
    render.show_fetch(result, as_json=False)
    text = capsys.readouterr().out
    assert "prices.SPY" in text and "FRED DGS10" in text and "large_cap=SPY" in text
    render.show_fetch(result, as_json=True)
    assert json.loads(capsys.readouterr().out)["roles"]["mid_cap"] == "IJH"
    update = service.update_data(tmp_path / "d", end="2012-07-31", sources=sources)
    render.show_update(update, as_json=False)
    text = capsys.readouterr().out
    assert "prices.csv: 21 new rows; last day 2012-06-29 -> 2012-07-31" in text and "wrote prices.csv" in text
    render.show_update(update, as_json=True)
    assert json.loads(capsys.readouterr().out)["files"][0]["rows_added"] == 21


@real
def test_fetching_again_keeps_an_edited_config(tmp_path, fred, yahoo, sources, caplog):
    """A config the user edited is never overwritten: the fetched roles go beside it, with a warning. One that only
    fetch wrote is replaced, so a fetch with other tickers keeps its roles in step."""
    out = tmp_path / "data"
    fetch(out, sources)
    cfg = out / "config.yaml"
    fetch(out, sources, tickers=parse_pairs(["spx=SPY"], "--ticker"),  # unedited: replaced by the new roles
          series=parse_pairs(["DFF", "DGS2", "DGS10", "BAA10Y"], "--fred"))
    assert load_config(cfg).roles.large_cap == "spx" and not (out / "config.fetched.yaml").exists()
    edited = cfg.read_text() + "label:\n  min_days: 8\n"
    cfg.write_text(edited)
    result = fetch(out, sources)
    assert cfg.read_text() == edited  # kept, byte for byte
    assert load_config(out / "config.fetched.yaml").roles.large_cap == "SPY"
    assert any("kept" in w and "config.fetched.yaml" in w for w in result.warnings)
    assert "config.fetched.yaml" in result.written and "config.yaml" not in result.written
    assert "was edited since regime data fetch wrote it" in caplog.text
    result = fetch(out, sources)  # still edited: still kept
    assert cfg.read_text() == edited and result.warnings

"""The data contract: every bad input gets a one-line error naming the file, column or date."""

import logging

import numpy as np
import pandas as pd
import pytest

from regime.config import Config, RolesConfig
from regime.data import StaleSpan, align_asof, load_data
from regime.errors import DataError

from .conftest import blank_rates, cut_constituents, fast_config, read_csv


def _write(df: pd.DataFrame, path) -> None:
    df.to_csv(path, index=False)


def test_loads_contract_directory(data, market):
    assert data.prices.index.name == "date"
    assert list(data.prices.columns) == list(market.prices.columns)
    assert data.closes.shape[1] == 120
    assert data.rates is not None and data.rates.index.equals(data.prices.index)


def test_missing_data_directory(tmp_path):
    with pytest.raises(DataError, match=r"data directory .*absent not found"):
        load_data(tmp_path / "absent")


def test_missing_prices_file(copy_dir):
    d = copy_dir(files=("rates.csv",))
    with pytest.raises(DataError, match=r"prices.csv not found \(nor prices.parquet\)"):
        load_data(d)


def test_empty_file(copy_dir):
    d = copy_dir()
    (d / "prices.csv").write_text("")
    with pytest.raises(DataError, match=r"^prices.csv is empty"):
        load_data(d)


def test_header_only_file(copy_dir):
    d = copy_dir()
    (d / "prices.csv").write_text("date,spx,spx_ew,ndx,mid,sml,rut\n")
    with pytest.raises(DataError, match=r"prices.csv is empty \(a header but no rows\)"):
        load_data(d)


def test_no_date_column(copy_dir):
    d = copy_dir()
    df = read_csv(d / "prices.csv").rename(columns={"date": "Day"})
    _write(df, d / "prices.csv")
    with pytest.raises(DataError, match=r"prices.csv has no 'date' column \(columns: Day"):
        load_data(d)


def test_unparseable_date(copy_dir):
    d = copy_dir()
    df = read_csv(d / "prices.csv")
    df.loc[4, "date"] = "31/31/2001x"
    _write(df, d / "prices.csv")
    with pytest.raises(DataError, match=r"prices.csv: row 6 has date '31/31/2001x' that cannot be parsed"):
        load_data(d)


def test_duplicate_dates(copy_dir):
    d = copy_dir()
    df = read_csv(d / "prices.csv")
    df.loc[10, "date"] = df.loc[9, "date"]
    _write(df, d / "prices.csv")
    with pytest.raises(DataError, match=rf"prices.csv: date {df.loc[9, 'date']} appears 2 times"):
        load_data(d)


def test_out_of_order_dates_are_sorted_with_warning(copy_dir, caplog, data):
    d = copy_dir()
    df = read_csv(d / "prices.csv")
    df = pd.concat([df.iloc[5:], df.iloc[:5]])
    _write(df, d / "prices.csv")
    with caplog.at_level(logging.WARNING, logger="regime.data"):
        loaded = load_data(d)
    assert "prices.csv: dates are out of order; sorted them" in caplog.text
    assert loaded.prices.index.is_monotonic_increasing
    pd.testing.assert_frame_equal(loaded.prices, data.prices)


def test_missing_role_column(copy_dir):
    d = copy_dir()
    df = read_csv(d / "prices.csv").drop(columns="spx_ew")
    _write(df, d / "prices.csv")
    with pytest.raises(DataError, match=r"prices.csv has no column 'spx_ew' for role equal_weight.*roles.equal_weight"):
        load_data(d)


def test_role_switched_off_is_not_required(copy_dir):
    d = copy_dir()
    _write(read_csv(d / "prices.csv").drop(columns="rut"), d / "prices.csv")
    cfg = Config(roles=RolesConfig(small_cap_2=None))
    assert "rut" not in load_data(d, cfg).prices


def test_missing_rate_role_column(copy_dir):
    d = copy_dir()
    _write(read_csv(d / "rates.csv").drop(columns="ust_2y"), d / "rates.csv")
    with pytest.raises(DataError, match=r"rates.csv has no column 'ust_2y' for role yield_2y"):
        load_data(d)


def test_non_numeric_price(copy_dir):
    d = copy_dir()
    df = read_csv(d / "prices.csv")
    df.loc[20, "spx"] = "n/a!"
    _write(df, d / "prices.csv")
    with pytest.raises(DataError, match=rf"prices.csv: column 'spx' has non-numeric value 'n/a!' on {df.loc[20, 'date']}"):
        load_data(d)


@pytest.mark.parametrize("bad", ["0", "-12.5"])
def test_non_positive_price(copy_dir, bad):
    d = copy_dir()
    df = read_csv(d / "prices.csv")
    df.loc[30, "mid"] = bad
    _write(df, d / "prices.csv")
    with pytest.raises(DataError, match=rf"prices.csv: column 'mid' has non-positive price {float(bad):g} on {df.loc[30, 'date']}"):
        load_data(d)


def test_non_positive_constituent_close(copy_dir):
    d = copy_dir()
    df = read_csv(d / "constituents.csv")
    df.loc[7, "close"] = "-1"
    _write(df, d / "constituents.csv")
    with pytest.raises(DataError, match=rf"constituents.csv: close of {df.loc[7, 'ticker']} is -1 on {df.loc[7, 'date']}"):
        load_data(d)


def test_duplicate_constituent_row(copy_dir):
    d = copy_dir()
    df = read_csv(d / "constituents.csv")
    df = pd.concat([df, df.iloc[[3]]])
    _write(df, d / "constituents.csv")
    with pytest.raises(DataError, match=rf"ticker {df.iloc[3]['ticker']} appears twice on {df.iloc[3]['date']}"):
        load_data(d)


def test_sectors_are_optional_codes_per_day(copy_dir, data, market):
    """``sector`` becomes integer codes on the price calendar; blank cells are unknown; no column, no sectors."""
    first = market.constituents.groupby("ticker")["sector"].first()
    assert (data.sectors.iloc[0].map(lambda c: sorted(first.unique())[int(c)]) == first).all()
    d = copy_dir()
    df = read_csv(d / "constituents.csv")
    df.loc[5, "sector"] = ""
    _write(df, d / "constituents.csv")
    day, tick = pd.Timestamp(df.loc[5, "date"]), df.loc[5, "ticker"]
    assert np.isnan(load_data(d).sectors.loc[day, tick])
    _write(df.drop(columns="sector"), d / "constituents.csv")
    assert load_data(d).sectors is None


def test_too_few_sectors_leave_rotation_out_with_a_warning(copy_dir, caplog):
    d = copy_dir()
    df = read_csv(d / "constituents.csv")
    df["sector"] = np.where(df.index % 2 == 0, "Tech", "")
    _write(df, d / "constituents.csv")
    with caplog.at_level(logging.WARNING):
        assert load_data(d).sectors is None
    assert "column 'sector' names 1 sector(s); sector rotation needs at least 3" in caplog.text


def test_both_csv_and_parquet(copy_dir, data):
    d = copy_dir()
    data.prices.reset_index().to_parquet(d / "prices.parquet")
    with pytest.raises(DataError, match=r"both prices.csv and prices.parquet"):
        load_data(d)


def test_parquet_equals_csv(copy_dir, data):
    d = copy_dir()
    read_csv(d / "prices.csv").to_parquet(d / "prices.parquet")  # strings, as a careless writer might
    (d / "prices.csv").unlink()
    pd.testing.assert_frame_equal(load_data(d).prices, data.prices)


def test_interior_blank_price_is_carried_forward_with_warning(copy_dir, caplog):
    d = copy_dir()
    df = read_csv(d / "prices.csv")
    df.loc[50, "sml"] = ""
    _write(df, d / "prices.csv")
    with caplog.at_level(logging.WARNING, logger="regime.data"):
        loaded = load_data(d)
    assert "column 'sml' has 1 blank prices" in caplog.text
    assert loaded.prices["sml"].iloc[50] == loaded.prices["sml"].iloc[49]


class TestAsOfAlignment:
    def test_last_value_on_or_before_never_later(self):
        rates = pd.DataFrame(
            {"r": [1.0, np.nan, 3.0, 4.0]},
            index=pd.to_datetime(["2020-01-01", "2020-01-03", "2020-01-06", "2020-01-09"]),
        )
        dates = pd.to_datetime(["2019-12-31", "2020-01-02", "2020-01-03", "2020-01-06", "2020-01-08", "2020-01-09"])
        got = align_asof(rates, pd.DatetimeIndex(dates))["r"]
        # before the first value: unknown; the blank on 01-03 keeps 1.0; 01-08 must not see 01-09's 4.0
        assert np.isnan(got.iloc[0])
        assert got.iloc[1:].tolist() == [1.0, 1.0, 3.0, 3.0, 4.0]

    def test_stale_values_become_missing(self):
        rates = pd.DataFrame({"r": [1.0]}, index=pd.to_datetime(["2020-01-01"]))
        dates = pd.DatetimeIndex(pd.to_datetime(["2020-01-10", "2020-02-10"]))
        got = align_asof(rates, dates, max_stale_days=14)["r"]
        assert got.iloc[0] == 1.0 and np.isnan(got.iloc[1])

    def test_rates_on_own_calendar_with_gaps(self, data, market):
        # synthetic rates: fed funds every calendar day, the rest on business days with blank holidays
        raw = market.rates
        assert len(raw) > len(market.prices)
        assert raw["ust_2y"].isna().sum() > 0
        day = data.dates[200]
        expected = raw["ust_2y"].loc[:day].dropna().iloc[-1]
        assert data.rates["ust_2y"].loc[day] == expected

    def test_rates_file_with_blank_cells(self, copy_dir):
        d = copy_dir()
        df = read_csv(d / "rates.csv")
        assert (df["ust_10y"] == "").any()  # FRED-style blanks survive the round trip
        loaded = load_data(d)
        assert loaded.rates["ust_10y"].iloc[-1] == pd.to_numeric(df["ust_10y"].replace("", np.nan)).dropna().iloc[-1]


class TestStaleness:
    """An input that ends before prices, or pauses for longer than allowed, is recorded and named."""

    def test_constituents_ending_early_are_recorded(self, copy_dir, data):
        d = copy_dir()
        last = cut_constituents(d, 120)
        loaded = load_data(d, fast_config())
        end = loaded.dates[-1]
        after = loaded.dates[loaded.dates > last]
        assert len(after) == 120
        assert loaded.staleness == (StaleSpan("constituents.csv", None, last, after[0], end, 120),)
        assert loaded.stale_inputs() == [
            f"constituents.csv ends {last.date()}, 120 price days before prices.csv ({end.date()}): "
            "those days get no label; update constituents.csv"
        ]
        assert loaded.stale_inputs(end=last) == [] and loaded.stale_on(last) is None
        msg = loaded.stale_on(end)
        assert f"constituents.csv has no data after {last.date()}, 120 price days earlier" in msg
        assert msg.endswith(f"update constituents.csv, or pick --asof on or before {last.date()}")
        assert data.staleness == () and data.stale_inputs() == []  # the complete market has nothing stale

    def test_rates_gap_longer_than_the_limit_is_recorded_shorter_is_not(self, copy_dir):
        d = copy_dir()
        blank_rates(d, "baa_spread", "2001-03-01", "2001-05-01")  # 61 calendar days
        blank_rates(d, "ust_2y", "2001-06-01", "2001-06-12")  # 11 calendar days: within data.max_stale_days = 14
        loaded = load_data(d, fast_config())
        (span,) = loaded.staleness
        raw = read_csv(d / "rates.csv").set_index("date")["baa_spread"]
        last_fresh = pd.Timestamp(raw[(raw != "") & (raw.index <= "2001-03-01")].index[-1])
        dates = loaded.dates
        stale = dates[(dates - last_fresh).days > 14]
        stale = stale[stale < pd.Timestamp("2001-05-01")]
        assert (span.file, span.column, span.last_fresh) == ("rates.csv", "baa_spread", last_fresh)
        assert (span.first, span.last, span.days) == (stale[0], stale[-1], len(stale))
        assert span.resumes == pd.Timestamp("2001-05-01") and span.max_stale_days == 14
        # the aligned rates are missing exactly on the recorded days
        missing = loaded.rates["baa_spread"].isna()
        assert missing[missing].index.equals(stale)
        (line,) = loaded.stale_inputs()
        assert line.startswith(f"rates.csv column 'baa_spread' has no data from {last_fresh.date()} to 2001-05-01")
        assert f"the {len(stale)} price days {stale[0].date()}..{stale[-1].date()} get no label" in line
        assert loaded.stale_on(stale[0]).startswith(
            f"on {stale[0].date()} rates.csv column 'baa_spread' has no data after {last_fresh.date()}")

    def test_a_constituents_day_missing_is_stale_however_short(self, copy_dir):
        """Constituents are not carried forward (that would fake a zero return), so one missing day counts."""
        d = copy_dir()
        df = read_csv(d / "constituents.csv")
        day = sorted(df["date"].unique())[900]
        df[df["date"] != day].to_csv(d / "constituents.csv", index=False)
        loaded = load_data(d, fast_config())
        (span,) = loaded.staleness
        assert (span.first, span.last, span.days) == (pd.Timestamp(day), pd.Timestamp(day), 1)
        assert span.resumes == loaded.dates[loaded.dates > pd.Timestamp(day)][0]
        assert loaded.stale_inputs()[0].startswith(f"constituents.csv has no rows on the price day {day}")

    def test_truncating_before_the_staleness_changes_nothing(self, copy_dir, data):
        """Prefix: the data cut before an input goes stale equals the complete data cut there; nothing is stale."""
        d = copy_dir()
        cut_constituents(d, 120)
        blank_rates(d, "baa_spread", "2001-03-01", "2001-05-01")
        loaded = load_data(d, fast_config())
        assert len(loaded.staleness) == 2
        # up to the last fresh value before the gap, the data is the complete data
        day = loaded.dates[loaded.dates <= min(span.last_fresh for span in loaded.staleness)][-1]
        short, clean = loaded.truncate(day), data.truncate(day)
        assert short.staleness == () and short.stale_inputs() == [] and short.stale_on(day) is None
        for attr in ("prices", "rates", "closes", "caps", "sectors"):
            pd.testing.assert_frame_equal(getattr(short, attr), getattr(clean, attr))
        # the rate is carried for data.max_stale_days: up to the day before the span, nothing is stale yet
        first = min(span.first for span in loaded.staleness)
        assert loaded.truncate(loaded.dates[loaded.dates < first][-1]).stale_inputs() == []
        assert loaded.truncate(first).stale_inputs() != []

    @pytest.mark.parametrize("where", ["inside the rates gap", "after the rates gap", "after constituents end"])
    def test_truncate_equals_loading_the_files_cut_at_that_day(self, copy_dir, tmp_path, where):
        """Staleness is causal: truncating the data at D reports what loading files that end at D reports."""
        d = copy_dir()
        last = cut_constituents(d, 120)
        blank_rates(d, "baa_spread", "2001-03-01", "2001-05-01")
        loaded = load_data(d, fast_config())
        dates = loaded.dates
        day = {"inside the rates gap": pd.Timestamp("2001-04-10"), "after the rates gap": pd.Timestamp("2001-06-01"),
               "after constituents end": dates[dates > last][30]}[where]
        day = dates[dates <= day][-1]
        cut_dir = tmp_path / "cut"
        cut_dir.mkdir()
        for f in ("prices.csv", "rates.csv", "constituents.csv"):
            df = read_csv(d / f)
            df[pd.to_datetime(df["date"]) <= day].to_csv(cut_dir / f, index=False)
        fresh = load_data(cut_dir, fast_config())
        assert loaded.truncate(day).staleness == fresh.staleness
        assert loaded.truncate(day).stale_inputs() == fresh.stale_inputs()
        assert len(fresh.staleness) == (2 if where == "after constituents end" else 1)


def test_snap_asof_takes_the_trading_day_on_or_before():
    from regime.data import snap_asof
    from regime.errors import DataError

    days = pd.bdate_range("2024-01-01", "2024-01-31")
    msg = "as-of {day} is outside ({first} to {last})"
    assert snap_asof(days, "2024-01-06", msg) == pd.Timestamp("2024-01-05")  # a Saturday: the Friday
    assert snap_asof(days, "2024-01-31", msg) == pd.Timestamp("2024-01-31")
    with pytest.raises(DataError, match="as-of 2024-02-01 is outside \\(2024-01-01 to 2024-01-31\\)"):
        snap_asof(days, "2024-02-01", msg)
    with pytest.raises(DataError, match="not a date"):
        snap_asof(days, "someday", msg)


# ----------------------------------------------------------------------------------------- the typed reader
@pytest.fixture(scope="module")
def small_dir(tmp_path_factory):
    """3 years x 40 names: small enough to read a few ways in a test."""
    from regime.synth import simulate_market, write_market

    return write_market(simulate_market(seed=2, years=3, n_stocks=40), tmp_path_factory.mktemp("small"), "csv")


@pytest.fixture
def small_copy(small_dir, tmp_path):
    d = tmp_path / "small"
    d.mkdir()
    for f in ("prices.csv", "rates.csv", "constituents.csv"):
        (d / f).write_bytes((small_dir / f).read_bytes())
    return d


def _text_only(monkeypatch):
    """Force the text path (every cell a string first): the reference the typed reader must match."""
    import regime.data

    monkeypatch.setattr(regime.data, "_typed", lambda read, path, *args: None)


def _same_data(a, b, files=True):
    for attr in ("prices", "rates", "closes", "caps", "sectors"):
        x, y = getattr(a, attr), getattr(b, attr)
        assert (x is None) == (y is None), attr
        if x is not None:
            pd.testing.assert_frame_equal(x, y, check_exact=True)
    assert a.staleness == b.staleness and (a.files == b.files or not files)


def test_clean_files_are_read_typed_without_the_text_path(copy_dir, data, monkeypatch):
    """The files a careful writer produces (CSV and Parquet) never go through the string reader."""
    import regime.data

    d = copy_dir()
    for f in ("rates.csv", "constituents.csv"):
        df = pd.read_csv(d / f, parse_dates=["date"])
        (d / f).unlink()
        df.to_parquet(d / f.replace(".csv", ".parquet"), index=False)

    def no_text(path):
        raise AssertionError(f"{path.name} was read as text")

    monkeypatch.setattr(regime.data, "read_table", no_text)
    _same_data(load_data(d, fast_config()), data, files=False)


def _by_ticker(d):
    df = read_csv(d / "constituents.csv")
    df.sort_values(["ticker", "date"]).to_csv(d / "constituents.csv", index=False)


def _tokens_and_spaces(d):
    df = read_csv(d / "constituents.csv")
    df.loc[5, "close"], df.loc[9, "market_cap"], df.loc[11, "close"] = "NA", ".", "#N/A"
    df.loc[12, "sector"], df.loc[13, "ticker"], df.loc[14, "close"] = " ", " " + df.loc[13, "ticker"], " 12.5"
    df.to_csv(d / "constituents.csv", index=False)
    rates = read_csv(d / "rates.csv")
    rates.loc[3, "ust_2y"], rates.loc[4, "ust_2y"] = "NaN", "null"
    rates.to_csv(d / "rates.csv", index=False)


def _other_dates_extra_column_and_days(d):
    df = read_csv(d / "constituents.csv")
    days = sorted(df["date"].unique())
    df = df[df["date"] != days[100]]  # a day without constituents
    extra = df[df["date"] == days[50]].assign(date="1990-01-02")  # a day the prices lack
    df = pd.concat([extra, df]).assign(volume="n/a")
    df["date"] = pd.to_datetime(df["date"]).dt.strftime("%m/%d/%Y")
    df.to_csv(d / "constituents.csv", index=False)


def _quoted_crlf(d):
    lines = (d / "constituents.csv").read_text().splitlines()
    body = [",".join(f'"{cell}"' for cell in line.split(",")) for line in lines[1:]]
    (d / "constituents.csv").write_bytes(("\r\n".join([lines[0], *body]) + "\r\n").encode())


def _wide_csv(d):
    wide = pd.read_csv(d / "constituents.csv").pivot(index="date", columns="ticker", values="close")
    wide.iloc[:30, 3] = np.nan
    wide.reset_index().to_csv(d / "constituents.csv", index=False)


def _typed_parquet(d):
    df = pd.read_csv(d / "constituents.csv")
    df["date"] = pd.to_datetime(df["date"]).dt.tz_localize("US/Eastern")
    df = df.astype({"market_cap": "int64", "close": "float32"})
    (d / "constituents.csv").unlink()
    df.to_parquet(d / "constituents.parquet", index=False)
    prices = pd.read_csv(d / "prices.csv")
    prices["date"] = pd.to_datetime(prices["date"]).dt.date
    (d / "prices.csv").unlink()
    prices.to_parquet(d / "prices.parquet", index=False)


def _row_groups(d):
    """Parquet in many row groups, each with its own dictionary of tickers and sectors, in ticker order."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    df = pd.read_csv(d / "constituents.csv").sort_values(["ticker", "date"])
    (d / "constituents.csv").unlink()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), d / "constituents.parquet", row_group_size=3000)


def _string_parquet(d):
    df = read_csv(d / "constituents.csv")
    (d / "constituents.csv").unlink()
    df.to_parquet(d / "constituents.parquet", index=False)


@pytest.mark.parametrize("edit", [_by_ticker, _tokens_and_spaces, _other_dates_extra_column_and_days, _quoted_crlf,
                                  _wide_csv, _typed_parquet, _row_groups, _string_parquet], ids=lambda f: f.__name__.strip("_"))
def test_typed_reader_equals_the_text_reader(small_copy, monkeypatch, edit):
    """Whatever a file's layout, order, tokens or types, the typed reader gives the text reader's data bit for bit
    (or declines and lets the text reader read it)."""
    d = small_copy
    edit(d)
    typed = load_data(d, fast_config())
    _text_only(monkeypatch)
    _same_data(typed, load_data(d, fast_config()))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_errors_in_files_the_typed_reader_takes_are_the_text_readers(small_copy, fmt):
    """A non-positive close in a typed-readable file, or a ticker twice on a day, is reported as before."""
    d = small_copy
    df = read_csv(d / "constituents.csv")
    bad = df.copy()
    bad.loc[7, "close"] = "-1"
    bad = bad.astype({"close": float, "market_cap": float})
    if fmt == "parquet":
        (d / "constituents.csv").unlink()
        bad.to_parquet(d / "constituents.parquet", index=False)
    else:
        bad.to_csv(d / "constituents.csv", index=False)
    with pytest.raises(DataError, match=rf"constituents.{fmt}: close of {df.loc[7, 'ticker']} is -1 on {df.loc[7, 'date']}"):
        load_data(d)
    for twice, day in [(pd.concat([df, df.iloc[[3]]]), df.loc[3, "date"]),  # also twice on a day the prices lack:
                       (pd.concat([df.iloc[[3, 3]].assign(date="1990-01-02"), df]), "1990-01-02")]:
        twice = twice.astype({"close": float, "market_cap": float})
        if fmt == "parquet":
            twice.to_parquet(d / "constituents.parquet", index=False)
        else:
            twice.to_csv(d / "constituents.csv", index=False)
        with pytest.raises(DataError, match=rf"ticker {df.loc[3, 'ticker']} appears twice on {day}"):
            load_data(d)


def test_codes_across_chunks_with_their_own_dictionaries():
    """Row codes follow the values, whatever each chunk's dictionary (values no row uses are dropped)."""
    import pyarrow as pa

    from regime.data import _codes

    first = pa.array(["b", "a", "b"]).dictionary_encode()
    second = pa.DictionaryArray.from_arrays(pa.array([1, 1], type=pa.int32()), pa.array(["a", "c", "z"]))
    codes, values = _codes(pa.chunked_array([first, second]))
    assert values.to_pylist() == ["b", "a", "c"] and codes.tolist() == [0, 1, 0, 2, 2]


def _messy_long(d, fmt):
    """Long constituents as they come: rows shuffled, blanks and missing tokens, the ticker that sorts first met
    only at the end of the file, blank sectors, dates in two writings, and two days the prices lack with a name
    that appears on no other days."""
    df = read_csv(d / "constituents.csv")
    rng = np.random.default_rng(7)
    first = sorted(df["ticker"].unique())[0]
    days = sorted(df["date"].unique())
    late = df[(df["ticker"] == first) & (df["date"] >= days[300])]
    rest = df[df["ticker"] != first].sample(frac=1.0, random_state=3)
    gone = pd.concat([rest[rest["date"] == days[10]].head(3).assign(date=day) for day in ("1990-01-02", "1990-01-03")],
                     ignore_index=True)
    gone.loc[[0, 3], "ticker"] = "ZZ_GONE"
    df = pd.concat([rest, gone, late], ignore_index=True)
    pick = rng.choice(len(df), size=(4, 60), replace=False)
    df.loc[pick[0], "close"] = "NA" if fmt == "csv" else ""
    df.loc[pick[1], "market_cap"] = ""
    df.loc[pick[2], "sector"] = " "
    df.loc[pick[3], "date"] = pd.to_datetime(df.loc[pick[3], "date"]).dt.strftime("%m/%d/%Y")
    (d / "constituents.csv").unlink()
    if fmt == "csv":
        df.to_csv(d / "constituents.csv", index=False)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        df = df.assign(**{c: pd.to_numeric(df[c].replace("", np.nan)) for c in ("close", "market_cap")})
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), d / "constituents.parquet",
                       row_group_size=4000)
    return first


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_long_constituents_read_a_batch_at_a_time_equal_the_text_reader(small_copy, monkeypatch, caplog, fmt):
    """Streamed in many small batches, with names arriving in no particular order and spread over several column
    blocks, the typed reader takes a messy long file itself and gives the text reader's data and warnings."""
    import regime.data

    first = _messy_long(small_copy, fmt)
    monkeypatch.setattr(regime.data, "_CSV_BLOCK", 1 << 14)
    monkeypatch.setattr(regime.data, "_PARQUET_BATCH", 700)
    monkeypatch.setattr(regime.data, "_BLOCK", 8)

    def no_text(path, dates):
        raise AssertionError(f"{path.name} was read as text")

    with monkeypatch.context() as m, caplog.at_level(logging.WARNING, logger="regime.data"):
        m.setattr(regime.data, "_text_constituents", no_text)
        typed = load_data(small_copy, fast_config())
    typed_warnings = [r.getMessage() for r in caplog.records]
    caplog.clear()
    _text_only(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="regime.data"):
        text = load_data(small_copy, fast_config())
    _same_data(typed, text)
    assert typed_warnings == [r.getMessage() for r in caplog.records]
    assert f"constituents.{fmt}: dates are out of order; sorted them" in typed_warnings
    assert typed.closes.columns[0] == first and typed.closes[first].first_valid_index() > typed.dates[0]
    assert typed.closes["ZZ_GONE"].isna().all() and typed.sectors is not None
    assert typed.closes.to_numpy().flags.c_contiguous


def test_read_ahead_hands_over_batches_and_errors_and_stops_with_its_caller():
    import threading

    from regime.data import _read_ahead

    def batches(fail):
        yield from range(10)
        if fail:
            raise ValueError("unreadable")

    assert list(_read_ahead(batches(False))) == list(range(10))
    with pytest.raises(ValueError, match="unreadable"):
        list(_read_ahead(batches(True)))
    closed = []

    def endless():
        try:
            yield from iter(int, 1)
        finally:
            closed.append(True)

    ahead = _read_ahead(endless())
    assert next(ahead) == 0
    ahead.close()
    assert closed == [True] and not any(t.name == "regime-read-ahead" for t in threading.enumerate())


def test_load_panel_completes_a_panel_less_load(market_dir, copy_dir):
    """Data loaded without its panel, then given it, is what one full load gives: frames, staleness, files."""
    from regime.data import load_panel

    from .conftest import cut_constituents, fast_config

    d = copy_dir()
    cut_constituents(d, 30)  # so the panel adds stale spans of its own
    cfg = fast_config()
    full, lean = load_data(d, cfg), load_data(d, cfg, panel=False)
    assert lean.closes is None and lean.panel_file == "constituents.csv"
    done = load_panel(lean)
    assert done.panel_file is None and done.files == full.files and done.staleness == full.staleness
    for name in ("prices", "rates", "closes", "caps", "sectors"):
        pd.testing.assert_frame_equal(getattr(done, name), getattr(full, name))
    assert load_panel(full) is full


def test_dates_with_offsets_that_change_with_daylight_saving(copy_dir):
    """A yfinance export writes New York midnight with its offset, -05:00 in winter and -04:00 in summer; each row
    keeps its own local date, in prices and in long constituents alike (pandas alone refuses mixed offsets)."""
    from .conftest import fast_config, read_csv

    d = copy_dir()
    plain = load_data(d, fast_config())
    for name in ("prices.csv", "constituents.csv"):
        df = read_csv(d / name)
        month = df["date"].str[5:7].astype(int)
        df["date"] = df["date"] + " 00:00:00" + month.map(lambda m: "-04:00" if 4 <= m <= 10 else "-05:00")
        df.to_csv(d / name, index=False)
    shifted = load_data(d, fast_config())
    assert shifted.dates.equals(plain.dates)
    for name in ("prices", "closes", "caps", "sectors"):
        pd.testing.assert_frame_equal(getattr(shifted, name), getattr(plain, name))

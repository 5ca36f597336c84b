"""The data contract: every bad input gets a one-line error naming the file, column or date."""

import logging

import numpy as np
import pandas as pd
import pytest

from regime.config import Config, RolesConfig
from regime.data import align_asof, load_data
from regime.errors import DataError

from .conftest import read_csv


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

"""The built-in market: credible, reproducible, and its regimes do what their names say."""

import numpy as np
import pandas as pd
import pytest

from regime.synth import simulate_market


def test_reproducible_by_seed():
    a, b = simulate_market(seed=3, years=3, n_stocks=60), simulate_market(seed=3, years=3, n_stocks=60)
    pd.testing.assert_frame_equal(a.prices, b.prices)
    pd.testing.assert_series_equal(a.truth, b.truth)
    c = simulate_market(seed=4, years=3, n_stocks=60)
    assert not a.prices.equals(c.prices)


def test_shapes_and_contract(market):
    assert list(market.prices.columns) == ["spx", "spx_ew", "ndx", "mid", "sml", "rut"]
    assert (market.prices > 0).all().all()
    assert set(market.truth.unique()) == {"concentration", "broadening", "stress"}
    assert list(market.constituents.columns) == ["ticker", "close", "market_cap", "sector"]
    assert market.constituents.groupby("ticker")["sector"].nunique().eq(1).all()
    assert market.constituents["ticker"].nunique() == 120


def test_heavy_tailed_caps_with_a_mega_cap_group(market):
    last = market.constituents.loc[market.constituents.index.max()]
    w = (last["market_cap"] / last["market_cap"].sum()).sort_values(ascending=False)
    assert 0.15 < w.iloc[:10].sum() < 0.7
    assert w.iloc[0] > 20 * w.median()


def test_regimes_are_persistent(market):
    runs = (market.truth != market.truth.shift()).cumsum()
    lengths = market.truth.groupby(runs).size()
    assert lengths.median() >= 30


@pytest.fixture(scope="module")
def long_market():
    return simulate_market(seed=21, years=20, n_stocks=150)


def test_regimes_move_the_market_as_described(long_market):
    m = long_market
    lr = np.log(m.prices).diff()
    by = lr.groupby(m.truth).mean() * 252
    ew_cw = by["spx_ew"] - by["spx"]
    assert ew_cw["broadening"] > 0 > ew_cw["concentration"]
    assert by.loc["concentration", "ndx"] > by.loc["concentration", "spx"]
    assert by.loc["broadening", "sml"] > by.loc["broadening", "spx"]
    assert by.loc["stress", "spx"] < 0
    vol = lr["spx"].groupby(m.truth).std()
    assert vol["stress"] > 1.5 * max(vol["concentration"], vol["broadening"])


def test_rates_respond_to_regimes(long_market):
    m = long_market
    r = m.rates.reindex(m.truth.index).ffill()
    spread = r["baa_spread"].groupby(m.truth).mean()
    assert spread["stress"] > spread["concentration"] + 0.5
    cuts = r["fed_funds"].diff(63).groupby(m.truth).mean()
    assert cuts["stress"] < 0 < cuts["broadening"]


def test_rates_have_their_own_calendar(market):
    assert market.rates.index.day_of_week.max() == 6  # fed funds on weekends
    assert market.rates["ust_10y"].isna().any()  # blank holidays and weekends
    assert market.rates.index[0] < market.prices.index[0]

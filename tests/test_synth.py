"""The built-in market: credible, reproducible, and its regimes do what their names say; its variants."""

import hashlib

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from regime.cli import app
from regime.config import Config
from regime.data import load_data
from regime.errors import DataError
from regime.features import build_features
from regime.synth import (
    MIN_STOCKS,
    REGIME_PARAMS,
    VARIANTS,
    SynthOptions,
    regime_params,
    regime_path,
    regime_transitions,
    simulate_market,
    write_market,
)


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


# ----------------------------------------------------------------------------------------- variants
#: SHA-256 over prices, rates, constituents and truth CSV as written by the generator BEFORE SynthOptions existed
#: (commit 5b252da): (seed, years, n_stocks) -> digest. Default options must keep reproducing them.
BEFORE_OPTIONS = {
    (0, 2, 60): "1a38417898e3cbe0a73e5e8a51bddcb62aa30acb08c6e369a1c161b8e444dc43",
    (3, 3, 60): "fd712bad2dbf2533d30fe3cd3af61dea694a57be1a0a668a69f9030f341be681",
}
FILES = ("prices.csv", "rates.csv", "constituents.csv", "truth.csv")


def _digest(market, out) -> str:
    write_market(market, out, "csv")
    h = hashlib.sha256()
    for f in FILES:
        h.update((out / f).read_bytes())
    return h.hexdigest()


@pytest.mark.parametrize("options", [None, SynthOptions(), VARIANTS["base"]], ids=["none", "defaults", "base"])
def test_default_options_reproduce_the_market_byte_for_byte(options, tmp_path):
    for (seed, years, n), digest in BEFORE_OPTIONS.items():
        m = simulate_market(seed=seed, years=years, n_stocks=n, options=options)
        assert _digest(m, tmp_path / f"{seed}") == digest


#: What each variant promises to write: (rates file?, constituents columns or None for no file, names).
SHAPES = {
    "base": (True, ["ticker", "close", "market_cap", "sector"], 60),
    "no_sectors": (True, ["ticker", "close", "market_cap"], 60),
    "equal_rotation": (True, ["ticker", "close", "market_cap", "sector"], 60),
    "no_caps": (True, ["ticker", "close", "sector"], 60),
    "closes_survivors": (True, ["ticker", "close"], None),
    "indices_rates": (True, None, None),
    "prices_only": (False, None, None),
    "fat_tails": (True, ["ticker", "close", "market_cap", "sector"], 60),
    "few_stress": (True, ["ticker", "close", "market_cap", "sector"], 60),
    "short_spells": (True, ["ticker", "close", "market_cap", "sector"], 60),
    "long_spells": (True, ["ticker", "close", "market_cap", "sector"], 60),
    "small_universe": (True, ["ticker", "close", "market_cap", "sector"], 50),
    "large_universe": (True, ["ticker", "close", "market_cap", "sector"], 1000),
    "weak_tilt": (True, ["ticker", "close", "market_cap", "sector"], 60),
    "mild_stress": (True, ["ticker", "close", "market_cap", "sector"], 60),
}


def test_every_variant_is_described_and_has_a_promised_shape():
    assert len(VARIANTS) >= 13
    assert set(VARIANTS) == set(SHAPES)
    assert all(o.description for o in VARIANTS.values())


@pytest.mark.parametrize("name", list(SHAPES))
def test_variant_writes_its_shape_and_loads(name, tmp_path):
    """The files and columns each variant promises, read back by load_data and turned into features."""
    has_rates, columns, names = SHAPES[name]
    fmt = "parquet" if name == "large_universe" else "csv"
    m = simulate_market(seed=5, years=4, n_stocks=60, options=VARIANTS[name])
    write_market(m, tmp_path, fmt)
    assert (tmp_path / f"prices.{fmt}").is_file() and (tmp_path / "truth.csv").is_file()
    assert (tmp_path / f"rates.{fmt}").is_file() == has_rates
    assert (tmp_path / f"constituents.{fmt}").is_file() == (columns is not None)
    if columns is not None:
        cons = pd.read_parquet(tmp_path / f"constituents.{fmt}") if fmt == "parquet" else \
            pd.read_csv(tmp_path / f"constituents.{fmt}", nrows=5)
        assert list(cons.columns) == ["date", *columns]
        if names is not None:
            assert m.constituents["ticker"].nunique() == names
    data = load_data(tmp_path, Config())
    assert (data.rates is not None) == has_rates
    assert (data.closes is not None) == (columns is not None)
    assert (data.caps is not None) == (columns is not None and "market_cap" in columns)
    assert (data.sectors is not None) == (columns is not None and "sector" in columns)
    feats = build_features(data, Config())
    assert len(feats) == len(m.prices) and feats.iloc[-1].notna().sum() >= 10
    fam = {c.split("_")[0] for c in feats.columns}
    assert ("rt" in fam) == has_rates
    assert ("br" in fam) == (columns is not None) and ("px" in fam) == (columns is None)
    assert any(c.startswith("br_rotation") for c in feats) == (data.sectors is not None)
    assert any(c.startswith("br_size_corr") for c in feats) == (data.caps is not None)


def test_survivors_only_blank_before_listing(tmp_path):
    m = simulate_market(seed=3, years=4, n_stocks=100, options=VARIANTS["closes_survivors"])
    u = m.universe.set_index("ticker")
    assert u["listed"].notna().sum() > 10 and u["delisted"].notna().sum() > 0  # listings and delistings happened
    survivors = set(u.index[u["delisted"].isna()])
    write_market(m, tmp_path, "csv")
    text = (tmp_path / "constituents.csv").read_text().splitlines()
    assert text[0] == "date,ticker,close"
    assert any(line.endswith(",") for line in text[1:])  # blank closes before listing
    closes = load_data(tmp_path, Config()).closes
    assert set(closes.columns) == survivors  # the file holds only the names alive at the end
    assert closes.iloc[-1].notna().all()
    first = closes.apply(lambda s: s.first_valid_index())
    late = u["listed"].dropna()
    late = late[late.index.isin(survivors)]
    assert len(late) > 0
    pd.testing.assert_series_equal(first[late.index], late, check_names=False)  # blank until listing day
    assert (first[sorted(survivors - set(late.index))] == closes.index[0]).all()
    assert not closes.loc[:, closes.notna().any()].apply(lambda s: s.loc[s.first_valid_index():].isna().any()).any()
    # the indices held names the file no longer shows: survivors' equal-weight returns differ from spx_ew
    rets = closes.pct_change(fill_method=None).mean(axis=1).iloc[1:]
    assert (rets - m.prices["spx_ew"].pct_change().iloc[1:]).abs().max() > 1e-4


def _spells(truth: pd.Series) -> pd.Series:
    return truth.groupby((truth != truth.shift()).cumsum()).size()


def test_stress_frequency_and_spell_length_variants():
    """few_stress: <= 3 % stress days; short/long spells shorten/lengthen spells (3 seeds x 20 years pooled)."""
    truth = {name: pd.concat([simulate_market(seed=s, years=20, n_stocks=40, options=VARIANTS[name]).truth
                              for s in (1, 2, 3)], ignore_index=True)
             for name in ("base", "few_stress", "short_spells", "long_spells")}
    share = {k: float((t == "stress").mean()) for k, t in truth.items()}
    assert share["few_stress"] <= 0.03 < share["base"]
    spell = {k: float(_spells(t).mean()) for k, t in truth.items()}
    assert spell["short_spells"] < 0.7 * spell["base"]
    assert spell["long_spells"] > 1.4 * spell["base"]


def test_fat_tails_and_mild_stress_change_returns_as_promised():
    base, fat, mild = (simulate_market(seed=3, years=4, n_stocks=40, options=VARIANTS[v])
                       for v in ("base", "fat_tails", "mild_stress"))
    lr = {k: np.log(m.prices["spx"]).diff() for k, m in (("base", base), ("fat", fat), ("mild", mild))}
    assert lr["fat"].kurt() > lr["base"].kurt() + 1.0

    def stress_vol_ratio(r, m):
        vol = r.groupby(m.truth).std()
        return vol["stress"] / vol.drop("stress").mean()

    assert stress_vol_ratio(lr["mild"], mild) < stress_vol_ratio(lr["base"], base) - 0.2
    spread = {k: m.rates["baa_spread"].reindex(m.truth.index).ffill()[m.truth == "stress"].mean()
              for k, m in (("base", base), ("mild", mild))}
    assert spread["mild"] < spread["base"] - 0.3
    pd.testing.assert_series_equal(base.truth, mild.truth)  # same regime path: only the stress behaviour moved


def test_options_are_validated():
    with pytest.raises(ValueError, match="n_stocks"):
        SynthOptions(n_stocks=20)
    with pytest.raises(ValueError, match="tail_df"):
        SynthOptions(tail_df=2.0)
    with pytest.raises(ValueError, match="n_stocks"):
        simulate_market(seed=1, years=1, n_stocks=30)


def test_write_market_refuses_to_leave_a_stale_file(tmp_path):
    write_market(simulate_market(seed=1, years=3, n_stocks=40), tmp_path, "csv")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(DataError, match="constituents.csv exists"):
        write_market(simulate_market(seed=2, years=3, n_stocks=40, options=VARIANTS["indices_rates"]), tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_cli_data_synth_variant(tmp_path):
    runner = CliRunner()
    r = runner.invoke(app, ["data", "synth", "--out", str(tmp_path / "a"), "--years", "3", "--variant", "no_caps"])
    assert r.exit_code == 0, r.output
    assert pd.read_csv(tmp_path / "a" / "constituents.csv", nrows=2).columns.tolist() == ["date", "ticker", "close",
                                                                                          "sector"]
    r = runner.invoke(app, ["data", "synth", "--out", str(tmp_path / "a"), "--years", "3", "--variant", "prices_only"])
    assert r.exit_code == 2 and r.stderr.startswith("error: ") and "rates.csv exists" in r.stderr
    r = runner.invoke(app, ["data", "synth", "--out", str(tmp_path / "b"), "--variant", "bogus"])
    assert r.exit_code == 2 and "small_universe" in r.output


@pytest.mark.parametrize("variant", ["base", "long_spells", "few_stress"])
def test_regime_path_is_the_markets_truth(variant):
    """regime_path draws the very path simulate_market labels its market with (the oracle benchmark relies on it)."""
    opts = VARIANTS[variant]
    market = simulate_market(seed=5, years=3, n_stocks=max(MIN_STOCKS, 60), options=opts)
    path = regime_path(seed=5, years=3, options=opts)
    pd.testing.assert_series_equal(path, market.truth, check_names=False)
    assert not path.equals(regime_path(seed=6, years=3, options=opts))


def test_regime_params_and_transitions_per_variant():
    """The public parameter tables are the defaults for the base market, follow a variant's options, sum to one,
    and are copies: changing them does not change the generator."""
    base = SynthOptions()
    assert regime_params(base) == REGIME_PARAMS
    long_ = regime_params(VARIANTS["long_spells"])
    assert long_["broadening"]["dur_mean"] > REGIME_PARAMS["broadening"]["dur_mean"]
    few = regime_transitions(VARIANTS["few_stress"])
    assert few["broadening"]["stress"] < regime_transitions(base)["broadening"]["stress"]
    for opts in (base, VARIANTS["few_stress"]):
        for row in regime_transitions(opts).values():
            assert sum(row.values()) == pytest.approx(1.0)
    before = simulate_market(seed=3, years=2, n_stocks=MIN_STOCKS).truth
    regime_transitions(base)["broadening"]["stress"] = 0.99
    regime_params(base)["stress"]["dur_mean"] = 1.0
    pd.testing.assert_series_equal(simulate_market(seed=3, years=2, n_stocks=MIN_STOCKS).truth, before)


def test_results_holding_frames_compare_by_identity():
    """Frozen results that hold frames use identity for ``==`` (field equality would raise on a DataFrame)."""
    from regime.synth import simulate_market

    m = simulate_market(seed=1, years=3, n_stocks=40)
    assert m == m and m != simulate_market(seed=1, years=3, n_stocks=40)

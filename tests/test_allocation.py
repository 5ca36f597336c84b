"""Allocation signals: the blend, the trading rules, the one-day lag, exact costs, the placebo, no look-ahead."""

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from regime.allocation import (
    allocation_backtest,
    shuffle_spells,
    signal,
    simulate,
    sleeve_returns,
    target_weights,
    tilt_table,
)
from regime.config import AllocationConfig, Config, RolesConfig
from regime.data import MarketData
from regime.errors import ConfigError, DataError
from regime.metrics import run_lengths


IDS = ["concentration", "broadening", "stress"]


@pytest.fixture(scope="module")
def market(long_market):
    return long_market


@pytest.fixture(scope="module")
def data(long_data):
    return long_data


@pytest.fixture(scope="module")
def wf(long_walk_forward):
    return long_walk_forward


@pytest.fixture(scope="module")
def result(wf, data):
    return allocation_backtest(wf.probabilities, wf.labels, data, AllocationConfig(placebo_draws=20))


def test_targets_blend_the_tilt_rows_by_probability():
    cfg = AllocationConfig()
    tilts = tilt_table(cfg, IDS, list(cfg.sleeves))
    idx = pd.bdate_range("2020-01-01", periods=3)
    probs = pd.DataFrame([[1, 0, 0], [0, 0, 1], [0.5, 0.5, 0]], index=idx, columns=IDS, dtype=float)
    w = target_weights(probs, tilts, {})
    assert w.iloc[0].to_dict() == pytest.approx(cfg.tilts["concentration"])
    assert w.iloc[1].to_dict() == pytest.approx(cfg.tilts["stress"])
    half = {k: 0.5 * cfg.tilts["concentration"][k] + 0.5 * cfg.tilts["broadening"][k] for k in cfg.sleeves}
    assert w.iloc[2].to_dict() == pytest.approx(half)
    # the default fits the regime definitions
    t = cfg.tilts
    assert t["broadening"]["small_cap"] > t["concentration"]["small_cap"]
    assert t["concentration"]["mega_cap"] > t["broadening"]["mega_cap"]
    assert t["stress"]["cash"] > max(t["concentration"]["cash"], t["broadening"]["cash"])


def test_bounds_are_respected_and_weights_still_sum_to_one():
    cfg = AllocationConfig(bounds={"cash": (0.0, 0.3), "large_cap": (0.2, 0.5)})
    tilts = tilt_table(cfg, IDS, list(cfg.sleeves))
    probs = pd.DataFrame(np.random.default_rng(0).dirichlet([1, 1, 1], 200), columns=IDS,
                         index=pd.bdate_range("2020-01-01", periods=200))
    w = target_weights(probs, tilts, cfg.bounds)
    assert np.allclose(w.sum(axis=1), 1.0)
    assert (w["cash"] <= 0.3 + 1e-9).all() and (w["large_cap"] >= 0.2 - 1e-9).all()
    assert (w >= -1e-12).all().all()


def _toy(n=60, seed=0):
    idx = pd.bdate_range("2021-01-01", periods=n)
    rng = np.random.default_rng(seed)
    rets = pd.DataFrame(rng.normal(0, 0.01, (n, 3)), index=idx, columns=["a", "b", "cash"])
    rets["cash"] = 0.0001
    targets = pd.DataFrame(rng.dirichlet([1, 1, 1], n), index=idx, columns=["a", "b", "cash"])
    return targets, rets


def test_costs_reduce_returns_by_exactly_turnover_times_cost():
    targets, rets = _toy()
    free = simulate(targets, rets, AllocationConfig(cost_bp=0.0, rebalance_every=1, no_trade_band=0.0))
    paid = simulate(targets, rets, AllocationConfig(cost_bp=5.0, rebalance_every=1, no_trade_band=0.0))
    pd.testing.assert_frame_equal(free.weights, paid.weights)
    assert paid.turnover.sum() > 1.0
    expected = free.returns - paid.turnover.shift(1).fillna(0.0) * 5e-4
    np.testing.assert_allclose(paid.returns.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-15)


def test_weights_drift_between_rebalances_and_trade_only_on_schedule():
    targets, rets = _toy()
    run = simulate(targets, rets, AllocationConfig(rebalance_every=10, no_trade_band=0.0))
    traded = run.turnover[run.turnover > 0].index
    assert set(traded) <= set(targets.index[::10])
    t = 3  # a drift day: weights follow the returns
    w0 = run.weights.iloc[t - 1].to_numpy()
    r = rets.iloc[t].to_numpy()
    assert run.weights.iloc[t].to_numpy() == pytest.approx(w0 * (1 + r) / (1 + w0 @ r))


def test_no_trade_band_and_turnover_cap():
    targets, rets = _toy()
    lazy = simulate(targets, rets, AllocationConfig(rebalance_every=1, no_trade_band=1.0))
    assert lazy.turnover.sum() == 0.0
    capped = simulate(targets, rets, AllocationConfig(rebalance_every=1, no_trade_band=0.0, max_turnover=0.1))
    assert capped.turnover.max() == pytest.approx(0.1)
    assert np.allclose(capped.weights.sum(axis=1), 1.0)


def test_one_day_lag_matters(wf, data, result):
    """Weights chosen with the same day's probabilities would earn that day's return: look-ahead."""
    peek = allocation_backtest(wf.probabilities, wf.labels, data, AllocationConfig(placebo_draws=2), lag=0)
    honest, cheat = result.table.loc["regime"], peek.table.loc["regime"]
    assert cheat["sharpe"] != pytest.approx(honest["sharpe"], abs=1e-3)
    assert cheat["sharpe"] > honest["sharpe"]  # seeing the day's stress before its return helps
    with pytest.raises(ValueError, match="lag must be 1"):
        allocation_backtest(wf.probabilities, wf.labels, data, AllocationConfig(), lag=2)


def test_regime_strategy_beats_the_placebo(result):
    t = result.table
    assert list(t.index) == ["regime", "buy_and_hold", "equal_mix", "placebo"]
    assert t.loc["regime", "sharpe"] > t.loc["placebo", "sharpe"]
    assert t.loc["regime", "max_drawdown"] > t.loc["placebo", "max_drawdown"]  # drawdowns are negative
    assert result.placebo_beaten["sharpe"] >= 0.9
    assert t.loc["buy_and_hold", "turnover_per_year"] == 0.0 and t.loc["regime", "turnover_per_year"] > 0
    assert 0 <= t.loc["equal_mix", "hit_rate"] <= 1


def test_placebo_keeps_durations_and_rows():
    idx = pd.bdate_range("2020-01-01", periods=40)
    lab = pd.Series(["a"] * 10 + ["b"] * 5 + ["a"] * 20 + ["c"] * 5, index=idx)
    probs = pd.DataFrame(np.random.default_rng(1).dirichlet([1, 1, 1], 40), index=idx, columns=["a", "b", "c"])
    fake = shuffle_spells(probs, lab, np.random.default_rng(3))
    assert fake.index.equals(probs.index)
    assert sorted(map(tuple, fake.round(12).to_numpy())) == sorted(map(tuple, probs.round(12).to_numpy()))
    assert not fake.equals(probs)
    # each spell's rows stay together and in order: the durations survive the shuffle
    start = 0
    for n in run_lengths(lab).tolist():
        block = probs.iloc[start:start + n].to_numpy()
        at = int(np.flatnonzero((fake.to_numpy() == block[0]).all(axis=1))[0])
        np.testing.assert_array_equal(fake.iloc[at:at + n].to_numpy(), block)
        start += n


def test_cash_earns_the_policy_rate(data):
    cfg = AllocationConfig()
    rets = sleeve_returns(data, cfg)
    rate = data.series("policy_rate")
    assert rets["cash"].iloc[10] == pytest.approx(rate.iloc[9] / 100 / 252)
    bare = MarketData(prices=data.prices, rates=None, closes=None, caps=None, roles=data.roles)
    assert (sleeve_returns(bare, cfg)["cash"] == 0).all()


def test_switched_off_role_drops_its_sleeve_and_renormalises(data):
    roles = RolesConfig(mega_cap=None)
    d = MarketData(prices=data.prices, rates=data.rates, closes=None, caps=None, roles=roles)
    cfg = AllocationConfig()
    rets = sleeve_returns(d, cfg)
    assert "mega_cap" not in rets
    tilts = tilt_table(cfg, IDS, list(rets.columns))
    assert np.allclose(tilts.sum(axis=1), 1.0)


def test_prefix_allocation_and_signal_unchanged_by_later_data(wf, data):
    """Truncate at D: every allocation row up to D, and the signal of D, are unchanged."""
    cfg = AllocationConfig(placebo_draws=1)
    full = allocation_backtest(wf.probabilities, wf.labels, data, cfg)
    day = wf.probabilities.index[len(wf.probabilities) // 2]
    short = allocation_backtest(wf.probabilities.loc[:day], wf.labels.loc[:day], data.truncate(day), cfg)
    pd.testing.assert_frame_equal(short.weights, full.weights.loc[:day])
    pd.testing.assert_series_equal(short.returns["regime"], full.returns["regime"].loc[:day])
    late = signal(wf.probabilities, wf.labels, data, cfg, asof=day)
    early = signal(wf.probabilities.loc[:day], wf.labels.loc[:day], data.truncate(day), cfg)
    assert late == early
    assert abs(sum(late.weights.values()) - 1) < 1e-5
    assert late.weights == pytest.approx({k: full.weights.loc[day, k] for k in late.weights}, abs=1e-6)


def test_signal_reports_the_change_from_previous_weights(wf, data):
    cfg = AllocationConfig(rebalance_every=1, no_trade_band=0.0)
    sig = signal(wf.probabilities, wf.labels, data, cfg)
    assert sig.rebalance_day
    assert sig.weights == pytest.approx(sig.target, abs=1e-6)
    assert {k: sig.weights[k] - sig.previous[k] for k in sig.weights} == pytest.approx(sig.change, abs=1e-6)
    assert sig.turnover == pytest.approx(sum(abs(v) for v in sig.change.values()), abs=1e-5)
    with pytest.raises(DataError, match="is outside the probabilities"):
        signal(wf.probabilities, wf.labels, data, cfg, asof="1900-01-01")
    with pytest.raises(DataError, match="is not a date"):
        signal(wf.probabilities, wf.labels, data, cfg, asof="soon")


@pytest.mark.parametrize("bad, match", [
    ({"tilts": {"concentration": {"cash": 0.5}}}, "sum to 0.5000, not 1"),
    ({"tilts": {"stress": {"bonds": 1.0}}}, "sleeve 'bonds' is not in allocation.sleeves"),
    ({"bounds": {"cash": (0.6, 0.4)}}, "need 0 <= min <= max <= 1"),
    ({"bounds": {"cash": (0.6, 1.0), "large_cap": (0.6, 1.0)}}, "no weights summing to 1"),
])
def test_bad_allocation_config_is_refused(bad, match):
    with pytest.raises(ValidationError, match=match):
        AllocationConfig(**bad)


def test_every_regime_needs_a_tilt_row():
    cfg = AllocationConfig(tilts={"concentration": {"cash": 1.0}, "broadening": {"cash": 1.0}})
    Config(allocation=cfg)  # a config that never allocates need not name every regime
    with pytest.raises(ConfigError, match="allocation.tilts has no row for regime 'stress'"):
        tilt_table(cfg, IDS, list(cfg.sleeves))


def test_unknown_sleeve_column_is_named(data):
    with pytest.raises(ConfigError, match="allocation.sleeves.gold: 'gld' is not a price role"):
        sleeve_returns(data, AllocationConfig(sleeves={"gold": "gld", "cash": "cash"}, tilts={}))


def test_probabilities_from_other_data_are_refused(wf, data):
    """Dates the prices lack would silently earn nothing: both paths name the first such date."""
    shifted = wf.probabilities.copy()
    shifted.index = shifted.index + pd.Timedelta(days=1)  # Saturdays appear
    labels = wf.labels.set_axis(shifted.index)
    with pytest.raises(DataError, match="probability date .* is not in the prices"):
        allocation_backtest(shifted, labels, data, AllocationConfig(placebo_draws=1))
    with pytest.raises(DataError, match="probability date .* is not in the prices"):
        signal(shifted, labels, data, AllocationConfig())

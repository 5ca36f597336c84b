"""Features use trailing windows only: the prefix test, and hand-checked values."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from regime.config import Config, FeaturesConfig, RolesConfig
from regime.data import MarketData
from regime.features import risk_features, breadth, build_features, relative_strength, select_features

from ..conftest import fast_config


@pytest.fixture(scope="module")
def feats(data):
    return build_features(data, fast_config())


def test_all_families_present(feats):
    prefixes = {c.split("_")[0] for c in feats.columns}
    assert prefixes == {"rs", "ld", "br", "rt", "rk"}
    for c in ["rs_ew_cw_mom_63d", "rs_mega_large_rank", "br_above_200d", "br_top10_share", "br_eff_names",
              "br_size_corr_21d", "br_dispersion_5d", "br_rotation_21d", "rt_policy_chg_126d", "rt_slope", "rt_2y_policy", "rt_credit_chg_63d", "rk_vol_21d", "rk_drawdown",
              "rk_vol_pctl_21d", "rk_vol_q_10d", "ld_ew_cw", "ld_mega_large",
              "ld_names_cw", "ld_size"]:
        assert c in feats.columns


@pytest.mark.parametrize("cut", [600, 900, 1500])
def test_prefix_features_unchanged_by_later_data(data, feats, cut):
    """Truncate the data at D: every feature up to D is identical."""
    day = data.dates[cut]
    short = build_features(data.truncate(day), fast_config())
    assert short.index[-1] == day
    pd.testing.assert_frame_equal(short, feats.loc[:day])


def test_features_do_not_depend_on_where_history_starts(data, feats):
    """Windows are trailing and finite: once full, a later start gives the same values.

    The anchored features (expanding percentiles and medians: their scale is the whole history so far) are the
    exception by design, and are checked by the next test.
    """
    start = data.dates[300]
    cfg = fast_config()
    late = MarketData(
        prices=data.prices.loc[start:], rates=data.rates.loc[start:], closes=data.closes.loc[start:],
        caps=data.caps.loc[start:], roles=data.roles, sectors=data.sectors.loc[start:],
    )
    f2 = build_features(late, cfg)
    after = data.dates[300 + cfg.features.lookback() + 5]
    finite = [c for c in feats.columns if not c.startswith(EXPANDING)]
    pd.testing.assert_frame_equal(f2.loc[after:, finite], feats.loc[after:, finite], rtol=1e-9)
    # the anchored features do depend on the start: their scale is the history so far
    assert not np.allclose(f2.loc[after:, "rk_vol_q_10d"], feats.loc[after:, "rk_vol_q_10d"])


EXPANDING = ("rk_vol_pctl_", "rk_vol_q_")


def test_anchored_features_by_hand():
    """rk_vol_pctl: the percentile of today's volatility among all values to date; rk_vol_q: the same percentile,
    (rank - 0.5) / n, as a standard normal quantile."""
    idx = pd.bdate_range("2020-01-01", periods=400)
    rng = np.random.default_rng(0)
    vol = np.r_[np.full(300, 0.01), np.full(100, 0.03)]
    level = pd.Series(100 * np.exp(np.cumsum(vol * rng.standard_normal(400))), index=idx)
    cfg = FeaturesConfig(vol_windows=(21,), vol_percentile_windows=(21,), vol_q_windows=(21,),
                         percentile_min_days=100, return_windows=(21,), drawdown_window=50)
    out = risk_features(level, cfg)
    v = np.log(level).diff().rolling(21).std()
    t = 350
    assert out["rk_vol_pctl_21d"].iloc[t] == pytest.approx((v.iloc[: t + 1] <= v.iloc[t]).sum() / v.iloc[: t + 1].count())
    n = v.iloc[: t + 1].count()
    rank = (v.iloc[: t + 1] < v.iloc[t]).sum() + 1
    assert out["rk_vol_q_21d"].iloc[t] == pytest.approx(norm.ppf((rank - 0.5) / n))
    assert out["rk_vol_pctl_21d"].iloc[: 20 + 100 - 1].isna().all()
    # three times the earlier volatility ranks above nearly all of the calm history once the window holds only
    # the new days (it competes only with the few high values seen so far)
    assert out["rk_vol_pctl_21d"].iloc[321:340].min() > 0.85


def test_relative_strength_by_hand():
    idx = pd.bdate_range("2020-01-01", periods=400)
    a = pd.Series(np.exp(np.linspace(0, 1, 400)), index=idx)
    b = pd.Series(np.ones(400), index=idx)
    cfg = FeaturesConfig(momentum_windows=(21,), ma_window=10, rank_window=50, rank_of=21)
    rs = relative_strength(a, b, "x", cfg)
    step = 1 / 399
    assert rs["rs_x_mom_21d"].iloc[-1] == pytest.approx(21 * step)
    assert rs["rs_x_vs_ma"].iloc[-1] == pytest.approx(4.5 * step)  # linear ratio: today minus mean of last 10
    assert rs["rs_x_mom_21d"].iloc[:21].isna().all()
    # an accelerating ratio: today's momentum is the largest of the window (rank 1), a decelerating one the least
    up = relative_strength(pd.Series(np.exp(np.linspace(0, 1, 400) ** 2), index=idx), b, "u", cfg)
    down = relative_strength(pd.Series(np.exp(np.sqrt(np.linspace(0, 1, 400))), index=idx), b, "d", cfg)
    assert up["rs_u_rank"].iloc[-1] == pytest.approx(1.0)
    assert down["rs_d_rank"].iloc[-1] == pytest.approx(1 / 50)


def test_breadth_by_hand():
    idx = pd.bdate_range("2020-01-01", periods=6)
    closes = pd.DataFrame({"A": [1, 2, 3, 4, 5, 6], "B": [6, 5, 4, 3, 2, 1], "C": [1, 1, 1, 1, 1, 2.0]}, index=idx)
    caps = closes * [10, 1, 1]
    cfg = FeaturesConfig(breadth_ma_windows=(3,), breadth_window=2, ad_window=2, high_low_window=3,
                         high_low_smooth=1, concentration_top=1, concentration_window=2)
    br = breadth(closes.astype(float), caps.astype(float), cfg)
    last = br.iloc[-1]
    assert last["br_above_3d"] == pytest.approx(2 / 3)  # A and C above their 3-day mean, B below
    assert last["br_pct_up"] == pytest.approx(2 / 3)
    assert last["br_ad_slope"] == pytest.approx(((0) / 3 + (1 + 1 - 1) / 3) / 2)
    assert last["br_hi_lo"] == pytest.approx((2 - 1) / 3)  # A, C at highs; B at a low
    assert 0 < last["br_top10_share"] <= 1
    w = caps.iloc[-1] / caps.iloc[-1].sum()
    assert last["br_eff_names"] == pytest.approx(np.log(1 / (w**2).sum()))


def test_size_corr_by_hand():
    """Rank correlation of each day's returns with the previous day's caps, averaged over the window."""
    idx = pd.bdate_range("2020-01-01", periods=4)
    # caps rank A > B > C on every day; day 1: the big names lead (+1), day 2: the small ones (-1),
    # day 3: B best, then A, then C (rho = 0.5)
    closes = pd.DataFrame({"A": [10, 11, 10.0, 10.5], "B": [10, 10.5, 10.0, 11.0], "C": [10, 10, 11.0, 11.0]},
                          index=idx)
    caps = pd.DataFrame({"A": [300.0] * 4, "B": [200.0] * 4, "C": [100.0] * 4}, index=idx)
    cfg = FeaturesConfig(size_corr_windows=(1, 3), breadth_ma_windows=(2,), high_low_window=2)
    br = breadth(closes, caps, cfg)
    assert br["br_size_corr_1d"].tolist()[1:] == pytest.approx([1.0, -1.0, 0.5])
    assert br["br_size_corr_3d"].iloc[-1] == pytest.approx((1.0 - 1.0 + 0.5) / 3)
    assert br["br_size_corr_1d"].iloc[:1].isna().all()  # no return on the first day


def test_dispersion_and_rotation_by_hand():
    idx = pd.bdate_range("2020-01-01", periods=3)
    # four names in two sectors; day 1: sector X up 2 %, sector Y flat, no spread inside a sector;
    # day 2: every name's return differs, the two sectors' means do not
    r1 = np.array([0.02, 0.02, 0.0, 0.0])
    r2 = np.array([0.01, -0.01, 0.03, -0.03])
    closes = pd.DataFrame(100.0 * np.exp(np.cumsum([np.zeros(4), r1, r2], axis=0)), index=idx, columns=list("ABCD"))
    sectors = pd.DataFrame([[0.0, 0.0, 1.0, 1.0]] * 3, index=idx, columns=list("ABCD"))
    cfg = FeaturesConfig(dispersion_windows=(1,), breadth_ma_windows=(2,), high_low_window=2)
    iqr = [np.subtract(*np.percentile(r, [75, 25])) for r in (r1, r2)]
    # a sector dispersion needs three sectors: with two it is undefined
    br = breadth(closes, None, cfg, sectors)
    assert br["br_dispersion_1d"].tolist()[1:] == pytest.approx(np.log(iqr))
    assert br["br_rotation_1d"].isna().all()
    three = pd.DataFrame([[0.0, 0.0, 1.0, 2.0]] * 3, index=idx, columns=list("ABCD"))
    br = breadth(closes, None, cfg, three)
    # day 1: sector means 0.02, 0, 0 -> sd 0.011547; day 2: means 0, 0.03, -0.03 -> sd 0.03
    want = np.log([np.std([0.02, 0.0, 0.0], ddof=1), np.std([0.0, 0.03, -0.03], ddof=1)]) - np.log(iqr)
    assert br["br_rotation_1d"].tolist()[1:] == pytest.approx(want)


def test_rotation_separates_broadening_from_concentration(market, feats):
    """The built-in market rotates between sectors more in broadening than in concentration."""
    truth = market.truth.reindex(feats.index)
    x = feats["br_rotation_21d"]
    assert x[truth == "broadening"].mean() > x[truth == "concentration"].mean() + x.std()


def test_size_corr_separates_concentration_from_broadening(market, feats):
    """On the built-in market the big names lead in concentration and lag in broadening."""
    truth = market.truth.reindex(feats.index)
    x = feats["br_size_corr_63d"]
    assert x[truth == "concentration"].mean() > 0 > x[truth == "broadening"].mean()


def test_rate_features_by_hand():
    from regime.features._rates import rate_features

    idx = pd.bdate_range("2020-01-01", periods=3)
    s = {"policy_rate": pd.Series([1.0, 1.0, 1.25], index=idx), "yield_2y": pd.Series([1.5, 1.4, 1.5], index=idx)}
    out = rate_features(s, FeaturesConfig(policy_change_windows=(1,), yield_change_windows=(1,)))
    assert out["rt_2y_policy"].tolist() == pytest.approx([0.5, 0.4, 0.25])
    assert out["rt_policy_chg_1d"].iloc[-1] == pytest.approx(0.25)


def test_proxies_when_no_constituents(data):
    bare = MarketData(prices=data.prices, rates=data.rates, closes=None, caps=None, roles=data.roles)
    f = build_features(bare, fast_config())
    assert "px_ew_cw_spread" in f and "px_dispersion" in f
    assert not any(c.startswith("br_") for c in f.columns)


def test_switched_off_roles_drop_their_features(data):
    cfg = Config(roles=RolesConfig(mega_cap=None, credit_spread=None))
    bare = MarketData(prices=data.prices, rates=data.rates, closes=data.closes, caps=data.caps, roles=cfg.roles)
    f = build_features(bare, cfg)
    assert not any("mega_large" in c for c in f.columns)
    assert "rt_credit" not in f and "rt_slope" in f


def test_model_feature_selection_uses_default_list_and_globs(feats):
    from regime.config import DEFAULT_MODEL_FEATURES, JumpConfig

    cols = select_features(feats.columns, Config().model.leaves()[0])
    assert cols == [c for c in feats.columns if c in DEFAULT_MODEL_FEATURES]
    assert "rt_policy" not in cols and "rt_2y_chg_21d" in cols  # changes, not trending levels
    leaf = JumpConfig(include=("rs_*_mom_*",), exclude=("*_126d",)).leaves()[0]
    assert select_features(feats.columns, leaf) == [c for c in feats.columns
                                                    if c.startswith("rs_") and "_mom_" in c and not c.endswith("126d")]

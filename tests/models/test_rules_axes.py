"""The rules baseline and the axes model: by hand, recovery from known models, and no look-ahead."""

import numpy as np
import pandas as pd
import pytest

from regime.backtest import walk_forward
from regime.config import AxesConfig, Config, RulesConfig, TrainConfig
from regime.features import build_features
from regime.models import AxesRegime, RulesRegime
from regime.pipeline import fit_regime_model

# ------------------------------------------------------------------------------------------------ rules


def test_rule_by_hand():
    pct = np.r_[np.full(20, 0.5), np.full(15, 0.9), np.full(3, 0.5), np.full(20, 0.5)]
    lead = np.r_[np.full(20, 0.01), np.full(15, 0.01), np.full(3, -0.01), np.full(20, -0.01)]
    X = np.column_stack([pct, lead])
    p = RulesRegime(threshold=0.85, hold_days=10).fit(X).predict_proba(X)
    states = p.argmax(axis=1)  # 0 stress, 1 concentration, 2 broadening
    assert (p.sum(axis=1) == 1).all()
    assert (states[:29] == 2).all()          # stress starts day 20 but is reported after 10 days: day 29
    assert (states[29:35] == 0).all()
    assert (states[35:44] == 0).all()        # concentration from day 35 must hold 10 days: reported at 44
    assert (states[44:] == 1).all() and states[43] == 0


def test_rule_is_causal():
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.random(300), rng.standard_normal(300)])
    est = RulesRegime(hold_days=5).fit(X)
    full = est.predict_proba(X)
    for cut in (50, 151, 299):
        np.testing.assert_array_equal(est.predict_proba(X[:cut]), full[:cut])


def test_rules_model_labels_follow_the_rule(data):
    cfg = Config(model=RulesConfig(), train=TrainConfig(min_days=252))
    feats = build_features(data, cfg)
    model = fit_regime_model(data, cfg, features=feats)
    assert model.components[0].feature_names == ["rk_vol_pctl_21d", "rs_ew_cw_mom_63d"]
    labels = model.labels(feats).dropna()
    f = feats.loc[labels.index]
    raw = np.where(f["rk_vol_pctl_21d"] > 0.85, "stress",
                   np.where(f["rs_ew_cw_mom_63d"] > 0, "broadening", "concentration"))
    # after a switch the label equals the rule's raw state of the previous 10 days
    changes = np.flatnonzero(labels.to_numpy()[1:] != labels.to_numpy()[:-1]) + 1
    assert len(changes) > 3
    for t in changes:
        assert (raw[t - 9: t + 1] == labels.iloc[t]).all()


def test_rules_fall_back_to_small_caps_without_equal_weight(data):
    cfg = Config(roles={"equal_weight": None}, model=RulesConfig(), train=TrainConfig(min_days=252))
    model = fit_regime_model(data.__class__(**{**data.__dict__, "roles": cfg.roles}), cfg)
    assert model.components[0].feature_names == ["rk_vol_pctl_21d", "rs_small_large_mom_63d"]


def test_rules_walk_forward_prefix(data):
    cfg = Config(model=RulesConfig(), train=TrainConfig(min_days=252))
    full = walk_forward(data, cfg)
    day = full.labels.index[len(full.labels) // 2]
    cut = walk_forward(data.truncate(day), cfg)
    pd.testing.assert_series_equal(cut.labels, full.labels.loc[:day])


# ------------------------------------------------------------------------------------------------ axes


def _two_axis_sample(n=3000, seed=0, stress=True):
    """Risk axis: calm/stress spells; leadership axis: +m/-m spells; returns X, true risk and lead states."""
    rng = np.random.default_rng(seed)

    def spells(p_stay, start):
        s = np.empty(n, dtype=int)
        s[0] = start
        for t in range(1, n):
            s[t] = s[t - 1] if rng.random() < p_stay[s[t - 1]] else 1 - s[t - 1]
        return s

    risk = spells({0: 0.995, 1: 0.97}, 0) if stress else np.zeros(n, dtype=int)
    lead = spells({0: 0.995, 1: 0.995}, 1)
    vol = np.where(risk == 1, 2.0, -0.2) + 0.5 * rng.standard_normal(n)
    ret = np.where(risk == 1, -1.0, 0.1) + rng.standard_normal(n)
    f = rng.standard_normal(n)  # a common leadership factor: two correlated series
    l1 = np.where(lead == 1, 0.4, -0.4) + 0.8 * f + 0.6 * rng.standard_normal(n)
    l2 = np.where(lead == 1, 0.3, -0.3) + 0.8 * f + 0.6 * rng.standard_normal(n)
    X = np.column_stack([vol, ret, l1, l2])
    return X, risk, lead


def _axes(**kw):
    return AxesRegime(axes=("risk", "risk", "lead", "lead"), risk_signs=(1.0, -1.0), stress_floor=1.0,
                      calm_days=200, stress_days=33, lead_days=200, risk_evidence=1.0, **kw)


@pytest.mark.parametrize("combine", ["mean", "none"])
def test_axes_recover_both_axes(combine):
    X, risk, lead = _two_axis_sample()
    est = _axes(lead_combine=combine).fit(X)
    assert est.risk_means_[1, 0] > est.risk_means_[0, 0] + 1.5      # stress: high volatility
    assert est.risk_means_[1, 1] < est.risk_means_[0, 1]            # and lower returns
    assert (est.lead_m_ > 0.15).all()
    r, b = est.axis_probabilities(X)
    assert ((r > 0.5) == (risk == 1)).mean() > 0.95
    assert ((b > 0.5) == (lead == 1)).mean() > 0.85
    p = est.predict_proba(X)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


def test_a_calm_window_keeps_stress_looking_like_stress():
    X, _, _ = _two_axis_sample(stress=False)
    est = _axes().fit(X)
    calm = est.risk_means_[0, 0]
    assert est.risk_means_[1, 0] >= max(1.0, calm + 1.5 * np.sqrt(est.risk_covs_[0, 0, 0])) - 1e-9
    r, _ = est.axis_probabilities(X)
    assert (r > 0.5).mean() < 0.01  # its most volatile calm days are not called stress
    # and real stress later is found by the model fitted on the calm window
    Xs, risk, _ = _two_axis_sample(seed=3)
    r2, _ = est.axis_probabilities(Xs)
    assert ((r2 > 0.5) == (risk == 1)).mean() > 0.9


def test_axes_marginalise_missing_values_and_are_causal():
    X, risk, lead = _two_axis_sample(seed=5)
    est = _axes().fit(X)
    Xm = X.copy()
    Xm[:1000, 3] = np.nan          # a leadership series that starts later
    Xm[1500:1510, 1] = np.nan      # a gap in a risk series
    p = est.predict_proba(Xm)
    assert np.isfinite(p).all()    # every day still labelled from what remains
    _, b_full = est.axis_probabilities(X)
    _, b_miss = est.axis_probabilities(Xm)
    assert ((b_miss[:1000] > 0.5) == (lead[:1000] == 1)).mean() > 0.8
    Xm[100:105, 0] = np.nan        # no volatility: no label
    assert np.isnan(est.predict_proba(Xm)[100:105]).all()
    full = est.predict_proba(Xm)
    for cut in (300, 1505, 2999):
        np.testing.assert_allclose(est.predict_proba(Xm[:cut]), full[:cut])


def _persistent_noise_sample(n=4000, seed=7, phi=0.5):
    """Leadership spells whose daily noise is AR(1) with coefficient ``phi``; risk always calm."""
    rng = np.random.default_rng(seed)
    lead = np.empty(n, dtype=int)
    lead[0] = 1
    for t in range(1, n):
        lead[t] = lead[t - 1] if rng.random() < 0.997 else 1 - lead[t - 1]
    e = np.zeros(n)
    u = rng.standard_normal(n) * np.sqrt(1 - phi**2)
    for t in range(1, n):
        e[t] = phi * e[t - 1] + u[t]
    vol = -0.2 + 0.5 * rng.standard_normal(n)
    ret = 0.1 + rng.standard_normal(n)
    lx = np.where(lead == 1, 0.25, -0.25) + e
    return np.column_stack([vol, ret, lx]), lead


def _flips(b):
    s = b > 0.5
    return int((s[1:] != s[:-1]).sum())


def test_lead_ar_does_not_count_persistent_noise_as_evidence():
    X, lead = _persistent_noise_sample()
    kw = dict(axes=("risk", "risk", "lead"), risk_signs=(1.0, -1.0), stress_floor=1.0, lead_days=300)
    plain = AxesRegime(lead_ar=False, **kw).fit(X)
    ar = AxesRegime(lead_ar=True, **kw).fit(X)
    assert plain.lead_phi_ == 0.0
    assert abs(ar.lead_phi_ - 0.5) < 0.1                     # the noise's AR(1) coefficient is recovered
    _, b_plain = plain.axis_probabilities(X)
    _, b_ar = ar.axis_probabilities(X)
    true_flips = _flips(lead.astype(float))
    assert _flips(b_plain) > 2 * true_flips                   # without it, drift in the noise flips the label
    assert _flips(b_ar) < 0.7 * _flips(b_plain)               # with it, far fewer flips
    acc_plain, acc_ar = ((b_plain > 0.5) == (lead == 1)).mean(), ((b_ar > 0.5) == (lead == 1)).mean()
    assert acc_ar > max(acc_plain, 0.8)                       # and the leadership spells are found better
    # causal: a prefix of the data gives the prefix of the probabilities
    full = ar.predict_proba(X)
    for cut in (10, 1234, 3999):
        np.testing.assert_allclose(ar.predict_proba(X[:cut]), full[:cut])


def test_lead_ar_on_independent_noise_keeps_the_leadership():
    """Serially independent noise: phi only reflects the persistent leadership itself, and the labels hold."""
    X, risk, lead = _two_axis_sample(seed=11)
    plain, ar = _axes(lead_ar=False).fit(X), _axes(lead_ar=True).fit(X)
    assert 0.0 <= ar.lead_phi_ < 0.2
    _, b_plain = plain.axis_probabilities(X)
    _, b_ar = ar.axis_probabilities(X)
    assert ((b_plain > 0.5) == (b_ar > 0.5)).mean() > 0.95
    assert ((b_ar > 0.5) == (lead == 1)).mean() > 0.85


def test_axes_model_in_the_pipeline_is_prefix_safe(data):
    cfg = Config(model=AxesConfig(), train=TrainConfig(min_days=252))
    full = walk_forward(data, cfg)
    assert set(full.labels.dropna()) <= {"stress", "concentration", "broadening"}
    day = full.labels.index[len(full.labels) * 2 // 3]
    cut = walk_forward(data.truncate(day), cfg)
    pd.testing.assert_frame_equal(cut.probabilities, full.probabilities.loc[:day])


def test_axes_score_a_day_with_a_missing_series(copy_dir):
    """A rates column that stopped: the axes model still labels the day from the features that remain."""
    from regime.data import load_data
    from regime.scoring import score_day

    d = copy_dir()
    rates = pd.read_csv(d / "rates.csv", dtype=str, keep_default_na=False)
    cut = rates["date"] >= "2003-06-01"
    rates.loc[cut, "baa_spread"] = ""
    rates.to_csv(d / "rates.csv", index=False)
    cfg = Config(model=AxesConfig(), train=TrainConfig(min_days=252))
    data = load_data(d, cfg)
    model = fit_regime_model(data, cfg)
    assert "rt_credit_chg_21d" in model.feature_names
    res = score_day(model, data)
    assert res.regime in ("stress", "concentration", "broadening")
    assert all(drv.feature != "rt_credit_chg_21d" for drv in res.drivers)
    assert all(np.isfinite(drv.z) for drv in res.drivers)

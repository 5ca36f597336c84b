"""A fitted regime model: names, filtered probabilities, prefix property, training errors."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score

from regime.config import Config, TrainConfig
from regime.errors import DataError
from regime.features import build_features
from regime.pipeline import fit_on_features, fit_regime_model

from .conftest import fast_config


@pytest.fixture(scope="module")
def feats(data):
    return build_features(data, fast_config())


def test_every_regime_named_and_probabilities_sum_to_one(model, feats):
    assert sorted(set(model.components[0].state_map.values())) == ["broadening", "concentration", "stress"]
    probs = model.filtered_probabilities(feats).dropna()
    assert list(probs.columns) == ["concentration", "broadening", "stress"]
    assert probs.index.equals(feats[model.feature_names].dropna().index)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)


def test_filtered_probabilities_prefix(model, data, feats):
    """Truncate the data at D: features and filtered probabilities up to D are unchanged."""
    full = model.filtered_probabilities(feats)
    for cut in (700, 1200, len(data.dates) - 2):
        day = data.dates[cut]
        short = model.filtered_probabilities(build_features(data.truncate(day), fast_config()))
        pd.testing.assert_frame_equal(short, full.loc[:day], check_exact=False, rtol=0, atol=1e-12)


def test_labels_agree_with_truth_in_sample(model, feats, market):
    lab = model.labels(feats).dropna()
    acc = balanced_accuracy_score(market.truth.reindex(lab.index), lab.astype(str))
    assert acc > 0.6  # a floor: chance is 0.33


def test_state_profiles_match_the_regime_descriptions(model):
    prof = model.regime_profile
    assert prof.loc["stress", "rk_vol_21d"] > prof.loc[["concentration", "broadening"], "rk_vol_21d"].max()
    assert prof.loc["broadening", "rs_ew_cw_mom_63d"] > prof.loc["concentration", "rs_ew_cw_mom_63d"]
    assert prof.loc["concentration", "rs_mega_large_mom_63d"] > prof.loc["broadening", "rs_mega_large_mom_63d"]


def test_scaler_fitted_on_training_window_only(data):
    cfg = fast_config()
    cut = data.dates[1200]
    m = fit_regime_model(data.truncate(cut), cfg)
    train = build_features(data.truncate(cut), cfg)[m.feature_names].dropna()
    np.testing.assert_allclose(m.components[0].scaler.mean_, train.mean().to_numpy())
    assert m.trained_through == cut


def test_missing_feature_days_get_no_probabilities_and_the_filter_skips_them(model, feats):
    """A day with a missing feature (a stale input) gets NaN, never the previous day's probabilities carried
    forward; the filter runs over the complete days as if the missing ones were not there."""
    f = feats.copy()
    days = f.index[900:960]
    f.loc[days, "rt_credit_chg_21d"] = np.nan
    probs = model.filtered_probabilities(f)
    assert probs.loc[days].isna().all().all()
    assert model.labels(f).loc[days].isna().all()
    skipped = model.filtered_probabilities(f.drop(index=days))
    pd.testing.assert_frame_equal(probs.drop(index=days), skipped, check_exact=False, rtol=0, atol=1e-12)
    assert probs.iloc[960:].notna().all().all()  # labels resume after the gap


def test_too_little_history(data):
    cfg = Config(model=fast_config().model, train=TrainConfig(min_days=252))
    short = data.truncate(data.dates[300])
    with pytest.raises(DataError, match=r"prices: 301 days .* leave \d+ days with every model feature defined \(the first \d+ are warm-up"):
        fit_regime_model(short, cfg)


def test_gmm_model_trains_and_names(data):
    cfg = fast_config(kind="gmm", smoothing=0.8)
    m = fit_regime_model(data, cfg)
    assert sorted(set(m.components[0].state_map.values())) == ["broadening", "concentration", "stress"]


def test_same_data_config_seed_same_model(data):
    a = fit_regime_model(data, fast_config())
    b = fit_regime_model(data, fast_config())
    f = build_features(data, fast_config())
    pd.testing.assert_frame_equal(a.filtered_probabilities(f), b.filtered_probabilities(f))


def test_hmm_chooses_state_count_by_bic(data):
    from regime.config import HMMConfig

    cfg = Config(model=HMMConfig(n_init=1, covariance_type="diag", n_components_range=(3, 4),
                                 include=("rs_*_vs_ma", "rk_vol_21d", "rt_credit_chg_21d")),
                 train=TrainConfig(min_days=252))
    m = fit_regime_model(data, cfg)
    bics = m.components[0].diagnostics["bic_by_n_components"]
    assert set(bics) == {"3", "4"}
    chosen = m.components[0].diagnostics["n_components"]
    assert bics[str(chosen)] == min(bics.values())


def test_markov_switching_model_in_the_pipeline(data):
    from regime.config import load_config
    from pathlib import Path

    cfg = load_config(Path(__file__).resolve().parents[1] / "configs" / "markov.yaml")
    cfg = cfg.model_copy(update={"train": TrainConfig(min_days=252)})
    m = fit_regime_model(data, cfg)
    assert m.feature_names == ["rs_ew_cw_mom_5d"]
    probs = m.filtered_probabilities(build_features(data, cfg)).dropna()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)


def test_ensemble_averages_member_probabilities(data, feats):
    m = fit_regime_model(data, fast_config())
    assert [c.config.kind for c in m.components] == ["jump", "gmm"]
    p = m.filtered_probabilities(feats).dropna()
    parts = [c.regime_probabilities(feats, m.regime_ids).loc[p.index] * c.config.weight for c in m.components]
    np.testing.assert_allclose(p.to_numpy(), (sum(parts) / sum(c.config.weight for c in m.components)).to_numpy())


def test_scalers_sum_in_the_order_of_the_training_frame(data, feats):
    """The fit reads prepared arrays laid out as pandas lays out the training frame, so each scaler equals the one
    fitted on the frame itself, to the last bit (a sum's order, hence its rounding, follows the layout)."""
    from sklearn.preprocessing import StandardScaler

    from regime.pipeline import labelled_rows

    cfg = fast_config()
    m = fit_on_features(feats, cfg)
    train = feats.loc[labelled_rows(feats, cfg), m.profile_names]
    ref = StandardScaler().fit(train.to_numpy()[train.notna().all(axis=1).to_numpy()])
    assert np.array_equal(m.profile_scaler.mean_, ref.mean_) and np.array_equal(m.profile_scaler.scale_, ref.scale_)
    for comp in m.components:
        ref = StandardScaler().fit(train[comp.feature_names].to_numpy())
        assert np.array_equal(comp.scaler.mean_, ref.mean_) and np.array_equal(comp.scaler.scale_, ref.scale_)

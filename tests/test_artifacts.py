"""Artifacts: complete before `latest` moves; failures never damage what exists."""

import json

import joblib
import pytest

from regime.artifacts import build_metadata, load_artifact, resolve_model_path, save_artifact
from regime.errors import ModelError


def test_round_trip_and_metadata(model, data, tmp_path):
    meta = build_metadata(model, data)
    path = save_artifact(model, meta, tmp_path, "m")
    assert (tmp_path / "m" / "latest").resolve() == path.resolve()
    loaded, meta2 = load_artifact(resolve_model_path(None, tmp_path, "m"))
    assert [c.state_map for c in loaded.components] == [c.state_map for c in model.components]
    for key in ("package_version", "config", "data", "features", "state_map", "diagnostics", "trained_through"):
        assert key in meta2
    assert meta2["data"]["sha256"] == data.data_hash()
    assert meta2["data"]["start"] == str(data.dates[0].date())
    assert meta2["features"] == model.feature_names
    assert json.loads((path / "metadata.json").read_text()) == meta2


def test_artifact_saved_before_newer_config_fields_still_scores(model, data, tmp_path):
    """An artifact pickled before a config field existed loads with that field's default and the rest as saved."""
    import copy

    from regime.allocation import signal
    from regime.config import AllocationConfig, FeaturesConfig
    from regime.features import build_features
    from regime.scoring import score_day

    path = save_artifact(model, build_metadata(model, data), tmp_path, "m")
    old = copy.deepcopy(model)
    old.config.label.__dict__["min_days"] = 3  # a value the old version saved
    del old.config.features.__dict__["dispersion_windows"]  # fields that did not exist then
    del old.config.__dict__["allocation"]
    joblib.dump(old, path / "model.joblib")
    with pytest.raises(AttributeError):
        old.config.features.dispersion_windows
    loaded, _ = load_artifact(path)
    assert loaded.config.features.dispersion_windows == FeaturesConfig().dispersion_windows
    assert loaded.config.label.min_days == 3
    assert loaded.config.allocation == AllocationConfig()
    assert loaded.config.model == model.config.model
    assert score_day(loaded, data).regime == score_day(model, data).regime
    probs = loaded.filtered_probabilities(build_features(data, loaded.config)).dropna()
    assert abs(sum(signal(probs, loaded.labels_from(probs), data, loaded.config.allocation).weights.values()) - 1) < 1e-9


def test_second_save_moves_latest(model, data, tmp_path):
    first = save_artifact(model, build_metadata(model, data), tmp_path, "m")
    second = save_artifact(model, build_metadata(model, data), tmp_path, "m")
    assert first != second and first.exists()
    assert (tmp_path / "m" / "latest").resolve() == second.resolve()


def test_failed_save_leaves_latest_and_no_debris(model, data, tmp_path, monkeypatch):
    good = save_artifact(model, build_metadata(model, data), tmp_path, "m")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(joblib, "dump", boom)
    with pytest.raises(OSError, match="disk full"):
        save_artifact(model, build_metadata(model, data), tmp_path, "m")
    assert (tmp_path / "m" / "latest").resolve() == good.resolve()
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == sorted([good.name, "latest"])


def test_missing_model(tmp_path):
    with pytest.raises(ModelError, match=r"model file .*model.joblib not found; train one"):
        load_artifact(tmp_path / "nothing")


def test_corrupt_model(model, data, tmp_path):
    path = save_artifact(model, build_metadata(model, data), tmp_path, "m")
    (path / "model.joblib").write_bytes(b"not a pickle at all")
    with pytest.raises(ModelError, match=r"model.joblib is corrupt or unreadable"):
        load_artifact(path)


def test_wrong_object_in_model_file(model, data, tmp_path):
    path = save_artifact(model, build_metadata(model, data), tmp_path, "m")
    joblib.dump({"not": "a model"}, path / "model.joblib")
    with pytest.raises(ModelError, match=r"does not hold a regime model"):
        load_artifact(path)


def test_corrupt_metadata(model, data, tmp_path):
    path = save_artifact(model, build_metadata(model, data), tmp_path, "m")
    (path / "metadata.json").write_text("{oops")
    with pytest.raises(ModelError, match=r"metadata.json is corrupt"):
        load_artifact(path)


def test_a_stored_model_labels_days_without_scikit_learn(model, data, tmp_path):
    """Loading a model to label days imports no scikit-learn, SciPy statistics or statsmodels: each component keeps
    its estimator pickled until something asks for it, and labels days with its numpy filter."""
    import subprocess
    import sys

    import numpy as np

    from regime.features import build_features

    path = save_artifact(model, build_metadata(model, data), tmp_path, "m")
    feats = build_features(data, model.config)
    feats.to_pickle(tmp_path / "f.pkl")
    code = ("import sys, pandas as pd\n"
            "from regime.artifacts import load_artifact\n"
            f"m, _ = load_artifact({str(path)!r})\n"
            f"m.filtered_probabilities(pd.read_pickle({str(tmp_path / 'f.pkl')!r})).to_pickle(sys.argv[1])\n"
            "print(m.estimator_name, sorted(x for x in ('sklearn', 'scipy.stats', 'scipy.signal', 'statsmodels')"
            " if x in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "p.pkl")], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.split() == [model.estimator_name, "[]"]
    import pandas as pd

    assert pd.read_pickle(tmp_path / "p.pkl").equals(model.filtered_probabilities(feats))
    loaded, _ = load_artifact(path)
    comp = loaded.components[0]
    assert "estimator" not in vars(comp)  # still pickled
    assert type(comp.estimator) is type(model.components[0].estimator)  # unpickled on first use
    assert "_estimator_pickle" not in vars(comp)
    X = feats[comp.feature_names].dropna().to_numpy()
    Z = comp.scaler.transform(X)
    np.testing.assert_array_equal(comp.estimator.predict_proba(Z), comp.filter.run(Z)[0])


def test_a_component_stored_before_filters_gets_its_filter(model):
    """A component pickled with its estimator inline and no filter (an older artifact) builds the filter on load."""
    import pickle

    comp = model.components[0]
    old = {k: v for k, v in vars(comp).items() if k != "filter"}
    clone = pickle.loads(pickle.dumps(comp))
    clone.__dict__.clear()
    clone.__setstate__(old)
    assert type(clone.filter) is type(comp.filter)
    assert clone.estimator is comp.estimator


def test_a_wrapped_estimator_is_stored_once(data):
    """A markov component labels days with its estimator itself: pickled, the two stay one object."""
    import pickle

    from regime.config import Config, MarkovConfig, TrainConfig
    from regime.pipeline import fit_regime_model

    model = fit_regime_model(data, Config(model=MarkovConfig(n_init=1, n_iter=30), train=TrainConfig(min_days=252)))
    comp = pickle.loads(pickle.dumps(model)).components[0]
    assert "_estimator_pickle" not in vars(comp) and comp.filter.estimator is comp.estimator

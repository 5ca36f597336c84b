import copy
from pathlib import Path

import joblib
import pandas as pd
import pytest
import yaml
from pydantic import TypeAdapter
from typer.testing import CliRunner

from regime.config import (
    MODEL_KINDS,
    AnyModelConfig,
    Config,
    EnsembleConfig,
    GMMConfig,
    JumpConfig,
    ModelConfig,
    config_from_saved,
    default_model,
    load_config,
)
from regime.errors import ConfigError
from regime.models import make_estimator

ROOT = Path(__file__).resolve().parents[1]

#: The flat model config of versions before the per-kind classes: every kind's settings, each with its default
#: then (``ModelConfig(kind="jump").model_dump(mode="json")`` at 915b089, less ``kind``).
FLAT_MODEL = {
    "n_components": 3, "n_components_range": None, "covariance_type": "full", "n_init": 5, "n_iter": 200,
    "tol": 0.001, "sticky": 50.0, "smoothing": 0.0, "jump_penalty": 10.0, "temperature": "auto", "reg_covar": 0.001,
    "threshold": 0.85, "hold_days": 10, "risk": ["rk_vol_q_10d", "-rk_ret_21d", "rt_credit_chg_21d"],
    "lead": ["ld_*"], "stress_shift": 1.5, "stress_floor": 1.04, "prior_days": 40.0, "calm_days": 250.0,
    "stress_days": 40.0, "lead_days": 252.0, "clip": 4.0, "risk_evidence": 0.15, "lead_evidence": 1.0,
    "lead_ar": True, "lead_combine": "mean", "random_state": 0, "include": None, "exclude": None, "weight": 1.0,
    "members": [],
}
SINGLE_KINDS = [k for k in MODEL_KINDS if k != "ensemble"]


def test_default_yaml_equals_builtin_defaults():
    assert load_config(ROOT / "configs" / "default.yaml") == Config()


#: Files in configs/ that are not configs: the example sweep grid (tests/test_sweep.py reads it).
NOT_CONFIGS = {"sweep.yaml"}


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "configs").glob("*.yaml") if p.name not in NOT_CONFIGS))
def test_shipped_configs_load(name):
    cfg = load_config(ROOT / "configs" / name)
    assert isinstance(cfg, Config)


def test_rules_and_axes_configs_name_their_kind():
    rules = load_config(ROOT / "configs" / "rules.yaml")
    assert rules.model.kind == "rules" and rules.model.leaves()[0].include[0] == "rk_vol_pctl_21d"
    axes = load_config(ROOT / "configs" / "axes.yaml")
    assert axes.model.kind == "axes" and axes.model.leaves()[0].risk[0] == "rk_vol_q_10d"


def test_axes_yaml_spells_out_the_builtin_axes_defaults():
    # its header says every model setting is the built-in default of kind axes, so `kind: axes` alone runs it
    keys = yaml.safe_load((ROOT / "configs" / "axes.yaml").read_text())["model"]
    shipped = load_config(ROOT / "configs" / "axes.yaml").model
    built_in = Config.model_validate({"model": {"kind": "axes"}}).model
    assert {k: getattr(shipped, k) for k in keys} == {k: getattr(built_in, k) for k in keys}


def test_gmm_config_selects_gmm():
    assert load_config(ROOT / "configs" / "gmm.yaml").model.kind == "gmm"


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match=r"config file .*nope.yaml not found"):
        load_config(tmp_path / "nope.yaml")


def test_unknown_field_is_named(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("model:\n  kindd: hmm\n")  # a model without a kind is a jump model
    with pytest.raises(ConfigError, match=r"c.yaml: model.kindd is not a setting of kind jump nor of any other kind; "
                                          r"remove it or fix its spelling$"):
        load_config(p)


def test_bad_value_is_named(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("model:\n  kind: lstm\n")
    with pytest.raises(ConfigError, match=r"c.yaml: model.kind 'lstm' is not a model kind; use one of hmm, gmm, jump, "
                                          r"markov, rules, axes, ensemble$"):
        load_config(p)


def test_invalid_yaml(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match=r"not valid YAML"):
        load_config(p)


def test_fewer_states_than_regimes_rejected(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("model:\n  n_components: 2\n")
    with pytest.raises(ConfigError, match=r"n_components=2 is fewer than the 3 regimes"):
        load_config(p)


def test_partial_config_keeps_other_defaults(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("roles:\n  large_cap: SPY\n")
    cfg = load_config(p)
    assert cfg.roles.large_cap == "SPY"
    assert cfg.roles.equal_weight == "spx_ew"
    assert cfg.model == Config().model


@pytest.mark.parametrize("body, match", [
    ("model: {kind: axes, risk: []}\n", "field model: Value error, axes: risk needs at least one feature"),
    ("model: {kind: axes, risk: ['-rk_ret_21d']}\n", "volatility first"),
    ("model: {kind: axes, lead: []}\n", "axes: lead needs at least one feature pattern"),
    ("model: {kind: rules, include: ['rk_vol_pctl_21d']}\n", "rules: include needs the volatility percentile"),
    ("model: {kind: axes, n_components_range: [3, 4]}\n", "model.n_components_range is not a setting of kind axes"),
    ("model: {kind: ensemble}\n", "field model: Value error, an ensemble needs members"),
    ("model: {kind: rules}\nregimes: {a: {name: A, weights: {x: 1}}, b: {name: B, weights: {x: 1}}, "
     "c: {name: C, weights: {x: 1}}, d: {name: D, weights: {x: 1}}}\n",
     "model kind rules labels 3 fixed states, fewer than the 4 regimes; drop a regime or use another model kind"),
])
def test_bad_rules_and_axes_settings_are_one_line_errors(tmp_path, body, match):
    from regime.errors import ConfigError

    p = tmp_path / "bad.yaml"
    p.write_text(body)
    with pytest.raises(ConfigError, match=match) as info:
        load_config(p)
    assert "bad.yaml" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("body, line", [
    ("model: {kind: jump, sticky: 5}",
     "model.sticky is not a setting of kind jump (it is read by kind hmm); remove it or change kind"),
    ("model: {kind: ensemble, members: [{kind: jump}, {kind: hmm, smoothing: 0.5}]}",
     "model.members.1.smoothing is not a setting of kind hmm (it is read by kind gmm); remove it or change kind"),
    ("model: {kind: jump, tol: 0.01}",
     "model.tol is not a setting of kind jump (it is read by kinds hmm, gmm, axes); remove it or change kind"),
    ("model: {kind: rules, n_components: 4}",
     "model.n_components is not a setting of kind rules (it is read by kinds hmm, gmm, jump, markov); "
     "remove it or change kind"),
    ("model: {kind: jump, n_components_range: [3, 5]}",
     "model.n_components_range is not a setting of kind jump (it is read by kinds hmm, gmm, markov); "
     "remove it or change kind"),
    ("model: {kind: axes, include: [rk_vol_10d]}",
     "model.include is not a setting of kind axes (it is read by kinds hmm, gmm, jump, markov, rules, ensemble); "
     "remove it or change kind"),
    ("model: {kind: rules, exclude: [rt_*]}",
     "model.exclude is not a setting of kind rules (it is read by kinds hmm, gmm, jump, markov, ensemble); "
     "remove it or change kind"),
    ("model: {kind: gmm, members: [{kind: jump}]}",
     "model.members is not a setting of kind gmm (it is read by kind ensemble); remove it or change kind"),
    ("model: {kind: ensemble, weight: 2, members: [{kind: jump}]}",
     "model.weight is not a setting of kind ensemble (it is read by kinds hmm, gmm, jump, markov, rules, axes); "
     "remove it or change kind"),
    ("model: {kind: jump, sticky: 5, smoothing: 0.5, reg_covar: 0.1}",
     "model.sticky is not a setting of kind jump (it is read by kind hmm); remove it or change kind; "
     "kind jump does not read smoothing, reg_covar either"),
    ("model: {kind: ensemble, members: [{kind: ensemble, members: [{kind: jump}]}]}",
     "model.members.0.kind 'ensemble' cannot be an ensemble member; use one of hmm, gmm, jump, markov, rules, axes"),
    ("model: {kind: ensemble, members: [{kind: lstm}]}",
     "model.members.0.kind 'lstm' is not a model kind; use one of hmm, gmm, jump, markov, rules, axes"),
])
def test_a_setting_the_kind_does_not_read_is_a_one_line_error(tmp_path, body, line):
    p = tmp_path / "x.yaml"
    p.write_text(body + "\n")
    with pytest.raises(ConfigError) as info:
        load_config(p)
    assert str(info.value) == f"config file {p}: {line}"


def test_the_cli_prints_an_unread_setting_as_one_line(market_dir, tmp_path):
    from regime.cli import app

    p = tmp_path / "bad.yaml"
    p.write_text("model:\n  kind: ensemble\n  members:\n    - {kind: jump}\n    - {kind: hmm, smoothing: 0.9}\n")
    r = CliRunner().invoke(app, ["train", "--data", str(market_dir), "--config", str(p),
                                 "--models-dir", str(tmp_path / "models")])
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert lines == [f"error: config file {p}: model.members.1.smoothing is not a setting of kind hmm "
                     "(it is read by kind gmm); remove it or change kind"]
    assert not (tmp_path / "models").exists()


def test_each_kind_keeps_the_defaults_of_the_flat_config():
    every = set().union(*(cls.model_fields for cls in MODEL_KINDS.values()))
    assert set(FLAT_MODEL) <= every  # no setting was lost
    for kind, cls in MODEL_KINDS.items():
        for name, field in cls.model_fields.items():
            if name in FLAT_MODEL and name != "members":
                default = list(field.default) if isinstance(field.default, tuple) else field.default
                assert default == FLAT_MODEL[name], (kind, name)


def test_the_fixed_state_kinds_have_as_many_states_as_their_estimators_name():
    from regime.models import AXES_STATES, RULE_STATES

    assert MODEL_KINDS["rules"]().fewest_states() == len(RULE_STATES)
    assert MODEL_KINDS["axes"]().fewest_states() == len(AXES_STATES)


def test_model_config_is_the_base_of_every_kind():
    assert all(issubclass(cls, ModelConfig) for cls in MODEL_KINDS.values())
    assert isinstance(TypeAdapter(AnyModelConfig).validate_python({"n_components": 4}), JumpConfig)
    with pytest.raises(ValueError, match="build HMMConfig"):
        ModelConfig(kind="rules")


@pytest.mark.parametrize("kind", SINGLE_KINDS)
def test_a_saved_flat_model_loads_as_its_kind(kind):
    """A config saved with the flat model (every kind's settings) loads with what its kind reads, and builds the
    same estimator as the kind alone; in a config file the same settings are an error."""
    saved = config_from_saved({"model": {**FLAT_MODEL, "kind": kind}}).model
    assert type(saved) is MODEL_KINDS[kind] and saved == MODEL_KINDS[kind]()
    cols = ["rk_vol_q_10d", "rk_ret_21d", "ld_ew_cw"]
    assert (make_estimator(saved.leaves()[0], columns=cols).get_params()
            == make_estimator(MODEL_KINDS[kind]().leaves()[0], columns=cols).get_params())
    with pytest.raises(ValueError, match="Extra inputs"):
        Config.model_validate({"model": {**FLAT_MODEL, "kind": kind}})


def test_a_saved_flat_ensemble_keeps_what_its_members_read():
    members = [{**FLAT_MODEL, "kind": "jump", "jump_penalty": 10.0, "n_init": 10, "weight": 0.5, "sticky": 3.0},
               {**FLAT_MODEL, "kind": "gmm", "covariance_type": "spherical", "smoothing": 0.9, "n_init": 5,
                "weight": 0.5}]
    model = config_from_saved({"model": {**FLAT_MODEL, "kind": "ensemble", "members": members}}).model
    assert model == default_model()
    tuned = config_from_saved({"model": {**FLAT_MODEL, "kind": "jump", "jump_penalty": 7.0, "sticky": 9.0}}).model
    assert tuned == JumpConfig(jump_penalty=7.0)


def _legacy(values: dict) -> ModelConfig:
    """A model config as the flat versions pickled it: class ``regime.config.ModelConfig``, every kind's settings."""
    obj = ModelConfig.__new__(ModelConfig)
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    obj.__setstate__({"__dict__": values, "__pydantic_fields_set__": set(values), "__pydantic_extra__": None,
                      "__pydantic_private__": None})
    return obj


def test_an_artifact_pickled_with_the_flat_model_config_loads_and_scores(model, data, tmp_path):
    from regime.artifacts import build_metadata, load_artifact, save_artifact
    from regime.features import build_features

    path = save_artifact(model, build_metadata(model, data), tmp_path, "m")
    old = copy.deepcopy(model)
    ens = model.config.model
    flat_members = tuple(_legacy({**FLAT_MODEL, **m.model_dump()}) for m in ens.members)
    old.config.__dict__["model"] = _legacy({**FLAT_MODEL, **ens.model_dump(exclude={"members"}),
                                            "members": flat_members})
    for comp in old.components:
        comp.config = _legacy({**FLAT_MODEL, **comp.config.model_dump()})
    joblib.dump(old, path / "model.joblib")
    assert b"sticky" in (path / "model.joblib").read_bytes()  # every kind's settings, as the flat versions saved
    loaded, _ = load_artifact(path)
    assert type(loaded.config.model) is EnsembleConfig
    assert [type(m) for m in loaded.config.model.members] == [JumpConfig, GMMConfig]
    assert loaded.config == model.config
    feats = build_features(data, loaded.config)
    pd.testing.assert_frame_equal(loaded.filtered_probabilities(feats), model.filtered_probabilities(feats))
    pd.testing.assert_series_equal(loaded.labels(feats), model.labels(feats))


def test_merge_settings_merges_mappings_and_replaces_the_rest():
    from regime.config import merge_settings

    base = {"model": {"kind": "hmm", "n_init": 5, "sticky": 9.0}, "label": {"margin": 0.3}, "x": [1, 2]}
    merged = merge_settings(base, {"model": {"n_init": 2}, "x": [3], "label": {"min_days": 2}})
    assert merged == {"model": {"kind": "hmm", "n_init": 2, "sticky": 9.0}, "label": {"margin": 0.3, "min_days": 2},
                      "x": [3]}
    assert base["model"]["n_init"] == 5  # the base is left as it was
    # another kind replaces the model: an HMM's settings mean nothing to a jump model
    assert merge_settings(base, {"model": {"kind": "jump"}})["model"] == {"kind": "jump"}


def test_config_from_mapping_names_where_the_values_came_from():
    from regime.config import config_from_mapping

    assert config_from_mapping({"label": {"margin": 0.5}}, "here").label.margin == 0.5
    with pytest.raises(ConfigError, match=r"^grid entry 3: field label\.margin: Input should be less than or equal"):
        config_from_mapping({"label": {"margin": 5}}, "grid entry 3")


def test_n_jobs_is_a_number_of_processes():
    from regime.config import config_from_mapping

    assert config_from_mapping({"model": {"kind": "hmm", "n_jobs": -1}}, "c").model.n_jobs == -1
    with pytest.raises(ConfigError, match=r"field model\.n_jobs: Value error, n_jobs must be a number of processes"):
        config_from_mapping({"model": {"kind": "hmm", "n_jobs": 0}}, "c")

from pathlib import Path

import pytest
import yaml

from regime.config import Config, load_config
from regime.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_default_yaml_equals_builtin_defaults():
    assert load_config(ROOT / "configs" / "default.yaml") == Config()


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "configs").glob("*.yaml")))
def test_shipped_configs_load(name):
    cfg = load_config(ROOT / "configs" / name)
    assert isinstance(cfg, Config)


def test_rules_and_axes_configs_name_their_kind():
    rules = load_config(ROOT / "configs" / "rules.yaml")
    assert rules.model.kind == "rules" and rules.model.leaves()[0].include[0] == "rk_vol_pctl_21d"
    axes = load_config(ROOT / "configs" / "axes.yaml")
    assert axes.model.kind == "axes" and axes.model.leaves()[0].include[0] == "rk_vol_q_10d"


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
    p.write_text("model:\n  kindd: hmm\n")
    with pytest.raises(ConfigError, match=r"c.yaml: field model.kindd"):
        load_config(p)


def test_bad_value_is_named(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("model:\n  kind: lstm\n")
    with pytest.raises(ConfigError, match=r"field model.kind"):
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
    ("model: {kind: axes, n_components_range: [3, 4]}\n", "n_components_range does not apply to kind axes"),
])
def test_bad_rules_and_axes_settings_are_one_line_errors(tmp_path, body, match):
    from regime.errors import ConfigError

    p = tmp_path / "bad.yaml"
    p.write_text(body)
    with pytest.raises(ConfigError, match=match) as info:
        load_config(p)
    assert "bad.yaml" in str(info.value) and "\n" not in str(info.value)

"""An estimator built without arguments is the estimator a default config builds."""

import inspect

import pytest

from regime.config import AxesConfig, GMMConfig, HMMConfig, JumpConfig, MarkovConfig, RulesConfig
from regime.models import (
    AxesRegime,
    GaussianHMMRegime,
    GaussianMixtureRegime,
    JumpModelRegime,
    MarkovSwitchingRegime,
    RulesRegime,
    make_estimator,
)

#: For each kind: the estimator, the config class holding that kind's fields, and the estimator parameters
#: ``make_estimator`` fills from the config (parameter -> config field).
CONFIG_FIELDS = {
    "hmm": (GaussianHMMRegime, HMMConfig, {
        "n_components": "n_components", "covariance_type": "covariance_type", "n_init": "n_init",
        "n_iter": "n_iter", "tol": "tol", "sticky": "sticky", "reg_covar": "reg_covar",
        "random_state": "random_state", "n_jobs": "n_jobs"}),
    "gmm": (GaussianMixtureRegime, GMMConfig, {
        "n_components": "n_components", "covariance_type": "covariance_type", "n_init": "n_init",
        "n_iter": "n_iter", "tol": "tol", "smoothing": "smoothing", "reg_covar": "reg_covar",
        "random_state": "random_state", "n_jobs": "n_jobs"}),
    "jump": (JumpModelRegime, JumpConfig, {
        "n_components": "n_components", "jump_penalty": "jump_penalty", "n_init": "n_init", "n_iter": "n_iter",
        "temperature": "temperature", "random_state": "random_state", "n_jobs": "n_jobs"}),
    "markov": (MarkovSwitchingRegime, MarkovConfig, {
        "n_components": "n_components", "n_init": "n_init", "n_iter": "n_iter", "random_state": "random_state",
        "n_jobs": "n_jobs"}),
    "axes": (AxesRegime, AxesConfig, {
        "stress_shift": "stress_shift", "stress_floor": "stress_floor", "prior_days": "prior_days",
        "calm_days": "calm_days", "stress_days": "stress_days", "lead_days": "lead_days", "clip": "clip",
        "risk_evidence": "risk_evidence", "lead_evidence": "lead_evidence", "lead_ar": "lead_ar",
        "lead_combine": "lead_combine", "n_iter": "n_iter", "tol": "tol"}),
    "rules": (RulesRegime, RulesConfig, {"threshold": "threshold", "hold_days": "hold_days"}),
}

#: Columns for the axes model (its ``axes`` and ``risk_signs`` come from them, not from config defaults).
AXES_COLUMNS = ["rk_vol_q_10d", "ld_ew_cw"]


def _another(value):
    """A valid value other than ``value`` (halved floats stay inside every config interval)."""
    if value is None:  # n_jobs
        return 2
    if isinstance(value, bool):
        return not value
    if isinstance(value, str):
        return {"full": "diag", "auto": 2.5, "mean": "none"}[value]
    return value + 1 if isinstance(value, int) else (value * 0.5 or 0.5)


def _signature_defaults(cls) -> dict:
    return {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items() if name != "self"}


@pytest.mark.parametrize("kind", CONFIG_FIELDS)
def test_estimator_defaults_equal_the_config_defaults(kind):
    cls, config_cls, fields = CONFIG_FIELDS[kind]
    defaults = _signature_defaults(cls)
    differ = {param: (defaults[param], config_cls.model_fields[field].default) for param, field in fields.items()
              if defaults[param] != config_cls.model_fields[field].default}
    assert not differ, f"{cls.__name__} defaults (estimator, config) that differ: {differ}"


@pytest.mark.parametrize("kind", CONFIG_FIELDS)
def test_the_table_lists_what_make_estimator_fills(kind):
    """A default config builds the default estimator; a changed field reaches exactly its parameter."""
    cls, config_cls, fields = CONFIG_FIELDS[kind]
    columns = AXES_COLUMNS if kind == "axes" else None
    defaults = _signature_defaults(cls)
    built = make_estimator(config_cls(), columns=columns).get_params()
    derived = {"axes", "risk_signs"} if kind == "axes" else set()
    assert {k: v for k, v in built.items() if k not in derived} == {k: v for k, v in defaults.items()
                                                                    if k not in derived}
    for param, field in fields.items():
        value = config_cls.model_fields[field].default
        changed = _another(value)
        got = make_estimator(config_cls(**{field: changed}), columns=columns).get_params()
        assert got[param] == changed
        assert {k for k in got if got[k] != built[k]} == {param}

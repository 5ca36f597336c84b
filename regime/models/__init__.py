"""Regime estimators: scikit-learn-style, with filtered (causal) probabilities.

- :class:`GaussianHMMRegime`: Gaussian HMM (hmmlearn), forward-filtered;
- :class:`GaussianMixtureRegime`: Gaussian mixture (scikit-learn), optionally smoothed causally;
- :class:`JumpModelRegime`: statistical jump model, online inference;
- :class:`MarkovSwitchingRegime`: Markov-switching mean and variance (statsmodels), Hamilton-filtered;
- :class:`AxesRegime`: a risk axis and a leadership axis, each a persistent two-state HMM, combined;
- :class:`RulesRegime`: the transparent volatility-percentile and relative-strength rule (the baseline).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import EstimatorConfig
    from ._base import RegimeEstimator

#: Public name -> the private module that defines it, imported on first use (PEP 562): the numpy-only filters
#: (``_filters``) import without scikit-learn, so loading a stored model to score does not pull it in.
_EXPORTS: dict[str, str] = {
    "GaussianHMMRegime": "_hmm",
    "GaussianMixtureRegime": "_gmm",
    "JumpModelRegime": "_jump",
    "MarkovSwitchingRegime": "_markov",
    "RegimeEstimator": "_base",
    "RestartsFailedError": "_base",
    "AxesRegime": "_axes",
    "AXES_STATES": "_axes",
    "RulesRegime": "_rules",
    "RULE_STATES": "_rules",
    "forward_filter": "_kernels",
}

__all__ = [*_EXPORTS, "make_estimator"]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


#: The estimator class name of each kind that fits one estimator.
_ESTIMATORS: dict[str, str] = {
    "hmm": "GaussianHMMRegime",
    "gmm": "GaussianMixtureRegime",
    "jump": "JumpModelRegime",
    "markov": "MarkovSwitchingRegime",
    "rules": "RulesRegime",
    "axes": "AxesRegime",
}


def make_estimator(cfg: EstimatorConfig, n_components: int | None = None,
                   columns: list[str] | None = None) -> RegimeEstimator:
    """The estimator a (non-ensemble) model config names, with its parameters.

    Every setting of the config but those the pipeline reads (``cfg.estimator_params()``) is a parameter
    of the same name of its kind's estimator. ``n_components`` overrides the configured number of states
    (the BIC choice); ``columns`` (the selected feature names) tells the axes model which column feeds
    which axis.
    """
    if cfg.kind not in _ESTIMATORS:
        raise ValueError(f"no single estimator for kind {cfg.kind!r}")
    params = cfg.estimator_params()
    if n_components is not None:
        params["n_components"] = n_components
    if cfg.kind == "axes":
        from ..features import axis_of

        params["axes"], params["risk_signs"] = axis_of(list(columns or []), cfg)
    return __getattr__(_ESTIMATORS[cfg.kind])(**params)

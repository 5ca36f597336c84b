"""Regime estimators: scikit-learn-style, with filtered (causal) probabilities.

- :class:`GaussianHMMRegime`: Gaussian HMM (hmmlearn), forward-filtered;
- :class:`GaussianMixtureRegime`: Gaussian mixture (scikit-learn), optionally smoothed causally;
- :class:`JumpModelRegime`: statistical jump model, online inference;
- :class:`MarkovSwitchingRegime`: Markov-switching mean and variance (statsmodels), Hamilton-filtered;
- :class:`AxesRegime`: a risk axis and a leadership axis, each a persistent two-state HMM, combined;
- :class:`RulesRegime`: the transparent volatility-percentile and relative-strength rule (the baseline).
"""

from __future__ import annotations

from ..config import EstimatorConfig
from ._axes import AXES_STATES, AxesRegime
from ._base import RegimeEstimator, RestartsFailedError
from ._gmm import GaussianMixtureRegime
from ._hmm import GaussianHMMRegime
from ._jump import JumpModelRegime
from ._kernels import forward_filter
from ._markov import MarkovSwitchingRegime
from ._rules import RULE_STATES, RulesRegime

__all__ = [
    "GaussianHMMRegime",
    "GaussianMixtureRegime",
    "JumpModelRegime",
    "MarkovSwitchingRegime",
    "RegimeEstimator",
    "RestartsFailedError",
    "AxesRegime",
    "AXES_STATES",
    "RulesRegime",
    "RULE_STATES",
    "forward_filter",
    "make_estimator",
]


#: The estimator class of each kind that fits one estimator.
_ESTIMATORS: dict[str, type[RegimeEstimator]] = {
    "hmm": GaussianHMMRegime,
    "gmm": GaussianMixtureRegime,
    "jump": JumpModelRegime,
    "markov": MarkovSwitchingRegime,
    "rules": RulesRegime,
    "axes": AxesRegime,
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
    return _ESTIMATORS[cfg.kind](**params)

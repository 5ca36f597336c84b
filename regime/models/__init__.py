"""Regime estimators: scikit-learn-style, with filtered (causal) probabilities.

- :class:`GaussianHMMRegime`: Gaussian HMM (hmmlearn), forward-filtered;
- :class:`GaussianMixtureRegime`: Gaussian mixture (scikit-learn), optionally smoothed causally;
- :class:`JumpModelRegime`: statistical jump model, online inference;
- :class:`MarkovSwitchingRegime`: Markov-switching mean and variance (statsmodels), Hamilton-filtered;
- :class:`AxesRegime`: a risk axis and a leadership axis, each a persistent two-state HMM, combined;
- :class:`RulesRegime`: the transparent volatility-percentile and relative-strength rule (the baseline).
"""

from __future__ import annotations

from ..config import ModelConfig
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


def make_estimator(cfg: ModelConfig, n_components: int | None = None,
                   columns: list[str] | None = None) -> RegimeEstimator:
    """The estimator a (non-ensemble) model config names, with its parameters.

    ``columns`` (the selected feature names) tells the axes model which column feeds which axis.
    """
    k = n_components or cfg.n_components
    if cfg.kind == "hmm":
        return GaussianHMMRegime(
            n_components=k, covariance_type=cfg.covariance_type, n_init=cfg.n_init, n_iter=cfg.n_iter,
            tol=cfg.tol, sticky=cfg.sticky, reg_covar=cfg.reg_covar, random_state=cfg.random_state,
        )
    if cfg.kind == "gmm":
        return GaussianMixtureRegime(
            n_components=k, covariance_type=cfg.covariance_type, n_init=cfg.n_init, n_iter=cfg.n_iter,
            tol=cfg.tol, smoothing=cfg.smoothing, reg_covar=cfg.reg_covar, random_state=cfg.random_state,
        )
    if cfg.kind == "jump":
        return JumpModelRegime(
            n_components=k, jump_penalty=cfg.jump_penalty, n_init=cfg.n_init, n_iter=cfg.n_iter,
            temperature=cfg.temperature, random_state=cfg.random_state,
        )
    if cfg.kind == "markov":
        return MarkovSwitchingRegime(n_components=k, n_init=cfg.n_init, n_iter=cfg.n_iter,
                                     random_state=cfg.random_state)
    if cfg.kind == "axes":
        from ..features import axis_of

        axes, signs = axis_of(list(columns or []), cfg)
        return AxesRegime(axes=axes, risk_signs=signs, stress_shift=cfg.stress_shift, stress_floor=cfg.stress_floor, prior_days=cfg.prior_days,
                          calm_days=cfg.calm_days,
                          stress_days=cfg.stress_days, lead_days=cfg.lead_days, clip=cfg.clip,
                          risk_evidence=cfg.risk_evidence, lead_evidence=cfg.lead_evidence,
                          lead_ar=cfg.lead_ar, lead_combine=cfg.lead_combine, n_iter=cfg.n_iter,
                          tol=cfg.tol)
    if cfg.kind == "rules":
        return RulesRegime(threshold=cfg.threshold, hold_days=cfg.hold_days)
    raise ValueError(f"no single estimator for kind {cfg.kind!r}")

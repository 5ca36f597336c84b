"""Regime estimators: scikit-learn-style, with filtered (causal) probabilities.

- :class:`GaussianHMMRegime`: Gaussian HMM (hmmlearn), forward-filtered;
- :class:`GaussianMixtureRegime`: Gaussian mixture (scikit-learn), optionally smoothed causally;
- :class:`JumpModelRegime`: statistical jump model, online inference;
- :class:`MarkovSwitchingRegime`: Markov-switching mean and variance (statsmodels), Hamilton-filtered.
"""

from __future__ import annotations

from ..config import ModelConfig
from ._base import RegimeEstimator
from ._filter import forward_filter
from ._gmm import GaussianMixtureRegime
from ._hmm import GaussianHMMRegime
from ._jump import JumpModelRegime
from ._markov import MarkovSwitchingRegime

__all__ = [
    "GaussianHMMRegime",
    "GaussianMixtureRegime",
    "JumpModelRegime",
    "MarkovSwitchingRegime",
    "RegimeEstimator",
    "forward_filter",
    "make_estimator",
]


def make_estimator(cfg: ModelConfig, n_components: int | None = None) -> RegimeEstimator:
    """The estimator a (non-ensemble) model config names, with its parameters."""
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
    raise ValueError(f"no single estimator for kind {cfg.kind!r}")

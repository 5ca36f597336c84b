"""Regime estimators: scikit-learn-style, with filtered (causal) probabilities."""

from __future__ import annotations

from ..config import ModelConfig
from ._base import RegimeEstimator
from ._filter import forward_filter
from ._gmm import GaussianMixtureRegime
from ._hmm import GaussianHMMRegime

__all__ = ["GaussianHMMRegime", "GaussianMixtureRegime", "RegimeEstimator", "forward_filter", "make_estimator"]


def make_estimator(cfg: ModelConfig) -> RegimeEstimator:
    """The estimator a model config names, with its parameters."""
    common = dict(
        n_components=cfg.n_components,
        covariance_type=cfg.covariance_type,
        n_init=cfg.n_init,
        n_iter=cfg.n_iter,
        tol=cfg.tol,
        reg_covar=cfg.reg_covar,
        random_state=cfg.random_state,
    )
    if cfg.kind == "hmm":
        return GaussianHMMRegime(sticky=cfg.sticky, **common)
    return GaussianMixtureRegime(smoothing=cfg.smoothing, **common)

"""Shared parts of the regime estimators."""

from __future__ import annotations

import numpy as np
from scipy.stats import multivariate_normal
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils.validation import check_is_fitted, validate_data


class RegimeEstimator(DensityMixin, BaseEstimator):
    """Base of the regime estimators: unsupervised, time-ordered rows.

    Subclasses set ``means_`` (n_states, n_features) and implement
    ``predict_proba`` with filtered (causal) probabilities: row t of the
    output depends on rows 0..t of ``X`` only.
    """

    def _validate(self, X, reset: bool) -> np.ndarray:
        return validate_data(self, X, dtype=np.float64, reset=reset, ensure_min_samples=1 if not reset else 2)

    def _check_n_samples(self, X: np.ndarray) -> None:
        if X.shape[0] < self.n_components:
            raise ValueError(
                f"n_samples={X.shape[0]} should be >= n_components={self.n_components}; "
                "give more rows or fewer states"
            )

    def predict(self, X) -> np.ndarray:
        """The most probable state of each row under the filtered probabilities."""
        return np.argmax(self.predict_proba(X), axis=1)

    def _n_parameters(self) -> int:
        k, d = self.means_.shape
        cov = {"full": k * d * (d + 1) / 2, "diag": k * d, "spherical": k, "tied": d * (d + 1) / 2}
        return int(k * d + cov[self.covariance_type] + self._n_weight_parameters())

    def bic(self, X) -> float:
        """Bayesian information criterion on ``X`` (lower is better)."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        return float(-2.0 * self.score(X) * X.shape[0] + self._n_parameters() * np.log(X.shape[0]))


def gaussian_log_emission(X: np.ndarray, means: np.ndarray, covars: np.ndarray) -> np.ndarray:
    """``log N(x_t; mean_k, cov_k)`` for every row and state.

    ``covars`` holds one full covariance matrix per state.
    """
    out = np.empty((X.shape[0], means.shape[0]))
    for j in range(means.shape[0]):
        out[:, j] = multivariate_normal.logpdf(X, means[j], covars[j], allow_singular=True)
    return out

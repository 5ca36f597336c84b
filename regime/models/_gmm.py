"""Gaussian mixture clustering regime model, wrapping scikit-learn."""

from __future__ import annotations

import warnings

import numpy as np
from scipy.signal import lfilter
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from sklearn.utils.validation import check_is_fitted

from ._base import RegimeEstimator


class GaussianMixtureRegime(RegimeEstimator):
    """Gaussian mixture over days, with optional causal smoothing of its probabilities.

    Each day's cluster probabilities depend on that day's features only; with
    ``smoothing > 0`` they are exponentially averaged over past days
    (``p~_t = s p~_{t-1} + (1 - s) p_t``), which is still causal.

    Parameters
    ----------
    n_components : int, default=3
    covariance_type : {"full", "diag", "spherical", "tied"}, default="full"
    n_init : int, default=5
        Restarts; scikit-learn keeps the best lower bound.
    n_iter : int, default=200
        Maximum EM iterations per restart.
    tol : float, default=1e-3
    smoothing : float in [0, 1), default=0.0
    reg_covar : float, default=1e-3
    warm_start : bool, default=False
        When already fitted, refit from the current parameters (one run).
    random_state : int, RandomState or None, default=None

    Attributes
    ----------
    weights_, means_ : ndarray
    converged_ : bool
        scikit-learn's: the best restart's lower bound gain fell below tol.
    n_iter_ : int
    lower_bound_ : float
    n_features_in_ : int
    model_ : sklearn.mixture.GaussianMixture
    """

    def __init__(
        self,
        n_components: int = 3,
        covariance_type: str = "full",
        n_init: int = 5,
        n_iter: int = 200,
        tol: float = 1e-3,
        smoothing: float = 0.0,
        reg_covar: float = 1e-3,
        warm_start: bool = False,
        random_state=None,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.n_init = n_init
        self.n_iter = n_iter
        self.tol = tol
        self.smoothing = smoothing
        self.reg_covar = reg_covar
        self.warm_start = warm_start
        self.random_state = random_state

    def _n_weight_parameters(self) -> int:
        return self.n_components - 1

    def fit(self, X, y=None) -> GaussianMixtureRegime:
        """Fit the mixture by EM with ``n_init`` restarts.

        Returns
        -------
        self
        """
        warm = self.warm_start and hasattr(self, "model_")
        X = self._validate(X, reset=not warm)
        self._check_n_samples(X)
        if warm:
            gm = self.model_
            gm.set_params(warm_start=True, max_iter=self.n_iter, tol=self.tol)
        else:
            gm = GaussianMixture(
                n_components=self.n_components,
                covariance_type=self.covariance_type,
                n_init=self.n_init,
                max_iter=self.n_iter,
                tol=self.tol,
                reg_covar=self.reg_covar,
                random_state=self.random_state,
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gm.fit(X)
        self.model_ = gm
        self.weights_ = gm.weights_
        self.means_ = gm.means_
        self.converged_ = bool(gm.converged_)
        self.n_iter_ = int(gm.n_iter_)
        self.lower_bound_ = float(gm.lower_bound_)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Causal cluster probabilities, exponentially smoothed over past rows if ``smoothing``.

        Row t uses rows 0..t of ``X`` only.

        Returns
        -------
        ndarray of shape (n_samples, n_components)
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        raw = self.model_.predict_proba(X)
        if self.smoothing == 0:
            return raw
        s = self.smoothing
        # y[t] = s y[t-1] + (1 - s) x[t], started at y[0] = x[0]: a causal first-order filter
        out, _ = lfilter([1.0 - s], [1.0, -s], raw, axis=0, zi=s * raw[:1])
        return out

    def score(self, X, y=None) -> float:
        """Mean per-sample log-likelihood."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        return float(self.model_.score(X))


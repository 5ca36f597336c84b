"""Gaussian mixture clustering regime model, wrapping scikit-learn."""

from __future__ import annotations

import warnings
from numbers import Real

import numpy as np
import scipy.signal  # noqa: F401 - loaded, MixtureFilter smooths long series with its lfilter
from sklearn.cluster import kmeans_plusplus
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ._base import COVARIANCE_TYPES, NON_NEGATIVE, RESTART_CONSTRAINTS, RegimeEstimator, Run
from ._filters import MixtureFilter


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
        Restarts from k-means starts; the best lower bound wins.
    n_iter : int, default=200
        Maximum EM iterations per restart.
    tol : float, default=1e-3
    smoothing : float in [0, 1), default=0.0
    reg_covar : float, default=1e-3
    warm_start : bool, default=False
        When already fitted, refit from the current parameters (one run).
    random_state : int, RandomState or None, default=0
        Seeds the restarts' starting points; the default, like the config's, makes fits repeatable.
    n_jobs : int or None, default=None
        Processes the ``n_init`` restarts run on (joblib; -1: every core). None means 1. The
        result does not depend on it: every restart's start is drawn beforehand, in order.

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

    _parameter_constraints: dict = {
        **RESTART_CONSTRAINTS,
        "covariance_type": [COVARIANCE_TYPES],
        "tol": [NON_NEGATIVE],
        "smoothing": [Interval(Real, 0, 1, closed="left")],
        "reg_covar": [NON_NEGATIVE],
    }

    def __init__(
        self,
        *,
        n_components: int = 3,
        covariance_type: str = "full",
        n_init: int = 5,
        n_iter: int = 200,
        tol: float = 1e-3,
        smoothing: float = 0.0,
        reg_covar: float = 1e-3,
        warm_start: bool = False,
        random_state=0,
        n_jobs: int | None = None,
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
        self.n_jobs = n_jobs

    def _n_weight_parameters(self) -> int:
        return self.n_components - 1

    def _init(self, X: np.ndarray, warm: bool):
        """The mixture each run fits: a new one, or (warm) the current one.

        A new one draws its k-means start from the shared stream: one scikit-learn fit with ``n_init``
        restarts draws each restart's start from one ``RandomState`` in turn, so single-restart fits sharing
        that stream draw exactly the same numbers. Every start is drawn before any run (a run may execute in
        another process): each mixture gets its own copy of the stream as it stands before its k-means start,
        and the shared stream is then moved past that start's draws.
        """

        def new(rng: np.random.RandomState) -> GaussianMixture:
            own = np.random.RandomState()
            own.set_state(rng.get_state())
            # scikit-learn's k-means start draws only in its k-means++ seeding, and k-means++ draws the same
            # count of numbers whatever the data: seeding once here moves the stream exactly as the run will
            kmeans_plusplus(X, self.n_components, random_state=rng)
            return GaussianMixture(
                n_components=self.n_components,
                covariance_type=self.covariance_type,
                n_init=1,
                max_iter=self.n_iter,
                tol=self.tol,
                reg_covar=self.reg_covar,
                random_state=own,
            )

        def current(rng: np.random.RandomState) -> GaussianMixture:
            return self.model_.set_params(warm_start=True, max_iter=self.n_iter, tol=self.tol)

        return current if warm else new

    @staticmethod
    def _fit_one(X: np.ndarray, gm: GaussianMixture) -> Run:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gm.fit(X)
        return Run(gm, gm.lower_bound_, gm.lower_bound_, gm.n_iter_, gm.converged_)

    def _fit(self, X: np.ndarray, warm: bool) -> Run:
        """EM with ``n_init`` restarts (one run from the current parameters when warm); keep the best bound."""
        best, _ = self._fit_restarts(X, self._fit_one, self._init(X, warm), warm=warm)
        gm = best.model
        if not warm:  # the settings of the one scikit-learn fit with n_init restarts these runs reproduce
            gm.set_params(n_init=self.n_init, random_state=self.random_state)
        self.model_ = gm
        self.weights_ = gm.weights_
        self.means_ = gm.means_
        return best

    def predict_proba(self, X) -> np.ndarray:
        """Causal cluster probabilities, exponentially smoothed over past rows if ``smoothing``.

        Row t uses rows 0..t of ``X`` only.

        Returns
        -------
        ndarray of shape (n_samples, n_components)
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        return self.online_filter().run(X)[0]

    def online_filter(self) -> MixtureFilter:
        """The mixture's posteriors with the causal smoothing (what :meth:`predict_proba` runs)."""
        check_is_fitted(self)
        gm = self.model_
        return MixtureFilter(gm.weights_.copy(), gm.means_.copy(), np.array(gm.precisions_cholesky_, copy=True),
                             self.covariance_type, float(self.smoothing))

    def score(self, X, y=None) -> float:
        """Mean per-sample log-likelihood."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        return float(self.model_.score(X))


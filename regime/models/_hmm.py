"""Gaussian hidden Markov regime model, wrapping hmmlearn."""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager

import numpy as np
from hmmlearn.hmm import GaussianHMM
from sklearn.utils.validation import check_is_fitted

from ._base import (
    COVARIANCE_TYPES,
    NON_NEGATIVE,
    RESTART_CONSTRAINTS,
    SEED_MAX,
    RegimeEstimator,
    Run,
)
from ._filters import GaussianDensity, HMMFilter
from ._kernels import forward_filter

log = logging.getLogger(__name__)


@contextmanager
def _quiet_hmmlearn():
    """hmmlearn logs every non-monotonic EM step; with a sticky (MAP) prior that is expected."""
    logger = logging.getLogger("hmmlearn.base")
    old = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(old)


class GaussianHMMRegime(RegimeEstimator):
    """Gaussian HMM whose probabilities are filtered: no look-ahead.

    hmmlearn fits the parameters by EM (Baum-Welch); this class keeps the best
    of ``n_init`` restarts by training log-likelihood, reports convergence
    honestly, and classifies with the forward filter only.

    Parameters
    ----------
    n_components : int, default=3
        Number of hidden states.
    covariance_type : {"full", "diag", "spherical", "tied"}, default="full"
    n_init : int, default=5
        EM restarts from different seeds; the best log-likelihood wins.
    n_iter : int, default=200
        Maximum EM iterations per restart.
    tol : float, default=1e-3
        EM stops when the log-likelihood gains less than this.
    sticky : float, default=50.0
        Dirichlet pseudo-counts added to the diagonal of the transition
        matrix: larger values favour persistent states.
    reg_covar : float, default=1e-3
        Floor added to covariance diagonals (hmmlearn's ``min_covar``).
    warm_start : bool, default=False
        When already fitted, refit from the current parameters with a single
        run of EM (``n_init`` is then ignored), as scikit-learn's
        ``GaussianMixture`` does.
    random_state : int, RandomState or None, default=0
        Seeds the restarts' starting points; the default, like the config's, makes fits repeatable.
    n_jobs : int or None, default=None
        Processes the ``n_init`` restarts run on (joblib; -1: every core). None means 1. The
        result does not depend on it: every restart's start is drawn beforehand, in order.

    Attributes
    ----------
    startprob_ : ndarray of shape (n_components,)
    transmat_ : ndarray of shape (n_components, n_components)
    means_ : ndarray of shape (n_components, n_features)
    covars_ : ndarray of shape (n_components, n_features, n_features)
        Full covariance matrices, whatever ``covariance_type``.
    converged_ : bool
        True only if the best restart stopped because its log-likelihood
        gain fell below ``tol`` (hmmlearn also counts running out of
        iterations as convergence; this class does not).
    n_iter_ : int
        EM iterations of the best restart.
    lower_bound_ : float
        Mean per-sample training log-likelihood of the best restart.
    init_scores_ : ndarray of shape (n_init,)
        Mean per-sample log-likelihood of every restart (NaN if it failed).
    n_features_in_ : int
    model_ : hmmlearn.hmm.GaussianHMM
        The fitted hmmlearn model of the best restart.
    """

    _parameter_constraints: dict = {
        **RESTART_CONSTRAINTS,
        "covariance_type": [COVARIANCE_TYPES],
        "tol": [NON_NEGATIVE],
        "sticky": [NON_NEGATIVE],
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
        sticky: float = 50.0,
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
        self.sticky = sticky
        self.reg_covar = reg_covar
        self.warm_start = warm_start
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _weight_prior(self) -> np.ndarray:
        return 1.0 + self.sticky * np.eye(self.n_components)

    def _n_weight_parameters(self) -> int:
        k = self.n_components
        return (k - 1) + k * (k - 1)

    def _init(self, warm: bool):
        """The model each run fits: a new one seeded from the stream, or (warm) the current one."""

        def new(rng: np.random.RandomState) -> GaussianHMM:
            return GaussianHMM(
                n_components=self.n_components,
                covariance_type=self.covariance_type,
                n_iter=self.n_iter,
                tol=self.tol,
                min_covar=self.reg_covar,
                transmat_prior=self._weight_prior(),
                random_state=int(rng.randint(SEED_MAX)),
                implementation="log",
            )

        def current(rng: np.random.RandomState) -> GaussianHMM:
            rng.randint(SEED_MAX)  # a warm refit has always drawn (and ignored) one seed: the stream stays the same
            hmm = self.model_
            hmm.init_params = ""
            hmm.n_iter = self.n_iter
            hmm.tol = self.tol
            return hmm

        return current if warm else new

    def _fit_one(self, X: np.ndarray, hmm: GaussianHMM) -> Run:
        with warnings.catch_warnings(), _quiet_hmmlearn():
            warnings.simplefilter("ignore")
            hmm.fit(X)
        score = hmm.score(X) / X.shape[0]
        hist = list(hmm.monitor_.history)
        # hmmlearn also counts running out of iterations as convergence; this class does not
        converged = len(hist) >= 2 and abs(hist[-1] - hist[-2]) < self.tol
        return Run(hmm, score, score, hmm.monitor_.iter, converged)

    def _fit(self, X: np.ndarray, warm: bool) -> Run:
        """EM with ``n_init`` restarts (one run when warm); keep the best log-likelihood."""
        best, self.init_scores_ = self._fit_restarts(X, self._fit_one, self._init(warm), warm=warm,
                                                     errors=(ValueError, np.linalg.LinAlgError))
        hmm = best.model
        self.model_ = hmm
        self.startprob_ = np.asarray(hmm.startprob_, dtype=float)
        self.transmat_ = np.asarray(hmm.transmat_, dtype=float)
        self.means_ = np.asarray(hmm.means_, dtype=float)
        self.covars_ = np.asarray(hmm.covars_, dtype=float)
        return best

    def online_filter(self) -> HMMFilter:
        """The forward filter with the fitted parameters (what :meth:`predict_proba` runs)."""
        check_is_fitted(self)
        return HMMFilter(self.startprob_.copy(), self.transmat_.copy(),
                         GaussianDensity(self.means_.copy(), self.covars_.copy()))

    def _log_emission(self, X: np.ndarray) -> np.ndarray:
        return GaussianDensity(self.means_, self.covars_).log_pdf(X)

    def predict_proba(self, X) -> np.ndarray:
        """Filtered state probabilities ``P(s_t | x_1..x_t)``.

        Row t uses rows 0..t of ``X`` only, so appending later rows never
        changes earlier output. These are the probabilities every label,
        score and backtest uses.

        Returns
        -------
        ndarray of shape (n_samples, n_components)
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        return self.online_filter().run(X)[0]

    def predict_proba_predicted(self, X) -> np.ndarray:
        """One-step-ahead probabilities ``P(s_t | x_1..x_{t-1})``."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        return forward_filter(self._log_emission(X), self.startprob_, self.transmat_)[1]

    def predict_proba_smoothed(self, X) -> np.ndarray:
        """Smoothed probabilities ``P(s_t | x_1..x_T)``: they LOOK AHEAD.

        For after-the-fact analysis only; never feed a label, score,
        backtest or signal from them.
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        return self.model_.predict_proba(X)

    def score(self, X, y=None) -> float:
        """Mean per-sample log-likelihood of ``X`` as one sequence."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        return forward_filter(self._log_emission(X), self.startprob_, self.transmat_)[2] / X.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags

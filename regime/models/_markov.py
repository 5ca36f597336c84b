"""Markov-switching regression (statsmodels) on one key series, with Hamilton-filtered probabilities."""

from __future__ import annotations

import inspect
import logging
import warnings
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

if TYPE_CHECKING:  # imported on first use: scoring with another kind never loads statsmodels
    from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

from ._base import RESTART_CONSTRAINTS, SEED_MAX, RegimeEstimator, RestartsFailedError, Run

log = logging.getLogger(__name__)

@cache
def _markov_regression() -> type:
    """statsmodels' ``MarkovRegression``, imported on first use (it costs about 40 MB and 0.2 s)."""
    from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

    return MarkovRegression


@cache
def _fit_takes_rng() -> bool:
    """statsmodels >= 0.15 takes the random search's generator as ``rng``; older versions draw from numpy's global
    RNG."""
    return "rng" in inspect.signature(_markov_regression().fit).parameters


def _search_fit(mod: MarkovRegression, seed: int, **kwargs):
    """``mod.fit`` with a random search for start parameters drawn from ``RandomState(seed)``.

    The caller's global numpy stream is left as it was: older statsmodels, which search with numpy's global
    RNG, see it seeded with ``seed`` (the same draws) and restored afterwards.
    """
    if _fit_takes_rng():
        return mod.fit(search_reps=10, rng=np.random.RandomState(seed), **kwargs)
    state = np.random.get_state()
    try:
        np.random.seed(seed)
        return mod.fit(search_reps=10, **kwargs)
    finally:
        np.random.set_state(state)


class MarkovSwitchingRegime(RegimeEstimator):
    """Markov-switching mean and variance on one series (statsmodels ``MarkovRegression``).

    The series is the first column of ``X`` (configure the model's features so
    that it is the key series, for example the equal-weight vs cap-weight
    spread). Probabilities are Hamilton-filtered, ``P(s_t | y_1..y_t)``: never
    the Kim-smoothed ones.

    Parameters
    ----------
    n_components : int, default=3
    n_init : int, default=5
        Restarts, each from the best of a random search for starting values;
        the best likelihood wins.
    n_iter : int, default=200
        Maximum iterations of the likelihood optimiser.
    warm_start : bool, default=False
        When already fitted, start from the current parameters.
    random_state : int, RandomState or None, default=0
        Seeds the restarts' starting points; the default, like the config's, makes fits repeatable.
    n_jobs : int or None, default=None
        Processes the ``n_init`` restarts run on (joblib; -1: every core). None means 1. The
        result does not depend on it: every restart's start is drawn beforehand, in order.

    Attributes
    ----------
    params_ : ndarray
        statsmodels' parameter vector.
    means_ : ndarray of shape (n_components, n_features)
        Per-state mean of the series in the first column, zeros elsewhere.
    converged_ : bool
        statsmodels' optimiser convergence flag.
    n_iter_ : int
        Optimiser (BFGS) iterations of the kept run, counted through the optimiser's callback.
    lower_bound_ : float
        Mean per-sample log-likelihood.
    n_features_in_ : int
    """

    covariance_type = "spherical"
    _parameter_constraints: dict = {**RESTART_CONSTRAINTS}

    def __init__(self, *, n_components: int = 3, n_init: int = 5, n_iter: int = 200, warm_start: bool = False,
                 random_state=0, n_jobs: int | None = None) -> None:
        self.n_components = n_components
        self.n_init = n_init
        self.n_iter = n_iter
        self.warm_start = warm_start
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _n_weight_parameters(self) -> int:
        return self.n_components * (self.n_components - 1)

    def _n_parameters(self) -> int:
        return self._n_weight_parameters() + 2 * self.n_components

    def _model(self, y: np.ndarray) -> MarkovRegression:
        return _markov_regression()(y, k_regimes=self.n_components, trend="c", switching_variance=True)

    def _fit(self, X: np.ndarray, warm: bool) -> Run:
        """Maximum likelihood (EM then quasi-Newton), each restart from the best of a random search.

        A warm start first tries the current parameters; if that fails, ``n_init + 2`` restarts follow.
        """
        series = X[:, 0]
        scale = float(series.std()) or 1.0
        means = np.zeros((self.n_components, X.shape[1]))
        if self.n_components == 1:  # one regime: nothing switches
            self.scale_ = scale
            self.params_ = np.array([series.mean() / scale, 1.0])
            means[0, 0] = series.mean()
            self.means_ = means
            return Run(None, np.nan, self.score(X), 0, True)
        mod = self._model(series / scale)

        def fit_one(X: np.ndarray, start: int | np.ndarray) -> Run:
            """From ``start`` parameters (an array), or from a random search seeded with ``start`` (an int)."""
            steps: list[None] = []  # the optimiser calls back once an iteration (BFGS reports no count)
            kwargs = dict(maxiter=self.n_iter, disp=False, callback=lambda *_: steps.append(None))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if isinstance(start, np.ndarray):
                    res = mod.fit(start_params=start, em_iter=5, **kwargs)
                else:
                    res = _search_fit(mod, start, **kwargs)
            info = res.mle_retvals or {}
            return Run(res, res.llf, res.llf / X.shape[0], info.get("iterations", len(steps)),
                       info.get("converged", False))

        def current(rng: np.random.RandomState) -> np.ndarray:
            return self._unscaled_to(self.params_, self.scale_, scale)

        def seed(rng: np.random.RandomState) -> int:
            return rng.randint(SEED_MAX)

        errors = (ValueError, np.linalg.LinAlgError, RuntimeError)
        try:
            try:
                best, _ = self._fit_restarts(X, fit_one, current if warm else seed, warm=warm, errors=errors)
            except RestartsFailedError:
                if not warm:
                    raise
                best, _ = self._fit_restarts(X, fit_one, seed, warm=False, n_init=self.n_init + 2, errors=errors)
        except RestartsFailedError as exc:
            warnings.warn(
                f"{exc}; using moment-based parameters from quantile groups (converged_ = False)",
                ConvergenceWarning,
                stacklevel=4,
            )
            self.scale_ = scale
            self.params_ = self._moment_params(mod, series / scale)
            best = Run(None, np.nan, self.score(X), 0, False, warned=True)
        else:
            self.scale_ = scale
            self.params_ = np.asarray(best.model.params, dtype=float)
        means[:, 0] = self._state_means() * scale
        self.means_ = means
        return best

    def _moment_params(self, mod: MarkovRegression, y: np.ndarray) -> np.ndarray:
        """Means and variances of quantile groups, persistent transitions: a fallback that always filters."""
        k = self.n_components
        groups = np.array_split(np.sort(y), k)
        values = {}
        for name in mod.param_names:
            kind, _, rest = name.partition("[")
            idx = rest.rstrip("]")
            if kind == "p":
                i, j = (int(v) for v in idx.split("->"))
                values[name] = 0.9 if i == j else 0.1 / (k - 1)
            elif kind == "const":
                values[name] = float(groups[int(idx)].mean()) if len(groups[int(idx)]) else 0.0
            else:
                g = groups[int(idx)]
                values[name] = max(float(g.var()) if len(g) > 1 else 1.0, 1e-3)
        return np.array([values[n] for n in mod.param_names])

    def _state_means(self) -> np.ndarray:
        k = self.n_components
        return self.params_[k * (k - 1): k * (k - 1) + k]

    def _unscaled_to(self, params: np.ndarray, old: float, new: float) -> np.ndarray:
        p = params.copy()
        k = self.n_components
        p[k * (k - 1): k * (k - 1) + k] *= old / new
        p[k * (k - 1) + k:] *= (old / new) ** 2
        return p

    def predict_proba(self, X) -> np.ndarray:
        """Hamilton-filtered probabilities; row t uses rows 0..t only."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        if self.n_components == 1:
            return np.ones((X.shape[0], 1))
        mod = self._model(X[:, 0] / self.scale_)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = mod.filter(self.params_)
        probs = np.asarray(res.filtered_marginal_probabilities)
        return probs.reshape(X.shape[0], self.n_components)

    def score(self, X, y=None) -> float:
        """Mean per-sample log-likelihood."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        y = X[:, 0] / self.scale_
        if self.n_components == 1:
            llf = float(np.sum(-0.5 * np.log(2 * np.pi) - 0.5 * (y - self.params_[0]) ** 2))
            return float((llf - X.shape[0] * np.log(self.scale_)) / X.shape[0])
        mod = self._model(y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            llf = mod.loglike(self.params_)
        return float((llf - X.shape[0] * np.log(self.scale_)) / X.shape[0])

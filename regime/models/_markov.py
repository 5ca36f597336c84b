"""Markov-switching regression (statsmodels) on one key series, with Hamilton-filtered probabilities."""

from __future__ import annotations

import inspect
import logging
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

from ._base import RegimeEstimator

log = logging.getLogger(__name__)

#: statsmodels >= 0.15 takes the random search's generator as ``rng``; older versions draw from numpy's global RNG
_FIT_TAKES_RNG = "rng" in inspect.signature(MarkovRegression.fit).parameters


def _search_fit(mod: MarkovRegression, seed: int, **kwargs):
    """``mod.fit`` with a random search for start parameters drawn from ``RandomState(seed)``.

    The caller's global numpy stream is left as it was: older statsmodels, which search with numpy's global
    RNG, see it seeded with ``seed`` (the same draws) and restored afterwards.
    """
    if _FIT_TAKES_RNG:
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
    n_init : int, default=3
        Restarts, each from the best of a random search for starting values;
        the best likelihood wins.
    n_iter : int, default=200
        Maximum iterations of the likelihood optimiser.
    warm_start : bool, default=False
        When already fitted, start from the current parameters.
    random_state : int, RandomState or None, default=None

    Attributes
    ----------
    params_ : ndarray
        statsmodels' parameter vector.
    means_ : ndarray of shape (n_components, n_features)
        Per-state mean of the series in the first column, zeros elsewhere.
    converged_ : bool
        statsmodels' optimiser convergence flag.
    n_iter_ : int
    lower_bound_ : float
        Mean per-sample log-likelihood.
    n_features_in_ : int
    """

    covariance_type = "spherical"

    def __init__(self, n_components: int = 3, n_init: int = 3, n_iter: int = 200, warm_start: bool = False,
                 random_state=None) -> None:
        self.n_components = n_components
        self.n_init = n_init
        self.n_iter = n_iter
        self.warm_start = warm_start
        self.random_state = random_state

    def _n_weight_parameters(self) -> int:
        return self.n_components * (self.n_components - 1)

    def _n_parameters(self) -> int:
        return self._n_weight_parameters() + 2 * self.n_components

    def _model(self, y: np.ndarray) -> MarkovRegression:
        return MarkovRegression(y, k_regimes=self.n_components, trend="c", switching_variance=True)

    def fit(self, X, y=None) -> MarkovSwitchingRegime:
        """Fit by maximum likelihood (EM then quasi-Newton).

        Returns
        -------
        self
        """
        warm = self.warm_start and hasattr(self, "params_")
        X = self._validate(X, reset=not warm)
        self._check_n_samples(X)
        series = X[:, 0]
        scale = float(series.std()) or 1.0
        means = np.zeros((self.n_components, X.shape[1]))
        if self.n_components == 1:  # one regime: nothing switches
            self.scale_ = scale
            self.params_ = np.array([series.mean() / scale, 1.0])
            self.converged_, self.n_iter_ = True, 0
            means[0, 0] = series.mean()
            self.means_ = means
            self.lower_bound_ = self.score(X)
            return self
        mod = self._model(series / scale)
        rng = check_random_state(self.random_state)
        kwargs = dict(maxiter=self.n_iter, disp=False)
        res, error = None, None
        if warm:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    start = self._unscaled_to(self.params_, self.scale_, scale)
                    res = mod.fit(start_params=start, em_iter=5, **kwargs)
                if not np.isfinite(res.llf):
                    res, error = None, "non-finite likelihood"
            except (ValueError, np.linalg.LinAlgError, RuntimeError) as exc:
                error = str(exc)
        if res is None:  # n_init restarts, each from the best of a random search; keep the best likelihood
            for _ in range(max(self.n_init, 1) + (2 if warm else 0)):
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        cand = _search_fit(mod, rng.randint(np.iinfo(np.int32).max), **kwargs)
                    if np.isfinite(cand.llf) and (res is None or cand.llf > res.llf):
                        res = cand
                    elif not np.isfinite(cand.llf):
                        error = "non-finite likelihood"
                except (ValueError, np.linalg.LinAlgError, RuntimeError) as exc:
                    error = str(exc)
        self.scale_ = scale
        if res is None:
            warnings.warn(
                f"MarkovSwitchingRegime: the likelihood optimiser failed ({error}); using moment-based "
                "parameters from quantile groups (converged_ = False)",
                ConvergenceWarning,
                stacklevel=2,
            )
            self.params_ = self._moment_params(mod, series / scale)
            self.converged_, self.n_iter_ = False, 0
            self.lower_bound_ = self.score(X)
        else:
            self.params_ = np.asarray(res.params, dtype=float)
            self.converged_ = bool(res.mle_retvals.get("converged", False)) if res.mle_retvals else False
            self.n_iter_ = int(res.mle_retvals.get("iterations", 0)) if res.mle_retvals else 0
            self.lower_bound_ = float(res.llf / X.shape[0])
        means[:, 0] = self._state_means() * scale
        self.means_ = means
        return self

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

"""Shared parts of the regime estimators: parameter checks, the fit skeleton and the restart loop."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, DensityMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

#: Parameter constraints the estimators share (scikit-learn's ``_param_validation``).
COUNT = Interval(Integral, 1, None, closed="left")
NON_NEGATIVE = Interval(Real, 0, None, closed="left")
POSITIVE = Interval(Real, 0, None, closed="neither")
COVARIANCE_TYPES = StrOptions({"full", "diag", "spherical", "tied"})
RESTART_CONSTRAINTS: dict[str, list] = {
    "n_components": [COUNT],
    "n_init": [COUNT],
    "n_iter": [COUNT],
    "warm_start": ["boolean"],
    "random_state": ["random_state"],
    "n_jobs": [Integral, None],
}

#: Restart seeds are drawn as ``rng.randint(SEED_MAX)``.
SEED_MAX = np.iinfo(np.int32).max


class RestartsFailedError(ValueError):
    """Every restart (or the single warm-started run) of a fit failed."""


@dataclass
class Run:
    """The outcome of one restart.

    Attributes
    ----------
    model : object
        Whatever the estimator keeps from the run if it wins (a fitted object, parameters).
    score : float
        Higher is better; the best finite score wins, the first of equal scores. Non-finite: a failed run.
    lower_bound : float
        The estimator's ``lower_bound_`` if the run wins.
    n_iter : int
    converged : bool
    warned : bool
        The estimator has already warned about this run (a fallback): ``fit`` adds no convergence warning.
    """

    model: Any
    score: float
    lower_bound: float
    n_iter: int
    converged: bool
    warned: bool = False


@dataclass(frozen=True)
class _Failed:
    """A restart that raised one of the estimator's run-failing exceptions: its message."""

    error: str


def _attempt(fit_one: Callable[[np.ndarray, Any], Run], X: np.ndarray, start: Any,
             errors: tuple[type[BaseException], ...]) -> Run | _Failed:
    """One restart, run in this process or a joblib worker: its run, or its failure if it raised ``errors``."""
    try:
        return fit_one(X, start)
    except errors as exc:
        return _Failed(str(exc))


class RegimeEstimator(DensityMixin, BaseEstimator):
    """Base of the regime estimators: unsupervised, time-ordered rows.

    Subclasses set ``means_`` (n_states, n_features), implement ``_fit(X, warm)`` and ``predict_proba``
    with filtered (causal) probabilities: row t of the output depends on rows 0..t of ``X`` only.
    ``fit`` validates the parameters and ``X``, decides whether to warm-start (:meth:`_is_warm`), calls
    ``_fit`` (which restarts with :meth:`_fit_restarts` where it restarts) and records the kept run's
    ``converged_``, ``n_iter_`` and ``lower_bound_``; ``converged_`` is what marks an estimator as fitted.
    """

    _parameter_constraints: dict = {}

    def __setstate__(self, state: dict) -> None:
        """Unpickle; a parameter added since the estimator was pickled (``n_jobs``) takes its default.

        Stored models (``model.joblib``) hold their estimators: without this, an older one would lack the
        attribute and fail in ``get_params``, ``clone`` or its repr.
        """
        super().__setstate__(state)
        for name, param in inspect.signature(type(self).__init__).parameters.items():
            if param.kind is inspect.Parameter.KEYWORD_ONLY and not hasattr(self, name):
                setattr(self, name, param.default)

    def _validate(self, X, reset: bool) -> np.ndarray:
        return validate_data(self, X, dtype=np.float64, reset=reset, ensure_min_samples=1 if not reset else 2)

    def _check_n_samples(self, X: np.ndarray) -> None:
        if X.shape[0] < self.n_components:
            raise ValueError(
                f"n_samples={X.shape[0]} should be >= n_components={self.n_components}; "
                "give more rows or fewer states"
            )

    def _is_warm(self) -> bool:
        """Whether this fit starts from the current parameters: ``warm_start`` and an earlier fit."""
        return bool(self.warm_start) and hasattr(self, "converged_")

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit on the training rows; with ``warm_start``, an already fitted estimator refits from its parameters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One row per day, in time order.
        y : ignored

        Returns
        -------
        self
        """
        warm = self._is_warm()
        X = self._validate(X, reset=not warm)
        self._check_n_samples(X)
        self._record_fit(self._fit(X, warm))
        return self

    def _fit(self, X: np.ndarray, warm: bool) -> Run:  # pragma: no cover - every estimator overrides it
        """Fit the estimator's own parameters; return the run whose convergence ``fit`` records."""
        raise NotImplementedError

    def _fit_restarts(
        self,
        X: np.ndarray,
        fit_one: Callable[[np.ndarray, Any], Run],
        init: Callable[[np.random.RandomState], Any],
        *,
        warm: bool,
        n_init: int | None = None,
        errors: tuple[type[BaseException], ...] = (),
    ) -> tuple[Run, np.ndarray]:
        """Fit from several starts and keep the best run: the restart loop every restarting estimator shares.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Validated training rows.
        fit_one : callable
            ``fit_one(X, start) -> Run``: one run from one start.
        init : callable
            ``init(rng) -> start``, called once for each run, in order and before any run starts, with
            ``check_random_state(self.random_state)``: each estimator draws its starts (seeds, centres) from
            that stream exactly as it always has. A start must hold everything random its run needs (a run
            may execute in another process, see ``n_jobs``), and ``init`` must leave the stream where the
            run would have.
        warm : bool
            A warm start: a single run.
        n_init : int, optional
            Runs from scratch (default ``self.n_init``).
        errors : tuple of exception types
            Exceptions that fail one run (its score is NaN) rather than the whole fit.

        Returns
        -------
        best : Run
        scores : ndarray of shape (n_runs,)
            Every run's score, NaN for a run that raised.

        Raises
        ------
        RestartsFailedError
            No run gave a finite score.
        """
        rng = check_random_state(getattr(self, "random_state", None))
        n_runs = 1 if warm else (self.n_init if n_init is None else n_init)
        # every start is drawn here, in order, before any run: the same starts whatever n_jobs is
        starts = [init(rng) for _ in range(n_runs)]
        best, scores, last_error = None, [], None
        for outcome in self._run_starts(X, fit_one, starts, errors):
            if isinstance(outcome, _Failed):
                scores.append(np.nan)
                last_error = outcome.error
                continue
            run = outcome
            scores.append(run.score)
            if not np.isfinite(run.score):
                last_error = f"non-finite score {run.score}"
            elif best is None or run.score > best.score:  # the first of equal scores wins
                best = run
        if best is None:
            what = ("the warm-started run" if warm else "the one restart" if n_runs == 1
                    else f"every one of the {n_runs} restarts")
            raise RestartsFailedError(f"{type(self).__name__}: {what} failed (last: {last_error})")
        return best, np.asarray(scores, dtype=float)

    def _run_starts(self, X: np.ndarray, fit_one: Callable[[np.ndarray, Any], Run], starts: Sequence[Any],
                    errors: tuple[type[BaseException], ...]) -> list[Run | _Failed]:
        """Every run, in the order of ``starts``: one after another, or on ``n_jobs`` joblib workers.

        Each run depends only on its start and ``X``, so where it runs changes nothing. A single run (a warm
        start) always runs here: it refits the estimator's own model in place.
        """
        n_jobs = getattr(self, "n_jobs", None)  # an estimator pickled before n_jobs existed has none
        workers = 1 if n_jobs is None or len(starts) < 2 else min(effective_n_jobs(n_jobs), len(starts))
        if workers == 1:
            return [_attempt(fit_one, X, start, errors) for start in starts]
        return Parallel(n_jobs=workers)(delayed(_attempt)(fit_one, X, start, errors) for start in starts)

    def _record_fit(self, run: Run) -> None:
        """Set ``converged_``, ``n_iter_`` and ``lower_bound_`` from the kept run; warn if it did not converge.

        The one convergence warning of every estimator (not repeated for a run the estimator has warned
        about itself).
        """
        self.converged_ = bool(run.converged)
        self.n_iter_ = int(run.n_iter)
        self.lower_bound_ = float(run.lower_bound)
        if not self.converged_ and not run.warned:
            tol = getattr(self, "tol", None)
            warnings.warn(
                f"{type(self).__name__} did not converge: its best run stopped at n_iter={self.n_iter}"
                + (f" (tol={tol}); raise n_iter or tol" if tol is not None else "; raise n_iter"),
                ConvergenceWarning,
                stacklevel=4,
            )

    def online_filter(self):
        """This fitted estimator's filter (:mod:`regime.models._filters`): ``run(X, state)`` gives the rows'
        filtered probabilities and carries the state to the next call.

        The default wraps the estimator itself (:class:`~regime.models._filters.EstimatorFilter`); the
        estimators with a numpy filter of their own return it, and their ``predict_proba`` runs it.
        """
        from ._filters import EstimatorFilter

        check_is_fitted(self)
        return EstimatorFilter(self)

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


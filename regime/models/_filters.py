"""Online filters: the inference half of each regime model, in numpy alone.

A filter holds a fitted model's parameters and turns rows into filtered (causal) state probabilities. It carries
a small state from one call to the next, so scoring a new day costs one step::

    probs, state = f.run(X)                  # every row
    head, state = f.run(X[:t])               # the same rows in two calls ...
    tail, state = f.run(X[t:], state)        # ... give the same probabilities

Each estimator's ``predict_proba`` runs its filter (``estimator.online_filter()``), so a stored model labels days
through this same code without importing scikit-learn, hmmlearn or statsmodels: that is what keeps ``regime
score`` fast. An estimator without a filter of its own (markov, axes) is wrapped by :class:`EstimatorFilter`,
which keeps the rows it has seen and asks the estimator again.

The HMM and jump filters run :func:`regime.models._kernels.forward_filter`, whose compiled backend imports
without scikit-learn.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ._kernels import _switch_matrix, forward_filter

__all__ = ["Filter", "HMMFilter", "JumpFilter", "MixtureFilter", "RulesFilter", "EstimatorFilter",
           "GaussianDensity", "gaussian_log_emission", "jump_losses"]

_LOG_2PI = math.log(2.0 * math.pi)


class Filter(Protocol):
    """What every filter offers: its number of states and ``run``."""

    n_states: int

    def run(self, X: np.ndarray, state: Any = None) -> tuple[np.ndarray, Any]:
        """Filtered probabilities of the rows ``X`` (n_samples, n_states) following ``state``, and the new state.

        ``state=None`` starts the filter; the state returned continues it after the last row of ``X``.
        """
        ...  # pragma: no cover


# ------------------------------------------------------------------------------------------ densities
@dataclass(frozen=True, eq=False)
class GaussianDensity:
    """Full-covariance Gaussian log densities, singular covariances allowed (scipy's ``multivariate_normal``).

    Each covariance is factored once, as scipy does (``_PSD``): eigenvalues below ``1e6 * eps * max |eigenvalue|``
    count as zero, the density lives on the remaining subspace, and a row off it has log density ``-inf``.
    """

    means: np.ndarray
    covars: np.ndarray
    _factors: list[tuple[np.ndarray, float, np.ndarray, float]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        factors = []
        for j, cov in enumerate(np.asarray(self.covars, dtype=float)):
            s, u = np.linalg.eigh(cov)
            eps = 1e6 * np.finfo(float).eps * np.max(np.abs(s))
            if np.min(s) < -eps:
                raise ValueError(f"the covariance of state {j} is not positive semidefinite")
            keep = s > eps
            root = u * np.sqrt(np.where(keep, 1.0 / np.where(keep, s, 1.0), 0.0))
            factors.append((root, keep.sum() * _LOG_2PI + np.sum(np.log(s[keep])), u[:, ~keep], 1e3 * eps))
        object.__setattr__(self, "_factors", factors)

    def log_pdf(self, X: np.ndarray) -> np.ndarray:
        """``log N(x_t; mean_j, cov_j)``: (n_samples, n_states)."""
        out = np.empty((X.shape[0], len(self._factors)))
        for j, (root, norm, null, tol) in enumerate(self._factors):
            dev = X - self.means[j]
            out[:, j] = -0.5 * (norm + np.sum(np.square(dev @ root), axis=-1))
            if null.shape[1]:  # a singular covariance: rows off its subspace are impossible
                out[np.linalg.norm(dev @ null, axis=-1) >= tol, j] = -np.inf
        return out


def gaussian_log_emission(X: np.ndarray, means: np.ndarray, covars: np.ndarray) -> np.ndarray:
    """``log N(x_t; mean_k, cov_k)`` for every row and state; ``covars`` holds one full matrix per state."""
    return GaussianDensity(np.asarray(means, dtype=float), np.asarray(covars, dtype=float)).log_pdf(X)


def jump_losses(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Half squared Euclidean distance of every row to every centre: (n_samples, n_states)."""
    sq = (X**2).sum(axis=1)[:, None] - 2.0 * X @ centers.T + (centers**2).sum(axis=1)[None, :]
    return 0.5 * np.maximum(sq, 0.0)


def _forward(log_emission: np.ndarray, start: np.ndarray, transmat: np.ndarray,
             state: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """The forward filter from ``start`` (no state) or one step after the filtered row ``state``."""
    if not len(log_emission):
        return np.empty((0, len(start))), state
    prior = start if state is None else state @ transmat
    filtered = forward_filter(log_emission, prior, transmat)[0]
    return filtered, filtered[-1].copy()


# -------------------------------------------------------------------------------------------- filters
@dataclass(frozen=True, eq=False)
class HMMFilter:
    """A Gaussian HMM's forward filter; the state is the last filtered row."""

    startprob: np.ndarray
    transmat: np.ndarray
    density: GaussianDensity

    @property
    def n_states(self) -> int:
        return len(self.startprob)

    def run(self, X: np.ndarray, state: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        return _forward(self.density.log_pdf(X), self.startprob, self.transmat, state)


@dataclass(frozen=True, eq=False)
class JumpFilter:
    """The jump model read as an HMM: log emissions ``-loss / temperature``, a switch costs ``penalty / temperature``.

    Starts from equal probabilities; the state is the last filtered row.
    """

    centers: np.ndarray
    penalty: float
    temperature: float

    @property
    def n_states(self) -> int:
        return len(self.centers)

    def transmat(self) -> np.ndarray:
        A = np.exp(_switch_matrix(self.n_states, self.penalty / self.temperature))
        return A / A.sum(axis=1, keepdims=True)  # equal row sums: normalising changes no filtered probability

    def run(self, X: np.ndarray, state: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        k = self.n_states
        return _forward(-jump_losses(X, self.centers) / self.temperature, np.full(k, 1.0 / k), self.transmat(),
                        state)


def _smooth(raw: np.ndarray, s: float, start: np.ndarray) -> np.ndarray:
    """``y[t] = (1 - s) raw[t] + s y[t-1]`` with ``s y[-1] = start``: scipy's ``lfilter`` where scipy.signal is
    loaded (the estimator module loads it: fits and backtests run long series), else a Python loop. Both do the
    same arithmetic, so the bits do not depend on which ran; a scoring process never pays scipy.signal's import
    (about half a second)."""
    signal = sys.modules.get("scipy.signal")
    if signal is not None and hasattr(signal, "lfilter"):
        return signal.lfilter([1.0 - s], [1.0, -s], raw, axis=0, zi=start[None, :])[0]
    b0, z, out = 1.0 - s, start.tolist(), []
    for row in raw.tolist():
        y = [b0 * a + c for a, c in zip(row, z)]
        out.append(y)
        z = [s * v for v in y]
    return np.array(out, dtype=float).reshape(raw.shape)


@dataclass(frozen=True, eq=False)
class MixtureFilter:
    """A Gaussian mixture's posteriors (scikit-learn's formulas), exponentially smoothed over past rows.

    ``precisions_chol`` is scikit-learn's ``precisions_cholesky_`` for ``covariance_type``. With ``smoothing``
    ``s > 0``, ``y[t] = (1 - s) p[t] + s y[t-1]`` from ``y[0] = p[0]``; the state is the last smoothed row.
    """

    weights: np.ndarray
    means: np.ndarray
    precisions_chol: np.ndarray
    covariance_type: str
    smoothing: float = 0.0

    @property
    def n_states(self) -> int:
        return len(self.weights)

    def log_prob(self, X: np.ndarray) -> np.ndarray:
        """Each row's log density under each component (scikit-learn's ``_estimate_log_gaussian_prob``)."""
        means, pc, kind = self.means, self.precisions_chol, self.covariance_type
        n_features = X.shape[1]
        if kind == "full":
            log_det = np.sum(np.log(pc.reshape(len(means), -1)[:, :: n_features + 1]), axis=1)
            log_prob = np.empty((X.shape[0], len(means)))
            for k in range(len(means)):
                y = (X @ pc[k]) - (means[k] @ pc[k])
                log_prob[:, k] = np.sum(np.square(y), axis=1)
        elif kind == "tied":
            log_det = np.sum(np.log(np.diagonal(pc)))
            log_prob = np.empty((X.shape[0], len(means)))
            for k in range(len(means)):
                y = (X @ pc) - (means[k] @ pc)
                log_prob[:, k] = np.sum(np.square(y), axis=1)
        elif kind == "diag":
            log_det = np.sum(np.log(pc), axis=1)
            precisions = pc**2
            log_prob = (np.sum(means**2 * precisions, axis=1) - 2.0 * (X @ (means * precisions).T)
                        + (X**2 @ precisions.T))
        else:  # spherical
            log_det = n_features * np.log(pc)
            precisions = pc**2
            log_prob = (np.sum(means**2, axis=1) * precisions - 2 * (X @ means.T * precisions)
                        + np.outer(np.einsum("ij,ij->i", X, X), precisions))
        return -0.5 * (n_features * _LOG_2PI + log_prob) + log_det

    def posteriors(self, X: np.ndarray) -> np.ndarray:
        """Each row's component probabilities, before smoothing."""
        weighted = self.log_prob(X) + np.log(self.weights)
        top = np.max(weighted, axis=1, keepdims=True)  # scikit-learn's log-sum-exp
        is_top = weighted == top
        rest = np.where(is_top, -np.inf, weighted)
        m = np.sum(is_top, axis=1, keepdims=True, dtype=float)
        s = np.sum(np.exp(rest - np.where(np.isfinite(top), top, 0)), axis=1, keepdims=True)
        s = np.where(s == 0, s, s / m)
        norm = np.log1p(s) + np.log(m) + top
        with np.errstate(under="ignore"):
            return np.exp(weighted - norm)

    def run(self, X: np.ndarray, state: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        if not len(X):
            return np.empty((0, self.n_states)), state
        raw = self.posteriors(X)
        s = self.smoothing
        if s == 0:
            return raw, raw[-1].copy()
        out = _smooth(raw, s, s * (raw[0] if state is None else state))  # y[-1] = p[0]: y[0] is p[0]
        return out, out[-1].copy()


@dataclass(frozen=True, eq=False)
class RulesFilter:
    """The volatility and leadership rule with its holding period, as one-hot probabilities.

    Column 0 of ``X`` is the volatility percentile (stress above ``threshold``), column 1 the leadership spread
    (broadening when positive). The state is ``(held, candidate, streak)``.
    """

    threshold: float
    hold_days: int
    n_states: int = 3

    def raw_states(self, X: np.ndarray) -> np.ndarray:
        """Each row's rule state before holding: 0 stress, 1 concentration, 2 broadening."""
        return np.where(X[:, 0] > self.threshold, 0, np.where(X[:, 1] > 0, 2, 1))

    def held(self, raw: np.ndarray, state: tuple[int, int, int] | None = None
             ) -> tuple[np.ndarray, tuple[int, int, int] | None]:
        """The reported states: a new state is taken once it has held ``hold_days`` rows running."""
        out = np.empty_like(raw)
        if not len(raw):
            return out, state
        current, candidate, streak = (int(raw[0]), int(raw[0]), 0) if state is None else state
        for t, s in enumerate(raw.tolist()):
            streak = streak + 1 if s == candidate else 1
            candidate = s
            if s != current and streak >= self.hold_days:
                current = s
            out[t] = current
        return out, (current, candidate, streak)

    def run(self, X: np.ndarray, state: tuple[int, int, int] | None = None) -> tuple[np.ndarray, Any]:
        states, state = self.held(self.raw_states(X), state)
        return np.eye(self.n_states)[states], state


@dataclass(frozen=True, eq=False)
class EstimatorFilter:
    """Any fitted estimator as a filter: the state is every row seen so far, and each call re-runs
    ``predict_proba`` over them (exact for any causal estimator, but not a one-step update)."""

    estimator: Any

    @property
    def n_states(self) -> int:
        return int(self.estimator.n_components)

    def run(self, X: np.ndarray, state: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        if not len(X):
            return np.empty((0, self.n_states)), state
        rows = X if state is None else np.vstack([state, X])
        return self.estimator.predict_proba(rows)[-len(X):], rows

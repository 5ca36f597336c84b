"""The forward (Hamilton) filter: state probabilities from data up to each day only."""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)

try:  # hmmlearn's compiled forward pass: the same recursion, ~100x faster than a Python loop
    from hmmlearn._hmmc import forward_scaling as _forward_scaling
except ImportError:  # pragma: no cover - a future hmmlearn may move its private kernels
    _forward_scaling = None


def _forward_python(B: np.ndarray, startprob: np.ndarray, transmat: np.ndarray) -> tuple[np.ndarray, float]:
    n, k = B.shape
    filtered = np.empty((n, k))
    loglik = 0.0
    prior = startprob
    for t in range(n):
        joint = prior * B[t]
        total = joint.sum()
        if total <= 0 or not np.isfinite(total):  # every state impossible: fall back to the prior
            post = prior
        else:
            post = joint / total
            loglik += np.log(total)
        filtered[t] = post
        prior = post @ transmat
    return filtered, loglik


def forward_filter(
    log_emission: np.ndarray, startprob: np.ndarray, transmat: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """Run the forward pass of a hidden Markov model.

    Parameters
    ----------
    log_emission : ndarray of shape (n_samples, n_states)
        ``log p(x_t | state)``.
    startprob : ndarray of shape (n_states,)
    transmat : ndarray of shape (n_states, n_states)
        Row-stochastic: ``transmat[i, j] = P(s_t = j | s_{t-1} = i)``.

    Returns
    -------
    filtered : ndarray of shape (n_samples, n_states)
        ``P(s_t | x_1..x_t)``: uses observations up to t only.
    predicted : ndarray of shape (n_samples, n_states)
        ``P(s_t | x_1..x_{t-1})``: the one-step-ahead forecast.
    loglik : float
        ``log p(x_1..x_T)``.
    """
    log_emission = np.asarray(log_emission, dtype=float)
    startprob = np.ascontiguousarray(startprob, dtype=float)
    transmat = np.ascontiguousarray(transmat, dtype=float)
    shift = log_emission.max(axis=1, keepdims=True)
    B = np.ascontiguousarray(np.exp(log_emission - shift))
    filtered = None
    if _forward_scaling is not None:
        try:
            lp, filtered, _ = _forward_scaling(startprob, transmat, B)
            filtered = np.asarray(filtered)
            loglik = float(lp)
            if not np.isfinite(filtered).all():
                filtered = None
        except (ValueError, RuntimeError, FloatingPointError) as exc:
            log.debug("compiled forward pass failed (%s); using the Python loop", exc)
            filtered = None
    if filtered is None:
        filtered, loglik = _forward_python(B, startprob, transmat)
    predicted = np.vstack([startprob[None, :], filtered[:-1] @ transmat])
    return filtered, predicted, float(loglik + shift.sum())

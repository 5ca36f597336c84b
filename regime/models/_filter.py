"""The forward (Hamilton) filter: state probabilities from data up to each day only."""

from __future__ import annotations

import numpy as np


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
    n, k = log_emission.shape
    filtered = np.empty((n, k))
    predicted = np.empty((n, k))
    loglik = 0.0
    prior = np.asarray(startprob, dtype=float)
    A = np.asarray(transmat, dtype=float)
    for t in range(n):
        predicted[t] = prior
        row = log_emission[t]
        m = row.max()
        joint = prior * np.exp(row - m)
        total = joint.sum()
        if total <= 0 or not np.isfinite(total):  # every state impossible: fall back to the prior
            post = prior
        else:
            post = joint / total
            loglik += m + np.log(total)
        filtered[t] = post
        prior = post @ A
    return filtered, predicted, float(loglik)

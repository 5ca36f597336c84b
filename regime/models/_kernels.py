"""The recursions of the regime models: forward filter, backward pass, smoothed posteriors, penalised Viterbi.

Every recursion has two backends:

- ``"hmmlearn"``: hmmlearn's compiled kernels (its private ``_hmmc`` module, imported here and nowhere
  else), about a hundred times faster than a Python loop;
- ``"python"``: a pure-Python/numpy reference implementation of the same recursion, which also copes with
  days on which every state is impossible (the filter then keeps its prior).

``backend=None`` (the default) uses hmmlearn's kernel when it is importable and falls back to the Python
reference when it is not, when it raises, or when its output is not finite. ``scripts/bench_kernels.py``
times the backends.

The forward and backward passes work on emission probabilities ``B`` scaled so that each row's largest
entry is 1 (``exp(log_b - max)``), with hmmlearn's scaling convention: ``scaling[t] = 1 / c[t]`` where
``c[t]`` is the sum of the forward joint at ``t``; the backward lattice is scaled by the same factors, so
``fwd * bwd`` is proportional to the smoothed posteriors row by row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

log = logging.getLogger(__name__)

try:  # hmmlearn's compiled kernels: private, so this is the one place that imports them
    from hmmlearn import _hmmc
except ImportError:  # pragma: no cover - a future hmmlearn may move its private kernels
    _hmmc = None

__all__ = ["BACKENDS", "KERNELS", "available_backends", "forward_filter", "smoothed_posteriors", "penalised_viterbi"]

#: The backends every recursion has, fastest first.
BACKENDS = ("hmmlearn", "python")

#: What a compiled kernel may raise on input it cannot handle (underflow, a changed private signature).
_KERNEL_ERRORS = (ValueError, RuntimeError, FloatingPointError, TypeError)


def available_backends() -> tuple[str, ...]:
    """The backends usable in this environment, fastest first."""
    return tuple(b for b in BACKENDS if b != "hmmlearn" or _hmmc is not None)


# --------------------------------------------------------------------------------------- forward pass
def _forward_python(B: np.ndarray, startprob: np.ndarray, transmat: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, float]:
    """Scaled forward pass: (filtered, scaling, log-likelihood of the scaled emissions)."""
    n, k = B.shape
    filtered = np.empty((n, k))
    scaling = np.ones(n)
    loglik = 0.0
    prior = startprob
    for t in range(n):
        joint = prior * B[t]
        total = joint.sum()
        if total <= 0 or not np.isfinite(total):  # every state impossible: fall back to the prior
            post = prior
        else:
            post = joint / total
            scaling[t] = 1.0 / total
            loglik += np.log(total)
        filtered[t] = post
        prior = post @ transmat
    return filtered, scaling, loglik


def _forward_hmmlearn(B: np.ndarray, startprob: np.ndarray, transmat: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, float]:
    loglik, filtered, scaling = _hmmc.forward_scaling(startprob, transmat, B)
    return np.asarray(filtered), np.asarray(scaling), float(loglik)


# -------------------------------------------------------------------------------------- backward pass
def _backward_python(B: np.ndarray, startprob: np.ndarray, transmat: np.ndarray, scaling: np.ndarray
                     ) -> np.ndarray:
    """Scaled backward pass in hmmlearn's convention, ``bwd[T-1] = scaling[T-1]`` (``startprob`` is unused)."""
    n, k = B.shape
    bwd = np.empty((n, k))
    bwd[-1] = scaling[-1]
    for t in range(n - 2, -1, -1):
        bwd[t] = (transmat @ (B[t + 1] * bwd[t + 1])) * scaling[t]
    return bwd


def _backward_hmmlearn(B: np.ndarray, startprob: np.ndarray, transmat: np.ndarray, scaling: np.ndarray
                       ) -> np.ndarray:
    return np.asarray(_hmmc.backward_scaling(startprob, transmat, B, scaling))


# ------------------------------------------------------------------------------------ penalised Viterbi
def _switch_matrix(k: int, cost: float) -> np.ndarray:
    """Log 'transition' weights: 0 to stay, -cost to switch."""
    return np.where(np.eye(k, dtype=bool), 0.0, -cost)


def _viterbi_python(L: np.ndarray, penalty: float) -> tuple[np.ndarray, float]:
    n, k = L.shape
    V = np.empty((n, k))
    V[0] = L[0]
    for t in range(1, n):
        prev = V[t - 1]
        V[t] = L[t] + np.minimum(prev, prev.min() + penalty)
    seq = np.empty(n, dtype=np.int64)
    seq[-1] = int(np.argmin(V[-1]))
    for t in range(n - 2, -1, -1):
        cur = seq[t + 1]
        j = int(np.argmin(V[t]))
        seq[t] = cur if V[t, cur] <= V[t, j] + penalty else j
    return seq, float(V[-1].min())


def _viterbi_hmmlearn(L: np.ndarray, penalty: float) -> tuple[np.ndarray, float]:
    # a Viterbi path with log-emissions -L and log-transitions 0 (stay) or -penalty (switch); hmmlearn takes
    # the start and transition weights as probabilities and logs them itself
    k = L.shape[1]
    logprob, seq = _hmmc.viterbi(np.ones(k), np.exp(_switch_matrix(k, penalty)), np.ascontiguousarray(-L))
    return np.asarray(seq, dtype=np.int64), float(-logprob)


#: Each recursion's implementation, by backend; ``scripts/bench_kernels.py`` times these.
KERNELS: dict[str, dict[str, Callable]] = {
    "forward": {"hmmlearn": _forward_hmmlearn, "python": _forward_python},
    "backward": {"hmmlearn": _backward_hmmlearn, "python": _backward_python},
    "viterbi": {"hmmlearn": _viterbi_hmmlearn, "python": _viterbi_python},
}


def _run(run: Callable[[str], tuple], backend: str | None) -> tuple:
    """``run(name)`` on the chosen backend; with ``backend=None``, hmmlearn's unless it is missing or fails.

    hmmlearn's output counts as failed when its first array is not finite (the compiled filter divides by a
    zero total on a day every state finds impossible; the Python reference keeps the prior instead).
    """
    if backend is not None:
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS} or None, got {backend!r}")
        if backend not in available_backends():
            raise ImportError(f"the {backend} kernels are not available: hmmlearn moved or lacks its _hmmc module")
        return run(backend)
    if _hmmc is not None:
        try:
            out = run("hmmlearn")
            if np.isfinite(out[0]).all():
                return out
            log.debug("compiled kernel gave non-finite values; using the Python reference")
        except _KERNEL_ERRORS as exc:
            log.debug("compiled kernel failed (%s); using the Python reference", exc)
    return run("python")


def _scaled(log_emission: np.ndarray, startprob: np.ndarray, transmat: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Emission probabilities with each row's largest entry 1, the shifts, and contiguous parameters."""
    log_emission = np.asarray(log_emission, dtype=float)
    shift = log_emission.max(axis=1, keepdims=True)
    B = np.ascontiguousarray(np.exp(log_emission - shift))
    return (B, shift, np.ascontiguousarray(startprob, dtype=float), np.ascontiguousarray(transmat, dtype=float))


# ------------------------------------------------------------------------------------------ public API
def forward_filter(
    log_emission: np.ndarray, startprob: np.ndarray, transmat: np.ndarray, *, backend: str | None = None
) -> tuple[np.ndarray, np.ndarray, float]:
    """Run the forward pass of a hidden Markov model.

    Parameters
    ----------
    log_emission : ndarray of shape (n_samples, n_states)
        ``log p(x_t | state)``.
    startprob : ndarray of shape (n_states,)
    transmat : ndarray of shape (n_states, n_states)
        Row-stochastic: ``transmat[i, j] = P(s_t = j | s_{t-1} = i)``.
    backend : {"hmmlearn", "python"} or None, default=None
        None: hmmlearn's compiled kernel, else the Python reference (see the module docstring).

    Returns
    -------
    filtered : ndarray of shape (n_samples, n_states)
        ``P(s_t | x_1..x_t)``: uses observations up to t only.
    predicted : ndarray of shape (n_samples, n_states)
        ``P(s_t | x_1..x_{t-1})``: the one-step-ahead forecast.
    loglik : float
        ``log p(x_1..x_T)``.
    """
    B, shift, startprob, transmat = _scaled(log_emission, startprob, transmat)
    filtered, _, loglik = _run(lambda name: KERNELS["forward"][name](B, startprob, transmat), backend)
    predicted = np.vstack([startprob[None, :], filtered[:-1] @ transmat])
    return filtered, predicted, float(loglik + shift.sum())


def smoothed_posteriors(
    log_emission: np.ndarray, startprob: np.ndarray, transmat: np.ndarray, *, backend: str | None = None
) -> np.ndarray:
    """``P(s_t | x_1..x_T)`` by forward-backward; for fitting on a training window only (it looks ahead).

    Parameters
    ----------
    log_emission, startprob, transmat, backend
        As :func:`forward_filter`.

    Returns
    -------
    ndarray of shape (n_samples, n_states)
    """
    B, _, startprob, transmat = _scaled(log_emission, startprob, transmat)

    def run(name: str) -> tuple[np.ndarray]:
        fwd, scaling, _ = KERNELS["forward"][name](B, startprob, transmat)
        g = fwd * KERNELS["backward"][name](B, startprob, transmat, scaling)
        return (g / g.sum(axis=1, keepdims=True),)

    return _run(run, backend)[0]


def penalised_viterbi(losses: np.ndarray, penalty: float, *, backend: str | None = None
                      ) -> tuple[np.ndarray, float]:
    """The state sequence minimising the sum of losses + ``penalty`` x number of switches.

    This is a Viterbi path with log-emissions ``-losses`` and log-transitions 0 (stay) or ``-penalty``
    (switch).

    Parameters
    ----------
    losses : ndarray of shape (n_samples, n_states)
    penalty : float
    backend : {"hmmlearn", "python"} or None, default=None

    Returns
    -------
    seq : ndarray of shape (n_samples,)
    objective : float
        The minimum.
    """
    return _run(lambda name: KERNELS["viterbi"][name](losses, penalty), backend)

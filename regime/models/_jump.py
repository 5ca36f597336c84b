"""Statistical jump model: k-means with a penalty on every switch, with causal online inference.

After Nystrup, Lindström & Madsen (2020), "Learning hidden Markov models with
persistent states by penalizing jumps", and Shu, Yu & Mulvey (2024),
"Downside risk reduction using regime-switching signals: a statistical jump
model approach". Written here rather than taken from the ``jumpmodels``
package: the model is a few dozen lines, and owning it lets it follow the
scikit-learn contract and give filtered probabilities like the other models.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import kmeans_plusplus
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._base import RegimeEstimator


def _losses(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Half squared Euclidean distance of every row to every centre: (n_samples, n_states)."""
    return 0.5 * ((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)


def _viterbi(L: np.ndarray, penalty: float) -> tuple[np.ndarray, float]:
    """The state sequence minimising sum of losses + penalty x number of switches."""
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
        stay = V[t, cur]
        j = int(np.argmin(V[t]))
        seq[t] = cur if stay <= V[t, j] + penalty else j
    return seq, float(V[-1].min())


def online_costs(L: np.ndarray, penalty: float) -> np.ndarray:
    """Forward cost-to-arrive ``V_t(k)``: the best cost of any path ending in state k at t.

    Uses rows 0..t only, so its argmin is the jump model's causal (online) label.
    """
    n, k = L.shape
    V = np.empty((n, k))
    v = L[0].copy()
    V[0] = v
    for t in range(1, n):
        v = L[t] + np.minimum(v, v.min() + penalty)
        V[t] = v
    return V


class JumpModelRegime(RegimeEstimator):
    """Statistical jump model with filtered (online) state probabilities.

    Fitting alternates between the centres (the mean of each state's rows)
    and the state sequence that minimises the total loss plus ``jump_penalty``
    for every switch (dynamic programming). Inference is online: the state at
    t minimises the cost of the best path ending at t, using rows up to t only.

    Probabilities are ``softmax(-(V_t(k) - min_j V_t(j)) / temperature)`` of
    the online costs: the max-product analogue of an HMM's forward
    probabilities, with the penalty playing the role of a switch's negative
    log-probability.

    Parameters
    ----------
    n_components : int, default=3
    jump_penalty : float, default=20.0
        Cost of one switch, in units of the half squared distance.
    n_init : int, default=10
        Restarts from k-means++ centres; the lowest objective wins.
    n_iter : int, default=30
        Maximum alternations per restart.
    tol : float, default=1e-6
        Stop when the objective improves by less than this (relative).
    temperature : float, default=1.0
        Softness of the probabilities.
    warm_start : bool, default=False
        Refit from the current centres (one restart) when already fitted.
    random_state : int, RandomState or None, default=None

    Attributes
    ----------
    means_ : ndarray of shape (n_components, n_features)
        State centres.
    labels_ : ndarray of shape (n_samples,)
        Training state sequence (the penalised optimum; it uses the whole
        training window, so it is for diagnostics only).
    converged_ : bool
        True if the sequence stopped changing before ``n_iter``.
    n_iter_ : int
    lower_bound_ : float
        Minus the objective per sample (higher is better).
    n_features_in_ : int
    """

    covariance_type = "spherical"

    def __init__(
        self,
        n_components: int = 3,
        jump_penalty: float = 20.0,
        n_init: int = 10,
        n_iter: int = 30,
        tol: float = 1e-6,
        temperature: float = 1.0,
        warm_start: bool = False,
        random_state=None,
    ) -> None:
        self.n_components = n_components
        self.jump_penalty = jump_penalty
        self.n_init = n_init
        self.n_iter = n_iter
        self.tol = tol
        self.temperature = temperature
        self.warm_start = warm_start
        self.random_state = random_state

    def _n_weight_parameters(self) -> int:
        return 1

    def _fit_once(self, X: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, int, bool]:
        seq = None
        obj = np.inf
        for it in range(1, self.n_iter + 1):
            new_seq, new_obj = _viterbi(_losses(X, centers), self.jump_penalty)
            for k in range(self.n_components):
                rows = new_seq == k
                if rows.any():
                    centers[k] = X[rows].mean(axis=0)
            done = seq is not None and (np.array_equal(new_seq, seq) or obj - new_obj <= self.tol * abs(obj))
            seq, obj = new_seq, new_obj
            if done:
                return centers, seq, obj, it, True
        # the last centre update may still move the objective: report it honestly
        return centers, seq, obj, self.n_iter, False

    def fit(self, X, y=None) -> JumpModelRegime:
        """Fit centres and the penalised state sequence.

        Returns
        -------
        self
        """
        warm = self.warm_start and hasattr(self, "means_")
        X = self._validate(X, reset=not warm)
        self._check_n_samples(X)
        rng = check_random_state(self.random_state)
        if warm:
            starts = [self.means_.copy()]
        else:
            starts = [
                kmeans_plusplus(X, self.n_components, random_state=rng.randint(np.iinfo(np.int32).max))[0]
                for _ in range(self.n_init)
            ]
        best = None
        for c0 in starts:
            res = self._fit_once(X, np.array(c0, dtype=float))
            if best is None or res[2] < best[2]:
                best = res
        centers, seq, obj, n_it, conv = best
        self.means_ = centers
        self.labels_ = seq
        self.n_iter_ = int(n_it)
        self.converged_ = bool(conv)
        self.lower_bound_ = float(-obj / X.shape[0])
        return self

    def online_costs(self, X) -> np.ndarray:
        """Forward costs ``V_t(k)`` (rows 0..t only)."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        return online_costs(_losses(X, self.means_), self.jump_penalty)

    def predict_proba(self, X) -> np.ndarray:
        """Filtered state probabilities from the online costs; row t uses rows 0..t only."""
        V = self.online_costs(X)
        z = -(V - V.min(axis=1, keepdims=True)) / self.temperature
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def score(self, X, y=None) -> float:
        """Minus the penalised objective per sample of the best sequence for ``X``."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        return -_viterbi(_losses(X, self.means_), self.jump_penalty)[1] / X.shape[0]

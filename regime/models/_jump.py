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
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import NON_NEGATIVE, POSITIVE, RESTART_CONSTRAINTS, SEED_MAX, RegimeEstimator, Run
from ._filters import JumpFilter
from ._filters import jump_losses as _losses
from ._kernels import penalised_viterbi


class JumpModelRegime(RegimeEstimator):
    """Statistical jump model with filtered (online) state probabilities.

    Fitting alternates between the centres (the mean of each state's rows)
    and the state sequence that minimises the total loss (half the squared
    distance to the centre) plus ``jump_penalty`` for every switch (dynamic
    programming, solved as a Viterbi path).

    Inference is online and probabilistic: the jump model read as an HMM with
    log-emissions ``-loss / temperature`` and a log switch weight of
    ``-jump_penalty / temperature``, filtered forward. Row t uses rows 0..t
    only. As ``temperature`` goes to 0 the most probable state becomes the
    online jump-model state (the end of the best penalised path up to t);
    larger temperatures give softer probabilities.

    Parameters
    ----------
    n_components : int, default=3
    jump_penalty : float, default=10.0
        Cost of one switch, in units of the half squared distance.
    n_init : int, default=5
        Restarts from k-means++ centres; the lowest objective wins.
    n_iter : int, default=200
        Maximum alternations per restart.
    tol : float, default=1e-6
        Stop when the objective improves by less than this (relative).
    temperature : float or "auto", default="auto"
        Softness of the probabilities. ``"auto"`` chooses it on the training
        rows: the value whose filtered probabilities best predict (lowest log
        loss) the training state sequence, i.e. the probability that the
        causal label agrees with the hindsight one. Only training rows are
        used, so nothing after the fit leaks in.
    warm_start : bool, default=False
        Refit from the current centres (one restart) when already fitted.
    random_state : int, RandomState or None, default=0
        Seeds the restarts' starting points; the default, like the config's, makes fits repeatable.
    n_jobs : int or None, default=None
        Processes the ``n_init`` restarts run on (joblib; -1: every core). None means 1. The
        result does not depend on it: every restart's start is drawn beforehand, in order.

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
    temperature_ : float
        The temperature in use.
    n_features_in_ : int
    """

    covariance_type = "spherical"
    _TEMPERATURES = np.geomspace(0.5, 200.0, 28)

    _parameter_constraints: dict = {
        **RESTART_CONSTRAINTS,
        "jump_penalty": [NON_NEGATIVE],
        "tol": [NON_NEGATIVE],
        "temperature": [POSITIVE, StrOptions({"auto"})],
    }

    def __init__(
        self,
        *,
        n_components: int = 3,
        jump_penalty: float = 10.0,
        n_init: int = 5,
        n_iter: int = 200,
        tol: float = 1e-6,
        temperature: float | str = "auto",
        warm_start: bool = False,
        random_state=0,
        n_jobs: int | None = None,
    ) -> None:
        self.n_components = n_components
        self.jump_penalty = jump_penalty
        self.n_init = n_init
        self.n_iter = n_iter
        self.tol = tol
        self.temperature = temperature
        self.warm_start = warm_start
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _n_weight_parameters(self) -> int:
        return 1

    def _fit_one(self, X: np.ndarray, centers: np.ndarray) -> Run:
        """Alternate centres and the penalised sequence from these centres; the score is minus the objective."""
        centers = np.array(centers, dtype=float)
        seq = None
        obj = np.inf
        for it in range(1, self.n_iter + 1):
            new_seq, new_obj = penalised_viterbi(_losses(X, centers), self.jump_penalty)
            for k in range(self.n_components):
                rows = new_seq == k
                if rows.any():
                    centers[k] = X[rows].mean(axis=0)
            done = seq is not None and (np.array_equal(new_seq, seq) or obj - new_obj <= self.tol * abs(obj))
            seq, obj = new_seq, new_obj
            if done:
                return Run((centers, seq), -obj, -obj / X.shape[0], it, True)
        # the last centre update may still move the objective: report it honestly
        return Run((centers, seq), -obj, -obj / X.shape[0], self.n_iter, False)

    def _init(self, X: np.ndarray, warm: bool):
        """Each run's starting centres: k-means++ seeded from the stream, or (warm) the current centres."""
        if warm:
            return lambda rng: self.means_.copy()
        return lambda rng: kmeans_plusplus(X, self.n_components, random_state=rng.randint(SEED_MAX))[0]

    def _fit(self, X: np.ndarray, warm: bool) -> Run:
        """Fit centres and the penalised state sequence from ``n_init`` k-means++ starts; keep the lowest objective."""
        best, _ = self._fit_restarts(X, self._fit_one, self._init(X, warm), warm=warm)
        self.means_, self.labels_ = best.model
        if self.temperature != "auto":
            self.temperature_ = float(self.temperature)
        elif warm and hasattr(self, "temperature_"):  # refine around the previous choice
            self.temperature_ = self._choose_temperature(X, self.temperature_ * np.array([0.8, 1.0, 1.25]))
        else:
            self.temperature_ = self._choose_temperature(X, self._TEMPERATURES)
        return best

    def _filter(self, X: np.ndarray, tau: float) -> np.ndarray:
        return JumpFilter(self.means_, float(self.jump_penalty), tau).run(X)[0]

    def online_filter(self) -> JumpFilter:
        """The online filter at the fitted temperature (what :meth:`predict_proba` runs)."""
        check_is_fitted(self)
        return JumpFilter(self.means_.copy(), float(self.jump_penalty), float(self.temperature_))

    def _choose_temperature(self, X: np.ndarray, grid: np.ndarray) -> float:
        rows = np.arange(X.shape[0])
        best, best_loss = 1.0, np.inf
        for tau in grid:
            p = self._filter(X, float(tau))
            loss = -np.mean(np.log(np.clip(p[rows, self.labels_], 1e-12, 1.0)))
            if loss < best_loss:
                best, best_loss = float(tau), loss
        return best

    def predict_proba(self, X) -> np.ndarray:
        """Filtered state probabilities; row t uses rows 0..t only."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        return self.online_filter().run(X)[0]

    def score(self, X, y=None) -> float:
        """Minus the penalised objective per sample of the best sequence for ``X``."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        return -penalised_viterbi(_losses(X, self.means_), self.jump_penalty)[1] / X.shape[0]

"""A transparent rules model: the baseline every benchmark prints beside the engine.

Ten lines of logic anyone can check by hand:

1. **stress** when the 21-day volatility of the cap-weighted index is above
   its expanding 85th percentile (the feature ``rk_vol_pctl_21d`` is that
   volatility's percentile rank among every value up to the day, so the scale
   is the whole history so far, not a training window);
2. otherwise **broadening** when the 63-day equal-weight vs cap-weight return
   spread is positive (small caps vs cap weight where there is no
   equal-weight series), else **concentration**;
3. a new label is reported once the rule has given it ``hold_days`` days
   running.

It learns nothing from the training window except, for diagnostics, the
mean feature values of each state. Its probabilities are one-hot: the rule
is sure of itself, and the calibration metrics show what that costs.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ._base import COUNT, RegimeEstimator, Run
from ._filters import RulesFilter

__all__ = ["RulesRegime", "RULE_STATES"]

#: The rule's states, in order; names come from the rule itself, not from a fit.
RULE_STATES = ("stress", "concentration", "broadening")


class RulesRegime(RegimeEstimator):
    """Volatility-percentile and relative-strength rule with a holding period.

    Parameters
    ----------
    threshold : float, default=0.85
        Stress when the volatility percentile (column 0 of ``X``) is above it.
    hold_days : int, default=10
        A new rule state is reported once it has held this many rows running.
    warm_start : bool, default=False
        Accepted for the estimator contract; a rule has nothing to warm-start.

    Attributes
    ----------
    means_ : ndarray of shape (3, n_features)
        Mean of each rule state's training rows (NaN for a state never seen).
    state_names_ : tuple of str
        Regime id of each state: ``RULE_STATES``.
    converged_ : bool
        Always True.
    n_iter_ : int
        Always 0.
    lower_bound_ : float
        Always 0 (there is no objective).
    n_features_in_ : int

    Notes
    -----
    ``X`` is read unscaled: column 0 is the volatility percentile in [0, 1],
    column 1 the leadership spread (its sign is what counts).
    """

    n_components = 3
    covariance_type = "spherical"

    _parameter_constraints: dict = {
        "threshold": [Interval(Real, 0, 1, closed="neither")],
        "hold_days": [COUNT],
        "warm_start": ["boolean"],
    }

    def __init__(self, *, threshold: float = 0.85, hold_days: int = 10, warm_start: bool = False) -> None:
        self.threshold = threshold
        self.hold_days = hold_days
        self.warm_start = warm_start

    def _n_weight_parameters(self) -> int:
        return 0

    def _rule(self) -> RulesFilter:
        return RulesFilter(float(self.threshold), int(self.hold_days))

    def online_filter(self) -> RulesFilter:
        """The rule with its holding period (what :meth:`predict_proba` runs)."""
        check_is_fitted(self)
        return self._rule()

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None) -> RulesRegime:
        """Record the rule states' mean features on the training rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, 2)
            The volatility percentile and the leadership spread, one row per day in time order.
        y : ignored

        Returns
        -------
        self
        """
        X = self._validate(X, reset=True)
        if X.shape[1] != 2:
            raise ValueError(f"the rules model reads 2 columns (volatility percentile, leadership), got {X.shape[1]}")
        rule = self._rule()
        states = rule.held(rule.raw_states(X))[0]
        self.means_ = np.array([
            X[states == k].mean(axis=0) if (states == k).any() else np.full(X.shape[1], np.nan) for k in range(3)
        ])
        self.state_names_ = RULE_STATES
        self._record_fit(Run(None, 0.0, 0.0, 0, True))  # nothing to iterate: converged, 0 iterations, bound 0
        return self

    def predict_proba(self, X) -> np.ndarray:
        """One-hot probabilities of the held rule state; row t uses rows 0..t only."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        return self.online_filter().run(X)[0]

    def score(self, X, y=None) -> float:
        """0: a rule has no likelihood."""
        check_is_fitted(self)
        return 0.0

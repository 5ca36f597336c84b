"""Two persistent two-state models, one per axis, combined into the named regimes.

The **risk axis** asks "stress or not?" from risk features anchored to the
whole history so far (by default the expanding percentile of 10-day
volatility as a normal quantile, the 21-day return and the 21-day change of
the credit spread). The **leadership
axis** asks "are the broad market and the smaller names leading, or the
giants?" from daily relative returns oriented so that positive means
broadening, and anchored at zero: a spread that does not move favours
neither side. Each axis is a two-state hidden Markov model with Gaussian
emissions sharing one covariance (so the evidence is linear in the features:
a rally never counts for stress, and several indices of the same size factor
do not count as independent evidence) and fixed, persistent transitions; the
regimes are

- ``stress`` = P(risk axis is in stress);
- ``concentration`` = P(not stress) x P(giants lead);
- ``broadening`` = P(not stress) x P(broad market leads).

What makes it robust to markets it was not built on:

- **Stress must look like stress.** The stress state's means have a prior
  centred ``stress_shift`` calm standard deviations on the stress side of the
  calm state (higher volatility, lower returns, wider credit, more
  dispersion), worth ``prior_days`` days of data, and its volatility mean may
  never sit closer to the calm mean than that. A training window without
  stress therefore keeps a stress state that only real stress can fill,
  rather than naming its most volatile calm days "stress".
- **Anchors, not training-window z-scores.** The risk features are relative
  to their expanding history and the leadership features are symmetric about
  zero, so a calm or one-sided training window cannot redefine the scale.
- **Missing values are marginalised.** A feature that is missing on a day
  (a series that starts later, a stale input) simply drops out of that day's
  likelihood; a day is labelled while it has the first risk column and at
  least one leadership column.

Fitting is EM on the training window (smoothed posteriors are used to fit
only); probabilities are forward-filtered: row t uses rows up to t.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import COUNT, NON_NEGATIVE, POSITIVE, RegimeEstimator, Run
from ._kernels import forward_filter, smoothed_posteriors

__all__ = ["AxesRegime", "AXES_STATES"]

#: An expected spell length, in days: more than one.
_SPELL_DAYS = Interval(Real, 1, None, closed="neither")

#: The combined states, in output order.
AXES_STATES = ("stress", "concentration", "broadening")

_LOG2PI = np.log(2.0 * np.pi)


def _gauss_loglik_missing(X: np.ndarray, obs: np.ndarray, means: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Log-likelihood of each row under Gaussians with these means and full covariances.

    ``cov`` is one covariance shared by every state, or one per state. Missing values are marginalised:
    each pattern of observed columns uses its own sub-covariance.
    """
    covs = np.broadcast_to(cov, (means.shape[0],) + cov.shape[-2:])
    out = np.zeros((X.shape[0], means.shape[0]))
    patterns, inverse = np.unique(obs, axis=0, return_inverse=True)
    for p, pat in enumerate(patterns):
        if not pat.any():
            continue
        rows = np.flatnonzero(inverse.ravel() == p)
        for j in range(means.shape[0]):
            sub = covs[j][np.ix_(pat, pat)]
            logdet = np.linalg.slogdet(sub)[1]
            inv = np.linalg.inv(sub)
            d = X[np.ix_(rows, pat)] - means[j, pat]
            out[rows, j] = -0.5 * (pat.sum() * _LOG2PI + logdet + np.einsum("ij,jk,ik->i", d, inv, d))
    return out


def _psd(cov: np.ndarray, floor: float = 1e-4, shrink: float = 0.0) -> np.ndarray:
    """A symmetric covariance shrunk toward its diagonal by ``shrink``, with eigenvalues at least ``floor``
    times the mean variance.

    Shrinkage keeps nearly collinear series (several indices measuring the same leadership) from opening a
    near-null direction in which tiny differences of their means would count as strong evidence.
    """
    cov = 0.5 * (cov + cov.T)
    cov = (1.0 - shrink) * cov + shrink * np.diag(np.diag(cov))
    vals, vecs = np.linalg.eigh(cov)
    return (vecs * np.maximum(vals, floor * max(np.trace(cov) / len(cov), 1e-12))) @ vecs.T


def _weighted_cov(X: np.ndarray, obs: np.ndarray, w: np.ndarray, mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted scatter about ``mean`` over pairwise-observed rows, and the pairwise weights."""
    D = np.where(obs, X - mean, 0.0) * np.sqrt(w)[:, None]
    O = np.where(obs, 1.0, 0.0) * w[:, None]
    return D.T @ D, O.T @ np.where(obs, 1.0, 0.0)


def _weighted_moments(X: np.ndarray, obs: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-column weighted mean, variance and total weight over the observed rows."""
    W = np.where(obs, w[:, None], 0.0)
    Xz = np.where(obs, X, 0.0)
    tot = W.sum(axis=0)
    mean = (W * Xz).sum(axis=0) / np.maximum(tot, 1e-12)
    var = (W * (Xz - mean) ** 2).sum(axis=0) / np.maximum(tot, 1e-12)
    return mean, var, tot


class AxesRegime(RegimeEstimator):
    """Risk and leadership axes, each a persistent two-state HMM, combined into three regimes.

    Parameters
    ----------
    axes : tuple of str
        For each column of ``X``: ``"risk"`` or ``"lead"``. Column order within
        an axis is kept; the first risk column must be the volatility measure.
    risk_signs : tuple of float, optional
        For each risk column, +1 if stress raises it, -1 if stress lowers it
        (default: +1 for all).
    stress_shift : float, default=1.5
        How many calm standard deviations the stress state's prior means sit
        on the stress side of the calm means; also the least distance of the
        stress volatility mean from the calm one.
    stress_floor : float, default=1.04
        The least value of the stress state's mean of the first risk column, on
        its own anchored scale (for ``rk_vol_q_10d``, 1.04 is the history's 85th
        percentile of volatility): an absolute anchor no window can move.
    prior_days : float, default=40.0
        Weight of that prior, in days of data.
    calm_days, stress_days : float, default=250.0, 40.0
        Expected length of a calm and of a stress spell (fixed transitions).
    lead_days : float, default=252.0
        Expected length of a leadership spell (fixed transitions).
    clip : float, default=4.0
        Leadership observations are clipped to [-clip, clip] standard deviations.
    risk_evidence : float, default=0.15
        Weight of one day's risk likelihood. The risk features are trailing
        windows (10 and 21 days), so neighbouring days share most of their
        data; counting each day as independent evidence would make the filter
        jump at every volatile week. 0.1 would count a 10-day window's days
        about once; 0.15, chosen on the development episodes, is what catches
        the 1969-70 and 1990 sell-offs.
    lead_evidence : float, default=1.0
        Weight of one day's leadership likelihood: below 1 when the spreads'
        noise is persistent (sector trends), so that a few weeks of drift do not
        count as a change of leadership.
    lead_ar : bool, default=True
        Read the leadership series' AR(1) innovations, ``x_t - phi x_(t-1)``,
        with ``phi`` the lag-1 autocorrelation of the series on the training
        window (clipped to [0, 0.9]). Spreads whose daily noise persists (small
        portfolios that trade late, as in the French size portfolios of the 1960s
        and 1970s) would otherwise count a few days of drift as independent
        evidence and flip the leadership label back and forth. ``phi`` also
        counts persistent leadership itself, so a strongly persistent composite
        is read with somewhat less evidence a day; with serially independent
        spreads and weak leadership (ETF spreads) ``phi`` is about 0.
    lead_combine : {"mean", "none"}, default="mean"
        ``"mean"``: the leadership axis reads one composite observation a day,
        the mean of the leadership series present (they largely measure one
        size factor, so their average loses little and cannot over-count);
        ``"none"``: every series, with a shared full covariance.
    n_iter : int, default=200
        EM iterations per axis.
    tol : float, default=1e-3
        Stop when the mean log-likelihood gains less than this.
    warm_start : bool, default=False
        Refit from the current parameters.

    Attributes
    ----------
    risk_means_ : ndarray of shape (2, n_risk)
        Calm (row 0) and stress (row 1) emission means.
    risk_covs_ : ndarray of shape (2, n_risk, n_risk)
        Their full covariances.
    lead_m_ : ndarray of shape (n_lead,)
        The broadening state's means are ``+lead_m_``, the concentration state's ``-lead_m_``.
    lead_phi_ : float
        The AR(1) coefficient removed from the leadership series (0 without ``lead_ar``).
    lead_cov_ : ndarray of shape (n_lead, n_lead)
        The covariance both leadership states share: the leadership series move together, and a
        shared full covariance keeps several of them from counting as independent evidence.
    means_ : ndarray of shape (3, n_features)
        Emission means of the combined states (for diagnostics).
    state_names_ : tuple of str
        ``AXES_STATES``.
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Mean log-likelihood per row of both axes on the training window.
    n_features_in_ : int
    """

    n_components = 3
    covariance_type = "diag"
    _parameter_constraints: dict = {
        "axes": ["array-like"],
        "risk_signs": ["array-like", None],
        "stress_shift": [POSITIVE],
        "stress_floor": [Real],
        "prior_days": [NON_NEGATIVE],
        "calm_days": [_SPELL_DAYS],
        "stress_days": [_SPELL_DAYS],
        "lead_days": [_SPELL_DAYS],
        "clip": [POSITIVE],
        "risk_evidence": [POSITIVE],
        "lead_evidence": [POSITIVE],
        "lead_ar": ["boolean"],
        "lead_combine": [StrOptions({"mean", "none"})],
        "n_iter": [COUNT],
        "tol": [NON_NEGATIVE],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        *,
        axes: tuple[str, ...] = ("risk", "lead"),
        risk_signs: tuple[float, ...] | None = None,
        stress_shift: float = 1.5,
        stress_floor: float = 1.04,
        prior_days: float = 40.0,
        calm_days: float = 250.0,
        stress_days: float = 40.0,
        lead_days: float = 252.0,
        clip: float = 4.0,
        risk_evidence: float = 0.15,
        lead_evidence: float = 1.0,
        lead_ar: bool = True,
        lead_combine: str = "mean",
        n_iter: int = 200,
        tol: float = 1e-3,
        warm_start: bool = False,
    ) -> None:
        self.axes = axes
        self.risk_signs = risk_signs
        self.stress_shift = stress_shift
        self.stress_floor = stress_floor
        self.prior_days = prior_days
        self.calm_days = calm_days
        self.stress_days = stress_days
        self.lead_days = lead_days
        self.clip = clip
        self.risk_evidence = risk_evidence
        self.lead_evidence = lead_evidence
        self.lead_ar = lead_ar
        self.lead_combine = lead_combine
        self.n_iter = n_iter
        self.tol = tol
        self.warm_start = warm_start

    # ------------------------------------------------------------------ helpers
    def _validate(self, X, reset: bool) -> np.ndarray:
        return validate_data(self, X, dtype=np.float64, reset=reset, ensure_all_finite="allow-nan",
                             ensure_min_samples=1 if not reset else 2)

    def _check_n_samples(self, X: np.ndarray) -> None:
        """Two axes of two states each: any number of training rows will do."""

    def _n_weight_parameters(self) -> int:
        return 0

    def _split(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        axes = np.asarray(self.axes)
        if len(axes) != X.shape[1] or not set(axes) <= {"risk", "lead"}:
            raise ValueError(f"axes must name 'risk' or 'lead' for each of the {X.shape[1]} columns, got {self.axes}")
        if axes[0] != "risk" or "lead" not in axes:
            raise ValueError("the first column must be the risk axis' volatility and at least one column 'lead'")
        R = X[:, axes == "risk"]
        L = np.clip(X[:, axes == "lead"], -self.clip, self.clip)
        if self.lead_combine == "mean":  # one composite observation: the mean of the series present that day
            with np.errstate(all="ignore"):
                L = np.nanmean(L, axis=1, keepdims=True) if L.size else L
        return R, self._innovations(L)

    def _innovations(self, L: np.ndarray) -> np.ndarray:
        """``L_t - lead_phi_ * L_(t-1)``: uses the day before only; a day after a missing one keeps its value."""
        phi = getattr(self, "lead_phi_", 0.0)
        if phi <= 0:
            return L
        prev = np.vstack([np.full((1, L.shape[1]), np.nan), L[:-1]])
        return L - phi * np.nan_to_num(prev)

    def _fit_lead_phi(self, L: np.ndarray) -> float:
        """Lag-1 autocorrelation of the raw leadership series on the training rows, in [0, 0.9].

        It counts persistent noise and persistent leadership alike, so it also discounts the evidence of a
        composite whose moves are predictable from the day before; with serially independent spreads and
        weak leadership (ETF spreads) it is about 0.
        """
        a, c = L[1:].ravel(), L[:-1].ravel()
        ok = ~(np.isnan(a) | np.isnan(c))
        if ok.sum() < 20 or np.std(a[ok]) == 0 or np.std(c[ok]) == 0:
            return 0.0
        return float(np.clip(np.corrcoef(a[ok], c[ok])[0, 1], 0.0, 0.9))

    def _signs(self, n_risk: int) -> np.ndarray:
        if self.risk_signs is None:
            return np.ones(n_risk)
        s = np.asarray(self.risk_signs, dtype=float)
        if s.shape != (n_risk,):
            raise ValueError(f"risk_signs needs one sign per risk column ({n_risk}), got {len(s)}")
        return np.sign(s)

    def _risk_transitions(self) -> tuple[np.ndarray, np.ndarray]:
        a, b = 1.0 / self.calm_days, 1.0 / self.stress_days
        A = np.array([[1 - a, a], [b, 1 - b]])
        start = np.array([b, a]) / (a + b)  # the stationary distribution
        return start, A

    def _lead_transitions(self) -> tuple[np.ndarray, np.ndarray]:
        c = 1.0 / self.lead_days
        return np.array([0.5, 0.5]), np.array([[1 - c, c], [c, 1 - c]])

    def _risk_loglik(self, R: np.ndarray) -> np.ndarray:
        ll = _gauss_loglik_missing(np.nan_to_num(R), ~np.isnan(R), self.risk_means_, self.risk_covs_)
        return self.risk_evidence * ll

    def _lead_loglik(self, L: np.ndarray) -> np.ndarray:
        m = np.vstack([-self.lead_m_, self.lead_m_])  # concentration, broadening
        return self.lead_evidence * _gauss_loglik_missing(np.nan_to_num(L), ~np.isnan(L), m, self.lead_cov_)

    # ------------------------------------------------------------------ fitting
    def _risk_mstep(self, R: np.ndarray, obs: np.ndarray, g: np.ndarray, signs: np.ndarray):
        calm_mean, calm_var, _ = _weighted_moments(R, obs, 1.0 - g)
        scatter, n_pair = _weighted_cov(R, obs, 1.0 - g, calm_mean)
        calm_cov = _psd(scatter / np.maximum(n_pair, 1e-9))
        calm_sd = np.sqrt(np.diag(calm_cov))
        prior_mean = calm_mean + signs * self.stress_shift * calm_sd
        W = np.where(obs, g[:, None], 0.0)
        Rz = np.where(obs, R, 0.0)
        n0 = self.prior_days
        tot = W.sum(axis=0) + n0
        s_mean = ((W * Rz).sum(axis=0) + n0 * prior_mean) / tot
        # stress must look like stress: its volatility at least stress_shift calm SDs above the calm level
        s_mean[0] = max(s_mean[0], prior_mean[0], self.stress_floor)
        # one covariance for both states: the evidence for stress is then linear in the features, so a day can
        # only look like stress by moving the way stress moves them (a rally never counts for stress)
        s_scatter, s_pair = _weighted_cov(R, obs, g, s_mean)
        c_scatter, c_pair = _weighted_cov(R, obs, 1.0 - g, calm_mean)
        cov = _psd((c_scatter + s_scatter) / np.maximum(c_pair + s_pair, 1e-9), floor=0.05, shrink=0.5)
        return np.vstack([calm_mean, s_mean]), np.stack([cov, cov])

    def _em(self, mstep, loglik, start: np.ndarray, A: np.ndarray, post: np.ndarray) -> tuple[float, int, bool]:
        """EM for one axis: M-step from the smoothed posteriors, then new posteriors, until the gain < tol."""
        prev, ll, it, conv = -np.inf, -np.inf, 0, False
        for it in range(1, self.n_iter + 1):
            mstep(post)
            logb = loglik()
            ll = forward_filter(logb, start, A)[2] / len(logb)
            post = smoothed_posteriors(logb, start, A)[:, 1]
            if ll - prev < self.tol:
                conv = True
                break
            prev = ll
        return ll, it, conv

    def _fit_risk(self, R: np.ndarray, warm: bool) -> tuple[float, int, bool]:
        obs = ~np.isnan(R)
        signs = self._signs(R.shape[1])
        start, A = self._risk_transitions()
        if warm:
            g = smoothed_posteriors(self._risk_loglik(R), start, A)[:, 1]
        else:  # start from the most volatile 15% of the window
            g = (R[:, 0] > np.nanquantile(R[:, 0], 0.85)).astype(float)

        def mstep(post: np.ndarray) -> None:
            self.risk_means_, self.risk_covs_ = self._risk_mstep(R, obs, post, signs)

        return self._em(mstep, lambda: self._risk_loglik(R), start, A, g)

    def _fit_lead(self, L: np.ndarray, warm: bool) -> tuple[float, int, bool]:
        obs = ~np.isnan(L)
        start, A = self._lead_transitions()
        Lz = np.where(obs, L, 0.0)
        n_obs = np.maximum(obs.sum(axis=0), 1)
        n_pair = np.maximum(obs.T.astype(float) @ obs.astype(float), 1.0)
        if warm:
            b = smoothed_posteriors(self._lead_loglik(L), start, A)[:, 1]
        else:  # start from the sign of the average spread over the surrounding quarter
            avg = np.nan_to_num(np.nanmean(np.where(obs, L, np.nan), axis=1))
            b = (np.convolve(avg, np.ones(63) / 63, mode="same") > 0).astype(float)

        def mstep(post: np.ndarray) -> None:
            w = 2.0 * post - 1.0
            m = (np.where(obs, w[:, None], 0.0) * Lz).sum(axis=0) / n_obs
            m = np.maximum(m, 0.0)  # a column that disagrees with the orientation carries no weight
            # E[(x - mu)(x - mu)'] with mu = +m or -m: the second moment minus the state-mean terms
            cross = (Lz * w[:, None]).T @ np.where(obs, 1.0, 0.0) * m[None, :]
            cov = (Lz.T @ Lz - cross - cross.T + n_pair * np.outer(m, m)) / n_pair
            self.lead_m_, self.lead_cov_ = m, _psd(cov, floor=0.05, shrink=0.5)

        return self._em(mstep, lambda: self._lead_loglik(L), start, A, b)

    def _fit(self, X: np.ndarray, warm: bool) -> Run:
        """EM on each axis over the training rows (from the current parameters when warm): one run."""
        self.lead_phi_ = 0.0
        R, L = self._split(X)  # raw leadership: phi is 0 until fitted here
        if self.lead_ar:  # the leadership series' AR(1) coefficient on the training rows; then read innovations
            self.lead_phi_ = self._fit_lead_phi(L)
            L = self._innovations(L)
        if np.isnan(R[:, 0]).all() or np.isnan(L).all():
            raise ValueError("the training rows have no volatility or no leadership value")
        ll_r, it_r, conv_r = self._fit_risk(R, warm)
        ll_l, it_l, conv_l = self._fit_lead(L, warm)
        self.state_names_ = AXES_STATES
        axes = np.asarray(self.axes)
        means = np.full((3, X.shape[1]), np.nan)
        means[0, axes == "risk"] = self.risk_means_[1]
        means[1:, axes == "risk"] = self.risk_means_[0]
        means[1, axes == "lead"] = -self.lead_m_
        means[2, axes == "lead"] = self.lead_m_
        self.means_ = means
        return Run(None, ll_r + ll_l, ll_r + ll_l, it_r + it_l, conv_r and conv_l)

    # ------------------------------------------------------------------ inference
    def axis_probabilities(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Filtered P(stress) and P(broadening leadership) of each row; row t uses rows up to t.

        A row without the volatility column, or without any leadership column,
        gets NaN on that axis (the filter carries its belief over it).
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        R, L = self._split(X)
        s_start, s_A = self._risk_transitions()
        l_start, l_A = self._lead_transitions()
        r = forward_filter(self._risk_loglik(R), s_start, s_A)[0][:, 1]
        b = forward_filter(self._lead_loglik(L), l_start, l_A)[0][:, 1]
        r = np.where(np.isnan(R[:, 0]), np.nan, r)
        b = np.where(np.isnan(L).all(axis=1), np.nan, b)
        return r, b

    def predict_proba(self, X) -> np.ndarray:
        """Filtered probabilities of (stress, concentration, broadening); NaN rows where an axis has no data."""
        r, b = self.axis_probabilities(X)
        return np.column_stack([r, (1 - r) * (1 - b), (1 - r) * b])

    def score(self, X, y=None) -> float:
        """Mean log-likelihood per row of both axes."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        R, L = self._split(X)
        s_start, s_A = self._risk_transitions()
        l_start, l_A = self._lead_transitions()
        return float((forward_filter(self._risk_loglik(R), s_start, s_A)[2]
                      + forward_filter(self._lead_loglik(L), l_start, l_A)[2]) / len(X))

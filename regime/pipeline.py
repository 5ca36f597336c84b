"""A trained regime model: features -> scaler -> estimator -> named regimes.

:class:`RegimeModel` is composed of small parts (arch-style): the config that
built the features, the scalers fitted on the training window only, the
estimator, and the state -> regime map from the naming rules. It takes pandas
in and gives pandas out, with the input's DatetimeIndex.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from .config import Config
from .data import MarketData
from .errors import ModelError
from .features import build_features, select_features, training_rows
from .labeling import assign_regimes, regime_probabilities, regime_scores, state_profiles
from .models import RegimeEstimator, make_estimator

__all__ = ["RegimeModel", "fit_regime_model"]

log = logging.getLogger(__name__)


@dataclass
class RegimeModel:
    """A fitted, named regime model.

    Attributes
    ----------
    config : Config
        The resolved config it was trained with.
    feature_names : list of str
        The features that feed the estimator, in order.
    scaler : StandardScaler
        Fitted on the training window's model features only.
    profile_scaler : StandardScaler
        Fitted on the training window's every feature; used for profiles and drivers.
    profile_names : list of str
        All features the data provided at training.
    estimator : RegimeEstimator
    state_map : dict
        State index -> regime id.
    profiles : DataFrame
        States x all features: standardised means, the basis of the names.
    trained_from, trained_through : Timestamp
        The training window.
    diagnostics : dict
        Fit diagnostics (convergence, log-likelihood, BIC, occupancy, ...).
    """

    config: Config
    feature_names: list[str]
    scaler: StandardScaler
    profile_scaler: StandardScaler
    profile_names: list[str]
    estimator: RegimeEstimator
    state_map: dict[int, str]
    profiles: pd.DataFrame
    trained_from: pd.Timestamp
    trained_through: pd.Timestamp
    diagnostics: dict = field(default_factory=dict)

    @property
    def regime_ids(self) -> list[str]:
        """Regime ids in config order."""
        return list(self.config.regimes)

    @property
    def regime_names(self) -> dict[str, str]:
        """Regime id -> human label."""
        return {rid: rule.name for rid, rule in self.config.regimes.items()}

    def check_features(self, features: pd.DataFrame, source: str = "the data") -> None:
        """Raise :class:`ModelError` if ``features`` lacks any feature the model was trained on."""
        missing = [f for f in self.feature_names if f not in features.columns]
        if missing:
            raise ModelError(
                f"the model was trained on features {source} does not provide: {', '.join(missing[:6])}"
                f"{' ...' if len(missing) > 6 else ''}; supply the same files and columns (roles) it was "
                "trained with, or retrain on this data with `regime train`"
            )

    def state_probabilities(self, features: pd.DataFrame) -> pd.DataFrame:
        """Filtered state probabilities on every day with complete features.

        The forward filter starts at the first day whose model features are
        all defined. A later day with a missing feature (for example a stale
        rate) is skipped by the filter and carries the previous day's
        probabilities. Rows before the start are NaN.

        Returns
        -------
        DataFrame
            ``features.index`` x states.
        """
        self.check_features(features)
        X = features[self.feature_names]
        ok = X.notna().all(axis=1)
        out = pd.DataFrame(np.nan, index=features.index, columns=pd.RangeIndex(len(self.state_map), name="state"))
        if ok.any():
            probs = self.estimator.predict_proba(self.scaler.transform(X[ok]))
            out.loc[ok] = probs
            first = ok.idxmax()
            out.loc[first:] = out.loc[first:].ffill()
        return out

    def filtered_probabilities(self, features: pd.DataFrame) -> pd.DataFrame:
        """Filtered regime probabilities: row t uses data up to t only.

        Returns
        -------
        DataFrame
            ``features.index`` x regime ids; rows sum to 1 where defined, NaN
            before the first day with complete features.
        """
        states = self.state_probabilities(features)
        probs = regime_probabilities(np.nan_to_num(states.to_numpy()), self.state_map, self.regime_ids, states.index)
        probs[states.isna().any(axis=1)] = np.nan
        return probs

    def smoothed_probabilities(self, features: pd.DataFrame) -> pd.DataFrame:
        """Smoothed regime probabilities. They LOOK AHEAD: for after-the-fact analysis only.

        Available for HMM estimators; never used by labels, scores, backtests or signals.
        """
        if not hasattr(self.estimator, "predict_proba_smoothed"):
            raise ModelError(f"{type(self.estimator).__name__} has no smoothed probabilities")
        self.check_features(features)
        X = features[self.feature_names].dropna()
        probs = self.estimator.predict_proba_smoothed(self.scaler.transform(X))
        return regime_probabilities(probs, self.state_map, self.regime_ids, X.index).reindex(features.index)

    def labels(self, features: pd.DataFrame) -> pd.Series:
        """Most probable regime id of each day under the filtered probabilities (NaN before the start)."""
        probs = self.filtered_probabilities(features)
        ids = np.asarray(self.regime_ids, dtype=object)
        arr = probs.to_numpy()
        defined = ~np.isnan(arr).any(axis=1)
        lab = np.full(len(arr), None, dtype=object)
        lab[defined] = ids[np.argmax(arr[defined], axis=1)]
        return pd.Series(lab, index=probs.index, name="regime")

    def standardise(self, features: pd.DataFrame) -> pd.DataFrame:
        """Every profile feature standardised with the training-window scaler."""
        cols = [c for c in self.profile_names if c in features.columns]
        frame = features.reindex(columns=self.profile_names)
        z = self.profile_scaler.transform(frame)
        return pd.DataFrame(z, index=features.index, columns=self.profile_names)[cols]

    def regime_profiles(self) -> pd.DataFrame:
        """Regimes x features: occupancy-weighted standardised means of each regime's states."""
        occ = pd.Series(self.diagnostics.get("state_occupancy", {}), dtype=float)
        rows = {}
        for rid in self.regime_ids:
            states = [s for s, r in self.state_map.items() if r == rid]
            w = occ.reindex([str(s) for s in states]).fillna(1.0).to_numpy()
            w = w / w.sum() if w.sum() > 0 else np.full(len(states), 1.0 / len(states))
            rows[rid] = (self.profiles.loc[states].to_numpy() * w[:, None]).sum(axis=0)
        return pd.DataFrame(rows, index=self.profiles.columns).T


def fit_regime_model(
    data: MarketData,
    config: Config,
    features: pd.DataFrame | None = None,
    progress: Callable[[str], None] | None = None,
) -> RegimeModel:
    """Fit a regime model on all of ``data``.

    Parameters
    ----------
    data : MarketData
    config : Config
    features : DataFrame, optional
        Precomputed ``build_features(data, config)``.
    progress : callable, optional
        Called with a short description as each stage starts.

    Returns
    -------
    RegimeModel

    Raises
    ------
    DataError
        Too little history for the configured windows.
    """
    say = progress or (lambda _msg: None)
    if features is None:
        say("building features")
        features = build_features(data, config)
    cols = select_features(features.columns, config)
    X = training_rows(features, cols, config.train.min_days, config.features.lookback())
    all_cols = [c for c in features.columns if features.loc[X.index, c].notna().all()]
    profile_X = features.loc[X.index, all_cols]

    scaler = StandardScaler().fit(X)
    profile_scaler = StandardScaler().fit(profile_X)
    est = make_estimator(config.model)
    say(f"fitting {type(est).__name__} ({config.model.n_init} restarts) on {len(X)} days x {len(cols)} features")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        est.fit(scaler.transform(X))
    for w in caught:
        log.warning("%s", w.message)

    say("naming states")
    state_probs = est.predict_proba(scaler.transform(X))
    z = pd.DataFrame(profile_scaler.transform(profile_X), index=X.index, columns=all_cols)
    profiles = state_profiles(z, state_probs)
    state_map = assign_regimes(profiles, config.regimes)
    scores = regime_scores(profiles, config.regimes)
    n = len(X)
    diagnostics = {
        "estimator": type(est).__name__,
        "converged": bool(est.converged_),
        "n_iter": int(est.n_iter_),
        "mean_log_likelihood": float(est.lower_bound_),
        "bic": float(est.bic(scaler.transform(X))),
        "n_train_days": n,
        "state_occupancy": {str(k): float(v) for k, v in enumerate(state_probs.mean(axis=0))},
        "state_rule_scores": {str(s): {r: round(float(v), 4) for r, v in row.items()} for s, row in scores.iterrows()},
    }
    if hasattr(est, "init_scores_"):
        diagnostics["init_mean_log_likelihoods"] = [None if np.isnan(v) else float(v) for v in est.init_scores_]
    if hasattr(est, "transmat_"):
        diagnostics["transmat"] = np.round(est.transmat_, 6).tolist()
    log.info("fitted %s: converged=%s, mean loglik %.4f", type(est).__name__, est.converged_, est.lower_bound_)
    return RegimeModel(
        config=config,
        feature_names=cols,
        scaler=scaler,
        profile_scaler=profile_scaler,
        profile_names=all_cols,
        estimator=est,
        state_map=state_map,
        profiles=profiles,
        trained_from=X.index[0],
        trained_through=X.index[-1],
        diagnostics=diagnostics,
    )



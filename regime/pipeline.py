"""A trained regime model: features -> scaler -> estimator(s) -> named regimes.

:class:`RegimeModel` is composed of small parts (arch-style): one
:class:`Component` per fitted estimator (one, or the members of an ensemble),
each with its own feature selection, training-window scaler and state ->
regime map, plus the profile scaler used to explain a day. It takes pandas in
and gives pandas out, with the input's DatetimeIndex.
"""

from __future__ import annotations

import copy
import logging
import pickle
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .config import Config, EstimatorConfig
from .data import MarketData
from .errors import ConfigError, ModelError
from .features import build_features, select_features, training_rows, usable_rows
from .labeling import (
    assign_regimes,
    persistent_labels,
    regime_probabilities,
    regime_scores,
    regime_sums,
    state_profiles,
)

if TYPE_CHECKING:
    from .models import RegimeEstimator
    from .models._filters import Filter

__all__ = ["Component", "RegimeModel", "Scaler", "fit_regime_model", "fit_on_features", "model_features",
           "labelled_rows"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Scaler:
    """A training window's standardisation, ``(x - mean_) / scale_``: scikit-learn's ``StandardScaler``, fitted,
    kept as its two arrays (so a stored model loads without scikit-learn).

    Attributes
    ----------
    mean_, scale_ : ndarray of shape (n_features,)
    """

    mean_: np.ndarray
    scale_: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray) -> Scaler:
        """``StandardScaler().fit(X)``'s mean and scale."""
        from sklearn.preprocessing import StandardScaler

        fitted = StandardScaler().fit(X)
        return cls(fitted.mean_, fitted.scale_)

    @classmethod
    def identity(cls, n_features: int) -> Scaler:
        """No scaling: features read on their own scale."""
        return cls(np.zeros(n_features), np.ones(n_features))

    def transform(self, X) -> np.ndarray:
        """``(X - mean_) / scale_``."""
        return (np.asarray(X, dtype=float) - self.mean_) / self.scale_


@dataclass
class Component:
    """One fitted estimator with its features, scaler and state names.

    Attributes
    ----------
    config : EstimatorConfig
        The leaf model config.
    feature_names : list of str
    scaler : Scaler
        Fitted on the training window's rows of ``feature_names`` only.
    estimator : RegimeEstimator
        The fitted estimator (for refits and diagnostics). A stored component keeps it pickled and unpickles it
        on first use: labelling days needs only ``filter``.
    state_map : dict
        State index -> regime id.
    profiles : DataFrame
        States x features: standardised means over the training window.
    regime_profile : DataFrame
        Regimes x features: occupancy-weighted means of each regime's states.
    diagnostics : dict
    filter : Filter
        The estimator's online filter (``estimator.online_filter()``, set on creation): what labels days.
    """

    config: EstimatorConfig
    feature_names: list[str]
    scaler: Scaler
    estimator: RegimeEstimator
    state_map: dict[int, str]
    profiles: pd.DataFrame
    regime_profile: pd.DataFrame
    diagnostics: dict = field(default_factory=dict)
    filter: Filter | None = None

    def __post_init__(self) -> None:
        if self.filter is None:
            self.filter = self.estimator.online_filter()

    def __getstate__(self) -> dict[str, Any]:
        """The estimator travels as pickled bytes, so loading a component imports none of its libraries (unless
        its filter is the estimator itself, an ``EstimatorFilter``: then it is stored once, inline)."""
        state = dict(self.__dict__)
        if "estimator" in state and getattr(state.get("filter"), "estimator", None) is not state["estimator"]:
            state["_estimator_pickle"] = pickle.dumps(state.pop("estimator"), protocol=pickle.HIGHEST_PROTOCOL)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self.__dict__.get("filter") is None:  # a component stored before filters existed
            self.filter = self.estimator.online_filter()

    def __getattr__(self, name: str) -> Any:
        blob = self.__dict__.get("_estimator_pickle") if name == "estimator" else None
        if blob is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        self.__dict__["estimator"] = estimator = pickle.loads(blob)  # noqa: S301 - our own artifact
        del self.__dict__["_estimator_pickle"]
        return estimator

    def state_probabilities(self, features: pd.DataFrame) -> pd.DataFrame:
        """Filtered state probabilities on every day with complete features.

        The filter runs, in order, over the days whose features are all
        defined. A day with a missing feature (warm-up, or a stale input: a
        rate older than ``data.max_stale_days``, a day without constituents)
        is skipped by the filter and gets NaN probabilities: no label, never
        the previous day's probabilities carried forward. The filter then
        resumes from the last complete day.
        """
        X = features[self.feature_names].to_numpy()
        ok = usable_rows(features, self.feature_names, self.config).to_numpy()
        out = self._states(X, ok)[0]
        return pd.DataFrame(out, index=features.index, columns=pd.RangeIndex(out.shape[1], name="state"))

    def regime_probabilities(self, features: pd.DataFrame, regime_ids: list[str]) -> pd.DataFrame:
        """Filtered regime probabilities of this component (NaN rows where a feature is missing)."""
        X = features[self.feature_names].to_numpy()
        ok = usable_rows(features, self.feature_names, self.config).to_numpy()
        return pd.DataFrame(self._regimes(X, ok, regime_ids)[0], index=features.index,
                            columns=pd.Index(regime_ids, name="regime"))

    def _states(self, X: np.ndarray, ok: np.ndarray, state: Any = None) -> tuple[np.ndarray, Any]:
        """:meth:`state_probabilities` of the rows ``X`` (this component's features), ``ok`` the usable ones,
        with the filter continuing from ``state`` (None: from the start); and the filter's state after them."""
        out = np.full((len(X), len(self.state_map)), np.nan)
        if ok.any():
            out[ok], state = self.filter.run((X[ok] - self.scaler.mean_) / self.scaler.scale_, state)
        return out, state

    def _regimes(self, X: np.ndarray, ok: np.ndarray, regime_ids: list[str], state: Any = None
                 ) -> tuple[np.ndarray, Any]:
        """:meth:`regime_probabilities` of the rows ``X``, as an array, and the filter's state after them."""
        states, state = self._states(X, ok, state)
        probs = regime_sums(np.nan_to_num(states), self.state_map, regime_ids)
        probs[np.isnan(states).any(axis=1)] = np.nan
        return probs, state


@dataclass
class RegimeModel:
    """A fitted, named regime model.

    Attributes
    ----------
    config : Config
        The resolved config it was trained with.
    components : list of Component
        One per fitted estimator; an ensemble has several.
    profile_scaler : Scaler
        Fitted on the training window's profile features; used for profiles and drivers.
    profile_names : list of str
        The model and rule features the data provided (complete) over the training window.
    regime_profile : DataFrame
        Regimes x features: probability-weighted standardised means over the
        training window (the ensemble's view).
    trained_from, trained_through : Timestamp
    diagnostics : dict
    """

    config: Config
    components: list[Component]
    profile_scaler: Scaler
    profile_names: list[str]
    regime_profile: pd.DataFrame
    trained_from: pd.Timestamp
    trained_through: pd.Timestamp
    diagnostics: dict = field(default_factory=dict)

    @property
    def feature_names(self) -> list[str]:
        """Every feature some component uses, in first-use order."""
        return list(dict.fromkeys(f for c in self.components for f in c.feature_names))

    @property
    def regime_ids(self) -> list[str]:
        """Regime ids in config order."""
        return list(self.config.regimes)

    @property
    def regime_names(self) -> dict[str, str]:
        """Regime id -> human label."""
        return {rid: rule.name for rid, rule in self.config.regimes.items()}

    @property
    def estimator_name(self) -> str:
        """The estimator class, or 'Ensemble(A+B)'."""
        names = [c.diagnostics.get("estimator") or type(c.estimator).__name__ for c in self.components]
        return names[0] if len(names) == 1 else f"Ensemble({'+'.join(names)})"

    def check_features(self, features: pd.DataFrame, source: str = "the data") -> None:
        """Raise :class:`ModelError` if ``features`` lacks any feature the model was trained on."""
        missing = [f for f in self.feature_names if f not in features.columns]
        if missing:
            raise ModelError(
                f"the model was trained on features {source} does not provide: {', '.join(missing[:6])}"
                f"{' ...' if len(missing) > 6 else ''}; supply the same files and columns (roles) it was "
                "trained with, or retrain on this data with `regime train`"
            )

    def filtered_probabilities(self, features: pd.DataFrame) -> pd.DataFrame:
        """Filtered regime probabilities: row t uses data up to t only.

        An ensemble averages its components' regime probabilities with their
        configured weights.

        Returns
        -------
        DataFrame
            ``features.index`` x regime ids; rows sum to 1 where defined, NaN
            on every day with a missing model feature (warm-up or stale inputs).
        """
        return self.filter(features)[0]

    def filter(self, features: pd.DataFrame, states: list[Any] | None = None) -> tuple[pd.DataFrame, list[Any]]:
        """:meth:`filtered_probabilities` of ``features``' rows, continuing the filters from ``states``.

        ``filter(all)`` equals ``filter(first rows)`` then ``filter(later rows, states)``, which is how a day is
        labelled without running the filters over the whole history again.

        Parameters
        ----------
        features : DataFrame
            The rows to filter, in time order, after those ``states`` were left at.
        states : list, optional
            Each component's filter state, as returned by an earlier call (None: start the filters).

        Returns
        -------
        probabilities : DataFrame
        states : list
            Each component's filter state after the last row.
        """
        self.check_features(features)
        rows = [(features[c.feature_names].to_numpy(), usable_rows(features, c.feature_names, c.config).to_numpy())
                for c in self.components]
        probs, states = self._average(rows, states)
        return pd.DataFrame(probs, index=features.index, columns=pd.Index(self.regime_ids, name="regime")), states

    def _average(self, rows: list[tuple[np.ndarray, np.ndarray]], states: list[Any] | None = None
                 ) -> tuple[np.ndarray, list[Any]]:
        """The components' regime probabilities averaged with their weights, and their filters' states after the
        rows; ``rows``: each one's (X, usable), ``states``: each one's filter state before them."""
        total, wsum, after = None, 0.0, []
        for i, (comp, (X, ok)) in enumerate(zip(self.components, rows)):
            p, state = comp._regimes(X, ok, self.regime_ids, None if states is None else states[i])
            after.append(state)
            p = p * comp.config.weight
            total = p if total is None else total + p
            wsum += comp.config.weight
        return total / wsum, after

    def smoothed_probabilities(self, features: pd.DataFrame) -> pd.DataFrame:
        """Smoothed regime probabilities. They LOOK AHEAD: for after-the-fact analysis only.

        Available for a single HMM; never used by labels, scores, backtests or signals.
        """
        est = self.components[0].estimator
        if len(self.components) != 1 or not hasattr(est, "predict_proba_smoothed"):
            raise ModelError(f"{self.estimator_name} has no smoothed probabilities")
        comp = self.components[0]
        self.check_features(features)
        X = features[comp.feature_names].dropna()
        probs = est.predict_proba_smoothed(comp.scaler.transform(X))
        return regime_probabilities(probs, comp.state_map, self.regime_ids, X.index).reindex(features.index)

    def labels_from(self, probs: pd.DataFrame) -> pd.Series:
        """Reported labels from filtered probabilities, with the configured persistence."""
        return persistent_labels(probs, self.config.label.margin, self.config.label.min_days)

    def labels(self, features: pd.DataFrame) -> pd.Series:
        """The reported regime of each day (None on days with a missing model feature)."""
        return self.labels_from(self.filtered_probabilities(features))

    def standardise(self, features: pd.DataFrame) -> pd.DataFrame:
        """Every profile feature standardised with the training-window scaler."""
        frame = features.reindex(columns=self.profile_names).to_numpy()
        z = (frame - self.profile_scaler.mean_) / self.profile_scaler.scale_
        return pd.DataFrame(z, index=features.index, columns=self.profile_names)


def model_features(columns: pd.Index | list[str], config: Config) -> dict[int, list[str]]:
    """The features of each leaf model, by position in ``config.model.leaves()``."""
    return {i: select_features(columns, leaf) for i, leaf in enumerate(config.model.leaves())}


def feature_union(columns: pd.Index | list[str], config: Config) -> list[str]:
    """Every feature some leaf model reads, in first-use order."""
    return list(dict.fromkeys(c for cols in model_features(columns, config).values() for c in cols))


def labelled_rows(features: pd.DataFrame, config: Config) -> pd.Series:
    """Days every leaf model can label: all its features defined (or, for the axes model, its essentials)."""
    cols = model_features(features.columns, config)
    ok = pd.Series(True, index=features.index)
    for i, leaf in enumerate(config.model.leaves()):
        ok &= usable_rows(features, cols[i], leaf)
    return ok


@dataclass(frozen=True, eq=False)
class _Design:
    """Features as arrays, prepared once for many fits on windows of one history (a walk-forward).

    Every day-by-day quantity (which days a model can label, which have every feature) is a row-wise test, so
    computing it once for the history and slicing it gives what computing it on each window would.

    Attributes
    ----------
    index : DatetimeIndex
    names : list of str
        Every feature a fit reads: the leaves' (in first-use order), then the rules' the data has.
    values : ndarray of shape (n_days, len(names))
        Column-major, as pandas hands out a frame's values.
    leaf_columns : list of list of str
        Each leaf model's features.
    usable : list of ndarray of bool
        Each leaf model's usable days (:func:`usable_rows`).
    labelled : ndarray of bool
        Days every leaf can label (:func:`labelled_rows`).
    complete : ndarray of bool
        Days with every one of ``names`` defined.
    """

    index: pd.DatetimeIndex
    names: list[str]
    values: np.ndarray
    leaf_columns: list[list[str]]
    usable: list[np.ndarray]
    labelled: np.ndarray
    complete: np.ndarray

    def positions(self, columns: list[str]) -> list[int]:
        """Where ``columns`` are among :attr:`names`."""
        where = {c: i for i, c in enumerate(self.names)}
        return [where[c] for c in columns]

    def rows(self, model: RegimeModel, start: int, stop: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each of ``model``'s components' (features, usable days) on days ``start`` to ``stop``."""
        out = []
        for i, comp in enumerate(model.components):
            if comp.feature_names != self.leaf_columns[i]:
                raise ModelError("the model's components do not read the features of this history's config")
            out.append((self.values[start:stop, self.positions(comp.feature_names)], self.usable[i][start:stop]))
        return out


def _design(features: pd.DataFrame, config: Config) -> _Design:
    """The arrays :func:`fit_on_features` fits on, for ``features`` under ``config``."""
    leaves = config.model.leaves()
    cols_by_leaf = model_features(features.columns, config)
    union = feature_union(features.columns, config)
    rule_cols = [f for rule in config.regimes.values() for f in rule.weights if f in features.columns]
    wanted = list(dict.fromkeys(union + rule_cols))
    frame = features[wanted]
    usable = [usable_rows(features, cols_by_leaf[i], leaf).to_numpy() for i, leaf in enumerate(leaves)]
    labelled = np.ones(len(features), dtype=bool)
    for ok in usable:
        labelled &= ok
    return _Design(index=features.index, names=wanted, values=np.asfortranarray(frame.to_numpy()),
                   leaf_columns=[cols_by_leaf[i] for i in range(len(leaves))], usable=usable, labelled=labelled,
                   complete=frame.notna().all(axis=1).to_numpy())


def _weighted_regime_profiles(profiles: pd.DataFrame, state_map: dict[int, str], occupancy: np.ndarray,
                              regime_ids: list[str]) -> pd.DataFrame:
    values = profiles.to_numpy()
    rows = np.full((len(regime_ids), profiles.shape[1]), np.nan)
    for i, rid in enumerate(regime_ids):
        states = [s for s, r in state_map.items() if r == rid]
        if not states:
            continue
        w = occupancy[states]
        w = w / w.sum() if w.sum() > 0 else np.full(len(states), 1.0 / len(states))
        # column-major, as pandas hands out a selection of rows: the sum over states runs in the same order
        rows[i] = (np.asfortranarray(values[states]) * w[:, None]).sum(axis=0)
    return pd.DataFrame(rows, index=regime_ids, columns=profiles.columns)


#: Model kinds whose states are named by construction (``state_names_``) and that read anchored features on
#: their own scale (no training-window scaler): the rules baseline and the axes model.
FIXED_STATE_KINDS = ("rules", "axes")


def _named_state_map(est, regime_ids: list[str]) -> dict[int, str]:
    """States named by the model itself (rules, axes); the config must have those regimes."""
    missing = [r for r in est.state_names_ if r not in regime_ids]
    if missing:
        raise ConfigError(
            f"the {type(est).__name__} model labels {', '.join(est.state_names_)}, but the config's regimes lack "
            f"{', '.join(missing)}; keep those regime ids or use another model kind"
        )
    return {k: r for k, r in enumerate(est.state_names_)}


def _fit_estimator(leaf: EstimatorConfig, X: np.ndarray, previous: Component | None, n_iter: int | None,
                   also_fresh: bool = False, columns: list[str] | None = None):
    """A fresh fit (with BIC choice of the state count if configured) or a warm-started refit.

    With ``also_fresh``, a warm-started refit is compared with a fit from scratch (all restarts) and the one
    with the better training objective is kept, so a warm-start chain cannot stay in a poor optimum.
    """
    if previous is not None and also_fresh:
        warm_est, extra = _fit_estimator(leaf, X, previous, n_iter, columns=columns)
        fresh_est, fresh_extra = _fit_estimator(leaf, X, None, n_iter, columns=columns)
        if fresh_est.lower_bound_ > warm_est.lower_bound_:
            return fresh_est, {**fresh_extra, "refit": "fresh fit beat the warm start"}
        return warm_est, {**extra, "refit": "warm start kept over a fresh fit"}
    if previous is not None:
        est = copy.deepcopy(previous.estimator)
        params = {"warm_start": True}
        if n_iter is not None and "n_iter" in est.get_params():
            params["n_iter"] = n_iter
        est.set_params(**params)
        try:
            return est.fit(X), {}
        except (ValueError, np.linalg.LinAlgError) as exc:  # a degenerate warm start: start afresh
            log.info("warm-started %s refit failed (%s); fitting from scratch", leaf.kind, exc)
            return _fit_estimator(leaf, X, None, n_iter, columns=columns)[0], {"warm_start_failed": str(exc)}
    from .models import make_estimator

    bic_range = leaf.bic_range()
    if bic_range is None:
        return make_estimator(leaf, columns=columns).fit(X), {}
    lo, hi = bic_range
    fits = {k: make_estimator(leaf, k, columns=columns).fit(X) for k in range(lo, hi + 1)}
    bics = {k: est.bic(X) for k, est in fits.items()}
    k_best = min(bics, key=bics.get)
    return fits[k_best], {"bic_by_n_components": {str(k): round(v, 2) for k, v in bics.items()}}


def fit_on_features(
    features: pd.DataFrame,
    config: Config,
    previous: RegimeModel | None = None,
    warm: bool = False,
    n_iter: int | None = None,
    progress: Callable[[str], None] | None = None,
    also_fresh: bool = False,
) -> RegimeModel:
    """Fit every component on a training window of features and name the states.

    Parameters
    ----------
    features : DataFrame
        The training window (rows with undefined model features are dropped).
    config : Config
    previous : RegimeModel, optional
        The previous fit: its regime profiles anchor the names (identity
        across refits), and with ``warm`` its parameters start the EM.
    warm : bool
        Warm-start each component from ``previous``.
    n_iter : int, optional
        Iterations of a warm-started refit.
    progress : callable, optional
        Called with a short description as each stage starts.
    also_fresh : bool
        With ``warm``, also fit from scratch and keep the better objective.

    Returns
    -------
    RegimeModel
    """
    return _fit_window(_design(features, config), 0, len(features), config, previous=previous, warm=warm,
                       n_iter=n_iter, progress=progress, also_fresh=also_fresh)


def _fit_window(design: _Design, start: int, stop: int, config: Config, previous: RegimeModel | None = None,
                warm: bool = False, n_iter: int | None = None, progress: Callable[[str], None] | None = None,
                also_fresh: bool = False) -> RegimeModel:
    """:func:`fit_on_features` on the days ``start`` to ``stop`` of a prepared history.

    The training arrays are laid out as pandas lays out the frames they stand for (column-major), so each
    scaler and estimator sums in the same order and the fit is the same to the last bit.
    """
    say = progress or (lambda _msg: None)
    leaves = config.model.leaves()
    days = start + np.flatnonzero(design.labelled[start:stop])
    index = design.index[days]
    train = np.asfortranarray(design.values[days])
    # profiles use the training days on which every wanted feature is defined (rule features may need longer
    # windows than the model's); only if those are too few, the features defined on every training day
    prof_rows = design.complete[days]
    if prof_rows.sum() >= max(20, len(days) // 2):
        all_cols = list(design.names)
        P = train[prof_rows]
    else:
        defined = ~np.isnan(train).any(axis=0)
        all_cols = [c for c, ok in zip(design.names, defined) if ok]
        prof_rows = np.ones(len(days), dtype=bool)
        P = np.asfortranarray(train[:, defined])[prof_rows]
    profile_scaler = Scaler.fit(P)
    z = pd.DataFrame((P - profile_scaler.mean_) / profile_scaler.scale_, index=index[prof_rows], columns=all_cols)
    regime_ids = list(config.regimes)

    components: list[Component] = []
    combined: pd.DataFrame | None = None
    for i, leaf in enumerate(leaves):
        cols = design.leaf_columns[i]
        X = np.asfortranarray(train[:, design.positions(cols)])
        # anchored features are read on their own scale
        scaler = Scaler.identity(X.shape[1]) if leaf.kind in FIXED_STATE_KINDS else Scaler.fit(X)
        Xs = (X - scaler.mean_) / scaler.scale_
        prev_comp = previous.components[i] if previous is not None and i < len(previous.components) else None
        restarts = leaf.estimator_params().get("n_init")
        how = "warm start" if warm and prev_comp else f"{restarts} restarts" if restarts else "one start"
        say(f"fitting {leaf.kind} ({how}) on {len(X)} days x {len(cols)} features")
        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            est, extra = _fit_estimator(leaf, Xs, prev_comp if warm else None, n_iter, also_fresh, columns=cols)
        for w in caught:
            log.info("%s", w.message)
        state_probs = est.predict_proba(Xs)
        profiles = state_profiles(z, state_probs[prof_rows])
        prev_profile = prev_comp.regime_profile if prev_comp is not None else None
        if leaf.kind in FIXED_STATE_KINDS:
            state_map = _named_state_map(est, regime_ids)
        else:
            state_map = assign_regimes(profiles, config.regimes, prev_profile, config.identity_weight)
        rule_scores = regime_scores(profiles, config.regimes).to_numpy()
        occupancy = state_probs.mean(axis=0)
        regime_p = regime_probabilities(state_probs[prof_rows], state_map, regime_ids, z.index) * leaf.weight
        combined = regime_p if combined is None else combined + regime_p
        diag = {
            "kind": leaf.kind,
            "estimator": type(est).__name__,
            "n_components": int(est.means_.shape[0]),
            "converged": bool(est.converged_),
            "n_iter": int(est.n_iter_),
            "mean_log_likelihood": float(est.lower_bound_),
            "state_occupancy": {str(k): round(float(v), 6) for k, v in enumerate(occupancy)},
            "state_rule_scores": {
                str(s): {r: round(float(v), 4) for r, v in zip(regime_ids, rule_scores[s])} for s in range(len(profiles))
            },
            **extra,
        }
        if leaf.kind != "jump" and leaf.kind not in FIXED_STATE_KINDS and not (warm and prev_comp is not None):
            diag["bic"] = float(est.bic(Xs))
        if hasattr(est, "init_scores_"):
            diag["init_mean_log_likelihoods"] = [None if np.isnan(v) else float(v) for v in est.init_scores_]
        if hasattr(est, "transmat_"):
            diag["transmat"] = np.round(est.transmat_, 6).tolist()
        components.append(Component(
            config=leaf, feature_names=cols, scaler=scaler, estimator=est, state_map=state_map,
            profiles=profiles,
            regime_profile=_weighted_regime_profiles(profiles, state_map, occupancy, regime_ids),
            diagnostics=diag,
        ))

    model = RegimeModel(
        config=config, components=components, profile_scaler=profile_scaler, profile_names=all_cols,
        regime_profile=pd.DataFrame(), trained_from=index[0], trained_through=index[-1],
    )
    w = combined.to_numpy() / sum(leaf.weight for leaf in leaves)
    mass = w.sum(axis=0)
    prof = (w.T @ z.to_numpy()) / np.where(mass > 0, mass, np.nan)[:, None]
    model.regime_profile = pd.DataFrame(prof, index=regime_ids, columns=all_cols).fillna(0.0)
    first = components[0].diagnostics
    model.diagnostics = {
        "estimator": model.estimator_name,
        "converged": all(c.diagnostics["converged"] for c in components),
        "n_iter": int(sum(c.diagnostics["n_iter"] for c in components)),
        "mean_log_likelihood": first["mean_log_likelihood"],
        "bic": first.get("bic"),
        "n_train_days": int(len(days)),
        "regime_share_in_training": {r: round(float(v), 4) for r, v in zip(regime_ids, mass / mass.sum())},
        "components": [c.diagnostics for c in components],
    }
    log.info("fitted %s: converged=%s", model.estimator_name, model.diagnostics["converged"])
    return model


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
    for line in data.stale_inputs():  # stale days have undefined features: left out of training, never labelled
        log.warning("%s", line)
    if features is None:
        say("building features")
        features = build_features(data, config)
    cols = feature_union(features.columns, config)
    training_rows(features, cols, config.train.min_days, labelled_rows(features, config))
    return fit_on_features(features, config, progress=say)

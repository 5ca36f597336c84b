"""Naming states: regime names come from rules on what a state looks like.

A state's *profile* is the probability-weighted mean of every standardised
feature over the training days. Each regime rule scores a profile with its
feature weights; states are matched to regimes so the total score is
highest (Hungarian assignment), then any extra states join the regime they
score best under. State numbers never appear in a label.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .config import RegimeRule
from .errors import ConfigError

__all__ = ["state_profiles", "regime_scores", "assign_regimes", "regime_probabilities", "regime_sums",
           "persistent_labels"]

log = logging.getLogger(__name__)


def state_profiles(z: pd.DataFrame, state_probs: np.ndarray) -> pd.DataFrame:
    """Probability-weighted mean of each standardised feature per state.

    Parameters
    ----------
    z : DataFrame of shape (n_days, n_features)
        Standardised features on the training days.
    state_probs : ndarray of shape (n_days, n_states)
        Filtered state probabilities of those days.

    Returns
    -------
    DataFrame of shape (n_states, n_features)
    """
    w = state_probs / np.maximum(state_probs.sum(axis=0, keepdims=True), 1e-12)
    return pd.DataFrame(w.T @ z.to_numpy(), columns=z.columns, index=pd.RangeIndex(w.shape[1], name="state"))


def regime_scores(profiles: pd.DataFrame, rules: Mapping[str, RegimeRule]) -> pd.DataFrame:
    """Score every state profile under every regime rule.

    The score is the weighted sum of the profile over the rule's features the
    data has, divided by the sum of those weights' magnitudes.

    Raises
    ------
    ConfigError
        A regime none of whose rule features the data provides.
    """
    col = {c: i for i, c in enumerate(profiles.columns)}
    W = np.zeros((len(rules), len(col)))
    for r, (rid, rule) in enumerate(rules.items()):
        present = {f: w for f, w in rule.weights.items() if f in col}
        if not present:
            raise ConfigError(
                f"regime {rid!r}: none of its rule features ({', '.join(rule.weights)}) is among the data's "
                f"features; edit regimes.{rid}.weights in the config"
            )
        norm = sum(abs(w) for w in present.values())
        for f, w in present.items():
            W[r, col[f]] = w / norm
    return pd.DataFrame(profiles.to_numpy() @ W.T, index=profiles.index, columns=list(rules))


def assign_regimes(
    profiles: pd.DataFrame,
    rules: Mapping[str, RegimeRule],
    previous: pd.DataFrame | None = None,
    identity_weight: float = 0.0,
) -> dict[int, str]:
    """Map each state to a regime id.

    Every regime gets one state, chosen to maximise the total score; states
    beyond the number of regimes go to the regime they score highest. The
    score is the rule score, minus ``identity_weight`` times the mean squared
    distance between the state's profile and each regime's profile in the
    ``previous`` fit, so that a regime keeps its name across refits even if
    EM permuted the states.

    Parameters
    ----------
    profiles : DataFrame
        States x features.
    rules : mapping
        Regime id -> rule.
    previous : DataFrame, optional
        Regimes x features: the previous fit's regime profiles.
    identity_weight : float

    Returns
    -------
    dict
        state index -> regime id.
    """
    scores = regime_scores(profiles, rules)
    S = scores.to_numpy()
    if previous is not None and identity_weight > 0:
        prev = previous.reindex(index=scores.columns, columns=profiles.columns).to_numpy()
        diff = profiles.to_numpy()[:, None, :] - prev[None, :, :]
        dist = np.nanmean(diff**2, axis=2) if np.isfinite(diff).any() else np.zeros_like(S)
        S = S - identity_weight * np.nan_to_num(dist)
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(S, maximize=True)
    ids = list(scores.columns)
    mapping = {int(profiles.index[r]): ids[c] for r, c in zip(rows, cols)}
    for i, s in enumerate(profiles.index):
        if int(s) not in mapping:
            mapping[int(s)] = ids[int(np.argmax(S[i]))]
    return dict(sorted(mapping.items()))


def regime_probabilities(
    state_probs: np.ndarray, state_map: Mapping[int, str], regime_ids: list[str], index: pd.Index
) -> pd.DataFrame:
    """Sum state probabilities into regime probabilities.

    Returns
    -------
    DataFrame
        ``index`` x ``regime_ids``; each row sums to 1.
    """
    return pd.DataFrame(regime_sums(state_probs, state_map, regime_ids), index=index,
                        columns=pd.Index(regime_ids, name="regime"))


def regime_sums(state_probs: np.ndarray, state_map: Mapping[int, str], regime_ids: list[str]) -> np.ndarray:
    """:func:`regime_probabilities` as an array (rows x ``regime_ids``), for callers that index it themselves."""
    out = np.zeros((state_probs.shape[0], len(regime_ids)))
    for s, rid in state_map.items():
        out[:, regime_ids.index(rid)] += state_probs[:, s]
    return out


def persistent_labels(probs: pd.DataFrame, margin: float = 0.0, min_days: int = 1) -> pd.Series:
    """The reported regime of each day, with persistence; causal.

    The label switches from the current regime to today's most probable one
    only if that regime's probability beats the current label's by at least
    ``margin``, or if it has been the most probable for ``min_days`` days in a
    row. ``margin=0, min_days=1`` gives the most probable regime every day.
    Rows with NaN get no label and do not break a run.

    Parameters
    ----------
    probs : DataFrame
        Dates x regime ids, filtered probabilities.

    Returns
    -------
    Series of regime ids (None where undefined).
    """
    ids = np.array(list(probs.columns) + [None], dtype=object)
    codes, _ = persist(probs.to_numpy(), margin, min_days)
    return pd.Series(ids[codes], index=probs.index, name="regime")


def persist(probs: np.ndarray, margin: float = 0.0, min_days: int = 1,
            state: tuple[int | None, int | None, int] | None = None) -> tuple[np.ndarray, tuple]:
    """:func:`persistent_labels` on an array, continuing from ``state``: each row's label as a column position
    (-1 where undefined), and the state after the last row, ``(current, leader, streak)``.

    Labelling rows in two calls, the second from the first's state, gives what one call gives.
    """
    out = np.full(len(probs), -1, dtype=np.int64)
    current, leader, streak = (None, None, 0) if state is None else state
    for t in range(len(probs)):
        row = probs[t]
        if np.isnan(row).any():
            continue
        top = int(np.argmax(row))
        streak = streak + 1 if top == leader else 1
        leader = top
        if current is None:
            current = top
        elif top != current and (row[top] - row[current] >= margin or streak >= min_days):
            current = top
        out[t] = current
    return out, (current, leader, streak)

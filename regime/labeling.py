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
from scipy.optimize import linear_sum_assignment

from .config import RegimeRule
from .errors import ConfigError

__all__ = ["state_profiles", "regime_scores", "assign_regimes", "regime_probabilities"]

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
    out = {}
    for rid, rule in rules.items():
        present = {f: w for f, w in rule.weights.items() if f in profiles.columns}
        if not present:
            raise ConfigError(
                f"regime {rid!r}: none of its rule features ({', '.join(rule.weights)}) is among the data's "
                "features; edit regimes.{rid}.weights in the config"
            )
        missing = sorted(set(rule.weights) - set(present))
        if missing:
            log.info("regime %s: rule features not in the data, left out: %s", rid, ", ".join(missing))
        wv = pd.Series(present)
        out[rid] = profiles[wv.index].to_numpy() @ wv.to_numpy() / wv.abs().sum()
    return pd.DataFrame(out, index=profiles.index)


def assign_regimes(profiles: pd.DataFrame, rules: Mapping[str, RegimeRule]) -> dict[int, str]:
    """Map each state to a regime id.

    Every regime gets one state, chosen to maximise the total rule score;
    states beyond the number of regimes go to the regime they score highest.

    Returns
    -------
    dict
        state index -> regime id.
    """
    scores = regime_scores(profiles, rules)
    rows, cols = linear_sum_assignment(scores.to_numpy(), maximize=True)
    mapping = {int(profiles.index[r]): str(scores.columns[c]) for r, c in zip(rows, cols)}
    for s in profiles.index:
        if int(s) not in mapping:
            mapping[int(s)] = str(scores.loc[s].idxmax())
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
    out = np.zeros((state_probs.shape[0], len(regime_ids)))
    for s, rid in state_map.items():
        out[:, regime_ids.index(rid)] += state_probs[:, s]
    return pd.DataFrame(out, index=index, columns=pd.Index(regime_ids, name="regime"))

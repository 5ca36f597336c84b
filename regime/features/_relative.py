"""Relative-strength features: how one index performs against another."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import FeaturesConfig


def relative_strength(a: pd.Series, b: pd.Series, name: str, cfg: FeaturesConfig) -> pd.DataFrame:
    """Trailing relative-strength features of index ``a`` against index ``b``.

    With ``ratio = log(a / b)``:

    - ``rs_<name>_mom_<w>d``: ``ratio[t] - ratio[t-w]`` for each momentum window;
    - ``rs_<name>_vs_ma``: ``ratio[t]`` minus its trailing ``ma_window`` mean;
    - ``rs_<name>_rank``: percentile (0-1) of today's ``rank_of``-day momentum
      within its trailing ``rank_window`` values.

    Parameters
    ----------
    a, b : Series
        Price levels on the same DatetimeIndex.
    name : str
        The pair's name, used in the column names.
    cfg : FeaturesConfig

    Returns
    -------
    DataFrame
    """
    ratio = np.log(a) - np.log(b)
    out = {f"rs_{name}_mom_{w}d": ratio - ratio.shift(w) for w in cfg.momentum_windows}
    out[f"rs_{name}_vs_ma"] = ratio - ratio.rolling(cfg.ma_window).mean()
    mom = ratio - ratio.shift(cfg.rank_of)
    out[f"rs_{name}_rank"] = mom.rolling(cfg.rank_window).rank(pct=True)
    return pd.DataFrame(out, index=a.index)


def daily_z(diff: pd.Series, window: int) -> pd.Series:
    """A daily change scaled by the standard deviation of the ``window`` changes before it (causal)."""
    sd = diff.rolling(window, min_periods=window).std().shift(1)
    return diff / sd.where(sd > 0)


def leadership(levels: dict[str, pd.Series], cfg: FeaturesConfig) -> pd.DataFrame:
    """Daily leadership observations from index pairs, oriented so that positive means broadening.

    ``ld_<pair>``: the day's change of ``log(numerator / denominator)``, in
    standard deviations of the previous ``lead_vol_window`` changes, times the
    pair's ``lead_orientation`` (+1 when the numerator leading is broadening,
    -1 when it is concentration, as for mega vs large caps). Each value uses
    data up to its day; zero favours neither side. The constituents add
    ``ld_names_cw`` and ``ld_size`` (see :func:`regime.features.breadth`).
    """
    out = {}
    for name, (num, den) in cfg.pairs.items():
        sign = cfg.lead_orientation.get(name)
        if sign is None or num not in levels or den not in levels:
            continue
        d = (np.log(levels[num]) - np.log(levels[den])).diff()
        out[f"ld_{name}"] = sign * daily_z(d, cfg.lead_vol_window)
    return pd.DataFrame(out, index=next(iter(levels.values())).index)

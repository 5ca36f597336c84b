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

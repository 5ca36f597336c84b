"""Interest-rate and credit features from rates aligned as of each date."""

from __future__ import annotations

import pandas as pd

from ..config import FeaturesConfig


def rate_features(series: dict[str, pd.Series], cfg: FeaturesConfig) -> pd.DataFrame:
    """Level and change features of the configured rate roles, in percentage points.

    ``series`` maps roles (``policy_rate``, ``yield_2y``, ``yield_10y``,
    ``credit_spread``) to series already aligned as of the price calendar.
    Changes are over trading days: ``x[t] - x[t-w]``.

    Returns columns ``rt_policy``, ``rt_policy_chg_<w>d``, ``rt_2y``,
    ``rt_2y_chg_<w>d``, ``rt_10y``, ``rt_10y_chg_<w>d``, ``rt_slope`` (10y - 2y),
    ``rt_2y_policy`` (2y - policy rate, the priced policy path),
    ``rt_credit``, ``rt_credit_chg_<w>d`` for the roles present.
    """
    out: dict[str, pd.Series] = {}
    index = next(iter(series.values())).index if series else None
    if "policy_rate" in series:
        s = series["policy_rate"]
        out["rt_policy"] = s
        for w in cfg.policy_change_windows:
            out[f"rt_policy_chg_{w}d"] = s - s.shift(w)
    for role, short in (("yield_2y", "2y"), ("yield_10y", "10y")):
        if role in series:
            s = series[role]
            out[f"rt_{short}"] = s
            for w in cfg.yield_change_windows:
                out[f"rt_{short}_chg_{w}d"] = s - s.shift(w)
    if "yield_2y" in series and "yield_10y" in series:
        out["rt_slope"] = series["yield_10y"] - series["yield_2y"]
    if "yield_2y" in series and "policy_rate" in series:
        # the market's expected policy path: positive when hikes are priced in, negative before cuts
        out["rt_2y_policy"] = series["yield_2y"] - series["policy_rate"]
    if "credit_spread" in series:
        s = series["credit_spread"]
        out["rt_credit"] = s
        for w in cfg.credit_change_windows:
            out[f"rt_credit_chg_{w}d"] = s - s.shift(w)
    return pd.DataFrame(out, index=index)

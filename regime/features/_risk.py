"""Risk features of the cap-weighted benchmark: volatility, drawdown, trend."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import FeaturesConfig


def risk_features(level: pd.Series, cfg: FeaturesConfig) -> pd.DataFrame:
    """Trailing risk features of the benchmark level.

    - ``rk_vol_<w>d``: annualised standard deviation of daily log returns;
    - ``rk_drawdown``: level over its trailing ``drawdown_window``-day high,
      minus one (0 at a high, negative below);
    - ``rk_ret_<w>d``: log return over ``w`` days.
    """
    lr = np.log(level).diff()
    out = {f"rk_vol_{w}d": lr.rolling(w).std() * np.sqrt(252.0) for w in cfg.vol_windows}
    peak = level.rolling(cfg.drawdown_window, min_periods=cfg.drawdown_window).max()
    out["rk_drawdown"] = level / peak - 1.0
    for w in cfg.return_windows:
        out[f"rk_ret_{w}d"] = np.log(level) - np.log(level.shift(w))
    return pd.DataFrame(out, index=level.index)

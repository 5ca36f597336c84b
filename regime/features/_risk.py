"""Risk features of the cap-weighted benchmark: volatility, drawdown, trend."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import FeaturesConfig
from ..measures import TRADING_DAYS


#: Prefixes of the features whose window is the whole history so far (expanding percentiles): every other
#: feature of a day reads only the :meth:`~regime.config.FeaturesConfig.lookback` rows up to it.
WHOLE_HISTORY = ("rk_vol_pctl_", "rk_vol_q_")


def risk_features(level: pd.Series, cfg: FeaturesConfig, quantiles: bool = True) -> pd.DataFrame:
    """Trailing risk features of the benchmark level.

    - ``rk_vol_<w>d``: annualised standard deviation of daily log returns;
    - ``rk_vol_pctl_<w>d``: the percentile rank (0-1] of today's ``w``-day
      volatility among all its values up to today (an expanding window, defined
      once ``percentile_min_days`` values exist). Its scale is the whole history
      so far, so a calm stretch cannot redefine what high volatility is;
    - ``rk_vol_q_<w>d``: the same percentile as a standard normal quantile,
      ``Phi^-1((rank - 0.5) / n)``: 0 at the history's median volatility,
      +1.04 at its 85th percentile, Gaussian in shape whatever the market;
    - ``rk_drawdown``: level over its trailing ``drawdown_window``-day high,
      minus one (0 at a high, negative below);
    - ``rk_ret_<w>d``: log return over ``w`` days.

    ``quantiles=False`` leaves out ``rk_vol_q_<w>d`` (and SciPy's quantile function, slow to import).
    """
    lr = np.log(level).diff()
    out = {f"rk_vol_{w}d": lr.rolling(w).std() * np.sqrt(TRADING_DAYS) for w in cfg.vol_windows}
    for w in cfg.vol_percentile_windows:
        vol = out.get(f"rk_vol_{w}d", lr.rolling(w).std())
        out[f"rk_vol_pctl_{w}d"] = vol.expanding(min_periods=cfg.percentile_min_days).rank(pct=True)
    if quantiles and cfg.vol_q_windows:
        from scipy.special import ndtri  # the standard normal quantile (norm.ppf's kernel; scipy.stats is slower)
    for w in cfg.vol_q_windows if quantiles else ():
        vol = lr.rolling(w).std()
        n = vol.expanding(min_periods=cfg.percentile_min_days).count()
        rank = vol.expanding(min_periods=cfg.percentile_min_days).rank()
        out[f"rk_vol_q_{w}d"] = pd.Series(ndtri((rank - 0.5) / n), index=level.index)
    peak = level.rolling(cfg.drawdown_window, min_periods=cfg.drawdown_window).max()
    out["rk_drawdown"] = level / peak - 1.0
    for w in cfg.return_windows:
        out[f"rk_ret_{w}d"] = np.log(level) - np.log(level.shift(w))
    return pd.DataFrame(out, index=level.index)

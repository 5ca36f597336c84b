"""Breadth and concentration features from constituents, and proxies without them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import FeaturesConfig
from ._panel import panel_aggregates
from ._relative import daily_z


def breadth(
    closes: pd.DataFrame, caps: pd.DataFrame | None, cfg: FeaturesConfig, sectors: pd.DataFrame | None = None,
    benchmark: pd.Series | None = None,
) -> pd.DataFrame:
    """Breadth features from constituent closes (and caps, for concentration).

    The panel work is :func:`regime.features._panel.panel_aggregates` (numpy, row-wise, start-independent);
    this function runs :func:`breadth_from_aggregates` on its result. Every value at date t uses closes up
    to t only. Names without a close on a
    day (not yet listed, delisted) are left out of that day's counts.

    - ``br_above_<w>d``: share of names above their trailing ``w``-day average;
    - ``br_ad_slope``: slope of the advance/decline line over ``ad_window``
      days, i.e. the mean daily (advancers - decliners) / names;
    - ``br_pct_up``: share of names up over ``breadth_window`` days;
    - ``br_hi_lo``: share at a ``high_low_window``-day high minus share at a
      low, averaged over ``high_low_smooth`` days;
    - ``br_top10_share`` (needs caps): of the index's absolute move over
      ``concentration_window`` days, the share contributed by the
      ``concentration_top`` largest names, |C_top| / (|C_top| + |C_rest|);
    - ``br_eff_names`` (needs caps): log of the effective number of names,
      1 / sum(w^2) of cap weights;
    - ``br_dispersion_<w>d``: cross-sectional dispersion, the ``w``-day
      mean of the log interquartile range of the names' daily log returns.
      It jumps within days when a market turns stressed and falls back as
      soon as it calms, while index volatility needs its whole window;
    - ``br_rotation_<w>d`` (needs sectors): sector rotation, the ``w``-day
      mean of the log ratio of the sectors' dispersion (the standard
      deviation across sectors of each sector's equal-weighted mean daily log
      return, sectors as of the previous day) to the names' dispersion (the
      interquartile range above). High when money moves between whole
      sectors rather than single names; the ratio cancels the market's
      volatility level, so it is not a second stress gauge;
    - ``br_size_corr_<w>d`` (needs caps): size leadership, the ``w``-day mean
      of each day's cross-sectional rank (Spearman) correlation between the
      names' returns and their previous-day market caps: positive when the
      largest names lead, negative when the smaller ones do. Ranks make it
      robust to a few outsized moves.
    - ``ld_names_cw`` (needs ``benchmark``): the names' equal-weighted mean
      daily log return minus the benchmark's, in standard deviations of the
      previous ``lead_vol_window`` days (positive when the average name beats
      the cap-weighted index: broadening);
    - ``ld_size`` (needs caps): minus the day's size rank correlation, scaled
      the same way (positive when the smaller names lead).

    Parameters
    ----------
    closes : DataFrame
        Dates x tickers.
    caps : DataFrame or None
        Market caps, same shape; None skips the concentration features.
    cfg : FeaturesConfig
    sectors : DataFrame or None
        Integer sector codes, same shape; None skips sector rotation.
    benchmark : Series or None
        The cap-weighted index level; None skips ``ld_names_cw``.

    Returns
    -------
    DataFrame
    """
    aggregates = panel_aggregates(closes, caps, sectors, cfg)
    return breadth_from_aggregates(aggregates, cfg, benchmark)


def breadth_from_aggregates(agg: pd.DataFrame, cfg: FeaturesConfig, benchmark: pd.Series | None = None,
                            ) -> pd.DataFrame:
    """The breadth features of :func:`breadth` from the panel's daily aggregates.

    Parameters
    ----------
    agg : DataFrame
        :func:`regime.features._panel.panel_aggregates` of the whole history (the trailing means and
        z-scores here run over it); caps and sectors features appear when their aggregates are present.
    cfg : FeaturesConfig
    benchmark : Series or None
        The cap-weighted index level on the same dates; None skips ``ld_names_cw``.

    Returns
    -------
    DataFrame
    """
    out: dict[str, pd.Series] = {}
    idx = agg.index

    def share(num: str | np.ndarray, den: str) -> pd.Series:
        n = agg[den].to_numpy()
        top = agg[num].to_numpy() if isinstance(num, str) else num
        with np.errstate(divide="ignore", invalid="ignore"):
            return pd.Series(np.where(n > 0, top / n, np.nan), index=idx)

    for w in cfg.breadth_ma_windows:
        out[f"br_above_{w}d"] = share(f"above_{w}", f"n_ma_{w}")
    out["br_ad_slope"] = share("ad_net", "n_chg").rolling(cfg.ad_window).mean()
    out["br_pct_up"] = share("n_up", "n_cmp")
    hl = share(agg["n_hi"].to_numpy() - agg["n_lo"].to_numpy(), "n_hl")
    out["br_hi_lo"] = hl.rolling(cfg.high_low_smooth).mean()
    if benchmark is not None:
        spread = agg["names_mean"] - np.log(benchmark).diff()
        out["ld_names_cw"] = daily_z(spread, cfg.lead_vol_window)
    log_iqr = agg["log_iqr"]
    for w in cfg.dispersion_windows:
        out[f"br_dispersion_{w}d"] = log_iqr.rolling(w).mean()
    if "sector_sd" in agg:
        sector_sd = agg["sector_sd"]
        rotation = np.log(sector_sd.where(sector_sd > 0)) - log_iqr
        for w in cfg.dispersion_windows:
            out[f"br_rotation_{w}d"] = rotation.rolling(w).mean()
    if "c_top" in agg:
        c_top = agg["c_top"]
        win = cfg.concentration_window
        s_top = c_top.rolling(win).sum().abs()
        s_rest = (agg["c_all"] - c_top).rolling(win).sum().abs()
        denom = s_top + s_rest
        share = s_top / denom.where(denom > 0)
        out["br_top10_share"] = share.where(agg["n_caps_prev"] > 0)
        out["br_eff_names"] = agg["eff_names"]
        size_corr = agg["size_corr"]
        for w in cfg.size_corr_windows:
            out[f"br_size_corr_{w}d"] = size_corr.rolling(w).mean()
        out["ld_size"] = -daily_z(size_corr, cfg.lead_vol_window)
    return pd.DataFrame(out, index=agg.index)


def breadth_proxies(levels: dict[str, pd.Series], cfg: FeaturesConfig) -> pd.DataFrame:
    """Breadth proxies from index levels alone, for data without constituents.

    - ``px_ew_cw_spread``: equal-weight minus cap-weight log return over
      ``proxy_window`` days (needs both roles);
    - ``px_dispersion``: cross-sectional standard deviation of the indices'
      ``proxy_window``-day log returns.
    """
    w = cfg.proxy_window
    rets = pd.DataFrame({k: np.log(v) - np.log(v.shift(w)) for k, v in levels.items()})
    out = {}
    if "equal_weight" in rets and "large_cap" in rets:
        out["px_ew_cw_spread"] = rets["equal_weight"] - rets["large_cap"]
    if rets.shape[1] >= 3:
        out["px_dispersion"] = rets.std(axis=1, skipna=False)
    return pd.DataFrame(out, index=rets.index)

"""Breadth and concentration features from constituents, and proxies without them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import FeaturesConfig
from ._relative import daily_z


def breadth(
    closes: pd.DataFrame, caps: pd.DataFrame | None, cfg: FeaturesConfig, sectors: pd.DataFrame | None = None,
    benchmark: pd.Series | None = None,
) -> pd.DataFrame:
    """Breadth features from constituent closes (and caps, for concentration).

    Every value at date t uses closes up to t only. Names without a close on a
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
    out: dict[str, pd.Series] = {}
    valid = closes.notna()
    for w in cfg.breadth_ma_windows:
        ma = closes.rolling(w, min_periods=w).mean()
        has = ma.notna() & valid
        n = has.sum(axis=1)
        out[f"br_above_{w}d"] = ((closes > ma) & has).sum(axis=1) / n.where(n > 0)
    chg = closes.diff()
    n_chg = chg.notna().sum(axis=1)
    net = (np.sign(chg).fillna(0.0)).sum(axis=1) / n_chg.where(n_chg > 0)
    out["br_ad_slope"] = net.rolling(cfg.ad_window).mean()
    past = closes.shift(cfg.breadth_window)
    n_up = (closes > past).sum(axis=1)
    n_cmp = (closes.notna() & past.notna()).sum(axis=1)
    out["br_pct_up"] = n_up / n_cmp.where(n_cmp > 0)
    w = cfg.high_low_window
    hi = closes.rolling(w, min_periods=w).max()
    lo = closes.rolling(w, min_periods=w).min()
    n_hl = hi.notna().sum(axis=1)
    hl = ((closes >= hi) & hi.notna()).sum(axis=1) - ((closes <= lo) & lo.notna()).sum(axis=1)
    out["br_hi_lo"] = (hl / n_hl.where(n_hl > 0)).rolling(cfg.high_low_smooth).mean()
    log_ret = np.log(closes.where(closes > 0)).diff()
    if benchmark is not None:
        n_names = log_ret.notna().sum(axis=1)
        spread = log_ret.mean(axis=1).where(n_names >= 3) - np.log(benchmark).diff()
        out["ld_names_cw"] = daily_z(spread, cfg.lead_vol_window)
    quart = log_ret.quantile([0.25, 0.75], axis=1).T
    iqr = quart.iloc[:, 1] - quart.iloc[:, 0]
    log_iqr = np.log(iqr.where((iqr > 0) & (log_ret.notna().sum(axis=1) >= 4)))
    for w in cfg.dispersion_windows:
        out[f"br_dispersion_{w}d"] = log_iqr.rolling(w).mean()
    if sectors is not None:
        by_sector = _sector_returns(log_ret, sectors.shift(1))
        sector_sd = by_sector.std(axis=1).where(by_sector.notna().sum(axis=1) >= 3)
        rotation = np.log(sector_sd.where(sector_sd > 0)) - log_iqr
        for w in cfg.dispersion_windows:
            out[f"br_rotation_{w}d"] = rotation.rolling(w).mean()

    if caps is not None:
        caps_prev = caps.shift(1)
        weights = caps_prev.div(caps_prev.sum(axis=1), axis=0)
        rets = closes.pct_change(fill_method=None)
        contrib = (weights * rets).fillna(0.0)
        top = caps_prev.rank(axis=1, ascending=False, method="first") <= cfg.concentration_top
        c_top = contrib.where(top, 0.0).sum(axis=1)
        c_all = contrib.sum(axis=1)
        win = cfg.concentration_window
        s_top = c_top.rolling(win).sum().abs()
        s_rest = (c_all - c_top).rolling(win).sum().abs()
        denom = s_top + s_rest
        share = s_top / denom.where(denom > 0)
        share[weights.isna().all(axis=1)] = np.nan
        out["br_top10_share"] = share
        w_now = caps.div(caps.sum(axis=1), axis=0)
        out["br_eff_names"] = np.log(1.0 / (w_now**2).sum(axis=1, min_count=1))
        size_corr = _rank_corr(rets, caps_prev)
        for w in cfg.size_corr_windows:
            out[f"br_size_corr_{w}d"] = size_corr.rolling(w).mean()
        out["ld_size"] = -daily_z(size_corr, cfg.lead_vol_window)
    return pd.DataFrame(out, index=closes.index)


def _sector_returns(log_ret: pd.DataFrame, sectors: pd.DataFrame) -> pd.DataFrame:
    """Each day's equal-weighted mean return of every sector's names (dates x sector codes)."""
    codes = np.unique(sectors.to_numpy()[np.isfinite(sectors.to_numpy())])
    return pd.DataFrame(
        {int(k): log_ret.where(sectors == k).mean(axis=1) for k in codes}, index=log_ret.index
    )


def _rank_corr(a: pd.DataFrame, b: pd.DataFrame) -> pd.Series:
    """Row-wise Spearman correlation of two same-shaped frames over the names defined in both."""
    both = a.notna() & b.notna()
    ra = a.where(both).rank(axis=1)
    rb = b.where(both).rank(axis=1)
    ra = ra.sub(ra.mean(axis=1), axis=0)
    rb = rb.sub(rb.mean(axis=1), axis=0)
    num = (ra * rb).sum(axis=1, min_count=1)
    den = np.sqrt((ra**2).sum(axis=1, min_count=1) * (rb**2).sum(axis=1, min_count=1))
    n = both.sum(axis=1)
    return (num / den.where(den > 0)).where(n >= 3)


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

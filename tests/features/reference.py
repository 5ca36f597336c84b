"""The reference oracle for the breadth features: the original pandas implementation, kept verbatim.

:func:`regime.features.breadth` now computes the panel's daily aggregates with numpy
(:mod:`regime.features._panel`); ``tests/features/test_panel.py`` checks it against this code: the same counts
(exactly equal shares) and the continuous features to a relative 1e-9.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from regime.config import FeaturesConfig
from regime.features import daily_z


def reference_breadth(
    closes: pd.DataFrame, caps: pd.DataFrame | None, cfg: FeaturesConfig, sectors: pd.DataFrame | None = None,
    benchmark: pd.Series | None = None,
) -> pd.DataFrame:
    """The pandas implementation of :func:`regime.features.breadth` before the numpy panel aggregates."""
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

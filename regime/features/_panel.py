"""Daily cross-sectional aggregates of the constituents panel, row-wise and start-independent.

Every breadth feature (:mod:`regime.features._breadth`) is a trailing time-series operation over a handful of
daily aggregates of the panel (closes, caps, sectors): counts of names above their moving averages, at highs
or lows, up or down; the names' mean log return and the interquartile range of their returns; the sector
dispersion; the top names' and all names' contributions to the cap-weighted index; the effective number of
names; the rank correlation of returns with size. This module computes those aggregates with numpy.

Each day's aggregates depend only on the panel rows in its own lookback window (:func:`panel_lookback`
rows, ending that day), and the floating-point result does not depend on where the computation started:

- counts are integers; the only 2-D moving average (the ``w``-day mean of closes, for "above its average")
  matters only through the comparison ``close > mean``, which is decided exactly: a cumulative-sum mean
  decides every cell farther from a tie than the cumulative sum's rigorous error bound, and the few cells
  within it are recomputed from their own window (exactly, with ``math.fsum``, when still too close to call);
- rolling maxima and minima are exact whatever the algorithm;
- sums, means, quantiles and ranks across names are computed per row from that row's values alone, in a fixed
  order (same number of names, same order), so the same row gives the same bits in any slice of the panel.

So the panel can be processed in row chunks (which bounds memory by a few copies of a chunk), and a stored
history of aggregates extended day by day gives bit-for-bit the aggregates of a full rebuild
(:mod:`regime.features._snapshot`). Values are float64 (returns, sums, quantiles: the features match the
previous pandas implementation to a relative 1e-9, see ``tests/features/test_panel.py``); counts are int32.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..config import FeaturesConfig

__all__ = ["panel_aggregates", "panel_lookback", "aggregate_columns"]

#: Unit roundoff of float64.
_U = 2.0**-53
#: Cells (rows x names) per chunk: each float64 work array of a chunk is about 8 bytes times this (small chunks
#: stay in cache; measured on 3,000 names x 30 years, 1.5 to 3 million cells were fastest).
CHUNK_CELLS = 3_000_000
#: A chunk computes at least this many lookbacks' worth of rows, so the overlap costs at most 1 / MIN_STEP.
MIN_STEP = 2
#: Ambiguous moving-average cells re-checked per batch (bounds the gathered windows' memory).
_BATCH = 50_000


def panel_lookback(cfg: FeaturesConfig) -> int:
    """Panel rows (ending on a day, inclusive) that the day's aggregates depend on."""
    return max(max(cfg.breadth_ma_windows), cfg.breadth_window + 1, cfg.high_low_window, 2)


#: The float64 aggregates; the others are int32 counts.
_FLOAT = {"names_mean", "log_iqr", "sector_sd", "c_top", "c_all", "eff_names", "size_corr"}


def aggregate_columns(cfg: FeaturesConfig, caps: bool, sectors: bool) -> list[str]:
    """The aggregate columns, in order, for a panel with or without caps and sectors."""
    cols = [c for w in cfg.breadth_ma_windows for c in (f"above_{w}", f"n_ma_{w}")]
    cols += ["ad_net", "n_chg", "n_up", "n_cmp", "n_hi", "n_lo", "n_hl", "names_mean", "log_iqr"]
    if sectors:
        cols.append("sector_sd")
    if caps:
        cols += ["c_top", "c_all", "n_caps_prev", "eff_names", "size_corr"]
    return cols


def panel_aggregates(closes: pd.DataFrame, caps: pd.DataFrame | None, sectors: pd.DataFrame | None,
                     cfg: FeaturesConfig, start: int = 0) -> pd.DataFrame:
    """The daily aggregates of rows ``start`` onwards of a panel.

    Parameters
    ----------
    closes : DataFrame
        Dates x tickers, NaN where a name has no close.
    caps : DataFrame or None
        Market caps, same shape; None leaves out ``c_top``, ``c_all``, ``n_caps_prev``, ``eff_names`` and
        ``size_corr``.
    sectors : DataFrame or None
        Sector codes (numbers, NaN where unknown), same shape; None leaves out ``sector_sd``.
    cfg : FeaturesConfig
    start : int
        First row to compute; only the :func:`panel_lookback` rows before it are read.

    Returns
    -------
    DataFrame
        Index ``closes.index[start:]``; columns :func:`aggregate_columns`:

        - ``above_<w>``, ``n_ma_<w>``: names above their trailing ``w``-day mean close, and names with ``w``
          closes in the window;
        - ``ad_net``, ``n_chg``: advancers minus decliners, and names with a close today and yesterday;
        - ``n_up``, ``n_cmp``: names above their close ``breadth_window`` days ago, and names with both closes;
        - ``n_hi``, ``n_lo``, ``n_hl``: names at their ``high_low_window``-day high, low, and names with a
          full window;
        - ``names_mean``: the names' mean daily log return (NaN with fewer than 3 names);
        - ``log_iqr``: log interquartile range of the names' daily log returns (NaN with fewer than 4 names
          or a zero range);
        - ``sector_sd``: the standard deviation across sectors (at least 3) of each sector's mean log return,
          sectors as of the previous day;
        - ``c_top``, ``c_all``: the ``concentration_top`` largest names' (by previous-day cap, ties to the
          first column) and all names' contributions to the cap-weighted return; ``n_caps_prev``: names with
          a previous-day cap;
        - ``eff_names``: log of the effective number of names, ``1 / sum(w^2)`` of today's cap weights;
        - ``size_corr``: Spearman correlation of the day's returns with the previous day's caps (3+ names).
    """
    x_all = closes.to_numpy(dtype=np.float64, copy=False)
    c_all = None if caps is None else caps.to_numpy(dtype=np.float64, copy=False)
    s_all = None if sectors is None else sectors.to_numpy(dtype=np.float64, copy=False)
    n, m = x_all.shape
    cols = aggregate_columns(cfg, caps is not None, sectors is not None)
    out = {c: np.empty(max(n - start, 0), dtype=np.float64 if c in _FLOAT else np.int32) for c in cols}
    lookback = panel_lookback(cfg)
    step = max(MIN_STEP * lookback, CHUNK_CELLS // max(m, 1))
    for a in range(start, n, step):
        b = min(n, a + step)
        lo = max(0, a - (lookback - 1))
        part = _chunk(x_all[lo:b], None if c_all is None else c_all[lo:b],
                      None if s_all is None else s_all[lo:b], a - lo, cfg)
        for c in cols:
            out[c][a - start:b - start] = part[c]
    return pd.DataFrame(out, index=closes.index[start:], columns=cols)


def _chunk(x: np.ndarray, caps: np.ndarray | None, sectors: np.ndarray | None, off: int,
           cfg: FeaturesConfig) -> dict[str, np.ndarray]:
    """Aggregates of rows ``off:`` of a chunk whose first ``off`` rows are lookback only (or the panel's start)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    rows = x.shape[0]
    valid = ~np.isnan(x)
    out: dict[str, np.ndarray] = {}
    counts = np.zeros((rows + 1, x.shape[1]), dtype=np.int32)
    np.cumsum(valid, axis=0, dtype=np.int32, out=counts[1:])

    sums = np.zeros((rows + 1, x.shape[1]))
    np.cumsum(np.where(valid, x, 0.0), axis=0, out=sums[1:])
    abs_sums = sums if not (x < 0).any() else np.concatenate(
        [np.zeros((1, x.shape[1])), np.cumsum(np.where(valid, np.abs(x), 0.0), axis=0)])
    for w in cfg.breadth_ma_windows:
        above, n_ma = _above_mean(x, counts, sums, abs_sums, w, off)
        out[f"above_{w}"], out[f"n_ma_{w}"] = above, n_ma
    del sums, abs_sums

    up, down, out["n_chg"] = _versus_past(x, valid, 1, off)
    out["ad_net"] = up - down
    out["n_up"], _, out["n_cmp"] = _versus_past(x, valid, cfg.breadth_window, off)

    hw = cfg.high_low_window
    n_hi, n_lo, n_hl = (np.zeros(rows - off, dtype=np.int32) for _ in range(3))
    first = max(off, hw - 1)
    if first < rows:
        full = (counts[first + 1:] - counts[first + 1 - hw:rows + 1 - hw]) == hw
        lo = first - (hw - 1)  # the windows of rows first.. start here: only these rows are read
        top = _rolling_extreme(np.where(valid[lo:], x[lo:], -np.inf), hw, np.maximum)
        n_hi[first - off:] = (full & (x[first:] >= top)).sum(axis=1)
        del top
        bottom = _rolling_extreme(np.where(valid[lo:], x[lo:], np.inf), hw, np.minimum)
        n_lo[first - off:] = (full & (x[first:] <= bottom)).sum(axis=1)
        n_hl[first - off:] = full.sum(axis=1)
        del bottom, full
    out["n_hi"], out["n_lo"], out["n_hl"] = n_hi, n_lo, n_hl
    del counts

    # daily log returns of rows off.. (row 0 of the panel has none)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(np.where(x > 0, x, np.nan))
    lr = np.full((rows - off, x.shape[1]), np.nan)
    a = max(off, 1)
    np.subtract(logs[a:], logs[a - 1:-1], out=lr[a - off:])
    del logs
    ok = ~np.isnan(lr)
    k = ok.sum(axis=1)
    total = np.where(ok, lr, 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["names_mean"] = np.where(k >= 3, total / k, np.nan)
    out["log_iqr"] = _log_iqr(lr, k)
    if sectors is not None:
        out["sector_sd"] = _sector_sd(lr, sectors, off)
    del ok
    if caps is not None:
        out.update(_caps_aggregates(x, np.ascontiguousarray(caps, dtype=np.float64), off, cfg.concentration_top))
    return out


def _versus_past(x: np.ndarray, valid: np.ndarray, lag: int, off: int) -> tuple[np.ndarray, ...]:
    """For rows ``off:``: names above and below their close ``lag`` rows earlier, and names with both closes
    (zero before the panel has ``lag`` earlier rows)."""
    rows = x.shape[0]
    above, below, both = (np.zeros(rows - off, dtype=np.int32) for _ in range(3))
    first = max(off, lag)
    if first < rows:
        now, then = x[first:], x[first - lag:rows - lag]
        above[first - off:] = (now > then).sum(axis=1)
        below[first - off:] = (now < then).sum(axis=1)
        both[first - off:] = (valid[first:] & valid[first - lag:rows - lag]).sum(axis=1)
    return above, below, both


def _above_mean(x: np.ndarray, counts: np.ndarray, sums: np.ndarray, abs_sums: np.ndarray, w: int,
                off: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row ``off:``: names whose close is above their trailing ``w``-day mean, and names with a full window.

    ``x[i] > mean`` is decided as ``d = w x[i] - W > 0``, ``W`` the window's sum. From cumulative sums (recursive
    summation), ``|d_computed - d| <= 2 (i + 1) u A[i + 1] + u (|W| + |P| + |d|)``, with ``u`` the unit roundoff,
    ``A`` the cumulative sum of magnitudes (``|W| <= A[i + 1]``) and ``P = w x[i]`` (``|d| <= |P| + |W|``), which
    is at most ``2 u ((i + 2) A[i + 1] + |P|)``. A cell whose computed ``d`` exceeds twice that is decided; the
    others (a handful: near-ties) are recomputed from their own window.
    """
    rows = x.shape[0]
    above, n_ma = np.zeros(rows - off, dtype=np.int32), np.zeros(rows - off, dtype=np.int32)
    first = max(off, w - 1)
    if first >= rows:
        return above, n_ma
    has = (counts[first + 1:] - counts[first + 1 - w:rows + 1 - w]) == w
    scaled = x[first:] * w
    diff = scaled - (sums[first + 1:] - sums[first + 1 - w:rows + 1 - w])
    bound = abs_sums[first + 1:] * np.arange(first + 2, rows + 2, dtype=np.float64)[:, None]
    bound += np.abs(scaled, out=scaled)
    bound *= 4.0 * _U
    del scaled
    is_above = diff > bound
    is_above &= has
    np.abs(diff, out=diff)
    unsure = diff <= bound
    unsure &= has
    del diff, bound
    if unsure.any():
        r, c = np.nonzero(unsure)
        is_above[r, c] = _above_exact(x, r + first, c, w)
    above[first - off:] = is_above.sum(axis=1)
    n_ma[first - off:] = has.sum(axis=1)
    return above, n_ma


def _above_exact(x: np.ndarray, r: np.ndarray, c: np.ndarray, w: int) -> np.ndarray:
    """Whether ``x[r, c]`` exceeds the mean of ``x[r - w + 1 : r + 1, c]``, from the window alone, exactly."""
    result = np.zeros(len(r), dtype=bool)
    lags = np.arange(w)
    for s in range(0, len(r), _BATCH):
        rr, cc = r[s:s + _BATCH], c[s:s + _BATCH]
        win = x[rr[:, None] - lags[None, :], cc[:, None]]
        total = win.sum(axis=1)
        scaled = x[rr, cc] * w
        diff = scaled - total
        bound = 2.0 * (w * _U * np.abs(win).sum(axis=1) + _U * (np.abs(total) + np.abs(scaled) + np.abs(diff)))
        res = diff > bound
        tie = (np.abs(diff) <= bound) & ~(win.max(axis=1) == win.min(axis=1))  # a flat window is a tie: not above
        for i in np.flatnonzero(tie):  # truly too close to call: the exact sign of w * x - sum
            v = float(x[rr[i], cc[i]])
            res[i] = math.fsum([v] * w + [-float(t) for t in win[i]]) > 0.0
        result[s:s + _BATCH] = res
    return result


def _rolling_extreme(a: np.ndarray, w: int, fn: np.ufunc) -> np.ndarray:
    """``fn`` (np.maximum or np.minimum) over each trailing ``w``-row window, for rows ``w - 1`` onwards.

    Van Herk / Gil-Werman: block prefix and suffix accumulations, two passes whatever ``w``; exact.
    """
    rows, m = a.shape
    blocks = -(-rows // w)
    if blocks * w != rows:
        fill = -np.inf if fn is np.maximum else np.inf
        a = np.concatenate([a, np.full((blocks * w - rows, m), fill)])
    a = a.reshape(blocks, w, m)
    pre = fn.accumulate(a, axis=1).reshape(blocks * w, m)
    suf = fn.accumulate(a[:, ::-1], axis=1)[:, ::-1].reshape(blocks * w, m)
    return fn(suf[: rows - w + 1], pre[w - 1: rows])


def _lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """numpy's linear interpolation for quantiles (its ``_lerp``), so the quartiles match ``np.percentile``."""
    d = b - a
    return np.where(t >= 0.5, b - d * (1 - t), a + d * t)


def _log_iqr(lr: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Log of the interquartile range (linear interpolation) of each row's non-NaN values."""
    srt = np.sort(lr, axis=1)  # NaN last
    rows = np.arange(len(lr))
    kk = np.maximum(k, 1).astype(np.float64)
    q = []
    for p in (0.25, 0.75):
        virtual = kk * p + (1 - p) - 1  # numpy's (n - 1) * p for the linear method
        below = np.floor(virtual)
        i = below.astype(np.intp)
        j = np.minimum(i + 1, np.maximum(k, 1) - 1)
        q.append(_lerp(srt[rows, i], srt[rows, j], virtual - below))
    iqr = q[1] - q[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((k >= 4) & (iqr > 0), np.log(np.where(iqr > 0, iqr, 1.0)), np.nan)


def _sector_sd(lr: np.ndarray, sectors: np.ndarray, off: int) -> np.ndarray:
    """Standard deviation across sectors (3 or more with a name) of their mean log return; sectors as of the
    previous day. Sectors are summed in code order one at a time, so sectors with no name add exact zeros and
    the result does not depend on which codes the chunk happens to hold."""
    a = max(off, 1)
    ret = lr[a - off:]
    prev = sectors[a - 1:-1]
    rows = len(ret)
    known = ~np.isnan(prev)
    known &= ~np.isnan(ret)
    vals = prev[known]
    if not vals.size:
        return np.full(len(lr), np.nan)
    if np.all(vals == np.floor(vals)) and vals.min() >= 0 and vals.max() < 1 << 16:
        n_codes = int(vals.max()) + 1
        codes = np.where(known, prev, n_codes).astype(np.intp)
    else:  # any numbers: their rank among the chunk's codes (order-preserving, so sums run in the same order)
        uniq = np.unique(vals)
        n_codes = len(uniq)
        codes = np.where(known, np.searchsorted(uniq, np.where(known, prev, uniq[0])), n_codes)
    del vals
    codes += (np.arange(rows) * (n_codes + 1))[:, None]
    size = rows * (n_codes + 1)
    sums = np.bincount(codes.ravel(), weights=np.where(known, ret, 0.0).ravel(), minlength=size)
    cnt = np.bincount(codes.ravel(), minlength=size)
    del codes, known
    sums = sums.reshape(rows, n_codes + 1)[:, :n_codes]
    cnt = cnt.reshape(rows, n_codes + 1)[:, :n_codes]
    has = cnt > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        means = sums / cnt
    total = np.zeros(rows)
    n = np.zeros(rows)
    for k in range(n_codes):
        total += np.where(has[:, k], means[:, k], 0.0)
        n += has[:, k]
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = total / n
    ss = np.zeros(rows)
    for k in range(n_codes):
        ss += np.where(has[:, k], (means[:, k] - mu) ** 2, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.where(n >= 3, np.sqrt(ss / (n - 1)), np.nan)
    return sd if off else np.concatenate([np.full(1, np.nan), sd])


def _caps_aggregates(x: np.ndarray, caps: np.ndarray, off: int, top: int) -> dict[str, np.ndarray]:
    """Concentration, effective names and size rank correlation of rows ``off:``."""
    a = max(off, 1)  # first row with a previous day
    prev_caps = caps[a - 1:-1]
    has_cap = ~np.isnan(prev_caps)
    n_caps = has_cap.sum(axis=1, dtype=np.int32)
    with np.errstate(divide="ignore", invalid="ignore"):
        rets = x[a:] / x[a - 1:-1]
        rets -= 1.0
        contrib = prev_caps / np.where(has_cap, prev_caps, 0.0).sum(axis=1)[:, None]
        contrib *= rets
    contrib[np.isnan(contrib)] = 0.0
    c_all = contrib.sum(axis=1)
    # the `top` largest previous-day caps, ties to the first column (pandas' rank(method="first"))
    m = x.shape[1]
    if m > top:
        neg = np.where(has_cap, -prev_caps, np.inf)
        kth = np.sort(neg, axis=1)[:, top - 1:top]
        chosen = neg < kth
        tie = neg == kth
        tie &= has_cap
        del neg
        need = top - chosen.sum(axis=1)
        crowded = np.flatnonzero(tie.sum(axis=1) > need)  # more names tie with the last place than it has room
        if crowded.size:
            tie[crowded] &= np.cumsum(tie[crowded], axis=1) <= need[crowded, None]
        chosen |= tie
        del tie
    else:
        chosen = has_cap
    c_top = np.where(chosen, contrib, 0.0).sum(axis=1)
    del contrib, chosen

    both = ~np.isnan(rets)
    both &= has_cap
    n_both = both.sum(axis=1)
    ra = _centred_ranks(np.where(both, rets, np.nan))
    del rets
    rb = _centred_ranks(np.where(both, prev_caps, np.nan))
    del both
    num = (ra * rb).sum(axis=1, dtype=np.float64)
    ra *= ra
    rb *= rb
    with np.errstate(invalid="ignore", divide="ignore"):
        den = np.sqrt(ra.sum(axis=1, dtype=np.float64) * rb.sum(axis=1, dtype=np.float64))
        corr = np.where((n_both >= 3) & (den > 0), num / np.where(den > 0, den, 1.0), np.nan)
    del ra, rb

    out = {"c_top": c_top, "c_all": c_all, "n_caps_prev": n_caps, "size_corr": corr}
    if off == 0:  # the panel's first row has no previous day: no contributions, no caps, no correlation
        out = {k: np.concatenate([np.zeros(1, dtype=v.dtype) if k != "size_corr" else np.full(1, np.nan), v])
               for k, v in out.items()}
    out["eff_names"] = _effective_names(caps[off:])
    return out


def _effective_names(caps: np.ndarray) -> np.ndarray:
    """Log of ``1 / sum(w^2)`` of each row's cap weights (NaN for a row without caps)."""
    ok = ~np.isnan(caps)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = caps / np.where(ok, caps, 0.0).sum(axis=1)[:, None]
        w *= w
        w[~ok] = 0.0
        return np.where(ok.any(axis=1), np.log(1.0 / w.sum(axis=1)), np.nan)


def _centred_ranks(v: np.ndarray) -> np.ndarray:
    """Each row's average ranks (ties share their mean rank) minus their mean, 0 where NaN.

    Ranks and their mean, ``(n + 1) / 2``, are multiples of 1/2, so every product and sum of them is exact.
    """
    rows, m = v.shape
    order = np.argsort(v, axis=1)  # NaN last
    srt = np.sort(v, axis=1)  # faster than gathering v by order
    nan = np.isnan(srt)
    n = m - nan.sum(axis=1)
    # centred ranks are multiples of 1/2 below m / 2: they and their products are exact in float32 while
    # (m - 1)^2 < 2^24 (the sums are taken in float64)
    ranks = np.empty((rows, m), dtype=np.float32 if m <= 4096 else np.float64)
    ranks[:] = np.arange(1, m + 1, dtype=ranks.dtype)
    ranks -= ((n + 1) / 2.0).astype(ranks.dtype)[:, None]
    tie = srt[:, 1:] == srt[:, :-1]  # NaN never ties
    if tie.any():  # a run of equal values shares the mean of its positions
        r, p = np.nonzero(tie)  # pairs (p, p + 1) of equal neighbours
        new = np.ones(len(p), dtype=bool)
        new[1:] = (r[1:] != r[:-1]) | (p[1:] != p[:-1] + 1)
        run = np.cumsum(new) - 1
        last = np.append(new[1:], True)
        mid = (p[new] + p[last] + 1)[run] / 2.0 + 1.0 - (n[r] + 1) / 2.0
        ranks[r, p] = mid
        ranks[r, p + 1] = mid
    del tie, srt
    ranks[nan] = 0.0
    out = np.empty_like(ranks)
    np.put_along_axis(out, order, ranks, axis=1)
    return out

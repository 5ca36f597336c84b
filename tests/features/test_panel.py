"""The panel's daily aggregates: equal to the pandas reference, exact, and independent of where they start.

Tolerance against the reference (``tests/features/reference.py``, the pandas implementation they replace):
features built from counts (``br_above_*``, ``br_ad_slope``, ``br_pct_up``, ``br_hi_lo``) are equal exactly,
except where pandas' rolling mean misjudges a close that ties its mean to the last bits (the new code decides
those exactly, checked against ``math.fsum``); every other feature within ``1e-9 * |reference| + 1e-12``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import regime.features._panel as panel
from regime.config import FeaturesConfig
from regime.features import breadth
from regime.features._panel import panel_aggregates, panel_lookback

from .reference import reference_breadth

COUNTED = ("br_above_", "br_ad_slope", "br_pct_up", "br_hi_lo")
SMALL = FeaturesConfig(breadth_ma_windows=(5, 20), breadth_window=10, ad_window=5, high_low_window=30,
                       high_low_smooth=3, concentration_top=3, concentration_window=10, size_corr_windows=(5,),
                       dispersion_windows=(3,), lead_vol_window=20)


def ragged_panel(days: int = 420, names: int = 40, seed: int = 3):
    """Closes rounded to cents (ties), names listed late, delisted early, with gaps and flat stretches; caps with
    ties; sector codes with unknowns and a reclassification."""
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2010-01-04", periods=days, name="date")
    cols = [f"T{j:02d}" for j in range(names)]
    steps = rng.normal(0, 0.015, (days, names))
    closes = np.round(20 * np.exp(np.cumsum(steps, axis=0)), 2)
    closes[100:160, 3] = closes[99, 3]  # halted: a flat window ties its mean
    closes[:, 4] = closes[:, 5]  # twins: tied returns and caps
    for j in range(0, names, 7):
        closes[: rng.integers(1, days // 3), j] = np.nan  # listed late
    for j in range(2, names, 9):
        closes[rng.integers(days * 3 // 5, days):, j] = np.nan  # delisted
    closes[rng.random((days, names)) < 0.01] = np.nan  # missing days
    shares = rng.integers(1, 50, names).astype(float)
    shares[5] = shares[4]
    caps = closes * shares
    sectors = np.tile(np.arange(names) % 5, (days, 1)).astype(float)
    sectors[:, 6] = np.nan
    sectors[200:, 7] = 2.0
    frame = lambda a: pd.DataFrame(a, index=idx, columns=pd.Index(cols, name="ticker"))  # noqa: E731
    bench = pd.Series(np.nanmean(closes, axis=1) * 10, index=idx)
    return frame(closes), frame(caps), frame(sectors), bench


def exact_above_counts(closes: pd.DataFrame, w: int) -> np.ndarray:
    """Names whose close exceeds their trailing w-day mean, decided with exact arithmetic (math.fsum)."""
    x = closes.to_numpy()
    out = np.zeros(len(x), dtype=int)
    for i in range(w - 1, len(x)):
        win = x[i - w + 1:i + 1]
        for j in np.flatnonzero(~np.isnan(win).any(axis=0)):
            out[i] += math.fsum([x[i, j]] * w + [-v for v in win[:, j]]) > 0
    return out


def assert_matches_reference(new: pd.DataFrame, ref: pd.DataFrame, closes: pd.DataFrame, cfg: FeaturesConfig):
    assert list(new.columns) == list(ref.columns)
    for c in ref.columns:
        a, b = new[c].to_numpy(), ref[c].to_numpy()
        assert np.array_equal(np.isnan(a), np.isnan(b)), c
        if not c.startswith(COUNTED):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, err_msg=c)
            continue
        if np.array_equal(a, b, equal_nan=True):
            continue
        assert c.startswith("br_above_"), c  # only the moving-average comparison can differ: near-ties
        w = int(c.removeprefix("br_above_").removesuffix("d"))
        ma = closes.rolling(w, min_periods=w).mean().to_numpy()
        rows = np.flatnonzero(~np.isclose(a, b, rtol=0, atol=0) & ~np.isnan(a))
        for i in rows:  # pandas got a tie wrong there: its mean is within rounding of the close
            near = np.abs(closes.to_numpy()[i] - ma[i]) <= 1e-12 * np.abs(ma[i])
            assert near.any(), (c, i)


def test_breadth_matches_the_pandas_reference_on_the_built_in_market(data):
    cfg = FeaturesConfig()
    bench = data.series("large_cap")
    new = breadth(data.closes, data.caps, cfg, data.sectors, bench)
    ref = reference_breadth(data.closes, data.caps, cfg, data.sectors, bench)
    assert_matches_reference(new, ref, data.closes, cfg)


def test_breadth_matches_the_pandas_reference_on_a_ragged_panel():
    closes, caps, sectors, bench = ragged_panel()
    new = breadth(closes, caps, SMALL, sectors, bench)
    assert_matches_reference(new, reference_breadth(closes, caps, SMALL, sectors, bench), closes, SMALL)
    agg = panel_aggregates(closes, caps, sectors, SMALL)
    for w in SMALL.breadth_ma_windows:  # where pandas misjudges the flat windows' ties, the counts are exact
        assert agg[f"above_{w}"].tolist() == exact_above_counts(closes, w).tolist()
    # without caps and sectors, the same features minus theirs
    bare = breadth(closes, None, SMALL)
    assert_matches_reference(bare, reference_breadth(closes, None, SMALL), closes, SMALL)


def test_above_mean_is_decided_exactly_near_ties():
    """Closes that tie their mean exactly, or miss it by an ulp, after a long history (a large cumulative sum)."""
    w = 4
    rng = np.random.default_rng(1)
    base = np.round(1000 + np.cumsum(rng.normal(0, 5, 3000)), 2)
    x = np.tile(base[:, None], (1, 6))
    x[2000:2010, 1] = 1234.56  # flat: ties its mean
    x[2100:2104, 2] = [0.1, 0.3, 0.2, 0.2]  # 0.2 against the mean of (0.1, 0.3, 0.2, 0.2): exact reals decide
    x[2200:2204, 3] = [1.0, 3.0, 2.0, 2.0]  # an exact tie: not above
    x[2300:2304, 4] = [1.0, 3.0, 2.0, np.nextafter(2.0, 3.0)]  # an ulp above the tie
    x[2400:2404, 5] = [1.0, 3.0, 2.0, np.nextafter(2.0, 1.0)]  # an ulp below it
    closes = pd.DataFrame(x, index=pd.bdate_range("2000-01-03", periods=len(x)))
    cfg = FeaturesConfig(breadth_ma_windows=(w,), breadth_window=2, high_low_window=3)
    agg = panel_aggregates(closes, None, None, cfg)
    assert agg["above_4"].tolist() == exact_above_counts(closes, w).tolist()
    assert agg["above_4"].iloc[2203] == sum(x[2203, j] > x[2200:2204, j].mean() for j in (0, 1, 2, 4, 5))


def test_aggregates_do_not_depend_on_where_they_start():
    """Bit-for-bit the same aggregates from any start row, from any chunking, from a panel cut before the start."""
    closes, caps, sectors, _ = ragged_panel()
    full = panel_aggregates(closes, caps, sectors, SMALL)
    lookback = panel_lookback(SMALL)
    for start in (1, 2, 9, 29, 30, 31, 180, len(closes) - 1):
        part = panel_aggregates(closes, caps, sectors, SMALL, start=start)
        pd.testing.assert_frame_equal(part, full.iloc[start:], check_exact=True)
        lo = max(0, start - lookback + 1)  # only the lookback rows before the start are needed
        cut = panel_aggregates(closes.iloc[lo:], caps.iloc[lo:], sectors.iloc[lo:], SMALL, start=start - lo)
        pd.testing.assert_frame_equal(cut, full.iloc[start:], check_exact=True)


def test_chunking_gives_the_same_bits(monkeypatch):
    closes, caps, sectors, _ = ragged_panel()
    full = panel_aggregates(closes, caps, sectors, SMALL)
    monkeypatch.setattr(panel, "CHUNK_CELLS", 1)
    monkeypatch.setattr(panel, "MIN_STEP", 1)  # one lookback of rows per chunk: 14 chunks
    pd.testing.assert_frame_equal(panel_aggregates(closes, caps, sectors, SMALL), full, check_exact=True)


def test_float_layout_does_not_matter():
    """A row-major copy of the panel (as a reader may build it) gives the same bits as the column-major one."""
    closes, caps, sectors, _ = ragged_panel()
    full = panel_aggregates(closes, caps, sectors, SMALL)
    c_order = [pd.DataFrame(np.ascontiguousarray(f.to_numpy()), index=f.index, columns=f.columns)
               for f in (closes, caps, sectors)]
    pd.testing.assert_frame_equal(panel_aggregates(*c_order, SMALL), full, check_exact=True)


@pytest.mark.parametrize("top", [1, 3, 60])
def test_top_names_ties_go_to_the_first_column(top):
    """c_top takes the `top` largest previous-day caps, ties to the first column, as pandas' rank(method='first')."""
    closes, caps, sectors, bench = ragged_panel(days=120, names=12)
    cfg = SMALL.model_copy(update={"concentration_top": top})
    new = breadth(closes, caps, cfg, sectors, bench)
    ref = reference_breadth(closes, caps, cfg, sectors, bench)
    np.testing.assert_allclose(new["br_top10_share"], ref["br_top10_share"], rtol=1e-9, atol=1e-12)

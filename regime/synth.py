"""A built-in synthetic equity market that knows its true regimes.

The market is generated bottom-up: hundreds of stocks with heavy-tailed
(Pareto) market caps follow a factor model whose parameters depend on a hidden
regime path with persistent, semi-Markov durations. Indices are then built
from the stocks exactly as index providers would (cap-weighted, equal-weighted,
top-N mega caps, mid- and small-cap rank bands), and rates and credit spreads
respond to the same regime path.

How each regime moves the market (daily, before noise):

========================  ==============  ===========  ===========
                          concentration   broadening   stress
========================  ==============  ===========  ===========
market drift              +0.01 %         +0.07 %      -0.35 %
market volatility         0.85 %          0.80 %       1.6 %
size tilt (mega - small)  +0.08 %         -0.05 %      +0.02 %
sector rotation vol       low             high         medium
policy rate moves         mixed           hikes        cuts
credit spread target      1.8 %           1.9 %        4.0 %
========================  ==============  ===========  ===========

Variants: a :class:`SynthOptions` passed to :func:`simulate_market` changes
how the market behaves or which files a user would have. The defaults give
today's market byte for byte; new randomness comes from a second generator
(``default_rng([seed, 7])``) so the first one draws exactly as before. The
named variants in :data:`VARIANTS` (for ``regime data synth --variant`` and
``scripts/bench_synth_family.py``):

====================  =========================================================================
variant               what changes
====================  =========================================================================
``base``              nothing: today's market
``no_sectors``        constituents without the ``sector`` column
``equal_rotation``    sector rotation volatility 0.33 % in every regime (today broadening
                      rotates ~2x more than concentration, a give-away feature)
``no_caps``           constituents without ``market_cap`` (closes and sectors)
``closes_survivors``  closes-only constituents; about a third of the names list during the
                      history, laggards and acquired names delist; indices hold every name
                      alive that day, the constituents file only the names alive at the end,
                      blank before they list (survivorship bias)
``indices_rates``     prices and rates only: no constituents file
``prices_only``       prices only: no rates, no constituents
``fat_tails``         Student-t(3) market and stock shocks and a GARCH(1,1)-like variance
                      multiplier (persistence 0.97) in every regime
``few_stress``        transitions into stress 6x rarer: about 1-2 % stress days
``short_spells``      every regime's mean and minimum spell length halved
``long_spells``       every regime's mean and minimum spell length doubled
``small_universe``    50 names
``large_universe``    1,000 names
``weak_tilt``         half the mean size tilt (mega - small) in every regime
``mild_stress``       stress half as far from calm: volatility, drift, stock volatility,
                      credit-spread target and spread shocks move half as much
====================  =========================================================================
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from .data import write_table
from .errors import DataError
from .measures import TRADING_DAYS
from .variants import GARCH_ALPHA, MIN_STOCKS, VARIANTS, SynthOptions

__all__ = ["SyntheticMarket", "ConstituentPanel", "SynthOptions", "VARIANTS", "MIN_STOCKS", "simulate_market",
           "write_market", "REGIME_PARAMS", "regime_path", "regime_params", "regime_transitions"]

log = logging.getLogger(__name__)

REGIMES = ("concentration", "broadening", "stress")

#: Per-regime parameters of the generator (daily units).
REGIME_PARAMS: dict[str, dict[str, float]] = {
    "concentration": dict(
        mu=0.0001, vol=0.0085, tilt=0.0008, tilt_vol=0.0015, idio=0.013, sector_vol=0.0020,
        dur_mean=300, dur_shape=3.0, dur_min=60, hike=0.15, cut=0.15, cut_size=0.25,
        term=0.1, slope=0.4, spread=1.8, spread_phi=0.985,
    ),
    "broadening": dict(
        mu=0.0007, vol=0.0080, tilt=-0.0005, tilt_vol=0.0015, idio=0.013, sector_vol=0.0045,
        dur_mean=250, dur_shape=3.0, dur_min=60, hike=0.35, cut=0.05, cut_size=0.25,
        term=0.4, slope=0.9, spread=1.9, spread_phi=0.985,
    ),
    "stress": dict(
        mu=-0.0035, vol=0.016, tilt=0.0002, tilt_vol=0.003, idio=0.020, sector_vol=0.0035,
        dur_mean=55, dur_shape=4.0, dur_min=15, hike=0.0, cut=0.6, cut_size=0.5,
        term=-0.6, slope=1.4, spread=4.0, spread_phi=0.95,
    ),
}

#: Probability of moving to each other regime when a spell ends.
TRANSITIONS = {
    "concentration": {"broadening": 0.65, "stress": 0.35},
    "broadening": {"concentration": 0.60, "stress": 0.40},
    "stress": {"broadening": 0.60, "concentration": 0.40},
}

def regime_params(opts: SynthOptions) -> dict[str, dict[str, float]]:
    """The generator's per-regime parameters for a variant.

    Parameters
    ----------
    opts : SynthOptions

    Returns
    -------
    dict
        :data:`REGIME_PARAMS` as the options change them (the very same numbers under the defaults), as a new
        dict: changing it does not change the generator.
    """
    params = {r: dict(p) for r, p in REGIME_PARAMS.items()}
    if opts.duration_scale != 1.0:
        for p in params.values():
            p["dur_mean"] = p["dur_mean"] * opts.duration_scale
            p["dur_min"] = max(1, round(p["dur_min"] * opts.duration_scale))
    if opts.sector_vol is not None:
        for p in params.values():
            p["sector_vol"] = opts.sector_vol
    if opts.tilt_scale != 1.0:
        for p in params.values():
            p["tilt"] = p["tilt"] * opts.tilt_scale
    if opts.stress_severity != 1.0:
        calm = ("concentration", "broadening")
        st = params["stress"]
        for key in ("mu", "vol", "idio", "spread"):
            base = 0.5 * (REGIME_PARAMS[calm[0]][key] + REGIME_PARAMS[calm[1]][key])
            st[key] = base + opts.stress_severity * (REGIME_PARAMS["stress"][key] - base)
    return params


def regime_transitions(opts: SynthOptions) -> dict[str, dict[str, float]]:
    """Where each regime's spell leads under the variant ``opts``, as ``{from: {to: probability}}``.

    These are :data:`TRANSITIONS` with moves into stress scaled by ``opts.stress_entry`` and each row
    renormalised. The result is a new dict, as for :func:`regime_params`: changing it does not change the
    generator.
    """
    if opts.stress_entry == 1.0:
        return {src: dict(row) for src, row in TRANSITIONS.items()}
    out = {}
    for src, row in TRANSITIONS.items():
        w = {dst: p * (opts.stress_entry if dst == "stress" else 1.0) for dst, p in row.items()}
        total = sum(w.values())
        out[src] = {dst: v / total for dst, v in w.items()}
    return out


#: Rows (names x days) per block when the long constituents table is written: bounds the memory a write takes.
BLOCK_ROWS = 1 << 20


@dataclass(frozen=True, eq=False)
class ConstituentPanel:
    """The constituents as the generator keeps them: wide arrays, one row per day and one column per name.

    The long table (``date, ticker, close[, market_cap][, sector]``, one row per name and day, day by day)
    is made from it a block of days at a time, so writing 3,000 names x 30 years never holds it whole.

    Attributes
    ----------
    dates : DatetimeIndex
        The business days.
    tickers : ndarray of str
        One per name, in column order.
    closes : ndarray of shape (n_days, n_names)
        Rounded to 4 decimals; NaN before a name lists (survivorship variants).
    caps : ndarray of shape (n_days, n_names) or None
        Market caps rounded to thousands; NaN where the close is.
    sectors : ndarray of str or None
        Each name's sector label; blank on the days its close is.
    """

    dates: pd.DatetimeIndex
    tickers: np.ndarray
    closes: np.ndarray
    caps: np.ndarray | None = None
    sectors: np.ndarray | None = None

    def __post_init__(self) -> None:
        shape = (len(self.dates), len(self.tickers))
        if self.closes.shape != shape or (self.caps is not None and self.caps.shape != shape):
            raise ValueError(f"closes and caps must have shape {shape} (days x names)")
        if self.sectors is not None and len(self.sectors) != shape[1]:
            raise ValueError("one sector label per name")

    @property
    def columns(self) -> list[str]:
        """The long table's columns after ``date``."""
        return ["ticker", "close"] + ["market_cap"] * (self.caps is not None) + ["sector"] * (self.sectors is not None)

    def rows(self, start: int = 0, stop: int | None = None) -> pd.DataFrame:
        """The long table of days ``start`` to ``stop`` (positions), indexed by date."""
        stop = len(self.dates) if stop is None else min(stop, len(self.dates))
        n, k = stop - start, len(self.tickers)
        cols = {
            "date": np.repeat(self.dates[start:stop].to_numpy(), k),
            "ticker": np.tile(self.tickers, n),
            "close": self.closes[start:stop].ravel(),
        }
        if self.caps is not None:
            cols["market_cap"] = self.caps[start:stop].ravel()
        if self.sectors is not None:
            labels = np.tile(self.sectors, n)
            blank = np.isnan(cols["close"])
            if blank.any():  # blank before listing, like the close
                labels = np.where(blank, None, labels.astype(object))
            cols["sector"] = labels
        return pd.DataFrame(cols).set_index("date")

    def blocks(self, rows: int | None = None) -> Iterator[pd.DataFrame]:
        """The long table in consecutive blocks of whole days, about ``rows`` rows each (default :data:`BLOCK_ROWS`)."""
        step = max(1, (BLOCK_ROWS if rows is None else rows) // max(1, len(self.tickers)))
        for start in range(0, len(self.dates), step):
            yield self.rows(start, start + step)


@dataclass(frozen=True, eq=False)
class SyntheticMarket:
    """A generated market in the data-contract shape.

    Attributes
    ----------
    prices : DataFrame
        Index levels ``spx, spx_ew, ndx, mid, sml, rut`` on business days.
    rates : DataFrame or None
        ``fed_funds, ust_2y, ust_10y, baa_spread`` on their own calendar:
        fed funds every calendar day, the others on business days with blank
        holidays, as FRED publishes them. None when the variant has no rates.
    panel : ConstituentPanel or None
        The constituents as wide arrays; None when the variant has no
        constituents. :attr:`constituents` is their long table.
    truth : Series
        The true regime id of every price date.
    universe : DataFrame or None
        With ``survivorship``: one row per simulated name (``ticker``,
        ``listed``, ``delisted``; NaT = listed before the start or never
        delisted), including the names the constituents leave out.
    """

    prices: pd.DataFrame
    rates: pd.DataFrame | None
    panel: ConstituentPanel | None
    truth: pd.Series
    universe: pd.DataFrame | None = None

    @cached_property
    def constituents(self) -> pd.DataFrame | None:
        """Long format ``ticker, close[, market_cap][, sector]`` indexed by date (all four by default), as
        written to ``constituents.csv``; None when the variant has no constituents. Built on first use: for
        3,000 names x 30 years it takes a few GB (:func:`write_market` writes it a block at a time instead).
        """
        return None if self.panel is None else self.panel.rows()


def _regime_path(rng: np.random.Generator, n: int, params: dict[str, dict[str, float]] = REGIME_PARAMS,
                 transitions: dict[str, dict[str, float]] = TRANSITIONS) -> np.ndarray:
    path = np.empty(n, dtype=np.int64)
    state = REGIMES[rng.choice(2)]
    t = 0
    while t < n:
        p = params[state]
        mean, shape = p["dur_mean"], p["dur_shape"]
        dur = max(int(p["dur_min"]), int(rng.gamma(shape, mean / shape)))
        path[t : t + dur] = REGIMES.index(state)
        t += dur
        nxt = transitions[state]
        state = str(rng.choice(list(nxt), p=list(nxt.values())))
    return path


def regime_path(seed: int = 0, years: float = 30.0, start: str = "1996-01-02",
                options: SynthOptions | None = None) -> pd.Series:
    """The true regime of each day of the market :func:`simulate_market` draws with these arguments.

    The path is the generator's first draw, so it equals ``simulate_market(seed, years, start=start,
    options=options).truth`` without simulating prices (for studies of what a labeller could know).
    """
    opts = options or SynthOptions()
    n = int(round(years * TRADING_DAYS))
    path = _regime_path(np.random.default_rng(seed), n, regime_params(opts), regime_transitions(opts))
    return pd.Series(np.asarray(REGIMES)[path], index=pd.bdate_range(start, periods=n, name="date"), name="regime")


def _param(path: np.ndarray, key: str, params: dict[str, dict[str, float]] = REGIME_PARAMS) -> np.ndarray:
    table = np.array([params[r][key] for r in REGIMES])
    return table[path]


def _garch_multiplier(z: np.ndarray, persistence: float) -> np.ndarray:
    """Volatility multiplier sqrt(h_t) of a unit-variance GARCH(1,1) driven by the standardised shocks ``z``.

    ``h_t = (1 - persistence) + alpha z_{t-1}^2 h_{t-1} + (persistence - alpha) h_{t-1}``, ``h_0 = 1``:
    h_t uses shocks up to t-1 only.
    """
    alpha, beta = GARCH_ALPHA, persistence - GARCH_ALPHA
    omega = 1.0 - persistence
    h = np.empty(len(z))
    h_t = 1.0
    for t in range(len(z)):
        h[t] = h_t
        h_t = omega + (alpha * z[t] ** 2 + beta) * h_t
    return np.sqrt(h)


def _listings(rng: np.random.Generator, closes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Listing and delisting day of each name (survivorship variants).

    Returns ``listed`` (-1 = before the first day) and ``delisted`` (the last
    day with a close; ``n`` = never). About a third of the names list at
    uniform times in the first 85 % of the history; a name delists when its
    price relative to the average name (the cross-sectional mean of log
    closes) first falls below 25 % of its relative high since listing, at
    least a year after listing (a failure: about a quarter of the names in
    20 years; a market-wide crash alone delists nobody), or at a uniform time
    for 10 % of names (an acquisition), whichever comes first.
    """
    n, k = closes.shape
    listed = np.where(rng.random(k) < 1.0 / 3.0, rng.integers(1, max(2, int(0.85 * n)), k), -1)
    acquired = np.where(rng.random(k) < 0.10, rng.integers(0, n, k), n)
    day = np.arange(n)[:, None]
    log_px = np.log(closes)
    rel = np.where(day >= listed[None, :], log_px - log_px.mean(axis=1, keepdims=True), np.nan)
    high = np.fmax.accumulate(rel, axis=0)
    fail = (rel < high + np.log(0.25)) & (day >= listed[None, :] + TRADING_DAYS)
    first_fail = np.where(fail.any(axis=0), fail.argmax(axis=0), n)
    delisted = np.minimum(first_fail, np.where(acquired > listed + TRADING_DAYS, acquired, n))
    return listed, delisted


def _survivor_indices(simple: np.ndarray, caps_prev: np.ndarray, held: np.ndarray) -> dict[str, np.ndarray]:
    """The six index return series over the names held each day (``held[t]``: in the index for day t's return).

    Bands are ranks among the names held at each reconstitution, with the
    same fractions as the full-universe indices; a member that delists
    between reconstitutions drops out, a new listing waits for the next one.
    """
    w = np.where(held, caps_prev, 0.0)
    held_simple = np.where(held, simple, 0.0)
    out = {
        "spx": (w * held_simple).sum(axis=1) / w.sum(axis=1),
        "spx_ew": held_simple.sum(axis=1) / held.sum(axis=1),
    }
    bands = {
        "ndx": (lambda m: (0, max(10, m // 16)), "cap", 21),
        "mid": (lambda m: (m // 5, int(m * 0.6)), "cap", 63),
        "sml": (lambda m: (int(m * 0.6), m), "cap", 63),
        "rut": (lambda m: (m // 2, m), "equal", 63),
    }
    n_days = simple.shape[0]
    for name, (band, weighting, rebalance) in bands.items():
        ret = np.empty(n_days)
        members = None
        for t in range(n_days):
            if members is None or t % rebalance == 0:
                eligible = np.flatnonzero(held[t])
                lo, hi = band(len(eligible))
                members = eligible[np.argsort(-caps_prev[t, eligible], kind="stable")][lo:hi]
            live = members[held[t, members]]
            if len(live) == 0:
                ret[t] = 0.0
            elif weighting == "cap":
                wt = caps_prev[t, live]
                ret[t] = float(wt @ simple[t, live] / wt.sum())
            else:
                ret[t] = float(simple[t, live].mean())
        out[name] = ret
    return out


def _student(rng: np.random.Generator, size, df: float = 5.0) -> np.ndarray:
    """Unit-variance Student-t draws: fat tails without changing the scale."""
    return rng.standard_t(df, size=size) / np.sqrt(df / (df - 2.0))


def _ar1(rng: np.random.Generator, target: np.ndarray, phi: np.ndarray | float, vol: np.ndarray | float,
         x0: float) -> np.ndarray:
    n = len(target)
    phi = np.broadcast_to(np.asarray(phi, dtype=float), (n,))
    shocks = np.broadcast_to(np.asarray(vol, dtype=float), (n,)) * rng.standard_normal(n)
    out = np.empty(n)
    x = x0
    for t in range(n):
        x = target[t] + phi[t] * (x - target[t]) + shocks[t]
        out[t] = x
    return out


def _band_index(simple: np.ndarray, caps_prev: np.ndarray, lo: int, hi: int, weighting: str,
                rebalance: int) -> np.ndarray:
    """Daily returns of an index holding cap ranks [lo, hi), reconstituted every ``rebalance`` days."""
    n_days, _ = simple.shape
    out = np.empty(n_days)
    members = None
    for t in range(n_days):
        if members is None or t % rebalance == 0:
            order = np.argsort(-caps_prev[t])
            members = order[lo:hi]
        if weighting == "cap":
            w = caps_prev[t, members]
            out[t] = float(w @ simple[t, members] / w.sum())
        else:
            out[t] = float(simple[t, members].mean())
    return out


def simulate_market(seed: int = 0, years: float = 30.0, n_stocks: int = 500,
                    start: str = "1996-01-02", options: SynthOptions | None = None) -> SyntheticMarket:
    """Generate a synthetic market with known regimes.

    Parameters
    ----------
    seed : int
        Seed of every random draw; the same seed gives the same market.
    years : float
        Length in years of 252 business days.
    n_stocks : int
        Number of constituents (at least :data:`MIN_STOCKS`); ``options.n_stocks`` overrides it.
    start : str
        First business day.
    options : SynthOptions, optional
        How the market differs from the built-in one (see :data:`VARIANTS`);
        None or the defaults give the built-in market, byte for byte.

    Returns
    -------
    SyntheticMarket
    """
    opts = options or SynthOptions()
    if opts.n_stocks is not None:
        n_stocks = opts.n_stocks
    if n_stocks < MIN_STOCKS:
        raise ValueError(f"n_stocks must be at least {MIN_STOCKS} so the size bands are populated")
    rng = np.random.default_rng(seed)
    rng_new = np.random.default_rng([seed, 7])  # every draw the defaults do not make
    params = regime_params(opts)
    n = int(round(years * TRADING_DAYS))
    dates = pd.bdate_range(start, periods=n, name="date")
    path = _regime_path(rng, n, params, regime_transitions(opts))

    # --- constituents: heavy-tailed caps, size exposure, sectors -------------------------------
    # Pareto(1.5) quantiles with a little jitter: heavy-tailed, but no single draw owns the index
    grid = (np.arange(n_stocks) + 0.5) / n_stocks
    caps0 = rng.permutation(2.0e9 * grid ** (-1.0 / 1.5) * np.exp(0.15 * rng.standard_normal(n_stocks)))
    rank_pct = (np.argsort(np.argsort(caps0)) + 0.5) / n_stocks  # 0 = smallest
    exposure = 2.0 * rank_pct - 1.0
    exposure[np.argsort(-caps0)[:10]] += 0.6  # the mega-cap group
    beta = np.clip(1.0 + 0.25 * rng.standard_normal(n_stocks) - 0.1 * exposure, 0.5, 1.7)
    n_sectors = 10
    sector = rng.integers(0, n_sectors, n_stocks)

    vol_mult = np.exp(_ar1(rng, np.zeros(n), 0.98, 0.04, 0.0))  # slow volatility clustering
    shocks = _student(rng, n, 5.0 if opts.tail_df is None else opts.tail_df)
    if opts.garch is not None:  # fast clustering driven by the market's own shocks, on top
        vol_mult = vol_mult * _garch_multiplier(shocks, opts.garch)
    market = _param(path, "mu", params) + _param(path, "vol", params) * vol_mult * shocks
    tilt = _param(path, "tilt", params) + _param(path, "tilt_vol", params) * rng.standard_normal(n)
    sector_vol = _param(path, "sector_vol", params)
    sector_drift = np.zeros((n, n_sectors))
    d = np.zeros(n_sectors)
    for t in range(n):  # persistent sector trends whose size follows the regime: rotation
        d = 0.985 * d + 0.015 * sector_vol[t] * rng.standard_normal(n_sectors)
        sector_drift[t] = d
    sectors = sector_drift + sector_vol[:, None] * rng.standard_normal((n, n_sectors))
    # the (days x names) arrays are built in place, one at a time: the same sums and products as
    # scale * t and market * beta + tilt * exposure + sectors + idio, without their temporaries
    idio = _student(rng, (n, n_stocks), df=4.0 if opts.tail_df is None else opts.tail_df)
    idio *= _param(path, "idio", params)[:, None] * vol_mult[:, None]
    logret = market[:, None] * beta[None, :]
    logret += tilt[:, None] * exposure[None, :]
    logret += sectors[:, sector]
    logret += idio
    del idio
    logret -= 0.5 * (0.013 ** 2)  # rough volatility drag so levels do not explode
    # relative size mean-reverts slowly (half-life ~5 years): giants' growth slows, as in real markets
    kappa = np.log(2.0) / (5 * TRADING_DAYS)
    log_cap0 = np.log(caps0)
    rel0 = log_cap0 - np.log(caps0.sum())
    level = log_cap0.copy()
    for t in range(n):
        rel = level - (np.log(np.exp(level - level.max()).sum()) + level.max())
        logret[t] -= kappa * (rel - rel0)
        level += logret[t]
    growth = np.cumsum(logret, axis=0)
    np.exp(growth, out=growth)
    caps = caps0[None, :] * growth
    price0 = rng.uniform(10.0, 150.0, n_stocks)
    closes = price0[None, :] * growth
    del growth
    simple = np.expm1(logret)
    del logret
    caps_prev = np.vstack([caps0[None, :], caps[:-1]])

    # --- indices built from the constituents ---------------------------------------------------
    if opts.survivorship:
        listed, delisted = _listings(rng_new, closes)
        day = np.arange(n)[:, None]
        held = (day > listed[None, :]) & (day <= delisted[None, :])  # day t's return counts
        ret = _survivor_indices(simple, caps_prev, held)
    else:
        w_prev = caps_prev / caps_prev.sum(axis=1, keepdims=True)
        w_prev *= simple
        ret = {
            "spx": w_prev.sum(axis=1),
            "spx_ew": simple.mean(axis=1),
            "ndx": _band_index(simple, caps_prev, 0, max(10, n_stocks // 16), "cap", 21),
            "mid": _band_index(simple, caps_prev, n_stocks // 5, int(n_stocks * 0.6), "cap", 63),
            "sml": _band_index(simple, caps_prev, int(n_stocks * 0.6), n_stocks, "cap", 63),
            "rut": _band_index(simple, caps_prev, n_stocks // 2, n_stocks, "equal", 63),
        }
        del w_prev
    del simple, caps_prev
    base = {"spx": 600.0, "spx_ew": 1000.0, "ndx": 800.0, "mid": 300.0, "sml": 150.0, "rut": 400.0}
    prices = pd.DataFrame({k: base[k] * np.cumprod(1.0 + v) for k, v in ret.items()}, index=dates)

    # --- rates ---------------------------------------------------------------------------------
    policy = np.empty(n)
    rate = 3.0
    for t in range(n):
        if t % 30 == 0:  # a policy meeting
            p = params[REGIMES[path[t]]]
            u = rng.random()
            hike = p["hike"] * (0.3 if rate > 5.5 else 1.0)
            if u < hike:
                rate += 0.25
            elif u < hike + p["cut"]:
                rate -= p["cut_size"] if rate > 1.0 else 0.25
            rate = float(np.clip(rate, 0.0, 8.0))
        policy[t] = rate
    term = _ar1(rng, _param(path, "term", params), 0.97, 0.03, 0.2)
    ust_2y = np.maximum(policy + 0.2 + term + 0.03 * rng.standard_normal(n), 0.01)
    slope = _ar1(rng, _param(path, "slope", params), 0.99, 0.025, 0.6)
    ust_10y = np.maximum(ust_2y + slope, 0.05)
    stress_shock = 0.03 if opts.stress_severity == 1.0 else 0.03 * opts.stress_severity
    spread = _ar1(rng, _param(path, "spread", params), _param(path, "spread_phi", params),
                  0.02 + stress_shock * (path == REGIMES.index("stress")), 1.9)
    spread = np.maximum(spread, 0.3)

    biz = pd.DataFrame(
        {"ust_2y": ust_2y, "ust_10y": ust_10y, "baa_spread": spread}, index=dates
    ).round(2)
    holidays = rng.random(n) < 0.025  # FRED leaves these blank
    biz[holidays] = np.nan
    # fed funds is published every calendar day, weekends included
    cal = pd.date_range(dates[0] - pd.Timedelta(days=10), dates[-1], freq="D", name="date")
    ff = pd.Series(policy, index=dates).reindex(cal).ffill().bfill().round(2)
    rates = pd.concat([ff.rename("fed_funds"), biz.reindex(cal)], axis=1)

    tickers = [f"S{i:04d}" for i in range(n_stocks)]
    universe = panel = None
    keep: slice | np.ndarray = slice(None)
    if opts.survivorship:
        universe = pd.DataFrame({
            "ticker": tickers,
            "listed": pd.DatetimeIndex([dates[i] if i >= 0 else pd.NaT for i in listed]),
            "delisted": pd.DatetimeIndex([dates[i] if i < n else pd.NaT for i in delisted]),
        })
        keep = np.flatnonzero(delisted >= n)  # today's members only: the survivors
        trading = (day >= listed[None, :]) & (day <= delisted[None, :])
        closes[~trading] = np.nan
        caps[~trading] = np.nan
        del trading
    if opts.constituents:
        if not isinstance(keep, slice):
            closes, caps = closes[:, keep], caps[:, keep]
        panel = ConstituentPanel(
            dates=dates, tickers=np.asarray(tickers)[keep], closes=np.round(closes, 4, out=closes),
            caps=np.round(caps, -3, out=caps) if opts.caps else None,
            sectors=np.array([f"SEC{j:02d}" for j in sector[keep]]) if opts.sectors else None,
        )
    del closes, caps
    truth = pd.Series(np.array(REGIMES)[path], index=dates, name="regime")
    return SyntheticMarket(prices=prices.round(4), rates=rates if opts.rates else None, panel=panel,
                           truth=truth, universe=universe)


def write_market(market: SyntheticMarket, out: str | Path, fmt: str = "csv") -> Path:
    """Write a synthetic market as a data directory, with ``truth.csv``.

    Parameters
    ----------
    market : SyntheticMarket
        Its shape is the variant's: rates and constituents are written only
        when the market has them.
    out : str or Path
        Created if needed.
    fmt : {"csv", "parquet"}
        Format of prices, rates and constituents; truth is always CSV.

    Raises
    ------
    DataError
        ``out`` already holds a rates or constituents file that this market
        has none of: left there, it would be read as part of the market.
        Nothing is written then.
    """
    out = Path(out)
    if fmt not in ("csv", "parquet"):
        raise ValueError("fmt must be 'csv' or 'parquet'")
    for stem, frame in (("rates", market.rates), ("constituents", market.panel)):
        stale = [out / f"{stem}.{ext}" for ext in ("csv", "parquet") if (out / f"{stem}.{ext}").is_file()]
        if frame is None and stale:
            raise DataError(
                f"{stale[0]} exists but this market variant has no {stem}; write to an empty directory or "
                f"remove {stale[0].name} first"
            )
    out.mkdir(parents=True, exist_ok=True)
    write_table(market.prices, out / f"prices.{fmt}")
    if market.rates is not None:
        write_table(market.rates, out / f"rates.{fmt}")
    if market.panel is not None:  # a block of days at a time: the whole long table would take GBs
        write_table(market.panel.blocks(), out / f"constituents.{fmt}")
    write_table(market.truth.to_frame(), out / "truth.csv")
    log.info("wrote synthetic market to %s", out)
    return out

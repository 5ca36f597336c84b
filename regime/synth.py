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
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .data import write_table

__all__ = ["SyntheticMarket", "simulate_market", "write_market", "REGIME_PARAMS"]

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


@dataclass(frozen=True)
class SyntheticMarket:
    """A generated market in the data-contract shape.

    Attributes
    ----------
    prices : DataFrame
        Index levels ``spx, spx_ew, ndx, mid, sml, rut`` on business days.
    rates : DataFrame
        ``fed_funds, ust_2y, ust_10y, baa_spread`` on their own calendar:
        fed funds every calendar day, the others on business days with blank
        holidays, as FRED publishes them.
    constituents : DataFrame
        Long format ``ticker, close, market_cap, sector`` indexed by date.
    truth : Series
        The true regime id of every price date.
    """

    prices: pd.DataFrame
    rates: pd.DataFrame
    constituents: pd.DataFrame
    truth: pd.Series


def _regime_path(rng: np.random.Generator, n: int) -> np.ndarray:
    path = np.empty(n, dtype=np.int64)
    state = REGIMES[rng.choice(2)]
    t = 0
    while t < n:
        p = REGIME_PARAMS[state]
        mean, shape = p["dur_mean"], p["dur_shape"]
        dur = max(int(p["dur_min"]), int(rng.gamma(shape, mean / shape)))
        path[t : t + dur] = REGIMES.index(state)
        t += dur
        nxt = TRANSITIONS[state]
        state = str(rng.choice(list(nxt), p=list(nxt.values())))
    return path


def _param(path: np.ndarray, key: str) -> np.ndarray:
    table = np.array([REGIME_PARAMS[r][key] for r in REGIMES])
    return table[path]


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
                    start: str = "1996-01-02") -> SyntheticMarket:
    """Generate a synthetic market with known regimes.

    Parameters
    ----------
    seed : int
        Seed of every random draw; the same seed gives the same market.
    years : float
        Length in years of 252 business days.
    n_stocks : int
        Number of constituents (at least 60).
    start : str
        First business day.

    Returns
    -------
    SyntheticMarket
    """
    if n_stocks < 60:
        raise ValueError("n_stocks must be at least 60 so the size bands are populated")
    rng = np.random.default_rng(seed)
    n = int(round(years * 252))
    dates = pd.bdate_range(start, periods=n, name="date")
    path = _regime_path(rng, n)

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
    market = _param(path, "mu") + _param(path, "vol") * vol_mult * _student(rng, n)
    tilt = _param(path, "tilt") + _param(path, "tilt_vol") * rng.standard_normal(n)
    sector_vol = _param(path, "sector_vol")
    sector_drift = np.zeros((n, n_sectors))
    d = np.zeros(n_sectors)
    for t in range(n):  # persistent sector trends whose size follows the regime: rotation
        d = 0.985 * d + 0.015 * sector_vol[t] * rng.standard_normal(n_sectors)
        sector_drift[t] = d
    sectors = sector_drift + sector_vol[:, None] * rng.standard_normal((n, n_sectors))
    idio = _param(path, "idio")[:, None] * vol_mult[:, None] * _student(rng, (n, n_stocks), df=4.0)
    logret = (market[:, None] * beta[None, :] + tilt[:, None] * exposure[None, :]
              + sectors[:, sector] + idio)
    logret -= 0.5 * (0.013 ** 2)  # rough volatility drag so levels do not explode
    # relative size mean-reverts slowly (half-life ~5 years): giants' growth slows, as in real markets
    kappa = np.log(2.0) / (5 * 252)
    log_cap0 = np.log(caps0)
    rel0 = log_cap0 - np.log(caps0.sum())
    level = log_cap0.copy()
    for t in range(n):
        rel = level - (np.log(np.exp(level - level.max()).sum()) + level.max())
        logret[t] -= kappa * (rel - rel0)
        level += logret[t]
    growth = np.exp(np.cumsum(logret, axis=0))
    caps = caps0[None, :] * growth
    price0 = rng.uniform(10.0, 150.0, n_stocks)
    closes = price0[None, :] * growth
    simple = np.expm1(logret)
    caps_prev = np.vstack([caps0[None, :], caps[:-1]])

    # --- indices built from the constituents ---------------------------------------------------
    w_prev = caps_prev / caps_prev.sum(axis=1, keepdims=True)
    ret = {
        "spx": (w_prev * simple).sum(axis=1),
        "spx_ew": simple.mean(axis=1),
        "ndx": _band_index(simple, caps_prev, 0, max(10, n_stocks // 16), "cap", 21),
        "mid": _band_index(simple, caps_prev, n_stocks // 5, int(n_stocks * 0.6), "cap", 63),
        "sml": _band_index(simple, caps_prev, int(n_stocks * 0.6), n_stocks, "cap", 63),
        "rut": _band_index(simple, caps_prev, n_stocks // 2, n_stocks, "equal", 63),
    }
    base = {"spx": 600.0, "spx_ew": 1000.0, "ndx": 800.0, "mid": 300.0, "sml": 150.0, "rut": 400.0}
    prices = pd.DataFrame({k: base[k] * np.cumprod(1.0 + v) for k, v in ret.items()}, index=dates)

    # --- rates ---------------------------------------------------------------------------------
    policy = np.empty(n)
    rate = 3.0
    for t in range(n):
        if t % 30 == 0:  # a policy meeting
            p = REGIME_PARAMS[REGIMES[path[t]]]
            u = rng.random()
            hike = p["hike"] * (0.3 if rate > 5.5 else 1.0)
            if u < hike:
                rate += 0.25
            elif u < hike + p["cut"]:
                rate -= p["cut_size"] if rate > 1.0 else 0.25
            rate = float(np.clip(rate, 0.0, 8.0))
        policy[t] = rate
    term = _ar1(rng, _param(path, "term"), 0.97, 0.03, 0.2)
    ust_2y = np.maximum(policy + 0.2 + term + 0.03 * rng.standard_normal(n), 0.01)
    slope = _ar1(rng, _param(path, "slope"), 0.99, 0.025, 0.6)
    ust_10y = np.maximum(ust_2y + slope, 0.05)
    spread = _ar1(rng, _param(path, "spread"), _param(path, "spread_phi"),
                  0.02 + 0.03 * (path == REGIMES.index("stress")), 1.9)
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
    cons = pd.DataFrame({
        "date": np.repeat(dates.to_numpy(), n_stocks),
        "ticker": np.tile(tickers, n),
        "close": closes.ravel().round(4),
        "market_cap": caps.ravel().round(-3),
        "sector": np.tile([f"SEC{k:02d}" for k in sector], n),
    }).set_index("date")
    truth = pd.Series(np.array(REGIMES)[path], index=dates, name="regime")
    return SyntheticMarket(prices=prices.round(4), rates=rates, constituents=cons, truth=truth)


def write_market(market: SyntheticMarket, out: str | Path, fmt: str = "csv") -> Path:
    """Write a synthetic market as a data directory, with ``truth.csv``.

    Parameters
    ----------
    market : SyntheticMarket
    out : str or Path
        Created if needed.
    fmt : {"csv", "parquet"}
        Format of prices, rates and constituents; truth is always CSV.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if fmt not in ("csv", "parquet"):
        raise ValueError("fmt must be 'csv' or 'parquet'")
    write_table(market.prices, out / f"prices.{fmt}")
    write_table(market.rates, out / f"rates.{fmt}")
    write_table(market.constituents, out / f"constituents.{fmt}")
    write_table(market.truth.to_frame(), out / "truth.csv")
    log.info("wrote synthetic market to %s", out)
    return out

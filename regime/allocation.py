"""Allocation signals: regime probabilities become target weights, and what following them was worth.

Timing, the same everywhere: the weights decided at the close of day t use the
regime probabilities of day t (filtered: data up to t) and earn the return of
day t+1. Costs of a trade at the close of t are charged on day t+1, as
``turnover x cost``. Between rebalances the weights drift with the sleeves'
returns. Cash earns the policy rate known the day before, when rates exist.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .backtest import refit_schedule
from .config import PRICE_ROLES, AllocationConfig
from .data import MarketData, parse_day, snap_asof
from .errors import ConfigError, DataError
from .measures import (
    TRADING_DAYS,
    annual_volatility,
    calmar_ratio,
    compound_annual_return,
    max_drawdown,
    sharpe_ratio,
    spell_ids,
)

__all__ = [
    "AllocationRun",
    "AllocationBacktest",
    "Signal",
    "sleeve_returns",
    "tilt_table",
    "target_weights",
    "simulate",
    "performance",
    "shuffle_spells",
    "allocation_backtest",
    "signal",
]

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------- inputs
def sleeve_returns(data: MarketData, cfg: AllocationConfig) -> pd.DataFrame:
    """Daily simple returns of each sleeve on the price calendar (close t-1 to close t).

    A sleeve mapped to a price role whose role is switched off is left out
    (and logged); ``cash`` earns the previous day's policy rate / 252, or
    nothing without rates.

    Raises
    ------
    ConfigError
        A sleeve maps to something that is neither a role, a column of prices, nor ``cash``.
    """
    out: dict[str, pd.Series] = {}
    for sleeve, src in cfg.sleeves.items():
        if src == "cash":
            rate = data.series("policy_rate")
            if rate is None:
                log.info("sleeve %s: no policy rate in the data; cash earns nothing", sleeve)
                out[sleeve] = pd.Series(0.0, index=data.dates)
            else:
                out[sleeve] = (rate.shift(1) / 100.0 / TRADING_DAYS).fillna(0.0)
            continue
        if src in PRICE_ROLES:
            level = data.series(src)
            if level is None:
                log.info("sleeve %s: role %s is switched off; the sleeve is left out", sleeve, src)
                continue
        elif src in data.prices.columns:
            level = data.prices[src]
        else:
            raise ConfigError(
                f"allocation.sleeves.{sleeve}: {src!r} is not a price role, a column of prices "
                f"({', '.join(map(str, data.prices.columns))}) or 'cash'; fix the config"
            )
        out[sleeve] = level.pct_change(fill_method=None).fillna(0.0)
    if not out:
        raise ConfigError("allocation.sleeves: none of the sleeves exists in this data; map them to price columns")
    return pd.DataFrame(out, index=data.dates)


def tilt_table(cfg: AllocationConfig, regime_ids: list[str], sleeves: list[str]) -> pd.DataFrame:
    """The tilts as a regime x sleeve table over the sleeves present, each row renormalised to 1.

    Raises
    ------
    ConfigError
        A regime has no row, or no weight on any sleeve the data has.
    """
    missing = [r for r in regime_ids if r not in cfg.tilts]
    if missing:
        raise ConfigError(f"allocation.tilts has no row for regime {missing[0]!r}; add its target weights to the config")
    t = pd.DataFrame({r: cfg.tilts[r] for r in regime_ids}).T.reindex(columns=sleeves).fillna(0.0)
    sums = t.sum(axis=1)
    empty = sums[sums <= 0]
    if len(empty):
        raise ConfigError(
            f"allocation.tilts.{empty.index[0]}: no weight on a sleeve this data has ({', '.join(sleeves)}); "
            "give the regime a target on those sleeves"
        )
    return t.div(sums, axis=0)


def _project(w: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Rows of ``w`` moved into ``lo <= w <= hi`` with each row summing to 1 (shift, then clip; bisection)."""
    a = (w - hi[None, :]).min(axis=1) - 1.0
    b = (w - lo[None, :]).max(axis=1) + 1.0
    for _ in range(80):
        tau = 0.5 * (a + b)
        s = np.clip(w - tau[:, None], lo, hi).sum(axis=1)
        a = np.where(s > 1.0, tau, a)
        b = np.where(s > 1.0, b, tau)
    return np.clip(w - (0.5 * (a + b))[:, None], lo, hi)


def target_weights(probs: pd.DataFrame, tilts: pd.DataFrame, bounds: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """The probability-weighted blend of the regimes' targets, kept inside ``bounds``.

    Parameters
    ----------
    probs : DataFrame
        Dates x regime ids (rows sum to 1; NaN rows give NaN targets).
    tilts : DataFrame
        Regime x sleeve, from :func:`tilt_table`.
    bounds : dict
        Sleeve -> (min, max).

    Returns
    -------
    DataFrame
        Dates x sleeves, rows summing to 1.
    """
    raw = probs[list(tilts.index)].to_numpy() @ tilts.to_numpy()
    lo = np.array([bounds.get(s, (0.0, 1.0))[0] for s in tilts.columns])
    hi = np.array([bounds.get(s, (0.0, 1.0))[1] for s in tilts.columns])
    ok = ~np.isnan(raw).any(axis=1)
    out = np.full(raw.shape, np.nan)
    if ok.any():
        out[ok] = _project(raw[ok], lo, hi)
    return pd.DataFrame(out, index=probs.index, columns=tilts.columns)


# ----------------------------------------------------------------------------------------- simulation
@dataclass(frozen=True, eq=False)
class AllocationRun:
    """A simulated portfolio, day by day.

    Attributes
    ----------
    weights : DataFrame
        Dates x sleeves: the weights held after the close of each day (after any trade).
    drifted : DataFrame
        The weights just before the close's decision (yesterday's, drifted by today's returns).
    targets : DataFrame
        The targets the decisions aimed at.
    turnover : Series
        Sum of absolute weight changes traded at each close.
    gross, costs, returns : Series
        Each day's return on the weights held at the previous close, the cost of the previous
        close's trade, and ``returns = gross - costs``.
    """

    weights: pd.DataFrame
    drifted: pd.DataFrame
    targets: pd.DataFrame
    turnover: pd.Series
    gross: pd.Series
    costs: pd.Series
    returns: pd.Series

    def __post_init__(self) -> None:
        if not np.allclose(self.weights.sum(axis=1).to_numpy(), 1.0, atol=1e-9):
            raise ValueError("held weights must sum to 1 every day")
        if not np.allclose(self.returns.to_numpy(), (self.gross - self.costs).to_numpy(), atol=1e-15):
            raise ValueError("net returns must equal gross returns minus costs")
        if (self.turnover < 0).any():
            raise ValueError("turnover cannot be negative")


def simulate(targets: pd.DataFrame, returns: pd.DataFrame, cfg: AllocationConfig) -> AllocationRun:
    """Trade toward ``targets`` on the rebalance schedule and account for drift and costs.

    Parameters
    ----------
    targets : DataFrame
        Dates x sleeves: the target decided at each close (NaN rows: no decision).
    returns : DataFrame
        Sleeve returns; reindexed to the targets' dates.
    cfg : AllocationConfig
        Schedule (``rebalance_every``), ``no_trade_band``, ``max_turnover``, ``cost_bp``.

    Returns
    -------
    AllocationRun
        Starts on the first day with a target, fully invested at it, with no cost.
    """
    valid = targets.notna().all(axis=1)
    if not valid.any():
        raise DataError("no day has regime probabilities to allocate on; check the backtest or model output")
    targets = targets.loc[valid.idxmax():]
    dates = targets.index
    sleeves = list(targets.columns)
    R = returns.reindex(index=dates, columns=sleeves).fillna(0.0).to_numpy()
    T = targets.to_numpy()
    rebalance = np.zeros(len(dates), dtype=bool)
    rebalance[dates.get_indexer(refit_schedule(dates, dates[0], cfg.rebalance_every))] = True
    cost = cfg.cost_bp / 1e4
    n, k = T.shape
    held = np.empty((n, k))
    drifted = np.empty((n, k))
    turnover = np.zeros(n)
    gross = np.zeros(n)
    costs = np.zeros(n)
    w = T[0].copy()
    drifted[0] = w
    for t in range(n):
        if t > 0:
            g = float(w @ R[t])
            gross[t] = g
            costs[t] = turnover[t - 1] * cost
            w = w * (1.0 + R[t]) / (1.0 + g)
            drifted[t] = w
            if rebalance[t] and not np.isnan(T[t]).any():
                delta = T[t] - w
                if np.abs(delta).max() > cfg.no_trade_band:
                    size = float(np.abs(delta).sum())
                    if cfg.max_turnover is not None and size > cfg.max_turnover:
                        delta = delta * (cfg.max_turnover / size)
                        size = cfg.max_turnover
                    w = w + delta
                    turnover[t] = size
        held[t] = w
    frame = lambda a: pd.DataFrame(a, index=dates, columns=sleeves)  # noqa: E731
    series = lambda a, name: pd.Series(a, index=dates, name=name)  # noqa: E731
    return AllocationRun(
        weights=frame(held), drifted=frame(drifted), targets=targets, turnover=series(turnover, "turnover"),
        gross=series(gross, "gross"), costs=series(costs, "costs"), returns=series(gross - costs, "returns"),
    )


# ----------------------------------------------------------------------------------------- evaluation
def performance(returns: pd.Series, rf: pd.Series | None = None, turnover: pd.Series | None = None) -> dict:
    """Annualised return and volatility, Sharpe (over ``rf``), maximum drawdown, Calmar and turnover.

    The first day (the start, with no return yet) is left out.
    """
    r = returns.iloc[1:]
    years = len(r) / TRADING_DAYS
    ann_ret = float(compound_annual_return(np.log1p(r))) if years > 0 else float("nan")
    excess = r - (rf.reindex(r.index).fillna(0.0) if rf is not None else 0.0)
    mdd = max_drawdown(r)
    return {
        "ann_return": ann_ret,
        "ann_vol": float(annual_volatility(r)),
        "sharpe": sharpe_ratio(excess),
        "max_drawdown": mdd,
        "calmar": calmar_ratio(ann_ret, mdd),
        "turnover_per_year": float(turnover.iloc[1:].sum() / years) if turnover is not None and years > 0 else 0.0,
    }


def monthly_hit_rate(a: pd.Series, b: pd.Series) -> float:
    """Share of calendar months in which returns ``a`` compound to more than ``b``."""
    ma = (1.0 + a.iloc[1:]).groupby(a.index[1:].to_period("M")).prod()
    mb = (1.0 + b.reindex(a.index).iloc[1:]).groupby(a.index[1:].to_period("M")).prod()
    return float((ma > mb).mean())


def shuffle_spells(probs: pd.DataFrame, labels: pd.Series, rng: np.random.Generator) -> pd.DataFrame:
    """The placebo: the label's spells (with their probability rows) in a random order, on the same dates.

    Regime durations and the mix of regimes are kept; only *when* each regime
    happened is destroyed.
    """
    lab = labels.reindex(probs.index)
    spell = spell_ids(lab).to_numpy()
    starts = np.r_[0, np.flatnonzero(np.diff(spell)) + 1, len(spell)]
    blocks = [probs.iloc[starts[i]:starts[i + 1]].to_numpy() for i in range(len(starts) - 1)]
    order = rng.permutation(len(blocks))
    return pd.DataFrame(np.vstack([blocks[i] for i in order]), index=probs.index, columns=probs.columns)


@dataclass(frozen=True, eq=False)
class AllocationBacktest:
    """The regime strategy against its comparisons, on the same days.

    Attributes
    ----------
    table : DataFrame
        Strategy x metric (``ann_return, ann_vol, sharpe, max_drawdown, calmar,
        turnover_per_year, hit_rate``); ``hit_rate`` is the regime strategy's
        share of months beating that row. The placebo row is the mean over
        its draws.
    returns : DataFrame
        Dates x strategy: daily net returns (the placebo column is the mean
        of its draws' daily returns).
    weights : DataFrame
        Dates x sleeve: the regime strategy's held weights.
    placebo_beaten : dict
        Share of placebo draws the regime strategy beats, on Sharpe and on
        maximum drawdown.
    config : dict
        The allocation settings used.
    """

    table: pd.DataFrame
    returns: pd.DataFrame
    weights: pd.DataFrame
    placebo_beaten: dict
    config: dict

    def __post_init__(self) -> None:
        if "regime" not in self.table.index:
            raise ValueError("the table needs the regime strategy's row")
        if not self.returns.index.equals(self.weights.index):
            raise ValueError("returns and weights must share one index")
        for k, v in self.placebo_beaten.items():
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"placebo_beaten[{k}] must be a share in [0, 1]")


def _check_calendar(probs: pd.DataFrame, rets: pd.DataFrame) -> None:
    """Every probability date must be a price date: probabilities from other data would earn made-up returns."""
    missing = probs.index.difference(rets.index)
    if len(missing):
        raise DataError(f"probability date {missing[0].date()} is not in the prices; use the data directory the "
                        "backtest or model ran on")


def _cash_rate(sleeve_rets: pd.DataFrame, cfg: AllocationConfig) -> pd.Series | None:
    cash = [s for s, src in cfg.sleeves.items() if src == "cash" and s in sleeve_rets]
    return sleeve_rets[cash[0]] if cash else None


def allocation_backtest(
    probs: pd.DataFrame,
    labels: pd.Series,
    data: MarketData,
    cfg: AllocationConfig,
    lag: int = 1,
) -> AllocationBacktest:
    """Follow the walk-forward's regime probabilities, after costs, against simple alternatives.

    Parameters
    ----------
    probs : DataFrame
        Out-of-sample filtered probabilities (``regime backtest``), dates x regime ids.
    labels : Series
        The reported labels of the same days (their spells make the placebo).
    data : MarketData
        Prices (and rates, for cash) covering those days.
    cfg : AllocationConfig
    lag : int
        Execution lag in days. 1, the default and the only honest value, trades at the close on the
        day's probabilities. 0 lets each day's return be earned on weights chosen with that day's
        probabilities: look-ahead, for tests that prove the lag matters.

    Returns
    -------
    AllocationBacktest
    """
    if lag not in (0, 1):
        raise ValueError("lag must be 1 (or 0, the look-ahead used only to test the lag)")
    rets = sleeve_returns(data, cfg)
    _check_calendar(probs, rets)
    tilts = tilt_table(cfg, list(probs.columns), list(rets.columns))
    used = probs if lag == 1 else probs.shift(-1).ffill()
    regime = simulate(target_weights(used, tilts, cfg.bounds), rets, cfg)
    days = regime.returns.index
    rf = _cash_rate(rets, cfg)
    bench = data.series("large_cap").pct_change(fill_method=None).reindex(days).fillna(0.0)
    bench.iloc[0] = 0.0
    equal = pd.DataFrame(1.0 / rets.shape[1], index=days, columns=rets.columns)
    mix = simulate(equal, rets, cfg)
    rng = np.random.default_rng(cfg.seed)
    p_in = probs.loc[days]
    draws = []
    for _ in range(cfg.placebo_draws):
        fake = shuffle_spells(p_in, labels.reindex(days), rng)
        draws.append(simulate(target_weights(fake, tilts, cfg.bounds), rets, cfg))
    perf = {
        "regime": performance(regime.returns, rf, regime.turnover),
        "buy_and_hold": performance(bench, rf),
        "equal_mix": performance(mix.returns, rf, mix.turnover),
    }
    placebo_perf = pd.DataFrame([performance(d.returns, rf, d.turnover) for d in draws])
    perf["placebo"] = placebo_perf.mean().to_dict()
    table = pd.DataFrame(perf).T
    table["hit_rate"] = [
        np.nan,
        monthly_hit_rate(regime.returns, bench),
        monthly_hit_rate(regime.returns, mix.returns),
        float(np.mean([monthly_hit_rate(regime.returns, d.returns) for d in draws])),
    ]
    beaten = {
        "sharpe": float((placebo_perf["sharpe"] < perf["regime"]["sharpe"]).mean()),
        "max_drawdown": float((placebo_perf["max_drawdown"] < perf["regime"]["max_drawdown"]).mean()),
    }
    returns = pd.DataFrame({
        "regime": regime.returns, "buy_and_hold": bench, "equal_mix": mix.returns,
        "placebo": pd.concat([d.returns for d in draws], axis=1).mean(axis=1),
    })
    log.info("allocation backtest: %d days, %d placebo draws", len(days), len(draws))
    return AllocationBacktest(table, returns, regime.weights, beaten,
                              {**cfg.model_dump(mode="json"), "lag": lag, "sleeves_used": list(rets.columns)})


# ----------------------------------------------------------------------------------------- today's signal
@dataclass(frozen=True)
class Signal:
    """What to hold from the next trading day, decided at the close of ``asof``.

    ``weights`` sum to 1; ``change`` is ``weights - previous``, where
    ``previous`` are the weights held into the close (yesterday's, drifted by
    today's returns). On a day that is not a rebalance day, or whose trade
    falls inside the no-trade band, ``change`` is zero.
    """

    asof: str
    regime: str
    confidence: float
    probabilities: dict[str, float]
    weights: dict[str, float]
    previous: dict[str, float]
    change: dict[str, float]
    target: dict[str, float]
    rebalance_day: bool
    turnover: float

    def __post_init__(self) -> None:
        if abs(sum(self.weights.values()) - 1.0) > 1e-5:
            raise ValueError("weights must sum to 1")
        if set(self.weights) != set(self.previous) or set(self.weights) != set(self.change):
            raise ValueError("weights, previous and change must name the same sleeves")
        for s, c in self.change.items():
            if abs(self.weights[s] - self.previous[s] - c) > 1e-6:
                raise ValueError("change must be weights minus previous")
        if self.regime not in self.probabilities:
            raise ValueError("the regime must have a probability")

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        from dataclasses import asdict

        return asdict(self)


def signal(probs: pd.DataFrame, labels: pd.Series, data: MarketData, cfg: AllocationConfig,
           asof: str | pd.Timestamp | None = None) -> Signal:
    """Target weights at the close of ``asof``, following the weights path from the first probability.

    The path (drift, schedule, band, turnover cap) runs over the probabilities
    up to ``asof`` only, so the signal of a day never changes when later data
    arrives.

    Raises
    ------
    DataError
        ``asof`` is not a date or has no probabilities; when it has none because
        an input is stale that day, the message names the file and its last date.
    """
    p = probs.dropna()
    if p.empty:
        raise DataError("no regime probabilities to allocate on")
    if asof is None:
        day = p.index[-1]
        for line in data.stale_inputs(day + pd.Timedelta(days=1), data.dates[-1]) if data.dates[-1] > day else []:
            log.warning("the signal is for %s, the last day with probabilities: %s", day.date(), line)
    else:
        req = parse_day(asof)
        trading = data.dates[data.dates <= req]
        if len(trading) and trading[-1] not in p.index and trading[-1] >= p.index[0]:
            stale = data.stale_on(trading[-1])  # a stale day has no probabilities: say which input, not "outside"
            if stale is not None:
                raise DataError(stale)
        day = snap_asof(p.index, req, "--asof {day} is outside the probabilities ({first} to {last}); "
                        "pick a day in that range")
    p = p.loc[:day]
    rets = sleeve_returns(data.truncate(day), cfg)
    _check_calendar(p, rets)
    tilts = tilt_table(cfg, list(p.columns), list(rets.columns))
    run = simulate(target_weights(p, tilts, cfg.bounds), rets, cfg)
    w, prev, tgt = run.weights.iloc[-1], run.drifted.iloc[-1], run.targets.iloc[-1]
    regime = str(labels.reindex(p.index).ffill().iloc[-1])
    rnd = lambda s: {k: round(float(v), 6) for k, v in s.items()}  # noqa: E731
    weights = rnd(w)
    previous = rnd(prev)
    return Signal(
        asof=str(day.date()), regime=regime, confidence=round(float(p.loc[day, regime]), 6),
        probabilities=rnd(p.loc[day]), weights=weights, previous=previous,
        change={k: round(weights[k] - previous[k], 6) for k in weights}, target=rnd(tgt),
        rebalance_day=bool(day in refit_schedule(run.weights.index, run.weights.index[0], cfg.rebalance_every)),
        turnover=round(float(run.turnover.iloc[-1]), 6),
    )


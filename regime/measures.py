"""Measures of a return series and of a label sequence: one definition of each, used everywhere.

- :data:`TRADING_DAYS`: the trading year;
- :func:`compound_annual_return`, :func:`annual_volatility`, :func:`sharpe_ratio`, :func:`drawdown`,
  :func:`max_drawdown`, :func:`calmar_ratio`: what a return series earned and risked;
- :func:`spell_ids`: the runs of equal consecutive labels.

Outputs that reach users call the compound annual return ``ann_return``; it is the compound annual growth
rate, ``exp(mean daily log return x 252) - 1``, whether the days are contiguous (a strategy's whole run) or not
(the days spent in one regime).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "TRADING_DAYS",
    "annual_volatility",
    "calmar_ratio",
    "compound_annual_return",
    "drawdown",
    "max_drawdown",
    "sharpe_ratio",
    "spell_ids",
]

#: Trading days in a year: annualises daily figures and counts a year of history.
TRADING_DAYS = 252


def compound_annual_return(log_returns: pd.Series | pd.DataFrame) -> float | pd.Series:
    """Compound annual growth rate of daily log returns: ``expm1(mean x TRADING_DAYS)``.

    For simple returns ``r`` pass ``np.log1p(r)``. Missing days are skipped.
    """
    return np.expm1(log_returns.mean() * TRADING_DAYS)


def annual_volatility(returns: pd.Series | pd.DataFrame) -> float | pd.Series:
    """Standard deviation of daily returns, annualised by ``sqrt(TRADING_DAYS)``."""
    return returns.std() * np.sqrt(TRADING_DAYS)


def sharpe_ratio(excess_returns: pd.Series) -> float:
    """Annualised Sharpe ratio of daily excess returns; NaN when they do not vary."""
    sd = float(excess_returns.std())
    return float(excess_returns.mean() / sd * np.sqrt(TRADING_DAYS)) if sd > 0 else float("nan")


def drawdown(returns: pd.Series | pd.DataFrame) -> pd.Series | pd.DataFrame:
    """Loss from the running peak of wealth, each day (0 at a peak, negative below it).

    Wealth starts at 1 before the first return, so a loss on the first day is a drawdown too.
    """
    wealth = (1.0 + returns).cumprod()
    return wealth / wealth.cummax().clip(lower=1.0) - 1.0


def max_drawdown(returns: pd.Series) -> float:
    """The deepest :func:`drawdown` (a negative number, or 0)."""
    return float(drawdown(returns).min())


def calmar_ratio(ann_return: float, max_dd: float) -> float:
    """Compound annual return over the depth of the maximum drawdown; NaN without a drawdown."""
    return ann_return / abs(max_dd) if max_dd < 0 else float("nan")


def spell_ids(labels: pd.Series) -> pd.Series:
    """A number per run of equal consecutive labels, increasing along the index.

    A missing label (NaN) is never equal to its neighbour, so it is a spell of its own and ends the run
    before it.
    """
    return (labels != labels.shift()).cumsum()

"""One definition of each measure: compound annual return, volatility, Sharpe, drawdown, spells."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regime.measures import (
    TRADING_DAYS,
    annual_volatility,
    calmar_ratio,
    compound_annual_return,
    drawdown,
    max_drawdown,
    sharpe_ratio,
    spell_ids,
)


def test_compound_annual_return_is_the_growth_rate_of_wealth():
    r = pd.Series(np.random.default_rng(0).normal(3e-4, 0.01, 3 * TRADING_DAYS))
    wealth = float((1 + r).prod())
    assert compound_annual_return(np.log1p(r)) == pytest.approx(wealth ** (1 / 3) - 1, rel=1e-12)
    # from log returns of a price series: the same figure
    price = 100 * (1 + r).cumprod()
    assert compound_annual_return(np.log(price).diff()) == pytest.approx(
        (price.iloc[-1] / price.iloc[0]) ** (TRADING_DAYS / (len(r) - 1)) - 1, rel=1e-12)


def test_volatility_and_sharpe():
    r = pd.Series([0.01, -0.01] * 50)
    assert annual_volatility(r) == pytest.approx(r.std() * np.sqrt(252))
    assert sharpe_ratio(r + 0.001) == pytest.approx(0.001 / r.std() * np.sqrt(252))
    assert np.isnan(sharpe_ratio(pd.Series([0.0] * 10)))


def test_drawdown_counts_a_first_day_loss_and_recovers_to_zero():
    r = pd.Series([-0.1, 0.0, 0.2, -0.5, 1.0])
    dd = drawdown(r)
    assert dd.iloc[0] == pytest.approx(-0.1)  # wealth starts at 1, so the first day's loss is a drawdown
    assert dd.iloc[2] == 0.0
    assert dd.iloc[3] == pytest.approx(-0.5)
    assert max_drawdown(r) == pytest.approx(-0.5)
    assert calmar_ratio(0.1, -0.5) == pytest.approx(0.2)
    assert np.isnan(calmar_ratio(0.1, 0.0))


def test_spell_ids_split_at_changes_and_missing_days():
    lab = pd.Series(["a", "a", "b", None, "b", "b", "a"])
    assert spell_ids(lab).tolist() == [1, 1, 2, 3, 4, 4, 5]

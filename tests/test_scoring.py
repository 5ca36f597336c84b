"""Scoring a day: JSON fields, invariants, prefix property, as-of errors."""

import pandas as pd
import pytest

from regime.errors import DataError, ModelError
from regime.features import build_features
from regime.scoring import ScoreResult, score_day

from .conftest import fast_config


def test_score_fields(model, data):
    r = score_day(model, data).to_dict()
    for key in ("asof", "regime", "name", "confidence", "probabilities", "drivers", "days_in_regime",
                "data_through", "model"):
        assert key in r
    assert r["asof"] == str(data.dates[-1].date())
    assert r["regime"] in ("concentration", "broadening", "stress")
    assert r["confidence"] == pytest.approx(r["probabilities"][r["regime"]])
    assert sum(r["probabilities"].values()) == pytest.approx(1.0)
    assert len(r["drivers"]) == 5 and all("z" in d for d in r["drivers"])
    assert r["model"]["trained_through"] == str(model.trained_through.date())


@pytest.mark.parametrize("cut", [800, 1400])
def test_score_prefix(model, data, cut):
    """Scoring day D from data that ends at D equals scoring D from the full data."""
    day = data.dates[cut]
    assert score_day(model, data.truncate(day)) == score_day(model, data, str(day.date()))


def test_days_in_regime_counts_the_current_run(model, data):
    day = data.dates[1500]
    r = score_day(model, data, str(day.date()))
    labels = model.labels(build_features(data.truncate(day), fast_config())).dropna()
    run = labels.iloc[-r.days_in_regime:]
    assert (run == r.regime).all()
    assert len(labels) == r.days_in_regime or labels.iloc[-r.days_in_regime - 1] != r.regime


def test_non_trading_asof_uses_previous_trading_day(model, data):
    day = data.dates[1004]
    saturday = day + pd.Timedelta(days=(5 - day.weekday()) % 7 or 7)
    assert saturday not in data.dates
    r = score_day(model, data, str(saturday.date()))
    assert r.asof == str(data.dates[data.dates <= saturday][-1].date())


@pytest.mark.parametrize("asof", ["1980-01-01", "2100-01-01"])
def test_asof_outside_data(model, data, asof):
    with pytest.raises(DataError, match=rf"as-of date {asof} is outside the data \({data.dates[0].date()} to"):
        score_day(model, data, asof)


def test_asof_not_a_date(model, data):
    with pytest.raises(DataError, match=r"--asof 'yesterday' is not a date"):
        score_day(model, data, "yesterday")


def test_asof_during_warm_up(model, data):
    with pytest.raises(DataError, match=r"model features are undefined"):
        score_day(model, data, str(data.dates[30].date()))


def test_model_trained_on_features_the_data_lacks(model, data):
    from regime.data import MarketData

    no_rates = MarketData(data.prices, None, data.closes, data.caps, data.roles, source=data.source, sectors=data.sectors)
    with pytest.raises(ModelError, match=r"trained on features the data in .* does not provide: rt_"):
        score_day(model, no_rates)


def test_result_checks_invariants():
    good = dict(asof="2020-01-02", regime="a", name="A", confidence=0.7, probabilities={"a": 0.7, "b": 0.3},
                drivers=[], days_in_regime=3, data_through="2020-01-02")
    ScoreResult(**good)
    with pytest.raises(ValueError, match="sum to"):
        ScoreResult(**{**good, "probabilities": {"a": 0.7, "b": 0.2}})
    with pytest.raises(ValueError, match="confidence"):
        ScoreResult(**{**good, "confidence": 0.3})

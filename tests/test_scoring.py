"""Scoring a day: JSON fields, invariants, prefix property, as-of errors."""

import pandas as pd
import pytest

from regime.data import load_data
from regime.errors import DataError, ModelError
from regime.features import build_features
from regime.scoring import ScoreResult, label_history, score_day

from .conftest import blank_rates, cut_constituents, fast_config


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


@pytest.mark.parametrize("cut", [800, 1400])
def test_label_history_prefix(model, data, cut):
    """Features and filtered probabilities through D are those of the full history, cut at D."""
    day = data.dates[cut]
    _, feats, probs = label_history(model, data)
    past, feats_d, probs_d = label_history(model, data, day)
    assert past.dates[-1] == day and probs_d.index[-1] == day
    pd.testing.assert_frame_equal(feats_d, feats.loc[:day])
    pd.testing.assert_frame_equal(probs_d, probs.loc[:day])
    saturday = day + pd.offsets.Week(weekday=5)  # a day between trading days: the data ends before it
    assert label_history(model, data, saturday)[0].dates[-1] == data.dates[data.dates <= saturday][-1]


def test_label_history_with_a_snapshot_is_the_same_day_by_day(model, data, tmp_path):
    """Through a feature snapshot extended day by day, features and probabilities equal the full history's."""
    _, feats, probs = label_history(model, data)
    store = tmp_path / "features"
    for k in (900, 901, 902, len(data.dates) - 1):
        day = data.dates[k]
        _, feats_d, probs_d = label_history(model, data, day, store=store)
        pd.testing.assert_frame_equal(feats_d, feats.loc[:day], check_exact=True)
        pd.testing.assert_frame_equal(probs_d, probs.loc[:day], check_exact=True)
    assert score_day(model, data, store=store) == score_day(model, data)


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
    with pytest.raises(DataError, match=r"model features are undefined: .*; the data needs more history"):
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


def test_score_after_constituents_end_names_the_file_and_its_last_date(model, data, copy_dir):
    d = copy_dir()
    last = cut_constituents(d, 120)
    stale = load_data(d, fast_config())
    end = stale.dates[-1]
    with pytest.raises(DataError) as err:
        score_day(model, stale)
    assert str(err.value) == (
        f"on {end.date()} constituents.csv has no data after {last.date()}, 120 price days earlier, so that day "
        f"gets no label; update constituents.csv, or pick --asof on or before {last.date()}"
    )
    nxt = stale.dates[stale.dates > last][0]
    with pytest.raises(DataError, match=rf"on {nxt.date()} constituents.csv has no data after {last.date()}, "
                                        r"1 price day earlier"):
        score_day(model, stale, str(nxt.date()))
    # on the last day of the constituents, the score is the one the complete data gives
    assert score_day(model, stale, str(last.date())) == score_day(model, data, str(last.date()))


def test_score_in_and_after_a_rates_gap(model, copy_dir):
    d = copy_dir()
    blank_rates(d, "baa_spread", "2001-03-01", "2001-05-01")
    stale = load_data(d, fast_config())
    (span,) = stale.staleness
    with pytest.raises(DataError, match=rf"on {span.last.date()} rates.csv column 'baa_spread' has no data after "
                                        rf"{span.last_fresh.date()}, \d+ price days earlier, more than "
                                        r"data.max_stale_days = 14 calendar days, so that day gets no label"):
        score_day(model, stale, str(span.last.date()))
    # fresh again, but the 21-day credit change still reaches into the gap: say so, not "more history"
    after = stale.dates[stale.dates > span.last][5]
    with pytest.raises(DataError) as err:
        score_day(model, stale, str(after.date()))
    msg = str(err.value)
    assert "rt_credit_chg_21d" in msg and "more history" not in msg
    assert f"their trailing windows still cover days with stale inputs (rates.csv column 'baa_spread'" in msg
    assert f"pick --asof on or before {stale.dates[stale.dates < span.first][-1].date()}" in msg

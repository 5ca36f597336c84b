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


# ------------------------------------------------------------------------------------ DailyScorer
def _assert_scores_like_score_day(scorer, model, data):
    """The scorer's label of data's last day is score_day's (to rounding), or the same one-line error."""
    from regime.scoring import DailyScorer

    assert isinstance(scorer, DailyScorer)
    try:
        ref = score_day(model, data, model_info=scorer.model_info)
    except DataError as exc:
        with pytest.raises(DataError) as err:
            scorer.update(data)
        assert str(err.value) == str(exc)
        return None
    got = scorer.update(data)
    assert (got.asof, got.regime, got.name, got.days_in_regime, got.model) == (
        ref.asof, ref.regime, ref.name, ref.days_in_regime, ref.model)
    assert got.probabilities == pytest.approx(ref.probabilities, abs=1e-9)
    assert [(d.feature, d.value, d.z) for d in got.drivers] == [
        (d.feature, pytest.approx(d.value, abs=1e-6), pytest.approx(d.z, abs=1e-3)) for d in ref.drivers]
    return got


def test_daily_scorer_labels_each_new_day_as_score_day_does(model, data):
    """Primed on the history so far, the scorer labels each later day from one step of state: day by day, the
    regime, its run, probabilities and drivers are score_day's on the data through that day."""
    from regime.scoring import DailyScorer

    days = data.dates[-31:]
    scorer = DailyScorer(model, data.truncate(days[0]), model_info={"version": "x"})
    assert scorer.through == days[0]
    for day in days[1:]:
        assert _assert_scores_like_score_day(scorer, model, data.truncate(day)) is not None
    assert scorer.through == data.dates[-1]


@pytest.mark.parametrize("kind", ["rules", "axes"])
def test_daily_scorer_with_whole_history_features_and_wrapped_filters(data, kind):
    """The rules model reads a volatility percentile over the whole history; the axes model reads its quantile
    and has no numpy filter of its own (its estimator is asked again). Both score as score_day does, and so do
    several new days at once."""
    from regime.config import AxesConfig, Config, RulesConfig, TrainConfig
    from regime.pipeline import fit_regime_model
    from regime.scoring import DailyScorer

    cfg = Config(model=RulesConfig() if kind == "rules" else AxesConfig(), train=TrainConfig(min_days=252))
    fitted = fit_regime_model(data.truncate(data.dates[-200]), cfg)
    assert any(f.startswith(("rk_vol_pctl_", "rk_vol_q_")) for f in fitted.feature_names)
    days = data.dates[-12:]
    scorer = DailyScorer(fitted, data.truncate(days[0]))
    for day in days[1:6]:
        _assert_scores_like_score_day(scorer, fitted, data.truncate(day))
    _assert_scores_like_score_day(scorer, fitted, data)  # six days in one update


def test_daily_scorer_through_a_rates_gap(model, copy_dir):
    """Into a publication gap, each day gets score_day's one-line error; after it, the carried filter resumes and
    the labels are score_day's again."""
    from regime.scoring import DailyScorer

    d = copy_dir()
    blank_rates(d, "baa_spread", "2001-03-01", "2001-05-01")
    stale = load_data(d, fast_config())
    (span,) = stale.staleness
    days = stale.dates[(stale.dates > span.first - pd.Timedelta(days=10)) & (stale.dates < span.last + pd.Timedelta(days=60))]
    scorer = DailyScorer(model, stale.truncate(days[0]))
    outcomes = [_assert_scores_like_score_day(scorer, model, stale.truncate(day)) for day in days[1:]]
    assert any(o is None for o in outcomes) and outcomes[-1] is not None


def test_daily_scorer_refuses_data_that_does_not_extend_it(model, data, market_dir):
    from regime.scoring import DailyScorer

    scorer = DailyScorer(model, data.truncate(data.dates[-5]))
    with pytest.raises(ValueError, match="must extend the days scored so far"):
        scorer.update(data.truncate(data.dates[-5]))  # no new day
    with pytest.raises(ValueError, match="must extend"):
        scorer.update(data.truncate(data.dates[-8]))
    with pytest.raises(ValueError, match="load the data with its panel"):
        DailyScorer(model, load_data(market_dir, fast_config(), panel=False))

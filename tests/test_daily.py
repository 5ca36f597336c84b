"""The morning job: fetch, update, score, record (``regime daily``), and the record (``regime history``).

Online data come from recorded responses (``tests/online_fakes.py``): a local FRED server and a fake Yahoo
Finance serving the real files in ../shared/data/real, with the network refused.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from regime import service
from regime.cli import app
from regime.errors import DataError
from regime.history import DailyRecord, append_record, read_history

from .online_fakes import fred, fred_server, no_network, real, sleeps, sources, yahoo  # noqa: F401

runner = CliRunner()
FAST_MODEL = {"model": {"kind": "gmm", "covariance_type": "spherical", "n_init": 2}, "train": {"min_days": 252}}


def state(directory) -> dict:
    """Every file below ``directory``: its bytes and modification time."""
    return {str(p.relative_to(directory)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(directory.rglob("*")) if p.is_file()}


def _cli(*args, code: int = 0) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return result.stdout


@pytest.fixture
def morning(tmp_path, fred, yahoo, sources, monkeypatch):
    """`regime data fetch --preset us` through 2011-06-30 on the command line, then a model trained on it."""
    monkeypatch.setenv("REGIME_FRED_URL", sources.fred_url)
    data = tmp_path / "data"
    fetched = json.loads(_cli("data", "fetch", "--out", data, "--preset", "us", "--start", "2005-01-01",
                              "--end", "2011-06-30", "--format", "json"))
    assert fetched["end"] == "2011-06-30"
    cfg = yaml.safe_load((data / "config.yaml").read_text()) | FAST_MODEL
    (tmp_path / "prod.yaml").write_text(yaml.safe_dump(cfg))
    _cli("train", "--data", data, "--config", tmp_path / "prod.yaml", "--models-dir", tmp_path / "models",
         "--format", "json")
    return data, tmp_path / "models"


@real
def test_fetch_then_daily_gives_a_data_directory_a_score_and_a_history_row(morning, yahoo):
    data, models = morning
    run = json.loads(_cli("daily", "--data", data, "--models-dir", models, "--end", "2011-07-15",
                          "--format", "json"))
    prices = pd.read_csv(data / "prices.csv", index_col="date")
    assert prices.index[-1] == "2011-07-15"  # the update ran first
    assert run["update"]["changed"] and run["recorded"] and run["date"] == "2011-07-15"
    rec = run["record"]
    assert rec["data_through"] == "2011-07-15" and rec["regime"] in rec["probabilities"]
    assert abs(sum(rec["weights"].values()) - 1) < 1e-5 and run["drivers"]
    hist = read_history(models / "default" / "history.csv")
    assert list(hist.index.strftime("%Y-%m-%d")) == ["2011-07-15"]
    assert hist["regime"].iloc[0] == rec["regime"] and hist["confidence"].iloc[0] == rec["confidence"]
    assert hist["model_version"].iloc[0] == (models / "default" / "latest").resolve().name
    # the same day's score, from the API, agrees with what was recorded
    score = service.score(data, models_dir=models)
    assert (score.asof, score.regime) == ("2011-07-15", rec["regime"])
    assert score.probabilities == pytest.approx(rec["probabilities"], abs=1e-12)


@real
def test_a_second_daily_for_the_same_day_changes_nothing(morning, yahoo):
    data, models = morning
    _cli("daily", "--data", data, "--models-dir", models, "--end", "2011-07-15")
    before = state(data), state(models / "default")
    again = json.loads(_cli("daily", "--data", data, "--models-dir", models, "--end", "2011-07-15",
                            "--format", "json"))
    assert not again["recorded"] and not again["update"]["changed"]
    assert (state(data), state(models / "default")) == before  # bytes and modification times
    assert "already recorded" in _cli("daily", "--data", data, "--models-dir", models, "--end", "2011-07-15")


@real
@pytest.mark.parametrize("where", ["download", "scoring", "history"])
def test_an_interrupted_daily_leaves_every_file_as_it_was(morning, yahoo, monkeypatch, where):
    data, models = morning
    _cli("daily", "--data", data, "--models-dir", models, "--end", "2011-07-15")
    before = state(data), state(models / "default")
    siblings = sorted(p.name for p in data.parent.iterdir())
    if where == "download":  # the second ticker's download fails after the first one's
        yahoo.errors["RSP"] = [ConnectionError("Connection reset by peer")]
    elif where == "scoring":
        monkeypatch.setattr("regime.scoring.score_labelled", _boom)
    else:  # the history's write fails
        monkeypatch.setattr("regime.history.atomic_path", _boom)
    result = runner.invoke(app, ["daily", "--data", str(data), "--models-dir", str(models), "--end", "2011-07-29"])
    assert result.exit_code != 0 and result.stderr.count("\n") == 1, result.output
    if where == "download":
        assert "RSP" in result.stderr and ".daily-" not in result.stderr  # names the user's directory
        assert (state(data), state(models / "default")) == before
    elif where == "scoring":
        assert (state(data), state(models / "default")) == before
    else:  # the data files moved in whole; the history kept every byte, and a re-run records the day
        assert state(models / "default") == before[1]
        assert pd.read_csv(data / "prices.csv")["date"].iloc[-1] == "2011-07-29"
    assert sorted(p.name for p in data.parent.iterdir()) == siblings  # no working copy left behind


def _boom(*args, **kwargs):
    raise KeyboardInterrupt


@real
def test_a_regime_change_is_flagged_and_sets_the_alert_exit_status(morning, yahoo):
    data, models = morning
    first = json.loads(_cli("daily", "--data", data, "--models-dir", models, "--end", "2011-07-15",
                            "--format", "json"))
    other = next(r for r in first["record"]["probabilities"] if r != first["record"]["regime"])
    # rewrite yesterday's row as another regime (the record is otherwise append-only)
    hist = models / "default" / "history.csv"
    row = first["record"] | {"regime": other, "confidence": first["record"]["probabilities"][other]}
    hist.unlink()
    append_record(hist, DailyRecord(**row))
    run = runner.invoke(app, ["daily", "--data", str(data), "--models-dir", str(models), "--end", "2011-07-22",
                              "--alert-exit", "3", "--format", "json"])
    assert run.exit_code == 3, run.output
    payload = json.loads(run.stdout)
    assert payload["regime_changed"] and payload["previous"] == {"date": "2011-07-15", "regime": other}
    # the same day again: recorded already, so no second alert
    assert runner.invoke(app, ["daily", "--data", str(data), "--models-dir", str(models), "--end", "2011-07-22",
                               "--alert-exit", "3"]).exit_code == 0


def test_daily_without_an_update_records_each_new_day_once_and_history_shows_them(market_dir, model, tmp_path,
                                                                                   caplog):
    """A data directory not made by `data fetch` is labelled as it is; each new day adds one row, and its
    features extend the feature snapshot by that day."""
    import logging

    from regime.artifacts import save_artifact

    models = tmp_path / "models"
    save_artifact(model, {"package_version": "test"}, models, "default")
    days = pd.read_csv(market_dir / "prices.csv")["date"]
    work = tmp_path / "data"
    for n in (len(days) - 3, len(days) - 2, len(days) - 2, len(days) - 1):
        work.mkdir(exist_ok=True)
        for f in market_dir.iterdir():
            if f.suffix == ".csv":
                frame = pd.read_csv(f)
                frame[frame["date"] <= days.iloc[n]].to_csv(work / f.name, index=False)
        with caplog.at_level(logging.INFO, logger="regime.features._snapshot"):
            service.daily(work, models_dir=models, features_dir=tmp_path / "features")
    assert caplog.text.count("extended by 1 day(s)") == 2  # the day recorded twice is not scored again
    meta = json.loads(next((tmp_path / "features").glob("*/meta.json")).read_text())
    assert meta["through"] == days.iloc[-1] and meta["source"] == str(work.resolve())
    hist = models / "default" / "history.csv"
    recorded = read_history(hist)
    assert list(recorded.index.strftime("%Y-%m-%d")) == list(days.iloc[-3:])
    # no look-ahead: each morning's row is what the full history says of that day, cut there
    for day, row in recorded.iterrows():
        later = service.score(market_dir, models_dir=models, asof=str(day.date()), features_dir=None)
        assert (row["regime"], row["data_through"]) == (later.regime, str(day.date()))
        assert [row[f"p_{k}"] for k in later.probabilities] == pytest.approx(list(later.probabilities.values()),
                                                                             abs=1e-12)
    old = hist.read_bytes()
    lines = old.decode().splitlines()
    assert len(lines) == 4 and lines[0].startswith("date,regime,name,confidence")
    shown = json.loads(_cli("history", "--models-dir", models, "--last", "2", "--format", "json",
                            "--chart", tmp_path / "h.png"))
    assert [r["date"] for r in shown["rows"]] == list(days.iloc[-2:]) and shown["days"] == 3
    assert (tmp_path / "h.png").stat().st_size > 10_000
    assert days.iloc[-1] in _cli("history", "--models-dir", models)
    assert hist.read_bytes() == old


def test_history_appends_keep_every_earlier_byte_and_refuse_what_would_rewrite_it(tmp_path):
    rec = DailyRecord(date="2024-01-02", regime="stress", name="Stress", confidence=0.8, days_in_regime=1,
                      data_through="2024-01-02", model_version="v1", trained_through="2023-12-29", data_hash="ab",
                      recorded_at="2024-01-03T06:00:00Z", probabilities={"stress": 0.8, "broadening": 0.2},
                      weights={"a": 0.5, "b": 0.5})
    path = tmp_path / "h.csv"
    assert append_record(path, rec)
    old = path.read_bytes()
    assert not append_record(path, rec)  # the same day: untouched
    nxt = DailyRecord(**{**rec.to_dict(), "date": "2024-01-03", "data_through": "2024-01-03"})
    assert append_record(path, nxt) and path.read_bytes().startswith(old)
    assert DailyRecord.from_row({**read_history(path).iloc[0].to_dict(), "date": "2024-01-02"}) == rec
    with pytest.raises(DataError, match="only grows forward"):
        append_record(path, DailyRecord(**{**rec.to_dict(), "date": "2023-12-29", "data_through": "2023-12-29"}))
    with pytest.raises(DataError, match="--history with a new file"):
        append_record(path, DailyRecord(**{**nxt.to_dict(), "date": "2024-01-04", "data_through": "2024-01-04",
                                           "weights": {"a": 1.0}}))
    with pytest.raises(ValueError, match="sum to 1"):
        DailyRecord(**{**rec.to_dict(), "weights": {"a": 0.7}})
    assert _cli("history", "--history", tmp_path / "none.csv", code=2) == ""

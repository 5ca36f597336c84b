"""Dated episodes: reading them, judging labels against them, and the evaluate command."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from regime.backtest import walk_forward
from regime.cli import app
from regime.config import load_config
from regime.episodes import Episode, evaluate_episodes, read_episodes
from regime.errors import DataError

from .conftest import REAL_DATA

IDS = ["concentration", "broadening", "stress"]


def _labels(spec):
    """spec: list of (label, n days); business days from 2020-01-01."""
    vals = [lab for lab, n in spec for _ in range(n)]
    return pd.Series(vals, index=pd.bdate_range("2020-01-01", periods=len(vals)), dtype=object)


@pytest.mark.skipif(not REAL_DATA.is_dir(), reason="../shared/data/real is not beside the project")
def test_read_the_development_episodes():
    eps = read_episodes(REAL_DATA / "episodes.csv", IDS)
    assert len(eps) == 23
    calm = [e for e in eps if e.negated]
    assert calm and all(e.regime == "stress" for e in calm)
    assert eps[0].start == pd.Timestamp("1969-01-02") and eps[0].min_share == 0.4


@pytest.mark.parametrize("text, match", [
    ("start,end,min_share\n2020-01-01,2020-02-01,0.5\n", "no column\\(s\\) expected"),
    ("start,end,expected,min_share\n2020-13-01,2020-02-01,stress,0.5\n", "row 2 has a start or end"),
    ("start,end,expected,min_share\n2020-01-01,2020-02-01,stress,lots\n", "row 2 has min_share 'lots'"),
    ("start,end,expected,min_share\n2020-01-01,2020-02-01,boom,0.5\n", "row 2 expects 'boom'"),
    ("start,end,expected,min_share\n2020-03-01,2020-02-01,stress,0.5\n", "row 2: .*ends before it starts"),
    ("start,end,expected,min_share\n2020-01-01,2020-02-01,stress,1.5\n", "row 2: .*min_share must be in"),
    ("start,end,expected,min_share\n", "holds no episodes"),
])
def test_bad_episode_files_are_one_line_errors(tmp_path, text, match):
    p = tmp_path / "eps.csv"
    p.write_text(text)
    with pytest.raises(DataError, match=match) as info:
        read_episodes(p, IDS)
    assert "\n" not in str(info.value) and "eps.csv" in str(info.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DataError, match="episodes file .*nope.csv not found"):
        read_episodes(tmp_path / "nope.csv")


def test_share_and_pass_by_hand():
    lab = _labels([("concentration", 10), ("stress", 6), ("broadening", 4)])
    d = lab.index
    eps = [
        Episode(d[8], d[17], "stress", 0.5),          # 6 of 10 days stress -> 0.6, passes
        Episode(d[8], d[17], "stress", 0.7),          # same share, fails
        Episode(d[0], d[9], "!stress", 1.0),          # all calm -> passes
        Episode(d[10], d[19], "!stress", 0.5),        # 4 of 10 not stress -> 0.4, fails
    ]
    rep = evaluate_episodes(lab, eps)
    assert rep.table["share"].round(6).tolist() == [0.6, 0.6, 1.0, 0.4]
    assert rep.table["passed"].tolist() == [True, False, True, False]
    assert (rep.passed, rep.evaluated) == (2, 4)
    assert rep.switches_per_year == pytest.approx(2 / (20 / 252))


def test_unlabelled_days_count_against_and_outside_days_are_not_evaluated():
    lab = _labels([("stress", 10)])
    cal = pd.bdate_range("2019-12-18", periods=20)  # the data start 10 days before the first label
    eps = [Episode(cal[0], cal[19], "stress", 0.6),                                   # half labelled
           Episode(pd.Timestamp("2019-01-01"), pd.Timestamp("2019-02-01"), "stress", 0.1)]  # before the data
    rep = evaluate_episodes(lab, eps, cal)
    row = rep.table.iloc[0]
    assert row["days"] == 20 and row["labelled"] == 10 and row["share"] == pytest.approx(0.5) and not row["passed"]
    assert not rep.table.iloc[1]["evaluated"] and not rep.table.iloc[1]["passed"]
    assert rep.evaluated == 1
    # a missing label is not "anything but stress" either
    calm = evaluate_episodes(lab, [Episode(cal[0], cal[19], "!stress", 0.1)], cal)
    assert calm.table["share"].iloc[0] == 0.0


def test_evaluate_command_and_backtest_episodes(tmp_path, market_dir):
    cfg_path = tmp_path / "rules.yaml"
    cfg_path.write_text("model: {kind: rules}\ntrain: {min_days: 252}\n")
    eps = tmp_path / "eps.csv"
    eps.write_text("start,end,expected,min_share,why\n1999-01-04,1999-12-31,!stress,0.5,calm year\n"
                   "2001-01-02,2001-06-29,concentration,0.3,made up\n1950-01-03,1950-06-30,stress,0.5,outside\n")
    runner = CliRunner()
    bt = tmp_path / "bt.csv"
    res = runner.invoke(app, ["backtest", "--data", str(market_dir), "--config", str(cfg_path), "--out", str(bt),
                              "--episodes", str(eps), "--format", "json"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.output)
    assert payload["episodes"]["evaluated"] == 2
    res = runner.invoke(app, ["evaluate", "--labels", str(bt), "--episodes", str(eps), "--data", str(market_dir),
                              "--format", "json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d == payload["episodes"]
    # the shares are what the labels say
    lab = pd.read_csv(bt, index_col=0, parse_dates=True)["regime"]
    days = pd.read_csv(market_dir / "prices.csv", index_col=0, parse_dates=True).loc["1999-01-04":"1999-12-31"].index
    expect = (lab.reindex(days).notna() & (lab.reindex(days) != "stress")).mean()
    assert d["episodes"][0]["share"] == pytest.approx(expect, abs=1e-4)
    res = runner.invoke(app, ["evaluate", "--labels", str(bt), "--episodes", str(tmp_path / "none.csv")])
    assert res.exit_code == 2 and "none.csv not found" in res.output

"""scripts/bench_bayes_limit.py: the oracle labeller behaves as its evidence says it must."""

import pytest

from .conftest import load_script


@pytest.fixture(scope="module")
def bench():
    return load_script("bench_bayes_limit")


def test_oracle_knows_stress_and_reads_the_tilt(bench):
    base = bench.oracle_run("base", seed=7, years=10, margin=0.3, min_days=5)
    weak = bench.oracle_run("weak_tilt", seed=7, years=10, margin=0.3, min_days=5)
    assert base["balanced_acc"] > 0.9          # stress known and a strong tilt: nearly every day right
    assert weak["balanced_acc"] < base["balanced_acc"]  # half the tilt, same path: less to go on
    assert base["sw_ratio"] >= 1.0             # on this path it catches every change, and blips only add switches


def test_stricter_rule_switches_less(bench):
    loose = bench.oracle_run("base", seed=7, years=10, margin=0.3, min_days=5)
    strict = bench.oracle_run("base", seed=7, years=10, margin=0.8, min_days=20)
    assert strict["sw_ratio"] < loose["sw_ratio"]
    assert strict["median_lag"] >= loose["median_lag"]


@pytest.mark.parametrize("argv, words", [
    (["--rules", "0.3"], "MARGIN:MIN_DAYS"),
    (["--rules", "2:5"], "margin must lie in [0, 1]"),
    (["--seeds", "x"], "--seeds must be comma-separated integers"),
    (["--variants", "nope"], "unknown variant(s) nope"),
])
def test_bad_options_are_one_line_and_exit_2(bench, monkeypatch, capsys, argv, words):
    monkeypatch.setattr("sys.argv", ["bench_bayes_limit.py", *argv])
    with pytest.raises(SystemExit) as exc:
        bench.main()
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert words in err[-1]

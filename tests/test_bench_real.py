"""scripts/bench_real.py builds its datasets with the project's importers and judges both runs by episodes."""

from pathlib import Path

import pytest

from .conftest import REAL_DATA, load_script

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not REAL_DATA.is_dir(), reason="../shared/data/real is not beside the project")


@pytest.fixture(scope="module")
def bench():
    return load_script("bench_real")


def test_prices_only_dataset_and_rules_run(bench, tmp_path):
    d = bench.build_dataset("prices", REAL_DATA, tmp_path / "prices")
    assert sorted(p.name for p in d.iterdir()) == ["prices.csv"]
    res = bench.run_one("prices", d, "rules", ROOT / "configs" / "rules.yaml", REAL_DATA / "episodes.csv")
    assert res["first_label"].startswith("1996")
    # the rule's verdicts on two episodes whose outcome the data make plain: the 2008 crash is stress, and
    # 1995 (before the first label) counts as failed, not skipped
    by_start = {e["start"]: e for e in res["episodes"]}
    assert by_start["2008-09-15"]["passed"] and by_start["2008-09-15"]["share"] > 0.8
    assert by_start["1995-01-03"]["evaluated"] and not by_start["1995-01-03"]["passed"]
    assert not by_start["1969-01-02"]["evaluated"]
    assert res["evaluated"] == 12


def test_targets_are_printed(bench, tmp_path, capsys):
    rc = bench.main(["--datasets", "prices", "--config", str(ROOT / "configs" / "rules.yaml"), "--n-jobs", "1",
                     "--work", str(tmp_path)])
    text = capsys.readouterr().out
    assert "[PASS] prices: at least the rules' episodes" in text  # the rules against themselves
    assert rc == 1  # 9 of 12 is under 90 %: the script says FAIL and exits non-zero

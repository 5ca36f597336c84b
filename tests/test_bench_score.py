"""The scoring benchmark runs end to end on a small market and prints every target's line."""

from .conftest import load_script


def test_the_scoring_benchmark_runs(capsys, tmp_path):
    bench = load_script("bench_score")
    code = bench.main(["--years", "4", "--stocks", "40", "--repeat", "1", "--json", str(tmp_path / "s.json")])
    out = capsys.readouterr().out
    for line in ("regime score, snapshot up to date:", "snapshot one day behind:", "regime --help:",
                 "in process, one new day (DailyScorer.update):"):
        assert line in out
    assert code in (0, 1)
    import json

    figures = json.loads((tmp_path / "s.json").read_text())["figures"]
    assert 0 < figures["in_process_ms"] < 5000 and figures["score_peak_mb"] > 0

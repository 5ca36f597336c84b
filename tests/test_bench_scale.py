"""scripts/bench_scale.py measures each step in a process of its own and judges the scale targets."""

import json

from .conftest import load_script


def test_quick_mode_measures_every_step_on_a_tiny_market(tmp_path, capsys):
    bench = load_script("bench_scale")
    out = tmp_path / "scale.json"
    rc = bench.main(["--quick", "--names", "40", "--years", "4", "--backtest", "4x40", "--data-dir",
                     str(tmp_path / "markets"), "--json", str(out)])
    text = capsys.readouterr().out
    assert rc == 0, text
    result = json.loads(out.read_text())
    steps = {(r["format"], s): r[s] for r in result["runs"] for s in bench.STEPS if s in r}
    assert set(steps) == {("parquet", "synth"), ("parquet", "read"), ("parquet", "features"), ("csv", "synth"),
                          ("csv", "backtest")}
    for m in steps.values():
        assert m["ok"] and m["seconds"] > 0 and m["peak_mb"] > 50  # a Python process with numpy and pandas
    assert (tmp_path / "markets" / "4y_40_parquet" / "constituents.parquet").is_file()
    assert "[SKIP] features 30 years x 3,000 names (parquet)" in text
    assert result["machine"]["startup"]["ok"]


def test_targets_pass_fail_and_skip():
    bench = load_script("bench_scale")
    m = {"ok": True, "seconds": 8.0, "cpu_seconds": 8.0, "peak_mb": 4500.0}
    runs = [{"years": 30.0, "names": 3000, "format": "parquet", "features": m, "synth": {"reused": True}},
            {"years": 30.0, "names": 300, "format": "csv", "backtest": {**m, "seconds": 25.0}}]
    status = {c["target"]: c["status"] for c in bench.checks(runs)}
    assert status["features 30 years x 3,000 names (parquet): under 10 s"] == "PASS"
    assert status["features 30 years x 3,000 names (parquet): under 4096 MB"] == "FAIL"
    assert status["backtest 30 years x 300 names (csv): under 20 s"] == "FAIL"
    assert status["synth 30 years x 3,000 names (parquet)"] == "SKIP"  # reused: not measured

"""The command line: round trip, one-line errors with non-zero exits, demo and synth."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from regime.cli import app

from .conftest import cut_constituents, read_csv

runner = CliRunner()
FAST = Path(__file__).parent / "fast.yaml"


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def one_line_error(result, *needles):
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def trained(market_dir, tmp_path_factory):
    models = tmp_path_factory.mktemp("models")
    r = run("train", "--data", market_dir, "--config", FAST, "--models-dir", models, "--name", "t", "--format", "json")
    assert r.exit_code == 0, r.output
    return models, json.loads(r.stdout)


def test_train_then_score_round_trip(trained, market_dir):
    """On a CSV market whose rates have their own calendar (daily fed funds, blank holidays)."""
    assert len(read_csv(market_dir / "rates.csv")) > len(read_csv(market_dir / "prices.csv"))
    models, summary = trained
    art = Path(summary["artifact"])
    assert (art / "model.joblib").is_file() and (art / "metadata.json").is_file()
    assert (models / "t" / "latest").resolve() == art.resolve()
    r = run("score", "--data", market_dir, "--models-dir", models, "--name", "t", "--format", "json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["regime"] in ("concentration", "broadening", "stress")
    assert abs(sum(d["probabilities"].values()) - 1) < 1e-9
    assert d["model"]["trained_through"] == summary["trained_through"]


def test_score_table_and_asof_and_out(trained, market_dir, tmp_path):
    models, summary = trained
    out = tmp_path / "today.json"
    r = run("score", "--data", market_dir, "--model", summary["artifact"], "--asof", "2001-06-15", "--out", out)
    assert r.exit_code == 0, r.output
    assert "confidence" in r.stdout and "Why" in r.stdout
    assert json.loads(out.read_text())["asof"] == "2001-06-15"


def _break(d: Path, how: str) -> tuple[Path, str]:
    p = d / "prices.csv"
    df = read_csv(p)
    if how == "missing file":
        p.unlink()
        return d, "prices.csv not found"
    if how == "empty file":
        p.write_text("")
        return d, "prices.csv is empty"
    if how == "no date column":
        df.rename(columns={"date": "when"}).to_csv(p, index=False)
        return d, "no 'date' column"
    if how == "unparseable date":
        df.loc[3, "date"] = "2001-13-45"
        df.to_csv(p, index=False)
        return d, "'2001-13-45' that cannot be parsed"
    if how == "duplicate dates":
        df.loc[8, "date"] = df.loc[7, "date"]
        df.to_csv(p, index=False)
        return d, f"date {df.loc[7, 'date']} appears 2 times"
    if how == "role column missing":
        df.drop(columns="ndx").to_csv(p, index=False)
        return d, "no column 'ndx' for role mega_cap"
    if how == "non-numeric price":
        df.loc[9, "spx"] = "abc"
        df.to_csv(p, index=False)
        return d, f"column 'spx' has non-numeric value 'abc' on {df.loc[9, 'date']}"
    if how == "non-positive price":
        df.loc[9, "spx"] = "-3"
        df.to_csv(p, index=False)
        return d, f"column 'spx' has non-positive price -3 on {df.loc[9, 'date']}"
    raise AssertionError(how)


BAD = ["missing file", "empty file", "no date column", "unparseable date", "duplicate dates",
       "role column missing", "non-numeric price", "non-positive price"]


@pytest.mark.parametrize("how", BAD)
def test_train_bad_input_one_line_error_and_latest_untouched(how, copy_dir, trained):
    models, summary = trained
    d, needle = _break(copy_dir(), how)
    before = (models / "t" / "latest").resolve()
    r = run("train", "--data", d, "--config", FAST, "--models-dir", models, "--name", "t")
    one_line_error(r, needle)
    assert (models / "t" / "latest").resolve() == before


@pytest.mark.parametrize("how", BAD)
def test_score_bad_input_one_line_error(how, copy_dir, trained):
    models, _ = trained
    d, needle = _break(copy_dir(), how)
    one_line_error(run("score", "--data", d, "--models-dir", models, "--name", "t"), needle)


def test_too_little_history(copy_dir, tmp_path):
    d = copy_dir()
    p = d / "prices.csv"
    read_csv(p).iloc[:300].to_csv(p, index=False)
    one_line_error(run("train", "--data", d, "--config", FAST, "--models-dir", tmp_path), "training needs", "300 days")


def test_asof_outside_data(trained, market_dir):
    models, _ = trained
    one_line_error(run("score", "--data", market_dir, "--models-dir", models, "--name", "t", "--asof", "2050-01-03"),
                   "as-of date 2050-01-03 is outside the data")


def test_missing_model(market_dir, tmp_path):
    one_line_error(run("score", "--data", market_dir, "--models-dir", tmp_path, "--name", "none"),
                   "model.joblib not found")


def test_corrupt_model(trained, market_dir, tmp_path):
    _, summary = trained
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model.joblib").write_bytes(b"\x00garbage")
    (bad / "metadata.json").write_text("{}")
    one_line_error(run("score", "--data", market_dir, "--model", bad), "model.joblib is corrupt")


def test_model_features_not_in_data(trained, copy_dir):
    models, _ = trained
    d = copy_dir(files=("prices.csv", "constituents.csv"))  # no rates file
    one_line_error(run("score", "--data", d, "--models-dir", models, "--name", "t"),
                   "trained on features", "does not provide: rt_")


def test_bad_config_one_line(market_dir, tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("model:\n  n_iter: -5\n")
    one_line_error(run("train", "--data", market_dir, "--config", cfg, "--models-dir", tmp_path), "field model.n_iter")


def test_debug_shows_traceback(copy_dir, tmp_path):
    d, _ = _break(copy_dir(), "empty file")
    proc = subprocess.run([sys.executable, "-m", "regime.cli", "--debug", "train", "--data", str(d),
                           "--models-dir", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "DataError" in proc.stderr


def test_console_script_error_is_one_line(copy_dir, tmp_path):
    d, _ = _break(copy_dir(), "duplicate dates")
    proc = subprocess.run([sys.executable, "-m", "regime.cli", "train", "--data", str(d),
                           "--models-dir", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "appears 2 times" in proc.stderr


def test_unsorted_dates_warn_and_still_train(copy_dir, tmp_path):
    d = copy_dir()
    p = d / "prices.csv"
    df = read_csv(p)
    pd.concat([df.iloc[10:], df.iloc[:10]]).to_csv(p, index=False)
    r = run("train", "--data", d, "--config", FAST, "--models-dir", tmp_path, "--format", "json")
    assert r.exit_code == 0, r.output
    assert "out of order; sorted" in r.stderr


def test_data_synth_and_features(tmp_path):
    out = tmp_path / "syn"
    r = run("data", "synth", "--out", out, "--years", 4, "--stocks", 80, "--seed", 5)
    assert r.exit_code == 0, r.output
    for f in ("prices.csv", "rates.csv", "constituents.csv", "truth.csv"):
        assert (out / f).is_file()
    r = run("features", "--data", out, "--out", tmp_path / "f.parquet")
    assert r.exit_code == 0, r.output
    assert pd.read_parquet(tmp_path / "f.parquet").shape[1] > 30


def test_demo_prints_named_regime_and_saves_chart(tmp_path):
    png = tmp_path / "demo.png"
    r = run("demo", "--out", png, "--years", 6, "--stocks", 80, "--format", "json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["name"] in ("Mega-cap concentration", "Broadening", "Stress (risk-off)")
    assert 0 <= d["confidence"] <= 1
    assert png.stat().st_size > 20_000 and png.read_bytes()[:4] == b"\x89PNG"


def test_help_explains_every_option():
    for cmd in (["train"], ["score"], ["demo"], ["features"], ["data", "synth"], ["data", "french"], ["backtest"],
                ["report"], ["signal"], ["allocate-backtest"]):
        r = run(*cmd, "--help")
        assert r.exit_code == 0
        for line in r.stdout.splitlines():
            if line.strip().startswith(("│ --", "│ *  --", "│    --")):
                assert len(line.split()) > 3, f"{cmd}: option without help: {line}"


@pytest.mark.parametrize("files", [("prices.csv", "rates.csv"), ("prices.csv",)], ids=["no-constituents", "prices-only"])
def test_round_trip_on_partial_contract(files, copy_dir, tmp_path):
    """Optional files are optional: breadth proxies replace constituents, rate features drop out."""
    d = copy_dir(files=files)
    r = run("train", "--data", d, "--config", FAST, "--models-dir", tmp_path, "--name", "p", "--format", "json")
    assert r.exit_code == 0, r.output
    meta = json.loads((Path(json.loads(r.stdout)["artifact"]) / "metadata.json").read_text())
    assert "px_ew_cw_spread" in meta["features"]
    assert any(f.startswith("rt_") for f in meta["features"]) == ("rates.csv" in files)
    r = run("score", "--data", d, "--models-dir", tmp_path, "--name", "p", "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["regime"] in ("concentration", "broadening", "stress")


def test_backtest_then_report(market_dir, tmp_path):
    csv = tmp_path / "bt.csv"
    r = run("backtest", "--data", market_dir, "--config", FAST, "--out", csv, "--refit-every", 63, "--format", "json")
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["truth"]["balanced_accuracy"] > 0.4 and summary["summary"]["refit_every"] == "63 trading days"
    frame = pd.read_csv(csv, index_col=0)
    assert list(frame.columns[:2]) == ["regime", "confidence"] and frame.filter(like="p_").shape[1] == 3
    r = run("backtest", "--data", market_dir, "--config", FAST, "--out", tmp_path / "bt2.csv", "--refit-every", 63)
    assert r.exit_code == 0 and "balanced accuracy" in r.stdout and "median detection lag" in r.stdout
    out = tmp_path / "report"
    r = run("report", "--backtest", csv, "--data", market_dir, "--config", FAST, "--out", out)
    assert r.exit_code == 0, r.output
    for png in ("index.png", "probabilities.png", "relative_strength.png", "breadth.png", "rates.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG", png
        assert f"src='{png}'" in (out / "report.html").read_text()
    assert "Against truth" in (out / "report.html").read_text()


def test_report_bad_backtest_file(market_dir, tmp_path):
    bad = tmp_path / "bt.csv"
    bad.write_text("date,regime\n2001-01-02,stress\n")
    one_line_error(run("report", "--backtest", bad, "--data", market_dir, "--out", tmp_path / "r"),
                   "bt.csv has no column(s) confidence")
    one_line_error(run("report", "--backtest", tmp_path / "none.csv", "--data", market_dir, "--out", tmp_path / "r"),
                   "backtest file", "not found")


def test_backtest_window_option_is_validated(market_dir, tmp_path):
    r = run("backtest", "--data", market_dir, "--out", tmp_path / "b.csv", "--window", "sliding")
    one_line_error(r, "window must be 'expanding' or 'rolling:N'")


def test_allocate_backtest_and_signal(market_dir, trained, tmp_path, monkeypatch):
    csv = tmp_path / "bt.csv"
    assert run("backtest", "--data", market_dir, "--config", FAST, "--out", csv, "--refit-every", 63,
               "--format", "json").exit_code == 0
    out = tmp_path / "alloc"
    r = run("allocate-backtest", "--backtest", csv, "--data", market_dir, "--config", FAST, "--out", out)
    assert r.exit_code == 0, r.output
    assert "placebo" in r.stdout and "Sharpe" in r.stdout
    assert (out / "allocation.png").read_bytes()[:4] == b"\x89PNG"
    payload = json.loads((out / "allocation.json").read_text())
    assert set(payload["table"]) == {"regime", "buy_and_hold", "equal_mix", "placebo"}
    frame = pd.read_csv(out / "allocation.csv", index_col=0)
    assert {"ret_regime", "ret_placebo", "w_cash"} <= set(frame.columns)
    r = run("allocate-backtest", "--backtest", csv, "--data", market_dir, "--config", FAST, "--out", out,
            "--format", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["placebo_beaten"].keys() == {"sharpe", "max_drawdown"}

    # a failure while writing (here: the chart) leaves the previous three files whole and no staging debris
    before = {f: (out / f).read_bytes() for f in ("allocation.csv", "allocation.json", "allocation.png")}

    def broken_chart(*args, **kwargs):
        raise OSError("disk full")

    import regime.plotting

    monkeypatch.setattr(regime.plotting, "plot_allocation", broken_chart)
    costly = tmp_path / "costly.yaml"  # results that differ from those on disk
    costly.write_text(FAST.read_text() + "\nallocation:\n  cost_bp: 50\n")
    r = run("allocate-backtest", "--backtest", csv, "--data", market_dir, "--config", costly, "--out", out)
    assert r.exit_code != 0
    assert {f: (out / f).read_bytes() for f in before} == before
    assert sorted(p.name for p in out.iterdir()) == sorted(before)
    monkeypatch.undo()

    r = run("signal", "--data", market_dir, "--backtest", csv, "--format", "json")
    assert r.exit_code == 0, r.output
    sig = json.loads(r.stdout)
    assert {"asof", "weights", "regime", "confidence", "previous", "change"} <= set(sig)
    assert abs(sum(sig["weights"].values()) - 1) < 1e-5
    models, _ = trained
    r = run("signal", "--data", market_dir, "--models-dir", models, "--name", "t", "--asof", sig["asof"],
            "--out", tmp_path / "sig.json")
    assert r.exit_code == 0, r.output
    assert "Weights to hold" in r.stdout
    assert json.loads((tmp_path / "sig.json").read_text())["asof"] == sig["asof"]


def test_signal_bad_input_one_line(market_dir, trained, tmp_path):
    models, _ = trained
    one_line_error(run("signal", "--data", market_dir, "--models-dir", models, "--name", "t", "--asof", "someday"),
                   "--asof 'someday' is not a date")
    one_line_error(run("signal", "--data", market_dir, "--model", tmp_path / "m", "--backtest", tmp_path / "b.csv"),
                   "not both")
    one_line_error(run("allocate-backtest", "--backtest", tmp_path / "none.csv", "--data", market_dir),
                   "backtest file", "not found")
    bad = tmp_path / "bad.yaml"
    bad.write_text("allocation:\n  tilts:\n    stress: {cash: 0.5}\n")
    one_line_error(run("signal", "--data", market_dir, "--backtest", tmp_path / "none.csv", "--config", bad),
                   "sum to 0.5000")


def test_signal_cron_script_writes_json_and_keeps_it_on_failure(market_dir, trained, tmp_path):
    models, _ = trained
    script = Path(__file__).resolve().parents[1] / "scripts" / "signal_daily.py"
    target = tmp_path / "weights.json"
    base = [sys.executable, str(script), "--data", str(market_dir), "--models-dir", str(models), "--name", "t"]
    proc = subprocess.run(base + ["--out", str(target)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == json.loads(target.read_text())
    before = target.read_text()
    proc = subprocess.run(base + ["--out", str(target), "--asof", "2999-01-01"], capture_output=True, text=True)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "outside" in proc.stderr
    assert target.read_text() == before


def _warnings(result) -> list[str]:
    return [ln for ln in result.stderr.splitlines() if ln.strip()]


def test_stale_constituents_are_named_by_train_backtest_score_and_signal(copy_dir, trained, tmp_path):
    """constituents.csv ends 120 price days before prices.csv: each command says so in one line."""
    d = copy_dir()
    last = cut_constituents(d, 120)
    end = read_csv(d / "prices.csv")["date"].iloc[-1]
    line = (f"constituents.csv ends {last.date()}, 120 price days before prices.csv ({end}): those days get no "
            "label; update constituents.csv")
    r = run("train", "--data", d, "--config", FAST, "--models-dir", tmp_path / "m", "--format", "json")
    assert r.exit_code == 0, r.output
    assert _warnings(r) == [f"warning: {line}"]  # at the default verbosity, one line, not wrapped
    assert json.loads(r.stdout)["trained_through"] == str(last.date())

    csv = tmp_path / "bt.csv"
    r = run("backtest", "--data", d, "--config", FAST, "--out", csv, "--refit-every", 63)
    assert r.exit_code == 0, r.output
    assert _warnings(r) == [f"warning: {line}"]
    assert "120 out-of-sample days got no label (no row in the CSV): 120 with a stale input" in r.stdout
    assert f"stale input: {line}" in r.stdout
    frame = pd.read_csv(csv, index_col=0, parse_dates=True)
    assert frame.index[-1] == last and frame["regime"].notna().all()  # labels stop at the cut

    out = tmp_path / "report"
    r = run("report", "--backtest", csv, "--data", d, "--config", FAST, "--out", out)
    assert r.exit_code == 0, r.output
    assert f"constituents.csv ends {last.date()}" in (out / "report.html").read_text()

    models, _ = trained
    err = one_line_error(run("score", "--data", d, "--models-dir", models, "--name", "t"),
                         f"constituents.csv has no data after {last.date()}",
                         f"update constituents.csv, or pick --asof on or before {last.date()}")
    assert "history" not in err
    r = run("score", "--data", d, "--models-dir", models, "--name", "t", "--asof", str(last.date()), "--format", "json")
    assert r.exit_code == 0, r.output
    one_line_error(run("signal", "--data", d, "--models-dir", models, "--name", "t", "--asof", end),
                   f"constituents.csv has no data after {last.date()}")

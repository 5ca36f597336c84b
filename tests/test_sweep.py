"""Sweeps: the grid is checked before anything runs, a failed run does not stop the others, and the rows do not
depend on where the runs ran (this process, loky workers, a Dask cluster)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from regime import service
from regime.errors import ConfigError
from regime.sweep import COLUMNS, read_grid, run_sweep

FAST = Path(__file__).resolve().parent / "fast.yaml"

#: Two tiny synthetic markets, a data directory that does not exist, and two fast configs: six runs, two failing.
GRID = f"""
datasets:
  - synthetic: {{seeds: [1, 2], years: 3, stocks: 60}}
  - {{name: missing, path: no_such_dir}}
configs:
  - {{name: fast, file: {FAST}}}
  - {{name: jump, file: {FAST}, set: {{model: {{kind: jump, n_init: 2, n_jobs: 2}}}}}}
walk_forward: {{refit_every: 126}}
"""


def _grid(tmp_path: Path, text: str = GRID) -> Path:
    path = tmp_path / "grid.yaml"
    path.write_text(text)
    return path


def _rows(result) -> pd.DataFrame:
    """Everything but the time each run took."""
    return result.table.drop(columns="seconds")


@pytest.fixture(scope="module")
def grid_path(tmp_path_factory) -> Path:
    return _grid(tmp_path_factory.mktemp("sweep"))


@pytest.fixture(scope="module")
def local(grid_path):
    """The grid run in this process, with the progress it reported."""
    calls = []
    result = run_sweep(read_grid(grid_path), n_jobs=1, progress=lambda *a: calls.append(a))
    return result, calls


# ------------------------------------------------------------------------------------------ the grid
def test_the_grid_is_every_config_on_every_dataset(grid_path):
    grid = read_grid(grid_path)
    assert [r.run_id for r in grid.runs] == [
        "synth-base-s1/fast", "synth-base-s1/jump", "synth-base-s2/fast", "synth-base-s2/jump",
        "missing/fast", "missing/jump"]
    assert grid.runs[1].config.model.kind == "jump" and grid.runs[1].config.train.min_days == 252
    assert grid.runs[4].dataset.path == str(grid_path.parent / "no_such_dir")  # relative to the grid file
    assert grid.runs[0].refit_every == 126
    # each run's models fit their restarts one after another, whatever the config says: the sweep fills the workers
    assert grid.runs[1].config.model.n_jobs == 1
    assert all(m.n_jobs == 1 for m in grid.runs[0].config.model.members)


BAD_GRIDS = [
    ("datasets: [{synthetic: {seeds: 1}}]\nconfig: []\n", r"config is not a grid setting"),
    ("configs: [default.yaml]\n", r"datasets is missing"),
    ("datasets: []\n", r"datasets is empty; give it at least one entry"),
    ("datasets: [{synthetic: {seeds: 1, variants: [base, nope]}}]\n",
     r"datasets\[0\]\.synthetic\.variants: unknown variant 'nope'; choose from base, "),
    ("datasets: [{path: a, synthetic: {seeds: 1}}]\n", r"datasets\[0\]: give a data directory \(path\) or synthetic"),
    ("datasets: [{path: a}]\nconfigs: [{set: {model: {kind: hmm, n_inti: 3}}}]\n",
     r"config 'default': model\.n_inti is not a setting of kind hmm nor of any other kind"),
    ("datasets: [{path: a, set: {label: {margin: 2}}}]\n",
     r"config 'default' with datasets\[0\]\.set: field label\.margin: Input should be less than or equal to 1"),
    ("datasets: [{path: a}]\nconfigs: [{name: x}, {name: x, set: {}}]\n", r"two configs are named 'x'"),
    ("datasets: [{path: a/b}, {path: c/b}]\n", r"two datasets are named 'b'"),
    ("datasets: [{path: a}]\nconfigs: [nowhere.yaml]\n",
     r"config file .*nowhere\.yaml not found; fix configs\[0\]\.file in the sweep grid"),
    ("datasets: [{path: a}]\nwalk_forward: {window: rolling:5}\n", r"walk_forward\.window: window must be"),
    ("datasets: [{path: a}]\nwalk_forward: {start: someday}\n", r"walk_forward\.start: 'someday' is not a date"),
    ("datasets: [{path: a}\n", r"is not valid YAML at line 2; fix the syntax"),
    ("- a\n- b\n", r"must hold a mapping of datasets, configs and walk_forward"),
]


@pytest.mark.parametrize("text, message", BAD_GRIDS)
def test_a_bad_grid_is_one_line_naming_the_entry(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message) as info:
        read_grid(_grid(tmp_path, text))
    assert "\n" not in str(info.value) and str(info.value).startswith(("sweep grid", "config file"))


def test_the_example_grid_reads():
    grid = read_grid(Path(__file__).resolve().parents[1] / "configs" / "sweep.yaml")
    assert [r.run_id for r in grid.runs] == ["synth-base-s1/default", "synth-base-s1/rules",
                                             "synth-base-s2/default", "synth-base-s2/rules"]
    assert grid.runs[1].config.model.kind == "rules"


def test_a_missing_grid_file(tmp_path):
    with pytest.raises(ConfigError, match=r"sweep grid .*nope\.yaml not found; pass a grid YAML"):
        read_grid(tmp_path / "nope.yaml")


def test_nothing_runs_or_is_written_before_the_whole_grid_checks_out(tmp_path, monkeypatch):
    import regime.sweep as sweep

    monkeypatch.setattr(sweep, "run_sweep", lambda *a, **k: pytest.fail("a run started"))
    bad = _grid(tmp_path, GRID.replace("n_init: 2, n_jobs: 2", "n_init: 0"))
    with pytest.raises(ConfigError, match=r"config 'jump': field model\.n_init: Input should be greater"):
        service.sweep(bad, tmp_path / "out" / "runs.csv")
    with pytest.raises(ConfigError, match=r"--out .*runs\.txt: the results table is written as \.csv or \.parquet"):
        service.sweep(_grid(tmp_path), tmp_path / "out" / "runs.txt")
    with pytest.raises(ConfigError, match=r"--n-jobs 0 runs nothing"):
        service.sweep(_grid(tmp_path), tmp_path / "out" / "runs.csv", n_jobs=0)
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------------------ running
def test_a_failed_run_is_a_row_with_its_error_and_the_others_complete(local):
    result, calls = local
    t = result.table
    assert tuple(t.columns) == COLUMNS and len(t) == 6
    ok, failed = t[t["status"] == "ok"], t[t["status"] == "failed"]
    assert list(failed["run_id"]) == ["missing/fast", "missing/jump"] and result.failed == 2
    assert failed["error"].str.match(r"^dataset missing: data directory .*no_such_dir not found; fix its path").all()
    assert len(ok) == 4 and (ok["error"] == "").all()
    # synthetic markets know their truth: accuracy, lag and calibration are measured
    for col in ("balanced_accuracy", "switches_per_year", "truth_switches_per_year", "brier", "ece", "days"):
        assert ok[col].notna().all(), col
    assert ok["balanced_accuracy"].between(0, 1).all() and (ok["refits"] > 1).all()
    assert ok["episodes_evaluated"].isna().all()  # no episodes file given
    # one progress call per finished run
    assert [c[:2] for c in calls] == [(i, 6) for i in range(1, 7)]
    assert sorted(c[2] for c in calls) == sorted(t["run_id"]) and {c[3] for c in calls} == {"ok", "failed"}


def test_the_same_rows_on_two_loky_workers(grid_path, local):
    two = run_sweep(read_grid(grid_path), n_jobs=2)
    assert two.backend == "loky, 2 workers"
    pd.testing.assert_frame_equal(_rows(two), _rows(local[0]))


def test_the_same_rows_on_a_dask_cluster(grid_path, local):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster:
        on_dask = run_sweep(read_grid(grid_path), scheduler=cluster.scheduler_address)
    assert on_dask.backend.startswith(f"dask {cluster.scheduler_address} (2 workers")
    pd.testing.assert_frame_equal(_rows(on_dask), _rows(local[0]))


def test_without_dask_a_scheduler_is_one_line_saying_what_to_install(grid_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # import fails as if dask were not installed
    with pytest.raises(ConfigError, match=r"^--scheduler tcp://127\.0\.0\.1:1 needs Dask: pip install 'regime\[dask\]'$"):
        run_sweep(read_grid(grid_path), scheduler="tcp://127.0.0.1:1")


def test_no_scheduler_at_the_address_is_one_line(grid_path, monkeypatch):
    pytest.importorskip("distributed")
    import regime.sweep as sweep

    monkeypatch.setattr(sweep, "DASK_TIMEOUT", 1)
    with pytest.raises(ConfigError, match=r"^--scheduler tcp://127\.0\.0\.1:1: no Dask scheduler answered") as info:
        run_sweep(read_grid(grid_path), scheduler="tcp://127.0.0.1:1")
    assert "\n" not in str(info.value)


# ------------------------------------------------------------------------------------------ outputs
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_the_table_summary_and_chart_are_written(local, tmp_path, suffix):
    from regime.sweep import write_sweep

    out = tmp_path / "res" / f"runs{suffix}"
    result = write_sweep(local[0], out)
    back = pd.read_csv(out, keep_default_na=False, na_values=[""]) if suffix == ".csv" else pd.read_parquet(out)
    assert list(back.columns) == list(COLUMNS)
    assert list(back["run_id"]) == list(local[0].table["run_id"])
    pd.testing.assert_series_equal(back["balanced_accuracy"], local[0].table["balanced_accuracy"])
    summary = json.loads(out.with_suffix(".json").read_text())
    assert summary["runs"] == 6 and summary["failed"] == 2 and summary["files"]["table"] == str(out)
    assert set(summary["by_config"]) == {"fast", "jump"} and summary["by_config"]["fast"]["failed"] == 1
    mean = local[0].table.query("config == 'fast' and status == 'ok'")["balanced_accuracy"].mean()
    assert summary["by_config"]["fast"]["balanced_accuracy"] == round(mean, 4)
    assert [f["run_id"] for f in summary["failures"]] == ["missing/fast", "missing/jump"]
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG" and result.files["chart"] == str(out.with_suffix(".png"))
    assert sorted(p.name for p in out.parent.iterdir()) == sorted(
        [out.name, out.with_suffix(".json").name, out.with_suffix(".png").name])  # no staging debris


def test_json_rows_are_plain(local):
    d = local[0].to_dict()
    json.dumps(d)  # NaN and pandas NA became null
    row = d["rows"][4]
    assert row["status"] == "failed" and row["balanced_accuracy"] is None and row["days"] is None


def test_episodes_are_judged_on_a_data_directory(market_dir, tmp_path):
    """A data directory with truth.csv and an episodes file: accuracy and episodes passed in one row."""
    episodes = tmp_path / "episodes.csv"
    episodes.write_text("start,end,expected,min_share,why\n2001-01-02,2001-12-31,!stress,0.01,calm-ish\n"
                        "2030-01-01,2030-02-01,stress,0.5,outside the data\n")
    grid = _grid(tmp_path, f"datasets: [{{name: small, path: {market_dir}, episodes: {episodes}}}]\n"
                           f"configs: [{{name: jump, file: {FAST}, set: {{model: {{kind: jump, n_init: 1}}}}}}]\n"
                           "walk_forward: {refit_every: 252}\n")
    row = run_sweep(read_grid(grid)).table.iloc[0]
    assert row["status"] == "ok", row["error"]
    assert row["episodes_evaluated"] == 1 and row["episodes_passed"] in (0, 1)
    assert 0 <= row["balanced_accuracy"] <= 1


def test_a_chart_when_every_run_failed(tmp_path):
    from regime.plotting import plot_sweep
    from regime.sweep import _table

    table = _table([{"run_id": "d/c", "dataset": "d", "config": "c", "source": "x", "status": "failed",
                     "error": "boom", "notes": "", "seconds": 0.1}])
    assert plot_sweep(table, tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


def test_render_shows_the_runs_and_prints_json(local, capsys):
    from regime import render

    render.show_sweep(local[0], as_json=True)
    assert json.loads(capsys.readouterr().out)["rows"][0]["run_id"] == "synth-base-s1/fast"
    render.show_sweep(local[0], as_json=False)
    shown = capsys.readouterr().out
    assert "synth-base-s2/jump" in shown and "failed: missing/fast: dataset missing" in shown.replace("\n", " ")


def test_the_benchmark_grid_reads(tmp_path):
    from .conftest import load_script

    bench = load_script("bench_sweep")
    grid = read_grid(_grid(tmp_path, bench.grid_text(8, 20, 300, None)))
    assert len(grid.runs) == 8 and grid.configs == ("default",)
    assert grid.runs[7].dataset.synthetic == {"seed": 8, "variant": "base", "years": 20.0, "stocks": 300}
    assert read_grid(_grid(tmp_path, bench.grid_text(2, 3, 60, FAST))).configs == ("fast",)


def test_the_command_line_writes_the_same_rows_and_exits_1_when_a_run_failed(grid_path, local, tmp_path):
    """`regime sweep GRID --out ...`: the same rows as the API, every file written, exit status 1 (runs failed)."""
    from typer.testing import CliRunner

    from regime.cli import app

    out = tmp_path / "runs.csv"
    result = CliRunner().invoke(app, ["sweep", str(grid_path), "--out", str(out), "--format", "json"])
    assert result.exit_code == 1, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.csv", "runs.json", "runs.png"]
    table = pd.read_csv(out)
    assert list(table["run_id"]) == list(local[0].table["run_id"])
    assert list(table["status"]) == list(local[0].table["status"])
    assert json.loads(result.stdout)["rows"][0]["run_id"] == "synth-base-s1/fast"

"""The service layer: the Python API and the CLI run the same code and give the same results."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import regime.cli
from regime import service
from regime.cli import app

FAST = Path(__file__).parent / "fast.yaml"
runner = CliRunner()


def _cli_json(*args) -> dict:
    r = runner.invoke(app, [str(a) for a in args] + ["--format", "json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_api_and_cli_give_the_same_score_signal_and_backtest(market_dir, tmp_path):
    trained = service.train(market_dir, FAST, tmp_path / "models", "t")
    assert trained.path.is_dir() and trained.summary["artifact"] == str(trained.path)
    models = ("--models-dir", tmp_path / "models", "--name", "t")

    api = service.score(market_dir, models_dir=tmp_path / "models", name="t", asof="2001-06-16",
                        json_out=tmp_path / "s.json").to_dict()
    assert api == _cli_json("score", "--data", market_dir, *models, "--asof", "2001-06-16")
    assert json.loads((tmp_path / "s.json").read_text()) == api
    assert api["asof"] == "2001-06-15"  # a Saturday: the Friday before

    sig = service.signal(market_dir, models_dir=tmp_path / "models", name="t", asof="2003-03-04").to_dict()
    assert sig == _cli_json("signal", "--data", market_dir, *models, "--asof", "2003-03-04")

    saturday = service.signal(market_dir, models_dir=tmp_path / "models", name="t", asof="2003-03-08").to_dict()
    assert saturday == service.signal(market_dir, models_dir=tmp_path / "models", name="t",
                                      asof="2003-03-07").to_dict()  # the Friday before

    run = service.backtest(market_dir, tmp_path / "a.csv", FAST, refit_every=252)
    cli = _cli_json("backtest", "--data", market_dir, "--out", tmp_path / "b.csv", "--config", FAST,
                    "--refit-every", 252)
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()
    for key in ("days", "refits", "share", "switches_per_year"):
        assert run.to_dict()["summary"][key] == cli["summary"][key]
    assert run.to_dict()["truth"] == cli["truth"]


def test_the_cli_modules_only_parse_and_render():
    """`regime/cli/` imports no pandas or numpy at module level and stays a thin layer over the service."""
    for path in sorted(Path(regime.cli.__file__).parent.glob("*.py")):
        src = path.read_text()
        tree = ast.parse(src)
        top = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
        imported = {a.name.split(".")[0] for node in top if isinstance(node, ast.Import) for a in node.names}
        imported |= {(node.module or "").split(".")[0] for node in top
                     if isinstance(node, ast.ImportFrom) and node.level == 0}
        assert not imported & {"pandas", "numpy", "sklearn", "scipy"}, path.name
        # the engine is imported inside each command, so --help loads none of it
        engine = {(node.module or "").split(".")[0] for node in top if isinstance(node, ast.ImportFrom) and node.level}
        assert engine <= {"", "render", "errors", "variants", "_app", "_model", "_alloc", "_data", "_daily",
                          "_sweep"}, (path.name, engine)
        assert len(src.splitlines()) < 350, path.name


def test_help_loads_no_numeric_library():
    """`regime --help` imports the command line only: no pandas, numpy, scikit-learn, SciPy or matplotlib."""
    code = ("import sys, regime.cli\n"
            "print(sorted(m for m in ('pandas', 'numpy', 'sklearn', 'scipy', 'matplotlib') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_score_loads_no_fitting_library(market_dir, tmp_path):
    """`regime score` with a stored model imports neither scikit-learn nor SciPy's statistics and signal modules
    (together about a second): it labels the day with the model's numpy filters."""
    service.train(market_dir, FAST, tmp_path / "models", "t")
    code = ("import sys, runpy\n"
            "sys.argv = ['regime', 'score', '--data', sys.argv[1], '--models-dir', sys.argv[2], '--name', 't',"
            " '--format', 'json']\n"
            "try:\n    runpy.run_module('regime.cli', run_name='__main__')\nexcept SystemExit as e:\n"
            "    assert not e.code, e.code\n"
            "print(sorted(m for m in ('sklearn', 'scipy.stats', 'scipy.signal', 'statsmodels') if m in sys.modules),"
            " file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code, str(market_dir), str(tmp_path / "models")],
                          capture_output=True, text=True, check=True, cwd=tmp_path)
    assert json.loads(proc.stdout)["regime"]
    assert proc.stderr.strip().splitlines()[-1] == "[]"


def test_score_and_signal_use_a_feature_snapshot_and_agree_without_it(market_dir, tmp_path):
    service.train(market_dir, FAST, tmp_path / "models", "t")
    kw = {"models_dir": tmp_path / "models", "name": "t"}
    store = tmp_path / "features"
    cached = service.score(market_dir, asof="2003-03-04", features_dir=store, **kw).to_dict()
    assert len(list(store.glob("*/meta.json"))) == 1
    assert cached == service.score(market_dir, asof="2003-03-04", features_dir=None, **kw).to_dict()
    assert service.score(market_dir, features_dir=store, **kw) == service.score(market_dir, features_dir=None, **kw)
    assert (service.signal(market_dir, asof="2003-03-04", features_dir=store, **kw).to_dict()
            == service.signal(market_dir, asof="2003-03-04", features_dir=None, **kw).to_dict())
    info = service.feature_snapshot(market_dir, FAST, features_dir=store, out=tmp_path / "f.parquet")
    assert info["snapshot"] == "exact"  # the last score left the snapshot at the data's last day


def test_score_from_an_exact_snapshot_reads_no_constituents(market_dir, tmp_path, monkeypatch):
    """Nothing new since the last run: the snapshot of byte-identical files stands in for the panel, which is
    hashed but not read; the label is the same. A changed file, or no snapshot, reads the panel again."""
    import shutil

    import regime.data

    service.train(market_dir, FAST, tmp_path / "models", "t")
    kw = {"models_dir": tmp_path / "models", "name": "t"}
    data = tmp_path / "data"
    shutil.copytree(market_dir, data)
    store = tmp_path / "features"
    fresh = service.score(data, asof="2003-03-04", features_dir=None, **kw).to_dict()
    assert service.score(data, features_dir=store, **kw)  # makes the snapshot (reads the panel)
    read = regime.data._load_constituents

    def refuse(*args, **kwargs):
        raise AssertionError("the constituents were read")

    monkeypatch.setattr(regime.data, "_load_constituents", refuse)
    assert service.score(data, asof="2003-03-04", features_dir=store, **kw).to_dict() == fresh
    last = service.score(data, features_dir=store, **kw).to_dict()
    monkeypatch.setattr(regime.data, "_load_constituents", read)
    assert last == service.score(data, features_dir=None, **kw).to_dict()
    monkeypatch.setattr(regime.data, "_load_constituents", refuse)
    with pytest.raises(AssertionError, match="constituents were read"):
        service.score(data, features_dir=tmp_path / "empty", **kw)  # no snapshot there: the panel is read
    monkeypatch.setattr(regime.data, "_load_constituents", read)
    rows = (data / "constituents.csv").read_text().splitlines()
    (data / "constituents.csv").write_text("\n".join(rows[:-50]) + "\n")  # a changed file: not an exact hit
    monkeypatch.setattr(regime.data, "_load_constituents", refuse)
    with pytest.raises(AssertionError, match="constituents were read"):
        service.score(data, features_dir=store, **kw)


def test_a_recorded_morning_reads_no_panel_and_the_daily_job_no_fitting_library(market_dir, tmp_path, monkeypatch):
    """Re-running a recorded morning stops before the constituents are read; the job itself loads neither
    scikit-learn nor SciPy's statistics (a subprocess)."""
    service.train(market_dir, FAST, tmp_path / "models", "t")
    kw = {"models_dir": tmp_path / "models", "name": "t", "features_dir": tmp_path / "features"}
    code = ("import sys\nfrom regime import service\n"
            "run = service.daily(sys.argv[1], models_dir=sys.argv[2], name='t', features_dir=sys.argv[3])\n"
            "print(run.recorded, sorted(m for m in ('sklearn', 'scipy.stats', 'scipy.signal', 'statsmodels')"
            " if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code, str(market_dir), str(kw["models_dir"]), str(kw["features_dir"])],
                          capture_output=True, text=True, check=True)
    assert proc.stdout.split() == ["True", "[]"]

    def unread(*args, **kwargs):
        raise AssertionError("the constituents were read")

    monkeypatch.setattr("regime.data._load_constituents", unread)
    assert service.daily(market_dir, **kw).recorded is False

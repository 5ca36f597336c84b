"""Shared fixtures: small built-in markets and a fast model config."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pandas as pd
import pytest
from pydantic import TypeAdapter

from regime.config import Config, EstimatorConfig, TrainConfig, default_model
from regime.data import load_data
from regime.pipeline import fit_regime_model
from regime.synth import simulate_market, write_market

# ../shared/data/real beside the project; REGIME_REAL_DATA points elsewhere (e.g. from a git worktree)
REAL_DATA = Path(os.environ.get("REGIME_REAL_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data" / "real")


def load_script(name: str):
    """Import ``scripts/<name>.py`` as a module (the scripts are not part of the package)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / "scripts" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def fast_config(**model) -> Config:
    """Defaults with fewer restarts (or a single model with these settings, a jump model unless ``kind`` is
    given, with 2 restarts and the default members' weight), and a shorter minimum history."""
    base = default_model()
    if model:
        m = TypeAdapter(EstimatorConfig).validate_python({"n_init": 2, "weight": base.members[0].weight, **model})
    else:
        m = base.model_copy(update={"members": tuple(x.model_copy(update={"n_init": 2}) for x in base.members)})
    return Config(model=m, train=TrainConfig(min_days=252))


@pytest.fixture(autouse=True)
def _own_working_directory(tmp_path_factory):
    """Each test runs in a fresh directory, so default output directories (``features/`` snapshots that score,
    signal and features write, ``models/``) never land in the project. (Not through ``monkeypatch``: a test's
    ``monkeypatch.undo()`` would undo it too.)"""
    before = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    yield
    os.chdir(before)


@pytest.fixture(scope="session")
def market():
    """8 years x 120 stocks of the built-in market (seed 11)."""
    return simulate_market(seed=11, years=8, n_stocks=120)


@pytest.fixture(scope="session")
def market_dir(market, tmp_path_factory) -> Path:
    """The small market written as CSV, the way a user would supply it."""
    return write_market(market, tmp_path_factory.mktemp("market"), "csv")


@pytest.fixture(scope="session")
def data(market_dir):
    return load_data(market_dir, fast_config())


@pytest.fixture(scope="session")
def model(data):
    return fit_regime_model(data, fast_config())


@pytest.fixture(scope="session")
def long_market():
    """15 years x 150 stocks of the built-in market (seed 5): long enough for a walk-forward to mean something."""
    return simulate_market(seed=5, years=15, n_stocks=150)


@pytest.fixture(scope="session")
def long_data(long_market, tmp_path_factory):
    """The long market written as Parquet and loaded with the fast config."""
    return load_data(write_market(long_market, tmp_path_factory.mktemp("long"), "parquet"), fast_config())


@pytest.fixture(scope="session")
def long_walk_forward(long_data, long_market):
    """The fast config's walk-forward over the long market, scored against its truth."""
    from regime.backtest import walk_forward

    return walk_forward(long_data, fast_config(), truth=long_market.truth)


@pytest.fixture
def copy_dir(market_dir, tmp_path):
    """A fresh, editable copy of the small market directory."""

    def _copy(files=("prices.csv", "rates.csv", "constituents.csv", "truth.csv")) -> Path:
        d = tmp_path / "data"
        d.mkdir(exist_ok=True)
        for f in files:
            (d / f).write_bytes((market_dir / f).read_bytes())
        return d

    return _copy


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def cut_constituents(directory: Path, days_before_end: int) -> pd.Timestamp:
    """Drop the constituents' last ``days_before_end`` dates (a file not updated); returns its new last date."""
    path = directory / "constituents.csv"
    df = read_csv(path)
    dates = sorted(df["date"].unique())
    last = dates[-days_before_end - 1]
    df[df["date"] <= last].to_csv(path, index=False)
    return pd.Timestamp(last)


def blank_rates(directory: Path, column: str, after: str, before: str) -> None:
    """Blank one rates column strictly between two dates (a publication gap)."""
    path = directory / "rates.csv"
    df = read_csv(path)
    df.loc[(df["date"] > after) & (df["date"] < before), column] = ""
    df.to_csv(path, index=False)

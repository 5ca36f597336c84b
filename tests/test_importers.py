"""The French/FRED importer on the files as published (../shared/data/real), and stress in known crashes."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regime.allocation import allocation_backtest, signal
from regime.backtest import walk_forward
from regime.config import load_config
from regime.data import load_data
from regime.errors import DataError
from regime.importers import import_french_fred, read_fred_series, read_french_table

from .conftest import REAL_DATA

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not REAL_DATA.is_dir(), reason="../shared/data/real is not beside the project")


def test_french_table_skips_header_text_and_footer():
    f = read_french_table(REAL_DATA / "french" / "F-F_Research_Data_Factors_daily.csv")
    assert list(f.columns) == ["Mkt-RF", "SMB", "HML", "RF"]
    assert f.index[0] == pd.Timestamp("1926-07-01") and f.index.is_monotonic_increasing
    assert f.notna().all().all()


def test_french_missing_marker_becomes_nan():
    size = read_french_table(REAL_DATA / "french" / "Portfolios_Formed_on_ME_daily_VW.csv")
    assert size["<= 0"].isna().all()  # the file's -99.99
    assert "9-Dec" in size.columns and size["Hi 10"].notna().all()


def test_fred_blank_values_are_missing():
    s = read_fred_series(REAL_DATA / "fred" / "DGS10.csv")
    assert s.isna().any() and s.dropna().between(0, 20).all()


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DataError, match=r"Portfolios_Formed_on_ME_daily_VW.csv not found; point --french"):
        import_french_fred(tmp_path, REAL_DATA / "fred", tmp_path / "out")


@pytest.fixture(scope="module")
def french_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("french")
    import_french_fred(REAL_DATA / "french", REAL_DATA / "fred", out)
    return out


def test_import_follows_the_contract(french_dir):
    cfg = load_config(ROOT / "configs" / "french.yaml")
    data = load_data(french_dir, cfg)
    assert list(data.prices.columns) == ["hi10", "mkt", "ew", "med40", "lo30", "lo10"]
    assert data.closes.shape[1] == 10 and data.caps is None
    assert data.rates["fed_funds"].loc["1970":].notna().all()
    # the two DFF files are spliced: the newer one wins on their overlap
    assert data.rates["fed_funds"].loc["2020-06-01"] == pytest.approx(0.06, abs=0.05)


@pytest.fixture(scope="module")
def french_wf(french_dir):
    cfg = load_config(ROOT / "configs" / "french.yaml")
    data = load_data(french_dir, cfg).truncate("2020-12-31")
    return cfg, data, walk_forward(data, cfg, start="1985-01-02", refit_every=63)


def test_known_crashes_come_out_as_stress_within_days(french_wf):
    _, _, r = french_wf
    lab = r.labels
    for crash in ("1987-10-19", "2008-09-29", "2020-03-09"):
        window = lab.loc[crash:].iloc[:6]  # the crash day and the five trading days after it
        assert (window == "stress").any(), f"{crash}: {window.tolist()}"


def test_allocation_on_real_history(french_wf):
    """The French sleeves (no mega caps): weights sum to 1, cash earns fed funds, stress cuts equity."""
    cfg, data, r = french_wf
    res = allocation_backtest(r.probabilities, r.labels, data, cfg.allocation.model_copy(update={"placebo_draws": 5}))
    assert "mega_cap" not in res.weights.columns and "cash" in res.weights.columns
    assert np.allclose(res.weights.sum(axis=1), 1.0)
    assert res.weights.loc["2008-10-01":"2008-12-31", "cash"].mean() > res.weights.loc["2005", "cash"].mean()
    assert -1 < res.table.loc["regime", "max_drawdown"] < 0
    sig = signal(r.probabilities, r.labels, data, cfg.allocation, asof="2020-03-20")
    assert sig.regime == "stress" and sig.weights["cash"] > 0.4

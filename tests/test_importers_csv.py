"""Importing price files as downloaded (yfinance, EOD), wide panels and FRED CSVs into the data contract."""

from __future__ import annotations

import csv
import gzip
import json
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from regime.cli import app
from regime.config import Config
from regime.data import load_data
from regime.errors import ConfigError, DataError
from regime.features import build_features
from regime.importers import import_files, read_fred_series, read_price_file, read_wide_panel

from .conftest import REAL_DATA

ETF = REAL_DATA / "etf"
FRED = REAL_DATA / "fred"
real = pytest.mark.skipif(not REAL_DATA.is_dir(), reason="../shared/data/real is not beside the project")
runner = CliRunner()


def write(path: Path, text: str) -> Path:
    path.write_text(text.lstrip())
    return path


def raw_first(path: Path, column: str) -> tuple[str, float]:
    """The first row's date and value of a column, read straight from the file."""
    with path.open(newline="") as fh:
        row = next(csv.DictReader(fh))
    return row["Date"], float(row[column])


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


# ----------------------------------------------------------------------------------------- real layouts
@real
@pytest.mark.parametrize(
    "file, column, other",
    [
        ("SPY.csv", "Close", None),  # Date,Close,High,Low,Open,Volume: Close is adjusted
        ("RSP.csv", "Adj Close", "Close"),  # Date,Open,High,Low,Close,Adj Close,Volume
        ("IJH.csv", "Adjusted_close", "Close"),  # leading unnamed index column
        ("^RUT.csv", "Close", None),
    ],
)
def test_each_layout_reads_its_adjusted_close(file, column, other, caplog):
    path = ETF / file
    with caplog.at_level(logging.INFO, logger="regime.importers"):
        s = read_price_file(path)
    assert f"using column '{column}'" in caplog.text
    day, value = raw_first(path, column)
    assert s.index[0] == pd.Timestamp(day)
    assert s.iloc[0] == pytest.approx(value, rel=1e-12)
    if other is not None:  # not the unadjusted close, which differs on the first day
        assert s.iloc[0] != pytest.approx(raw_first(path, other)[1], rel=1e-3)
    n_rows = sum(1 for _ in path.open()) - 1
    assert len(s) == n_rows and s.notna().all() and s.index.is_monotonic_increasing
    assert s.index.name == "date" and s.name == file.removesuffix(".csv")


@real
def test_wide_panel_reads_with_blanks_before_listings():
    panel = read_wide_panel(ETF / "sp500_adjclose_panel.csv.gz")
    assert 480 <= panel.shape[1] <= 510
    assert panel.index[0] == pd.Timestamp("1999-12-31") and panel.index.name == "date"
    assert panel.dtypes.eq(np.float64).all()
    assert panel.loc["1999-12-31", "A"] == pytest.approx(47.8944)
    aal = panel["AAL"]
    assert np.isnan(aal.iloc[0]) and aal.notna().any()
    first = aal.first_valid_index()
    assert aal.loc[:first].iloc[:-1].isna().all() and aal.loc[first:].notna().mean() > 0.99


# ----------------------------------------------------------------------------------------- error cases
@pytest.mark.parametrize(
    "text, pattern",
    [
        ("when,Close\n2020-01-02,10\n", r"p.csv has no date column \(columns: when, Close\); name the column"),
        ("Date,Open,High,Low\n2020-01-02,1,2,0.5\n", r"p.csv has no close column \(columns: Date, Open, High, Low\)"),
        ("Date,Close\n2020-01-02,10\n2020-01-03,abc\n",
         r"p.csv: column 'Close' has non-numeric value 'abc' on 2020-01-03; fix or blank that cell"),
        ("Date,Close\n2020-01-02,10\n2020-01-03,-1\n",
         r"p.csv: column 'Close' has non-positive price -1 on 2020-01-03; prices must be > 0"),
        ("Date,Close\n2020-01-02,10\n2020-01-03,0\n", r"non-positive price 0 on 2020-01-03"),
        ("Date,Close\n2020-01-02,10\n2020-01-02,11\n", r"p.csv: date 2020-01-02 appears 2 times; keep one row"),
        ("Date,Close\n2020-01-02,10\n2020-13-45,11\n", r"p.csv: row 3 has date '2020-13-45' that cannot be parsed"),
        ("Date,Close\n2020-01-02,null\n", r"p.csv: column 'Close' has no values"),
        ("Date,Close\n", r"p.csv has a header but no rows"),
    ],
)
def test_price_file_errors_name_file_column_and_date(tmp_path, text, pattern):
    with pytest.raises(DataError, match=pattern):
        read_price_file(write(tmp_path / "p.csv", text))


def test_missing_markers_order_and_column_choice(tmp_path, caplog):
    path = write(tmp_path / "x.csv", """
Date,Close,adj_close,Volume
2020-01-06,10,5,1
2020-01-02,11,null,1
2020-01-03,12,.,1
2020-01-07,13,,1
2020-01-08,14,7,1
""")
    with caplog.at_level(logging.WARNING):
        s = read_price_file(path)
    assert "out of order; sorted them" in caplog.text
    assert list(s.index.strftime("%m-%d")) == ["01-02", "01-03", "01-06", "01-07", "01-08"]
    assert s.isna().tolist() == [True, True, False, True, False]  # adjusted column preferred, blanks missing
    assert read_price_file(path, column="CLOSE").tolist() == [11, 12, 10, 13, 14]
    with pytest.raises(DataError, match=r"x.csv has no column 'adj' \(columns: Date, Close, adj_close, Volume\)"):
        read_price_file(path, column="adj")


def test_time_of_day_and_offsets_are_dropped_and_gzip_is_read(tmp_path):
    text = "Date,Open,Close\n2020-03-06 00:00:00-05:00,1,10\n2020-03-09 00:00:00-04:00,1,11\n"
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    s = read_price_file(path)
    assert list(s.index) == [pd.Timestamp("2020-03-06"), pd.Timestamp("2020-03-09")] and s.name == "t"


@pytest.mark.parametrize(
    "text, pattern",
    [
        ("Date,A,B,A\n2020-01-02,1,2,3\n", r"w.csv: ticker A has two columns; keep one column per ticker"),
        ("Date,A,B\n2020-01-02,1,2\n2020-01-03,1,-2\n", r"w.csv: close of B is -2 on 2020-01-03; must be > 0"),
        ("Date,A,B\n2020-01-02,1,x\n", r"w.csv: column 'B' has non-numeric value 'x' on 2020-01-02"),
        ("Date,A,B\n2020-01-02,1,2\n2020-01-02,1,2\n", r"w.csv: date 2020-01-02 appears 2 times"),
        ("Date,ticker,close\n2020-01-02,A,2\n", r"w.csv has a ticker column, so it is long format"),
        ("Date,A,,B\n2020-01-02,1,2,3\n", r"w.csv: the column after 'A' has no name"),
        ("A,B\n1,2\n", r"w.csv has no date column"),
    ],
)
def test_wide_panel_errors(tmp_path, text, pattern):
    with pytest.raises(DataError, match=pattern):
        read_wide_panel(write(tmp_path / "w.csv", text))


def test_wide_panel_drops_a_leading_index_column_and_reads_parquet(tmp_path):
    path = write(tmp_path / "w.csv", ",Date,A,B\n0,2020-01-02,1,\n1,2020-01-03,2,5\n")
    panel = read_wide_panel(path)
    assert list(panel.columns) == ["A", "B"] and np.isnan(panel.loc["2020-01-02", "B"])
    panel.reset_index().to_parquet(tmp_path / "w.parquet", index=False)
    pd.testing.assert_frame_equal(read_wide_panel(tmp_path / "w.parquet"), panel)


def test_fred_reader_rejects_junk_and_repeated_dates(tmp_path):
    with pytest.raises(DataError, match=r"r.csv: column 'DGS2' has non-numeric value 'n/a\?' on 2020-01-03"):
        read_fred_series(write(tmp_path / "r.csv", "observation_date,DGS2\n2020-01-02,1.5\n2020-01-03,n/a?\n"))
    with pytest.raises(DataError, match=r"r.csv: date 2020-01-02 appears 2 times"):
        read_fred_series(write(tmp_path / "r.csv", "DATE,DFF\n2020-01-02,1.5\n2020-01-02,1.6\n"))


# ----------------------------------------------------------------------------------------- import_files
@pytest.fixture
def small_files(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    write(src / "old.csv", "Date,Close\n2020-01-02,10\n2020-01-03,11\n2020-01-06,12\n")
    write(src / "new.csv", "Date,Open,High,Low,Close,Adj Close,Volume\n"
          "2020-01-03,1,1,1,50,11.5,1\n2020-01-06,1,1,1,50,12.5,1\n2020-01-07,1,1,1,50,13,1\n")
    write(src / "eq.csv", ",Date,Open,Close,Adjusted_close\n0,2020-01-06,1,9,4\n1,2020-01-07,1,9,5\n")
    write(src / "dff_a.csv", "DATE,DFF\n2020-01-01,1.5\n2020-01-02,1.55\n2020-01-03,1.55\n")
    write(src / "dff_b.csv", "date,dff\n2020-01-03,1.60\n2020-01-04,\n2020-01-05,1.65\n")
    write(src / "vix.csv", "Date,Close,High,Low,Open,Volume\n2020-01-02,12.5,13,12,12,0\n")
    write(src / "panel.csv", "Date,A,B\n2020-01-03,1,\n2020-01-06,2,5\n2020-01-07,3,6\n")
    return src


def test_import_splices_later_file_winning_and_keeps_calendars(small_files, tmp_path):
    s = small_files
    info = import_files(
        tmp_path / "out",
        {"spx": [s / "old.csv", s / "new.csv"], "spx_ew": s / "eq.csv"},
        {"fed_funds": [s / "dff_a.csv", s / "dff_b.csv"], "vix": s / "vix.csv"},
        s / "panel.csv",
    )
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["constituents.parquet", "prices.csv", "rates.csv"]
    prices = pd.read_csv(out / "prices.csv", index_col="date")
    assert list(prices.columns) == ["spx", "spx_ew"]
    assert prices["spx"].to_dict() == {"2020-01-02": 10, "2020-01-03": 11.5, "2020-01-06": 12.5, "2020-01-07": 13}
    assert prices["spx_ew"].isna().tolist() == [True, True, False, False]  # blank before its first date
    rates = pd.read_csv(out / "rates.csv", index_col="date")
    assert rates.index.tolist() == [f"2020-01-0{d}" for d in (1, 2, 3, 4, 5)]  # their own calendar, blanks kept
    assert rates.loc["2020-01-03", "fed_funds"] == 1.60 and np.isnan(rates.loc["2020-01-04", "fed_funds"])
    assert rates.loc["2020-01-02", "vix"] == 12.5
    assert info["prices"]["spx"] == {"first": "2020-01-02", "last": "2020-01-07", "days": 4,
                                     "files": ["old.csv", "new.csv"]}
    assert info["constituents"]["tickers"] == 2 and info["days"] == 4


ALL_PRICE_ROLES = "spx,spx_ew,ndx,mid,sml,rut"  # the default roles' columns
ONES = "1,1,1,1,1,1"


def test_contract_wide_constituents_csv_and_parquet_agree(small_files, tmp_path):
    s = small_files
    import_files(tmp_path / "out", {k: s / "old.csv" for k in ALL_PRICE_ROLES.split(",")},
                 constituents=s / "panel.csv")
    data = load_data(tmp_path / "out")
    assert data.caps is None and data.sectors is None
    assert list(data.closes.columns) == ["A", "B"] and data.closes.columns.name == "ticker"
    # on the price calendar: 2020-01-02 has no panel row, 2020-01-07 has no price
    assert data.closes.index.equals(data.prices.index)
    assert data.closes["A"].isna().tolist() == [True, False, False]
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    (csv_dir / "prices.csv").write_bytes((tmp_path / "out" / "prices.csv").read_bytes())
    pd.read_parquet(tmp_path / "out" / "constituents.parquet").to_csv(csv_dir / "constituents.csv", index=False)
    pd.testing.assert_frame_equal(load_data(csv_dir).closes, data.closes)


@pytest.mark.parametrize(
    "text, pattern",
    [
        ("date,A,B\n2020-01-02,1,2\n2020-01-03,1,0\n", r"constituents.csv: close of B is 0 on 2020-01-03; must be > 0"),
        ("date,A,A\n2020-01-02,1,2\n", r"constituents.csv: ticker A has two columns"),
        ("date\n2020-01-02\n", r"constituents.csv has only a date column"),
        # the long format's own messages are unchanged
        ("date,close\n2020-01-02,1\n", r"constituents.csv has no 'ticker' column; constituents are long format"),
        ("date,ticker,close\n2020-01-02,A,1\n2020-01-02,A,2\n", r"ticker A appears twice on 2020-01-02"),
    ],
)
def test_contract_constituents_errors(tmp_path, text, pattern):
    write(tmp_path / "prices.csv", f"date,{ALL_PRICE_ROLES}\n2020-01-02,{ONES}\n2020-01-03,{ONES}\n")
    write(tmp_path / "constituents.csv", text)
    with pytest.raises(DataError, match=pattern):
        load_data(tmp_path)


def test_contract_wide_from_built_in_market_matches_long(market_dir, tmp_path):
    """The built-in market's long constituents, pivoted wide, give the same closes."""
    long = load_data(market_dir)
    wide_dir = tmp_path / "wide"
    wide_dir.mkdir()
    (wide_dir / "prices.csv").write_bytes((market_dir / "prices.csv").read_bytes())
    long.closes.rename_axis(columns=None).reset_index().to_parquet(wide_dir / "constituents.parquet", index=False)
    wide = load_data(wide_dir)
    pd.testing.assert_frame_equal(wide.closes, long.closes)
    assert wide.caps is None and wide.sectors is None


def test_failing_import_leaves_existing_out_byte_identical(small_files, tmp_path, monkeypatch):
    s = small_files
    out = tmp_path / "out"
    import_files(out, {"spx": s / "old.csv"}, {"fed_funds": s / "dff_a.csv"}, s / "panel.csv")
    before = snapshot(out)
    bad = write(s / "bad.csv", "Date,Close\n2020-01-02,10\n2020-01-03,-5\n")
    with pytest.raises(DataError, match="bad.csv"):
        import_files(out, {"spx": s / "new.csv", "sml": bad}, {"fed_funds": s / "dff_b.csv"}, s / "panel.csv")
    assert snapshot(out) == before

    # a failure while writing (after prices.csv is staged) changes nothing either, and leaves no temporary files
    from regime.importers import _csv

    real_write = _csv.write_table

    def failing(df, path):
        if path.name == "constituents.parquet":
            raise OSError("disk full")
        real_write(df, path)

    monkeypatch.setattr(_csv, "write_table", failing)
    with pytest.raises(OSError, match="disk full"):
        import_files(out, {"spx": s / "new.csv"}, {"fed_funds": s / "dff_b.csv"}, s / "panel.csv")
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src"]


def test_import_refuses_to_leave_stale_contract_files(small_files, tmp_path):
    s = small_files
    out = tmp_path / "out"
    import_files(out, {"spx": s / "old.csv"}, constituents=s / "panel.csv")
    before = snapshot(out)
    with pytest.raises(DataError, match=r"already holds constituents.parquet, which this import would not replace"):
        import_files(out, {"spx": s / "new.csv"})
    assert snapshot(out) == before


def test_import_names_and_missing_files(small_files, tmp_path):
    s = small_files
    with pytest.raises(ConfigError, match=r"price name 'spx px' cannot be a column name"):
        import_files(tmp_path / "o", {"spx px": s / "old.csv"})
    with pytest.raises(ConfigError, match=r"rate name 'date' cannot be a column name"):
        import_files(tmp_path / "o", {"spx": s / "old.csv"}, {"date": s / "dff_a.csv"})
    with pytest.raises(DataError, match=r"nope.csv not found; check the file given for rate 'fed_funds'"):
        import_files(tmp_path / "o", {"spx": s / "old.csv"}, {"fed_funds": s / "nope.csv"})
    with pytest.raises(DataError, match=r"panel.csv covers 2020-01-03..2020-01-07, no day in common with the prices"):
        import_files(tmp_path / "o", {"spx": write(s / "p.csv", "Date,Close\n2019-01-02,1\n")},
                     constituents=s / "panel.csv")
    assert not (tmp_path / "o").exists()


# ----------------------------------------------------------------------------------------- CLI
def cli(*args):
    return runner.invoke(app, ["data", "import", *map(str, args)])


@pytest.mark.parametrize("pair", ["spx", "=old.csv", "spx="])
def test_cli_bad_pair_is_one_line_and_exit_2(small_files, tmp_path, pair):
    r = cli("--out", tmp_path / "o", "--price", pair)
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: --price ") and "is not NAME=FILE" in lines[0]
    assert not (tmp_path / "o").exists()


def test_cli_pairs_splice_and_mapping_paths_are_relative_to_the_yaml(small_files, tmp_path):
    s = small_files
    r = cli("--out", tmp_path / "a", "--price", f"spx={s / 'old.csv'}", "--price", f"spx={s / 'new.csv'}",
            "--rate", f"fed_funds={s / 'dff_a.csv'}", "--constituents", s / "panel.csv", "--format", "json")
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["prices"]["spx"]["files"] == ["old.csv", "new.csv"] and info["written"][-1] == "constituents.parquet"

    write(s / "import.yaml", """
prices:
  spx: [old.csv, new.csv]
rates: {fed_funds: dff_a.csv}
constituents: panel.csv
""")
    r = cli("--out", tmp_path / "b", "--mapping", s / "import.yaml")
    assert r.exit_code == 0, r.output
    assert "prices.spx" in r.stdout and "wrote prices.csv, rates.csv, constituents.parquet" in r.stdout
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")

    write(s / "bad.yaml", "price:\n  spx: old.csv\n")
    r = cli("--out", tmp_path / "c", "--mapping", s / "bad.yaml")
    assert r.exit_code == 2 and "bad.yaml: unknown key(s) price" in r.stderr


# ----------------------------------------------------------------------------------------- real import
PRICES = {"spx": "SPY.csv", "spx_ew": "RSP.csv", "ndx": "QQQ.csv", "mid": "IJH.csv", "sml": "IJR.csv",
          "iwm": "IWM.csv", "rut": "^RUT.csv"}
RATES = {"fed_funds": ["DFF_1954_2023.csv", "DFF_1994_2026.csv"], "ust_2y": ["DGS2.csv"], "ust_10y": ["DGS10.csv"],
         "baa_spread": ["BAA10Y.csv"]}
PANEL = "sp500_adjclose_panel.csv.gz"


def import_real(etf: Path, fred: Path, out: Path) -> dict:
    return import_files(out, {k: etf / f for k, f in PRICES.items()},
                        {k: [fred / f for f in fs] for k, fs in RATES.items()}, etf / PANEL)


@pytest.fixture(scope="module")
def real_dir(tmp_path_factory):
    if not REAL_DATA.is_dir():
        pytest.skip("../shared/data/real is not beside the project")
    out = tmp_path_factory.mktemp("etf") / "data"
    import_real(ETF, FRED, out)
    return out


@real
def test_real_import_loads_under_the_default_roles_with_breadth(real_dir):
    cfg = Config()  # the columns are named after the default roles: no roles section needed
    data = load_data(real_dir, cfg)
    assert list(data.prices.columns) == list(PRICES)
    assert data.prices.index[0] == pd.Timestamp("1987-09-10")  # the union calendar starts with ^RUT
    assert data.prices["spx"].first_valid_index() == pd.Timestamp("1993-01-29")
    assert data.prices.loc["2003-05-01", "spx_ew"] == pytest.approx(raw_first(ETF / "RSP.csv", "Adj Close")[1])
    assert data.closes.shape == (len(data.prices), 503) and data.caps is None
    fed = data.rates["fed_funds"]
    old, new = (read_fred_series(FRED / f) for f in RATES["fed_funds"])
    assert fed.loc["1990-01-02"] == old.loc["1990-01-02"]  # before the newer file starts
    assert fed.loc["2012-12-31"] == new.loc["2012-12-31"] == pytest.approx(0.09)
    spliced = pd.read_csv(real_dir / "rates.csv", index_col="date", parse_dates=True)["fed_funds"]
    assert spliced.first_valid_index() == old.index[0]
    assert spliced.last_valid_index() == new.index[-1] > old.index[-1]
    feats = build_features(data, cfg)
    br = feats["br_above_50d"]
    assert br.loc[:"2000-02-01"].isna().all()  # the panel starts 1999-12-31: 50 days of warm-up
    assert br.loc["2000-06-01":].notna().all() and br.loc["2000-06-01":].between(0, 1).all()
    assert br.loc["2008-10-10"] < 0.05 < 0.9 < br.loc["2009-06-01":"2009-06-30"].max()  # the crash and the rebound
    assert "px_ew_cw_spread" not in feats  # breadth comes from the panel, not the index proxies


def cut_file(src: Path, dst: Path, end: str) -> None:
    """Copy a file as published, keeping the header and the rows dated on or before ``end``."""
    opener = gzip.open if src.suffix == ".gz" else open
    with opener(src, "rt") as fh:
        lines = fh.read().splitlines(keepends=True)
    date = re.compile(r"(\d{4}-\d{2}-\d{2})")
    keep = [lines[0]] + [ln for ln in lines[1:] if date.search(ln).group(1) <= end]
    with opener(dst, "wt") as fh:
        fh.write("".join(keep))


@real
def test_prefix_importing_files_cut_at_a_date_gives_the_same_features(real_dir, tmp_path):
    end = "2008-06-30"
    etf, fred = tmp_path / "etf", tmp_path / "fred"
    etf.mkdir()
    fred.mkdir()
    for f in [*PRICES.values(), PANEL]:
        cut_file(ETF / f, etf / f, end)
    for f in sum(RATES.values(), []):
        cut_file(FRED / f, fred / f, end)
    import_real(etf, fred, tmp_path / "cut")
    cfg = Config()
    full = build_features(load_data(real_dir, cfg), cfg).loc[:end]
    cut = build_features(load_data(tmp_path / "cut", cfg), cfg)
    assert cut.index[-1] == pd.Timestamp(end) and cut["br_above_50d"].notna().sum() > 1500
    pd.testing.assert_frame_equal(cut, full)

"""Feature snapshots: extended day by day they give exactly a full rebuild's features; stale ones are never used."""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

import regime.features._snapshot as snapshot
from regime.config import Config, FeaturesConfig, RolesConfig
from regime.data import MarketData, load_data
from regime.features import assemble_features, build_features, cached_aggregates, cached_features
from regime.features._panel import panel_aggregates
from regime.features._snapshot import snapshot_key

from ..conftest import fast_config, read_csv


def assert_identical(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Same columns, dates, values and NaNs, bit for bit."""
    assert list(a.columns) == list(b.columns) and a.index.equals(b.index)
    for c in a.columns:
        assert np.array_equal(a[c].to_numpy(), b[c].to_numpy(), equal_nan=True), c


def no_panel_work(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the panel was recomputed")

    monkeypatch.setattr(snapshot, "panel_aggregates", fail)


def test_extended_day_by_day_and_in_chunks_equals_a_full_rebuild(data, tmp_path):
    """Constituents with caps and sectors: every extension gives exactly build_features of the same data."""
    cfg, store = fast_config(), tmp_path / "features"
    first = 600
    assert cached_aggregates(data.truncate(data.dates[first]), cfg, store).status == "built"
    before = first
    for k in (601, 602, 603, 604, 650, 1100, len(data.dates) - 1):
        past = data.truncate(data.dates[k])
        snap = cached_aggregates(past, cfg, store)
        assert (snap.status, snap.computed_days) == ("extended", k - before)
        assert_identical(assemble_features(past, cfg, snap.aggregates), build_features(past, cfg))
        before = k
    meta = json.loads((snap.path / "meta.json").read_text())
    assert meta["through"] == str(data.dates[-1].date()) and meta["rows"] == len(data.dates)


def test_indices_only_market_needs_no_snapshot(data, tmp_path):
    bare = MarketData(prices=data.prices, rates=data.rates, closes=None, caps=None, roles=data.roles,
                      files=data.files, source=data.source)
    cfg, store = fast_config(), tmp_path / "features"
    for k in (700, 701, 702, 1500):
        past = bare.truncate(bare.dates[k])
        assert cached_aggregates(past, cfg, store).status == "none"
        assert_identical(cached_features(past, cfg, store), build_features(past, cfg))
    assert not store.exists()


def test_unchanged_files_are_an_exact_hit_without_panel_work(data, tmp_path, monkeypatch):
    cfg, store = fast_config(), tmp_path / "features"
    full = cached_features(data, cfg, store)
    no_panel_work(monkeypatch)
    snap = cached_aggregates(data, cfg, store)
    assert (snap.status, snap.computed_days) == ("exact", 0)
    assert_identical(cached_features(data, cfg, store), full)
    # an as-of run before the snapshot's last day, on the same files, is a hit too
    day = data.dates[900]
    assert cached_aggregates(data.truncate(day), cfg, store).status == "exact"
    assert_identical(cached_features(data.truncate(day), cfg, store), full.loc[:day])


def revise_close(directory, day: str, factor: float) -> None:
    """Change one constituent's close on one day, as a data vendor's revision would."""
    path = directory / "constituents.csv"
    df = read_csv(path)
    row = df.index[df["date"] == day][0]
    df.loc[row, "close"] = f"{float(df.loc[row, 'close']) * factor:.6f}"
    df.to_csv(path, index=False)


def test_a_revision_before_the_snapshot_rebuilds_in_full(copy_dir, tmp_path, caplog):
    d, cfg, store = copy_dir(), fast_config(), tmp_path / "features"
    data = load_data(d, cfg)
    day = data.dates[1200]
    cached_aggregates(data.truncate(day), cfg, store)
    revise_close(d, str(data.dates[1000].date()), 1.3)
    revised = load_data(d, cfg)
    with caplog.at_level(logging.WARNING, logger="regime.features._snapshot"):
        snap = cached_aggregates(revised, cfg, store)
    assert (snap.status, snap.computed_days) == ("rebuilt", len(revised.dates))
    assert "changed since feature snapshot" in caplog.text
    assert_identical(cached_features(revised, cfg, store), build_features(revised, cfg))
    old = panel_aggregates(data.closes, data.caps, data.sectors, cfg.features)
    assert not snap.aggregates["names_mean"].equals(old["names_mean"])  # the revision shows


def test_data_ending_before_a_snapshot_it_cannot_check_leaves_it_alone(copy_dir, tmp_path):
    d, cfg, store = copy_dir(), fast_config(), tmp_path / "features"
    data = load_data(d, cfg)
    snap = cached_aggregates(data, cfg, store)
    meta = (snap.path / "meta.json").read_text()
    revise_close(d, str(data.dates[300].date()), 0.7)
    revised = load_data(d, cfg).truncate(data.dates[800])
    again = cached_aggregates(revised, cfg, store)
    assert again.status == "uncached"
    assert_identical(assemble_features(revised, cfg, again.aggregates), build_features(revised, cfg))
    assert (snap.path / "meta.json").read_text() == meta


def test_a_new_rates_file_keeps_the_panel(copy_dir, tmp_path, monkeypatch):
    """Rates feed only the series features: a revised rate changes the files, not the panel aggregates."""
    d, cfg, store = copy_dir(), fast_config(), tmp_path / "features"
    data = load_data(d, cfg)
    cached_aggregates(data, cfg, store)
    rates = read_csv(d / "rates.csv")
    rates.loc[100, rates.columns[1]] = "9.99"
    rates.to_csv(d / "rates.csv", index=False)
    revised = load_data(d, cfg)
    no_panel_work(monkeypatch)
    snap = cached_aggregates(revised, cfg, store)
    assert (snap.status, snap.computed_days) == ("extended", 0)
    assert cached_aggregates(revised, cfg, store).status == "exact"  # the meta now names the new files


def test_config_and_data_directory_change_the_key(data, tmp_path):
    cfg = fast_config()
    key = snapshot_key(data, cfg)
    assert snapshot_key(data, fast_config()) == key
    other = cfg.model_copy(update={"features": FeaturesConfig(breadth_window=42)})
    assert snapshot_key(data, other) != key
    assert snapshot_key(data, Config(roles=RolesConfig(mega_cap=None))) != snapshot_key(data, Config())
    moved = MarketData(prices=data.prices, rates=data.rates, closes=data.closes, caps=data.caps, roles=data.roles,
                       files=data.files, source=tmp_path, sectors=data.sectors)
    assert snapshot_key(moved, cfg) != key
    store = tmp_path / "features"
    cached_aggregates(data, cfg, store)
    assert cached_aggregates(data, other, store).status == "built"  # its own snapshot, beside the first
    assert len(list(store.iterdir())) == 2


def test_a_snapshot_that_disagrees_with_its_meta_is_never_used(data, tmp_path, caplog):
    """A truncated file, or the aggregates of one writer beside another's meta.json, is rebuilt."""
    cfg, store = fast_config(), tmp_path / "features"
    snap = cached_aggregates(data.truncate(data.dates[800]), cfg, store)
    other = cached_aggregates(data.truncate(data.dates[900]), cfg, tmp_path / "other")
    (snap.path / "aggregates.parquet").write_bytes((other.path / "aggregates.parquet").read_bytes())
    with caplog.at_level(logging.WARNING, logger="regime.features._snapshot"):
        again = cached_aggregates(data.truncate(data.dates[800]), cfg, store)
    assert again.status == "built" and "does not match its meta.json" in caplog.text
    (snap.path / "aggregates.parquet").write_bytes(b"PAR1 truncated")
    again = cached_aggregates(data.truncate(data.dates[850]), cfg, store)
    assert again.status == "built"
    assert_identical(assemble_features(data.truncate(data.dates[850]), cfg, again.aggregates),
                     build_features(data.truncate(data.dates[850]), cfg))


def test_concurrent_runs_leave_a_whole_snapshot(data, tmp_path):
    cfg, store = fast_config(), tmp_path / "features"
    cuts = [data.dates[k] for k in (700, 900, 1100, 1300)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda day: cached_aggregates(data.truncate(day), cfg, store), cuts))
    snap = cached_aggregates(data, cfg, store)
    # the last writer of the aggregates may not be the last writer of meta.json: then the pair disagrees and
    # is rebuilt ("built"), never used; either way the features are right and the next run is an exact hit
    assert snap.status in ("exact", "extended", "built")
    assert_identical(assemble_features(data, cfg, snap.aggregates), build_features(data, cfg))
    assert cached_aggregates(data, cfg, store).status == "exact"
    assert sorted(p.name for p in snap.path.iterdir()) == ["aggregates.parquet", "meta.json"]  # no temporaries


def test_unwritable_store_still_computes(data, tmp_path):
    blocker = tmp_path / "features"
    blocker.write_text("a file where the store should be")
    cfg = fast_config()
    past = data.truncate(data.dates[700])
    assert_identical(cached_features(past, cfg, blocker), build_features(past, cfg))


def test_no_store_is_build_features(data):
    past = data.truncate(data.dates[700])
    assert_identical(cached_features(past, fast_config(), None), build_features(past, fast_config()))

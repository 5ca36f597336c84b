"""Feature snapshots: the constituents' daily aggregates stored through a day, and extended exactly.

The costly part of the features is the constituents panel (thousands of names every day). Its daily
aggregates (:func:`regime.features._panel.panel_aggregates`) depend only on each day's own lookback window and
are computed so that their bits do not depend on where the computation started. So a run can store them, and a
later run on the same data with more days computes only the new days from the panel's last lookback rows, and
gets bit-for-bit what a full rebuild would. Everything else (relative strength, rates, risk, and the trailing
means and z-scores of the aggregates) is recomputed over the whole history every run; it is cheap.

A snapshot lives in ``<store>/<key>/``: ``aggregates.parquet`` (one row per trading day through its last day T)
and ``meta.json``. The key hashes the feature-relevant config (features, roles, data settings), the snapshot
format version and the data directory; ``meta.json`` records T, the SHA-256 of each input file, SHA-256s of
the loaded panel (dates, tickers, closes, caps and sectors) through T, one per block of days (so checking the
old days and hashing the new ones is one pass), and the SHA-256 of ``aggregates.parquet``.

Loading, with data ending on day D:

- the input files are byte-identical and D <= T: an exact hit, no panel work at all;
- else the loaded panel cut at T hashes as before (D >= T): the old days are unchanged, so only the days after
  T are computed (from the lookback rows before them), appended and saved;
- else, if D >= T, something before T was revised: logged, rebuilt in full and saved; if D < T the snapshot
  cannot be checked against the shorter data, which is computed in full and the snapshot left alone.

The panel hash covers only what the aggregates are computed from: prices and rates feed only the series
features, which are recomputed every run, so a revised rate does not force a panel rebuild. A snapshot that
does not match its ``meta.json`` (a concurrent writer, a truncated file) is rebuilt, never used: two runs at
once each write whole files by atomic rename, and the last writer wins.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._io import atomic_path, atomic_write_json
from ..config import Config
from ..data import MarketData
from ._build import assemble_features
from ._panel import aggregate_columns, panel_aggregates, panel_lookback

__all__ = ["PanelSnapshot", "SNAPSHOT_VERSION", "cached_aggregates", "cached_features", "panel_digest",
           "snapshot_key"]

log = logging.getLogger(__name__)

#: Bump whenever the aggregates' code or the snapshot layout changes: old snapshots then miss (a new key).
SNAPSHOT_VERSION = 1

#: How a call got its aggregates.
STATUSES = {
    "exact": "the input files are unchanged: read from the snapshot",
    "extended": "the panel through the snapshot's last day is unchanged: only later days computed",
    "built": "no usable snapshot: computed in full and saved",
    "rebuilt": "the panel changed before the snapshot's last day: computed in full and saved",
    "uncached": "the data ends before the snapshot and differs from it: computed in full, snapshot left alone",
    "none": "no constituents: nothing to store",
}


@dataclass(frozen=True)
class PanelSnapshot:
    """The panel aggregates of a data set, and how the store provided them.

    Attributes
    ----------
    aggregates : DataFrame or None
        One row per day of the data (None without constituents).
    status : str
        One of :data:`STATUSES`.
    key : str or None
        The snapshot's key (None without constituents).
    path : Path or None
        The snapshot's directory.
    computed_days : int
        Days whose aggregates this call computed (0 on an exact hit).
    """

    aggregates: pd.DataFrame | None
    status: str
    key: str | None = None
    path: Path | None = None
    computed_days: int = 0

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {sorted(STATUSES)}, not {self.status!r}")
        if self.computed_days < 0:
            raise ValueError("computed_days must be >= 0")
        if (self.aggregates is None) != (self.status == "none"):
            raise ValueError("aggregates are None exactly when the data has no constituents")
        if self.aggregates is not None and self.computed_days > len(self.aggregates):
            raise ValueError("computed_days exceeds the days of the aggregates")


def snapshot_key(data: MarketData, config: Config) -> str:
    """16 hex digits naming a snapshot: the feature-relevant config, the format version, the data directory."""
    ident = {
        "version": SNAPSHOT_VERSION,
        "features": config.features.model_dump(mode="json"),
        "roles": config.roles.model_dump(mode="json"),
        "data": config.data.model_dump(mode="json"),
        "source": str(Path(data.source).resolve()),
    }
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]


#: Rows per block of the panel hash: a snapshot stores one SHA-256 per block, so checking the old days and
#: hashing the new ones is a single pass, spread over threads.
HASH_BLOCK = 1024


def panel_digest(data: MarketData, rows: int) -> list[str]:
    """SHA-256 of the loaded panel's first ``rows`` days, per block of :data:`HASH_BLOCK` days.

    Each block hashes its dates, then the tickers and values of closes, caps and sectors, ticker by ticker
    (each ticker's values in date order, whatever the arrays' memory layout). The blocks are hashed in
    threads (hashlib releases the GIL).
    """
    return _block_digests(data, range(0, rows, HASH_BLOCK), rows)


def _block_digests(data: MarketData, starts: range | list[int], rows: int) -> list[str]:
    from concurrent.futures import ThreadPoolExecutor

    arrays = [(name, None if (f := getattr(data, name)) is None else f.to_numpy(dtype=np.float64, copy=False),
               None if f is None else f"{f.shape[1]}:{chr(31).join(map(str, f.columns))}".encode())
              for name in ("closes", "caps", "sectors")]
    dates = data.dates.asi8

    def one(a: int) -> str:
        b = min(a + HASH_BLOCK, rows)
        h = hashlib.sha256(np.ascontiguousarray(dates[a:b]).data)
        for name, values, header in arrays:
            h.update(f"\n{name}:".encode())
            if values is None:
                h.update(b"none")
                continue
            h.update(header)
            block = values[a:b]
            if block.strides[0] == block.itemsize:  # each ticker's values are contiguous (column-major)
                for j in range(block.shape[1]):
                    h.update(block[:, j].data)
            else:
                h.update(np.ascontiguousarray(block.T).data)
        return h.hexdigest()

    starts = list(starts)
    if len(starts) <= 1:
        return [one(a) for a in starts]
    with ThreadPoolExecutor(max_workers=min(len(starts), 4)) as pool:
        return list(pool.map(one, starts))


def cached_features(data: MarketData, config: Config, store: str | Path | None = "features",
                    columns: list[str] | None = None) -> pd.DataFrame:
    """:func:`regime.features.build_features`, with the panel aggregates from a snapshot in ``store``.

    The result equals ``build_features(data, config)`` exactly (same values, same NaNs), whether the
    aggregates came from the snapshot, were extended from it or rebuilt. ``store=None`` bypasses snapshots.
    ``data.files`` must describe the data (as :func:`regime.data.load_data` sets it): byte-identical input
    files are trusted to load to the same panel. ``columns``: compute only what gives them (see
    :func:`regime.features.assemble_features`).
    """
    if data.panel_file is not None:  # the panel was not read: only an exact snapshot can stand in for it
        agg = stored_aggregates(data, config, store)
        if agg is None:
            raise ValueError(f"{data.panel_file} was not read and no feature snapshot of these files is in {store}; "
                             "load the data with its panel")
        return assemble_features(data, config, agg, columns)
    if store is None or data.closes is None:
        return assemble_features(data, config, None if data.closes is None else
                                 panel_aggregates(data.closes, data.caps, data.sectors, config.features), columns)
    return assemble_features(data, config, cached_aggregates(data, config, store).aggregates, columns)


def stored_aggregates(data: MarketData, config: Config, store: str | Path | None = "features") -> pd.DataFrame | None:
    """The snapshot's aggregates of ``data``'s days when its input files are byte-identical to ``data.files``
    (an exact hit), read without the panel; None otherwise.

    This is how data loaded with ``load_data(..., panel=False)`` gets its panel features: the snapshot was made
    from the same bytes, so its aggregates are the ones the panel would give, and a day's aggregates use the
    panel up to that day only, so ``data`` may end before the snapshot does.
    """
    if store is None:
        return None
    folder = Path(store) / snapshot_key(data, config)
    try:
        columns = json.loads((folder / "meta.json").read_text()).get("columns")
    except (OSError, ValueError):
        return None
    meta, stored = _read(folder, columns)
    n = len(data.dates)
    if meta is None or stored is None or not data.files or data.files != meta["files"] or len(stored) < n \
            or not stored.index[:n].equals(data.dates):
        return None
    return stored.iloc[:n]


def cached_aggregates(data: MarketData, config: Config, store: str | Path = "features") -> PanelSnapshot:
    """The panel aggregates of ``data``, from, extending or rebuilding the snapshot in ``store``.

    Returns
    -------
    PanelSnapshot
        The aggregates (one row per day of ``data``) and how they were obtained (see the module docstring).
    """
    if data.closes is None:
        return PanelSnapshot(None, "none")
    cfg = config.features
    key = snapshot_key(data, config)
    folder = Path(store) / key
    n = len(data.dates)
    columns = aggregate_columns(cfg, data.caps is not None, data.sectors is not None)
    meta, stored = _read(folder, columns)

    def full(status: str) -> PanelSnapshot:
        agg = panel_aggregates(data.closes, data.caps, data.sectors, cfg)
        if status != "uncached":
            _write(folder, key, agg, data, panel_digest(data, n), panel_lookback(cfg))
        return PanelSnapshot(agg, status, key, folder, n)

    if meta is None or stored is None:
        return full("built")
    rows = len(stored)
    same_dates = data.dates[:min(n, rows)].equals(stored.index[:min(n, rows)])
    if data.files and data.files == meta["files"] and n <= rows and same_dates:
        log.debug("feature snapshot %s: exact hit through %s", key, data.dates[-1].date())
        return PanelSnapshot(stored.iloc[:n], "exact", key, folder, 0)
    last = stored.index[-1].date()
    if n < rows:
        log.info("feature snapshot %s runs to %s, after the data's last day %s, and the files differ: computing "
                 "the features without it", key, last, data.dates[-1].date())
        return full("uncached")
    if same_dates and panel_digest(data, rows) == meta["panel_blocks"]:
        agg = stored
        if n > rows:
            new = panel_aggregates(data.closes, data.caps, data.sectors, cfg, start=rows)
            agg = pd.DataFrame({c: np.concatenate([stored[c].to_numpy(), new[c].to_numpy()]) for c in columns},
                               index=data.dates, columns=columns)
        if n > rows or data.files != meta["files"]:
            whole = rows // HASH_BLOCK  # complete blocks keep their digests; the rest is hashed again
            blocks = meta["panel_blocks"][:whole] + _block_digests(data, range(whole * HASH_BLOCK, n, HASH_BLOCK), n)
            _write(folder, key, agg, data, blocks, panel_lookback(cfg))
        log.info("feature snapshot %s: extended by %d day(s) from %s", key, n - rows, last)
        return PanelSnapshot(agg, "extended", key, folder, n - rows)
    log.warning("the constituents data through %s changed since feature snapshot %s was made (a revision): "
                "rebuilding the panel features in full", last, key)
    return full("rebuilt")


def _read(folder: Path, columns: list[str]) -> tuple[dict[str, Any] | None, pd.DataFrame | None]:
    """A snapshot's meta and aggregates, or (None, None) when absent, unreadable or inconsistent (logged)."""
    meta_path, agg_path = folder / "meta.json", folder / "aggregates.parquet"
    if not meta_path.is_file():
        return None, None
    try:
        meta = json.loads(meta_path.read_text())
        raw = agg_path.read_bytes()
    except (OSError, ValueError) as exc:
        log.warning("feature snapshot %s unreadable (%s): rebuilding it", folder, exc)
        return None, None
    if (meta.get("version") != SNAPSHOT_VERSION or meta.get("columns") != columns
            or meta.get("hash_block") != HASH_BLOCK
            or hashlib.sha256(raw).hexdigest() != meta.get("aggregates_sha256")):
        log.warning("feature snapshot %s does not match its meta.json (another version, or written by two runs "
                    "at once): rebuilding it", folder)
        return None, None
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(raw))
    frame = pd.DataFrame({c: table.column(c).to_numpy() for c in columns},
                         index=pd.DatetimeIndex(table.column("date").to_numpy(), name="date"), columns=columns)
    if len(frame) != meta.get("rows") or not len(frame):
        log.warning("feature snapshot %s holds %d rows, its meta.json says %s: rebuilding it", folder,
                    len(frame), meta.get("rows"))
        return None, None
    return meta, frame


def _write(folder: Path, key: str, agg: pd.DataFrame, data: MarketData, blocks: list[str], lookback: int) -> None:
    """Save aggregates and meta atomically (each file whole; the meta names the aggregates' hash)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"date": pa.array(agg.index.to_numpy()),
                      **{c: pa.array(agg[c].to_numpy()) for c in agg.columns}})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    raw = sink.getvalue()
    meta = {
        "version": SNAPSHOT_VERSION,
        "key": key,
        "source": str(Path(data.source).resolve()),
        "first": str(agg.index[0].date()),
        "through": str(agg.index[-1].date()),
        "rows": len(agg),
        "lookback": lookback,
        "files": dict(data.files),
        "hash_block": HASH_BLOCK,
        "panel_blocks": blocks,
        "aggregates_sha256": hashlib.sha256(raw).hexdigest(),
        "columns": list(agg.columns),
        "written": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    try:
        with atomic_path(folder / "aggregates.parquet") as tmp:
            tmp.write_bytes(raw)
        atomic_write_json(folder / "meta.json", meta)
    except OSError as exc:  # a cache that cannot be written must not stop the run
        log.warning("could not save feature snapshot %s (%s); the features are computed, not stored", folder, exc)

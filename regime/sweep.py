"""Sweeps: many walk-forwards from one YAML grid, side by side, locally or on a Dask cluster.

A grid names **datasets** (data directories, and synthetic markets by seed and variant, which know their true
regimes) and **configs** (config files and settings merged into them or into the defaults). Every dataset
runs every config: each pair is one walk-forward (:func:`regime.backtest.walk_forward`) and one row of a tidy
table, with its accuracy, switches, detection lag and calibration where the truth is known, the dated episodes
it passes where an episodes file is given, and its time. A run that fails records its one-line error; the
others go on.

The grid is a YAML mapping::

    datasets:                      # required: one entry or more
      - synthetic:                 # simulated markets (regime.synth), one per variant and seed
          seeds: [1, 2]            # a number or a list
          variants: [base]         # names in regime.synth.VARIANTS (default base)
          years: 12                # default 12
          stocks: 150              # default 150 (a variant may fix its own)
        name: synth                # optional prefix of the datasets' names: synth-base-s1, synth-base-s2
      - path: data/french          # a data directory; its truth.csv, if any, gives accuracy
        name: french               # default: the directory's name
        episodes: episodes.csv     # optional: dated episodes to judge the labels by
        set: {roles: {mega_cap: null}}  # optional: settings every config gets on this dataset
    configs:                       # optional (default: the built-in default config)
      - name: default              # the built-in defaults
      - file: rules.yaml           # a config file; its name defaults to the file's stem
      - name: hmm                  # settings merged into the defaults (or into `file`)
        set: {model: {kind: hmm, n_init: 3}}
      - jump.yaml                  # shorthand for {file: jump.yaml}
    walk_forward:                  # optional, for every run
      start: 2005-01-03            # first out-of-sample day (default: after train.min_days)
      refit_every: 21              # trading days between refits (default: the config's backtest.refit_every)
      window: expanding            # or rolling:N (default: the config's backtest.window)

Relative paths are relative to the grid file. Settings merge key by key into mappings; any other value (a list, a
number) replaces. The whole grid is checked before anything runs: a bad key or value is a one-line
:class:`~regime.errors.ConfigError` naming it. Data directories and episodes files are read by the runs (on a
cluster they must exist on the workers), so a missing one fails its runs only.

Each run is self-contained and seeded by the grid (market seeds, the configs' ``random_state``), runs with one
BLAS thread and its estimators' ``n_jobs`` at 1, so the same grid gives the same rows (all but ``seconds``) on
one process, on joblib's loky workers or on a Dask cluster of identical software.
"""

from __future__ import annotations

import contextlib
import logging
import math
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from .config import (
    BacktestConfig,
    Config,
    EnsembleConfig,
    config_from_mapping,
    merge_settings,
    read_yaml_mapping,
)
from .errors import ConfigError, DataError, RegimeError
from .variants import MIN_STOCKS, VARIANTS

__all__ = ["COLUMNS", "Dataset", "SweepGrid", "SweepResult", "SweepRun", "read_grid", "run_sweep", "write_sweep"]

log = logging.getLogger(__name__)

#: The columns of the results table, in order.
COLUMNS = (
    "run_id", "dataset", "config", "source", "status",
    "balanced_accuracy", "switches_per_year", "truth_switches_per_year", "median_lag_days", "changes_missed",
    "brier", "ece", "episodes_passed", "episodes_evaluated", "first_day", "last_day", "days", "refits",
    "seconds", "error", "notes",
)
_FLOATS = ("balanced_accuracy", "switches_per_year", "truth_switches_per_year", "median_lag_days", "brier", "ece",
           "seconds")
_COUNTS = ("changes_missed", "episodes_passed", "episodes_evaluated", "days", "refits")

#: Progress of a sweep: ``progress(done, total, run_id, status)`` after each finished run.
RunProgress = Callable[[int, int, str, str], None]

#: Seconds to wait for a Dask scheduler to answer, and for its first worker.
DASK_TIMEOUT = 30


# ------------------------------------------------------------------------------------------- the grid file
class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _listed(v: Any) -> Any:
    """A single value where a list is expected: a list of one."""
    return [v] if isinstance(v, (int, str)) else v


class SyntheticSpec(_Spec):
    """``synthetic:`` of a dataset entry: markets from :func:`regime.synth.simulate_market`."""

    seeds: tuple[int, ...] = Field(min_length=1)
    variants: tuple[str, ...] = Field(("base",), min_length=1)
    years: float = Field(12.0, gt=0, le=200)
    stocks: int = Field(150, ge=MIN_STOCKS)

    as_lists = field_validator("seeds", "variants", mode="before")(_listed)

    @field_validator("variants")
    @classmethod
    def _known(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [x for x in v if x not in VARIANTS]
        if unknown:
            raise ValueError(f"unknown variant {unknown[0]!r}; choose from {', '.join(VARIANTS)}")
        return v


class DatasetSpec(_Spec):
    """One entry of ``datasets:``: a data directory (``path``) or synthetic markets (``synthetic``)."""

    name: str | None = None
    path: str | None = None
    synthetic: SyntheticSpec | None = None
    episodes: str | None = None
    overrides: dict[str, Any] = Field(default_factory=dict, alias="set")

    @model_validator(mode="after")
    def _one_source(self) -> DatasetSpec:
        if (self.path is None) == (self.synthetic is None):
            raise ValueError("give a data directory (path) or synthetic markets (synthetic), one of the two")
        return self


class ConfigSpec(_Spec):
    """One entry of ``configs:``: a config file and/or settings merged into it (or into the defaults)."""

    name: str | None = None
    file: str | None = None
    overrides: dict[str, Any] = Field(default_factory=dict, alias="set")


class WalkForwardSpec(_Spec):
    """``walk_forward:``: the schedule every run uses (unset: each config's ``backtest`` section)."""

    start: str | None = None
    refit_every: int | None = Field(None, ge=1)
    window: str | None = None

    @field_validator("start", mode="before")
    @classmethod
    def _day(cls, v: Any) -> Any:
        if v is None:
            return v
        try:
            return str(pd.Timestamp(str(v)).date())
        except (ValueError, TypeError):
            raise ValueError(f"{v!r} is not a date; write it as YYYY-MM-DD") from None

    @field_validator("window")
    @classmethod
    def _window(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                BacktestConfig(window=v)
            except ValidationError:
                raise ValueError("window must be 'expanding' or 'rolling:N' with N >= 20 trading days") from None
        return v


class GridSpec(_Spec):
    """The grid file."""

    datasets: tuple[DatasetSpec, ...] = Field(min_length=1)
    configs: tuple[ConfigSpec, ...] = Field((ConfigSpec(),), min_length=1)
    walk_forward: WalkForwardSpec = Field(default_factory=WalkForwardSpec)

    @field_validator("configs", mode="before")
    @classmethod
    def _files(cls, v: Any) -> Any:
        return [{"file": c} if isinstance(c, str) else c for c in v] if isinstance(v, list) else v


def _explain(path: Path, err: ErrorDetails) -> str:
    """One validation error of the grid as one line: where in the grid, and what to do."""
    where = ""
    for part in err["loc"]:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    where = where or "(top level)"
    if err["type"] == "extra_forbidden":
        return f"sweep grid {path}: {where} is not a grid setting; remove it or fix its spelling (see configs/sweep.yaml)"
    if err["type"] == "missing":
        return f"sweep grid {path}: {where} is missing; add it (see configs/sweep.yaml)"
    if err["type"] == "too_short":
        return f"sweep grid {path}: {where} is empty; give it at least one entry"
    msg = err["msg"].removeprefix("Value error, ")
    return f"sweep grid {path}: {where}: {msg}; fix that entry"


# ------------------------------------------------------------------------------------------- runs
@dataclass(frozen=True)
class Dataset:
    """One dataset of a sweep: a data directory, or one synthetic market.

    Attributes
    ----------
    name : str
    path : str or None
        An absolute data directory.
    synthetic : dict or None
        ``seed``, ``variant``, ``years``, ``stocks`` of :func:`regime.synth.simulate_market`.
    episodes : str or None
        An absolute episodes CSV.
    """

    name: str
    path: str | None = None
    synthetic: dict[str, Any] | None = None
    episodes: str | None = None

    def __post_init__(self) -> None:
        if (self.path is None) == (self.synthetic is None):
            raise ValueError("a dataset is a data directory or a synthetic market, one of the two")

    @property
    def source(self) -> str:
        """Where the data comes from, in words."""
        if self.path is not None:
            return self.path
        s = self.synthetic
        return f"synthetic {s['variant']} seed {s['seed']}, {s['years']:g} years x {s['stocks']} names"


@dataclass(frozen=True)
class SweepRun:
    """One walk-forward of a sweep: a dataset, a resolved config and the schedule.

    The config's models have ``n_jobs`` 1: the sweep already runs walk-forwards side by side.
    """

    run_id: str
    dataset: Dataset
    config_name: str
    config: Config
    start: str | None = None
    refit_every: int | None = None
    window: str | None = None


@dataclass(frozen=True)
class SweepGrid:
    """A checked grid: its datasets, its config names and every run (datasets outer, configs inner)."""

    path: Path
    datasets: tuple[Dataset, ...]
    configs: tuple[str, ...]
    runs: tuple[SweepRun, ...]

    def __post_init__(self) -> None:
        ids = [r.run_id for r in self.runs]
        if len(set(ids)) != len(ids):
            raise ValueError("run ids must be unique")
        if len(ids) != len(self.datasets) * len(self.configs):
            raise ValueError("a grid runs every config on every dataset")


def _one_process(cfg: Config) -> Config:
    """``cfg`` with every model's own ``n_jobs`` at 1: a sweep already fills the workers with walk-forwards."""

    def serial(m):
        return m.model_copy(update={"n_jobs": 1}) if "n_jobs" in type(m).model_fields else m

    model = cfg.model
    if isinstance(model, EnsembleConfig):
        model = model.model_copy(update={"members": tuple(serial(m) for m in model.members)})
    else:
        model = serial(model)
    return cfg.model_copy(update={"model": model})


def _resolve(base: Path, p: str) -> str:
    """``p`` as an absolute path, relative ones taken from ``base`` (the grid's directory)."""
    q = Path(p).expanduser()
    return str(q if q.is_absolute() else (base / q).resolve())


def _unique(names: list[str], what: str, path: Path) -> None:
    seen: set[str] = set()
    for n in names:
        if not n or "/" in n:
            raise ConfigError(f"sweep grid {path}: {what} name {n!r} is empty or has a '/'; give it another name:")
        if n in seen:
            raise ConfigError(f"sweep grid {path}: two {what}s are named {n!r}; give each its own name:")
        seen.add(n)


def read_grid(path: str | Path) -> SweepGrid:
    """Read and check a sweep grid, resolving every config, before anything runs.

    Parameters
    ----------
    path : str or Path
        The grid YAML (format: this module's docstring).

    Returns
    -------
    SweepGrid

    Raises
    ------
    ConfigError
        One line naming the grid entry (or the config field) at fault.
    """
    path = Path(path)
    raw = read_yaml_mapping(path, "sweep grid", missing="pass a grid YAML (see configs/sweep.yaml)",
                            holds="datasets, configs and walk_forward")
    try:
        spec = GridSpec.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_explain(path, exc.errors()[0])) from None
    base = path.resolve().parent

    datasets: list[tuple[Dataset, int]] = []  # each dataset and the entry it comes from
    for i, d in enumerate(spec.datasets):
        episodes = _resolve(base, d.episodes) if d.episodes is not None else None
        if d.synthetic is None:
            full = _resolve(base, d.path)
            datasets.append((Dataset(d.name or Path(full).name, path=full, episodes=episodes), i))
            continue
        s = d.synthetic
        for variant in s.variants:
            for seed in s.seeds:
                syn = {"seed": seed, "variant": variant, "years": s.years, "stocks": s.stocks}
                datasets.append((Dataset(f"{d.name or 'synth'}-{variant}-s{seed}", synthetic=syn,
                                         episodes=episodes), i))
    _unique([d.name for d, _ in datasets], "dataset", path)

    configs: list[tuple[str, dict[str, Any]]] = []
    for j, c in enumerate(spec.configs):
        settings: dict[str, Any] = {}
        if c.file is not None:
            settings = read_yaml_mapping(_resolve(base, c.file), "config file",
                                         missing=f"fix configs[{j}].file in the sweep grid {path}",
                                         holds="sections (roles, features, model, regimes)")
        name = c.name or (Path(c.file).stem if c.file is not None else "default")
        configs.append((name, merge_settings(settings, c.overrides)))
    _unique([n for n, _ in configs], "config", path)

    resolved: dict[tuple[int, int], Config] = {}  # (dataset entry, config): the config that pair runs with
    runs = []
    wf = spec.walk_forward
    for d, i in datasets:
        extra = spec.datasets[i].overrides
        for j, (name, settings) in enumerate(configs):
            if (i, j) not in resolved:
                where = f"sweep grid {path}: config {name!r}" + (f" with datasets[{i}].set" if extra else "")
                cfg = config_from_mapping(merge_settings(settings, extra), where)
                resolved[i, j] = _one_process(cfg)
            runs.append(SweepRun(f"{d.name}/{name}", d, name, resolved[i, j], wf.start, wf.refit_every, wf.window))
    return SweepGrid(path, tuple(d for d, _ in datasets), tuple(n for n, _ in configs), tuple(runs))


# ------------------------------------------------------------------------------------------- one run
def _one_line(exc: BaseException) -> str:
    """An exception as one line: the engine's own messages as they are, others with their type."""
    text = str(exc) if isinstance(exc, RegimeError) else f"{type(exc).__name__}: {exc}"
    line = " ".join(text.split())
    return line if len(line) <= 400 else line[:399] + "…"


class _Notes(logging.Handler):
    """Collects the engine's warnings during a run (stale inputs...), instead of printing them from a worker."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        line = " ".join(record.getMessage().split())
        if line not in self.lines:
            self.lines.append(line)


@contextlib.contextmanager
def _quiet_run() -> Iterator[_Notes]:
    """One BLAS thread, Python warnings off, the engine's log warnings collected: what every run runs in."""
    from threadpoolctl import threadpool_limits

    logger = logging.getLogger("regime")
    notes = _Notes()
    old = logger.propagate
    logger.addHandler(notes)
    logger.propagate = False
    try:
        with threadpool_limits(limits=1), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield notes
    finally:
        logger.removeHandler(notes)
        logger.propagate = old


def _walk(run: SweepRun, directory: Path) -> dict[str, Any]:
    """Walk forward on one data directory and evaluate: the row's measured columns."""
    from .backtest import read_truth, walk_forward
    from .data import load_data
    from .episodes import evaluate_episodes, read_episodes

    cfg = run.config
    episodes = read_episodes(run.dataset.episodes, list(cfg.regimes)) if run.dataset.episodes else None
    data = load_data(directory, cfg)
    result = walk_forward(data, cfg, start=run.start, refit_every=run.refit_every, window=run.window,
                          truth=read_truth(directory))
    s, t = result.summary, result.truth or {}
    row = {
        "balanced_accuracy": t.get("balanced_accuracy"), "switches_per_year": s["switches_per_year"],
        "truth_switches_per_year": t.get("truth_switches_per_year"),
        "median_lag_days": t.get("median_detection_lag_days"), "changes_missed": t.get("changes_missed"),
        "brier": t.get("brier"), "ece": t.get("ece"),
        "first_day": s["first_day"], "last_day": s["last_day"], "days": s["days"], "refits": s["refits"],
    }
    if episodes is not None:
        report = evaluate_episodes(result.labels, episodes, data.dates)
        row.update(episodes_passed=report.passed, episodes_evaluated=report.evaluated)
    return row


def run_one(run: SweepRun) -> dict[str, Any]:
    """Run one walk-forward of a sweep and return its row; an error fails this run only (``status``, ``error``).

    Self-contained: a synthetic market is simulated and written to a temporary directory here, so the run
    needs nothing from the process that submitted it but ``run``.
    """
    from .synth import simulate_market, write_market

    t0 = time.perf_counter()
    row: dict[str, Any] = {"run_id": run.run_id, "dataset": run.dataset.name, "config": run.config_name,
                           "source": run.dataset.source, "status": "ok", "error": "", "notes": ""}
    try:
        with _quiet_run() as notes, tempfile.TemporaryDirectory(prefix="regime-sweep-") as tmp:
            if run.dataset.synthetic is not None:
                s = run.dataset.synthetic
                market = simulate_market(seed=s["seed"], years=s["years"], n_stocks=s["stocks"],
                                         options=VARIANTS[s["variant"]])
                directory = write_market(market, Path(tmp) / "data", "parquet")
            else:
                directory = Path(run.dataset.path)
                if not directory.is_dir():
                    raise DataError(f"dataset {run.dataset.name}: data directory {directory} not found; fix its path "
                                    "in the grid (on a cluster, it must exist on every worker)")
            row.update(_walk(run, directory))
            row["notes"] = " | ".join(notes.lines)
    except Exception as exc:  # noqa: BLE001 - a failed run is reported in its row; the others go on
        row.update(status="failed", error=_one_line(exc))
    row["seconds"] = round(time.perf_counter() - t0, 2)
    return row


def _failed_row(run: SweepRun, error: str) -> dict[str, Any]:
    return {"run_id": run.run_id, "dataset": run.dataset.name, "config": run.config_name,
            "source": run.dataset.source, "status": "failed", "error": error, "notes": ""}


def _table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The rows as the tidy table: every column of :data:`COLUMNS`, floats as floats, counts as nullable ints."""
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    for c in _FLOATS:
        table[c] = pd.to_numeric(table[c], errors="coerce").astype(float)
    for c in _COUNTS:
        table[c] = pd.to_numeric(table[c], errors="coerce").astype("Int64")
    for c in ("error", "notes"):
        table[c] = table[c].fillna("").astype(str)
    return table


# ------------------------------------------------------------------------------------------- the sweep
@dataclass(frozen=True, eq=False)
class SweepResult:
    """A finished sweep: one row per run, and where it ran.

    Attributes
    ----------
    grid : str
        The grid file.
    table : DataFrame
        One row per run, in grid order (datasets outer, configs inner), columns :data:`COLUMNS`.
    backend : str
        Where the runs ran ("this process", "loky, 2 workers", "dask tcp://...").
    seconds : float
        Wall time of the sweep.
    files : dict
        What :func:`write_sweep` wrote (``table``, ``summary``, ``chart``): empty until then.
    """

    grid: str
    table: pd.DataFrame
    backend: str
    seconds: float
    files: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if tuple(self.table.columns) != COLUMNS:
            raise ValueError("the table's columns must be COLUMNS")
        if not self.table["run_id"].is_unique:
            raise ValueError("one row per run: run ids must be unique")
        status = self.table["status"]
        if not status.isin(["ok", "failed"]).all():
            raise ValueError("status must be 'ok' or 'failed'")
        if ((status == "failed") != (self.table["error"] != "")).any():
            raise ValueError("a failed run, and only a failed run, has an error")

    @property
    def failed(self) -> int:
        """Runs that failed."""
        return int((self.table["status"] == "failed").sum())

    def by_config(self) -> dict[str, dict[str, Any]]:
        """Per config, over its successful runs: mean accuracy, switches, lag and calibration, episodes passed."""
        out = {}
        for name, part in self.table.groupby("config", sort=False):
            ok = part[part["status"] == "ok"]

            def mean(col: str) -> float | None:
                v = ok[col].dropna()
                return round(float(v.mean()), 4) if len(v) else None

            passed, evaluated = ok["episodes_passed"].dropna(), ok["episodes_evaluated"].dropna()
            n_eval = int(evaluated.sum())
            out[str(name)] = {
                "runs": int(len(part)), "failed": int(len(part) - len(ok)),
                "balanced_accuracy": mean("balanced_accuracy"), "switches_per_year": mean("switches_per_year"),
                "median_lag_days": mean("median_lag_days"), "brier": mean("brier"), "ece": mean("ece"),
                "episodes_passed": int(passed.sum()) if len(passed) else None,
                "episodes_evaluated": n_eval if len(evaluated) else None,
                "episode_pass_rate": round(int(passed.sum()) / n_eval, 4) if n_eval else None,
                "seconds": round(float(part["seconds"].sum()), 1),
            }
        return out

    def summary(self) -> dict[str, Any]:
        """The JSON summary: the grid, the backend, the counts, each config's means and every failure."""
        failures = self.table[self.table["status"] == "failed"]
        return {
            "grid": self.grid, "backend": self.backend, "runs": int(len(self.table)),
            "ok": int(len(self.table) - self.failed), "failed": self.failed, "seconds": round(self.seconds, 1),
            "by_config": self.by_config(),
            "failures": [{"run_id": r, "error": e} for r, e in zip(failures["run_id"], failures["error"])],
            "files": dict(self.files),
        }

    def to_dict(self) -> dict[str, Any]:
        """What ``regime sweep --format json`` prints: the summary and every row (NaN as null)."""
        rows = self.table.astype(object).where(self.table.notna(), None).to_dict(orient="records")
        return {**self.summary(), "rows": [{k: _plain(v) for k, v in r.items()} for r in rows]}


def _plain(v: Any) -> Any:
    """A JSON-ready scalar: numpy and pandas numbers to Python, NaN to None."""
    if v is None or v is pd.NA:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    return None if isinstance(v, float) and math.isnan(v) else v


@contextlib.contextmanager
def _backend(n_jobs: int | None, scheduler: str | None) -> Iterator[tuple[int, str]]:
    """The joblib backend the runs go to, and ``(n_jobs, description)`` for :class:`joblib.Parallel`.

    Locally, loky processes (``n_jobs``; None means 1, which runs here). With ``scheduler``, a Dask cluster
    through ``joblib.parallel_config(backend="dask")``; Dask is imported only then.
    """
    from joblib import effective_n_jobs, parallel_config

    if scheduler is None:
        n = effective_n_jobs(n_jobs or 1)
        yield n, ("this process" if n == 1 else f"loky, {n} workers")
        return
    try:
        from dask.distributed import Client
    except ImportError:
        raise ConfigError(f"--scheduler {scheduler} needs Dask: pip install 'regime[dask]'") from None
    try:
        client = Client(scheduler, timeout=f"{DASK_TIMEOUT}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(f"--scheduler {scheduler}: no Dask scheduler answered ({_one_line(exc)}); start one with "
                          "`dask scheduler` and pass its tcp://HOST:PORT") from None
    try:
        try:
            client.wait_for_workers(1, timeout=DASK_TIMEOUT)
        except (TimeoutError, OSError):
            raise ConfigError(f"--scheduler {scheduler}: no Dask worker joined in {DASK_TIMEOUT} s; start one with "
                              f"`dask worker {scheduler}`") from None
        threads = sum(client.nthreads().values())
        with parallel_config(backend="dask", client=client):
            yield (n_jobs or -1), f"dask {scheduler} ({len(client.nthreads())} workers, {threads} threads)"
    finally:
        client.close()


def run_sweep(grid: SweepGrid, n_jobs: int | None = None, scheduler: str | None = None,
              progress: RunProgress | None = None) -> SweepResult:
    """Run every walk-forward of a grid: in this process, on ``n_jobs`` local processes, or on a Dask cluster.

    Parameters
    ----------
    grid : SweepGrid
        From :func:`read_grid`.
    n_jobs : int, optional
        Local processes (joblib loky; -1: every core; None: 1, in this process). With ``scheduler``, the most
        runs in flight at once (default: every worker thread).
    scheduler : str, optional
        A Dask scheduler's address, ``tcp://HOST:PORT``.
    progress : callable, optional
        ``progress(done, total, run_id, status)`` after each finished run, in the order they finish.

    Returns
    -------
    SweepResult
        The rows in grid order; they do not depend on ``n_jobs`` or ``scheduler`` (but ``seconds``).
    """
    from joblib import Parallel, delayed

    t0 = time.perf_counter()
    total = len(grid.runs)
    rows: dict[str, dict[str, Any]] = {}
    with _backend(n_jobs, scheduler) as (n, where):
        log.info("sweep %s: %d runs on %s", grid.path, total, where)
        jobs = Parallel(n_jobs=n, return_as="generator_unordered", batch_size=1)(
            delayed(run_one)(run) for run in grid.runs)
        try:
            for row in jobs:
                rows[row["run_id"]] = row
                if progress is not None:
                    progress(len(rows), total, row["run_id"], row["status"])
        except Exception as exc:  # noqa: BLE001 - a worker died (killed, out of memory): its unfinished runs fail
            log.error("sweep: %s; the unfinished runs are marked failed", _one_line(exc))
            for run in grid.runs:
                if run.run_id not in rows:
                    rows[run.run_id] = _failed_row(run, f"worker lost: {_one_line(exc)}")
    table = _table([rows[r.run_id] for r in grid.runs])
    return SweepResult(str(grid.path), table, where, time.perf_counter() - t0)


def table_suffix(out: str | Path) -> str:
    """The results table's format from its suffix, ``.csv`` or ``.parquet``; anything else is a ConfigError."""
    suffix = Path(out).suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ConfigError(f"--out {out}: the results table is written as .csv or .parquet; name it so")
    return suffix


def write_sweep(result: SweepResult, out: str | Path, chart: str | Path | None = None) -> SweepResult:
    """Write the table (CSV or Parquet by ``out``'s suffix), its JSON summary beside it and the summary chart.

    The summary is ``out`` with ``.json``, the chart ``chart`` (default: ``out`` with ``.png``). Every file is
    written atomically; those beside ``out`` move into place together.

    Returns
    -------
    SweepResult
        ``result`` with ``files`` filled in.
    """
    from dataclasses import replace

    from ._io import atomic_write_json, staged_directory
    from .data import write_table
    from .plotting import plot_sweep

    out = Path(out)
    table_suffix(out)
    chart = Path(chart) if chart is not None else out.with_suffix(".png")
    summary_path = out.with_suffix(".json")
    files = {"table": str(out), "summary": str(summary_path), "chart": str(chart)}
    result = replace(result, files=files)
    title = f"Sweep {Path(result.grid).name}: {len(result.table)} walk-forwards, {result.failed} failed"
    together = chart.resolve().parent == out.resolve().parent
    with staged_directory(out.parent) as staged:
        write_table(result.table.set_index("run_id"), staged / out.name)
        atomic_write_json(staged / summary_path.name, result.summary())
        if together:
            plot_sweep(result.table, staged / chart.name, title=title)
    if not together:
        plot_sweep(result.table, chart, title=title)
    return result

#!/usr/bin/env python
"""Benchmark: scoring one day with a feature snapshot (the daily-data issue's targets).

Writes the built-in 16-year x 400-name market in a temporary directory (or takes ``--data``), trains the default
model once, warms a feature snapshot, and measures:

(a) ``regime score`` end to end, as a subprocess of this checkout, with a warm snapshot: wall time and the
    process's peak RSS (targets: < 1.5 s and < 300 MB); once with the snapshot up to date (the input files
    unchanged) and once with it one day behind (the data has one new day);
(b) ``regime --help`` wall time (target: < 0.5 s);
(c) in process, with the model loaded and a :class:`regime.scoring.DailyScorer` holding the days before: its
    ``update`` with the data that adds the new day (target: < 20 ms); the scorer's one-off priming on the history
    is reported beside it, and its label must equal ``score_day``'s.

Each figure is the median of ``--repeat`` runs. The machine is measured as it is: other processes make every
figure slower.

    python scripts/bench_score.py                     # builds the market (about a minute), trains, measures
    python scripts/bench_score.py --data DIR --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGETS = {"score_seconds": 1.5, "score_peak_mb": 300.0, "help_seconds": 0.5, "in_process_ms": 20.0}
FILES = ("prices", "rates", "constituents")


#: A small launcher: it runs the command and writes that child's peak RSS (KB) to the file named first. The
#: measurement goes through it because Linux counts a forked child's peak from its parent's memory at the fork,
#: and this script holds the market and a model by then.
LAUNCH = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[2:]); "
          "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); "
          "sys.exit(p.returncode)")


def child_peak(args: list[str], cwd: Path) -> tuple[float, float, str]:
    """Run ``python -m regime.cli ARGS`` from this checkout: wall seconds, the command's own peak RSS in MB, and
    its stdout."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as peak:
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", LAUNCH, peak.name, sys.executable, "-m", "regime.cli", *args],
                              cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=err)
        wall = time.perf_counter() - t0
        if proc.returncode:
            err.seek(0)
            sys.exit(f"regime {' '.join(args)} failed: {err.read().decode().strip()}")
        rss_kb = float(peak.read())
    return wall, rss_kb / 1024, proc.stdout.decode()


def cut_last_day(src: Path, dst: Path) -> str:
    """Copy a data directory without its last price day; returns that day."""
    import pandas as pd

    from regime.data import write_table

    dst.mkdir(parents=True, exist_ok=True)
    last = None
    for stem in FILES:
        for path in (src / f"{stem}.csv", src / f"{stem}.parquet"):
            if not path.is_file():
                continue
            df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype=str)
            dates = pd.to_datetime(df["date"])
            if stem == "prices":
                last = dates.max()
            df = df[dates < last].set_index("date")
            write_table(df, dst / path.name)
    return str(last.date())


def restore(backup: Path, store: Path) -> None:
    shutil.rmtree(store, ignore_errors=True)
    shutil.copytree(backup, store)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=None, help="a data directory (default: the built-in 16y x 400)")
    ap.add_argument("--years", type=float, default=16.0, help="years of the built-in market (default 16)")
    ap.add_argument("--stocks", type=int, default=400, help="names of the built-in market (default 400)")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per figure (default 5)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")

    from regime import service
    from regime.artifacts import load_artifact
    from regime.data import load_data
    from regime.scoring import DailyScorer, score_day
    from regime.synth import simulate_market, write_market

    with tempfile.TemporaryDirectory(prefix="bench-score-") as tmp:
        tmp = Path(tmp)
        full = tmp / "full"
        if args.data is None:
            print(f"writing the built-in market: {args.years:g} years x {args.stocks} names (CSV)", flush=True)
            write_market(simulate_market(seed=0, years=args.years, n_stocks=args.stocks), full, "csv")
        else:
            shutil.copytree(args.data, full)
        data_dir = tmp / "data"  # the directory scored: first without its last day, then with it
        new_day = cut_last_day(full, data_dir)
        print("training the default model", flush=True)
        trained = service.train(full, None, tmp / "models", "bench")
        artifact = str(trained.path)
        store = tmp / "work" / "features"  # `regime score` writes its snapshots under ./features
        (tmp / "work").mkdir()
        score_args = ["score", "--data", str(data_dir), "--model", artifact, "--format", "json"]
        child_peak(score_args, tmp / "work")  # the snapshot through the day before the new one
        behind = tmp / "behind"
        shutil.copytree(store, behind)
        for stem in FILES:
            for path in full.glob(f"{stem}.*"):
                shutil.copy2(path, data_dir / path.name)

        figures: dict[str, float] = {}
        behind_runs, runs = [], []
        for _ in range(args.repeat):  # (a) alternately: one day behind (extended by the new day), then up to date
            restore(behind, store)
            behind_runs.append(child_peak(score_args, tmp / "work"))
            runs.append(child_peak(score_args, tmp / "work"))
        assert json.loads(behind_runs[-1][2]) == json.loads(runs[-1][2])
        assert json.loads(runs[-1][2])["asof"] == new_day
        figures["score_behind_seconds"] = statistics.median(r[0] for r in behind_runs)
        figures["score_behind_peak_mb"] = max(r[1] for r in behind_runs)
        figures["score_seconds"] = statistics.median(r[0] for r in runs)
        figures["score_peak_mb"] = max(r[1] for r in runs)
        figures["help_seconds"] = statistics.median(  # (b)
            child_peak(["--help"], tmp / "work")[0] for _ in range(args.repeat))

        # (c) in process: the model loaded, a scorer holding the days before the new one
        rmodel, _ = load_artifact(Path(artifact))
        data = load_data(data_dir, rmodel.config)
        before = data.truncate(data.dates[-2])
        reference = score_day(rmodel, data)
        update_ms, prime_s = [], []
        for _ in range(args.repeat + 1):
            t0 = time.perf_counter()
            scorer = DailyScorer(rmodel, before)
            t1 = time.perf_counter()
            result = scorer.update(data)
            t2 = time.perf_counter()
            assert (result.regime, result.days_in_regime) == (reference.regime, reference.days_in_regime)
            assert all(abs(result.probabilities[k] - v) < 1e-9 for k, v in reference.probabilities.items())
            prime_s.append(t1 - t0)
            update_ms.append((t2 - t1) * 1000)
        figures["in_process_ms"] = statistics.median(update_ms[1:])  # the first run warms caches
        figures["prime_seconds"] = statistics.median(prime_s[1:])

    checks = [
        ("score_seconds", f"regime score, snapshot up to date: {figures['score_seconds']:.2f} s",
         figures["score_seconds"] < TARGETS["score_seconds"], f"< {TARGETS['score_seconds']} s"),
        ("score_peak_mb", f"regime score, snapshot up to date: peak RSS {figures['score_peak_mb']:.0f} MB",
         figures["score_peak_mb"] < TARGETS["score_peak_mb"], f"< {TARGETS['score_peak_mb']:.0f} MB"),
        ("score_behind_seconds", f"regime score, snapshot one day behind: {figures['score_behind_seconds']:.2f} s, "
         f"peak RSS {figures['score_behind_peak_mb']:.0f} MB",
         figures["score_behind_seconds"] < TARGETS["score_seconds"]
         and figures["score_behind_peak_mb"] < TARGETS["score_peak_mb"],
         f"< {TARGETS['score_seconds']} s, < {TARGETS['score_peak_mb']:.0f} MB"),
        ("help_seconds", f"regime --help: {figures['help_seconds']:.2f} s",
         figures["help_seconds"] < TARGETS["help_seconds"], f"< {TARGETS['help_seconds']} s"),
        ("in_process_ms", f"in process, one new day (DailyScorer.update): {figures['in_process_ms']:.1f} ms "
         f"(priming the scorer on the history, once: {figures['prime_seconds']:.2f} s)",
         figures["in_process_ms"] < TARGETS["in_process_ms"],
         f"< {TARGETS['in_process_ms']:.0f} ms"),
    ]
    market = str(args.data) if args.data else f"built-in {args.years:g} years x {args.stocks} names (CSV)"
    print(f"\nScoring one day on {market}, median of {args.repeat} runs, {os.cpu_count()} cores:")
    for _, text, ok, target in checks:
        print(f"  [{'PASS' if ok else 'FAIL'}] {text}  (target {target})")
    if args.json is not None:
        args.json.write_text(json.dumps({"market": market, "figures": figures, "targets": TARGETS,
                                         "passed": {k: bool(ok) for k, _, ok, _ in checks}}, indent=2) + "\n")
    return 0 if all(ok for _, _, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())

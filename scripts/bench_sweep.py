#!/usr/bin/env python
"""Benchmark: a sweep of 8 walk-forwards on 2 local workers against 1.

The grid is 8 synthetic markets (seeds 1-8 of the built-in market, 20 years x 300 names unless told otherwise)
under one config (default: the built-in default), written to a temporary grid file and run by
`regime.sweep.run_sweep` twice: in this process (1 worker), then on joblib's loky backend with 2 worker
processes (their start-up counts). Each walk-forward takes 10-20 s on the project's 2-core machine, long enough
that starting the workers does not dominate. Target: 2 workers finish in at most 0.6 x the time of 1.

It prints both wall times, the ratio and PASS/FAIL, and checks that both runs gave the same rows (all but
seconds). The machine's load average is printed before and after: other jobs sharing the cores slow the
2-worker run more than the 1-worker one, so a loaded machine gives a pessimistic ratio.

    python scripts/bench_sweep.py
    python scripts/bench_sweep.py --years 10 --json bench_sweep.json
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one thread per worker
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from regime._io import atomic_write_json  # noqa: E402
from regime.sweep import read_grid, run_sweep  # noqa: E402

#: 2 workers must take at most this share of 1 worker's wall time.
TARGET_RATIO = 0.6


def grid_text(runs: int, years: float, stocks: int, config: Path | None) -> str:
    """The benchmark's grid: ``runs`` synthetic markets (seeds 1..runs) under one config."""
    entry = f"{{file: {config.resolve()}}}" if config is not None else "{name: default}"
    seeds = ", ".join(str(s) for s in range(1, runs + 1))
    return (f"datasets:\n  - synthetic: {{seeds: [{seeds}], years: {years:g}, stocks: {stocks}}}\n"
            f"configs:\n  - {entry}\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=8, help="walk-forwards in the grid (default 8)")
    ap.add_argument("--years", type=float, default=20.0, help="years of each synthetic market (default 20)")
    ap.add_argument("--stocks", type=int, default=300, help="names of each synthetic market (default 300)")
    ap.add_argument("--config", type=Path, default=None, help="config YAML (default: the built-in default)")
    ap.add_argument("--workers", type=int, default=2, help="local worker processes of the parallel run (default 2)")
    ap.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        path = Path(tmp) / "grid.yaml"
        path.write_text(grid_text(args.runs, args.years, args.stocks, args.config))
        grid = read_grid(path)
        load_before = os.getloadavg()
        print(f"{len(grid.runs)} walk-forwards ({args.years:g} years x {args.stocks} names, "
              f"{grid.configs[0]} config); load average {load_before[0]:.1f}", file=sys.stderr)
        one = run_sweep(grid, n_jobs=1)
        print(f"1 worker: {one.seconds:.1f} s", file=sys.stderr)
        many = run_sweep(grid, n_jobs=args.workers)
        load_after = os.getloadavg()
    same = one.table.drop(columns="seconds").equals(many.table.drop(columns="seconds"))
    ratio = many.seconds / one.seconds
    ok = ratio <= TARGET_RATIO and one.failed == 0 and many.failed == 0
    run_s = one.table["seconds"]
    print(f"walk-forwards: {len(grid.runs)}, each {run_s.min():.1f}-{run_s.max():.1f} s alone "
          f"(mean {run_s.mean():.1f} s); failed: {one.failed} and {many.failed}")
    print(f"1 worker ({one.backend}): {one.seconds:.1f} s")
    print(f"{args.workers} workers ({many.backend}): {many.seconds:.1f} s")
    print(f"ratio {ratio:.2f} (target <= {TARGET_RATIO}); same rows on both: {'yes' if same else 'NO'}")
    print(f"load average (1 min) before {load_before[0]:.1f}, after {load_after[0]:.1f} on {os.cpu_count()} cores")
    print(f"[{'PASS' if ok else 'FAIL'}] {args.workers} workers finish in at most {TARGET_RATIO} x the time of 1")
    if args.json is not None:
        atomic_write_json(args.json, {
            "runs": len(grid.runs), "years": args.years, "stocks": args.stocks, "config": grid.configs[0],
            "workers": args.workers, "one_worker_seconds": round(one.seconds, 2),
            "many_workers_seconds": round(many.seconds, 2), "ratio": round(ratio, 3), "target": TARGET_RATIO,
            "same_rows": bool(same), "failed": [one.failed, many.failed],
            "run_seconds": [round(float(s), 2) for s in run_s],
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_after], "cpu_count": os.cpu_count(), "pass": ok,
        })
        print(f"wrote {args.json}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Benchmark: time and peak memory of writing, reading, features and the walk-forward as the market grows.

Builds the built-in market at several sizes (or reuses them from --data-dir), then runs each measurement as a
user would, in a subprocess of its own, so its wall time, CPU time and peak memory (the RSS high-water mark of
that process, from wait4) are its own:

- synth: ``regime data synth`` (simulate the market and write it);
- read: ``load_data`` alone (``python -c``): every file read and validated, constituents into wide arrays;
- features: ``regime features --data DIR --out FILE --no-cache`` (read, every feature computed in full);
- backtest: ``regime backtest`` end to end (read, features, walk-forward, labels written).

It prints how time and memory grow from 300 to 1,000 to 3,000 names (30 years) and from 10 to 30 years
(3,000 names), and the targets of the scale issue with PASS/FAIL:

- features for 3,000 names x 30 years (Parquet), end to end: under 10 s and under 4 GB;
- ``regime backtest`` on 30 years x 300 names (CSV), end to end: under 20 s;
- writing the 3,000 x 30 market (``regime data synth``): under 4 GB.

Times are wall-clock on this machine as it is (its load average is printed); a target whose size was not run
is SKIP. The exit status is 1 if a target FAILs.

    python scripts/bench_scale.py                          # every size (about 2 minutes on 2 cores)
    python scripts/bench_scale.py --quick                  # tiny sizes: a smoke test, targets not judged
    python scripts/bench_scale.py --data-dir /tmp/markets  # keep the markets there (and reuse them next time)
    python scripts/bench_scale.py --names 300 --years 30 --steps read,features --json scale.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

STEPS = ("synth", "read", "features", "backtest")

#: The scale issue's targets: (step, years, names, format) -> (seconds, peak MB), None where not targeted.
TARGETS = {
    ("features", 30.0, 3000, "parquet"): (10.0, 4096.0),
    ("backtest", 30.0, 300, "csv"): (20.0, None),
    ("synth", 30.0, 3000, "parquet"): (None, 4096.0),
}

QUICK = {"names": "40,80", "years": "3,4", "backtest": "4x40"}
FULL = {"names": "300,1000,3000", "years": "10,30", "backtest": "30x300"}

READ = "import sys; from regime.data import load_data; load_data(sys.argv[1])"

#: What every step pays before it starts: Python and the engine's imports (pandas, pyarrow, scikit-learn, scipy).
STARTUP = "import regime.backtest"


def measure(cmd: list[str], env: dict[str, str], cwd: Path) -> dict:
    """Run ``cmd``: its wall and CPU seconds and peak RSS in MB (its own, from wait4), or its error."""
    with tempfile.TemporaryFile() as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        tail = log.read().decode(errors="replace").strip().splitlines()[-3:]
    peak = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)  # bytes on macOS, KB on Linux
    out = {"seconds": round(wall, 2), "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
           "peak_mb": round(peak, 1), "ok": proc.returncode == 0}
    if proc.returncode != 0:
        out["error"] = " | ".join(tail)
    return out


def markets(names: list[int], years: list[float], fmt: str,
            backtest: tuple[float, int] | None) -> dict[tuple[float, int, str], set[str]]:
    """Every market, (years, names, format), and what runs on it: names at the most years and years at the most
    names are read and get features; the backtest's market (CSV) is backtested."""
    out: dict[tuple[float, int, str], set[str]] = {}
    for size in [(max(years), n, fmt) for n in names] + [(y, max(names), fmt) for y in years]:
        out.setdefault(size, set()).update({"synth", "read", "features"})
    if backtest is not None:
        out.setdefault((backtest[0], backtest[1], "csv"), set()).update({"synth", "backtest"})
    return dict(sorted(out.items(), key=lambda kv: (kv[0][2], kv[0][1], kv[0][0])))


def market_dir(root: Path, years: float, names: int, fmt: str) -> Path:
    return root / f"{years:g}y_{names}_{fmt}"


def run(args: argparse.Namespace) -> dict:
    names = [int(n) for n in args.names.split(",")]
    years = [float(y) for y in args.years.split(",")]
    backtest = None
    if args.backtest != "none":
        y, n = args.backtest.lower().split("x")
        backtest = (float(y), int(n))
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise SystemExit(f"error: unknown step {unknown[0]!r}; choose from {', '.join(STEPS)}")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    if args.threads is not None:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(args.threads)
    cli = [sys.executable, "-m", "regime.cli"]
    config = ["--config", str(args.config)] if args.config else []
    runs = []
    with tempfile.TemporaryDirectory(prefix="regime-scale-") as tmp:
        root = Path(args.data_dir) if args.data_dir else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        work = Path(tmp)
        startup = measure([sys.executable, "-c", STARTUP], env, work)
        for (y, n, fmt), what in markets(names, years, args.format, backtest).items():
            d = market_dir(root, y, n, fmt)
            row = {"years": y, "names": n, "format": fmt, "dir": str(d)}
            wanted = [s for s in steps if s in what]
            if not wanted:
                continue
            if (d / f"prices.{fmt}").is_file() and (d / f"constituents.{fmt}").is_file():
                row["synth"] = {"reused": True}
            else:
                print(f"writing {y:g} years x {n} names ({fmt}) ...", file=sys.stderr, flush=True)
                row["synth"] = measure([*cli, "data", "synth", "--years", f"{y:g}", "--stocks", str(n),
                                        "--seed", str(args.seed), "--format", fmt, "--out", str(d)], env, work)
                if not row["synth"]["ok"]:
                    runs.append(row)
                    continue
            for step in wanted:
                if step == "synth":
                    continue
                print(f"  {step} ...", file=sys.stderr, flush=True)
                if step == "read":
                    cmd = [sys.executable, "-c", READ, str(d)]
                elif step == "features":
                    cmd = [*cli, "features", "--data", str(d), *config, "--out", str(work / f"{d.name}.parquet"),
                           "--no-cache"]  # a full build every time, never a stored snapshot
                else:
                    cmd = [*cli, "backtest", "--data", str(d), *config, "--out", str(work / f"{d.name}.csv"),
                           "--format", "json"]
                row[step] = measure(cmd, env, work)
            runs.append(row)
    return {"machine": {"cores": os.cpu_count(), "python": sys.version.split()[0],
                        "threads": args.threads, "load_average_end": [round(x, 2) for x in os.getloadavg()],
                        "startup": startup},
            "runs": runs, "checks": checks(runs)}


def checks(runs: list[dict]) -> list[dict]:
    """Each target: PASS, FAIL or SKIP (its size or step was not run)."""
    out = []
    for (step, y, n, fmt), (secs, mb) in TARGETS.items():
        what = f"{step} {y:g} years x {n:,} names ({fmt})"
        row = next((r for r in runs if (r["years"], r["names"], r["format"]) == (y, n, fmt)), None)
        m = None if row is None else row.get(step)
        if m is None or m.get("reused"):
            out.append({"target": what, "status": "SKIP", "why": "not run" if m is None else "market reused"})
            continue
        for limit, key, unit in ((secs, "seconds", "s"), (mb, "peak_mb", "MB")):
            if limit is None:
                continue
            ok = m["ok"] and m[key] < limit
            out.append({"target": f"{what}: under {limit:g} {unit}", "status": "PASS" if ok else "FAIL",
                        "measured": m[key] if m["ok"] else m.get("error")})
    return out


def _cell(m: dict | None) -> str:
    if m is None:
        return "-"
    if m.get("reused"):
        return "reused"
    if not m["ok"]:
        return "FAILED"
    return f"{m['seconds']:.1f} s ({m['cpu_seconds']:.1f} cpu) {m['peak_mb']:,.0f} MB"


def report(result: dict, quick: bool) -> None:
    mach = result["machine"]
    threads = "inherited" if mach["threads"] is None else mach["threads"]
    print(f"Scale benchmark: {mach['cores']} cores, Python {mach['python']}, BLAS/OpenMP threads {threads}; "
          f"load average at the end {', '.join(map(str, mach['load_average_end']))}")
    print("each cell: wall seconds (CPU seconds) and peak RSS of its own process; starting Python and importing "
          f"the engine (regime.backtest), which every cell pays, takes {_cell(mach['startup'])}\n")
    rows = [r for r in result["runs"]]
    header = ["years", "names", "format", "synth (write)", "read", "features", "backtest"]
    table = [[f"{r['years']:g}", f"{r['names']:,}", r["format"], *(_cell(r.get(s)) for s in STEPS)] for r in rows]
    widths = [max(len(h), *(len(t[i]) for t in table)) if table else len(h) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
    for t in table:
        print("  ".join(c.ljust(w) for c, w in zip(t, widths)).rstrip())
    for r in rows:
        for s in STEPS:
            if isinstance(r.get(s), dict) and r[s].get("error"):
                print(f"{s} on {r['years']:g}y x {r['names']}: {r[s]['error']}")
    _growth(rows)
    print("\nTargets (scale issue):" + ("  (quick mode: sizes too small to judge)" if quick else ""))
    for c in result["checks"]:
        shown = "" if c["status"] == "SKIP" else f"  measured {c['measured']}"
        why = f"  ({c['why']})" if c["status"] == "SKIP" else ""
        print(f"  [{c['status']}] {c['target']}{shown}{why}")


def _growth(rows: list[dict]) -> None:
    """Ratios of time and memory between the smallest and largest market along each axis."""
    for step in ("read", "features"):
        have = [r for r in rows if isinstance(r.get(step), dict) and r[step].get("ok")]
        by_names = sorted((r for r in have if r["years"] == max(x["years"] for x in have)), key=lambda r: r["names"])
        by_years = sorted((r for r in have if r["names"] == max(x["names"] for x in have)), key=lambda r: r["years"])
        for axis, seq, unit in (("names", by_names, "names"), ("years", by_years, "years")):
            if len(seq) < 2:
                continue
            a, b = seq[0], seq[-1]
            size = b[axis] / a[axis]
            print(f"{step}: {a[axis]:g} -> {b[axis]:g} {unit} ({size:.1f}x): time x{b[step]['seconds'] / a[step]['seconds']:.1f}, "
                  f"peak memory x{b[step]['peak_mb'] / a[step]['peak_mb']:.1f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help=f"tiny sizes for a smoke test (names {QUICK['names']}, years {QUICK['years']}, backtest "
                         f"{QUICK['backtest']}); targets are not judged")
    ap.add_argument("--names", default=None, help=f"names at the most years (default {FULL['names']})")
    ap.add_argument("--years", default=None, help=f"years at the most names (default {FULL['years']})")
    ap.add_argument("--backtest", default=None,
                    help=f"YEARSxNAMES of the backtest market, CSV, or 'none' (default {FULL['backtest']})")
    ap.add_argument("--steps", default=",".join(STEPS), help=f"comma list of {', '.join(STEPS)} (default: all)")
    ap.add_argument("--format", choices=["parquet", "csv"], default="parquet",
                    help="format of the scaling markets (default parquet; the backtest market is CSV)")
    ap.add_argument("--data-dir", type=Path, default=None,
                    help="build the markets here and keep them; a market already there is reused (not timed)")
    ap.add_argument("--config", type=Path, default=None, help="config for features and backtest (default: built-in)")
    ap.add_argument("--seed", type=int, default=0, help="market seed (default 0)")
    ap.add_argument("--threads", type=int, default=None,
                    help="set OMP/OPENBLAS/MKL_NUM_THREADS for every run (default: inherit the environment)")
    ap.add_argument("--json", type=Path, default=None, help="also write every measurement as JSON")
    args = ap.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    for key in ("names", "years", "backtest"):
        if getattr(args, key) is None:
            setattr(args, key, sizes[key])
    result = run(args)
    report(result, args.quick)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    failed = any(c["status"] == "FAIL" for c in result["checks"]) and not args.quick
    broken = any(isinstance(m, dict) and m.get("ok") is False for r in result["runs"] for m in r.values())
    return 1 if failed or broken else 0


if __name__ == "__main__":
    sys.exit(main())

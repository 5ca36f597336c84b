#!/usr/bin/env python
"""Benchmark: a config over a family of synthetic markets, judged by its worst member.

The default model was tuned on the built-in market. This runs the walk-forward on each variant of it in
`regime.synth.VARIANTS` (what each changes: the table in regime/synth.py) and each seed: the market is simulated
(20 years x 300 names unless the variant fixes the name count), written as Parquet to a temporary data directory
in the variant's shape (which files, which columns), read back with `load_data` exactly as a user's directory
would be, and evaluated by `regime.backtest.walk_forward` against its `truth.csv` (monthly refits, the config's
backtest settings). Per config it prints the means over seeds for each variant, the mean over variants, the worst
variant for each metric, and the targets, which the WORST variant must meet (see TARGETS).

Seeds: the default 2001,2002,2003 were never used to tune anything; keep them that way. The development seeds
are 1-6 (`--seeds 1,2,3`). Results do not depend on --n-jobs (every run is seeded; only the seconds vary).
Nothing is cached across configs: every (variant, seed, config) run simulates, writes and reads its own market.

    python scripts/bench_synth_family.py                          # default config, held-out seeds
    python scripts/bench_synth_family.py --seeds 1,2,3            # development seeds
    python scripts/bench_synth_family.py --config a.yaml --config b.yaml --variants base,fat_tails --json out.json

Timing: the full family (15 variants x 3 seeds = 45 twenty-year markets, default config) takes about 130 s with
--n-jobs 2 on the project's 2-core machine with nothing else running (since the typed reading, the numpy panel
features and the array walk-forward; before them, 5 to 8 minutes). Each extra config adds about as much again.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one thread per worker
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402
from joblib import Parallel, delayed  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: E402

from regime.backtest import read_truth, walk_forward  # noqa: E402
from regime.config import Config, load_config  # noqa: E402
from regime.data import load_data  # noqa: E402
from regime.errors import RegimeError  # noqa: E402
from regime.synth import VARIANTS, simulate_market, write_market  # noqa: E402

HELD_OUT_SEEDS = "2001,2002,2003"

#: What the worst variant (per-variant means over seeds) must reach: metric -> (direction, bound, label).
#: "min": the worst is the lowest and must be >= bound; "max": the worst is the highest and must be <= bound.
TARGETS: dict[str, tuple[str, float, str]] = {
    "balanced_acc": ("min", 0.85, "worst-case balanced accuracy >= 0.85"),
    "sw_ratio": ("max", 1.3, "worst-case switches / truth's switches <= 1.3"),
    "median_lag": ("max", 10.0, "worst-case median detection lag <= 10 days"),
    "ece": ("max", 0.05, "worst-case ECE <= 0.05"),
}

METRICS = ["balanced_acc", "switches/yr", "truth_sw/yr", "sw_ratio", "median_lag", "ece", "seconds"]


def run_market(variant: str, seed: int, years: float, stocks: int, label: str, cfg: Config) -> dict:
    """Simulate one market, write it in its variant's shape, read it back and walk forward one config on it.

    Each (variant, seed, config) run simulates its own market: nothing is shared between configs.
    ``seconds`` times ``load_data`` plus the walk-forward.
    """
    warnings.simplefilter("ignore")
    logging.getLogger("regime").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix=f"family-{variant}-{seed}-") as tmp:
        d = Path(tmp) / "data"
        write_market(simulate_market(seed=seed, years=years, n_stocks=stocks, options=VARIANTS[variant]), d,
                     "parquet")
        t0 = time.perf_counter()
        data, truth = load_data(d, cfg), read_truth(d)
        t = walk_forward(data, cfg, truth=truth).truth
        seconds = time.perf_counter() - t0
    sw, tsw = t["switches_per_year"], t["truth_switches_per_year"]
    return {
        "config": label, "variant": variant, "seed": seed,
        "balanced_acc": t["balanced_accuracy"], "switches/yr": sw, "truth_sw/yr": tsw,
        "sw_ratio": round(sw / tsw, 3) if tsw else math.nan,
        "median_lag": t["median_detection_lag_days"], "ece": t["ece"], "seconds": round(seconds, 1),
    }


def summarise(runs: pd.DataFrame, variants: list[str]) -> dict:
    """Per-variant means over seeds, their mean over variants, the worst variant per target and the verdicts."""
    by = runs.groupby("variant")[METRICS].mean().reindex(variants)
    mean = by.mean()
    worst, checks = {}, {}
    for metric, (direction, bound, label) in TARGETS.items():
        col = by[metric]
        name = col.idxmin() if direction == "min" else col.idxmax()
        value = float(col[name])
        worst[metric] = {"variant": name, "value": round(value, 4)}
        checks[label] = bool(value >= bound) if direction == "min" else bool(value <= bound)
    return {"by_variant": by, "mean": mean, "worst": worst, "targets": checks}


def print_summary(label: str, summary: dict, n_seeds: int, args: argparse.Namespace) -> None:
    by = summary["by_variant"]
    table = by.copy()
    table.loc["mean over variants"] = summary["mean"]
    fmt = {"balanced_acc": "{:.3f}", "switches/yr": "{:.2f}", "truth_sw/yr": "{:.2f}", "sw_ratio": "{:.2f}",
           "median_lag": "{:.1f}", "ece": "{:.3f}", "seconds": "{:.1f}"}
    shown = pd.DataFrame({c: [("-" if pd.isna(v) else fmt[c].format(v)) for v in table[c]] for c in METRICS},
                         index=table.index)
    worst_row = {c: "" for c in METRICS}
    for metric, w in summary["worst"].items():
        worst_row[metric] = f"{fmt[metric].format(w['value'])} ({w['variant']})"
    shown.loc["worst variant"] = worst_row
    print(f"\n=== config: {label} -- {len(by)} variants x {n_seeds} seeds ({args.seeds}), {args.years:g} years, "
          f"{args.stocks} names unless the variant sets them; means over seeds ===")
    print(shown.rename_axis("variant").to_string())
    print("Targets (per-variant means over seeds, worst variant):")
    for text, ok in summary["targets"].items():
        print(f"  [{'PASS' if ok else 'FAIL'}] {text}")


def _plain(obj):
    """JSON-ready: numpy scalars to Python, NaN to null."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if hasattr(obj, "item"):
        obj = obj.item()
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return obj


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", action="append", default=None, metavar="FILE",
                    help="config YAML to evaluate (repeatable; default: the built-in default config); "
                         "each is labelled by its file stem")
    ap.add_argument("--seeds", default=HELD_OUT_SEEDS,
                    help=f"comma-separated market seeds (default {HELD_OUT_SEEDS}: held out, never used for tuning; "
                         "development seeds are 1-6, e.g. --seeds 1,2,3)")
    ap.add_argument("--variants", default=",".join(VARIANTS),
                    help="comma-separated variants (default: all): " + ", ".join(VARIANTS))
    ap.add_argument("--years", type=float, default=20.0, help="years of each market (default 20)")
    ap.add_argument("--stocks", type=int, default=300,
                    help="names per market unless the variant sets them (default 300)")
    ap.add_argument("--n-jobs", type=int, default=2,
                    help="markets run in parallel (default 2; results do not depend on it)")
    ap.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write every run and summary as JSON")
    args = ap.parse_args()

    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        ap.error(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    configs: list[tuple[str, Config]] = []
    for path in args.config or [None]:
        label = "default" if path is None else Path(path).stem
        while label in {c[0] for c in configs}:
            label += "'"
        try:
            configs.append((label, load_config(path)))
        except RegimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2

    # largest markets first, so the workers finish together; the order does not change any result
    tasks = sorted(((v, s, label, cfg) for label, cfg in configs for v in variants for s in seeds),
                   key=lambda t: -(VARIANTS[t[0]].n_stocks or args.stocks))
    err = Console(stderr=True)
    rows: list[dict] = []
    t0 = time.perf_counter()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("walk-forwards", total=len(tasks))
        jobs = Parallel(n_jobs=args.n_jobs, return_as="generator_unordered")(
            delayed(run_market)(v, s, args.years, args.stocks, label, cfg) for v, s, label, cfg in tasks
        )
        for out in jobs:
            rows.append(out)
            bar.update(task, advance=1,
                       description=f"walk-forwards (last: {out['config']} {out['variant']} seed {out['seed']})")
    wall = time.perf_counter() - t0
    runs = pd.DataFrame(rows).sort_values(["config", "variant", "seed"], kind="stable")

    report = {"seeds": seeds, "variants": variants, "years": args.years, "stocks": args.stocks,
              "targets": {k: {"worst": d, "bound": b} for k, (d, b, _) in TARGETS.items()},
              "wall_seconds": round(wall, 1), "n_jobs": args.n_jobs, "configs": {}}
    for label, _ in configs:
        part = runs[runs["config"] == label]
        summary = summarise(part, variants)
        print_summary(label, summary, len(seeds), args)
        report["configs"][label] = {
            "runs": part.drop(columns="config").to_dict(orient="records"),
            "by_variant": summary["by_variant"].round(4).to_dict(orient="index"),
            "mean_over_variants": summary["mean"].round(4).to_dict(),
            "worst": summary["worst"],
            "targets": summary["targets"],
        }
    print(f"\n{len(tasks)} walk-forwards ({len(variants)} variants x {len(seeds)} seeds x {len(configs)} config(s)) "
          f"in {wall:.0f} s wall time with --n-jobs {args.n_jobs}")
    if args.json is not None:
        from regime._io import atomic_write_text

        atomic_write_text(args.json, json.dumps(_plain(report), indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

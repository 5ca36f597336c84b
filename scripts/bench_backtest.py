#!/usr/bin/env python
"""Benchmark: walk-forward speed and accuracy on the built-in market, against the naive loop.

For each seed (default: seeds never used while developing the engine), this writes a 30-year built-in market,
then, in this one process and on the same data:

- runs the engine's walk-forward (monthly refits, the default two-model ensemble, warm starts, cached features);
- runs the naive loop: at every refit, features rebuilt from the data available then, every model refitted from
  scratch with all its restarts, and the filter run from the start of the history;

and prints both times, both accuracies and the targets of the walk-forward issue. It ends with the trade-off the
label-persistence rule makes between flicker (switches per year) and lag, on the engine's probabilities.

    python scripts/bench_backtest.py                      # 3 seeds, engine + naive (about 8 minutes on 2 cores)
    python scripts/bench_backtest.py --seeds 7 --no-naive # engine only
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings

import pandas as pd

from regime.backtest import read_truth, walk_forward
from regime.config import Config
from regime.data import load_data
from regime.labeling import persistent_labels
from regime.measures import spell_ids
from regime.metrics import TRUTH_TARGETS, detection_lags, truth_metrics
from regime.synth import simulate_market, write_market

T = TRUTH_TARGETS
TARGETS = (f"balanced accuracy >= {T['balanced_accuracy']:.2f}, switches/yr <= {T['switch_ratio']}x truth, "
           f"median lag <= {T['median_lag_days']:g} days, ECE <= {T['ece']:.2f}")


def row(name: str, seed: int, r, secs: float) -> dict:
    t = r.truth
    return {
        "run": name, "seed": seed, "seconds": round(secs, 1), "balanced_acc": t["balanced_accuracy"],
        "switches/yr": t["switches_per_year"], "truth_sw/yr": t["truth_switches_per_year"],
        "sw_ratio": round(t["switches_per_year"] / t["truth_switches_per_year"], 2),
        "median_lag": t["median_detection_lag_days"], "ece": t["ece"], "brier": t["brier"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="101,202,303", help="comma-separated market seeds (default 101,202,303)")
    ap.add_argument("--years", type=float, default=30.0, help="years of market (default 30)")
    ap.add_argument("--stocks", type=int, default=300, help="constituents (default 300)")
    ap.add_argument("--no-naive", action="store_true", help="skip the naive loop")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    cfg = Config()
    seeds = [int(s) for s in args.seeds.split(",")]
    rows, engine_runs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            d = os.path.join(tmp, f"m{seed}")
            write_market(simulate_market(seed=seed, years=args.years, n_stocks=args.stocks), d, "parquet")
            data, truth = load_data(d, cfg), read_truth(d)
            t0 = time.perf_counter()
            r = walk_forward(data, cfg, truth=truth)
            rows.append(row("engine", seed, r, time.perf_counter() - t0))
            engine_runs.append((r, truth))
            print(f"seed {seed}: engine {rows[-1]['seconds']} s ({r.summary['refits']} monthly refits, "
                  f"{r.summary['days']} out-of-sample days)", flush=True)
            if not args.no_naive:
                t0 = time.perf_counter()
                rn = walk_forward(data, cfg, truth=truth, naive=True)
                rows.append(row("naive", seed, rn, time.perf_counter() - t0))
                print(f"seed {seed}: naive  {rows[-1]['seconds']} s", flush=True)
    df = pd.DataFrame(rows)
    print(f"\nWalk-forward on the built-in market: {args.years:g} years x {args.stocks} stocks, monthly refits, "
          f"default config ({' + '.join(m.kind for m in cfg.model.leaves())} ensemble), {os.cpu_count()} cores")
    print(df.to_string(index=False))
    eng = df[df.run == "engine"]
    mean = eng.mean(numeric_only=True)
    print(f"\nengine mean over {len(eng)} seeds: {mean['seconds']:.1f} s; balanced accuracy {mean['balanced_acc']:.3f}; "
          f"switches ratio {mean['sw_ratio']:.2f}; median lag {mean['median_lag']:.1f} days; ECE {mean['ece']:.3f}")
    checks = {
        "walk-forward under 30 s (every seed)": bool((eng["seconds"] < 30).all()),
        f"balanced accuracy >= {T['balanced_accuracy']:.2f} (mean)": bool(mean["balanced_acc"] >= T["balanced_accuracy"]),
        f"switches <= {T['switch_ratio']}x truth (mean)": bool(mean["sw_ratio"] <= T["switch_ratio"]),
        f"median detection lag <= {T['median_lag_days']:g} days (mean)": bool(mean["median_lag"] <= T["median_lag_days"]),
        f"ECE <= {T['ece']:.2f} (mean)": bool(mean["ece"] <= T["ece"]),
    }
    if not args.no_naive:
        nav = df[df.run == "naive"]
        speedup = nav["seconds"].to_numpy() / eng["seconds"].to_numpy()
        print(f"naive  mean over {len(nav)} seeds: {nav['seconds'].mean():.1f} s; balanced accuracy "
              f"{nav['balanced_acc'].mean():.3f}; speed-up {statistics.mean(speedup):.1f}x (min {speedup.min():.1f}x)")
        checks["at least 10x faster than naive (every seed)"] = bool((speedup >= 10).all())
        checks["balanced accuracy >= naive (mean)"] = bool(eng["balanced_acc"].mean() >= nav["balanced_acc"].mean())
    print("\nTargets:")
    for k, ok in checks.items():
        print(f"  [{'PASS' if ok else 'FAIL'}] {k}")

    print("\nWhere the lag comes from: median detection lag (days) by true transition, engine, all seeds pooled")
    lags = []
    for r, truth in engine_runs:
        lag = detection_lags(r.labels, truth, cfg.backtest.confirm_days)
        lag["from"] = truth.shift().reindex(lag["date"]).to_numpy()
        lags.append(lag)
    lag = pd.concat(lags)
    by = lag.groupby(["from", "regime"])["lag"].agg(changes="size", median_lag="median", mean_lag="mean")
    print(by.rename_axis(["from", "to"]).round(1).to_string())
    print(f"all {len(lag)} changes pooled: median {lag['lag'].median():.1f} days")

    print("\nWhere the switches come from: label spells whose days are mostly another true regime, all seeds pooled")
    spells, stress = [], []
    for (r, truth), seed in zip(engine_runs, seeds):
        lab = r.labels.dropna()
        true = truth.reindex(lab.index)
        for _, days in lab.groupby(spell_ids(lab)):
            major = true.loc[days.index].value_counts().idxmax()
            spells.append({"label": days.iloc[0], "truth": major, "days": len(days)})
        t_runs = spell_ids(truth)
        n_stress = int(truth.groupby(t_runs).first().eq("stress").sum())
        stress.append(f"{seed}: {n_stress} ({truth.eq('stress').mean():.1%} of days)")
    sp = pd.DataFrame(spells)
    wrong = sp[sp["label"] != sp["truth"]]
    print(f"{len(wrong)} of {len(sp)} label spells are wrong")
    if len(wrong):
        print(wrong.groupby(["truth", "label"])["days"].agg(spells="size", median_days="median")
              .rename_axis(["true regime", "labelled"]).to_string())
    print("true stress spells by seed: " + "; ".join(stress))

    print("\nLabel persistence: flicker vs lag on the engine's probabilities (means over seeds)")
    grid = []
    for margin, min_days in [(0.0, 1), (0.3, 3), (0.3, 5), (0.6, 5), (1.01, 5), (1.01, 10), (1.01, 20)]:
        ms = []
        for r, truth in engine_runs:
            lab = persistent_labels(r.probabilities, margin, min_days)
            conf = pd.Series([r.probabilities.at[d, lbl] for d, lbl in lab.items()], index=lab.index)
            ms.append(truth_metrics(r.probabilities, lab, conf, truth, cfg.backtest.confirm_days))
        grid.append({
            "margin": margin, "min_days": min_days,
            "default": "<-" if (margin, min_days) == (cfg.label.margin, cfg.label.min_days) else "",
            "balanced_acc": round(statistics.mean(m["balanced_accuracy"] for m in ms), 3),
            "switches/yr": round(statistics.mean(m["switches_per_year"] for m in ms), 2),
            "median_lag": round(statistics.mean(m["median_detection_lag_days"] for m in ms), 1),
            "ece": round(statistics.mean(m["ece"] for m in ms), 3),
        })
    print(pd.DataFrame(grid).to_string(index=False))
    print("(margin 1.01 means: switch only after min_days on top)")


if __name__ == "__main__":
    main()

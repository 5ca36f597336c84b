#!/usr/bin/env python
"""Benchmark: how close could any causal labeller come to the synthetic family's targets?

An upper bound on what the leadership axis can reach from the size tilt, per variant of the synthetic family
(`regime.synth.VARIANTS`). For each variant and seed it takes the variant's true regime path
(`regime.synth.regime_path`, the same path `simulate_market` draws for that seed) and gives an *oracle* labeller
more than any real one has:

- every stress day, known exactly;
- the generator's latent size-tilt factor (mega minus small caps) itself, drawn from the variant's own law
  (per-regime mean and volatility, Gaussian), with no index, sector or idiosyncratic noise on top;
- the true tilt means and volatilities, transitions set to each calm regime's mean spell length, and on the
  first calm day after a stress spell the generator's own odds of what follows stress.

It runs the forward filter of that two-state model (filtered, causal), reports the labels through the
engine's persistence rule (`regime.labeling.persistent_labels`), and scores them with the very metrics the family
benchmark uses (`regime.metrics.truth_metrics`). The oracle ignores the generator's other differences between
concentration and broadening (sector-rotation volatility, market drift, rates), so it is a bound for a labeller
that reads leadership from relative strength only; its switch count is that of a Markov filter (the generator's
spells are semi-Markov with minimum lengths, which a duration-aware rule could exploit a little further).

Per label rule (default: the engine's margin 0.3 / 5 days, and stricter ones) it prints the oracle's mean and
worst variant against the family targets.

    python scripts/bench_bayes_limit.py                       # all variants, seeds 2001-2003, about 35 s
    python scripts/bench_bayes_limit.py --variants base,weak_tilt --rules 0.3:5,0.6:15
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from regime.labeling import persistent_labels
from regime.metrics import truth_metrics
from regime.synth import VARIANTS, regime_params, regime_path, regime_transitions

CALM = ("concentration", "broadening")
TARGETS = {"balanced_acc": (">=", 0.85), "sw_ratio": ("<=", 1.3), "median_lag": ("<=", 10.0), "ece": ("<=", 0.05)}


def oracle_run(variant: str, seed: int, years: float, margin: float, min_days: int) -> dict:
    """One oracle walk over one variant's true path; the family benchmark's metrics."""
    opts = VARIANTS[variant]
    truth = regime_path(seed, years, options=opts)
    params = regime_params(opts)
    rng = np.random.default_rng([seed, 11])
    mean = truth.map({r: p["tilt"] for r, p in params.items()}).to_numpy()
    sd = truth.map({r: p["tilt_vol"] for r, p in params.items()}).to_numpy()
    x = mean + sd * rng.standard_normal(len(truth))
    stress = (truth == "stress").to_numpy()
    # log-likelihood of the tilt under concentration and broadening; flat on stress days (known, no evidence)
    ll = np.column_stack([-0.5 * ((x - params[r]["tilt"]) / params[r]["tilt_vol"]) ** 2
                          - np.log(params[r]["tilt_vol"]) for r in CALM])
    ll[stress] = 0.0
    a, b = 1.0 / params["concentration"]["dur_mean"], 1.0 / params["broadening"]["dur_mean"]
    A = np.array([[1 - a, a], [b, 1 - b]])
    after = regime_transitions(opts)["stress"]  # where a stress spell leads: the belief on the first calm day after it
    restart = np.array([after["concentration"], after["broadening"]])
    lead = np.empty((len(x), 2))
    belief = np.array([0.5, 0.5])
    for t in range(len(x)):
        if stress[t]:
            lead[t] = belief
            continue
        prior = restart if t > 0 and stress[t - 1] else belief @ A
        post = prior * np.exp(ll[t] - ll[t].max())
        belief = lead[t] = post / post.sum()
    probs = pd.DataFrame(0.0, index=truth.index, columns=["stress", *CALM])
    probs.loc[stress, "stress"] = 1.0
    probs.loc[~stress, list(CALM)] = lead[~stress]
    labels = persistent_labels(probs, margin, min_days)
    conf = pd.Series(probs.to_numpy()[np.arange(len(probs)), probs.columns.get_indexer(labels)], index=probs.index)
    t = truth_metrics(probs, labels, conf, truth)
    return {"balanced_acc": t["balanced_accuracy"],
            "sw_ratio": t["switches_per_year"] / t["truth_switches_per_year"],
            "median_lag": t["median_detection_lag_days"], "ece": t["ece"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated variants (default: all)")
    ap.add_argument("--seeds", default="2001,2002,2003", help="comma-separated seeds (default 2001,2002,2003)")
    ap.add_argument("--years", type=float, default=20.0, help="years per market (default 20, as the family)")
    ap.add_argument("--rules", default="0.3:5,0.5:10,0.6:15,0.8:20,1.0:8,1.0:12",
                    help="label rules MARGIN:MIN_DAYS, comma-separated (default 0.3:5 = the engine's, then stricter; "
                         "margin 1 changes a calm label only after MIN_DAYS days on top)")
    args = ap.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        ap.error(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        ap.error(f"--seeds must be comma-separated integers, got {args.seeds!r}")
    try:
        rules = [(float(m), int(k)) for m, k in (r.split(":") for r in args.rules.split(","))]
    except ValueError:
        ap.error(f"--rules must be MARGIN:MIN_DAYS pairs such as 0.3:5,0.6:15, got {args.rules!r}")
    if any(not 0 <= m <= 1 or k < 1 for m, k in rules):
        ap.error(f"--rules: each margin must lie in [0, 1] and each MIN_DAYS be at least 1, got {args.rules!r}")
    print("Oracle: forward filter on the latent size tilt, stress days known; family metrics, means over "
          f"seeds {','.join(map(str, seeds))}, {args.years:g} years")
    for margin, min_days in rules:
        rows = {v: pd.DataFrame([oracle_run(v, s, args.years, margin, min_days) for s in seeds]).mean()
                for v in variants}
        table = pd.DataFrame(rows).T
        worst = {"balanced_acc": table["balanced_acc"].min(), "sw_ratio": table["sw_ratio"].max(),
                 "median_lag": table["median_lag"].max(), "ece": table["ece"].max()}
        print(f"\n=== label rule: margin {margin:g}, min_days {min_days} ===")
        print(table.round(3).to_string())
        print("mean over variants   " + "  ".join(f"{k} {table[k].mean():.3f}" for k in TARGETS))
        print("worst variant        " + "  ".join(f"{k} {worst[k]:.3f}" for k in TARGETS))
        for k, (op, bound) in TARGETS.items():
            ok = worst[k] >= bound if op == ">=" else worst[k] <= bound
            print(f"  [{'PASS' if ok else 'FAIL'}] oracle worst-case {k} {op} {bound:g}")


if __name__ == "__main__":
    main()

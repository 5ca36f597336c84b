#!/usr/bin/env python
"""How well each feature tells two true regimes apart on the built-in market.

For each seed, writes a built-in market, builds every feature, and prints the separation of the two regimes'
means in pooled standard deviations, |mean_a - mean_b| / sqrt((var_a + var_b) / 2), averaged over seeds (the
first 300 days, while windows fill, are left out), then, averaged over seeds, the share of each regime's days that
lie beyond the midpoint between the two means, on the first regime's side: how often the feature points to the
first regime when it holds, and when the second does.

    python scripts/feature_separation.py                                   # seeds 1-3, concentration vs broadening
    python scripts/feature_separation.py --seeds 1,2 --regimes broadening,stress --top 15
"""

from __future__ import annotations

import argparse
import os
import tempfile
import warnings

import numpy as np
import pandas as pd

from regime.backtest import read_truth
from regime.config import Config
from regime.data import load_data
from regime.features import build_features
from regime.synth import simulate_market, write_market


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="1,2,3", help="comma-separated market seeds (default 1,2,3)")
    ap.add_argument("--regimes", default="concentration,broadening", help="the two regime ids to compare")
    ap.add_argument("--years", type=float, default=30.0, help="years of market (default 30)")
    ap.add_argument("--stocks", type=int, default=300, help="constituents (default 300)")
    ap.add_argument("--top", type=int, default=30, help="features to print (default 30)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    a, b = args.regimes.split(",")
    cfg = Config()
    per_seed, cross_a, cross_b = {}, [], []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in [int(s) for s in args.seeds.split(",")]:
            d = os.path.join(tmp, f"m{seed}")
            write_market(simulate_market(seed=seed, years=args.years, n_stocks=args.stocks), d, "parquet")
            feats = build_features(load_data(d, cfg), cfg).iloc[300:]
            truth = read_truth(d).reindex(feats.index)
            xa, xb = feats[truth == a], feats[truth == b]
            per_seed[seed] = (xa.mean() - xb.mean()).abs() / np.sqrt(0.5 * (xa.var() + xb.var()))
            # how often each regime's days fall on the first regime's side of the midpoint between the two means
            mid, side = 0.5 * (xa.mean() + xb.mean()), np.sign(xa.mean() - xb.mean())
            cross_a.append(((xa - mid) * side > 0).mean())
            cross_b.append(((xb - mid) * side > 0).mean())
    table = pd.DataFrame(per_seed)
    table["mean"] = table.mean(axis=1)
    table[f"{a}_days_past_mid"] = pd.concat(cross_a, axis=1).mean(axis=1)
    table[f"{b}_days_past_mid"] = pd.concat(cross_b, axis=1).mean(axis=1)
    table = table.sort_values("mean", ascending=False).round(2)
    print(f"Separation of {a} from {b} (pooled standard deviations), {args.years:g} years x {args.stocks} stocks")
    print(table.head(args.top).to_string())


if __name__ == "__main__":
    main()

"""Real-history benchmark: the engine beside the rules baseline on four real datasets, judged by dated episodes.

The datasets are built from ``../shared/data/real/`` (beside the project's root) with the project's own
importers, exactly as a user would, and each gets only a roles mapping:

- ``french``: Kenneth French size and industry portfolios with FRED rates, 1963-07 to 2025-04
  (``regime data french``; the ten industries are the constituents);
- ``etf``: SPY, RSP, QQQ, IJH, IJR, IWM, MDY and the Russell 2000 with FRED fed funds, 2-year, 10-year and the
  Baa spread, and VIX, 2003-05 (RSP's first day) to 2012;
- ``etf_panel``: the same plus the S&P 500 closes-only constituents panel (wide, today's members only: it has
  survivorship bias, as users' panels often do);
- ``prices``: prices only, SPY, QQQ, the Russell 2000 index and IWM, 1993-01 (SPY's first day) to 2012.

Each dataset runs the walk-forward (``regime backtest``) with the engine's config (default: the built-in
default) and with ``configs/rules.yaml``, and judges the labels against the dated episodes
(``../shared/data/real/episodes.csv`` by default): an episode passes when at least ``min_share`` of its days
carry the expected label; an episode the data does not cover is not evaluated. It prints every episode's share,
the count passed and switches a year, engine beside rule, and the targets of the real-markets issue with
PASS/FAIL. The episodes are the development episodes: a pass here is not a held-out result.

    python scripts/bench_real.py                         # the default config against the rules
    python scripts/bench_real.py --config configs/axes.yaml --datasets french,prices
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd
import yaml
from joblib import Parallel, delayed

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from regime.backtest import walk_forward  # noqa: E402
from regime.config import Config  # noqa: E402
from regime.data import load_data  # noqa: E402
from regime.episodes import evaluate_episodes, read_episodes  # noqa: E402
from regime.importers import import_files, import_french_fred  # noqa: E402

# ../shared/data/real beside the project; REGIME_REAL_DATA points elsewhere (e.g. from a git worktree), as in the tests
REAL = Path(os.environ.get("REGIME_REAL_DATA") or ROOT.parent / "shared" / "data" / "real")

#: Targets of the real-markets issue, per dataset, for the engine's default config.
TARGETS = {"min_pass_rate": 0.90, "max_switches_per_year": 3.0}

FRENCH_ROLES = {"large_cap": "hi10", "equal_weight": "ew", "mega_cap": None, "mid_cap": "med40",
                "small_cap": "lo30", "small_cap_2": "lo10"}
ETF_PRICES = {"spx": "SPY.csv", "spx_ew": "RSP.csv", "ndx": "QQQ.csv", "mid": "IJH.csv", "sml": "IJR.csv",
              "rut": "IWM.csv", "mdy": "MDY.csv", "r2k": "^RUT.csv"}
FRED_RATES = {"fed_funds": ["DFF_1954_2023.csv", "DFF_1994_2026.csv"], "ust_2y": ["DGS2.csv"],
              "ust_10y": ["DGS10.csv"], "baa_spread": ["BAA10Y.csv"]}

#: name -> (what, roles mapping); the roles are the only per-dataset setting.
DATASETS = {
    "french": ("French size/industry portfolios + FRED, 1963-2025", FRENCH_ROLES),
    "etf": ("ETFs + FRED, 2003-2012", {}),
    "etf_panel": ("ETFs + FRED + S&P 500 closes-only panel, 2003-2012", {}),
    "prices": ("prices only: SPY, QQQ, Russell 2000, IWM, 1993-2012", {"equal_weight": None, "mid_cap": None}),
}


def build_dataset(name: str, real: Path, out: Path) -> Path:
    """Write one dataset's contract directory with the project's importers."""
    etf, fred = real / "etf", real / "fred"
    rates = {k: [fred / f for f in v] for k, v in FRED_RATES.items()} | {"vix": [etf / "^VIX.csv"]}
    if name == "french":
        import_french_fred(real / "french", fred, out)
        # the walk-forward of 1964-2025: keep the prices and industries from 1963-07 (rates keep their calendar)
        for f in ("prices.csv", "constituents.csv"):
            df = pd.read_csv(out / f, dtype=str)
            df[df["date"] >= "1963-07-01"].to_csv(out / f, index=False)
    elif name in ("etf", "etf_panel"):
        import_files(out, {k: [etf / v] for k, v in ETF_PRICES.items()}, rates,
                     constituents=etf / "sp500_adjclose_panel.csv.gz" if name == "etf_panel" else None,
                     start="2003-05-01", end="2012-12-31")
    elif name == "prices":
        import_files(out, {"spx": [etf / "SPY.csv"], "ndx": [etf / "QQQ.csv"], "sml": [etf / "^RUT.csv"],
                           "rut": [etf / "IWM.csv"]}, start="1993-01-29", end="2012-12-31")
    else:
        raise ValueError(f"unknown dataset {name!r}")
    return out


def config_with_roles(path: Path | None, roles: dict) -> Config:
    """A config file (or the defaults) with the dataset's roles mapping merged in."""
    raw = (yaml.safe_load(path.read_text()) or {}) if path is not None else {}
    raw.setdefault("roles", {}).update(roles)
    return Config.model_validate(raw)


def run_one(dataset: str, directory: Path, label: str, config_path: Path | None, episodes_path: Path) -> dict:
    """One walk-forward and its episode evaluation (the engine's warnings are silenced while it runs)."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cfg = config_with_roles(config_path, DATASETS[dataset][1])
            data = load_data(directory, cfg)
            t0 = time.perf_counter()
            result = walk_forward(data, cfg)
            report = evaluate_episodes(result.labels, read_episodes(episodes_path, list(cfg.regimes)), data.dates)
    finally:
        logging.disable(previous)
    return {"dataset": dataset, "run": label, "seconds": round(time.perf_counter() - t0, 1),
            "stress_share": result.summary["share"].get("stress"), **report.to_dict()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, default=None,
                    help="the engine's YAML config (default: the built-in default); only roles are added")
    ap.add_argument("--baseline", type=Path, default=ROOT / "configs" / "rules.yaml",
                    help="the baseline's config (default: configs/rules.yaml)")
    ap.add_argument("--datasets", default=",".join(DATASETS), help="comma list of " + ", ".join(DATASETS))
    ap.add_argument("--real", type=Path, default=REAL, help="the real-data directory (default: ../shared/data/real)")
    ap.add_argument("--episodes", type=Path, default=None, help="episodes CSV (default: <real>/episodes.csv)")
    ap.add_argument("--work", type=Path, default=None, help="keep the built data directories here")
    ap.add_argument("--n-jobs", type=int, default=2, help="parallel walk-forwards (joblib)")
    ap.add_argument("--json", type=Path, default=None, help="also write every result as JSON")
    args = ap.parse_args(argv)
    episodes = args.episodes or args.real / "episodes.csv"
    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    unknown = [n for n in names if n not in DATASETS]
    if unknown or not args.real.is_dir():
        print(f"error: unknown dataset {unknown}" if unknown else f"error: {args.real} not found", file=sys.stderr)
        return 2
    engine_label = args.config.stem if args.config else "default"
    with tempfile.TemporaryDirectory(prefix="regime-real-") as tmp:
        work = args.work or Path(tmp)
        print(f"building {len(names)} datasets in {work} ...", file=sys.stderr)
        dirs = {n: build_dataset(n, args.real, work / n) for n in names}
        jobs = [(n, engine_label, args.config) for n in names] + [(n, "rules", args.baseline) for n in names]
        print(f"running {len(jobs)} walk-forwards on {args.n_jobs} workers ...", file=sys.stderr)
        results = Parallel(n_jobs=args.n_jobs)(
            delayed(run_one)(n, dirs[n], label, cfg, episodes) for n, label, cfg in jobs)
    by = {(r["dataset"], r["run"]): r for r in results}

    print(f"Real history: walk-forward labels judged by {episodes.name}; engine = {engine_label}, "
          f"baseline = {args.baseline.stem}")
    for n in names:
        eng, rul = by[(n, engine_label)], by[(n, "rules")]
        print(f"\n{n}: {DATASETS[n][0]}; labels {eng['first_label']} .. {eng['last_label']} (engine), "
              f"{rul['first_label']} .. {rul['last_label']} (rules)")
        rows = []
        for e, r in zip(eng["episodes"], rul["episodes"]):
            if not e["evaluated"]:
                continue
            rows.append({"episode": f"{e['start']}..{e['end']}", "expected": e["expected"],
                         "min": e["min_share"], engine_label: _mark(e), "rules": _mark(r)})
        print(pd.DataFrame(rows).to_string(index=False) if rows else "  (no episode inside the data)")

    print("\nSummary (episodes passed / evaluated, switches a year, share of days labelled stress)")
    summary = []
    for n in names:
        eng, rul = by[(n, engine_label)], by[(n, "rules")]
        summary.append({"dataset": n, f"{engine_label}": f"{eng['passed']}/{eng['evaluated']}",
                        "sw/yr": round(eng["switches_per_year"], 2), "stress": _pct(eng["stress_share"]),
                        "rules": f"{rul['passed']}/{rul['evaluated']}", "rules sw/yr": round(rul["switches_per_year"], 2),
                        "rules stress": _pct(rul["stress_share"]), "seconds": eng["seconds"]})
    print(pd.DataFrame(summary).to_string(index=False))

    print(f"\nTargets (real-markets issue), {engine_label} on each dataset:")
    ok_all = True
    for n in names:
        eng, rul = by[(n, engine_label)], by[(n, "rules")]
        checks = [
            (eng["passed"] >= rul["passed"], f"at least the rules' episodes ({eng['passed']} vs {rul['passed']})"),
            (eng["evaluated"] > 0 and eng["passed"] >= TARGETS["min_pass_rate"] * eng["evaluated"],
             f"at least 90% of episodes ({eng['passed']}/{eng['evaluated']})"),
            (eng["switches_per_year"] <= TARGETS["max_switches_per_year"],
             f"at most 3 switches a year ({eng['switches_per_year']:.2f})"),
        ]
        for ok, text in checks:
            ok_all &= ok
            print(f"  [{'PASS' if ok else 'FAIL'}] {n}: {text}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return 0 if ok_all else 1


def _mark(e: dict) -> str:
    return f"{e['share']:.2f} {'pass' if e['passed'] else 'FAIL'}"


def _pct(x) -> str:
    return "-" if x is None else f"{x:.0%}"


if __name__ == "__main__":
    sys.exit(main())

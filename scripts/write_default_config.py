#!/usr/bin/env python
"""Regenerate configs/default.yaml from the built-in defaults (a test keeps the two equal)."""

import textwrap
from pathlib import Path

import yaml

from regime.config import MODEL_KINDS, Config

HEADER = """\
# Default configuration of the regime engine.
# These are exactly the built-in defaults (a test keeps the two equal; regenerate with
# `python scripts/write_default_config.py`). Copy this file and edit what you need: any field you leave out
# takes its default.
#
# roles      which column of prices.* / rates.* plays each role (null switches a role off).
# data       max_stale_days: a rate value older than this (calendar days) counts as missing.
# features   trailing windows in trading days; every feature at t uses data up to t only.
# model      kind jump | hmm | gmm | markov | rules | axes | ensemble (members, each a model, averaged with their weights).
#            include/exclude: glob patterns of the features that feed a model (null = DEFAULT_MODEL_FEATURES;
#            ensemble members without their own inherit the ensemble's).
#            Each kind takes only the settings it reads (another kind's setting is an error); their defaults:
{kinds}
# regimes    id -> human name and a rule: weights on a state's standardised feature means. The state scoring
#            highest under a regime's rule takes its name (one state per regime, extra states by best score).
# identity_weight  at a refit, how strongly states keep the name of the previous fit's closest regime.
# label      persistence of the reported regime: switch when the new leader leads by `margin`, or has led
#            for `min_days` days in a row (a streak of labelled days; not train.min_days).
# train      min_days: feature rows after warm-up needed to train (history; not label.min_days).
# backtest   walk-forward defaults (refit_every null = the first trading day of each month).
# allocation regime probabilities -> target weights: sleeves (name -> price role, prices column or cash), tilts
#            (regime -> sleeve -> weight, written from the regime definitions, never fitted), bounds, a no-trade
#            band, a turnover cap per rebalance, the rebalance schedule, costs, and the placebo of
#            `regime allocate-backtest`.
"""


#: Settings listed after a model's own: its features, its weight in an ensemble, an ensemble's members.
_LAST = ("include", "exclude", "weight", "members")


def ordered(model: dict) -> dict:
    """A model's settings in reading order: kind, the kind's own settings, then ``_LAST``."""
    keys = ["kind"] + [k for k in model if k != "kind" and k not in _LAST] + [k for k in _LAST if k in model]
    return {k: [ordered(m) for m in model[k]] if k == "members" else model[k] for k in keys}


def kind_settings() -> str:
    """One comment paragraph per model kind: its settings and their defaults, from the config classes."""
    lines = []
    for kind, cls in MODEL_KINDS.items():
        defaults = ordered({name: f.default for name, f in cls.model_fields.items()})
        fields = ", ".join(
            "members (models of the other kinds)" if name == "members"
            else f"{name} {yaml.safe_dump(v, default_flow_style=True).strip().removesuffix('...').strip()}"
            for name, v in defaults.items() if name != "kind"
        )
        lines += textwrap.wrap(f"{kind}: {fields}", width=110, initial_indent="#              ",
                               subsequent_indent="#                ")
    return "\n".join(lines)


def main() -> None:
    values = Config().model_dump(mode="json")
    values["model"] = ordered(values["model"])
    body = yaml.safe_dump(values, sort_keys=False, width=110)
    path = Path(__file__).resolve().parents[1] / "configs" / "default.yaml"
    path.write_text(HEADER.format(kinds=kind_settings()) + body)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

"""Features: relative strength, breadth, rates and risk, all from trailing windows."""

from ._breadth import breadth, breadth_proxies
from ._build import assemble_features, axis_of, build_features, select_features, training_rows, usable_rows
from ._rates import rate_features
from ._relative import daily_z, leadership, relative_strength
from ._risk import risk_features
from ._snapshot import PanelSnapshot, cached_aggregates, cached_features, stored_aggregates

__all__ = [
    "build_features",
    "assemble_features",
    "cached_features",
    "cached_aggregates",
    "stored_aggregates",
    "PanelSnapshot",
    "axis_of",
    "usable_rows",
    "leadership",
    "daily_z",
    "select_features",
    "training_rows",
    "relative_strength",
    "breadth",
    "breadth_proxies",
    "rate_features",
    "risk_features",
]

"""Features: relative strength, breadth, rates and risk, all from trailing windows."""

from ._breadth import breadth, breadth_proxies
from ._build import build_features, select_features, training_rows
from ._rates import rate_features
from ._relative import relative_strength
from ._risk import risk_features

__all__ = [
    "build_features",
    "select_features",
    "training_rows",
    "relative_strength",
    "breadth",
    "breadth_proxies",
    "rate_features",
    "risk_features",
]

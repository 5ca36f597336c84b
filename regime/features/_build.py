"""Assemble every feature family for a data directory."""

from __future__ import annotations

import fnmatch
import functools
import logging

import pandas as pd

from ..config import PRICE_ROLES, RATE_ROLES, Config, ModelConfig
from ..data import MarketData
from ..errors import DataError
from ._breadth import breadth, breadth_proxies
from ._rates import rate_features
from ._relative import relative_strength
from ._risk import risk_features

log = logging.getLogger(__name__)


def build_features(data: MarketData, config: Config) -> pd.DataFrame:
    """Compute all features the data supports, on the price calendar.

    Every value at date t depends only on data up to t (trailing windows and
    rates aligned as of t), so truncating the data at D leaves every feature up
    to D unchanged. Rows before the windows fill are NaN.

    Parameters
    ----------
    data : MarketData
    config : Config

    Returns
    -------
    DataFrame
        DatetimeIndex ``date``; one column per feature, families prefixed
        ``rs_`` (relative strength), ``br_`` (breadth), ``px_`` (breadth
        proxies), ``rt_`` (rates) and ``rk_`` (risk).
    """
    cfg = config.features
    levels = {r: s for r in PRICE_ROLES if (s := data.series(r)) is not None}
    parts: list[pd.DataFrame] = []
    for name, (num, den) in cfg.pairs.items():
        if num in levels and den in levels:
            parts.append(relative_strength(levels[num], levels[den], name, cfg))
        else:
            log.info("relative strength %s skipped: role %s or %s is switched off", name, num, den)
    if data.closes is not None:
        parts.append(breadth(data.closes, data.caps, cfg, data.sectors))
    else:
        parts.append(breadth_proxies(levels, cfg))
    rates = {r: s for r in RATE_ROLES if (s := data.series(r)) is not None}
    if rates:
        parts.append(rate_features(rates, cfg))
    parts.append(risk_features(levels["large_cap"], cfg))
    feats = pd.concat(parts, axis=1).astype(float)
    feats.index.name = "date"
    # a plain object index: pandas' Arrow-backed string index makes every column selection slow
    feats.columns = pd.Index(list(feats.columns), dtype=object)
    return feats


def select_features(columns: pd.Index | list[str], model: ModelConfig) -> list[str]:
    """The feature columns that feed one model, by its include/exclude globs."""
    return list(_select(tuple(columns), tuple(model.include), tuple(model.exclude), model.kind))


@functools.lru_cache(maxsize=64)
def _select(columns: tuple[str, ...], inc: tuple[str, ...], exc: tuple[str, ...], kind: str) -> tuple[str, ...]:
    chosen = [
        c for c in columns
        if any(fnmatch.fnmatchcase(c, p) for p in inc) and not any(fnmatch.fnmatchcase(c, p) for p in exc)
    ]
    if not chosen:
        raise DataError(
            f"no feature of the data matches {kind} model include={list(inc)} minus exclude={list(exc)}; "
            "widen the patterns in the config"
        )
    return tuple(chosen)


def training_rows(features: pd.DataFrame, columns: list[str], min_days: int) -> pd.DataFrame:
    """The rows where every model feature is defined, checked for enough history.

    Raises
    ------
    DataError
        Fewer than ``min_days`` complete rows remain after the warm-up.
    """
    X = features[columns].dropna()
    if len(X) < min_days:
        n = len(features)
        first = features.index[0].date() if n else "?"
        last = features.index[-1].date() if n else "?"
        warmup = int(features.index.get_loc(X.index[0])) if len(X) else n
        raise DataError(
            f"prices: {n} days ({first} to {last}) leave {len(X)} days with every model feature defined "
            f"(the first {warmup} are warm-up for the feature windows), but training needs {min_days}; "
            "supply a longer history or lower train.min_days / the feature windows"
        )
    return X

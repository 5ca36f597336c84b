"""Assemble every feature family for a data directory."""

from __future__ import annotations

import fnmatch
import functools
import logging

import pandas as pd

from ..config import PRICE_ROLES, RATE_ROLES, AxesConfig, Config, EstimatorConfig
from ..data import MarketData
from ..errors import DataError
from ._breadth import breadth_from_aggregates, breadth_proxies
from ._panel import panel_aggregates
from ._rates import rate_features
from ._relative import leadership, relative_strength
from ._risk import risk_features

log = logging.getLogger(__name__)


def build_features(data: MarketData, config: Config) -> pd.DataFrame:
    """Compute all features the data supports, on the price calendar.

    Every value at date t depends only on data up to t (trailing windows and
    rates aligned as of t), so truncating the data at D leaves every feature up
    to D unchanged. Rows before the windows fill are NaN.

    The constituents' work is their daily aggregates
    (:func:`regime.features._panel.panel_aggregates`), each day's from its own
    lookback window only; :func:`regime.features.cached_features` stores them
    and extends them day by day with exactly the same result.

    Parameters
    ----------
    data : MarketData
    config : Config

    Returns
    -------
    DataFrame
        DatetimeIndex ``date``; one column per feature, families prefixed
        ``rs_`` (relative strength), ``ld_`` (daily leadership), ``br_``
        (breadth), ``px_`` (breadth proxies), ``rt_`` (rates) and ``rk_`` (risk).
    """
    aggregates = None
    if data.closes is not None:
        aggregates = panel_aggregates(data.closes, data.caps, data.sectors, config.features)
    return assemble_features(data, config, aggregates)


def assemble_features(data: MarketData, config: Config, aggregates: pd.DataFrame | None,
                      columns: list[str] | None = None) -> pd.DataFrame:
    """:func:`build_features` from the panel's daily aggregates (None when the data has no constituents).

    Everything but the panel aggregates (relative strength, leadership, rates, risk, and the trailing means
    and z-scores of the aggregates) is computed here over the whole history, every time. With ``columns``,
    only the feature families that give one of them are computed, and of the risk family only the volatility
    quantile if asked for; the values are those of the whole build.
    """
    cfg = config.features

    def wanted(*prefixes: str) -> bool:
        return columns is None or any(c.startswith(prefixes) for c in columns)

    levels = {r: s for r in PRICE_ROLES if (s := data.series(r)) is not None}
    parts: list[pd.DataFrame] = []
    for name, (num, den) in cfg.pairs.items():
        if not wanted(f"rs_{name}_"):
            continue
        if num in levels and den in levels:
            parts.append(relative_strength(levels[num], levels[den], name, cfg))
        else:
            log.info("relative strength %s skipped: role %s or %s is switched off", name, num, den)
    if wanted("ld_"):
        parts.append(leadership(levels, cfg))
    if data.closes is not None or data.panel_file is not None:
        if wanted("br_", "ld_names_cw", "ld_size"):
            if aggregates is None or len(aggregates) != len(data.dates):
                raise ValueError("the panel aggregates must cover the data's dates")
            parts.append(breadth_from_aggregates(aggregates, cfg, benchmark=levels["large_cap"]))
    elif wanted("px_"):
        parts.append(breadth_proxies(levels, cfg))
    rates = {r: s for r in RATE_ROLES if (s := data.series(r)) is not None}
    if rates and wanted("rt_"):
        parts.append(rate_features(rates, cfg))
    if wanted("rk_"):
        parts.append(risk_features(levels["large_cap"], cfg, quantiles=wanted("rk_vol_q_")))
    feats = pd.concat(parts, axis=1).astype(float) if parts else pd.DataFrame(index=data.dates, dtype=float)
    feats.index.name = "date"
    # a plain object index: pandas' Arrow-backed string index makes every column selection slow
    feats.columns = pd.Index(list(feats.columns), dtype=object)
    return feats


def select_features(columns: pd.Index | list[str], model: EstimatorConfig) -> list[str]:
    """The feature columns that feed one model, by its include/exclude globs.

    The rules model reads exactly two columns: the first match of its first pattern (the volatility
    percentile), then the first of its other patterns, in order, that the data has (the leadership spread).
    The axes model reads its ``risk`` features, then the columns its ``lead`` globs match.
    """
    if model.kind == "rules":
        return _select_rules(tuple(columns), tuple(model.include))
    if model.kind == "axes":
        return _select_axes(tuple(columns), model)
    return list(_select(tuple(columns), tuple(model.include), tuple(model.exclude), model.kind))


def _select_axes(columns: tuple[str, ...], model: AxesConfig) -> list[str]:
    risk = [f.lstrip("-") for f in model.risk]
    if risk[0] not in columns:
        raise DataError(f"the axes model needs the feature {risk[0]}, which the data does not provide; "
                        "check roles.large_cap")
    chosen = [f for f in risk if f in columns]
    lead = [c for c in columns if any(fnmatch.fnmatchcase(c, p) for p in model.lead) and c not in chosen]
    if not lead:
        raise DataError(f"no leadership feature of the data matches {list(model.lead)}; map roles.equal_weight, "
                        "roles.small_cap, roles.mid_cap or roles.mega_cap to price columns, or supply constituents")
    return chosen + lead


def axis_of(columns: list[str], model: AxesConfig) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """For the axes model: each column's axis ('risk' or 'lead'), and each risk column's sign."""
    signs = {f.lstrip("-"): (-1.0 if f.startswith("-") else 1.0) for f in model.risk}
    axes = tuple("risk" if c in signs else "lead" for c in columns)
    return axes, tuple(signs[c] for c in columns if c in signs)


def usable_rows(features: pd.DataFrame, columns: list[str], model: EstimatorConfig) -> pd.Series:
    """Days a model can label: every feature defined, or for the axes model (which marginalises missing
    values) the volatility and at least one leadership feature."""
    if model.kind != "axes":
        return features[columns].notna().all(axis=1)
    axes, _ = axis_of(columns, model)
    lead = [c for c, a in zip(columns, axes) if a == "lead"]
    return features[columns[0]].notna() & features[lead].notna().any(axis=1)


def _select_rules(columns: tuple[str, ...], inc: tuple[str, ...]) -> list[str]:
    picks = [[c for c in columns if fnmatch.fnmatchcase(c, p)] for p in inc]
    risk = picks[0][:1] if picks else []
    lead = next((m[:1] for m in picks[1:] if m), [])
    if not risk or not lead:
        what = inc[0] if not risk else " or ".join(inc[1:])
        raise DataError(
            f"the rules model needs the feature {what}, which the data does not provide; map roles.large_cap and "
            "roles.equal_weight or roles.small_cap to price columns"
        )
    return risk + lead


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


def training_rows(features: pd.DataFrame, columns: list[str], min_days: int,
                  usable: pd.Series | None = None) -> pd.DataFrame:
    """The rows a model can train on (every feature defined, or ``usable``), checked for enough history.

    Raises
    ------
    DataError
        Fewer than ``min_days`` usable rows remain after the warm-up.
    """
    X = features[columns].dropna() if usable is None else features.loc[usable.to_numpy(), columns]
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

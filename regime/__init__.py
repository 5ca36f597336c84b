"""regime: which equity-leadership regime is the market in, and how sure are we?

The public API:

- :func:`load_config`, :class:`Config`: configuration;
- :func:`load_data`, :class:`MarketData`: the data contract;
- :func:`build_features`: trailing features;
- :class:`GaussianHMMRegime`, :class:`GaussianMixtureRegime`: estimators with
  filtered probabilities;
- :func:`fit_regime_model`, :class:`RegimeModel`: a fitted, named model;
- :func:`score_day`, :class:`ScoreResult`: today's label and why; :class:`DailyScorer`: day after day in one
  process, one step per new day;
- :func:`walk_forward`, :class:`BacktestResult`: out-of-sample labels and their evaluation;
- :func:`allocation_signal`, :class:`Signal`: target weights from the regime probabilities;
- :func:`allocation_backtest`, :class:`AllocationBacktest`: what following them was worth after costs;
- :func:`simulate_market`: the built-in synthetic market.
"""

from ._version import __version__

#: Public name -> the module that defines it. Imported on first use (PEP 562), so ``import regime`` (and the
#: command line's ``--help``) loads no pandas, numpy or scikit-learn until something needs them.
_EXPORTS: dict[str, tuple[str, str]] = {
    "Config": ("config", "Config"),
    "load_config": ("config", "load_config"),
    "MarketData": ("data", "MarketData"),
    "load_data": ("data", "load_data"),
    "RegimeError": ("errors", "RegimeError"),
    "DataError": ("errors", "DataError"),
    "ConfigError": ("errors", "ConfigError"),
    "ModelError": ("errors", "ModelError"),
    "build_features": ("features", "build_features"),
    "GaussianHMMRegime": ("models", "GaussianHMMRegime"),
    "GaussianMixtureRegime": ("models", "GaussianMixtureRegime"),
    "RegimeModel": ("pipeline", "RegimeModel"),
    "fit_regime_model": ("pipeline", "fit_regime_model"),
    "ScoreResult": ("scoring", "ScoreResult"),
    "score_day": ("scoring", "score_day"),
    "DailyScorer": ("scoring", "DailyScorer"),
    "walk_forward": ("backtest", "walk_forward"),
    "BacktestResult": ("backtest", "BacktestResult"),
    "allocation_signal": ("allocation", "signal"),
    "Signal": ("allocation", "Signal"),
    "allocation_backtest": ("allocation", "allocation_backtest"),
    "AllocationBacktest": ("allocation", "AllocationBacktest"),
    "simulate_market": ("synth", "simulate_market"),
    "write_market": ("synth", "write_market"),
}


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'regime' has no attribute {name!r}")
    import importlib

    module, attr = _EXPORTS[name]
    value = getattr(importlib.import_module(f".{module}", __name__), attr)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = [
    "__version__",
    "Config",
    "load_config",
    "MarketData",
    "load_data",
    "RegimeError",
    "DataError",
    "ConfigError",
    "ModelError",
    "build_features",
    "GaussianHMMRegime",
    "GaussianMixtureRegime",
    "RegimeModel",
    "fit_regime_model",
    "ScoreResult",
    "score_day",
    "DailyScorer",
    "walk_forward",
    "BacktestResult",
    "allocation_signal",
    "Signal",
    "allocation_backtest",
    "AllocationBacktest",
    "simulate_market",
    "write_market",
]

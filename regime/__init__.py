"""regime: which equity-leadership regime is the market in, and how sure are we?

The public API:

- :func:`load_config`, :class:`Config`: configuration;
- :func:`load_data`, :class:`MarketData`: the data contract;
- :func:`build_features`: trailing features;
- :class:`GaussianHMMRegime`, :class:`GaussianMixtureRegime`: estimators with
  filtered probabilities;
- :func:`fit_regime_model`, :class:`RegimeModel`: a fitted, named model;
- :func:`score_day`, :class:`ScoreResult`: today's label and why;
- :func:`walk_forward`, :class:`BacktestResult`: out-of-sample labels and their evaluation;
- :func:`allocation_signal`, :class:`Signal`: target weights from the regime probabilities;
- :func:`allocation_backtest`, :class:`AllocationBacktest`: what following them was worth after costs;
- :func:`simulate_market`: the built-in synthetic market.
"""

from ._version import __version__
from .allocation import AllocationBacktest, Signal, allocation_backtest
from .allocation import signal as allocation_signal
from .backtest import BacktestResult, walk_forward
from .config import Config, load_config
from .data import MarketData, load_data
from .errors import ConfigError, DataError, ModelError, RegimeError
from .features import build_features
from .models import GaussianHMMRegime, GaussianMixtureRegime
from .pipeline import RegimeModel, fit_regime_model
from .scoring import ScoreResult, score_day
from .synth import simulate_market, write_market

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
    "walk_forward",
    "BacktestResult",
    "allocation_signal",
    "Signal",
    "allocation_backtest",
    "AllocationBacktest",
    "simulate_market",
    "write_market",
]

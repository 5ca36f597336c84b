"""regime: which equity-leadership regime is the market in, and how sure are we?

The public API:

- :func:`load_config`, :class:`Config`: configuration;
- :func:`load_data`, :class:`MarketData`: the data contract;
- :func:`build_features`: trailing features;
- :class:`GaussianHMMRegime`, :class:`GaussianMixtureRegime`: estimators with
  filtered probabilities;
- :func:`fit_regime_model`, :class:`RegimeModel`: a fitted, named model;
- :func:`score_day`, :class:`ScoreResult`: today's label and why;
- :func:`simulate_market`: the built-in synthetic market.
"""

from ._version import __version__
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
    "simulate_market",
    "write_market",
]

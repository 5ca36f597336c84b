"""Errors the engine raises for bad input.

Every error carries a one-line message that names the file, column or date at
fault and says what to do. The CLI prints that line and exits non-zero; library
callers can catch :class:`RegimeError`.
"""

from __future__ import annotations

__all__ = ["RegimeError", "DataError", "ConfigError", "ModelError"]


class RegimeError(Exception):
    """Base class of all user-facing errors of the engine.

    Parameters
    ----------
    message : str
        One line naming what is wrong and what to do about it.
    """

    exit_code: int = 2

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class DataError(RegimeError, ValueError):
    """Input data that does not follow the data contract."""


class ConfigError(RegimeError, ValueError):
    """A configuration file or value that cannot be used."""


class ModelError(RegimeError):
    """A model artifact that is missing, corrupt or does not fit the data."""

"""Importers that turn published data files into the data contract."""

from ._french import read_french_table, read_fred_series, import_french_fred

__all__ = ["read_french_table", "read_fred_series", "import_french_fred"]

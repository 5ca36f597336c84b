"""Importers that turn published and downloaded data files into the data contract."""

from ._csv import import_files, name_file_pairs, read_import_mapping, read_price_file, read_wide_panel
from ._french import import_french_fred, parse_fred_csv, read_fred_series, read_french_table

__all__ = [
    "read_french_table",
    "read_fred_series",
    "parse_fred_csv",
    "import_french_fred",
    "read_price_file",
    "read_wide_panel",
    "import_files",
    "read_import_mapping",
    "name_file_pairs",
]

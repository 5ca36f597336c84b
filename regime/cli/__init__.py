"""The ``regime`` command line: a thin layer over :mod:`regime.service`.

Each command parses its options, makes one call into :mod:`regime.service` and renders the result with
:mod:`regime.render`. Errors in the input print one line naming the file, column or date and what to do,
and exit with status 2; ``--debug`` shows the traceback instead.

The commands live in small modules by what they work on (models, allocation, data); each imports the
service layer inside the command, so ``regime --help`` loads no pandas, numpy or scikit-learn.
"""

from . import _model, _sweep, _alloc, _daily, _data  # noqa: F401  (registers the commands, in the order --help lists them)
from ._app import app, main

__all__ = ["app", "main"]

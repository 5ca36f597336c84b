"""``python -m regime.cli``: the same as the ``regime`` command."""

from . import main

main()

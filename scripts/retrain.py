#!/usr/bin/env python
"""Cron entry point: retrain and move ``latest``; exits non-zero on any error.

Usage (same options as ``regime train``)::

    python scripts/retrain.py --data /srv/market --config configs/default.yaml --name prod --format json

A failed run leaves ``models/<name>/latest`` on the previous artifact.
"""

import sys

from regime.cli import app

if __name__ == "__main__":
    app(["train"] + sys.argv[1:], prog_name="retrain.py")

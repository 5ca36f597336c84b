#!/usr/bin/env python
"""Cron entry point: classify the last day with ``latest`` and write the JSON result.

Usage (same options as ``regime score``; JSON on stdout by default)::

    python scripts/score_daily.py --data /srv/market --name prod --out /srv/regime/today.json

Exits non-zero, with one line on stderr, if the data or the model is bad.
"""

import sys

from regime.cli import app

if __name__ == "__main__":
    args = sys.argv[1:]
    if "--format" not in args:
        args += ["--format", "json"]
    app(["score"] + args, prog_name="score_daily.py")

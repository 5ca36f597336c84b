#!/usr/bin/env python
"""Cron entry point: target weights for the next trading day from ``latest``, as JSON.

Usage (same options as ``regime signal``; JSON on stdout by default)::

    python scripts/signal_daily.py --data /srv/market --name prod --out /srv/regime/weights.json

Exits non-zero, with one line on stderr, if the data, the model or the config is bad; a failed run leaves the
previous --out file untouched (it is written to a temporary file, then renamed).
"""

import sys

from regime.cli import app

if __name__ == "__main__":
    args = sys.argv[1:]
    if "--format" not in args:
        args += ["--format", "json"]
    app(["signal"] + args, prog_name="signal_daily.py")

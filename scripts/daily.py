#!/usr/bin/env python
"""Cron entry point: update the data, label the last day, decide the weights, record them once (``regime daily``).

Usage (same options as ``regime daily``; JSON on stdout by default)::

    python scripts/daily.py --data /srv/market --name prod --alert-exit 3 --out /srv/regime/today.json

Exit status: 0 when the day was recorded (or was already), the --alert-exit status when a newly recorded
day's regime differs from the previous day's, 2 with one line on stderr when the data, an update or the
model is bad (every file is then left as it was).
"""

import sys

from regime.cli import app

if __name__ == "__main__":
    args = sys.argv[1:]
    if "--format" not in args:
        args += ["--format", "json"]
    app(["daily"] + args, prog_name="daily.py")

#!/usr/bin/env python
"""Benchmark: wall time and peak memory of `regime demo` (target: under 60 s on 2 cores).

Runs the demo as a user would, in a subprocess, a few times, and prints the figures.

    python scripts/bench_demo.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3, help="number of timed runs (default 3)")
    args = ap.parse_args()
    exe = shutil.which("regime") or sys.exit("regime is not installed: pip install . first")
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            t0 = time.perf_counter()
            proc = subprocess.run([exe, "demo", "--out", os.path.join(tmp, "demo.png"), "--format", "json"],
                                  capture_output=True, text=True)
            times.append(time.perf_counter() - t0)
            if proc.returncode != 0:
                sys.exit(f"demo failed: {proc.stderr.strip()}")
            result = json.loads(proc.stdout)
            print(f"run {i + 1}: {times[-1]:.1f} s  -> {result['name']} ({result['confidence']:.2f}), "
                  f"in-sample balanced accuracy {result['in_sample_balanced_accuracy']:.3f}")
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"regime demo: median {sorted(times)[len(times) // 2]:.1f} s, max {max(times):.1f} s over "
          f"{len(times)} runs on {os.cpu_count()} cores; peak RSS {peak_mb:.0f} MB (target: < 60 s)")


if __name__ == "__main__":
    main()

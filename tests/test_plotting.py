"""Charts: written atomically, without switching matplotlib's backend for the caller."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd

from regime.plotting import plot_allocation, plot_regimes


def test_importing_and_plotting_leave_the_backend_alone(tmp_path):
    """Charts are drawn on a bare ``Figure``: pyplot (and with it a backend choice) is never loaded."""
    code = (
        "import sys\n"
        "import pandas as pd, numpy as np\n"
        "from regime.plotting import plot_probabilities\n"
        "p = pd.DataFrame({'a': np.linspace(0, 1, 30)}, index=pd.bdate_range('2020-01-01', periods=30))\n"
        "p['b'] = 1 - p['a']\n"
        f"plot_probabilities(p, {{'a': 'A', 'b': 'B'}}, r'{tmp_path / 'p.png'}')\n"
        "assert 'matplotlib.pyplot' not in sys.modules  # so no backend was chosen or switched\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_charts_are_png_files_and_replace_the_old_one(tmp_path):
    days = pd.bdate_range("2020-01-01", periods=60)
    probs = pd.DataFrame({"a": np.linspace(0, 1, 60), "b": np.linspace(1, 0, 60)}, index=days)
    labels = probs.idxmax(axis=1)
    out = tmp_path / "chart.png"
    out.write_text("old")
    plot_regimes(pd.Series(np.linspace(100, 120, 60), index=days), probs, labels, {"a": "A", "b": "B"}, out)
    assert out.read_bytes()[:4] == b"\x89PNG"
    rets = pd.DataFrame({"regime": np.full(60, 0.001), "buy_and_hold": np.full(60, -0.001)}, index=days)
    weights = pd.DataFrame({"x": np.full(60, 0.6), "y": np.full(60, 0.4)}, index=days)
    plot_allocation(rets, weights, labels, ["a", "b"], tmp_path / "alloc.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alloc.png", "chart.png"]

"""Time the recursions' backends: hmmlearn's compiled kernels, the pure-Python reference, and numba if installed.

The recursions (``regime/models/_kernels.py``) run at every fit, refit and prediction: the forward filter
on every day, forward-backward in every EM iteration of the axes model, the penalised Viterbi in every
alternation of the jump model. This prints, for a realistic history (T = 7,500 days, about 30 years) and
K = 2..4 states, the best time of several calls of each backend and the largest difference from the Python
reference. numba is not a dependency: when it is importable, the script jit-compiles the same loops and
times them too (compilation excluded, shown separately).

Usage::

    python scripts/bench_kernels.py [--days 7500] [--states 2 3 4] [--repeat 7]

It needs numpy only (hmmlearn and numba are timed when present): when the ``regime`` package's other
dependencies are missing, as in a throwaway environment made to try numba, the kernels module is loaded
from its file.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np

KERNELS_FILE = Path(__file__).resolve().parents[1] / "regime" / "models" / "_kernels.py"


def load_kernels():
    """``regime.models._kernels``, imported with the package or, failing that, from its file alone."""
    try:
        from regime.models import _kernels
    except ImportError:
        spec = importlib.util.spec_from_file_location("regime_kernels", KERNELS_FILE)
        _kernels = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(_kernels)
    return _kernels


def numba_kernels() -> dict | None:
    """The Python reference's loops compiled by numba (same recursion, same conventions); None without numba."""
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(cache=False)
    def forward(B, startprob, transmat):
        n, k = B.shape
        filtered = np.empty((n, k))
        scaling = np.ones(n)
        loglik = 0.0
        prior = startprob.copy()
        joint = np.empty(k)
        for t in range(n):
            total = 0.0
            for j in range(k):
                joint[j] = prior[j] * B[t, j]
                total += joint[j]
            if total > 0 and np.isfinite(total):
                for j in range(k):
                    filtered[t, j] = joint[j] / total
                scaling[t] = 1.0 / total
                loglik += np.log(total)
            else:  # every state impossible: keep the prior
                filtered[t] = prior
            for j in range(k):
                acc = 0.0
                for i in range(k):
                    acc += filtered[t, i] * transmat[i, j]
                prior[j] = acc
        return filtered, scaling, loglik

    @numba.njit(cache=False)
    def backward(B, startprob, transmat, scaling):
        n, k = B.shape
        bwd = np.empty((n, k))
        bwd[n - 1] = scaling[n - 1]
        for t in range(n - 2, -1, -1):
            for i in range(k):
                acc = 0.0
                for j in range(k):
                    acc += transmat[i, j] * B[t + 1, j] * bwd[t + 1, j]
                bwd[t, i] = acc * scaling[t]
        return bwd

    @numba.njit(cache=False)
    def viterbi(L, penalty):
        n, k = L.shape
        V = np.empty((n, k))
        V[0] = L[0]
        for t in range(1, n):
            best = V[t - 1].min() + penalty
            for j in range(k):
                V[t, j] = L[t, j] + min(V[t - 1, j], best)
        seq = np.empty(n, dtype=np.int64)
        seq[n - 1] = np.argmin(V[n - 1])
        for t in range(n - 2, -1, -1):
            cur = seq[t + 1]
            j = np.argmin(V[t])
            seq[t] = cur if V[t, cur] <= V[t, j] + penalty else j
        return seq, V[n - 1].min()

    return {"forward": forward, "backward": backward, "viterbi": viterbi}


def inputs(n: int, k: int, seed: int = 0):
    """Scaled emission probabilities, persistent transitions, uniform start, jump-model losses."""
    rng = np.random.default_rng(seed)
    logb = rng.normal(scale=2.0, size=(n, k))
    B = np.ascontiguousarray(np.exp(logb - logb.max(axis=1, keepdims=True)))
    A = np.full((k, k), 0.02 / (k - 1)) + np.eye(k) * (0.98 - 0.02 / (k - 1))
    return B, np.full(k, 1.0 / k), A, rng.random((n, k)) * 4.0


def best_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=7500)
    ap.add_argument("--states", type=int, nargs="+", default=[2, 3, 4])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args(argv)

    kernels = load_kernels()
    names = ["python"] + [b for b in kernels.available_backends() if b != "python"]  # the reference first
    impl = {name: {kind: kernels.KERNELS[kind][name] for kind in kernels.KERNELS} for name in names}
    jitted = numba_kernels()
    if jitted is not None:
        B, s, A, L = inputs(50, 2)
        t0 = time.perf_counter()
        jitted["backward"](B, s, A, jitted["forward"](B, s, A)[1])
        jitted["viterbi"](L, 1.5)
        print(f"numba: compiled in {time.perf_counter() - t0:.2f} s (once per process; not in the times below)")
        impl["numba"] = jitted
    else:
        print("numba: not installed (pip install numba to time it)")
    missing = [b for b in kernels.BACKENDS if b not in impl]
    if missing:
        print(f"not available here: {', '.join(missing)}")

    print(f"\nT = {args.days} days; best of {args.repeat} calls; diff = max |x - python reference|\n")
    print(f"{'kernel':<18}{'K':>3}  {'backend':<10}{'ms':>10}{'x python':>10}{'diff':>11}")
    for k in args.states:
        B, s, A, L = inputs(args.days, k)
        ref_f, ref_c, _ = impl["python"]["forward"](B, s, A)
        ref_b = impl["python"]["backward"](B, s, A, ref_c)
        ref_v = impl["python"]["viterbi"](L, 1.5)
        cases = {
            "forward filter": (lambda m: m["forward"](B, s, A), lambda out: np.abs(out[0] - ref_f).max()),
            "forward-backward": (lambda m: m["backward"](B, s, A, m["forward"](B, s, A)[1]),
                                 lambda out: np.abs(out / ref_b - 1).max()),
            "penalised Viterbi": (lambda m: m["viterbi"](L, 1.5),
                                  lambda out: max(abs(out[1] - ref_v[1]), float(np.any(out[0] != ref_v[0])))),
        }
        for kernel, (call, diff) in cases.items():
            base = None
            for name, m in impl.items():
                secs = best_time(lambda: call(m), args.repeat if name != "python" else max(2, args.repeat // 3))
                base = base or secs  # the Python reference's time
                print(f"{kernel:<18}{k:>3}  {name:<10}{secs * 1e3:10.3f}{base / secs:9.0f}x{diff(call(m)):11.1e}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

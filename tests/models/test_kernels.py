"""The recursions: every backend agrees with the others and with brute force, and the fallbacks work."""

import itertools
from pathlib import Path

import numpy as np
import pytest

from regime.models import AxesRegime, GaussianHMMRegime, JumpModelRegime, _kernels
from regime.models._kernels import (
    KERNELS,
    available_backends,
    forward_filter,
    penalised_viterbi,
    smoothed_posteriors,
)

from ..conftest import load_script

needs_hmmlearn = pytest.mark.skipif(_kernels._hmmc is None, reason="hmmlearn's compiled kernels are not importable")

SHAPES = [(1, 2), (2, 3), (60, 2), (500, 3), (400, 4), (150, 6)]


def _hmm_inputs(n, k, seed, near_zero=True):
    """Random log-emissions (some rows near zero in probability), start and transition probabilities."""
    rng = np.random.default_rng(seed)
    logb = rng.normal(scale=3.0, size=(n, k))
    if near_zero and n > 4:
        rows = rng.choice(n, size=max(2, n // 10), replace=False)
        logb[rows[::2]] -= 700.0  # every state nearly impossible: exp underflows without the row shift
        logb[rows[1::2], 1:] = -745.0 + rng.random((len(rows[1::2]), k - 1))  # denormal probabilities
    start = rng.dirichlet(np.ones(k))
    A = rng.dirichlet(np.ones(k), size=k) + np.eye(k) * rng.uniform(0, 20)
    return logb, start, A / A.sum(axis=1, keepdims=True)


def _paths(n, k):
    return np.array(list(itertools.product(range(k), repeat=n)))


def _brute_force(logb, start, A):
    """Filtered and smoothed posteriors and the likelihood, by summing over every state path."""
    n, k = logb.shape

    def joint(m):  # every path of the first m days, and its probability jointly with those days' data
        paths = _paths(m, k)
        lp = np.log(start)[paths[:, 0]] + logb[np.arange(m), paths].sum(axis=1)
        return paths, np.exp(lp + np.log(A)[paths[:, :-1], paths[:, 1:]].sum(axis=1))

    filtered = []
    for t in range(n):
        paths, p = joint(t + 1)
        filtered.append([p[paths[:, t] == j].sum() / p.sum() for j in range(k)])
    paths, p = joint(n)
    smoothed = [[p[paths[:, t] == j].sum() / p.sum() for j in range(k)] for t in range(n)]
    return np.array(filtered), np.array(smoothed), np.log(p.sum())


@pytest.mark.parametrize("backend", _kernels.BACKENDS)
def test_each_backend_matches_brute_force(backend):
    if backend not in available_backends():
        pytest.skip(f"{backend} is not available")
    for seed in range(3):
        logb, start, A = _hmm_inputs(6, 3, seed, near_zero=False)
        filt, smooth, ll = _brute_force(logb, start, A)
        f, pred, loglik = forward_filter(logb, start, A, backend=backend)
        np.testing.assert_allclose(f, filt, atol=1e-12)
        np.testing.assert_allclose(pred[1:], f[:-1] @ A, atol=1e-15)
        assert loglik == pytest.approx(ll, rel=1e-12)
        np.testing.assert_allclose(smoothed_posteriors(logb, start, A, backend=backend), smooth, atol=1e-12)
        L = np.random.default_rng(seed).random((6, 3)) * 4
        paths = _paths(6, 3)
        costs = L[np.arange(6), paths].sum(axis=1) + 1.5 * (np.diff(paths, axis=1) != 0).sum(axis=1)
        seq, obj = penalised_viterbi(L, 1.5, backend=backend)
        assert obj == pytest.approx(costs.min(), rel=1e-12)
        np.testing.assert_array_equal(seq, paths[np.argmin(costs)])


@needs_hmmlearn
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", [0, 1])
def test_backends_agree_on_random_inputs(shape, seed):
    logb, start, A = _hmm_inputs(*shape, seed)
    (f1, p1, l1), (f2, p2, l2) = (forward_filter(logb, start, A, backend=b) for b in ("hmmlearn", "python"))
    np.testing.assert_allclose(f1, f2, rtol=0, atol=1e-12)
    np.testing.assert_allclose(p1, p2, rtol=0, atol=1e-12)
    assert l1 == pytest.approx(l2, rel=1e-12, abs=1e-9)
    s1, s2 = (smoothed_posteriors(logb, start, A, backend=b) for b in ("hmmlearn", "python"))
    np.testing.assert_allclose(s1, s2, rtol=0, atol=1e-12)
    np.testing.assert_allclose(s1.sum(axis=1), 1.0)
    L = np.random.default_rng(seed).random(shape) * 4
    (q1, o1), (q2, o2) = (penalised_viterbi(L, 1.5, backend=b) for b in ("hmmlearn", "python"))
    np.testing.assert_array_equal(q1, q2)
    assert o1 == pytest.approx(o2, rel=1e-12)
    assert L[np.arange(len(L)), q1].sum() + 1.5 * np.count_nonzero(np.diff(q1)) == pytest.approx(o1)


@needs_hmmlearn
@pytest.mark.parametrize("shape", SHAPES[2:])
def test_forward_and_backward_kernels_agree(shape):
    """The raw lattices, with hmmlearn's scaling convention, from each backend on the same input."""
    logb, start, A = _hmm_inputs(*shape, seed=5)
    B = np.exp(logb - logb.max(axis=1, keepdims=True))
    (f1, c1, l1), (f2, c2, l2) = (KERNELS["forward"][b](B, start, A) for b in ("hmmlearn", "python"))
    np.testing.assert_allclose(f1, f2, atol=1e-12)
    np.testing.assert_allclose(c1, c2, rtol=1e-12)
    assert l1 == pytest.approx(l2, rel=1e-12)
    b1, b2 = (KERNELS["backward"][b](B, start, A, c2) for b in ("hmmlearn", "python"))
    np.testing.assert_allclose(b1, b2, rtol=1e-11)


def test_a_day_every_state_finds_impossible_keeps_the_prior():
    """The compiled filter fails on a zero total; the default falls back to the Python reference."""
    logb = np.array([[0.0, -5.0], [-1000.0, 0.0], [0.0, -1.0]])
    start, A = np.array([1.0, 0.0]), np.eye(2)
    filt, _, ll = forward_filter(logb, start, A)
    np.testing.assert_array_equal(filt, np.array([[1.0, 0.0]] * 3))
    assert np.isfinite(ll)
    if "hmmlearn" in available_backends():
        with pytest.raises(ValueError, match="underflow"):
            forward_filter(logb, start, A, backend="hmmlearn")


def test_an_underflowing_day_falls_back_for_the_smoothed_posteriors():
    """A total below hmmlearn's 1e-300 floor: the Python reference still gives finite posteriors."""
    logb = np.array([[0.0, -5.0], [-1000.0, 0.0], [0.0, -1.0]])
    start, A = np.array([1.0, 1e-305]), np.eye(2)
    g = smoothed_posteriors(logb, start, A)
    np.testing.assert_allclose(g, smoothed_posteriors(logb, start, A, backend="python"))
    np.testing.assert_allclose(g, [[0.0, 1.0]] * 3, atol=1e-12)


def _without_hmmc(monkeypatch):
    monkeypatch.setattr(_kernels, "_hmmc", None)
    assert available_backends() == ("python",)


def test_without_hmmlearn_the_python_reference_runs(monkeypatch):
    logb, start, A = _hmm_inputs(300, 3, seed=4)
    L = np.random.default_rng(4).random((300, 3)) * 4
    ref = (forward_filter(logb, start, A, backend="python"), smoothed_posteriors(logb, start, A, backend="python"),
           penalised_viterbi(L, 2.0, backend="python"))
    _without_hmmc(monkeypatch)
    got = forward_filter(logb, start, A), smoothed_posteriors(logb, start, A), penalised_viterbi(L, 2.0)
    for a, b in zip(got[0], ref[0]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(got[1], ref[1])
    np.testing.assert_array_equal(got[2][0], ref[2][0])
    with pytest.raises(ImportError, match="not available"):
        forward_filter(logb, start, A, backend="hmmlearn")


def _blocks(seed=0):
    rng = np.random.default_rng(seed)
    z = np.repeat([0, 1, 2, 0, 1, 2], 120)
    return np.array([[0, 0], [3, 0], [0, 3]])[z] + rng.normal(size=(len(z), 2))


def _axes_sample(seed=0):
    rng = np.random.default_rng(seed)
    stress = np.repeat([0, 1, 0, 0, 1, 0], 150)
    lead = np.repeat([1, 1, 0, 0, 1, 1], 150)
    vol = np.where(stress == 1, 2.0, -0.2) + 0.5 * rng.standard_normal(len(stress))
    return np.column_stack([vol, np.where(lead == 1, 0.4, -0.4) + rng.standard_normal(len(lead))])


@needs_hmmlearn
@pytest.mark.parametrize("make", [
    lambda: (GaussianHMMRegime(n_init=1, n_iter=20, sticky=0.0, random_state=0), _blocks()),
    lambda: (JumpModelRegime(n_init=2, jump_penalty=20.0, random_state=0), _blocks()),
    lambda: (AxesRegime(axes=("risk", "lead"), stress_floor=1.0, risk_evidence=1.0, n_iter=20), _axes_sample()),
], ids=["hmm", "jump", "axes"])
def test_estimators_fall_back_to_python_without_hmmlearn(make, monkeypatch):
    est, X = make()
    compiled = est.fit(X).predict_proba(X)
    _without_hmmc(monkeypatch)
    est, X = make()
    python = est.fit(X).predict_proba(X)
    np.testing.assert_allclose(python, compiled, atol=1e-8)


def test_a_failing_compiled_kernel_falls_back(monkeypatch, caplog):
    logb, start, A = _hmm_inputs(50, 3, seed=6)
    ref = forward_filter(logb, start, A, backend="python")[0]

    def broken(*_args):
        raise TypeError("a changed private signature")

    monkeypatch.setattr(_kernels, "_hmmc", object())  # 'available', whatever the environment has
    monkeypatch.setitem(KERNELS["forward"], "hmmlearn", broken)
    with caplog.at_level("DEBUG", logger="regime.models._kernels"):
        np.testing.assert_array_equal(forward_filter(logb, start, A)[0], ref)
    assert "changed private signature" in caplog.text


def test_unknown_backend():
    with pytest.raises(ValueError, match="backend must be one of"):
        forward_filter(np.zeros((3, 2)), np.array([0.5, 0.5]), np.eye(2), backend="numba")


def test_hmmlearn_private_kernels_are_imported_in_one_place():
    root = Path(_kernels.__file__).resolve().parents[1]
    users = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.py") if "_hmmc" in p.read_text())
    assert users == ["models/_kernels.py"]


def test_the_kernel_benchmark_runs(capsys):
    load_script("bench_kernels").main(["--days", "300", "--states", "2", "3", "--repeat", "1"])
    out = capsys.readouterr().out
    assert "forward filter" in out and "penalised Viterbi" in out
    for backend in available_backends():
        assert f"  {backend} " in out

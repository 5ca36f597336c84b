"""The numpy filters: the same probabilities as the libraries they stand in for, and a state that carries."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest
from scipy.signal import lfilter
from scipy.stats import multivariate_normal
from sklearn.mixture import GaussianMixture

from regime.models import (
    GaussianHMMRegime,
    GaussianMixtureRegime,
    JumpModelRegime,
    MarkovSwitchingRegime,
    RulesRegime,
)
from regime.models._filters import EstimatorFilter, GaussianDensity, MixtureFilter, _smooth


def _regimes(seed: int = 0, n: int = 600, d: int = 3) -> np.ndarray:
    """Rows from three persistent Gaussian regimes."""
    rng = np.random.default_rng(seed)
    states = np.repeat(rng.integers(0, 3, n // 50), 50)
    centres = np.array([[-2.0] * d, [0.0] * d, [2.0] * d])
    return centres[states] + rng.normal(size=(len(states), d))


FITTED = {
    "hmm": lambda X: GaussianHMMRegime(n_init=1, random_state=0).fit(X),
    "gmm": lambda X: GaussianMixtureRegime(n_init=1, smoothing=0.8).fit(X),
    "gmm_raw": lambda X: GaussianMixtureRegime(n_init=1, covariance_type="diag").fit(X),
    "jump": lambda X: JumpModelRegime(n_init=2).fit(X),
    "rules": lambda X: RulesRegime(hold_days=3).fit(np.column_stack([np.abs(X[:, 0]) / 4, X[:, 1]])),
    "markov": lambda X: MarkovSwitchingRegime(n_components=2, n_init=1, n_iter=20).fit(X[:, :1]),
}


def _rows(kind: str, X: np.ndarray) -> np.ndarray:
    return np.column_stack([np.abs(X[:, 0]) / 4, X[:, 1]]) if kind == "rules" else X[:, :1] if kind == "markov" else X


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("kind", sorted(FITTED))
def test_a_filter_gives_predict_proba_and_carries_its_state(kind):
    """``run`` over every row is ``predict_proba``; run in pieces, each continuing the last state, it is the same."""
    X = _regimes()
    est = FITTED[kind](X[:400])
    Z = _rows(kind, X)
    filt = est.online_filter()
    whole, _ = filt.run(Z)
    np.testing.assert_array_equal(whole, est.predict_proba(Z))
    pieces, state = [], None
    for a, b in [(0, 1), (1, 250), (250, 251), (251, 252), (252, 600)]:
        p, state = filt.run(Z[a:b], state)
        pieces.append(p)
    np.testing.assert_allclose(np.vstack(pieces), whole, rtol=0, atol=1e-12)
    assert np.array_equal(np.vstack(pieces).argmax(axis=1), whole.argmax(axis=1))
    empty, same = filt.run(Z[:0], state)
    assert empty.shape == (0, filt.n_states) and same is state
    assert isinstance(filt, EstimatorFilter) == (kind == "markov")


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_mixture_posteriors_are_scikit_learns(covariance_type):
    X = _regimes(1)
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    filt = MixtureFilter(gm.weights_, gm.means_, gm.precisions_cholesky_, covariance_type)
    np.testing.assert_allclose(filt.run(X)[0], gm.predict_proba(X), rtol=1e-12, atol=1e-15)


def test_smoothing_loop_and_lfilter_agree_to_the_bit(monkeypatch):
    """The Python loop (a scoring process, scipy.signal not loaded) and scipy's lfilter do the same arithmetic."""
    raw = np.random.default_rng(2).dirichlet(np.ones(3), size=500)
    start = 0.9 * raw[0]
    ref = lfilter([1.0 - 0.9], [1.0, -0.9], raw, axis=0, zi=start[None, :])[0]
    assert np.array_equal(_smooth(raw, 0.9, start), ref)
    monkeypatch.delitem(sys.modules, "scipy.signal")
    assert np.array_equal(_smooth(raw, 0.9, start), ref)


def test_gaussian_density_is_scipys_even_when_singular():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 3))
    a = rng.normal(size=(3, 3))
    full = a @ a.T + 0.1 * np.eye(3)
    singular = np.outer([1.0, 2.0, 0.0], [1.0, 2.0, 0.0]) + np.diag([0.0, 0.0, 1.0])  # rank 2
    means = np.array([[0.1, 0.0, -0.2], [1.0, 1.0, 1.0]])
    X[:10] = means[1] + np.outer(rng.normal(size=10), [1.0, 2.0, 0.0]) + np.outer(rng.normal(size=10), [0, 0, 1.0])
    got = GaussianDensity(means, np.stack([full, singular])).log_pdf(X)
    for j, cov in enumerate((full, singular)):
        np.testing.assert_allclose(got[:, j], multivariate_normal.logpdf(X, means[j], cov, allow_singular=True),
                                   rtol=1e-10)
    assert np.isfinite(got[:10, 1]).all() and np.isneginf(got[10:, 1]).all()  # on its subspace, and off it
    with pytest.raises(ValueError, match="state 0 is not positive semidefinite"):
        GaussianDensity(means[:1], -np.eye(3)[None])


def test_a_pickled_filter_runs_without_scikit_learn():
    """What a stored model keeps to label days imports neither scikit-learn nor SciPy's statistics."""
    X = _regimes()
    filters = [FITTED[k](X).online_filter() for k in ("hmm", "gmm", "jump", "rules")]
    code = ("import pickle, sys\n"
            "fs, X = pickle.loads(sys.stdin.buffer.read())\n"
            "out = [f.run(X)[0] for f in fs]\n"
            "print(sorted(m for m in ('sklearn', 'scipy.stats', 'scipy.signal', 'statsmodels') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], input=pickle.dumps((filters, X)), capture_output=True,
                          check=True)
    assert proc.stdout.decode().strip() == "[]"

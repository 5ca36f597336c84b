"""The estimators: scikit-learn's contract, filtered probabilities, honest convergence, recovery."""

import numpy as np
import pytest
from hmmlearn.hmm import GaussianHMM
from sklearn.metrics import accuracy_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from regime.config import GMMConfig, HMMConfig, JumpConfig, MarkovConfig
from regime.models import (
    GaussianHMMRegime,
    GaussianMixtureRegime,
    JumpModelRegime,
    MarkovSwitchingRegime,
    forward_filter,
    make_estimator,
)


@parametrize_with_checks([GaussianHMMRegime(n_init=2), GaussianMixtureRegime(n_init=2), JumpModelRegime(n_init=2),
                          MarkovSwitchingRegime(n_init=1)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _known_hmm(n=1500, seed=0):
    """Sample a 3-state sticky HMM with well separated 2-D means."""
    true = GaussianHMM(n_components=3, covariance_type="full")
    true.startprob_ = np.array([1.0, 0.0, 0.0])
    true.transmat_ = np.array([[0.98, 0.01, 0.01], [0.015, 0.97, 0.015], [0.02, 0.02, 0.96]])
    true.means_ = np.array([[0.0, 0.0], [3.0, 0.5], [-1.0, 3.5]])
    true.covars_ = np.array([np.eye(2) * 0.6, [[0.8, 0.3], [0.3, 0.5]], np.eye(2) * 1.0])
    X, z = true.sample(n, random_state=seed)
    return X, z, true


def _match(pred, z, k=3):
    """Accuracy under the best state permutation, and that permutation."""
    from itertools import permutations

    best = max(permutations(range(k)), key=lambda p: accuracy_score(z, np.array(p)[pred]))
    return accuracy_score(z, np.array(best)[pred]), best


def test_hmm_recovers_known_states():
    X, z, true = _known_hmm()
    est = GaussianHMMRegime(n_components=3, n_init=3, sticky=0.0, random_state=0).fit(X)  # plain maximum likelihood
    acc, perm = _match(est.predict(X), z)
    assert acc > 0.95
    inv = np.argsort(perm)
    np.testing.assert_allclose(est.means_[inv], true.means_, atol=0.2)
    assert np.all(np.diag(est.transmat_) > 0.9)
    assert est.converged_


def test_filtered_probabilities_are_a_prefix_property():
    X, _, _ = _known_hmm(600)
    est = GaussianHMMRegime(n_init=1, random_state=0).fit(X)
    full = est.predict_proba(X)
    for cut in (50, 333, 599):
        np.testing.assert_allclose(est.predict_proba(X[:cut]), full[:cut], rtol=0, atol=1e-12)


def test_smoothed_probabilities_are_separate_and_look_ahead():
    X, _, _ = _known_hmm(600)
    est = GaussianHMMRegime(n_init=1, random_state=0).fit(X)
    smooth_full = est.predict_proba_smoothed(X)
    smooth_cut = est.predict_proba_smoothed(X[:300])
    assert not np.allclose(smooth_full[:300], smooth_cut)  # smoothing uses the future
    assert not np.allclose(smooth_full, est.predict_proba(X))


def test_forward_filter_matches_hmmlearn_likelihood():
    X, _, true = _known_hmm(400)
    est = GaussianHMMRegime(n_init=1, random_state=0).fit(X)
    assert est.score(X) * len(X) == pytest.approx(est.model_.score(X), rel=1e-6)


def test_forward_filter_by_hand():
    """Two states, deterministic emissions: the filter must follow Bayes' rule step by step."""
    A = np.array([[0.9, 0.1], [0.2, 0.8]])
    logB = np.log(np.array([[0.5, 0.1], [0.2, 0.6]]))
    filt, pred, ll = forward_filter(logB, np.array([0.5, 0.5]), A)
    a0 = np.array([0.25, 0.05]) / 0.30
    np.testing.assert_allclose(filt[0], a0)
    p1 = a0 @ A
    np.testing.assert_allclose(pred[1], p1)
    a1 = p1 * np.array([0.2, 0.6])
    np.testing.assert_allclose(filt[1], a1 / a1.sum())
    assert ll == pytest.approx(np.log(0.30) + np.log(a1.sum()))


def test_converged_is_honest():
    X, _, _ = _known_hmm(800)
    with pytest.warns(Warning, match="did not converge"):
        est = GaussianHMMRegime(n_init=1, n_iter=1, sticky=0.0, random_state=0).fit(X)
    assert est.converged_ is False  # hmmlearn would call hitting n_iter "converged"
    # plain maximum likelihood (sticky=0), as the test was written for
    assert GaussianHMMRegime(n_init=1, n_iter=500, sticky=0.0, random_state=0).fit(X).converged_ is True


def test_restarts_keep_the_best_likelihood():
    X, _, _ = _known_hmm(800)
    est = GaussianHMMRegime(n_init=4, random_state=1).fit(X)
    assert est.lower_bound_ == pytest.approx(np.nanmax(est.init_scores_))
    assert len(est.init_scores_) == 4


def test_sticky_prior_makes_states_more_persistent():
    X, _, _ = _known_hmm(800)
    loose = GaussianHMMRegime(n_init=1, sticky=0.0, random_state=0).fit(X)
    sticky = GaussianHMMRegime(n_init=1, random_state=0, sticky=2000.0).fit(X)
    assert np.diag(sticky.transmat_).min() > np.diag(loose.transmat_).min()


def test_too_few_samples_message():
    with pytest.raises(ValueError, match=r"n_samples=2 should be >= n_components=3"):
        GaussianHMMRegime().fit(np.zeros((2, 2)) + [[0, 1], [1, 0]])


def test_gmm_recovers_clusters_and_smoothing_is_causal():
    rng = np.random.default_rng(0)
    z = np.repeat([0, 1, 2, 0], 200)
    X = np.array([[0, 0], [4, 0], [0, 4]])[z] + rng.normal(size=(800, 2))
    est = GaussianMixtureRegime(n_init=2, random_state=0).fit(X)
    acc, _ = _match(est.predict(X), z)
    assert acc > 0.95
    sm = GaussianMixtureRegime(n_init=2, random_state=0, smoothing=0.8).fit(X)
    full = sm.predict_proba(X)
    np.testing.assert_allclose(sm.predict_proba(X[:321]), full[:321], atol=1e-12)
    np.testing.assert_allclose(full.sum(axis=1), 1.0)
    assert np.abs(np.diff(full, axis=0)).sum() < np.abs(np.diff(est.predict_proba(X), axis=0)).sum()


def _blocks(seed=0, scale=1.2):
    rng = np.random.default_rng(seed)
    z = np.repeat([0, 1, 2, 0, 1, 2, 0], 250)
    return np.array([[0, 0], [3, 0], [0, 3]])[z] + rng.normal(size=(len(z), 2)) * scale, z


def test_jump_model_recovers_persistent_states_online():
    X, z = _blocks()
    est = JumpModelRegime(n_init=5, jump_penalty=20, random_state=0).fit(X)
    assert _match(est.labels_, z)[0] > 0.97  # the penalised training path
    assert _match(est.predict(X), z)[0] > 0.9  # online, causal
    assert est.converged_


def test_jump_penalty_reduces_switches():
    X, _ = _blocks(scale=1.6)
    loose = JumpModelRegime(n_init=3, jump_penalty=0.0, random_state=0).fit(X)
    tight = JumpModelRegime(n_init=3, jump_penalty=50.0, random_state=0).fit(X)
    assert np.count_nonzero(np.diff(tight.labels_)) < np.count_nonzero(np.diff(loose.labels_))


def test_jump_filtered_probabilities_prefix_and_temperature():
    X, z = _blocks()
    est = JumpModelRegime(n_init=3, random_state=0).fit(X)
    full = est.predict_proba(X)
    np.testing.assert_allclose(est.predict_proba(X[:600]), full[:600], atol=1e-12)
    assert 0.5 <= est.temperature_ <= 200
    fixed = JumpModelRegime(n_init=3, random_state=0, temperature=1.0).fit(X)
    assert fixed.temperature_ == 1.0


def test_markov_switching_recovers_means_and_filters_causally():
    rng = np.random.default_rng(0)
    z = np.repeat([0, 1, 2, 0, 1], 300)
    y = np.array([0.0, 1.5, -2.0])[z] + rng.normal(size=len(z)) * np.array([1.0, 0.5, 2.0])[z]
    est = MarkovSwitchingRegime(n_init=3, random_state=0).fit(y[:, None])
    np.testing.assert_allclose(np.sort(est.means_[:, 0]), [-2.0, 0.0, 1.5], atol=0.3)
    p = est.predict_proba(y[:, None])
    np.testing.assert_allclose(est.predict_proba(y[:700, None]), p[:700], atol=1e-10)
    assert _match(p.argmax(axis=1), z)[0] > 0.8


def test_hmm_warm_start_refits_from_current_parameters():
    X, _, _ = _known_hmm(800)
    est = GaussianHMMRegime(n_init=3, random_state=0).fit(X)
    means = est.means_.copy()
    est.set_params(warm_start=True, n_iter=5)
    est.fit(X[:700])
    assert len(est.init_scores_) == 1  # one run from the previous parameters, not n_init restarts
    np.testing.assert_allclose(est.means_, means, atol=0.3)  # states keep their identity


def test_make_estimator_from_config():
    assert isinstance(make_estimator(HMMConfig()), GaussianHMMRegime)
    gm = make_estimator(GMMConfig(smoothing=0.5, n_init=2))
    assert isinstance(gm, GaussianMixtureRegime) and gm.smoothing == 0.5 and gm.n_init == 2
    jm = make_estimator(JumpConfig(jump_penalty=7.0))
    assert isinstance(jm, JumpModelRegime) and jm.jump_penalty == 7.0
    assert isinstance(make_estimator(MarkovConfig()), MarkovSwitchingRegime)


def _markov_series(n=600, seed=0):
    rng = np.random.default_rng(seed)
    z = np.repeat([0, 1, 0, 1], n // 4)
    return (np.array([0.0, 1.5])[z] + rng.normal(size=len(z)) * np.array([1.0, 0.5])[z])[:, None]


def test_markov_fit_leaves_the_global_numpy_stream_alone():
    y = _markov_series()
    np.random.seed(123)
    expected = np.random.random(5)
    np.random.seed(123)
    first = MarkovSwitchingRegime(n_components=2, n_init=2, random_state=0).fit(y)
    np.testing.assert_array_equal(np.random.random(5), expected)
    again = MarkovSwitchingRegime(n_components=2, n_init=2, random_state=0).fit(y)
    np.testing.assert_array_equal(again.params_, first.params_)  # and the fit is reproducible


def test_markov_search_on_statsmodels_with_a_global_rng(monkeypatch):
    """statsmodels < 0.15 searches with numpy's global RNG: emulated, the fit is the same and the stream restored."""
    from statsmodels.tsa.regime_switching import markov_switching

    from regime.models import _markov

    y = _markov_series(seed=1)
    current = MarkovSwitchingRegime(n_components=2, n_init=2, random_state=0).fit(y)
    orig = markov_switching.check_random_state
    monkeypatch.setattr(markov_switching, "check_random_state",
                        lambda rng=None, *a, **k: np.random.mtrand._rand if rng is None else orig(rng, *a, **k))
    monkeypatch.setattr(_markov, "_fit_takes_rng", lambda: False)
    np.random.seed(5)
    expected = np.random.random(3)
    np.random.seed(5)
    old = MarkovSwitchingRegime(n_components=2, n_init=2, random_state=0).fit(y)
    np.testing.assert_array_equal(np.random.random(3), expected)
    np.testing.assert_array_equal(old.params_, current.params_)


@pytest.mark.filterwarnings("ignore")
def test_markov_counts_its_optimiser_iterations():
    """statsmodels' BFGS reports no iteration count; the estimator counts them, so n_iter_ is not always 0."""
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0, 1, 300), rng.normal(2, 3, 300)][:, None]
    est = MarkovSwitchingRegime(n_components=2, n_init=1, n_iter=60).fit(X)
    assert est.converged_ and 1 <= est.n_iter_ < 60
    capped = MarkovSwitchingRegime(n_components=2, n_init=1, n_iter=3).fit(X)
    assert not capped.converged_ and capped.n_iter_ == 3

"""What every estimator shares: parameter validation, keyword-only parameters, the restart loop."""

import inspect
import warnings

import numpy as np
import pytest
from hmmlearn.hmm import GaussianHMM
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import check_param_validation

from regime.models import (
    AxesRegime,
    GaussianHMMRegime,
    GaussianMixtureRegime,
    JumpModelRegime,
    MarkovSwitchingRegime,
    RegimeEstimator,
    RestartsFailedError,
    RulesRegime,
)
from regime.models._base import SEED_MAX, Run

ESTIMATORS = [GaussianHMMRegime, GaussianMixtureRegime, JumpModelRegime, MarkovSwitchingRegime, AxesRegime,
              RulesRegime]
RESTARTING = [GaussianHMMRegime, GaussianMixtureRegime, JumpModelRegime, MarkovSwitchingRegime]


def _X(n=300, seed=0):
    """Two columns with three blocks: fits every estimator (rules and axes read column 0 as risk)."""
    rng = np.random.default_rng(seed)
    z = np.repeat([0, 1, 2, 0, 1, 2], n // 6)
    return np.array([[0.0, 0.0], [2.5, 0.5], [0.0, 2.5]])[z] + rng.normal(size=(len(z), 2)) * 0.7


# ------------------------------------------------------------------------------------------ parameters
@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_every_parameter_has_a_constraint_checked_at_fit(cls):
    """scikit-learn's own check: a constraint for each parameter; a bad type or value raises at fit."""
    check_param_validation(cls.__name__, cls())


#: One bad value per estimator (and a few more), each a value that fit used to accept or fail on obscurely.
BAD_VALUES = [
    (GaussianHMMRegime, "n_init", -1),
    (GaussianHMMRegime, "covariance_type", "banana"),
    (GaussianHMMRegime, "sticky", -1.0),
    (GaussianMixtureRegime, "smoothing", 1.0),
    (JumpModelRegime, "temperature", 0.0),
    (JumpModelRegime, "jump_penalty", -5.0),
    (MarkovSwitchingRegime, "n_init", 0),
    (AxesRegime, "calm_days", 1.0),
    (AxesRegime, "lead_combine", "median"),
    (RulesRegime, "threshold", 1.0),
]


@pytest.mark.parametrize("cls, name, value", BAD_VALUES)
def test_a_bad_value_is_rejected_at_fit(cls, name, value):
    est = cls(**{name: value})  # scikit-learn's contract: the constructor only stores it
    with pytest.raises(InvalidParameterError, match=rf"The '{name}' parameter of {cls.__name__} must be"):
        est.fit(_X())


@pytest.mark.parametrize("cls, name, value", BAD_VALUES)
def test_without_its_constraint_the_bad_value_gets_through(cls, name, value, monkeypatch):
    """The test above depends on the constraint: without it, fit accepts the value or fails some other way."""
    monkeypatch.setattr(cls, "_parameter_constraints", {**cls._parameter_constraints, name: "no_validation"})
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cls(**{name: value}).fit(_X())
    except InvalidParameterError:  # pragma: no cover - what this test says cannot happen
        pytest.fail(f"{cls.__name__}.{name}={value!r} was rejected without its constraint")
    except Exception:  # noqa: BLE001 - a later, less clear failure: what the constraint spares the user
        pass


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_parameters_are_keyword_only(cls):
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert params and all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params)
    with pytest.raises(TypeError):
        cls(3)


# ---------------------------------------------------------------------------------------- restart loop
@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_converged_marks_a_fit_for_warm_start(cls):
    est = cls(warm_start=True, **({"n_init": 1} if "n_init" in cls().get_params() else {}))
    assert not est._is_warm()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(_X())
    assert est._is_warm()
    assert not est.set_params(warm_start=False)._is_warm()


@pytest.mark.parametrize("cls", RESTARTING + [AxesRegime], ids=lambda c: c.__name__)
def test_one_convergence_warning_for_every_model(cls):
    tol = f" \\(tol={cls().tol}\\); raise n_iter or tol" if "tol" in cls().get_params() else "; raise n_iter"
    with pytest.warns(ConvergenceWarning, match=rf"^{cls.__name__} did not converge: its best run stopped at "
                                                 rf"n_iter=1{tol}$"):
        est = cls(n_iter=1).fit(_X())
    assert est.converged_ is False


@pytest.mark.parametrize("cls", RESTARTING, ids=lambda c: c.__name__)
def test_every_restart_failing_raises_one_clear_error(cls, monkeypatch):
    monkeypatch.setattr(RegimeEstimator, "_fit_restarts", _failing_loop(RegimeEstimator._fit_restarts))
    est = cls(n_init=3)
    if cls is MarkovSwitchingRegime:  # markov falls back to moment-based parameters, with a warning that says why
        with pytest.warns(ConvergenceWarning, match=r"every one of the 3 restarts failed \(last: boom\); using"):
            est.fit(_X())
        assert est.converged_ is False and est.n_iter_ == 0
        return
    with pytest.raises(RestartsFailedError, match=rf"^{cls.__name__}: every one of the 3 restarts failed "
                                                  r"\(last: boom\)$"):
        est.fit(_X())


def _failing_loop(loop):
    """The shared loop with every run raising ValueError('boom'), as if each restart failed."""

    def failing(self, X, fit_one, init, **kw):
        def fit_one_failing(X, start):
            raise ValueError("boom")

        return loop(self, X, fit_one_failing, init, **{**kw, "errors": (ValueError,)})

    return failing


def test_non_finite_runs_lose_and_are_recorded():
    est = GaussianHMMRegime()
    runs = iter([Run("a", np.nan, 0.0, 1, True), Run("b", -1.0, -1.0, 2, True), Run("c", -np.inf, 0.0, 3, True),
                 Run("d", -1.0, -1.0, 4, False)])
    best, scores = est._fit_restarts(None, lambda X, start: next(runs), lambda rng: None, warm=False, n_init=4)
    assert best.model == "b"  # the best finite score, the first of equal ones
    np.testing.assert_array_equal(scores, [np.nan, -1.0, -np.inf, -1.0])
    runs = iter([Run("a", np.nan, 0.0, 1, True)])
    with pytest.raises(RestartsFailedError, match=r"the warm-started run failed \(last: non-finite score nan\)"):
        est._fit_restarts(None, lambda X, start: next(runs), lambda rng: None, warm=True)


# ------------------------------------------------------------------------------------ random streams
#: Draws each fit takes from the caller's RandomState: one seed a restart, and a warm HMM refit one more.
DRAWS = {
    "hmm": (lambda rs: GaussianHMMRegime(n_init=3, n_iter=5, random_state=rs), 3, 1),
    "jump": (lambda rs: JumpModelRegime(n_init=4, n_iter=5, random_state=rs), 4, 0),
    "markov": (lambda rs: MarkovSwitchingRegime(n_components=2, n_init=2, n_iter=5, random_state=rs), 2, 0),
}


@pytest.mark.parametrize("kind", DRAWS)
def test_restart_seeds_come_from_the_estimators_stream(kind):
    make, cold, warm = DRAWS[kind]
    expected = np.random.RandomState(7).randint(SEED_MAX, size=max(cold, warm) + 1)
    rs = np.random.RandomState(7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = make(rs).fit(_X())
        assert rs.randint(SEED_MAX) == expected[cold]  # exactly `cold` draws
        rs = np.random.RandomState(7)
        est.set_params(random_state=rs, warm_start=True).fit(_X())
    assert rs.randint(SEED_MAX) == expected[warm]


def test_hmm_restarts_are_hmmlearn_fits_from_the_drawn_seeds():
    X = _X()
    est = GaussianHMMRegime(n_init=3, n_iter=20, sticky=0.0, random_state=4).fit(X)
    seeds = np.random.RandomState(4).randint(SEED_MAX, size=3)
    direct = [GaussianHMM(n_components=3, covariance_type="full", n_iter=20, tol=1e-3, min_covar=1e-3, random_state=int(s),
                          implementation="log").fit(X).score(X) / len(X) for s in seeds]
    np.testing.assert_array_equal(est.init_scores_, direct)


def test_gmm_restarts_reproduce_scikit_learns_own():
    """Single-restart mixtures sharing one RandomState are scikit-learn's n_init loop, bit for bit."""
    X = _X(seed=3)
    est = GaussianMixtureRegime(n_init=4, covariance_type="diag", random_state=2).fit(X)
    gm = GaussianMixture(n_components=3, covariance_type="diag", n_init=4, max_iter=200, tol=1e-3, reg_covar=1e-3,
                         random_state=2).fit(X)
    for attr in ("weights_", "means_", "covariances_", "precisions_cholesky_", "lower_bound_", "n_iter_"):
        np.testing.assert_array_equal(getattr(est.model_, attr), getattr(gm, attr))
    assert est.model_.get_params() == gm.get_params()


# ---------------------------------------------------------------------------------------- parallel restarts
#: Each restarting estimator with settings that keep its fit short; three restarts so two workers share them.
PARALLEL = {
    "hmm": lambda **kw: GaussianHMMRegime(n_init=3, n_iter=30, **kw),
    "gmm": lambda **kw: GaussianMixtureRegime(n_init=3, **kw),
    "jump": lambda **kw: JumpModelRegime(n_init=3, **kw),
    "markov": lambda **kw: MarkovSwitchingRegime(n_components=2, n_init=3, n_iter=30, **kw),
}


def _learned(est) -> dict:
    """Every learned attribute (``name_``), and those of a wrapped library model (``model_``), as plain values."""
    out = {}
    for name, value in vars(est).items():
        if not name.endswith("_") or name.startswith("_"):
            continue
        if name == "model_":
            inner = value.params if hasattr(value, "params") else vars(value)  # statsmodels results, or a model
            if isinstance(inner, dict):
                out.update({f"model_.{k}": v for k, v in inner.items()
                            if k.endswith("_") and not k.startswith("_") and k != "monitor_"})
            else:
                out["model_.params"] = inner
        else:
            out[name] = value
    return out


@pytest.mark.parametrize("kind", PARALLEL)
def test_restarts_on_two_processes_give_the_same_fit(kind):
    """Where the restarts run changes nothing: every learned value and filtered probability is equal, bit for bit."""
    X = _X(seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        one = PARALLEL[kind](random_state=3).fit(X)
        two = PARALLEL[kind](random_state=3, n_jobs=2).fit(X)
    a, b = _learned(one), _learned(two)
    assert a.keys() == b.keys() and len(a) >= 4
    for name in a:
        x, y = np.asarray(a[name]), np.asarray(b[name])
        assert x.shape == y.shape and (np.array_equal(x, y, equal_nan=x.dtype.kind == "f") or x.dtype.kind == "O"
                                       and all(u == v for u, v in zip(x.ravel(), y.ravel()))), name
    assert np.array_equal(one.predict_proba(X), two.predict_proba(X))
    # the restarts differ (else the test could not tell a shared start from the drawn ones)
    scores = getattr(one, "init_scores_", None)
    assert scores is None or len(set(np.round(scores, 12))) > 1


def test_gmm_restarts_on_two_processes_reproduce_scikit_learns_own():
    """Each mixture's copy of the stream, drawn before any run, is what scikit-learn's own loop would use."""
    X = _X(seed=3)
    est = GaussianMixtureRegime(n_init=4, covariance_type="diag", random_state=2, n_jobs=2).fit(X)
    gm = GaussianMixture(n_components=3, covariance_type="diag", n_init=4, max_iter=200, tol=1e-3, reg_covar=1e-3,
                         random_state=2).fit(X)
    for attr in ("weights_", "means_", "covariances_", "precisions_cholesky_", "lower_bound_", "n_iter_"):
        np.testing.assert_array_equal(getattr(est.model_, attr), getattr(gm, attr))
    rs = np.random.RandomState(9)
    GaussianMixtureRegime(n_init=3, random_state=rs, n_jobs=2).fit(X)
    ref = np.random.RandomState(9)
    GaussianMixture(n_components=3, n_init=3, max_iter=200, tol=1e-3, reg_covar=1e-3, random_state=ref).fit(X)
    assert rs.randint(SEED_MAX) == ref.randint(SEED_MAX)  # the caller's stream moved as scikit-learn's does


def test_a_warm_start_runs_in_place_whatever_n_jobs():
    est = GaussianHMMRegime(n_init=2, n_iter=10, n_jobs=2).fit(_X())
    model = est.model_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.set_params(warm_start=True).fit(_X(seed=1))
    assert est.model_ is model and len(est.init_scores_) == 1


@pytest.mark.parametrize("cls", RESTARTING, ids=lambda c: c.__name__)
def test_an_estimator_pickled_before_n_jobs_loads_with_its_default(cls):
    """A stored model's estimators predate ``n_jobs``: unpickled, they get it (None) and refit as before."""
    import pickle

    est = cls(n_init=1).fit(_X()) if cls is not MarkovSwitchingRegime else cls(n_components=2, n_init=1).fit(_X())
    del est.n_jobs  # as an older version pickled it
    loaded = pickle.loads(pickle.dumps(est))
    assert loaded.n_jobs is None and loaded.get_params()["n_jobs"] is None
    np.testing.assert_array_equal(loaded.predict_proba(_X()), est.predict_proba(_X()))

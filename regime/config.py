"""Configuration: roles, feature windows, model choice and regime naming rules.

The defaults live here, in code, so an installed package needs no file to run;
``configs/default.yaml`` spells the same defaults out for people to copy and a
test keeps the two equal. A YAML file overrides any subset of the fields.

The model section has one class per model kind (:class:`HMMConfig`, :class:`GMMConfig`,
:class:`JumpConfig`, :class:`MarkovConfig`, :class:`RulesConfig`, :class:`AxesConfig`,
:class:`EnsembleConfig`), chosen by ``kind``; each has exactly the settings its kind reads, each with
its default, declared once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from .errors import ConfigError

__all__ = [
    "Config",
    "RolesConfig",
    "FeaturesConfig",
    "ModelConfig",
    "AnyModelConfig",
    "EstimatorConfig",
    "HMMConfig",
    "GMMConfig",
    "JumpConfig",
    "MarkovConfig",
    "RulesConfig",
    "AxesConfig",
    "EnsembleConfig",
    "MODEL_KINDS",
    "default_model",
    "RegimeRule",
    "TrainConfig",
    "LabelConfig",
    "BacktestConfig",
    "AllocationConfig",
    "DataConfig",
    "load_config",
    "read_yaml_mapping",
    "config_from_mapping",
    "merge_settings",
    "config_from_saved",
    "PRICE_ROLES",
    "RATE_ROLES",
    "RULES_FEATURES",
]

PRICE_ROLES = ("large_cap", "equal_weight", "mega_cap", "mid_cap", "small_cap", "small_cap_2")
RATE_ROLES = ("policy_rate", "yield_2y", "yield_10y", "credit_spread")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RolesConfig(_Strict):
    """Map each role to a column of ``prices`` or ``rates``; ``null`` switches a role off.

    ``large_cap`` is required: it is the cap-weighted benchmark every relative
    strength is measured against.
    """

    large_cap: str = "spx"
    equal_weight: str | None = "spx_ew"
    mega_cap: str | None = "ndx"
    mid_cap: str | None = "mid"
    small_cap: str | None = "sml"
    small_cap_2: str | None = "rut"
    policy_rate: str | None = "fed_funds"
    yield_2y: str | None = "ust_2y"
    yield_10y: str | None = "ust_10y"
    credit_spread: str | None = "baa_spread"


class FeaturesConfig(_Strict):
    """Trailing windows (in trading days) of every feature family.

    Every feature at date t is computed from a window that ends at t, so its
    value never depends on later data nor on where the history starts, once the
    window is full.
    """

    pairs: dict[str, tuple[str, str]] = Field(
        default_factory=lambda: {
            "ew_cw": ("equal_weight", "large_cap"),
            "small_large": ("small_cap", "large_cap"),
            "mid_large": ("mid_cap", "large_cap"),
            "mega_large": ("mega_cap", "large_cap"),
        },
        description="relative-strength pairs: name -> (numerator role, denominator role)",
    )
    momentum_windows: tuple[int, ...] = (10, 21, 63, 126)
    ma_window: int = 100
    rank_window: int = 252
    rank_of: int = 63
    breadth_ma_windows: tuple[int, ...] = (50, 200)
    breadth_window: int = 63
    ad_window: int = 21
    high_low_window: int = 252
    high_low_smooth: int = 10
    concentration_top: int = 10
    concentration_window: int = 63
    size_corr_windows: tuple[int, ...] = (10, 21, 63)
    dispersion_windows: tuple[int, ...] = (5, 10, 21)
    policy_change_windows: tuple[int, ...] = (63, 126)
    yield_change_windows: tuple[int, ...] = (21, 63)
    credit_change_windows: tuple[int, ...] = (10, 21, 63)
    vol_windows: tuple[int, ...] = (10, 21, 63)
    vol_percentile_windows: tuple[int, ...] = Field(
        (21,), description="rk_vol_pctl_<w>d: percentile rank of the w-day volatility among all its values to date"
    )
    vol_q_windows: tuple[int, ...] = Field(
        (10,), description="rk_vol_q_<w>d: the expanding percentile of w-day volatility as a normal quantile"
    )
    lead_vol_window: int = Field(
        63, ge=10, description="ld_*: trailing days of the standard deviation that scales a daily relative return"
    )
    lead_orientation: dict[str, float] = Field(
        default_factory=lambda: {"ew_cw": 1.0, "small_large": 1.0, "mid_large": 1.0, "mega_large": -1.0},
        description="ld_<pair>: +1 if the pair's numerator leading means broadening, -1 if it means concentration",
    )
    percentile_min_days: int = Field(
        252, ge=20, description="values of a volatility needed before its expanding percentile is defined"
    )
    return_windows: tuple[int, ...] = (10, 21, 63)
    drawdown_window: int = 252
    proxy_window: int = 21

    @field_validator(
        "momentum_windows", "breadth_ma_windows", "size_corr_windows", "dispersion_windows", "policy_change_windows",
        "yield_change_windows", "credit_change_windows", "vol_windows", "vol_percentile_windows", "return_windows",
        "vol_q_windows",
    )
    @classmethod
    def _positive_windows(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or any(w < 1 for w in v):
            raise ValueError("windows must be a non-empty list of positive integers")
        return v

    @field_validator("pairs")
    @classmethod
    def _known_roles(cls, v: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
        for name, (a, b) in v.items():
            for role in (a, b):
                if role not in PRICE_ROLES:
                    raise ValueError(f"pair {name!r} uses unknown role {role!r}; roles are {', '.join(PRICE_ROLES)}")
        return v

    def lookback(self) -> int:
        """Rows of history needed before every configured feature is defined."""
        return 1 + max(
            max(self.momentum_windows) + 1,
            self.ma_window,
            self.rank_window + self.rank_of,
            max(self.breadth_ma_windows) + self.ad_window,
            self.high_low_window + self.high_low_smooth,
            self.concentration_window + 1,
            max(self.size_corr_windows) + 1,
            max(self.dispersion_windows) + 1,
            max(self.vol_windows) + 1,
            max(self.vol_percentile_windows + self.vol_q_windows) + self.percentile_min_days,
            max(self.return_windows) + 1,
            self.drawdown_window,
            self.lead_vol_window + 2,
            max(self.policy_change_windows + self.yield_change_windows + self.credit_change_windows) + 1,
        )


#: The model's default features: slow relative strength, size leadership and sector rotation from the
#: constituents (faster and less noisy than index spreads), breadth, fast risk and cross-sectional
#: dispersion, short rate changes and the priced policy path. No trending levels except the curve's slope
#: and the 2y-policy spread, which revert.
DEFAULT_MODEL_FEATURES = (
    "rs_small_large_vs_ma", "rs_ew_cw_vs_ma",
    "br_size_corr_10d", "br_size_corr_21d", "br_ad_slope",
    "br_rotation_5d", "br_rotation_10d", "br_rotation_21d",  # present only when constituents have sectors
    "br_dispersion_5d", "rk_vol_10d", "rk_ret_10d",
    "rt_credit_chg_10d", "rt_credit_chg_21d", "rt_2y_chg_21d", "rt_slope", "rt_2y_policy",
    "px_ew_cw_spread", "px_dispersion",  # breadth proxies: present only when there are no constituents
)


#: The rules model's features, in the order it reads them: the volatility percentile, then the first leadership
#: spread the data has (equal weight vs cap weight, else small caps vs cap weight).
RULES_FEATURES = ("rk_vol_pctl_21d", "rs_ew_cw_mom_63d", "rs_small_large_mom_63d")

#: The axes model's risk features, volatility first; a leading '-' marks a feature that stress lowers.
AXES_RISK_FEATURES = ("rk_vol_q_10d", "-rk_ret_21d", "rt_credit_chg_21d")
#: The axes model's leadership features (globs): daily relative returns oriented so that positive is broadening.
AXES_LEAD_FEATURES = ("ld_*",)

#: The number of states of the kinds that name their own (rules and axes: stress, concentration, broadening).
_FIXED_STATES = 3

#: The validation context key under which a saved config is read (see :func:`config_from_saved`).
_FROM_SAVED = "from_saved"


class ModelConfig(_Strict):
    """What the config of every model kind has: its ``kind``. The base of the per-kind classes.

    ``Config.model`` is one of :class:`HMMConfig`, :class:`GMMConfig`, :class:`JumpConfig`,
    :class:`MarkovConfig`, :class:`RulesConfig`, :class:`AxesConfig` or :class:`EnsembleConfig`, chosen by
    ``kind`` (:data:`AnyModelConfig`); a model section without ``kind`` is a jump model. Each class has
    exactly the settings its kind reads, so a setting of another kind is an error that names it.
    """

    kind: str

    @model_validator(mode="before")
    @classmethod
    def _drop_unread_saved(cls, data: Any, info: ValidationInfo) -> Any:
        # a model saved by a version with one flat model config carries every kind's settings; its kind ignored
        # the others, so they are dropped (only when reading a saved config: see config_from_saved)
        if isinstance(data, dict) and info.context and info.context.get(_FROM_SAVED):
            return {k: v for k, v in data.items() if k in cls.model_fields}
        return data

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if type(self) is ModelConfig:
            raise ValueError(
                "ModelConfig is the base of the per-kind model configs; build HMMConfig, GMMConfig, JumpConfig, "
                "MarkovConfig, RulesConfig, AxesConfig or EnsembleConfig, or validate a mapping as AnyModelConfig"
            )
        return self


class _SingleModel(ModelConfig):
    """A model that fits one estimator (any kind but ``ensemble``)."""

    weight: float = Field(1.0, gt=0, description="weight of this model inside an ensemble")

    #: Settings the pipeline reads (feature selection, weighting, the choice of the state count); every other
    #: setting is a parameter of the same name of the kind's estimator.
    pipeline_settings: ClassVar[frozenset[str]] = frozenset(
        {"kind", "include", "exclude", "weight", "n_components_range"}
    )

    def estimator_params(self) -> dict[str, Any]:
        """The estimator's parameters: every setting but those the pipeline reads (``pipeline_settings``)."""
        return {k: v for k, v in self if k not in self.pipeline_settings}

    def bic_range(self) -> tuple[int, int] | None:
        """The [min, max] state counts a fresh fit chooses among by BIC; None: one fit."""
        return None

    def fewest_states(self) -> int:
        """The fewest states this model may label with (here: the fixed states of the rules and axes models)."""
        return _FIXED_STATES

    def leaves(self) -> tuple[Self]:
        """The model actually fitted: this one, its feature patterns resolved (see :meth:`EnsembleConfig.leaves`)."""
        return (self._resolved(None, None),)

    def _resolved(self, include: tuple[str, ...] | None, exclude: tuple[str, ...] | None) -> Self:
        """This model with its own feature patterns, else an ensemble's (``include``, ``exclude``), else its
        kind's defaults."""
        return self


class _LatentStates(_SingleModel):
    """A model of ``n_components`` hidden states fitted from ``n_init`` random starts (hmm, gmm, jump, markov)."""

    n_components: int = Field(3, ge=1, le=12, description="number of hidden states")
    n_init: int = Field(5, ge=1, description="random starts; the best objective is kept")
    n_iter: int = Field(200, ge=1, description="most iterations of one fit")
    random_state: int = Field(0, description="seed of the random starts")
    n_jobs: int | None = Field(
        None, description="processes the random starts run on (-1 = every core; null = 1); results do not depend on it"
    )
    include: tuple[str, ...] | None = Field(
        None, description="glob patterns of features that feed the model (default: DEFAULT_MODEL_FEATURES)"
    )
    exclude: tuple[str, ...] | None = Field(None, description="glob patterns of features kept out of the model")

    @field_validator("n_jobs")
    @classmethod
    def _some_jobs(cls, v: int | None) -> int | None:
        if v == 0:
            raise ValueError("n_jobs must be a number of processes (1, 2, ...), -1 for every core, or null for 1")
        return v

    def fewest_states(self) -> int:
        """The fewest states this model may label with: ``n_components``, or the low end of ``n_components_range``."""
        rng = self.bic_range()
        return rng[0] if rng is not None else self.n_components

    def _resolved(self, include: tuple[str, ...] | None, exclude: tuple[str, ...] | None) -> Self:
        inc = next(p for p in (self.include, include, DEFAULT_MODEL_FEATURES) if p is not None)
        exc = next(p for p in (self.exclude, exclude, ()) if p is not None)
        return self.model_copy(update={"include": inc, "exclude": exc})


class _BICStates(_LatentStates):
    """A model whose number of states may be chosen by BIC (hmm, gmm, markov)."""

    n_components_range: tuple[int, int] | None = Field(
        None, description="choose the number of states in [min, max] by BIC at each from-scratch fit"
    )

    @field_validator("n_components_range")
    @classmethod
    def _check_range(cls, v: tuple[int, int] | None) -> tuple[int, int] | None:
        if v is not None and not 1 <= v[0] <= v[1]:
            raise ValueError("n_components_range must be [min, max] with 1 <= min <= max")
        return v

    def bic_range(self) -> tuple[int, int] | None:
        """``n_components_range``: the [min, max] state counts a fresh fit chooses among by BIC; None: one fit."""
        return self.n_components_range


class _Gaussian(_BICStates):
    """Gaussian emissions fitted by EM (hmm, gmm)."""

    covariance_type: Literal["full", "diag", "spherical", "tied"] = Field(
        "full", description="shape of each state's covariance"
    )
    tol: float = Field(1e-3, gt=0, description="EM stops when the log-likelihood gains less than this")
    reg_covar: float = Field(1e-3, gt=0, description="added to the covariances' diagonal")


class HMMConfig(_Gaussian):
    """``kind: hmm``, a Gaussian hidden Markov model (:class:`regime.models.GaussianHMMRegime`)."""

    kind: Literal["hmm"] = "hmm"
    sticky: float = Field(
        50.0, ge=0, description="HMM: Dirichlet prior weight added to the diagonal of the transition matrix"
    )


class GMMConfig(_Gaussian):
    """``kind: gmm``, a Gaussian mixture (:class:`regime.models.GaussianMixtureRegime`)."""

    kind: Literal["gmm"] = "gmm"
    smoothing: float = Field(
        0.0, ge=0, lt=1, description="GMM: causal exponential smoothing of the probabilities (0 = none)"
    )


class MarkovConfig(_BICStates):
    """``kind: markov``, a Markov-switching mean and variance (:class:`regime.models.MarkovSwitchingRegime`)."""

    kind: Literal["markov"] = "markov"


class JumpConfig(_LatentStates):
    """``kind: jump``, the statistical jump model (:class:`regime.models.JumpModelRegime`).

    Its number of states is ``n_components``: a jump model has no likelihood to choose it by BIC.
    """

    kind: Literal["jump"] = "jump"
    jump_penalty: float = Field(10.0, ge=0, description="jump model: cost of one switch")
    temperature: float | Literal["auto"] = Field(
        "auto", description="jump model: softness of the probabilities; auto = calibrated on the training window"
    )


class RulesConfig(_SingleModel):
    """``kind: rules``, the transparent baseline (:class:`regime.models.RulesRegime`).

    Stress above the ``threshold`` percentile of volatility, otherwise leadership by the sign of a 63-day
    spread, held ``hold_days``. Its states are fixed: stress, concentration and broadening.
    """

    kind: Literal["rules"] = "rules"
    threshold: float = Field(0.85, gt=0, lt=1, description="rules: stress above this volatility percentile")
    hold_days: int = Field(10, ge=1, description="rules: a new label is reported once it has held this many days")
    include: tuple[str, ...] | None = Field(
        None, description="rules: the volatility percentile first, then leadership spreads in order of preference "
        "(default: RULES_FEATURES)"
    )

    @field_validator("include")
    @classmethod
    def _two_features(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if v is not None and len(v) < 2:
            raise ValueError("rules: include needs the volatility percentile, then at least one leadership spread")
        return v

    def _resolved(self, include: tuple[str, ...] | None, exclude: tuple[str, ...] | None) -> Self:
        inc = next(p for p in (self.include, include, RULES_FEATURES) if p is not None)
        return self.model_copy(update={"include": inc})


class AxesConfig(_SingleModel):
    """``kind: axes``, a risk axis and a leadership axis (:class:`regime.models.AxesRegime`).

    Its features are ``risk`` and ``lead`` (no ``include``/``exclude``); its states are fixed: stress,
    concentration and broadening.
    """

    kind: Literal["axes"] = "axes"
    risk: tuple[str, ...] = Field(
        AXES_RISK_FEATURES, description="axes: risk-axis features, volatility first; '-name' if stress lowers it"
    )
    lead: tuple[str, ...] = Field(AXES_LEAD_FEATURES, description="axes: leadership-axis feature globs")
    stress_shift: float = Field(1.5, gt=0, description="axes: prior distance of stress from calm, in calm SDs")
    stress_floor: float = Field(1.04, description="axes: least stress mean of the first risk feature (anchored)")
    prior_days: float = Field(40.0, ge=0, description="axes: weight of the stress prior, in days")
    calm_days: float = Field(250.0, gt=1, description="axes: expected length of a calm spell, days")
    stress_days: float = Field(40.0, gt=1, description="axes: expected length of a stress spell, days")
    lead_days: float = Field(252.0, gt=1, description="axes: expected length of a leadership spell, days")
    clip: float = Field(4.0, gt=0, description="axes: leadership observations are clipped to +-clip SDs")
    risk_evidence: float = Field(0.15, gt=0, le=1, description="axes: weight of one day's risk likelihood")
    lead_evidence: float = Field(1.0, gt=0, le=1, description="axes: weight of one day's leadership likelihood")
    lead_ar: bool = Field(
        True, description="axes: read the leadership series' AR(1) innovations (persistent noise is not evidence)"
    )
    lead_combine: Literal["mean", "none"] = Field(
        "mean", description="axes: read the leadership series' daily mean (mean) or each series (none)"
    )
    n_iter: int = Field(200, ge=1, description="axes: most EM iterations per axis")
    tol: float = Field(1e-3, gt=0, description="axes: EM stops when the mean log-likelihood gains less than this")

    pipeline_settings: ClassVar[frozenset[str]] = _SingleModel.pipeline_settings | {"risk", "lead"}

    @model_validator(mode="after")
    def _check_axes(self) -> AxesConfig:
        if not self.risk or self.risk[0].startswith("-"):
            raise ValueError("axes: risk needs at least one feature, volatility first (without '-')")
        if not self.lead:
            raise ValueError("axes: lead needs at least one feature pattern, e.g. ld_*")
        return self


def _jump_unless_kind(v: Any) -> Any:
    """A model mapping without ``kind`` is a jump model, as it has always been."""
    return {**v, "kind": "jump"} if isinstance(v, dict) and "kind" not in v else v


#: The config of a model that fits one estimator: an ensemble member, a leaf of ``Config.model.leaves()``,
#: what :func:`regime.models.make_estimator` builds from. Validated by its ``kind`` (jump if missing).
EstimatorConfig = Annotated[
    HMMConfig | GMMConfig | JumpConfig | MarkovConfig | RulesConfig | AxesConfig,
    Field(discriminator="kind"), BeforeValidator(_jump_unless_kind),
]


class EnsembleConfig(ModelConfig):
    """``kind: ensemble``: the aligned regime probabilities of its ``members``, weighted by their ``weight``.

    Members without ``include``/``exclude`` inherit the ensemble's (a rules member reads only ``include``, an
    axes member neither).
    """

    kind: Literal["ensemble"] = "ensemble"
    members: tuple[EstimatorConfig, ...] = Field((), description="ensemble members, each a model of another kind")
    include: tuple[str, ...] | None = Field(
        None, description="glob patterns of features that feed members without their own (default: each "
        "member's kind's)"
    )
    exclude: tuple[str, ...] | None = Field(
        None, description="glob patterns of features kept out of members without their own"
    )

    @model_validator(mode="after")
    def _some_members(self) -> Self:
        if not self.members:
            raise ValueError("an ensemble needs members")
        return self

    def leaves(self) -> tuple[EstimatorConfig, ...]:
        """The models actually fitted: the members, their feature patterns resolved.

        A member's ``include`` is its own, else the ensemble's, else its kind's default; likewise ``exclude``
        (default none).
        """
        return tuple(m._resolved(self.include, self.exclude) for m in self.members)


#: A model config of any kind: ``Config.model``. Validated by its ``kind`` (jump if missing).
AnyModelConfig = Annotated[
    HMMConfig | GMMConfig | JumpConfig | MarkovConfig | RulesConfig | AxesConfig | EnsembleConfig,
    Field(discriminator="kind"), BeforeValidator(_jump_unless_kind),
]

#: Each kind's config class.
MODEL_KINDS: dict[str, type[ModelConfig]] = {
    c.model_fields["kind"].default: c
    for c in (HMMConfig, GMMConfig, JumpConfig, MarkovConfig, RulesConfig, AxesConfig, EnsembleConfig)
}


def default_model() -> EnsembleConfig:
    """The default model: a jump model and a causally smoothed spherical Gaussian mixture, equally weighted."""
    return EnsembleConfig(
        members=(
            JumpConfig(jump_penalty=10.0, n_init=10, weight=0.5),
            GMMConfig(covariance_type="spherical", smoothing=0.9, n_init=5, weight=0.5),
        ),
    )


class LabelConfig(_Strict):
    """Persistence of the reported label.

    The reported regime changes only when the new leader's filtered
    probability beats the current label's by ``margin``, or when it has led
    for ``min_days`` days in a row. ``margin=0, min_days=1`` reports the most
    probable regime every day; the defaults were chosen on development seeds
    of the built-in market (``scripts/bench_backtest.py`` prints the
    trade-off between switches and lag).

    ``label.min_days`` is a streak of labelled days; it has nothing to do with
    ``train.min_days`` (:class:`TrainConfig`), the history a fit needs.
    """

    margin: float = Field(
        0.3, ge=0, le=1, description="switch to a new leader whose probability beats the current label's by this much"
    )
    min_days: int = Field(
        5, ge=1, description="or once it has been the most probable regime this many days in a row "
        "(not train.min_days: the history a fit needs)"
    )


class BacktestConfig(_Strict):
    """Walk-forward evaluation."""

    refit_every: int | None = Field(None, ge=1, description="trading days between refits; null = monthly")
    window: str = Field("expanding", description="'expanding' or 'rolling:N' (N trading days)")
    burn_in: int = Field(252, ge=0, description="days before each refit from which the new model's filter runs")
    refit_n_iter: int = Field(
        20, ge=1, description="EM iterations of a warm-started refit (the first fit uses model.n_iter)"
    )
    fresh_every: int | None = Field(
        6, ge=1, description="every Nth refit also fits from scratch with all restarts; the better objective wins"
    )
    confirm_days: int = Field(
        5, ge=1, description="a regime change counts as detected once the label shows it this many days running"
    )

    @field_validator("window")
    @classmethod
    def _window(cls, v: str) -> str:
        if v == "expanding":
            return v
        kind, _, n = v.partition(":")
        if kind != "rolling" or not n.isdigit() or int(n) < 20:
            raise ValueError("window must be 'expanding' or 'rolling:N' with N >= 20 trading days")
        return v

    def rolling_days(self) -> int | None:
        """N for 'rolling:N', None for expanding."""
        return None if self.window == "expanding" else int(self.window.split(":")[1])


#: The sleeves the allocation signal spreads money over: name -> a price role, a column of prices, or "cash".
DEFAULT_SLEEVES = {
    "large_cap": "large_cap", "equal_weight": "equal_weight", "mega_cap": "mega_cap",
    "mid_cap": "mid_cap", "small_cap": "small_cap", "cash": "cash",
}

#: Target weights per regime. Written down from the regime definitions before any allocation backtest was
#: run, in round numbers, and never fitted: each leadership regime holds 90% equity with 70% in its leaders;
#: stress holds a third in equity, mostly the cap-weighted index, and two thirds in cash.
DEFAULT_TILTS = {
    "concentration": {"large_cap": 0.40, "mega_cap": 0.30, "equal_weight": 0.10, "mid_cap": 0.05,
                      "small_cap": 0.05, "cash": 0.10},
    "broadening": {"large_cap": 0.15, "mega_cap": 0.05, "equal_weight": 0.30, "mid_cap": 0.20,
                   "small_cap": 0.20, "cash": 0.10},
    "stress": {"large_cap": 0.25, "mega_cap": 0.05, "equal_weight": 0.05, "mid_cap": 0.0,
               "small_cap": 0.0, "cash": 0.65},
}


class AllocationConfig(_Strict):
    """How regime probabilities become target weights, and how they are traded.

    The target of a day is the probability-weighted blend of the regimes' rows
    of ``tilts``, clipped to ``bounds``. On each rebalance day the portfolio
    trades from its drifted weights toward the target, unless no sleeve is off
    by more than ``no_trade_band``; a trade larger than ``max_turnover`` (sum
    of absolute weight changes) is scaled down to it.
    """

    sleeves: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_SLEEVES),
        description="sleeve -> price role, prices column, or 'cash' (earns the policy rate when rates are present)",
    )
    tilts: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {k: dict(v) for k, v in DEFAULT_TILTS.items()},
        description="regime id -> sleeve -> target weight (each row sums to 1)",
    )
    bounds: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description="sleeve -> (min, max) weight; unlisted sleeves are bounded by (0, 1)"
    )
    no_trade_band: float = Field(0.02, ge=0, le=1, description="skip a rebalance when no sleeve is off by more")
    max_turnover: float | None = Field(
        None, gt=0, le=2, description="cap on the sum of absolute weight changes of one rebalance; null = no cap"
    )
    rebalance_every: int | None = Field(
        5, ge=1, description="trading days between rebalances; null = the first trading day of each month"
    )
    cost_bp: float = Field(5.0, ge=0, description="proportional cost, basis points per unit of turnover")
    placebo_draws: int = Field(50, ge=1, description="shuffled-regime placebo runs averaged in allocate-backtest")
    seed: int = Field(0, description="seed of the placebo shuffles")

    @model_validator(mode="after")
    def _check(self) -> AllocationConfig:
        if not self.sleeves:
            raise ValueError("allocation.sleeves: at least one sleeve is needed")
        for rid, row in self.tilts.items():
            unknown = [k for k in row if k not in self.sleeves]
            if unknown:
                raise ValueError(f"allocation.tilts.{rid}: sleeve {unknown[0]!r} is not in allocation.sleeves")
            if any(v < 0 for v in row.values()):
                raise ValueError(f"allocation.tilts.{rid}: weights must be non-negative")
            if abs(sum(row.values()) - 1.0) > 1e-6:
                raise ValueError(f"allocation.tilts.{rid}: weights sum to {sum(row.values()):.4f}, not 1")
        for k, (lo, hi) in self.bounds.items():
            if k not in self.sleeves:
                raise ValueError(f"allocation.bounds: sleeve {k!r} is not in allocation.sleeves")
            if not 0 <= lo <= hi <= 1:
                raise ValueError(f"allocation.bounds.{k}: need 0 <= min <= max <= 1, got ({lo}, {hi})")
        los = sum(self.bounds.get(k, (0.0, 1.0))[0] for k in self.sleeves)
        his = sum(self.bounds.get(k, (0.0, 1.0))[1] for k in self.sleeves)
        if los > 1 + 1e-9 or his < 1 - 1e-9:
            raise ValueError("allocation.bounds: no weights summing to 1 fit these bounds")
        return self


class RegimeRule(_Strict):
    """How a regime is recognised: a weighted score on a state's standardised feature means.

    The state whose means score highest under a regime's weights gets that
    regime's name; features a data set lacks are left out of the score.
    """

    name: str
    description: str = ""
    weights: dict[str, float]

    @field_validator("weights")
    @classmethod
    def _non_empty(cls, v: dict[str, float]) -> dict[str, float]:
        if not v or not any(w != 0 for w in v.values()):
            raise ValueError("a regime needs at least one non-zero feature weight")
        return v


def _default_regimes() -> dict[str, RegimeRule]:
    # id: (name, description, weights on a state's standardised feature means)
    table = {
        "concentration": ("Mega-cap concentration",
                          "a few giants carry the cap-weighted index; equal weight, mid and small caps lag",
                          {"rs_mega_large_mom_63d": 1.0, "rs_ew_cw_mom_63d": -1.0, "rs_small_large_mom_63d": -0.5,
                           "rs_mid_large_mom_63d": -0.5, "br_top10_share": 0.5, "rk_vol_21d": -0.5}),
        "broadening": ("Broadening", "equal weight, mid and small caps lead and most stocks rise",
                       {"rs_ew_cw_mom_63d": 1.0, "rs_small_large_mom_63d": 0.5, "rs_mid_large_mom_63d": 0.5,
                        "rs_mega_large_mom_63d": -0.5, "br_above_50d": 0.5, "rk_vol_21d": -0.5}),
        "stress": ("Stress (risk-off)", "a falling market, high volatility, widening credit spreads",
                   {"rk_vol_21d": 1.0, "rk_drawdown": -1.0, "rk_ret_63d": -0.5, "rt_credit_chg_63d": 0.5,
                    "br_above_50d": -0.5}),
    }
    return {rid: RegimeRule(name=name, description=text, weights=weights)
            for rid, (name, text, weights) in table.items()}


class DataConfig(_Strict):
    """How the data directory is read."""

    max_stale_days: int = Field(
        14, ge=1, description="a rate value older than this many calendar days counts as missing"
    )


class TrainConfig(_Strict):
    """How much clean feature history a fit needs.

    ``train.min_days`` counts the days on which every model feature is defined
    (after the feature windows' warm-up): a fit needs that many, and a
    walk-forward's first out-of-sample day comes after that many. It has
    nothing to do with ``label.min_days`` (:class:`LabelConfig`), the
    persistence of the reported label.
    """

    min_days: int = Field(
        504, ge=20, description="feature rows (after warm-up) needed to train; the walk-forward starts after them "
        "(not label.min_days: the label's persistence)"
    )


class Config(_Strict):
    """The whole resolved configuration of a run."""

    roles: RolesConfig = Field(default_factory=RolesConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    model: AnyModelConfig = Field(default_factory=default_model)
    regimes: dict[str, RegimeRule] = Field(default_factory=_default_regimes)
    identity_weight: float = Field(
        1.0, ge=0, description="at a refit, weight of closeness to the previous fit's regimes when naming states"
    )
    label: LabelConfig = Field(default_factory=LabelConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    backtest: BacktestConfig = Field(default_factory=BacktestConfig)
    allocation: AllocationConfig = Field(default_factory=AllocationConfig)

    @model_validator(mode="after")
    def _check(self) -> Config:
        if not self.regimes:
            raise ValueError("regimes: at least one regime is needed")
        for rid in self.regimes:
            if not rid.replace("_", "").isalnum():
                raise ValueError(f"regimes: id {rid!r} must be letters, digits and underscores")
        for leaf in self.model.leaves():
            lo = leaf.fewest_states()
            if lo >= len(self.regimes):
                continue
            if isinstance(leaf, _LatentStates):
                raise ValueError(
                    f"model.n_components={lo} is fewer than the {len(self.regimes)} regimes; "
                    "raise n_components or drop a regime"
                )
            raise ValueError(
                f"model kind {leaf.kind} labels {lo} fixed states, fewer than the {len(self.regimes)} regimes; "
                "drop a regime or use another model kind"
            )
        return self


def load_config(path: str | Path | None = None) -> Config:
    """Read a YAML config, filling every missing field with its default.

    Parameters
    ----------
    path : str or Path, optional
        A YAML file. ``None`` gives the built-in defaults.

    Returns
    -------
    Config

    Raises
    ------
    ConfigError
        The file is missing, not YAML, or a field is invalid; the message
        names the file and the field.
    """
    if path is None:
        return Config()
    raw = read_yaml_mapping(path, "config file", missing="pass an existing YAML file or omit --config",
                            holds="sections (roles, features, model, regimes)")
    return config_from_mapping(raw, f"config file {path}")


def read_yaml_mapping(path: str | Path, what: str, *, missing: str, holds: str) -> dict[str, Any]:
    """The mapping a YAML file holds (an empty file: ``{}``).

    Parameters
    ----------
    path : str or Path
    what : str
        What the file is, for messages ("config file", "sweep grid").
    missing : str
        What to do when the file does not exist.
    holds : str
        What the mapping holds ("sections (roles, ...)").

    Raises
    ------
    ConfigError
        The file is missing, not YAML (the message gives the line), or not a mapping.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{what} {path} not found; {missing}")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{what} {path} is not valid YAML{where}; fix the syntax") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{what} {path} must hold a mapping of {holds}")
    return raw


def config_from_mapping(raw: dict[str, Any], where: str) -> Config:
    """A config from plain values (a YAML file's mapping, merged settings), validated as a config file is.

    Parameters
    ----------
    raw : dict
        Sections as plain mappings; every missing field takes its default.
    where : str
        What the values came from, the start of an error's message ("config file a.yaml").

    Raises
    ------
    ConfigError
        One line: ``where``, the first invalid field and what to do.
    """
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{where}: {_explain(exc.errors())}") from exc


def merge_settings(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` on top: mappings merge key by key, any other value (a list, a number) replaces.

    A mapping that names another ``kind`` than the one it overrides replaces it (another model kind has other
    settings). Neither argument is changed. ``merge_settings(raw, {"model": {"n_init": 2}})`` changes one
    model setting and keeps the others; ``{"model": {"kind": "hmm"}}`` makes the model a default HMM.
    """
    out = dict(base)
    for key, value in overrides.items():
        old = out.get(key)
        if isinstance(value, dict) and isinstance(old, dict) and value.get("kind", old.get("kind")) == old.get("kind"):
            out[key] = merge_settings(out[key], value)
        else:
            out[key] = value
    return out


def config_from_saved(data: dict[str, Any]) -> Config:
    """The config a model was saved with, as this version's :class:`Config`.

    Versions before the per-kind model configs saved every model setting for every kind, and each kind
    ignored those it does not read; those are dropped here (only here: in a config file they are an
    error). Everything else is validated as in :func:`load_config`.

    Parameters
    ----------
    data : dict
        The saved config's values, sections and models as plain mappings.

    Returns
    -------
    Config
    """
    return Config.model_validate(data, context={_FROM_SAVED: True})


def _locate(loc: tuple[int | str, ...]) -> tuple[str, str | None]:
    """A validation error's location as the config path (``model.members.1.smoothing``), and the kind of
    the model it is in (pydantic puts each model's ``kind`` into the location; the path leaves it out)."""
    path: list[int | str] = []
    kind = None
    for part in loc:
        in_model = path == ["model"] or (len(path) > 2 and path[-2] == "members" and isinstance(path[-1], int))
        if in_model and part in MODEL_KINDS:
            kind = str(part)
        else:
            path.append(part)
    return ".".join(str(p) for p in path) or "(top level)", kind


def _explain(errors: list[ErrorDetails]) -> str:
    """The first validation error as one line: the field at fault and what to do."""
    err = errors[0]
    where, kind = _locate(err["loc"])
    ctx = err.get("ctx", {})
    if err["type"] == "extra_forbidden" and kind is not None:
        readers = [k for k, cls in MODEL_KINDS.items() if err["loc"][-1] in cls.model_fields]
        others = [str(e["loc"][-1]) for e in errors[1:]
                  if e["type"] == "extra_forbidden" and _locate(e["loc"][:-1]) == _locate(err["loc"][:-1])]
        either = f"; kind {kind} does not read {', '.join(others)} either" if others else ""
        if not readers:
            return f"{where} is not a setting of kind {kind} nor of any other kind; remove it or fix its spelling{either}"
        by = f"kind{'s' if len(readers) > 1 else ''} {', '.join(readers)}"
        return f"{where} is not a setting of kind {kind} (it is read by {by}); remove it or change kind{either}"
    if err["type"] == "union_tag_invalid":
        allowed = ", ".join(t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(","))
        what = "cannot be an ensemble member" if ctx.get("tag") in MODEL_KINDS else "is not a model kind"
        return f"{where}.kind {ctx.get('tag')!r} {what}; use one of {allowed}"
    return f"field {where}: {err['msg']}; fix that field"

"""The built-in synthetic market's variants: what each changes, as plain data.

Kept apart from :mod:`regime.synth` (which needs numpy and pandas) so the command line can list the
variants' names and descriptions without loading either. :mod:`regime.synth` re-exports everything here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SynthOptions", "VARIANTS", "MIN_STOCKS", "GARCH_ALPHA"]

#: Fewest constituents: the size bands (top 10, mid, small) stay populated down to here.
MIN_STOCKS = 40

#: Share of a GARCH(1,1) persistence given to the last squared shock (the rest is the previous variance).
GARCH_ALPHA = 0.08


@dataclass(frozen=True)
class SynthOptions:
    """How a synthetic market differs from the built-in one; the defaults change nothing.

    Attributes
    ----------
    n_stocks : int, optional
        Number of names the variant fixes; overrides ``simulate_market``'s
        ``n_stocks`` when set (at least :data:`MIN_STOCKS`).
    sectors : bool
        Constituents carry the ``sector`` column.
    caps : bool
        Constituents carry the ``market_cap`` column.
    constituents : bool
        A constituents file at all (False: prices and maybe rates only).
    rates : bool
        A rates file at all.
    survivorship : bool
        Names list during the history (about a third of them, at uniform
        times) and delist: failures (first close below 30 % of the running
        high, at least a year after listing) and acquisitions (10 % of names,
        at uniform times). The indices hold every name alive that day; the
        constituents hold only the names alive on the last day, blank before
        they list, as a panel of today's members would.
    sector_vol : float, optional
        Daily sector-rotation volatility used in every regime (default: the
        per-regime values of :data:`REGIME_PARAMS`).
    tail_df : float, optional
        Degrees of freedom of the Student-t market and stock shocks
        (default 5 for the market, 4 for stocks); must exceed 2.
    garch : float, optional
        Persistence (alpha + beta) of a GARCH(1,1)-like variance multiplier
        driven by the market's own shocks, applied to market and stock
        volatility on top of the slow clustering (alpha = :data:`GARCH_ALPHA`,
        unconditional variance 1). None: no such multiplier.
    stress_entry : float
        Multiplier on the probability of moving into stress when a spell ends
        (the other destination takes the rest).
    duration_scale : float
        Multiplier on every regime's mean and minimum spell length.
    tilt_scale : float
        Multiplier on every regime's mean size tilt (mega - small).
    stress_severity : float
        How far stress lies from calm (the mean of concentration and
        broadening), as a fraction of today's distance: market drift and
        volatility, stock volatility, credit-spread target and the extra
        spread shocks in stress.
    description : str
        One line saying what the variant changes (not part of equality).
    """

    n_stocks: int | None = None
    sectors: bool = True
    caps: bool = True
    constituents: bool = True
    rates: bool = True
    survivorship: bool = False
    sector_vol: float | None = None
    tail_df: float | None = None
    garch: float | None = None
    stress_entry: float = 1.0
    duration_scale: float = 1.0
    tilt_scale: float = 1.0
    stress_severity: float = 1.0
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.n_stocks is not None and self.n_stocks < MIN_STOCKS:
            raise ValueError(f"n_stocks must be at least {MIN_STOCKS} so the size bands are populated")
        if self.tail_df is not None and not self.tail_df > 2.0:
            raise ValueError("tail_df must exceed 2 (finite variance)")
        if self.garch is not None and not GARCH_ALPHA < self.garch < 1.0:
            raise ValueError(f"garch (persistence) must lie in ({GARCH_ALPHA}, 1)")
        if self.sector_vol is not None and not self.sector_vol >= 0:
            raise ValueError("sector_vol must be >= 0")
        for name in ("stress_entry", "duration_scale", "tilt_scale", "stress_severity"):
            if not getattr(self, name) >= 0 or (name == "duration_scale" and self.duration_scale == 0):
                raise ValueError(f"{name} must be {'> 0' if name == 'duration_scale' else '>= 0'}")


#: Named variants of the built-in market (see the module docstring's table).
VARIANTS: dict[str, SynthOptions] = {
    "base": SynthOptions(description="today's market"),
    "no_sectors": SynthOptions(sectors=False, description="constituents without the sector column"),
    "equal_rotation": SynthOptions(
        sector_vol=0.0033, description="sector rotation volatility equal (0.33 %/day) in every regime"),
    "no_caps": SynthOptions(caps=False, description="constituents without market_cap (closes and sectors)"),
    "closes_survivors": SynthOptions(
        caps=False, sectors=False, survivorship=True,
        description="closes only; listings and delistings; the file holds today's survivors, blank before listing"),
    "indices_rates": SynthOptions(constituents=False, description="prices and rates only, no constituents"),
    "prices_only": SynthOptions(constituents=False, rates=False, description="prices only: no rates, no constituents"),
    "fat_tails": SynthOptions(
        tail_df=3.0, garch=0.97, description="Student-t(3) shocks and GARCH-like volatility clustering (0.97)"),
    "few_stress": SynthOptions(
        stress_entry=1.0 / 6.0, description="transitions into stress 6x rarer: ~1-2 % stress days"),
    "short_spells": SynthOptions(duration_scale=0.5, description="regime spells about half as long"),
    "long_spells": SynthOptions(duration_scale=2.0, description="regime spells about twice as long"),
    "small_universe": SynthOptions(n_stocks=50, description="50 names"),
    "large_universe": SynthOptions(n_stocks=1000, description="1,000 names"),
    "weak_tilt": SynthOptions(tilt_scale=0.5, description="half the size tilt (mega - small) in every regime"),
    "mild_stress": SynthOptions(
        stress_severity=0.5, description="stress half as far from calm: volatility, drift, credit spreads"),
}

"""Behavioural parameter sections of a scenario: ``[firms]``, ``[behaviour]``, ``[policy]``, ``[output]``.

Each field carries its unit and range in its description; pydantic enforces the range, and unknown keys are
errors.  The top-level :class:`agglomeration.scenario.Scenario` composes these sections with the world
sections (regions, logistics, sectors) defined in :mod:`agglomeration.scenario`.

Time unit: one model step (``steps_per_year`` steps a year; default 4 = quarters).
Money unit: million yuan (CNY m) per step unless a field says otherwise.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_numbers(cls, value: object, info: ValidationInfo) -> object:
        """``initial_count = true`` is a typo, not 1: pydantic would coerce booleans to numbers."""
        if isinstance(value, bool) and cls.model_fields[info.field_name].annotation in (int, float):
            raise ValueError("expected a number, not a boolean")
        return value


class FirmsParams(_Section):
    """Initial firm population."""

    initial_count: int = Field(
        3000, ge=0, le=50_000_000, description="initial number of firms [firms]"
    )
    initial_distribution: Literal["data", "uniform", "proportional_to_income"] = Field(
        "data",
        description="how initial firms are spread over regions x sectors: 'data' uses "
        "sectors/regions initial weights (data/initial_firms.csv), 'uniform' equal shares",
    )
    productivity_sigma: float = Field(
        0.35, ge=0.0, le=3.0, description="std. dev. of log productivity at birth [log points]"
    )
    initial_equity: float = Field(
        2.0,
        ge=0.0,
        le=1e6,
        description="equity of a new firm, in units of its sector's fixed cost [-]",
    )
    productivity_mean: float = Field(
        0.0, ge=-10.0, le=10.0, description="mean log productivity at birth [log points]"
    )
    mesa_agents: bool = Field(
        True,
        description="create one mesa.Agent view per firm (model.agents); switch off for very large "
        "runs to save about 0.5 KB per firm",
    )


class BehaviourParams(_Section):
    """Behavioural parameters of firms and markets (see docs/ODD.md, section 7)."""

    steps_per_year: int = Field(4, ge=1, le=365, description="model steps per year [1/year]")
    # market and demand closure
    price_iterations: int = Field(
        30,
        ge=1,
        le=1000,
        description="max fixed-point iterations of the price and revenue systems [-]",
    )
    income_iterations: int = Field(
        3,
        ge=1,
        le=1000,
        description="max passes of the within-step income loop (market -> incomes -> final expenditure); "
        "1 = incomes lag one step [-]",
    )
    external_competitors: float = Field(
        20.0,
        ge=0.0,
        le=1e9,
        description="number-equivalent of foreign competitors of each sector located at each gateway, "
        "priced at the gateway import price; they compete in every market's CES index [firms]",
    )
    import_prices: Literal["relative", "absolute"] = Field(
        "relative",
        description="'relative': gateway import prices are multiples of the sector's current domestic price "
        "level (foreign technology keeps pace); 'absolute': the data prices in model units",
    )
    import_weight: float = Field(
        1.0,
        ge=0.0,
        le=1e9,
        description="number-equivalent of import sources per gateway in supplier search (0 = no imported inputs "
        "unless no domestic supplier exists) [firms]",
    )
    admin_cost: float = Field(
        0.10,
        ge=0.0,
        le=5.0,
        description="administrative cost wedge on marginal cost at delegation 0 [-]",
    )
    entry_cost: float = Field(
        2.0,
        ge=0.0,
        le=1e3,
        description="one-off entry cost at delegation 0, in units of the sector fixed cost [-]",
    )
    calibrate_fixed_costs: bool = Field(
        True,
        description="at initialisation set each sector's fixed cost to the `fixed_cost_quantile` quantile "
        "of its initial firms' operating profit (makes `firms.initial_count` a pure scale parameter); "
        "false = use the sector data (theory benchmarks)",
    )
    fixed_cost_quantile: float = Field(
        0.2,
        gt=0.0,
        lt=1.0,
        description="share of initial firms whose operating profit is below the calibrated fixed cost [-]",
    )
    local_productivity: Literal["offset_factor_prices", "none"] = Field(
        "offset_factor_prices",
        description="region x sector productivity shifter theta_rs: 'offset_factor_prices' = base wage and rent "
        "differences reflect local productivity (log theta_rs = beta_s log(w_r/mean w) + gamma_s log(q_r/mean q), "
        "so only their changes act as congestion); 'none' = theta = 1 (theory benchmarks)",
    )
    factor_income_local: bool = Field(
        True,
        description="wages and land rents paid by firms are spent in their region on top of immobile "
        "income; false = immobile income already contains all labour income (FE/FC benchmarks)",
    )
    profit_payout: float = Field(
        0.8,
        ge=0.0,
        le=1.0,
        description="share of positive profit paid out and spent; the rest is retained as equity [-]",
    )
    # sourcing
    search_probability: float = Field(
        0.10,
        ge=0.0,
        le=1.0,
        description="per-step probability that a firm searches suppliers [1/step]",
    )
    switching_cost: float = Field(
        0.05,
        ge=0.0,
        le=10.0,
        description="relative delivered-price gain needed to switch supplier [-]",
    )
    sourcing_enabled: bool = Field(
        True,
        description="firms search for cheaper suppliers (false: links change only when a supplier exits)",
    )
    information_search_boost: float = Field(
        1.0,
        ge=0.0,
        le=100.0,
        description="search probability is multiplied by (1 + boost x policy.information_sharing) [-]",
    )
    # learning
    learning_enabled: bool = Field(
        True, description="productivity evolves (drift, spillovers, shocks)"
    )
    productivity_drift: float = Field(
        0.001, ge=-0.1, le=0.1, description="common log productivity growth [log points/step]"
    )
    localisation_spillover: float = Field(
        0.002,
        ge=0.0,
        le=1.0,
        description="MAR spillover: elasticity of growth to same-sector employment share [-]",
    )
    jacobs_spillover: float = Field(
        0.001,
        ge=0.0,
        le=1.0,
        description="Jacobs spillover: elasticity of growth to local sector diversity [-]",
    )
    productivity_shock_sd: float = Field(
        0.10,
        ge=0.0,
        le=2.0,
        description="sd of the idiosyncratic (Gibrat) log productivity shock of a firm of its sector's "
        "mean employment [log points/step]",
    )
    shock_size_elasticity: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="beta: the shock sd scales as (employment / sector mean employment)^(-beta), ratio "
        "clipped to [0.01, 1]; firms as portfolios of sub-units (Amaral et al. 1997); 0 = off [-]",
    )
    productivity_mean_reversion: float = Field(
        0.02,
        ge=0.0,
        le=1.0,
        description="rho: share of the gap between log productivity and the technology frontier "
        "(firms.productivity_mean + productivity_drift x step) closed each step; 0 = off [1/step]",
    )
    # factor prices
    factor_prices_enabled: bool = Field(
        True, description="wages and rents respond to local employment and land use"
    )
    factor_price_adjustment: float = Field(
        0.5,
        gt=0.0,
        le=1.0,
        description="share of the gap to the target wage/rent closed each step [-]",
    )
    wage_elasticity: float = Field(
        0.05, ge=0.0, le=2.0, description="elasticity of the local wage to local employment [-]"
    )
    rent_elasticity: float = Field(
        0.3, ge=0.0, le=5.0, description="elasticity of land rent to land use / land capacity [-]"
    )
    # entry, relocation, exit
    entry_enabled: bool = Field(True, description="potential entrants arrive each step")
    entry_floor: float = Field(
        2.0,
        ge=0.0,
        le=1e6,
        description="potential entrants per sector per step on top of entry_rate x firms [firms/step]",
    )
    entrant_productivity_gap: float = Field(
        0.0,
        ge=-10.0,
        le=10.0,
        description="entrants draw log productivity around their sector's current mean over incumbents plus "
        "this gap (entrants imitate incumbents' technology) [log points]",
    )
    entry_logit_scale: float = Field(
        1.0,
        gt=0.0,
        le=1e3,
        description="logit scale of location choice, in units of the fixed cost [-]",
    )
    information_regions: float = Field(
        0.6,
        gt=0.0,
        le=1.0,
        description="share of regions an entrant knows about without information sharing [-]",
    )
    relocation_enabled: bool = Field(True, description="incumbents may relocate")
    relocation_probability: float = Field(
        0.01,
        ge=0.0,
        le=1.0,
        description="per-step probability that a firm reconsiders its location [1/step]",
    )
    relocation_cost: float = Field(
        0.5,
        ge=0.0,
        le=1e3,
        description="relocation cost in units of the firm's sector fixed cost [-]",
    )
    relocation_profit: Literal["nominal", "real"] = Field(
        "real",
        description="profit compared by relocating firms: 'nominal' (footloose capital) or 'real' = deflated by "
        "the local consumer price index prod_s P_rs^final_share_s (footloose entrepreneur)",
    )
    exit_enabled: bool = Field(True, description="firms with low equity or repeated losses exit")
    exit_equity_threshold: float = Field(
        0.0,
        ge=-1e6,
        le=1e6,
        description="exit when equity falls below this (units of sector fixed cost) [-]",
    )
    exit_after_losses: int = Field(
        8, ge=1, le=10_000, description="exit after this many consecutive loss-making steps [steps]"
    )
    # demand closure
    profit_spending: Literal["local", "owners"] = Field(
        "local",
        description="where profits are spent: 'local' = in the firm's region (footloose entrepreneur), "
        "'owners' = by region shares of immobile income (footloose capital)",
    )


class PolicyParams(_Section):
    """The two policy levers: power delegation / reform replication, and information sharing."""

    enabled: bool = Field(
        True, description="reforms are pioneered and replicated (false: frozen policy)"
    )

    delegation: dict[str, float] = Field(
        default_factory=dict,
        description="delegation level d_r in [0,1] per region id or region type ('ftz', 'connected', "
        "'other'); a region id overrides its type [-]",
    )
    replication_rate: float = Field(
        0.05,
        ge=0.0,
        le=1.0,
        description="base hazard of replicating one FTZ reform in a connected area [1/step]",
    )
    information_sharing: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="investment-information sharing level: raises search and entrants' region knowledge [-]",
    )
    pioneer_rate: float = Field(
        0.05,
        ge=0.0,
        le=1.0,
        description="hazard that an FTZ area adopts one given reform of the pool [1/step]",
    )
    reforms_per_category: int = Field(
        4, ge=0, le=100, description="reforms in the pool per category (5 categories) [-]"
    )
    other_replication_factor: float = Field(
        0.2,
        ge=0.0,
        le=1.0,
        description="replication hazard of 'other' regions relative to connected areas [-]",
    )
    delegation_admin_effect: float = Field(
        0.5, ge=0.0, le=1.0, description="share of the admin cost removed at full delegation [-]"
    )
    delegation_entry_effect: float = Field(
        0.5, ge=0.0, le=1.0, description="share of the entry cost removed at full delegation [-]"
    )
    reform_effect: float = Field(
        0.05,
        ge=0.0,
        le=1.0,
        description="each adopted reform multiplies its category's cost by (1 - reform_effect): government "
        "functions and supervision -> admin cost, investment management and financial innovation -> entry cost, "
        "trade facilitation -> gateway trade costs and supplier switching cost [-]",
    )


class OutputParams(_Section):
    """What a single run records."""

    series_every: int = Field(
        1, ge=1, le=100_000, description="record model series every k steps [steps]"
    )
    figures: bool = Field(True, description="write PNG figures in `agglomeration run`")

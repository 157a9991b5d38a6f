"""Planning standards as data: the rule schema, plan files and presets.

A plan file (``configs/standards/<plan>.yaml``) holds the plan's metadata under ``plan:``,
its checkable standards under ``rules:`` and every other standard of the plan under
``not_evaluable:`` with the reason. Each entry carries the id the standard has in the
extraction of the plan (``../shared/standards/<seed>.md``: T1, E5, P3, ``Table 3``…) and
the Chinese original exactly as quoted there.

A rule has one ``kind``; its ``params`` are validated per kind:

``travel_time``
    ``minutes``, ``mode`` (walk/cycle/drive/unspecified) and ``target_pct``: share of
    residents (%) within ``minutes`` of a facility of ``scope.tiers`` (any facility when
    empty). Direction ``at_least``.
``radius``
    ``km`` (and ``km_max`` for a range such as 10–20 km), ``measure``
    (straight/network/unspecified) and ``target_pct``: share (%) of the urban or rural
    residents (``scope.area``) within the radius. Direction ``at_least``.
``response_time``
    ``minutes`` and ``statistic`` (mean/p90 of the travel minutes). Direction ``at_most``.
``one_per_unit``
    ``min_count`` (``max_count`` for ``range``) facilities of ``scope.tiers`` in every unit
    of ``scope.unit_levels``; optionally only units of at least ``min_population`` that
    are not county seats, ranked by minutes to the county seat (central township health
    centre candidates); ``where``/``min_grade`` filter the facilities by attribute.
``ratio_per_population``
    ``numerator`` (a statistics column: one of :data:`NUMERATORS`, or any numeric column of the
    statistics table for a custom rule) ``per``
    1,000 / 10,000 / 30,000 / 100,000 / 1,000,000 residents against ``target``
    (``target_max`` for ``range``).
``count_by_population_band``
    ``numerator`` against a count that depends on the unit's population ``bands``.
``share_with_attribute``
    share (%) of the facilities of ``scope.tiers`` whose boolean column ``attribute`` is
    true, against ``target_pct``.

Units are named by level: ``province``, ``city``, ``county`` (县, 县级市, 市辖区),
``township`` (乡 and 镇), ``street`` (街道), ``township_or_street`` (every 乡级 unit),
``village`` (行政村), ``community`` (社区) and ``village_or_community``.

The plan around the rules is modelled in :mod:`geocover.standards.plan_file`; plan files are loaded by
:mod:`geocover.standards.plans`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from geocover.schema import TIERS

#: Statistics columns (per unit, keyed by ``zone_id``) a ratio or band rule may count.
NUMERATORS = (
    "beds", "doctors", "nurses", "gps", "ambulances", "infectious_beds", "public_health_staff", "pharmacists",
    "psychiatric_beds", "public_tcm_beds", "tcm_doctors", "childcare_places", "family_doctors",
    "psychiatrists", "health_inspectors", "health_education_staff", "village_doctors",
    "tertiary_general_hospitals", "beds_city_public", "beds_county_grassroots", "beds_other_public",
    "cdc_staff", "rehabilitation_doctors", "rehabilitation_therapists",
) + tuple(f"facilities_{tier}" for tier in TIERS)
UNIT_LEVELS = (
    "province", "city", "county", "township", "street", "township_or_street", "village", "community",
    "village_or_community",
)

Kind = Literal["travel_time", "radius", "response_time", "one_per_unit", "ratio_per_population",
               "count_by_population_band", "share_with_attribute"]
Direction = Literal["at_least", "at_most", "range"]
Tier = Literal[TIERS]
Numerator = Annotated[str, Field(min_length=1, description="a NUMERATORS name or any numeric statistics column")]
UnitLevel = Literal[UNIT_LEVELS]
AttributeValue = str | int | float | bool

_DIRECTIONS: dict[str, tuple[str, ...]] = {
    "travel_time": ("at_least",), "radius": ("at_least",), "response_time": ("at_most",),
    "one_per_unit": ("at_least", "range"), "ratio_per_population": ("at_least", "at_most", "range"),
    "count_by_population_band": ("at_least", "at_most"), "share_with_attribute": ("at_least", "at_most"),
}


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Source(StrictModel):
    """Where a standard stands in its plan: plan id, section heading and line(s) of the seed text."""

    plan: str | None = None
    section: str | None = None
    line: str | None = None

    @field_validator("line", mode="before")
    @classmethod
    def _line_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class Scope(StrictModel):
    """Which residents, units and facilities a rule is about."""

    area: Literal["all", "urban", "rural"] = "all"
    unit_levels: list[UnitLevel] = Field(default_factory=list, description="empty: every zone level")
    tiers: list[Tier] = Field(default_factory=list, description="facility tiers; empty: any facility")
    ownership: Literal["any", "government", "public", "private"] = "any"
    units: list[str] = Field(default_factory=list, description="zone names or ids; empty: every unit")
    within: list[str] = Field(
        default_factory=list, description="only units inside these: code prefixes (1401) or zone names (太原市)")


class TravelTimeParams(StrictModel):
    """``target_pct`` % of residents within ``minutes`` (min) of a facility, by ``mode``.

    ``min_grade``, ``where`` and ``facility_names`` narrow the facilities (Linfen's circle of five
    named tertiary hospitals): such a rule needs travel times to exactly those facilities.
    """

    minutes: float = Field(gt=0)
    mode: Literal["walk", "cycle", "drive", "unspecified"] = "unspecified"
    target_pct: float = Field(default=100.0, gt=0, le=100)
    where: dict[str, list[AttributeValue]] = Field(default_factory=dict, description="facility column -> values")
    min_grade: int | None = Field(default=None, ge=1, le=3, description="hospital grade 1–3 or above")
    facility_names: list[str] = Field(default_factory=list, description="the named facilities only")


class RadiusParams(StrictModel):
    """``target_pct`` % of residents within ``km`` (to ``km_max`` for a range) of an emergency facility."""

    km: float = Field(gt=0)
    km_max: float | None = Field(default=None, gt=0, description="upper end of a range such as 10–20 km")
    measure: Literal["straight", "network", "unspecified"] = "unspecified"
    target_pct: float = Field(default=100.0, gt=0, le=100)

    @model_validator(mode="after")
    def _range(self) -> RadiusParams:
        if self.km_max is not None and self.km_max <= self.km:
            raise ValueError("km_max must be larger than km")
        return self


class ResponseTimeParams(StrictModel):
    """The ``statistic`` (mean or 90th percentile) of travel minutes at most ``minutes``."""

    minutes: float = Field(gt=0)
    statistic: Literal["mean", "p90"] = "p90"


class _FacilityFilter(StrictModel):
    """Facility filters that need the facility layer: attribute values and hospital grade."""

    where: dict[str, list[AttributeValue]] = Field(
        default_factory=dict, description="facility column -> accepted values (booleans for flags)"
    )
    min_grade: int | None = Field(default=None, ge=1, le=3, description="hospital grade 1–3 (一级–三级) or above")


class OnePerUnitParams(_FacilityFilter):
    """At least ``min_count`` (at most ``max_count``) facilities per unit; candidate filters and ranking."""

    min_count: int = Field(default=1, ge=1)
    max_count: int | None = Field(default=None, ge=1)
    min_population: float | None = Field(default=None, gt=0)
    exclude_county_seat: bool = False
    rank_by: Literal["minutes_to_county_seat"] | None = None
    rank_descending: bool = True


class RatioParams(StrictModel):
    """``numerator`` per ``per`` residents against ``target`` (to ``target_max``).

    ``population`` records which population the plan divides by (resident 常住 by default).
    """

    numerator: Numerator
    per: Literal[1000, 10000, 30000, 100000, 1000000]
    target: float = Field(gt=0)
    target_max: float | None = Field(default=None, gt=0)
    population: Literal["resident", "registered", "unspecified"] = "resident"


class PopulationBand(StrictModel):
    """Units of ``min_population`` (inclusive) to ``max_population`` (exclusive) residents need ``count``."""

    min_population: float = Field(default=0.0, ge=0, description="inclusive")
    max_population: float | None = Field(default=None, gt=0, description="exclusive; none: no upper end")
    count: float = Field(ge=0)


class CountByBandParams(StrictModel):
    """``numerator`` per unit against the count of the unit's population band."""

    numerator: Numerator
    bands: list[PopulationBand] = Field(min_length=1)

    @model_validator(mode="after")
    def _contiguous(self) -> CountByBandParams:
        for low, high in zip(self.bands, self.bands[1:], strict=False):
            if low.max_population is None or low.max_population != high.min_population:
                raise ValueError("bands must be sorted and contiguous: each max_population is the next min_population")
        return self


class ShareParams(_FacilityFilter):
    """``target_pct`` % of the facilities of the rule's tiers have the boolean column ``attribute`` true."""

    attribute: str = Field(min_length=1, description="boolean facility column")
    target_pct: float = Field(gt=0, le=100)


class _RuleBase(StrictModel):
    """Fields every rule has; ``kind`` and ``params`` come with the subclass."""

    id: str = Field(min_length=1, description="the standard's id in the plan's extraction")
    part: str | None = Field(default=None, pattern=r"^[a-z0-9_]+$", description="for a row split into rules")
    quote_zh: str | None = Field(default=None, description="Chinese original, exactly as quoted")
    text_en: str = Field(min_length=1)
    source: Source = Field(default_factory=Source)
    scope: Scope = Field(default_factory=Scope)
    direction: Direction = "at_least"
    strict: bool = Field(default=False, description="> or < rather than ≥ or ≤")
    baseline_year: int | None = None
    target_year: int | None = None
    baseline: float | None = Field(default=None, description="the plan's baseline value, same unit as the target")
    approximately: bool = Field(default=False, description="the plan says 左右 (about)")
    binding: bool | None = Field(default=None, description="约束性 (true) or 预期性 (false) where stated")
    baseline_claim: bool = Field(default=False, description="a status the plan claims, not a target")
    obligation: Literal["required", "option", "priority"] = Field(
        default="required", description="required; option (可: may); priority (优先支持: a candidate list)"
    )
    guideline: bool = Field(default=False, description="a planning guideline (指导标准): above it means no new beds")
    conflicts_with: list[str] = Field(default_factory=list, description="rule uids of conflicting targets")
    covers: list[str] = Field(default_factory=list, description="other extraction ids stating this standard")
    note: str | None = None
    note_zh: str | None = Field(default=None, description="the note in Chinese, for the Chinese report")
    origin: Literal["plan", "scenario", "override"] = "plan"

    @property
    def uid(self) -> str:
        """Unique key of the rule in its plan: ``id`` or ``id.part``."""
        return f"{self.id}.{self.part}" if self.part else self.id

    @model_validator(mode="after")
    def _consistent(self) -> _RuleBase:
        kind = self.kind  # type: ignore[attr-defined]
        if self.direction not in _DIRECTIONS[kind]:
            raise ValueError(f"direction '{self.direction}' is not allowed for kind {kind}: use {_DIRECTIONS[kind]}")
        params = self.params  # type: ignore[attr-defined]
        upper = getattr(params, "target_max", None) if kind == "ratio_per_population" else getattr(
            params, "max_count", None
        )
        if (self.direction == "range") != (upper is not None):
            raise ValueError("direction 'range' goes with params.target_max (ratio) or params.max_count (count)")
        if kind == "radius" and self.scope.area == "all":
            raise ValueError("a radius rule needs scope.area 'urban' or 'rural'")
        if kind in ("one_per_unit", "share_with_attribute") and not self.scope.tiers:
            raise ValueError(f"a {kind} rule needs scope.tiers")
        if kind in ("one_per_unit", "ratio_per_population", "count_by_population_band") and not self.scope.unit_levels:
            raise ValueError(f"a {kind} rule needs scope.unit_levels")
        return self


class TravelTimeRule(_RuleBase):
    """A ``travel_time`` rule."""

    kind: Literal["travel_time"]
    params: TravelTimeParams


class RadiusRule(_RuleBase):
    """A ``radius`` rule."""

    kind: Literal["radius"]
    params: RadiusParams


class ResponseTimeRule(_RuleBase):
    """A ``response_time`` rule."""

    kind: Literal["response_time"]
    params: ResponseTimeParams


class OnePerUnitRule(_RuleBase):
    """A ``one_per_unit`` rule."""

    kind: Literal["one_per_unit"]
    params: OnePerUnitParams = Field(default_factory=OnePerUnitParams)


class RatioRule(_RuleBase):
    """A ``ratio_per_population`` rule."""

    kind: Literal["ratio_per_population"]
    params: RatioParams


class CountByBandRule(_RuleBase):
    """A ``count_by_population_band`` rule."""

    kind: Literal["count_by_population_band"]
    params: CountByBandParams


class ShareRule(_RuleBase):
    """A ``share_with_attribute`` rule."""

    kind: Literal["share_with_attribute"]
    params: ShareParams


Rule = Annotated[
    TravelTimeRule | RadiusRule | ResponseTimeRule | OnePerUnitRule | RatioRule | CountByBandRule | ShareRule,
    Field(discriminator="kind"),
]
RULE_ADAPTER: TypeAdapter[Rule] = TypeAdapter(Rule)

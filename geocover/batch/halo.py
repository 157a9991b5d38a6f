"""A unit run's halo and its zone table in batch terms (see :mod:`geocover.batch.unit`): the minutes the halo
keeps exact per mode, the cells certainly unreachable, and every nearest-facility summary recomputed from coded
minutes (:data:`~geocover.batch.codes.MORE_THAN_MINUTES` beyond the exact limit)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from geocover.analysis.access import AccessRules, facility_access
from geocover.analysis.services import offering
from geocover.batch.codes import (
    MORE_THAN_MINUTES,
    capped_zone_table,
    certainly_unreachable,
    coded_minutes,
    halo_radius_m,
    road_speed_m_per_min,
)
from geocover.network.snapping import Snap
from geocover.pipeline import ScenarioResult
from geocover.schema import ZONE_KEYS

TOBLER_MAX_KMH = 6.0
"""The fastest off-road walk of :mod:`geocover.travel.offroad` (Tobler's function, slightly downhill), km/h."""

_STATS = ("mean_minutes", "median_minutes", "p90_minutes")


def _replace_columns(table: pd.DataFrame, fixed: pd.DataFrame, pairs: list[tuple[str, str]]) -> None:
    """Set ``table[to] = fixed[frm]`` for every pair, rows matched on the zone keys."""
    index = pd.MultiIndex.from_frame(table[ZONE_KEYS])
    fixed = fixed.set_index(ZONE_KEYS).reindex(index)
    for to, frm in pairs:
        if to in table.columns:
            table[to] = fixed[frm].to_numpy()


def _service_pairs(prefix: str, target: float) -> list[tuple[str, str]]:
    label = f"pop_beyond_{target:g}".replace(".", "_")
    return [(f"{prefix}{c}", c) for c in (label, "pop_unreachable", *_STATS)]


class Halo:
    """The unit run's halo: its radius, the minutes it makes exact per mode, and certain unreachability."""

    def __init__(self, result: ScenarioResult) -> None:
        self.result = result
        config = result.config
        self.radius = halo_radius_m(config, result.networks)
        walk_kmh = max(config.offroad_kmh, TOBLER_MAX_KMH if config.offroad is not None else 0.0)
        self.offroad = walk_kmh * 1000.0 / 60.0
        self._unreachable: dict[str, np.ndarray] = {}

    def exact_up_to(self, mode: str) -> float:
        """Minutes up to which trips of ``mode`` stay inside the halo."""
        return self.radius / max(road_speed_m_per_min(self.result.networks[mode]), self.offroad)

    def coded(self, minutes: np.ndarray, mode: str, snap: Snap, bands: list[float]) -> tuple[np.ndarray, float]:
        """Grid-shaped batch-coded minutes of valid-order ``snap`` cells, and their limit ``N``."""
        config = self.result.config
        if config.offroad is not None:
            self._unreachable[mode] = np.zeros(len(snap), dtype=bool)
        elif mode not in self._unreachable:
            self._unreachable[mode] = certainly_unreachable(self.result.networks[mode], snap, self.result.study_area,
                                                            config.snap_limit_m, self.radius)
        limit = min(max(bands), self.exact_up_to(mode))
        grid = self.result.access.grid
        return grid.to_grid(coded_minutes(minutes[grid.valid], limit, self._unreachable[mode])), limit


def unit_table(result: ScenarioResult, halo: Halo, coded: dict[str, np.ndarray],
               limits: dict[str, float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The unit's zone table with every nearest-facility summary in batch terms."""
    config, grid, zones = result.config, result.access.grid, result.zones
    table = result.table.copy()
    main, beyond = capped_zone_table(grid, coded[""], zones, config.bands_minutes, config.target_minutes,
                                     limits[""])
    _replace_columns(table, main, _service_pairs("", config.target_minutes))
    for name, service in result.services.items():
        part, _ = capped_zone_table(grid, coded[name], zones, service.config.bands_minutes,
                                    service.config.target_minutes, limits[name])
        _replace_columns(table, part, _service_pairs(f"{name}_", service.config.target_minutes))
    if config.tier_minutes:
        facilities = result.facilities
        for tier in sorted(facilities["tier"].dropna().unique()):
            access = facility_access(result.network, facilities, grid, AccessRules.of(config),
                                     result.access.cell_snap, offering(facilities, [tier]))
            tier_coded, _ = halo.coded(access.minutes, config.mode, result.access.cell_snap, config.bands_minutes)
            part, _ = capped_zone_table(grid, tier_coded, zones, [limits[""]], limits[""], limits[""])
            _replace_columns(table, part, [(f"minutes_{s}_{tier}", f"{s}_minutes") for s in ("mean", "median", "p90")]
                             + [(f"pop_unreachable_{tier}", "pop_unreachable")])
    if result.ambulance is not None:
        response = result.ambulance.response_minutes
        cap = max(config.ambulance.response_minutes, default=0.0)
        response = grid.to_grid(np.where(response <= cap, response, MORE_THAN_MINUTES))
        part, _ = capped_zone_table(grid, response, zones, [cap], cap, cap)
        _replace_columns(table, part, [("mean_response_minutes", "mean_minutes")])
    if "minutes_to_county_seat" in table.columns:
        seat = table["minutes_to_county_seat"]
        table["minutes_to_county_seat"] = seat.where(seat <= halo.exact_up_to("drive" if "drive" in result.networks
                                                                               else config.mode))
    return table, beyond

"""Edits of a facility set, applied to an :class:`~geocover.travel.cells.Accessibility` by updating only what changed.

Each function returns a new ``Accessibility`` (the input is never modified) equal to a full
:func:`~geocover.travel.cells.cell_accessibility` of the edited facility table, whose rows are the
old ones with the edit applied: an added facility is the last row, a removed one is dropped (the rows
after it move up one), a moved one keeps its row.

- Opening a facility runs one search from it alone, bounded by the slowest node of the current
  state; nodes and cells take it where it is faster than their current nearest facility.
- Closing a facility re-searches only the nodes it served, seeded from the nodes around them (their
  minutes do not change) and from the other facilities' virtual arcs (:mod:`geocover.travel.nearest`),
  and re-evaluates only the cells it served.

Ties between facilities at equal minutes may name another facility than a full recomputation; the
minutes are the same.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyproj
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from geocover.io.population import PopulationGrid
from geocover.network.graph import WALK_SPEED_KMH, Network
from geocover.network.snapping import Snap
from geocover.travel.cells import Accessibility, cell_points, choose_roads, facility_points_snap
from geocover.travel.legs import component_boxes, segment_components
from geocover.travel.nearest import Direction, NodeTimes, nearest_facility_nodes, point_minutes, virtual_arcs


def add_facility(
    access: Accessibility,
    network: Network,
    x: float,
    y: float,
    snap_max_m: float,
    offroad_kmh: float = WALK_SPEED_KMH,
    direction: Direction = "to",
    crs: pyproj.CRS | str | None = None,
    serving: bool = True,
) -> Accessibility:
    """``access`` with one more facility at ``(x, y)``, as the last row of the facility table.

    Parameters
    ----------
    access : Accessibility
        The current state, from :func:`~geocover.travel.cells.cell_accessibility` or an earlier edit.
    network : Network
        The network ``access`` was computed on.
    x, y : float
        The new facility's coordinates in ``crs``.
    snap_max_m : float
        Snap distance in metres, as given to ``cell_accessibility``.
    offroad_kmh : float
        Walking speed on the off-road legs, km/h.
    direction : {"to", "from"}
        As given to ``cell_accessibility``.
    crs : pyproj.CRS or str, optional
        CRS of ``x, y``; the network's when omitted.
    serving : bool
        False: the new row does not offer the service ``access`` is for (e.g. a clinic added to a
        hospital service's travel times): it serves no one and nothing is searched.

    Returns
    -------
    Accessibility
    """
    grown = _with_facility_snap(access, _concat(access.facility_snap, _empty_snap()))
    if not serving:
        return grown
    return _open(grown, network, len(access.facility_snap), _snap_one(access, network, x, y, snap_max_m, crs),
                 offroad_kmh, direction)


def remove_facility(
    access: Accessibility, network: Network, index: int, offroad_kmh: float = WALK_SPEED_KMH,
    direction: Direction = "to",
) -> Accessibility:
    """``access`` without facility row ``index`` (the rows after it move up one).

    Parameters
    ----------
    access : Accessibility
    network : Network
    index : int
        Row of the facility in the facility table.
    offroad_kmh : float
        Walking speed on the off-road legs, km/h.
    direction : {"to", "from"}

    Returns
    -------
    Accessibility
    """
    _check_index(access, index)
    closed = _close(access, network, index, offroad_kmh, direction)
    keep = np.arange(len(closed.facility_snap)) != index

    def shift(rows: np.ndarray, private: bool = False) -> np.ndarray:
        """Rows after ``index`` move up one (no node or cell is served by ``index`` once it is closed); in place
        when ``rows`` is this edit's own copy."""
        shifted = rows if private else rows.copy()
        np.subtract(shifted, 1, out=shifted, where=shifted > index)
        return shifted

    return replace(closed, facility=shift(closed.facility, _own_copies(closed, access)),
                   facility_snap=closed.facility_snap.take(keep),
                   nodes=NodeTimes(closed.nodes.minutes, shift(closed.nodes.facility), direction))


def move_facility(
    access: Accessibility,
    network: Network,
    index: int,
    x: float,
    y: float,
    snap_max_m: float,
    offroad_kmh: float = WALK_SPEED_KMH,
    direction: Direction = "to",
    crs: pyproj.CRS | str | None = None,
) -> Accessibility:
    """``access`` with facility row ``index`` moved to ``(x, y)`` (in ``crs``, the network's when omitted).

    Parameters as :func:`add_facility` and :func:`remove_facility`.

    Returns
    -------
    Accessibility
    """
    _check_index(access, index)
    snap = _snap_one(access, network, x, y, snap_max_m, crs)
    closed = _close(access, network, index, offroad_kmh, direction)
    return _open(closed, network, index, snap, offroad_kmh, direction, _own_copies(closed, access))


def retier_facility(
    access: Accessibility,
    network: Network,
    index: int,
    serving: bool,
    x: float | None = None,
    y: float | None = None,
    snap_max_m: float | None = None,
    offroad_kmh: float = WALK_SPEED_KMH,
    direction: Direction = "to",
    crs: pyproj.CRS | str | None = None,
) -> Accessibility:
    """``access`` with facility row ``index`` starting (``serving``) or ceasing to offer its service.

    A change of tier moves a facility into or out of the services defined by tier: for the travel
    times of one service, the row then serves from ``(x, y)`` (in ``crs``), or serves no one while
    keeping its row. Equal to a full :func:`~geocover.travel.cells.cell_accessibility` of the rows
    that serve.

    Parameters
    ----------
    access : Accessibility
        Travel times of one service, one facility snap per row of the facility table (rows that do
        not offer the service unsnapped).
    network : Network
    index : int
        Row of the facility in the facility table.
    serving : bool
        Whether the facility offers the service after the change.
    x, y : float, optional
        The facility's coordinates, needed when ``serving``.
    snap_max_m : float, optional
        Snap distance in metres, needed when ``serving``.
    offroad_kmh, direction, crs
        As :func:`add_facility`.

    Returns
    -------
    Accessibility
    """
    _check_index(access, index)
    closed = _close(access, network, index, offroad_kmh, direction)
    if not serving:
        return closed
    if x is None or y is None or snap_max_m is None:
        raise ValueError("a facility that starts serving needs its x, y and snap_max_m")
    return _open(closed, network, index, _snap_one(access, network, x, y, snap_max_m, crs), offroad_kmh, direction,
                 _own_copies(closed, access))


def _check_index(access: Accessibility, index: int) -> None:
    if not 0 <= index < len(access.facility_snap):
        raise IndexError(f"facility row {index} is not in 0..{len(access.facility_snap) - 1}")


def _empty_snap() -> Snap:
    return Snap(np.array([-1], dtype=np.int64), np.zeros(1), np.array([np.inf]))


def _concat(a: Snap, b: Snap) -> Snap:
    return Snap(np.concatenate([a.edge, b.edge]), np.concatenate([a.fraction, b.fraction]),
                np.concatenate([a.offset_m, b.offset_m]))


def _set_snap(snap: Snap, index: int, one: Snap) -> Snap:
    edge, fraction, offset = snap.edge.copy(), snap.fraction.copy(), snap.offset_m.copy()
    edge[index], fraction[index], offset[index] = one.edge[0], one.fraction[0], one.offset_m[0]
    return Snap(edge, fraction, offset)


def _with_facility_snap(access: Accessibility, snap: Snap) -> Accessibility:
    return replace(access, facility_snap=snap)


def _snap_one(access: Accessibility, network: Network, x: float, y: float, snap_max_m: float,
              crs: pyproj.CRS | str | None) -> Snap:
    """One facility snapped as the run snapped its facilities (with off-road legs, no leg across water)."""
    if crs is not None:
        x, y = pyproj.Transformer.from_crs(crs, network.crs, always_xy=True).transform(x, y)
    grid = access.grid if access.cell_nearest is not None else None
    return facility_points_snap(network, np.array([x], dtype=np.float64), np.array([y], dtype=np.float64),
                                snap_max_m, grid)


def _own_copies(edited: Accessibility, access: Accessibility) -> bool:
    """Whether ``edited`` (from ``access`` by this edit) holds its own minutes and facility grids."""
    return edited.minutes is not access.minutes and edited.facility is not access.facility


def _open(access: Accessibility, network: Network, index: int, snap: Snap, offroad_kmh: float,
          direction: Direction, private: bool = False) -> Accessibility:
    """``access`` with the empty slot ``index`` of its facility snap opened at ``snap`` (one point); ``private``: its
    minutes and facility grids are this edit's own copies, updated in place."""
    facility_snap = _set_snap(access.facility_snap, index, snap)
    if not snap.snapped[0]:
        return _with_facility_snap(access, facility_snap)
    old = access.nodes
    bound = float(old.minutes.max()) if len(old.minutes) else np.inf
    alone = nearest_facility_nodes(network, snap, direction=direction, offroad_kmh=offroad_kmh, limit_minutes=bound)
    better = alone.minutes < old.minutes
    nodes = NodeTimes(np.where(better, alone.minutes, old.minutes), np.where(better, index, old.facility), direction)
    grid, cells = access.grid, access.cell_snap
    edge = np.maximum(cells.edge, 0)
    near = cells.snapped & (better[network.u[edge]] | better[network.v[edge]] | (cells.edge == snap.edge[0]))
    candidates = np.flatnonzero(near)
    minutes, facility = (access.minutes, access.facility) if private else (access.minutes.copy(),
                                                                          access.facility.copy())
    if len(candidates):
        new_minutes, _ = point_minutes(network, alone, cells.take(candidates), snap, offroad_kmh=offroad_kmh)
        rows, cols = (axis[candidates] for axis in _valid_cells(grid))
        gain = new_minutes < minutes[rows, cols]
        minutes[rows[gain], cols[gain]] = new_minutes[gain]
        facility[rows[gain], cols[gain]] = index
    opened = replace(access, minutes=minutes, facility=facility, nodes=nodes, facility_snap=facility_snap)
    if access.cell_nearest is None:
        return opened
    return _choose_again(opened, network, _may_switch(opened, network, segment_components(network)[snap.edge[0]]),
                         private=True)


def _close(access: Accessibility, network: Network, index: int, offroad_kmh: float,
           direction: Direction) -> Accessibility:
    """``access`` with facility ``index`` unsnapped (serving no one); its row stays, empty."""
    facility_snap = _set_snap(access.facility_snap, index, _empty_snap())
    nodes = _research_nodes(access.nodes, network, facility_snap, access.nodes.facility == index, offroad_kmh,
                            direction)
    grid = access.grid
    served = np.flatnonzero(access.facility[grid.valid] == index)
    if access.cell_nearest is not None:
        return _choose_again(replace(access, nodes=nodes, facility_snap=facility_snap), network, served)
    minutes, facility = access.minutes.copy(), access.facility.copy()
    if len(served):
        new_minutes, new_facility = point_minutes(network, nodes, access.cell_snap.take(served), facility_snap,
                                                  offroad_kmh=offroad_kmh)
        rows, cols = (axis[served] for axis in _valid_cells(grid))
        minutes[rows, cols], facility[rows, cols] = new_minutes, new_facility
    return replace(access, minutes=minutes, facility=facility, nodes=nodes, facility_snap=facility_snap)


def _may_switch(access: Accessibility, network: Network, piece: int) -> np.ndarray:
    """Valid cells (valid-cell order) that may now reach a facility better through ``piece``, the one connected
    piece of road whose minutes an opened facility lowered, than through their own piece: cells on another
    piece or on none, with ``piece`` within ``limit_m`` and a walk to its bounding box shorter than their time.

    A cell already on ``piece`` keeps its point of it (each piece's candidate point is the nearest dry one,
    whatever the facilities), whose new minutes :func:`_open` has taken.
    """
    grid, snap = access.grid, access.cell_snap
    own = np.where(snap.snapped, segment_components(network)[np.maximum(snap.edge, 0)], -1)
    west, south, east, north = component_boxes(network)[:, piece]
    x, y = cell_points(network, grid)
    box_m = np.hypot(np.maximum(np.maximum(west - x, x - east), 0.0), np.maximum(np.maximum(south - y, y - north), 0.0))
    walk_minutes = box_m / (access.offroad_kmh * 1000.0 / 60.0)
    some_road = access.cell_nearest.snapped  # no road within limit_m: no piece can serve the cell
    return np.flatnonzero(some_road & (own != piece) & (box_m <= access.limit_m)
                          & (walk_minutes < access.minutes[grid.valid]))


def _choose_again(access: Accessibility, network: Network, cells: np.ndarray, private: bool = False) -> Accessibility:
    """``access`` with ``cells`` (valid-cell order) choosing their road again under off-road legs, from its node
    minutes; the other cells keep theirs. ``private``: ``access.minutes`` and ``.facility`` are this edit's own
    copies, updated in place (a grid-sized copy costs more than the choice)."""
    if not len(cells):
        return access
    chosen, new_minutes, new_facility = choose_roads(network, access.nodes, access.facility_snap, access.grid,
                                                     access.cell_nearest, access.limit_m, access.offroad_kmh, cells)
    rows, cols = (axis[cells] for axis in _valid_cells(access.grid))
    minutes, facility = (access.minutes, access.facility) if private else (access.minutes.copy(),
                                                                          access.facility.copy())
    minutes[rows, cols], facility[rows, cols] = new_minutes, new_facility
    snap = Snap(access.cell_snap.edge.copy(), access.cell_snap.fraction.copy(), access.cell_snap.offset_m.copy())
    snap.edge[cells], snap.fraction[cells], snap.offset_m[cells] = chosen.edge, chosen.fraction, chosen.offset_m
    return replace(access, minutes=minutes, facility=facility, cell_snap=snap)


def _valid_cells(grid: PopulationGrid) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, cols)`` of the valid cells (valid-cell order), kept on the grid: 5 ms a call on a large grid."""
    def cells() -> tuple[np.ndarray, np.ndarray]:
        rows, cols = np.nonzero(grid.valid)
        rows.flags.writeable = cols.flags.writeable = False
        return rows, cols

    return grid.derived("valid cells", cells)


def _research_nodes(old: NodeTimes, network: Network, facilities: Snap, lost: np.ndarray, offroad_kmh: float,
                    direction: Direction) -> NodeTimes:
    """Node minutes with the nodes ``lost`` searched again from their surroundings and the open ``facilities``.

    The other nodes keep their minutes. Each way into a lost node seeds one source of a multi-source
    search over the lost nodes only: an arc from a kept node (its minutes plus the arc's) or a
    facility's virtual arc.
    """
    minutes, facility = old.minutes.copy(), old.facility.copy()
    lost_nodes = np.flatnonzero(lost)
    if len(lost_nodes) == 0:
        return NodeTimes(minutes, facility, direction)
    minutes[lost_nodes], facility[lost_nodes] = np.inf, -1
    local = np.full(network.n_nodes, -1, dtype=np.int64)
    local[lost_nodes] = np.arange(len(lost_nodes))
    tail, head, arc_minutes = network.arcs()
    if direction == "to":
        tail, head = head, tail
    inner = lost[tail] & lost[head]
    entering = ~lost[tail] & lost[head] & (old.facility[tail] >= 0)
    ok = np.flatnonzero(facilities.snapped)
    owner, ends, virtual_minutes = virtual_arcs(network, facilities, ok, direction, offroad_kmh, None)
    into = lost[ends]
    seed_node = np.concatenate([head[entering], ends[into]])
    seed_minutes = np.concatenate([old.minutes[tail[entering]] + arc_minutes[entering], virtual_minutes[into]])
    seed_facility = np.concatenate([old.facility[tail[entering]], ok[owner[into]]])
    if len(seed_node) == 0:
        return NodeTimes(minutes, facility, direction)
    m, s = len(lost_nodes), len(seed_node)
    rows = np.concatenate([local[tail[inner]], m + np.arange(s)])
    cols = np.concatenate([local[head[inner]], local[seed_node]])
    weights = np.concatenate([arc_minutes[inner], seed_minutes])
    order = np.lexsort((weights, cols, rows))
    first = np.r_[True, (rows[order][1:] != rows[order][:-1]) | (cols[order][1:] != cols[order][:-1])]
    order = order[first]  # the fastest of parallel arcs
    indptr = np.searchsorted(rows[order], np.arange(m + s + 1))
    graph = sp.csr_matrix((weights[order], cols[order], indptr), shape=(m + s, m + s))
    found, _, source = dijkstra(graph, directed=True, indices=m + np.arange(s), min_only=True,
                                return_predecessors=True)
    reached = np.isfinite(found[:m]) & (source[:m] >= m)
    minutes[lost_nodes[reached]] = found[:m][reached]
    facility[lost_nodes[reached]] = seed_facility[source[:m][reached] - m]
    return NodeTimes(minutes, facility, direction)

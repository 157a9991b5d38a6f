"""Nearest-facility travel times with one multi-source search in SciPy.

Facilities join the network at their snapped position along a segment, not at
a node: each facility becomes a virtual node with arcs to the two ends of its
segment weighted by the part of the segment travelled plus the walked off-road
leg. One ``scipy.sparse.csgraph.dijkstra`` call with ``min_only=True`` over all
virtual nodes gives every node's minutes to (or from) its nearest facility and
which facility that is. Points (population cells) are then evaluated from the
two ends of their own segment, and directly along the segment when a facility
sits on the same one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from geocover.network.chains import Chains, chains
from geocover.network.graph import WALK_SPEED_KMH, Network, ranges
from geocover.network.snapping import Snap

Direction = Literal["to", "from"]


@dataclass
class NodeTimes:
    """Minutes between every node and its nearest facility.

    Attributes
    ----------
    minutes : numpy.ndarray of float64
        Per node, ``inf`` when no facility is reachable.
    facility : numpy.ndarray of int64
        Index (into the facility snap) of the nearest facility, -1 when unreachable.
    direction : {"to", "from"}
        ``"to"``: from the node to the facility (a resident going to care);
        ``"from"``: from the facility to the node (an ambulance going out).
    """

    minutes: np.ndarray
    facility: np.ndarray
    direction: Direction


def walk_minutes(offset_m: np.ndarray, offroad_kmh: float) -> np.ndarray:
    return offset_m / (offroad_kmh * 1000.0 / 60.0)


def facility_leg(
    facilities: Snap, index: np.ndarray, offroad_kmh: float, delay_minutes: np.ndarray | None
) -> np.ndarray:
    """Minutes between facilities ``index`` and the road: the walked off-road leg plus any delay."""
    leg = walk_minutes(facilities.offset_m[index], offroad_kmh)
    return leg if delay_minutes is None else leg + np.asarray(delay_minutes, dtype=np.float64)[index]


def toward_ends(
    network: Network, snap: Snap, leaving: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Minutes along the segment between each snapped position and its ``u`` and ``v`` ends.

    ``leaving=True`` gives the time to travel from the position to each end;
    ``False`` the time from each end to the position.
    """
    e = snap.edge
    t = snap.fraction
    if leaving:
        return _part(t, network.minutes_vu[e]), _part(1.0 - t, network.minutes_uv[e])
    return _part(t, network.minutes_uv[e]), _part(1.0 - t, network.minutes_vu[e])


def _part(share: np.ndarray, minutes: np.ndarray) -> np.ndarray:
    """Minutes for ``share`` of a segment: zero at its very end even on a closed direction."""
    return np.where(share == 0.0, 0.0, share * np.where(share == 0.0, 0.0, minutes))


def virtual_arcs(
    network: Network,
    facilities: Snap,
    ok: np.ndarray,
    direction: Direction,
    offroad_kmh: float,
    delay_minutes: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arcs out of each facility ``ok[k]`` to the ends of its segment: ``(k, end node, minutes)``, open ones only.

    Weighted by the walked off-road leg (plus any delay) and the part of the segment travelled. "to":
    a node reaches the facility, so searches run on the reversed graph and the arc to end ``u`` weighs
    the time from u to the position; "from" the opposite.
    """
    edge = facilities.edge[ok]
    sub = Snap(edge, facilities.fraction[ok], facilities.offset_m[ok])
    at_u, at_v = toward_ends(network, sub, leaving=direction == "from")
    walk = facility_leg(facilities, ok, offroad_kmh, delay_minutes)
    end_u, end_v = network.u[edge], network.v[edge]
    loop = end_u == end_v
    weights = np.column_stack([np.where(loop, np.minimum(walk + at_u, walk + at_v), walk + at_u),
                               np.where(loop, np.inf, walk + at_v)])
    ends = np.column_stack([end_u, end_v])
    owner = np.repeat(np.arange(len(ok)), 2).reshape(-1, 2)
    finite = np.isfinite(weights)
    return owner[finite], ends[finite], weights[finite]


def _with_sources(base: sp.csr_matrix, owner: np.ndarray, heads: np.ndarray, minutes: np.ndarray,
                  n_sources: int) -> sp.csr_matrix:
    """``base`` with ``n_sources`` virtual nodes appended, arcs ``owner -> heads`` leading out of them.

    The CSR arrays are appended rather than added, so an arc of zero minutes stays an arc.
    """
    order = np.argsort(owner, kind="stable")
    indptr = np.concatenate([base.indptr, base.indptr[-1] + np.cumsum(np.bincount(owner, minlength=n_sources))])
    indices = np.concatenate([base.indices, heads[order].astype(base.indices.dtype)])
    size = base.shape[0] + n_sources
    return sp.csr_matrix((np.concatenate([base.data, minutes[order]]), indices, indptr), shape=(size, size))


def facility_graph(
    network: Network,
    facilities: Snap,
    ok: np.ndarray,
    direction: Direction,
    offroad_kmh: float,
    delay_minutes: np.ndarray | None,
) -> sp.csr_matrix:
    """The network searched in ``direction`` with facilities ``ok`` appended as virtual nodes.

    Virtual node ``network.n_nodes + k`` stands for facility ``ok[k]``; its only arcs lead out of
    it, to the two ends of its segment (:func:`virtual_arcs`). No arc enters a virtual node, so a
    search from one never passes through another.
    """
    owner, heads, minutes = virtual_arcs(network, facilities, ok, direction, offroad_kmh, delay_minutes)
    return _with_sources(network.csr(reverse=direction == "to"), owner, heads, minutes, len(ok))


def nearest_facility_nodes(
    network: Network,
    facilities: Snap,
    direction: Direction = "to",
    offroad_kmh: float = WALK_SPEED_KMH,
    limit_minutes: float = np.inf,
    delay_minutes: np.ndarray | None = None,
    contract: bool = True,
) -> NodeTimes:
    """Minutes from every node to its nearest facility, in one multi-source search.

    Parameters
    ----------
    network : Network
    facilities : Snap
        Snapped facilities; unsnapped ones take no part.
    direction : {"to", "from"}
        Travel to the facility (reverse search) or from it (forward search).
    offroad_kmh : float
        Walking speed on the facility's off-road leg, km/h.
    limit_minutes : float
        Stop the search beyond this many minutes (nodes farther are ``inf``).
    delay_minutes : numpy.ndarray, optional
        Minutes added per facility before travel starts, such as an ambulance
        station's dispatch delay; with ``direction="from"`` the result is then a
        response time.
    contract : bool
        Search the junction graph (:mod:`geocover.network.chains`) and fill in the shape points, rather than
        every node: the same minutes, several times faster on OSM networks (networks with few shape
        points are searched whole).

    Returns
    -------
    NodeTimes
    """
    n = network.n_nodes
    ok = np.flatnonzero(facilities.snapped)
    if len(ok) == 0:
        return NodeTimes(np.full(n, np.inf), np.full(n, -1, dtype=np.int64), direction)
    found = chains(network, direction) if contract and network.n_edges else None
    if found is not None:
        minutes, source = _search_chains(network, found, facilities, ok, direction, offroad_kmh, limit_minutes,
                                         delay_minutes)
    else:
        graph = facility_graph(network, facilities, ok, direction, offroad_kmh, delay_minutes)
        minutes, _, source = dijkstra(graph, directed=True, indices=n + np.arange(len(ok)), min_only=True,
                                      return_predecessors=True, limit=limit_minutes)
        minutes, source = minutes[:n], np.where(source[:n] >= n, source[:n] - n, -1)
    facility = np.where((source >= 0) & np.isfinite(minutes), ok[np.clip(source, 0, len(ok) - 1)], -1)
    return NodeTimes(minutes, facility.astype(np.int64), direction)


def _search_chains(network: Network, found: Chains, facilities: Snap, ok: np.ndarray, direction: Direction,
                   offroad_kmh: float, limit_minutes: float, delay_minutes: np.ndarray | None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Per node, minutes to the nearest facility and its position in ``ok`` (-1 none), on the junction graph."""
    owner, heads, weights = virtual_arcs(network, facilities, ok, direction, offroad_kmh, delay_minutes)
    on_chain = found.index[heads] < 0
    x, from_x, w = heads[on_chain], owner[on_chain], weights[on_chain]
    to_start, to_end = found.to_ends(x)
    c = found.chain[x]
    arcs_owner = np.concatenate([owner[~on_chain], from_x, from_x])
    arcs_head = np.concatenate([found.index[heads[~on_chain]], found.index[found.start[c]], found.index[found.end[c]]])
    arcs_minutes = np.concatenate([weights[~on_chain], w + to_start, w + to_end])
    keep = np.isfinite(arcs_minutes)
    m = len(found.junctions)
    graph = _with_sources(found.graph, arcs_owner[keep], arcs_head[keep], arcs_minutes[keep], len(ok))
    at_junction, _, source = dijkstra(graph, directed=True, indices=m + np.arange(len(ok)), min_only=True,
                                      return_predecessors=True, limit=limit_minutes)
    source = np.where(source[:m] >= m, source[:m] - m, -1)
    minutes = np.full(network.n_nodes, np.inf)
    nearest = np.full(network.n_nodes, -1, dtype=np.int64)
    minutes[found.junctions], nearest[found.junctions] = at_junction[:m], source
    points, start, end = found.members, found.members_start_junction, found.members_end_junction
    via_start = at_junction[start] + found.ahead[points]
    via_end = at_junction[end] + found.back[points]
    minutes[points] = np.minimum(via_start, via_end)
    nearest[points] = np.where(via_start <= via_end, source[start], source[end])
    # Facilities on a chain also reach its shape points directly along it.
    size = found.member_start[c + 1] - found.member_start[c]
    arc = np.repeat(np.arange(len(x)), size)
    offsets = np.arange(len(arc)) - np.repeat(np.cumsum(size) - size, size)
    target = found.members[found.member_start[c][arc] + offsets]
    direct = w[arc] + found.between(x[arc], target)
    better = direct < minutes[target]
    target, direct, arc = target[better], direct[better], arc[better]
    order = np.lexsort((direct, target))
    first = np.ones(len(order), dtype=bool)
    first[1:] = target[order][1:] != target[order][:-1]
    best = order[first]
    minutes[target[best]], nearest[target[best]] = direct[best], from_x[arc[best]]
    beyond = minutes > limit_minutes
    minutes[beyond], nearest[beyond] = np.inf, -1
    return minutes, nearest


def point_minutes(
    network: Network,
    nodes: NodeTimes,
    points: Snap,
    facilities: Snap,
    offroad_kmh: float = WALK_SPEED_KMH,
    delay_minutes: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Minutes between snapped points and their nearest facility.

    Each point is reached through either end of its segment, or directly
    along the segment when a facility is snapped to the same one. The point's
    and the facility's off-road legs are walked.

    Parameters
    ----------
    network : Network
    nodes : NodeTimes
        Output of :func:`nearest_facility_nodes` for the same facilities.
    points : Snap
        Snapped points (population cells); unsnapped points are unreachable.
    facilities : Snap
    offroad_kmh : float
        Walking speed on off-road legs, km/h.
    delay_minutes : numpy.ndarray, optional
        The per-facility delay given to :func:`nearest_facility_nodes`.

    Returns
    -------
    minutes : numpy.ndarray of float64
        ``inf`` when unreachable.
    facility : numpy.ndarray of int64
        Index of the nearest facility, -1 when unreachable.
    """
    minutes = np.full(len(points), np.inf)
    facility = np.full(len(points), -1, dtype=np.int64)
    ok = np.flatnonzero(points.snapped)
    if len(ok) == 0:
        return minutes, facility
    sub = points.take(ok)
    along_u, along_v = toward_ends(network, sub, leaving=nodes.direction == "to")
    node_u, node_v = network.u[sub.edge], network.v[sub.edge]
    via_u = along_u + nodes.minutes[node_u]
    via_v = along_v + nodes.minutes[node_v]
    best = np.minimum(via_u, via_v)
    best_facility = np.where(via_u <= via_v, nodes.facility[node_u], nodes.facility[node_v])
    same_minutes, same_facility, same_point = _same_segment(
        network, sub, facilities, nodes.direction, offroad_kmh, delay_minutes
    )
    if len(same_point):
        better = same_minutes < best[same_point]
        best[same_point[better]] = same_minutes[better]
        best_facility[same_point[better]] = same_facility[better]
    best = best + walk_minutes(sub.offset_m, offroad_kmh)
    reachable = np.isfinite(best)
    minutes[ok] = best
    facility[ok] = np.where(reachable, best_facility, -1)
    return minutes, facility


def _same_segment(
    network: Network,
    points: Snap,
    facilities: Snap,
    direction: Direction,
    offroad_kmh: float,
    delay_minutes: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best direct time along a shared segment, for points whose segment holds a facility."""
    minutes, facility, point = same_segment_pairs(network, points, facilities, direction, offroad_kmh, delay_minutes)
    order = np.lexsort((facility, minutes, point))
    first = np.ones(len(order), dtype=bool)
    first[1:] = point[order][1:] != point[order][:-1]
    best = order[first]
    return minutes[best], facility[best], point[best]


def same_segment_pairs(
    network: Network,
    points: Snap,
    facilities: Snap,
    direction: Direction,
    offroad_kmh: float,
    delay_minutes: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Direct minutes along the segment for every (point, facility) pair snapped to the same one.

    Returns ``(minutes, facility, point)``, one entry per pair, ``inf`` where the one-way rule
    forbids the direct way; the facility's off-road leg (and delay) is included, the point's is not.
    """
    fac = np.flatnonzero(facilities.snapped)
    fac = fac[np.argsort(facilities.edge[fac], kind="stable")]
    fac_edge = facilities.edge[fac]
    holds = np.zeros(network.n_edges, dtype=bool)
    holds[fac_edge] = True
    shared = np.flatnonzero(holds[np.maximum(points.edge, 0)] & (points.edge >= 0))  # few: search only those
    first = np.searchsorted(fac_edge, points.edge[shared], side="left")
    count = np.searchsorted(fac_edge, points.edge[shared], side="right") - first
    p = np.repeat(shared, count)
    f = fac[ranges(first, count)].astype(np.int64)
    e = points.edge[p]
    s, t = points.fraction[p], facilities.fraction[f]
    # Travelling from position a to position b along u->v when b >= a, else along v->u.
    start, end = (s, t) if direction == "to" else (t, s)
    forward = end >= start
    minutes = np.where(
        forward, _part(end - start, network.minutes_uv[e]), _part(start - end, network.minutes_vu[e])
    )
    minutes = minutes + facility_leg(facilities, f, offroad_kmh, delay_minutes)
    return minutes, f, p

"""Runs of shape points contracted away: the junction graph the nearest-facility search runs on.

Most nodes of an OSM network are shape points with exactly two neighbours. Each maximal run of such
nodes between two junctions (any other node) is a *chain*; the junction graph keeps one arc per
chain and direction, weighted by the whole run. A search on it and one pass over the chains give
every node the same minutes as a search of the whole network: a shape point is reached through one
of its chain's two ends, or directly along its own chain from a facility on that chain.

Chains are built once per network and search direction (:func:`chains`) and cached on the network.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, dijkstra

from geocover.network.graph import Network


@dataclass
class Chains:
    """The network's chains for searches in one direction.

    Attributes
    ----------
    junctions : numpy.ndarray of int64
        Junction node indices; ``index[node]`` is a node's position among them, -1 for shape points.
    index : numpy.ndarray of int64
    graph : scipy.sparse.csr_matrix
        Junction × junction minutes: the fastest chain between two junctions, in the search direction.
    chain : numpy.ndarray of int64
        Per node, its chain (-1 for junctions).
    start, end : numpy.ndarray of int64
        Per chain, its first and last junction (node indices).
    ahead, back : numpy.ndarray of float64
        Per node, minutes from its chain's start to it and from its chain's end to it (``inf`` through
        a closed direction).
    ahead_open, back_open : numpy.ndarray of float64
        The same with closed steps counted 0, and ``ahead_closed``, ``back_closed`` the number of closed
        steps; per chain the totals ``total_ahead_open`` … ``total_back_closed``.
    step : numpy.ndarray of int64
        Per shape point, its place along its chain (1 next to the start).
    members, member_start : numpy.ndarray of int64
        Shape points in chain order: chain ``c`` holds ``members[member_start[c]:member_start[c + 1]]``.
    members_start_junction, members_end_junction : numpy.ndarray of int64
        Per member, the positions among ``junctions`` of its chain's start and end.
    """

    junctions: np.ndarray
    index: np.ndarray
    graph: sp.csr_matrix
    chain: np.ndarray
    start: np.ndarray
    end: np.ndarray
    ahead: np.ndarray
    back: np.ndarray
    ahead_open: np.ndarray
    back_open: np.ndarray
    ahead_closed: np.ndarray
    back_closed: np.ndarray
    total_ahead_open: np.ndarray
    total_back_open: np.ndarray
    total_ahead_closed: np.ndarray
    total_back_closed: np.ndarray
    step: np.ndarray
    members: np.ndarray
    member_start: np.ndarray
    members_start_junction: np.ndarray
    members_end_junction: np.ndarray

    def between(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Minutes from shape point ``x`` to shape point ``y`` of the same chain, along it."""
        ahead = np.where(self.ahead_closed[y] == self.ahead_closed[x], self.ahead_open[y] - self.ahead_open[x], np.inf)
        back = np.where(self.back_closed[y] == self.back_closed[x], self.back_open[y] - self.back_open[x], np.inf)
        return np.where(self.step[y] >= self.step[x], ahead, back)

    def to_ends(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Minutes from shape points ``x`` along their chain to its start and to its end."""
        c = self.chain[x]
        to_end = np.where(self.total_ahead_closed[c] == self.ahead_closed[x],
                          self.total_ahead_open[c] - self.ahead_open[x], np.inf)
        to_start = np.where(self.total_back_closed[c] == self.back_closed[x],
                            self.total_back_open[c] - self.back_open[x], np.inf)
        return to_start, to_end


def _is_junction(network: Network) -> np.ndarray:
    """Nodes that are not plain shape points: degree other than 2, or an end of a loop segment."""
    n, u, v = network.n_nodes, network.u, network.v
    degree = np.bincount(u, minlength=n) + np.bincount(v, minlength=n)
    junction = degree != 2
    junction[u[u == v]] = True
    return junction


def _links(network: Network, junction: np.ndarray) -> sp.csr_matrix:
    """Segment × segment: the two segments at each shape point are linked."""
    u, v, m = network.u, network.v, network.n_edges
    seg = np.arange(m)
    ends = np.concatenate([u, v])
    owner = np.concatenate([seg, seg])
    inner = ~junction[ends]
    order = np.argsort(ends[inner], kind="stable")
    pairs = owner[inner][order].reshape(-1, 2)
    return sp.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(m, m)).tocsr()


def segment_chains(network: Network) -> tuple[int, np.ndarray]:
    """Number of chains and the chain of each segment (segments meeting at a shape point share one)."""
    return _segment_chains(network, _is_junction(network))


def _segment_chains(network: Network, junction: np.ndarray) -> tuple[int, np.ndarray]:
    """Chain label per segment: segments meeting at a shape point share a chain."""
    return connected_components(_links(network, junction), directed=False)


MIN_SHAPE_SHARE = 0.3
"""Contract only networks where at least this share of the nodes are shape points (OSM: about 85 %)."""


def chains(network: Network, direction: str) -> Chains | None:
    """The network's chains and junction graph for searches in ``direction`` (cached on the network).

    ``"from"`` searches follow travel (facility to node); ``"to"`` searches run against it. None when
    fewer than :data:`MIN_SHAPE_SHARE` of the nodes are shape points: contracting would not pay.
    """
    key = ("chains", direction)
    if key not in network._cache:
        shape_share = 1.0 - _is_junction(network).mean() if network.n_nodes else 0.0
        network._cache[key] = _build(network, direction) if shape_share >= MIN_SHAPE_SHARE else None
    return network._cache[key]


def _build(network: Network, direction: str) -> Chains:
    """The chains of ``network`` and their junction graph for searches in ``direction`` (see :func:`chains`)."""
    n = network.n_nodes
    junction, count, label = _chain_labels(network)
    order, first, last, entry, leave = _chain_order(network, junction, count, label)
    s_label = label[order]
    sums = _step_sums(network, order, entry == network.u[order], direction, first, last)
    # A shape point is the exit of every segment but the last of its chain; its "back" is summed from
    # the next segment on.
    inner = np.flatnonzero(~last)
    node = leave[inner]
    per_node = {}
    for name, values in sums.items():
        per_node[name] = np.zeros(n)
        per_node[name][node] = values[inner + 1] if name.startswith("back") else values[inner]
    chain = np.full(n, -1, dtype=np.int64)
    chain[node] = s_label[inner]
    step = np.zeros(n, dtype=np.int64)
    step[node] = inner - np.flatnonzero(first)[s_label[inner]] + 1 if len(inner) else inner
    chain_start, chain_end = entry[first], leave[last]
    junctions = np.flatnonzero(junction)
    index = np.full(n, -1, dtype=np.int64)
    index[junctions] = np.arange(len(junctions))
    tails = np.r_[index[chain_start], index[chain_end]]
    heads = np.r_[index[chain_end], index[chain_start]]
    weights = np.r_[sums["ahead"][last], sums["back"][first]]
    keep = np.isfinite(weights) & (tails != heads)
    member_start = np.r_[0, np.cumsum(np.bincount(s_label[inner], minlength=count))]
    return Chains(
        junctions, index, _min_csr(tails[keep], heads[keep], weights[keep], len(junctions)), chain,
        chain_start, chain_end, per_node["ahead"], per_node["back"], per_node["ahead_open"], per_node["back_open"],
        per_node["ahead_closed"], per_node["back_closed"], sums["ahead_open"][last], sums["back_open"][first],
        sums["ahead_closed"][last], sums["back_closed"][first], step, node, member_start,
        index[chain_start[s_label[inner]]], index[chain_end[s_label[inner]]],
    )


def _chain_labels(network: Network) -> tuple[np.ndarray, int, np.ndarray]:
    """Whether each node is a junction, the number of chains and the chain of each segment; a ring of shape
    points, which has no junction, gets its lowest node as one."""
    n, u, v = network.n_nodes, network.u, network.v
    junction = _is_junction(network)
    count, label = _segment_chains(network, junction)
    touches = np.zeros(count, dtype=bool)
    touches[label[junction[u] | junction[v]]] = True
    if not touches.all():
        lowest = np.full(count, n, dtype=np.int64)
        np.minimum.at(lowest, label, np.minimum(u, v))
        junction[lowest[~touches]] = True
        count, label = _segment_chains(network, junction)
    return junction, count, label


def _chain_order(network: Network, junction: np.ndarray, count: int, label: np.ndarray,
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The segments in chain order, each chain starting with its lowest segment touching a junction: the order,
    whether each is its chain's first and last, and the node each enters and leaves by."""
    u, v = network.u, network.v
    seg = np.arange(network.n_edges)
    at_end = junction[u] | junction[v]
    head = np.full(count, network.n_edges, dtype=np.int64)
    np.minimum.at(head, label[at_end], seg[at_end])
    order = np.lexsort((_positions(network, junction, head), label))
    su, sv, s_label = u[order], v[order], label[order]
    first = np.r_[True, s_label[1:] != s_label[:-1]]
    last = np.r_[s_label[1:] != s_label[:-1], True]
    # Orient each segment: it enters at the node shared with the previous one, or at its chain's start.
    previous_u, previous_v = np.r_[-1, su[:-1]], np.r_[-1, sv[:-1]]
    next_u, next_v = np.r_[su[1:], -1], np.r_[sv[1:], -1]
    entry = np.where((su == previous_u) | (su == previous_v), su, sv)
    opens = first & ~last
    entry[opens] = np.where((su[opens] == next_u[opens]) | (su[opens] == next_v[opens]), sv[opens], su[opens])
    lone = first & last
    entry[lone] = np.where(junction[su[lone]], su[lone], sv[lone])
    return order, first, last, entry, np.where(entry == su, sv, su)


def _step_sums(network: Network, order: np.ndarray, forward: np.ndarray, direction: str, first: np.ndarray,
               last: np.ndarray) -> dict[str, np.ndarray]:
    """Per segment in chain order, minutes summed along its chain ahead from the start (``ahead``) and back from
    the end (``back``), with closed steps counted 0 (``*_open``) and counted (``*_closed``); ``forward``: the
    segment is entered at its ``u``."""
    travel_on = np.where(forward, network.minutes_uv[order], network.minutes_vu[order])
    travel_against = np.where(forward, network.minutes_vu[order], network.minutes_uv[order])
    # "to" searches run against travel: moving ahead along the chain costs the trip back.
    step_ahead, step_back = (travel_on, travel_against) if direction == "from" else (travel_against, travel_on)
    starts, ends = np.flatnonzero(first), np.flatnonzero(last[::-1])
    return {
        "ahead": _run_sums(step_ahead, starts),
        "ahead_open": _run_sums(np.where(np.isinf(step_ahead), 0.0, step_ahead), starts),
        "ahead_closed": _run_sums(np.isinf(step_ahead).astype(np.float64), starts),
        "back": _run_sums(step_back[::-1], ends)[::-1],
        "back_open": _run_sums(np.where(np.isinf(step_back), 0.0, step_back)[::-1], ends)[::-1],
        "back_closed": _run_sums(np.isinf(step_back).astype(np.float64)[::-1], ends)[::-1],
    }


def _positions(network: Network, junction: np.ndarray, head: np.ndarray) -> np.ndarray:
    """Hop position of each segment along its chain, 0 for the chain's first segment."""
    hops = dijkstra(_links(network, junction), directed=False, indices=head, min_only=True, unweighted=True)
    return hops.astype(np.int64)


def _run_sums(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Cumulative sums restarting at each index of ``starts``, added in order along each run (inf stays inf)."""
    out = values.astype(np.float64, copy=True)
    length = np.diff(np.r_[starts, len(values)])
    order = np.argsort(-length, kind="stable")
    longest_first, first_index = length[order], starts[order]
    for offset in range(1, int(length.max(initial=0))):
        at = first_index[: np.searchsorted(-longest_first, -offset, side="left")] + offset
        out[at] += out[at - 1]
    return out


def _min_csr(tails: np.ndarray, heads: np.ndarray, weights: np.ndarray, size: int) -> sp.csr_matrix:
    """CSR of the fastest arc per (tail, head) pair."""
    order = np.lexsort((weights, heads, tails))
    tails, heads, weights = tails[order], heads[order], weights[order]
    unique = np.ones(len(tails), dtype=bool)
    unique[1:] = (tails[1:] != tails[:-1]) | (heads[1:] != heads[:-1])
    tails, heads, weights = tails[unique], heads[unique], weights[unique]
    indptr = np.r_[0, np.cumsum(np.bincount(tails, minlength=size))]
    return sp.csr_matrix((weights, heads, indptr), shape=(size, size))

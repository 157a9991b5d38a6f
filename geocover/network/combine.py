"""Several road sources as one set of segments: OSM and local line layers joined where they meet.

Chinese analysts have OSM for the main roads and the transport bureau's rural road layers (县道, 乡道, 村道)
for the rest. :func:`combine_roads` puts them together by stated rules, the sources in order of precedence
(OSM first when given, then the line layers as listed):

* **Duplicates.** A segment of a later source whose whole length lies within ``duplicate_m`` of the kept
  roads of earlier sources (tested at its ends and at points at most ``duplicate_m`` apart along it, so no
  point of it is farther than 1.5 x ``duplicate_m``) repeats a road already there: it is dropped and the
  earlier one kept (OSM over a local layer, because OSM carries ``maxspeed``, ``oneway`` and access tags).
  Where a dropped segment leaves a kept one's end open, that end is joined to the nearest road of another
  source within ``duplicate_m``.
* **Ends.** The dangling end of a line (a node of one segment in its source) is joined to the nearest
  segment of another source within ``join_m``: onto that segment's end node when the foot of the
  perpendicular lies within ``join_m`` of it, else at the foot, splitting the segment there.
* **Crossings.** Segments of different sources that cross are split at the crossing and joined there (onto
  an end node within ``join_m`` of it, as above).
* **Grade separation.** Nothing is joined to or across a segment tagged ``bridge`` or ``tunnel``, nor
  between segments whose ``layer`` differs (a line layer's from its bridge, tunnel and layer columns, see
  :func:`~geocover.io.road_lines.read_road_lines`; none and layer 0 without).

Joined nodes take the position of the earlier source's node, so OSM geometry is never moved.

Within one source, OSM's topology is authoritative (ways share nodes where they meet) and is kept as it is.
A local line layer named in ``join_own`` is first joined to itself by :func:`join_layer`, as the rules
above but between its own lines: a dangling end to the nearest other line within ``join_m`` (onto its vertex
or at the foot), at-grade crossings without a shared vertex split, never at a bridge or tunnel or across
layers. Everything is vectorized over Shapely STRtrees in a local UTM projection (fine for a province's
10^6 segments). This module drops the duplicates; finding and making the junctions is
:mod:`geocover.network.junctions`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np
import shapely

from geocover.network.junctions import (
    crossing_points,
    end_joins,
    join_at,
    metric_transformer,
    open_ends,
    segment_lines,
    source_crossings,
    touched_nodes,
)
from geocover.network.segments import SEGMENT_ARRAYS, RoadSegments

JOIN_M = 5.0
"""Default junction tolerance in metres: line ends and crossings this close to another source's road meet it."""
DUPLICATE_M = 15.0
"""Default duplicate tolerance in metres: a later source's segment wholly this close to earlier roads is dropped."""


@dataclass
class RoadsCombined:
    """What :func:`combine_roads` kept, dropped and joined.

    Attributes
    ----------
    km : dict of str to float
        Kilometres of road each source contributes to the combined segments (after duplicates are dropped).
    duplicate_km : dict of str to float
        Kilometres of each source dropped as duplicates of an earlier source's roads.
    duplicate_segments : dict of str to int
        Segments of each source dropped as duplicates.
    junctions : int
        Distinct nodes where roads of different sources were joined (line ends and crossings).
    join_m, duplicate_m : float
        The tolerances used, metres.
    own_junctions : dict of str to int
        Distinct nodes where lines of one local layer were joined to each other (see :func:`join_layer`), per
        layer named in ``join_own``.
    """

    km: dict[str, float]
    duplicate_km: dict[str, float]
    duplicate_segments: dict[str, int]
    junctions: int
    join_m: float
    duplicate_m: float
    own_junctions: dict[str, int] = field(default_factory=dict)

    def notes(self) -> list[str]:
        """One sentence for a run's notes: kilometres per source, duplicates dropped and junctions joined;
        for a single source, a sentence only when its own lines were joined."""
        own = ""
        if self.own_junctions:
            own = ("; within the local layers, line ends and crossings joined: "
                   + ", ".join(f"{name} {_count(n, 'junction')}" for name, n in self.own_junctions.items())
                   + f" (within {self.join_m:g} m, none at bridges, tunnels or across layers)")
        if len(self.km) == 1:
            [(name, km)] = self.km.items()
            return [f"roads from {name} {km:,.1f} km{own}"] if any(self.own_junctions.values()) else []
        parts = []
        for name, km in self.km.items():
            dropped = self.duplicate_segments[name]
            extra = (f" ({_count(dropped, 'segment')}, {self.duplicate_km[name]:,.1f} km dropped as duplicates of "
                     f"an earlier source within {self.duplicate_m:g} m)") if dropped else ""
            parts.append(f"{name} {km:,.1f} km{extra}")
        return [f"roads combined from {len(self.km)} sources: " + "; ".join(parts)
                + f"; {_count(self.junctions, 'junction')} joined between sources (within {self.join_m:g} m, none at "
                "bridges, tunnels or across layers)" + own]


def _count(number: int, noun: str) -> str:
    """``1 junction``, ``2 junctions``."""
    return f"{number:,} {noun}{'s' * (number != 1)}"


def combine_roads(
    sources: dict[str, RoadSegments], join_m: float = JOIN_M, duplicate_m: float = DUPLICATE_M,
    join_own: Collection[str] = (),
) -> tuple[RoadSegments, RoadsCombined]:
    """Merge the segments of several road sources into one, joined where they meet (see the module's rules).

    Parameters
    ----------
    sources : dict of str to RoadSegments
        The sources by name, in order of precedence: an earlier source wins over a later one's duplicate.
    join_m : float
        Junction tolerance in metres (:data:`JOIN_M`).
    duplicate_m : float
        Duplicate tolerance in metres (:data:`DUPLICATE_M`); 0 keeps every segment.
    join_own : collection of str
        The sources (local line layers, never OSM) whose own lines are first joined to each other by
        :func:`join_layer`.

    Returns
    -------
    segments : RoadSegments
        All kept segments, ``source`` the position of their source in ``sources``; the first source keeps its
        node ids, the other nodes get negative ids.
    combined : RoadsCombined
        Kilometres per source, duplicates dropped, junctions joined.
    """
    names = list(sources)
    if not 0 < len(names) < 128:
        raise ValueError(f"give 1 to 127 road sources, got {len(names)}")
    unknown = sorted(set(join_own) - set(names))
    if unknown:
        raise ValueError(f"join_own names no source: {unknown}; the sources are {names}")
    own = {name: join_layer(sources[name], join_m) for name in names if name in join_own}
    sources = {name: own[name][0] if name in own else segments for name, segments in sources.items()}
    own_junctions = {name: junctions for name, (_, junctions) in own.items()}
    merged, node_source = _concatenate(list(sources.values()))
    to_metric = metric_transformer(merged)
    x, y = to_metric.transform(merged.lon, merged.lat)
    length_m = np.hypot(x[merged.v] - x[merged.u], y[merged.v] - y[merged.u])
    lines = segment_lines(merged, x, y)
    dropped = _duplicates(merged, x, y, lines, length_m, duplicate_m) if duplicate_m > 0 else np.zeros(len(lines), bool)
    kept, lines = merged.take(~dropped), lines[~dropped]
    exposed = np.flatnonzero(touched_nodes(merged.take(dropped), len(x)) & touched_nodes(kept, len(x)))
    joinable = np.flatnonzero(~kept.bridge & ~kept.tunnel)
    tree = shapely.STRtree(lines[joinable])
    ends, tolerance_m = open_ends(kept, len(x), exposed, join_m, duplicate_m)
    ends = end_joins(kept, x, y, (lines, joinable, tree), ends, tolerance_m,
                     lambda end, found: kept.source[found] != node_source[end])
    combined, junctions = join_at(kept, x, y, (node_source, kept.source), join_m, ends,
                                  source_crossings(kept, (lines, joinable, tree)))
    cx, cy = to_metric.transform(combined.lon, combined.lat)
    combined_m = np.hypot(cx[combined.v] - cx[combined.u], cy[combined.v] - cy[combined.u])
    km = np.bincount(combined.source, weights=combined_m, minlength=len(names)) / 1000.0
    lost = merged.source[dropped]
    lost_km = np.bincount(lost, weights=length_m[dropped], minlength=len(names)) / 1000.0
    return combined, RoadsCombined(
        km=dict(zip(names, km.tolist(), strict=True)), duplicate_km=dict(zip(names, lost_km.tolist(), strict=True)),
        duplicate_segments=dict(zip(names, np.bincount(lost, minlength=len(names)).tolist(), strict=True)),
        junctions=junctions, join_m=join_m, duplicate_m=duplicate_m, own_junctions=own_junctions,
    )


def join_layer(segments: RoadSegments, join_m: float = JOIN_M) -> tuple[RoadSegments, int]:
    """The lines of one local layer joined to each other where they meet but share no vertex.

    Vertices that coincide are already one node (:func:`~geocover.network.segments.segments_from_lines`).
    Besides, a dangling end (a node of one segment, not on a bridge or tunnel) is joined to the nearest
    segment of another line within ``join_m`` of the same layer and neither bridge nor tunnel: onto that
    segment's end node when the foot of the perpendicular lies within ``join_m`` of it, else at the foot,
    splitting the segment there (a 村道 ending short of a 乡道, or meeting it mid-segment). Two such segments
    that cross at one point without a shared vertex are split and joined there. A dangling end moves onto the
    line it joins; the other lines keep their geometry. A line is never joined to itself.

    Parameters
    ----------
    segments : RoadSegments
        One local line layer (never OSM, whose ways share nodes where they meet).
    join_m : float
        Junction tolerance in metres.

    Returns
    -------
    segments : RoadSegments
        The joined segments, on the layer's node ids plus negative ids for new nodes.
    junctions : int
        Distinct nodes where lines were joined.
    """
    x, y = metric_transformer(segments).transform(segments.lon, segments.lat)
    lines = segment_lines(segments, x, y)
    joinable = np.flatnonzero(~segments.bridge & ~segments.tunnel)
    index = (lines, joinable, shapely.STRtree(lines[joinable]))
    n_nodes = len(x)
    ends, _ = open_ends(segments, n_nodes, np.zeros(0, dtype=np.int64), join_m, join_m)
    way_of_end = np.zeros(n_nodes, dtype=np.int64)
    way_of_end[segments.u], way_of_end[segments.v] = segments.way_id, segments.way_id
    joins = end_joins(segments, x, y, index, ends, np.full(len(ends), join_m),
                      lambda end, found: segments.way_id[found] != way_of_end[end])
    pairs = index[2].query(lines[joinable], predicate="intersects")
    first, second = joinable[pairs[0]], joinable[pairs[1]]
    keep = ((first < second) & (segments.layer[first] == segments.layer[second])
            & (segments.u[first] != segments.u[second]) & (segments.u[first] != segments.v[second])
            & (segments.v[first] != segments.u[second]) & (segments.v[first] != segments.v[second]))
    crossings = crossing_points(lines, first[keep], second[keep])
    rank = np.zeros(n_nodes, dtype=np.int8)
    rank[joins[0]] = 1
    return join_at(segments, x, y, (rank, np.zeros(len(segments.u), dtype=np.int8)), join_m, joins, crossings)


def _concatenate(parts: list[RoadSegments]) -> tuple[RoadSegments, np.ndarray]:
    """All sources' segments on one node list, ``source`` set, and the source of every node."""
    offsets = np.cumsum([0] + [len(part.lon) for part in parts])
    ids = [parts[0].node_id.astype(np.int64)]
    for part in parts[1:]:
        below = min([0, *(int(i.min()) for i in ids if len(i))])
        ids.append(below - np.arange(1, len(part.lon) + 1, dtype=np.int64))
    arrays = {name: np.concatenate([getattr(part, name) for part in parts]) for name in SEGMENT_ARRAYS}
    arrays["u"] = np.concatenate([part.u + offset for part, offset in zip(parts, offsets, strict=False)])
    arrays["v"] = np.concatenate([part.v + offset for part, offset in zip(parts, offsets, strict=False)])
    arrays["source"] = np.repeat(np.arange(len(parts), dtype=np.int8), [len(part.u) for part in parts])
    merged = RoadSegments(node_id=np.concatenate(ids), lon=np.concatenate([p.lon for p in parts]),
                          lat=np.concatenate([p.lat for p in parts]), **arrays)
    return merged, np.repeat(np.arange(len(parts), dtype=np.int8), np.diff(offsets))


def _near(tree: shapely.STRtree, x: np.ndarray, y: np.ndarray, distance_m: float) -> np.ndarray:
    """Whether each point lies within ``distance_m`` of a geometry of ``tree``."""
    found = np.zeros(len(x), dtype=bool)
    found[tree.query(shapely.points(x, y), predicate="dwithin", distance=distance_m)[0]] = True
    return found


def _duplicates(segments: RoadSegments, x: np.ndarray, y: np.ndarray, lines: np.ndarray, length_m: np.ndarray,
                duplicate_m: float) -> np.ndarray:
    """Whether each segment repeats kept roads of earlier sources: its ends and points at most ``duplicate_m``
    apart along it all within ``duplicate_m`` of them."""
    dropped = np.zeros(len(length_m), dtype=bool)
    for source in range(1, int(segments.source.max(initial=0)) + 1):
        earlier = np.flatnonzero((segments.source < source) & ~dropped)
        mine = np.flatnonzero(segments.source == source)
        if not len(earlier) or not len(mine):
            continue
        tree = shapely.STRtree(lines[earlier])
        ends = np.flatnonzero(touched_nodes(segments.take(mine), len(x)))
        near_end = np.zeros(len(x), dtype=bool)
        near_end[ends] = _near(tree, x[ends], y[ends], duplicate_m)
        mine = mine[near_end[segments.u[mine]] & near_end[segments.v[mine]]]
        counts = np.ceil(length_m[mine] / duplicate_m).astype(np.int64) + 1
        of_sample = np.repeat(np.arange(len(mine)), counts)
        step = np.arange(len(of_sample)) - np.repeat(np.cumsum(counts) - counts, counts)
        t = step / np.repeat(counts - 1, counts)
        u, v = segments.u[mine][of_sample], segments.v[mine][of_sample]
        near = _near(tree, x[u] + t * (x[v] - x[u]), y[u] + t * (y[v] - y[u]), duplicate_m)
        dropped[mine[np.bincount(of_sample, weights=~near, minlength=len(mine)) == 0]] = True
    return dropped

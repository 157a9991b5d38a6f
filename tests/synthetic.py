"""Small synthetic inputs shared by the API tests."""

from __future__ import annotations

import numpy as np

from geocover.network.graph import Network

CRS = "EPSG:32633"


def street_grid(seed: int = 4, n_side: int = 7, spacing: float = 300.0, gap_share: float = 0.1,
                oneway_share: float = 0.2) -> Network:
    """A jittered street grid with gaps, three speeds and one-way streets both ways round (``oneway_share``
    of the streets each way; ``gap_share`` of the streets missing)."""
    rng = np.random.default_rng(seed)
    ix, iy = np.meshgrid(np.arange(n_side), np.arange(n_side))
    x = ix.ravel() * spacing + rng.uniform(-0.15, 0.15, ix.size) * spacing
    y = iy.ravel() * spacing + rng.uniform(-0.15, 0.15, ix.size) * spacing
    node = np.arange(ix.size).reshape(n_side, n_side)
    u = np.concatenate([node[:, :-1].ravel(), node[:-1, :].ravel()])
    v = np.concatenate([node[:, 1:].ravel(), node[1:, :].ravel()])
    keep = rng.random(len(u)) > gap_share
    u, v = u[keep], v[keep]
    minutes = np.hypot(x[v] - x[u], y[v] - y[u]) / (rng.choice([15.0, 30.0, 50.0], len(u)) * 1000 / 60)
    oneway = rng.random(len(u))
    return Network(x=x, y=y, u=u, v=v, minutes_uv=np.where(oneway < oneway_share, np.inf, minutes),
                   minutes_vu=np.where(oneway > 1 - oneway_share, np.inf, minutes), crs=CRS, mode="drive")

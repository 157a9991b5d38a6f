"""Save a network to disk and load it back in seconds, so a province is parsed from OSM once.

One compressed NumPy ``.npz`` file holds the node and segment arrays, the CRS as WKT, the
mode and the cost unit. Write with :meth:`Network.save <geocover.network.graph.Network.save>`, read
with :func:`load_network` (``gc.load_network``). It is written to a temporary file beside the
target and moved into place with ``os.replace``, so a reader never sees a half-written file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from geocover.network.graph import Network
from geocover.output_folder import save_npz

FORMAT_VERSION = 1
"""Written into every file; :func:`load_network` refuses other versions."""

_ARRAYS = ("x", "y", "u", "v", "minutes_uv", "minutes_vu", "length_m", "node_id")


def save_network(network: Network, path: str | Path) -> Path:
    """Write ``network`` to one compressed ``.npz`` file, atomically.

    Parameters
    ----------
    network : Network
    path : str or pathlib.Path
        Target file; its folder must exist. Conventionally ends in ``.npz``.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    arrays = {name: getattr(network, name) for name in _ARRAYS}
    if network.n_nodes < 2**31:
        # Node indices fit in 32 bits: half the bytes to compress; loading restores int64.
        arrays["u"], arrays["v"] = arrays["u"].astype(np.int32), arrays["v"].astype(np.int32)
    return save_npz(path, compress=True, **arrays, crs_wkt=np.array(network.crs.to_wkt()),
                    mode=np.array(network.mode), cost_unit=np.array(network.cost_unit),
                    format_version=np.array(FORMAT_VERSION))


def load_network(path: str | Path) -> Network:
    """Read a network written by :func:`save_network`.

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    Network

    Raises
    ------
    ValueError
        When the file is not a geocover network of this format version.
    """
    with np.load(path, allow_pickle=False) as data:
        missing = [name for name in (*_ARRAYS, "crs_wkt", "mode", "format_version") if name not in data.files]
        if missing:
            raise ValueError(f"{path} is not a geocover network file: no {', '.join(missing)}")
        version = int(data["format_version"])
        if version != FORMAT_VERSION:
            raise ValueError(f"{path} has network format version {version}; this geocover reads {FORMAT_VERSION}")
        arrays = {name: data[name] for name in _ARRAYS}
        cost_unit = str(data["cost_unit"]) if "cost_unit" in data.files else "minutes"
        return Network(**arrays, crs=str(data["crs_wkt"]), mode=str(data["mode"]), cost_unit=cost_unit)

"""What a file really is, before it is parsed: an OSM PBF that is whole, a raster that opens and reads.

A county analyst's road file may be an HTML error page saved under the PBF's name, a GeoTIFF
renamed, an empty or cut-off download; a population "raster" may be a CSV. Each is named here
with the file and what to do, instead of a traceback from the parser.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
import rasterio.errors

from geocover.errors import Problem

__all__ = ["file_kind", "pbf_problems", "raster_problems"]

_SIGNATURES = (
    (b"II*\0", "a TIFF image (a raster)"),
    (b"MM\0*", "a TIFF image (a raster)"),
    (b"II+\0", "a BigTIFF image (a raster)"),
    (b"MM\0+", "a BigTIFF image (a raster)"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"BZh", "a bzip2 archive"),
    (b"%PDF", "a PDF document"),
    (b"SQLite format 3", "a SQLite database or GeoPackage"),
    (b"\xd0\xcf\x11\xe0", "an old Excel/Word file"),
)
MAX_PEOPLE_PER_CELL = 1e7
"""More people than this in one cell of a population raster is a nodata value the raster does not declare."""
_MAX_HEADER_BYTES = 64 * 1024
_MAX_BLOB_BYTES = 32 * 1024 * 1024


def file_kind(head: bytes) -> str | None:
    """Name the kind of a file from its first bytes when it is recognisably not data of ours.

    Returns
    -------
    str or None
        e.g. ``"an HTML page"``, ``"a TIFF image (a raster)"``; None when unrecognised.
    """
    for signature, kind in _SIGNATURES:
        if head.startswith(signature):
            return kind
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "an HTML page"
    if text.startswith((b"{", b"[")):
        return "a JSON text"
    return None


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value, shift = 0, 0
    while at < len(data):
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at += 1
        if not byte & 0x80:
            return value, at
        shift += 7
    raise ValueError("cut varint")


def _blob_header(data: bytes) -> tuple[str, int]:
    """``type`` and ``datasize`` of an OSM PBF BlobHeader message."""
    kind, size, at = "", -1, 0
    while at < len(data):
        key, at = _varint(data, at)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
            if field == 3:
                size = value
        elif wire == 2:
            length, at = _varint(data, at)
            if field == 1:
                kind = data[at:at + length].decode("ascii", errors="replace")
            at += length
        else:
            raise ValueError(f"wire type {wire}")
    return kind, size


def pbf_problems(path: str | Path, file: str | None = None) -> list[Problem]:
    """Problems of an OSM road file that stop it being read: empty, not OSM data, cut off.

    A ``.pbf`` is walked blob by blob (headers only, nothing decompressed), so a download cut
    short is found in a fraction of a second; an ``.osm`` XML file must start with ``<?xml`` or
    ``<osm`` and end with ``</osm>``.
    """
    path = Path(path)
    file = file or str(path)
    redo = "download the .osm.pbf again (e.g. from download.geofabrik.de) and check its size"
    if path.is_dir():
        return [Problem(file, "is a folder, not a road file", "give the .osm.pbf file inside it")]
    if not path.is_file():
        return [Problem(file, "road file not found", "check the path (relative to the config file)")]
    size = path.stat().st_size
    if size == 0:
        return [Problem(file, "the road file is empty", redo)]
    with path.open("rb") as handle:
        head = handle.read(1024)
        kind = file_kind(head)
        if kind is not None:
            return [Problem(file, f"is {kind}, not OSM road data", redo)]
        if head.lstrip().startswith((b"<?xml", b"<osm")):
            handle.seek(max(0, size - 64))
            if not handle.read().rstrip().endswith(b"</osm>"):
                return [Problem(file, "the OSM XML file is cut off (no closing </osm>)", redo)]
            return []
        handle.seek(0)
        at, first = 0, True
        while at < size:
            length = int.from_bytes(handle.read(4), "big")
            header = handle.read(length) if 0 < length <= _MAX_HEADER_BYTES else b""
            try:
                kind, blob_size = _blob_header(header) if len(header) == length else ("", -1)
            except ValueError:
                kind, blob_size = "", -1
            if first and kind != "OSMHeader":
                return [Problem(file, "is not an OSM PBF file (no OSMHeader at its start)", redo)]
            if kind not in ("OSMHeader", "OSMData") or not 0 <= blob_size <= _MAX_BLOB_BYTES:
                return [Problem(file, f"the PBF is damaged at byte {at:,}", redo)]
            at += 4 + length + blob_size
            if at > size:
                return [Problem(file, f"the PBF is cut off: {size:,} bytes of at least {at:,}", redo)]
            handle.seek(at)
            first = False
    return []


def raster_problems(path: str | Path, file: str | None = None, what: str = "raster", people: bool = False
                    ) -> list[Problem]:
    """Problems of a GeoTIFF input: missing, not a raster, no CRS, rotated, damaged blocks, no valid cell; with
    ``people`` (a raster of people per cell), negative cells and cells beyond :data:`MAX_PEOPLE_PER_CELL` (an
    undeclared nodata value such as 3.4e38).

    Every block of band 1 is read, so a file cut short or corrupted inside is found here.
    """
    path = Path(path)
    file = file or str(path)
    if path.is_dir():
        return [Problem(file, f"is a folder, not a {what}", "give the GeoTIFF (.tif) file inside it")]
    if not path.is_file():
        return [Problem(file, f"{what} not found", "check the path (relative to the config file)")]
    if path.stat().st_size == 0:
        return [Problem(file, f"the {what} file is empty", "copy or export it again")]
    with path.open("rb") as handle:
        kind = file_kind(handle.read(1024))
    if kind is not None and "TIFF" not in kind:
        return [Problem(file, f"is {kind}, not a {what}", "give a GeoTIFF (.tif) of people per cell")]
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                return [Problem(file, f"the {what} has no CRS", "assign one (gdal_edit -a_srs EPSG:4326)")]
            if src.transform.b or src.transform.d:
                return [Problem(file, f"the {what} is rotated (its geotransform has rotation terms)",
                                "warp it north-up first (gdalwarp -t_srs <its CRS> in.tif out.tif)")]
            valid, low, high = 0, np.inf, -np.inf
            for _, window in src.block_windows(1):
                data = src.read(1, window=window, masked=True).astype(np.float64).filled(np.nan)
                finite = data[np.isfinite(data)]
                valid += finite.size
                low, high = min(low, finite.min(initial=np.inf)), max(high, finite.max(initial=-np.inf))
    except (rasterio.errors.RasterioError, OSError) as exc:
        return [Problem(file, f"cannot be read as a {what} ({exc})",
                        "check that it opens in QGIS; copy or download it again")]
    if valid == 0:
        return [Problem(file, f"every cell of the {what} is nodata",
                        "check the nodata value (gdalinfo) or use the right file")]
    nodata_fix = "set the raster's nodata value to it (gdal_edit -a_nodata <value>) or fix the cells"
    problems = []
    if people and low < 0:
        problems.append(Problem(file, f"cells of the {what} hold negative people (down to {low:g})", nodata_fix))
    if people and high > MAX_PEOPLE_PER_CELL:
        problems.append(Problem(file, f"cells of the {what} hold up to {high:g} people, more than "
                                f"{MAX_PEOPLE_PER_CELL:g} in one cell: an undeclared nodata value", nodata_fix))
    return problems

"""Every sentence of the report's cover and of the run summary ends with a full stop: "." in English, "。" in Chinese
(the run's notes, printed after them as ``note: …``, are fragments and left as they are).

The scenario is a small Comoros-like one built from files: two islands a few kilometres apart, each with a road
grid and a clinic, a population raster reaching far beyond them (people outside the study area, in its margin
and inside the islands), walking with bands of 5, 10 and 15 minutes.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from shapely.geometry import Point, box

from geocover.analysis.totals import population_totals, totals_lines
from geocover.api import summarize
from geocover.pipeline import run_scenario
from geocover.render.report import cover_lines

ISLANDS = {"Ngazidja": (43.30, -11.70, 43.34, -11.66), "Mwali": (43.40, -11.70, 43.44, -11.66)}


def _roads_xml() -> str:
    nodes, ways, node_id = [], [], 0
    for west, south, east, north in ISLANDS.values():
        lons, lats = np.linspace(west, east, 9), np.linspace(south, north, 9)
        ids = np.arange(node_id + 1, node_id + 1 + lons.size * lats.size).reshape(lons.size, lats.size)
        node_id = int(ids.max())
        nodes += [f'<node id="{ids[i, j]}" version="1" lat="{lat:.5f}" lon="{lon:.5f}"/>'
                  for i, lon in enumerate(lons) for j, lat in enumerate(lats)]
        lines = [ids[i, :] for i in range(lons.size)] + [ids[:, j] for j in range(lats.size)]
        ways += [f'<way id="{len(ways) + k + 1}">' + "".join(f'<nd ref="{n}"/>' for n in line)
                 + '<tag k="highway" v="residential"/></way>' for k, line in enumerate(lines)]
    return "<?xml version='1.0' encoding='UTF-8'?>\n<osm version=\"0.6\">\n" + "\n".join(nodes + ways) + "\n</osm>\n"


@pytest.fixture(scope="module")
def islands(tmp_path_factory):
    folder = tmp_path_factory.mktemp("islands")
    (folder / "roads.osm").write_text(_roads_xml(), encoding="utf-8")
    gpd.GeoDataFrame({"code": ["1", "2"], "name": list(ISLANDS)}, geometry=[box(*b) for b in ISLANDS.values()],
                     crs="EPSG:4326").to_file(folder / "islands.geojson")
    gpd.GeoDataFrame({"name": ["clinic A", "clinic B"], "category": ["clinic", "clinic"]},
                     geometry=[Point(43.305, -11.695), Point(43.435, -11.665)],
                     crs="EPSG:4326").to_file(folder / "clinics.geojson")
    cell = 0.002
    people = np.random.default_rng(3).gamma(2.0, 5.0, (100, 140)).astype(np.float32)
    with rasterio.open(folder / "people.tif", "w", driver="GTiff", height=100, width=140, count=1,
                       dtype="float32", crs="EPSG:4326", nodata=-1,
                       transform=Affine(cell, 0, 43.23, 0, -cell, -11.58)) as dst:
        dst.write(people, 1)
    config = folder / "islands.yaml"
    config.write_text(
        "name: islands\nmode: walk\nbands_minutes: [5, 10, 15]\ntarget_minutes: 10\n"
        "roads: {pbf: roads.osm}\nfacilities: {path: clinics.geojson, name_column: name, tier_column: category}\n"
        "population: {raster: people.tif}\n"
        "zones: [{level: island, path: islands.geojson, id_column: code, name_column: name}]\n"
        "map: {tiles: none}\n", encoding="utf-8")
    result = run_scenario(config, progress=False)
    result.audit = pd.DataFrame({"status": ["pass", "fail", "not evaluable"]})
    return result


def test_the_small_scenario_has_every_population_total(islands):
    totals = population_totals(islands)
    assert totals.raster > totals.study_area > totals.zones > 0  # people beyond the study area and in its margin
    assert totals.gaps is not None and totals.gaps > 0


@pytest.mark.parametrize("lang, stop", [("en", "."), ("zh", "。")])
def test_every_cover_and_summary_sentence_ends_with_a_full_stop(islands, lang, stop):
    totals = totals_lines(islands, lang)
    cover = cover_lines(islands, lang)
    assert len(totals) == 3 and len(cover) == 5  # scenario, three totals, the audit
    for sentence in totals + cover:
        assert sentence.endswith(stop), sentence
        assert not sentence.endswith(stop * 2), sentence


def test_every_line_of_the_run_summary_ends_with_a_full_stop(islands):
    lines = [line for line in summarize(islands).splitlines() if not line.startswith("note: ")]
    assert lines[0].startswith("scenario islands: walk") and lines[-1].startswith("standards audit: 1 pass")
    assert len(lines) == 8  # scenario, network, facilities, the island level, three totals, the audit
    for line in lines:
        assert line.endswith(".") and not line.endswith(".."), line

"""The README's "Python API" walk-through runs as written, and its results equal brute force."""

from __future__ import annotations

import itertools
import re

import geopandas as gpd
import numpy as np
import pytest
import shapely
from scipy.sparse.csgraph import dijkstra

import geocover as gc
from geocover.api import batch
from geocover.config import BatchConfig
from geocover.errors import InputError
from geocover.render.writers import write_outputs
from tests.conftest import ROOT


def _walk_through() -> str:
    """The first python block of the README's "Python API" section."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


@pytest.fixture(scope="module")
def done(tmp_path_factory) -> dict:
    """The walk-through's variables, run in a folder with the repository's data/ in it."""
    folder = tmp_path_factory.mktemp("notebook")
    (folder / "data").symlink_to(ROOT / "data", target_is_directory=True)
    names: dict = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        exec(compile(_walk_through(), "README.md", "exec"), names)
    names["folder"] = folder
    return names


def test_zone_table_counts_the_people_within_each_band(done):
    grid, access, zones, table = done["grid"], done["access"], done["zones"], done["table"]
    x, y = grid.centres()
    people, minutes = grid.population[grid.valid], access.minutes[grid.valid]
    assert len(table) == len(zones) == 14
    for zone in zones.to_crs(grid.crs).itertuples():
        inside = shapely.contains_xy(zone.geometry, x, y)
        row = table[table["zone_id"] == zone.zone_id].iloc[0]
        assert row["population"] == pytest.approx(people[inside].sum())
        for band in (5, 10, 15):
            assert row[f"pop_within_{band}"] == pytest.approx(people[inside & (minutes <= band)].sum())
    assert table["pop_within_15"].sum() > 0.5 * people.sum()


def test_network_round_trip_keeps_the_minutes(done):
    walk, same, edges, graph = done["walk"], done["same"], done["edges"], done["graph"]
    assert same.n_nodes == walk.n_nodes and graph.number_of_edges() == len(edges) == 2 * walk.n_edges
    position = {node: i for i, node in enumerate(same.node_id)}
    sources = [0, walk.n_nodes // 2]
    expected = dijkstra(walk.csr(), indices=sources)
    got = dijkstra(same.csr(), indices=[position[walk.node_id[s]] for s in sources])
    order = [position[node] for node in walk.node_id]
    np.testing.assert_allclose(got[:, order], expected, rtol=1e-9)


def test_the_two_sites_are_the_best_pair(done):
    times, cells, model, candidates = done["times"], done["cells"], done["model"], done["candidates"]
    assert times.matrix.shape == (len(cells), len(candidates)) and (times.destination_index == candidates.index).all()
    covered = times.matrix.tocsc()
    people = cells["people"].to_numpy()

    def cover(pair: tuple[int, ...]) -> float:
        rows = np.unique(np.concatenate([covered.indices[covered.indptr[j]:covered.indptr[j + 1]] for j in pair]))
        return float(people[rows].sum())

    best = max(cover(pair) for pair in itertools.combinations(range(len(candidates)), 2))
    assert model.population_after == pytest.approx(best)
    assert cover(tuple(model.selected)) == pytest.approx(best)
    assert len(done["chosen"]) == 2


def test_isochrones_and_saved_network(done):
    reach, facilities, walk = done["reach"], done["facilities"], done["walk"]
    assert len(reach) == 2 * len(facilities) and reach.crs == walk.crs
    for five, ten in zip(reach.geometry.iloc[::2], reach.geometry.iloc[1::2], strict=True):
        assert five.area > 0 and five.difference(ten).area <= 1e-6 * five.area < ten.area
    assert (done["folder"] / "helsinki_walk.npz").exists()
    built = gc.build_network(done["roads"], "walk", crs="EPSG:3067")  # the walk variable is the loaded copy
    for name in ("x", "y", "u", "v", "minutes_uv", "minutes_vu", "length_m", "node_id"):
        np.testing.assert_array_equal(getattr(walk, name), getattr(built, name))
    assert walk.crs == built.crs and walk.mode == "walk"


def test_config_isochrones_layer(tmp_path):
    config = gc.load_config(gc.demo_config()).model_copy(update={"isochrones": True, "facility_table": False})
    result = gc.run_scenario(config, progress=False)
    direct = gc.isochrones(result.network, result.facilities.set_index("facility_id"), config.bands_minutes,
                           config.snap_max_m, offroad_kmh=config.offroad_kmh)
    assert len(result.isochrones) == len(result.facilities) * len(config.bands_minutes)
    assert result.isochrones["facility"].tolist() == direct["facility"].tolist()
    assert shapely.equals(result.isochrones.geometry.to_numpy(), direct.geometry.to_numpy()).all()
    write_outputs(result, tmp_path)
    layer = gpd.read_file(tmp_path / "results.gpkg", layer="isochrones")
    assert len(layer) == len(direct) and layer.crs.to_epsg() == 4326
    assert layer["minutes"].tolist() == direct["minutes"].tolist()


def test_batch_refuses_isochrones_up_front(tmp_path):
    config = gc.load_config(gc.demo_config())
    config = config.model_copy(update={"isochrones": True, "batch": BatchConfig(unit_level="grid_500m")})
    with pytest.raises(InputError) as error:
        batch(config, out=tmp_path, progress=False)
    assert "isochrones" in str(error.value) and "geocover run" in str(error.value)
    assert not any(tmp_path.iterdir())

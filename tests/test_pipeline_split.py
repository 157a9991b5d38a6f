"""The pipeline in two halves: inputs prepared once (geocover.prepared_inputs), then the registered analyses."""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from geocover import api, pipeline
from geocover.config import ServiceConfig, load_config
from geocover.prepared_inputs import prepare_inputs


@pytest.fixture(scope="module")
def config():
    """The demo with a service circle and per-tier minutes: three optional analyses run."""
    demo = load_config(api.demo_config())
    tiers = sorted(prepare_inputs(demo).facilities["tier"].unique())
    service = ServiceConfig(name="near", mode="walk", tiers=tiers[:1], bands_minutes=[5, 10], target_minutes=10)
    return demo.model_copy(update={"services": [service], "tier_minutes": True})


@pytest.fixture(scope="module")
def inputs(config):
    return prepare_inputs(config)


def test_prepared_inputs_give_the_run_of_the_config_and_stay_as_they_were(config, inputs):
    before = copy.deepcopy((inputs.zones, inputs.facilities, inputs.grid.population, inputs.grid.valid))
    given = pipeline.run_scenario(config, progress=False, inputs=inputs, polygons=False)
    own = pipeline.run_scenario(config, progress=False, polygons=False)
    pd.testing.assert_frame_equal(given.table, own.table)
    assert {"near_pop_within_10", "minutes_mean_" + inputs.facilities["tier"].min()} <= set(given.table.columns)
    pd.testing.assert_frame_equal(inputs.zones, before[0])
    pd.testing.assert_frame_equal(inputs.facilities, before[1])
    np.testing.assert_array_equal(inputs.grid.population, before[2])
    np.testing.assert_array_equal(inputs.grid.valid, before[3])
    assert "snapped" not in inputs.facilities.columns  # the facility columns went to the result's own copy


def test_prepared_inputs_exclude_facilities_and_unit(config, inputs):
    with pytest.raises(ValueError, match="prepare_inputs"):
        pipeline.run_scenario(config, progress=False, inputs=inputs, unit=("grid_500m", "x"))


def test_a_registered_analysis_adds_its_part_counted_independently(config, inputs, monkeypatch):
    """One line registers an analysis: here the people per zone counted from the cells' zone labels by hand."""

    def people_by_labels(config, inputs, result):
        labels = inputs.grid.labels(inputs.zones)
        people = [inputs.grid.population[inputs.grid.valid & (labels == k + 1)].sum() for k in range(len(inputs.zones))]
        return replace(result, table=result.table.assign(people_by_labels=people))

    monkeypatch.setattr(pipeline, "ZONE_ANALYSES", [*pipeline.ZONE_ANALYSES, people_by_labels])
    result = pipeline.run_scenario(config, progress=False, inputs=inputs, polygons=False)
    np.testing.assert_allclose(result.table["people_by_labels"], result.table["population"])
    assert "people_by_labels" in result.zones.columns


def test_every_analysis_leaves_the_result_it_is_given_alone(config, inputs):
    base = pipeline.main_analysis(config, inputs)
    columns, facilities = list(base.table.columns), base.facilities.copy()
    for analysis in (*pipeline.ZONE_ANALYSES, *pipeline.POLYGON_ANALYSES):
        after = analysis(config, inputs, base)
        assert list(base.table.columns) == columns, analysis.__name__
        pd.testing.assert_frame_equal(base.facilities, facilities)
        assert base.services == {} and base.service_areas is None and base.catchments is None
        assert after.config is config
    added = pipeline.service_circles(config, inputs, base)
    assert set(added.table.columns) - set(columns) == {c for c in added.table.columns if c.startswith("near_")}

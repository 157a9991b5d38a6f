"""Province batches: every unit of a scenario as a Dask task with its halo, merged into one output."""

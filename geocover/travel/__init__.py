"""Travel times: nearest facility, per-facility matrices, per-cell access, off-road legs, isochrones."""

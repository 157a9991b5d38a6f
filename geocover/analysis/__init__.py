"""Analyses on the per-cell minutes: zone table, polygons, services, facilities, ambulance, supply."""

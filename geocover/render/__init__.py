"""What a planner reads: the Folium map, its offline assets, the print map, the report, the writers."""

"""Config-free readers: OSM, road lines, facilities, spreadsheets, population, statistics, zones, coordinates."""

"""Road networks: segments as arrays, the CSR network, snapping to segments, contracted chains."""

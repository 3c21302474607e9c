"""What pages show, built from results: map overlays, the coverage map, charts, exports."""

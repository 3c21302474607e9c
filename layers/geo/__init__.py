"""Measuring on the WGS84 ellipsoid: geodesy, patrol coverage, convoy tracking."""

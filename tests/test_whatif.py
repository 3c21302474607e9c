"""The commission's what-if: a typed object, and proposed bases typed as text."""

from __future__ import annotations

import geopandas as gpd
import shapely

from layers.analysis.whatif import WhatIf, parse_points


def bases() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": ["B1", "B2"],
            "unit": ["One", "Two"],
            "unit_type": ["police", "infantry"],
            "radius_m": [5_000.0, 8_000.0],
            "status": ["active", "active"],
        },
        geometry=[shapely.Point(-10.8, 6.3), shapely.Point(-9.5, 7.0)],
        crs="EPSG:4326",
    )


def test_a_what_if_changes_a_copy_of_the_bases() -> None:
    given = bases()
    what = WhatIf(
        radius_by_type=(("police", 12_000.0),), off=("B2",), added=((6.5, -9.6, 7_000.0),)
    )
    out = what.bases(given)
    assert out["radius_m"].tolist() == [12_000.0, 8_000.0, 7_000.0]
    assert out["status"].tolist() == ["active", "standby", "active"]
    assert out.geometry.iloc[2].equals(shapely.Point(-9.6, 6.5))
    assert given["radius_m"].tolist() == [5_000.0, 8_000.0]  # the feed's frame is untouched
    assert WhatIf(radius_m=3_000.0).bases(given)["radius_m"].tolist() == [3_000.0, 3_000.0]
    assert hash(what) == hash(WhatIf(**what.__dict__))  # a cache key: equal runs, one entry


def test_typed_points_are_read_and_each_bad_line_is_named() -> None:
    text = "6.52, -9.61\n\n7.1;-8.9\nabc\n95, 10\n1, 2, 3\nnan, nan\n"
    points, bad = parse_points(text)
    assert points == [(6.52, -9.61), (7.1, -8.9)]
    assert [b.split(":")[0] for b in bad] == ["line 4", "line 5", "line 6", "line 7"]
    assert "'abc' is not 'lat, lon'" in bad[0] and "off the globe" in bad[1]

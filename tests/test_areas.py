"""Admin areas: optional polygons with a name."""

from __future__ import annotations

import json

from conftest import load_text
from layers import areas
from layers.scene import Scene


def test_areas_load_with_common_name_columns_and_reject_points() -> None:
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"COUNTY_NAM": "Bomi", "COUNTY_COD": "LR-BM"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[-11, 6.6], [-10.6, 6.6], [-10.6, 7.1], [-11, 7.1], [-11, 6.6]]
                    ],
                },
            },
            {
                "type": "Feature",
                "properties": {"COUNTY_NAM": "Dot"},
                "geometry": {"type": "Point", "coordinates": [-10, 6]},
            },
        ],
    }
    frame, problems = load_text("areas", "areas.geojson", json.dumps(doc))
    assert frame["name"].tolist() == ["Bomi", "Dot"] and frame["code"][0] == "LR-BM"
    assert frame.geometry.isna().tolist() == [False, True]
    assert any(p.kind == "wrong_geometry_type" and p.row == 2 for p in problems)
    assert len(areas.derive(frame, Scene({}))) == 2

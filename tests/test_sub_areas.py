"""Areas at two levels: the Area filter, then the sub-areas of the chosen areas; the
commission's table nationally by area, then one area by its sub-areas."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from test_app import count, run_app

from conftest import shown
from layers.analysis import areas as area_rule
from layers.analysis.filters import FILTERS, Choice
from layers.analysis.gaps import level_table


def test_sub_areas_are_named_within_their_area_and_spelled_alike() -> None:
    frame = gpd.GeoDataFrame(
        {
            "admin1": ["Bong", "Bong", "Lofa", "Lofa", "Bong"],
            "admin2": ["Jorquelleh", "JORQUELLEH ", "Central", None, "Central"],
            "source_row": range(2, 7),
        },
        geometry=[shapely.Point(0, 0)] * 5,
        crs="EPSG:4326",
    )
    area = pd.Series(["Bong", "Bong", "Lofa", "Lofa", "Bong"])
    assert area_rule.sub_areas(frame, area).tolist() == [
        "Bong / Jorquelleh",
        "Bong / Jorquelleh",
        "Lofa / Central",  # a district of the same name in two areas stays two
        None,
        "Bong / Central",
    ]
    sub = FILTERS["sub_area"]
    assert isinstance(sub, Choice)
    offered = ["Bong / Central", "Bong / Jorquelleh", "Lofa / Central"]
    assert sub.narrowed(offered, ["Lofa"]) == ["Lofa / Central"]
    assert sub.narrowed(offered, []) == offered


def test_the_tables_go_from_the_nation_to_one_area_by_its_sub_areas(derived) -> None:  # type: ignore[no-untyped-def]
    stations = derived["polling_stations"].assign(
        state=derived["polling_stations"]["coverage_state"]
    )
    national = level_table(stations, stations["area2"])
    assert len(national) == 15 and national["stations"].sum() == len(stations)
    bong = level_table(stations, stations["area2"], "Bong")
    assert bong["stations"].sum() == (stations["area"] == "Bong").sum()
    assert len(bong) > 1 and all(name.startswith("Bong District") for name in bong["area"])


def test_the_sub_area_filter_offers_the_chosen_areas_sub_areas(
    sample_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run_app(sample_folder, monkeypatch)
    every = count(at, "Polling stations")
    assert at.multiselect(key="filter_sub_areas").options  # every sub-area at first
    at.multiselect(key="filter_areas").set_value(["Bong"]).run()
    options = at.multiselect(key="filter_sub_areas").options
    assert options and all(o.startswith("Bong / ") for o in options)
    in_bong = count(at, "Polling stations")
    at.multiselect(key="filter_sub_areas").set_value([options[0]]).run()
    assert not at.exception, at.exception
    in_district = count(at, "Polling stations")
    assert 0 < in_district < in_bong < every
    assert at.query_params["sub_area"] in (options[0], [options[0]])


def test_the_coverage_table_of_one_area_is_by_its_sub_areas(
    sample_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_app import run_coverage

    at = run_coverage(sample_folder, monkeypatch)
    level = at.selectbox(key="cov_level")
    assert level.value is None  # the nation, by area
    level.set_value("Bong").run()
    assert not at.exception, at.exception
    assert any(shown(s.value) == "Bong, by sub-area" for s in at.subheader)  # as shown
    table = next(d.value for d in at.dataframe if "covered_pct" in d.value.columns)
    assert len(table) > 1 and table["area"].str.startswith("Bong District").all()

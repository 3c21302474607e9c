"""Stations outside the country: reported, kept as 'location doubtful', left off the map's
opening frame and out of the coverage figures (layers/geo/outliers.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from layers.analysis import figures
from layers.analysis.gaps import analyse, polling_window
from layers.analysis.kpis import coverage_by_area
from layers.analysis.picture import DerivedCache
from layers.core.settings import Settings
from layers.geo import coverage, outliers
from layers.scene import SceneLoader

COUNTRY = shapely.box(10.0, 5.0, 12.0, 7.0)


def stations(points: list[tuple[float, float] | None]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": [f"S{i}" for i in range(len(points))], "source_row": range(2, len(points) + 2)},
        geometry=[None if p is None else shapely.Point(p) for p in points],
        crs="EPSG:4326",
    )


def test_outside_every_polygon_by_more_than_the_tolerance() -> None:
    areas = gpd.GeoDataFrame({"name": ["A"]}, geometry=[COUNTRY], crs="EPSG:4326")
    frame = stations(
        [
            (11.0, 6.0),  # inside
            (12.05, 6.0),  # 5.5 km east of the border: a coarse polygon, not doubtful
            (12.5, 6.0),  # 55 km out
            (-75.7, 45.4),  # Ottawa
            None,
        ]
    )
    assert outliers.doubtful(frame, areas).tolist() == [False, False, True, True, False]


def test_without_areas_far_from_the_bulk() -> None:
    rng = np.random.default_rng(4)
    bulk = [(float(x), float(y)) for x, y in rng.uniform([10, 5], [12, 7], size=(300, 2))]
    frame = stations([*bulk, (-0.1, 51.5), (13.0, 7.5)])
    flags = outliers.doubtful(frame, gpd.GeoDataFrame(geometry=[], crs="EPSG:4326"))
    assert flags.tolist() == [False] * 300 + [True, False]  # London; 100 km out is the bulk's


def test_a_few_stations_have_no_bulk_to_be_far_from() -> None:
    frame = stations([(10.0, 5.0), (-75.0, 45.0)])
    assert not outliers.doubtful(frame, gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")).any()


@pytest.fixture(scope="module")
def abroad(sample_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample scenario with 1 % of its stations geocoded on other continents."""
    folder = tmp_path_factory.mktemp("abroad")
    for f in sample_folder.iterdir():
        shutil.copy(f, folder / f.name)
    table = pd.read_csv(folder / "polling_stations.csv", dtype=str)
    n = max(1, len(table) // 100)
    foreign = table.sample(n, random_state=1).copy()
    foreign["id"] = [f"ABROAD-{i}" for i in range(n)]
    places = [(45.42, -75.69), (51.50, -0.12), (40.71, -74.0)]  # Ottawa, London, New York
    foreign["latitude"] = [str(places[i % 3][0]) for i in range(n)]
    foreign["longitude"] = [str(places[i % 3][1]) for i in range(n)]
    foreign["registered_voters"] = "5000"  # they would top a list ranked by voters
    pd.concat([table, foreign]).to_csv(folder / "polling_stations.csv", index=False)
    return folder


def test_one_percent_abroad_is_reported_and_counted_apart(
    abroad: Path, sample_folder: Path
) -> None:
    settings = Settings.from_env({"POLLWATCH_FEEDS": str(abroad)})
    scene = SceneLoader(settings).load()
    home = SceneLoader(Settings.from_env({"POLLWATCH_FEEDS": str(sample_folder)})).load()
    table = scene["polling_stations"]
    foreign = table["id"].str.startswith("ABROAD-")
    n = int(foreign.sum())
    assert n >= 10

    # Kept, marked, with the location they gave; not located.
    assert table.loc[foreign, "location_doubtful"].all()
    assert not table.loc[~foreign, "location_doubtful"].any()
    assert table.loc[foreign].geometry.isna().all()
    assert table.loc[foreign, "reported_location"].str.match(r"^\d+\.\d+, -?\d+\.\d+$").all()

    # Reported once with the count and where, and once per row.
    found = [
        p for p in scene.versions["polling_stations"].problems if p.kind == "location_doubtful"
    ]
    summary = found[0]
    assert (
        summary.row is None and f"{n:,} stations lie outside every area polygon" in summary.message
    )
    assert "45°N 75°W" in summary.message and "50°N 0°E" in summary.message
    assert len(found) == n + 1

    # The map opens on the country, as without them.
    assert scene.bounds == home.bounds

    # The coverage figures leave them out and say so.
    derived = DerivedCache().derive(scene)
    headline = figures.of_stations(derived["polling_stations"], "coverage_state")
    assert headline.doubtful == n
    assert f"{n:,} of them with a location outside the country" in figures.definition(
        headline, "now"
    )
    by_area = coverage_by_area(derived["polling_stations"])
    assert by_area["location_doubtful"].sum() == n

    # The commission's list of uncovered stations, ranked by voters, does not start with them.
    window = polling_window(
        settings.polling_date(scene.now), settings.timezone, settings.polling_hours
    )
    analysis = analyse(
        coverage.CoverageModel(scene["polling_stations"]),
        scene["polling_stations"],
        scene["patrols"],
        scene["areas"],
        window,
    )
    listed = analysis.stations[analysis.stations["state"].isin(["uncovered", "partly covered"])]
    top = listed.sort_values("registered_voters", ascending=False).head(50)
    assert not top["id"].str.startswith("ABROAD-").any()
    assert (analysis.stations.loc[foreign.to_numpy(), "state"] == "unknown location").all()

"""Figures of the commission's coverage analysis at national scale (180,000 x 3,000).

    python benchmarks/coverage.py [--folder DIR] [--repeat N]

Prints: the full analysis, a what-if radius change, 10 placement suggestions, and as a
baseline the straightforward geopandas approach (buffer in one UTM zone + sjoin), with
how many stations each classifies differently from exact geodesic distance.
Medians of ``--repeat`` runs. It measures; it does not judge.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from layers.analysis.gaps import Analysis, analyse, polling_window
from layers.analysis.placement import Placement
from layers.analysis.whatif import what_if

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shapely  # noqa: E402
from timing import line, loaded, national_arguments, national_folder, settled, timed  # noqa: E402

from layers.analysis import areas as area_rule  # noqa: E402
from layers.core.settings import Settings  # noqa: E402
from layers.geo import coverage, geodesy  # noqa: E402
from layers.scene import SceneLoader  # noqa: E402


def exact_covered(stations: gpd.GeoDataFrame, bases: gpd.GeoDataFrame) -> np.ndarray:
    """Reference: for every candidate pair within 1.05 x radius on the sphere, pyproj's
    geodesic (point bases) or the local-projection edge distance (compounds)."""
    model = coverage.CoverageModel(stations)
    arrays = coverage.BaseArrays.of(bases)
    hits = model.points.tree.query_ball_point(
        geodesy.unit_vectors(arrays.lon, arrays.lat),
        geodesy.chord((arrays.radius + arrays.extent) * 1.05),
        workers=-1,
    )
    lengths = np.array([len(h) for h in hits])
    s = np.concatenate([np.asarray(h, dtype=np.int64) for h in hits])
    b = np.repeat(np.arange(len(hits)), lengths)
    d = np.empty(len(s))
    point = arrays.is_point[b]
    d[point] = geodesy.distance_m(
        model.lon[s[point]], model.lat[s[point]], arrays.lon[b[point]], arrays.lat[b[point]]
    )
    d[~point] = arrays.distances(model.lon, model.lat, s[~point], b[~point])
    inside = d <= arrays.radius[b]
    out = np.zeros(len(model.lon), dtype=bool)
    out[s[inside]] = True
    return out


def geopandas_baseline(stations: gpd.GeoDataFrame, bases: gpd.GeoDataFrame) -> np.ndarray:
    """Buffer every base by its radius in one UTM zone (the country's centre), sjoin."""
    located = stations[stations.geometry.notna() & ~stations.geometry.is_empty]
    centre = (
        located.geometry.union_all().centroid
        if len(located) < 1000
        else shapely.Point(
            float(np.median(located.geometry.x)), float(np.median(located.geometry.y))
        )
    )
    zone = int((centre.x + 180) // 6) + 1
    crs = f"EPSG:{32700 + zone if centre.y < 0 else 32600 + zone}"
    discs = bases.to_crs(crs)
    discs["geometry"] = discs.geometry.buffer(discs["radius_m"].to_numpy(), quad_segs=16)
    points = located[["geometry"]].to_crs(crs)
    joined = gpd.sjoin(points, discs[["geometry"]], how="inner", predicate="within")
    covered = np.zeros(len(located), dtype=bool)
    covered[np.searchsorted(located.index.to_numpy(), joined.index.unique().to_numpy())] = True
    return covered


def page_reruns(folder: Path) -> None:
    """Server time of the Coverage page (AppTest): first run, then a what-if radius change."""
    import os

    from streamlit.testing.v1 import AppTest

    os.environ["POLLWATCH_FEEDS"] = str(folder)
    at = AppTest.from_file(str(ROOT / "dashboard" / "coverage.py"), default_timeout=600)
    t0 = time.perf_counter()
    settled(at)
    assert not at.exception, at.exception
    line("coverage page, first run (server, cold caches)", f"{time.perf_counter() - t0:.2f} s")
    at.toggle(key="cov_same").set_value(True).run()
    for km in (12.0, 14.0):
        t0 = time.perf_counter()
        at.slider(key="cov_radius").set_value(km).run()
        assert not at.exception, at.exception
        line(
            f"coverage page rerun, radius slider to {km:g} km (server)",
            f"{time.perf_counter() - t0:.2f} s",
        )


def main() -> None:
    parser = national_arguments(__doc__, repeat=3)
    args = parser.parse_args()
    folder = national_folder(args.folder)
    settings = Settings.from_env({"POLLWATCH_FEEDS": str(folder)})
    scene = loaded(SceneLoader(settings))
    stations, bases, areas = scene["polling_stations"], scene["patrols"], scene["areas"]
    events = scene["incidents"]
    recent = events[events["time"] > scene.now - pd.Timedelta(days=7)]
    window = polling_window(settings.polling_date(scene.now), settings.timezone)
    line(
        "rows",
        f"{len(stations):,} stations, {len(bases):,} bases "
        f"({(bases.geom_type != 'Point').sum()} compounds), {len(recent):,} recent incidents",
    )

    model_s, model = timed(lambda: coverage.CoverageModel(stations), args.repeat)
    line("stations prepared once (KD-tree), per stations version", f"{model_s:.2f} s")
    areas_s, station_areas = timed(
        lambda: area_rule.assign(stations, areas, "polling_stations")[0], args.repeat
    )
    line("stations' areas (point in polygon), per stations/areas version", f"{areas_s:.2f} s")
    on_duty = bases[bases["status"] == "active"]
    # Each timed run starts from a fresh model (no nearest-base memo); the stations'
    # KD-tree (timed above) is rebuilt inside too, so these figures include it.
    run_s, run = timed(lambda: coverage.CoverageModel(stations).run(on_duty), args.repeat)
    line("coverage run: every station x every base on duty + nearest", f"{run_s:.2f} s")
    full_s, analysis = timed(
        lambda: analyse(
            coverage.CoverageModel(stations),
            stations,
            bases,
            areas,
            window,
            incidents=recent,
            station_areas=station_areas,
        ),
        args.repeat,
    )
    line("full analysis (coverage, polling hours, areas, incidents, tables)", f"{full_s:.2f} s")
    model.run(on_duty)  # what-if runs below reuse this model, as the page does
    nation = analysis.nation
    line(
        "  national",
        f"{nation['covered']:,.0f} covered, {nation['partly_covered']:,.0f} "
        f"partly, {nation['uncovered']:,.0f} uncovered, {nation['unknown_location']:,.0f} "
        f"unknown; {nation['voters_covered_pct']:.1f}% of voters covered",
    )

    for km in (8.0, 15.0):
        wider = what_if(bases, radius_m=km * 1000)
        arrays = coverage.BaseArrays.of(wider[wider["status"] == "active"])
        what_s, _ = timed(lambda a=arrays: model.pairs(a), args.repeat)
        line(f"what-if radius {km:g} km for all: coverage (nearest unchanged)", f"{what_s:.2f} s")
        full_w, _ = timed(
            lambda w=wider: analyse(
                model, stations, w, areas, window, incidents=recent, station_areas=station_areas
            ),
            1,
        )
        line(f"what-if radius {km:g} km: full analysis again", f"{full_w:.2f} s")

    def with_suggestions(placement: Placement | None) -> Analysis:
        return analyse(
            model,
            stations,
            bases,
            areas,
            window,
            incidents=recent,
            suggest_k=10,
            suggest_radius_m=10_000,
            station_areas=station_areas,
            placement=placement,
        )

    sug_s, with_sugg = timed(lambda: with_suggestions(None), 1)
    picks = with_sugg.suggestions
    line("10 placement suggestions (incl. the analysis and the sites)", f"{sug_s:.2f} s")
    if picks:
        line(
            "  voters / stations newly covered by the 10",
            f"{picks[-1].total_voters:,.0f} / {picks[-1].total_stations:,}",
        )
    place_s, placement = timed(lambda: Placement.around(model, 10_000), args.repeat)
    line(
        "  grid sites x stations, once per stations version and radius",
        f"{place_s:.2f} s ({len(placement.sites):,} grid sites, {placement.matrix.nnz:,} pairs)",
    )
    again_s, _ = timed(lambda: with_suggestions(placement), args.repeat)
    line("10 suggestions with the sites kept (incl. the analysis)", f"{again_s:.2f} s")

    live = bases[(bases["status"] == "active")]
    exact_s, exact = timed(lambda: exact_covered(stations, live), 1)
    base_s, base = timed(lambda: geopandas_baseline(stations, live), args.repeat)
    ours = run.counts > 0
    line("reference: pyproj geodesic on every candidate pair", f"{exact_s:.2f} s")
    line("baseline: geopandas buffer in one UTM zone + sjoin", f"{base_s:.2f} s")
    line(
        "  stations classified differently from the reference",
        f"ours {int((ours != exact).sum())}, baseline {int((base != exact).sum())} "
        f"(of {len(exact):,} located)",
    )
    page_reruns(folder)


if __name__ == "__main__":
    main()

"""Files in the formats people send, dropped into the feed folder under a feed's name and
read with no conversion: shapefiles, zips, GeoPackage, KML/KMZ, GPX, odd GeoJSON, CSV in
every encoding and separator, HXL, Ushahidi, ACLED and UCDP exports. The real ones are
read from ../shared/data/formats/; the others are made here."""

from __future__ import annotations

import codecs
import io
import json
import os
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyproj
import pytest
import shapely

from conftest import kinds, load_text
from layers.core.problems import Level
from layers.core.settings import Settings
from layers.scene import SceneLoader


def loaded(folder: Path, **env: str):  # type: ignore[no-untyped-def]
    """The folder's scene as the app loads it (settings from ``env``)."""
    settings = Settings.from_env({"POLLWATCH_FEEDS": str(folder), "POLLWATCH_SETTLE_S": "0", **env})
    return SceneLoader(settings).load()


def problems_of(scene, feed: str):  # type: ignore[no-untyped-def]
    return scene.versions[feed].problems


def copy_as(source: Path, folder: Path, stem: str) -> None:
    """A file, or every part of a shapefile set, copied into ``folder`` under ``stem``."""
    for part in source.parent.glob(source.stem + ".*"):
        shutil.copy(part, folder / (stem + part.name[len(source.stem) :]))


# ---------------------------------------------------------------- real files


@pytest.mark.realdata
def test_a_shapefile_set_is_read_as_the_areas_feed(shared_data: Path, tmp_path: Path) -> None:
    copy_as(shared_data / "formats/shapefile/lbr_admbnda_adm1_ocha.shp", tmp_path, "areas")
    scene = loaded(tmp_path)
    areas = scene["areas"]
    assert len(areas) == 15  # Liberia's counties
    assert "Lofa" in set(areas["name"]) and "LR08" in set(areas["code"])  # admin1Pcod
    assert areas.geometry.notna().all()
    assert set(areas.geom_type) <= {"Polygon", "MultiPolygon"}
    minx, miny, maxx, maxy = areas.total_bounds
    assert -11.6 < minx < maxx < -7.3 and 4.3 < miny < maxy < 8.6
    # Its other parts (.sbn, .sbx, .shp.xml) belong to it: not listed as unread.
    assert scene.unread == ()


@pytest.mark.realdata
def test_a_changed_part_of_a_shapefile_is_a_new_version(shared_data: Path, tmp_path: Path) -> None:
    copy_as(shared_data / "formats/shapefile/lbr_admbnda_adm1_ocha.shp", tmp_path, "areas")
    settings = Settings.from_env({"POLLWATCH_FEEDS": str(tmp_path), "POLLWATCH_SETTLE_S": "0"})
    loader = SceneLoader(settings)
    first = loader.load()
    with (tmp_path / "areas.cpg").open("a") as cpg:
        cpg.write("\n")
    second = loader.load()
    assert second.versions["areas"].signature != first.versions["areas"].signature
    assert second.versions["areas"].loaded_at > first.versions["areas"].loaded_at
    (tmp_path / "areas.dbf").unlink()
    third = loader.load()
    # Without its attributes the set is not read: the last good copy stays, with the reason.
    assert third.versions["areas"].stale_copy and len(third["areas"]) == 15
    assert any("areas.dbf" in p.message for p in problems_of(third, "areas"))


@pytest.mark.realdata
def test_a_zipped_shapefile_is_read_as_the_areas_feed(shared_data: Path, tmp_path: Path) -> None:
    shutil.copy(
        shared_data / "formats/shapefile/gin_admbnda_adm1_ocha_itos_03082017.zip",
        tmp_path / "areas.zip",
    )
    areas = loaded(tmp_path)["areas"]
    assert len(areas) == 8  # Guinea's regions
    assert {"Conakry", "Kankan"} <= set(areas["name"])
    assert areas["code"].str.startswith("GN").all()


@pytest.mark.realdata
def test_kml_lines_become_routes_and_the_rest_is_reported(
    shared_data: Path, tmp_path: Path
) -> None:
    shutil.copy(
        shared_data / "formats/kml/fastkml__KML_Samples.kml", tmp_path / "convoy_routes.kml"
    )
    scene = loaded(tmp_path)
    routes = scene["convoy_routes"]
    lines = routes[routes.geometry.notna()]
    assert len(lines) >= 5 and set(lines.geom_type) <= {"LineString", "MultiLineString"}
    assert "folder" in routes and "Paths" in set(lines["folder"])  # the KML folder it sat in
    found = kinds(problems_of(scene, "convoy_routes"))
    assert found["wrong_geometry_type"] >= 10  # its points and polygons, each reported


@pytest.mark.realdata
def test_kml_tracks_give_timed_convoy_positions(shared_data: Path, tmp_path: Path) -> None:
    shutil.copy(
        shared_data / "formats/kml/togeojson__gxmultitrack.kml", tmp_path / "convoy_positions.kml"
    )
    scene = loaded(tmp_path)
    pings = scene["convoy_positions"]
    assert len(pings) == 26
    assert pings["time"].notna().all() and pings["time"].dt.year.eq(2014).all()
    assert pings["convoy_id"].notna().all()
    assert pings.geometry.notna().all()
    notes = [p.message for p in problems_of(scene, "convoy_positions")]
    assert any("26 timed points of its tracks" in m for m in notes)


@pytest.mark.realdata
def test_gpx_tracks_waypoints_and_routes(shared_data: Path, tmp_path: Path) -> None:
    gpx = shared_data / "formats/gpx/gpxpy__cerknicko-jezero.gpx"
    shutil.copy(gpx, tmp_path / "convoy_positions.gpx")
    shutil.copy(gpx, tmp_path / "polling_stations.gpx")
    shutil.copy(shared_data / "formats/gpx/togeojson__osm.gpx", tmp_path / "convoy_routes.gpx")
    scene = loaded(tmp_path)
    pings = scene["convoy_positions"]
    assert len(pings) == 296  # every track point, with its time and its track's name
    assert pings["time"].notna().all()
    assert pings["convoy_id"].nunique() > 1
    assert len(scene["polling_stations"]) == 7  # the waypoints
    routes = scene["convoy_routes"]
    assert len(routes) == 3 and routes.geometry.notna().sum() >= 2


@pytest.mark.realdata
def test_odd_geojson_is_read_as_found(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "formats/geojson"
    frame, problems = load_text(
        "polling_stations", "x.seq", (folder / "fiona__trio.seq").read_bytes()
    )
    assert len(frame) == 3  # all three records of the sequence, not the first alone
    assert frame.geometry.notna().sum() == 3  # the line and polygon by their centres
    frame, _ = load_text(
        "polling_stations",
        "x.geojson",
        (folder / "geojsonhint__good-feature.geojson").read_bytes(),
    )
    assert len(frame) == 1 and frame.geometry.iloc[0] is not None
    frame, _ = load_text(
        "polling_stations",
        "x.geojson",
        (folder / "geojsonhint__good-featurecollection-bbox3d.geojson").read_bytes(),
    )
    assert frame.geometry.notna().all() and list(frame.geometry.x) == [102.0, 100.0]  # 3-D
    frame, problems = load_text(
        "polling_stations",
        "x.geojson",
        (folder / "geojsonhint__good-multipoint.geojson").read_bytes(),
    )
    assert len(frame) == 1 and kinds(problems)["wrong_geometry_type"] == 1  # said, not dropped


@pytest.mark.realdata
def test_ucdp_zip_ushahidi_and_old_hxl(shared_data: Path, tmp_path: Path) -> None:
    shutil.copy(
        shared_data / "formats/ucdp/hdx-scraper-ucdp__download.zip", tmp_path / "incidents.zip"
    )
    incidents = loaded(tmp_path)["incidents"]
    assert len(incidents) == 3194 and incidents.geometry.notna().all()
    assert incidents["time"].dt.year.between(1989, 2019).all()
    assert "where_prec" in incidents  # kept for who wants to know how exact a point is

    frame, problems = load_text(
        "incidents",
        "incidents.csv",
        (shared_data / "formats/ushahidi/RNI_download_20160811.csv").read_bytes(),
    )
    assert len(frame) == 35 and frame.geometry.notna().all()
    assert frame["time"].notna().all()  # M/D/YY HH:MM
    assert frame["time"].min() >= pd.Timestamp("2014-01-01", tz="UTC")
    assert kinds(problems)["bad_time"] == 0

    frame, problems = load_text(
        "polling_stations",
        "polling_stations.csv",
        (shared_data / "formats/hxl/hxl-showcase__sbtf-lbr-health.csv").read_bytes(),
    )
    assert len(frame) >= 780  # every row but the cut-off last one
    located = frame[frame.geometry.notna()]
    assert len(located) >= 780  # by the pre-1.0 tags #lat_deg / #lon_deg
    found = kinds(problems)
    assert found["swapped"] + found["out_of_range"] >= 2  # its bad coordinates reported


@pytest.mark.realdata
def test_projected_utf16_list_with_its_crs_declared(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "formats/polling_stations/democracyclub__democracy-counts-utf-16le.csv"
    shutil.copy(source, tmp_path / "polling_stations.csv")
    scene = loaded(tmp_path)
    failure = problems_of(scene, "polling_stations")
    assert scene.versions["polling_stations"].data is None
    assert any("POLLWATCH_CRS=polling_stations=EPSG:" in p.fix for p in failure)

    for how in ("settings", "sidecar"):
        env = {}
        if how == "settings":
            env["POLLWATCH_CRS"] = "polling_stations=EPSG:27700"
        else:
            (tmp_path / "polling_stations.prj").write_text(pyproj.CRS("EPSG:27700").to_wkt())
        stations = loaded(tmp_path, **env)["polling_stations"]
        assert len(stations) >= 33, how
        located = stations[stations.geometry.notna()]
        minx, miny, maxx, maxy = located.total_bounds  # Broxbourne, Hertfordshire
        assert -0.2 < minx < maxx < 0.1 and 51.6 < miny < maxy < 51.8, how


# ---------------------------------------------------------------- made here


def _polygons(names: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"ADM1_EN": names, "ADM1_PCODE": [f"XX{i:02d}" for i in range(len(names))]},
        geometry=[shapely.box(10 + i, 5, 10.9 + i, 6) for i in range(len(names))],
        crs="EPSG:4326",
    )


@pytest.mark.parametrize("encoding", ["cp1252", "UTF-8"])
def test_a_shapefile_without_cpg_has_its_encoding_detected(tmp_path: Path, encoding: str) -> None:
    names = ["Kédougou", "Sédhiou", "Thiès"]
    _polygons(names).to_file(tmp_path / "areas.shp", encoding=encoding)
    (tmp_path / "areas.cpg").unlink(missing_ok=True)
    assert not (tmp_path / "areas.cpg").exists()
    areas = loaded(tmp_path)["areas"]
    assert sorted(areas["name"]) == sorted(names)


def test_a_projected_shapefile_is_reprojected(tmp_path: Path) -> None:
    _polygons(["North", "South"]).to_crs("EPSG:32632").to_file(tmp_path / "areas.shp")
    scene = loaded(tmp_path)
    minx, miny, maxx, maxy = scene["areas"].total_bounds
    assert 9.9 < minx < maxx < 12 and 4.9 < miny < maxy < 6.1
    assert any("reprojected" in p.message for p in problems_of(scene, "areas"))


def test_a_geopackage_layer_by_geometry_or_by_settings(tmp_path: Path) -> None:
    path = tmp_path / "areas.gpkg"
    points = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.Point(10, 5)], crs="EPSG:4326")
    points.to_file(path, layer="towns")
    _polygons(["One", "Two"]).to_file(path, layer="regions")
    _polygons(["Three", "Four", "Five"]).to_file(path, layer="provinces")
    scene = loaded(tmp_path)
    assert sorted(scene["areas"]["name"]) == ["One", "Two"]  # the first layer of polygons
    said = [p for p in problems_of(scene, "areas") if "3 layers" in p.message]
    assert said and "POLLWATCH_LAYERS=areas=" in said[0].fix
    assert sorted(loaded(tmp_path, POLLWATCH_LAYERS="areas=provinces")["areas"]["name"]) == [
        "Five",
        "Four",
        "Three",
    ]
    scene = loaded(tmp_path, POLLWATCH_LAYERS="areas=districts")
    assert scene.versions["areas"].data is None
    assert "no layer 'districts'" in problems_of(scene, "areas")[0].message


KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Folder><name>North</name>
<Placemark><name>PS-1 &lt;b&gt;school&lt;/b&gt;</name><ExtendedData>
<Data name="registered_voters"><value>812</value></Data></ExtendedData>
<Point><coordinates>10.5,5.5,0</coordinates></Point></Placemark>
<Placemark><name>PS-2</name><Point><coordinates>10.6,5.6</coordinates></Point></Placemark>
</Folder></Document></kml>"""


def test_a_kmz_with_extended_data(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as kmz:
        kmz.writestr("doc.kml", KML)
    (tmp_path / "polling_stations.kmz").write_bytes(buffer.getvalue())
    stations = loaded(tmp_path)["polling_stations"]
    assert list(stations["name"]) == ["PS-1 <b>school</b>", "PS-2"]  # text, as written
    assert stations["registered_voters"].tolist()[0] == 812


def test_a_billion_laughs_kml_is_refused_not_expanded(tmp_path: Path) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        '<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2">'
        "<Placemark><name>&c;</name><gx:Track><when>2026-10-11T10:00:00Z</when>"
        "<gx:coord>10 5 0</gx:coord></gx:Track></Placemark></kml>"
    )
    (tmp_path / "convoy_positions.kml").write_text(bomb)
    scene = loaded(tmp_path)
    assert scene.versions["convoy_positions"].data is None  # refused, with a reason
    assert problems_of(scene, "convoy_positions")[0].level == Level.ERROR


def test_geojson_sequences_bare_geometry_and_nested_properties(tmp_path: Path) -> None:
    feature = {
        "type": "Feature",
        "properties": {"site": {"code": "S-9", "name": "Market"}, "registered_voters": 400},
        "geometry": {"type": "Point", "coordinates": [10.5, 5.5, 320.0]},
    }
    rs = "".join("\x1e" + json.dumps({**feature, "id": i}) + "\n" for i in range(3))
    frame, problems = load_text("polling_stations", "p.geojsons", rs + '\x1e{"type": "Fea')
    assert len(frame) == 3  # the cut-off last record reported, the others kept
    assert kinds(problems)["unparseable"] == 1
    assert frame["site_code"].tolist() == ["S-9"] * 3  # site.code, flattened
    assert frame["id"].tolist() == ["0", "1", "2"]  # the features' own ids
    lines = "\n".join(json.dumps({**feature, "id": i}) for i in range(2))
    frame, _ = load_text("polling_stations", "p.geojsonl", lines)
    assert len(frame) == 2
    bare = json.dumps({"type": "LineString", "coordinates": [[10, 5], [11, 6]]})
    frame, _ = load_text("convoy_routes", "r.geojson", bare)
    assert len(frame) == 1 and frame.geometry.iloc[0].geom_type == "LineString"


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-8", b""),
        ("utf-8", codecs.BOM_UTF8),
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-le", b""),
        ("utf-16-be", codecs.BOM_UTF16_BE),
        ("cp1252", b""),
        ("latin-1", b""),
    ],
)
@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_csv_in_every_encoding_and_separator(encoding: str, bom: bytes, sep: str) -> None:
    rows = [
        ["id", "name", "county", "latitude", "longitude"],
        ["PS-1", "École Sainte-Thérèse", "Nîmes", "5.5", "10.5"],
        ["PS-2", "Marché; centre", "Brûlé", "5.6", "10.6"],
    ]
    quoted = [[f'"{c}"' if sep in c else c for c in row] for row in rows]
    text = "\r\n".join(sep.join(row) for row in quoted) + "\r\n"
    frame, problems = load_text(
        "polling_stations", "polling_stations.csv", bom + text.encode(encoding)
    )
    assert list(frame["name"]) == ["École Sainte-Thérèse", "Marché; centre"]
    assert list(frame["admin1"]) == ["Nîmes", "Brûlé"]
    assert frame.geometry.notna().all()
    assert not [p for p in problems if p.level == Level.ERROR]


ACLED_OLD = (
    "EVENT_ID_CNTY,EVENT_DATE,YEAR,EVENT_TYPE,ACTOR1,ASSOC_ACTOR_1,INTER1,ACTOR2,INTER2,"
    "COUNTRY,ADMIN1,LOCATION,LATITUDE,LONGITUDE,SOURCE,NOTES,FATALITIES\n"
)
ACLED_NEW = (
    "event_id_cnty,event_date,year,disorder_type,event_type,sub_event_type,actor1,"
    "assoc_actor_1,inter1,actor2,inter2,country,admin1,admin2,location,latitude,longitude,"
    "source,notes,fatalities\n"
)


@pytest.mark.parametrize("schema", ["old", "new"])
def test_acled_one_row_per_actor_is_one_incident_per_event(schema: str) -> None:
    lines = [ACLED_OLD if schema == "old" else ACLED_NEW]
    for i in range(40):
        for actor in ("Police Forces of Nigeria (2015-2023)", "Rioters (Nigeria)"):
            if schema == "old":
                lines.append(
                    f"NIG{i},0{i % 9 + 1}/03/2018,2018,Riots,{actor},,5,,0,Nigeria,Lagos,"
                    f"Ikeja,6.6{i % 10},3.35,Punch,clash <b>{i}</b>,{i % 3}\n"
                )
            else:
                lines.append(
                    f"NGA{i},2019-12-{i % 28 + 1:02d},2019,Political violence,Riots,Mob violence,"
                    f"{actor},,5,,0,Nigeria,Kano,Kano Municipal,Kano,12.0{i % 10},8.5,Daily Trust,"
                    f"clash {i},{i % 3}\n"
                )
    lines.append(lines[1].replace("clash", "other clash"))  # a real repeated id: reported
    frame, problems = load_text("incidents", "incidents.csv", "".join(lines))
    assert len(frame) == 40
    assert frame["actor1"].iloc[0] == "Police Forces of Nigeria (2015-2023); Rioters (Nigeria)"
    found = kinds(problems)
    assert found["one_row_per_actor"] == 1 and found["duplicate_id"] == 1
    note = next(p for p in problems if p.kind == "one_row_per_actor")
    assert (
        "81 rows list 41 events" in note.message
    )  # the repeated id differs: its own and note.level == Level.NOTICE
    assert frame["time"].notna().all()


def test_ushahidi_v3_export() -> None:
    text = (
        "Post ID,Survey,Post Status,Created (UTC),Updated (UTC),Post date (UTC),Title,"
        "Description,Location of incident.lat,Location of incident.lon,Type of incident\n"
        "101,Election watch,published,2026-10-11 08:00:00,2026-10-11 08:05:00,"
        "2026-10-11 07:55:00,Ballot box seized,Men took the box,6.31,-10.80,Violence\n"
        "102,Election watch,published,2026-10-11 09:00:00,,2026-10-11 08:40:00,"
        "Queue blocked,,6.29,-10.77,Intimidation\n"
    )
    frame, problems = load_text("incidents", "incidents.csv", text)
    assert list(frame["id"]) == ["101", "102"]
    assert frame["time"].notna().all() and frame.geometry.notna().all()
    assert round(frame.geometry.iloc[0].y, 2) == 6.31


def test_a_folder_of_good_odd_and_bad_files(tmp_path: Path) -> None:
    (tmp_path / "polling_stations.csv").write_text("id,latitude,longitude\nPS-1,5.5,10.5\n")
    _polygons(["One", "Two"]).to_file(tmp_path / "areas.shp")
    (tmp_path / "incidents.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    (tmp_path / "incidents_old.csv").write_text("id,time\n")
    (tmp_path / "patrols.dbf").write_bytes(b"\x03 orphan part")
    (tmp_path / "notes.docx").write_bytes(b"\x00\x01")
    (tmp_path / "polling_stations.geojson.bak").write_text("{}")
    (tmp_path / "archive").mkdir()
    (tmp_path / "convoy_routes.kml").write_text("<kml><Document><Placemark>cut sh")
    (tmp_path / ".~lock.polling_stations.csv#").write_text("x")  # an editor's lock: hidden
    scene = loaded(tmp_path)
    assert len(scene["polling_stations"]) == 1 and len(scene["areas"]) == 2
    reasons = dict(scene.unread)
    assert set(reasons) == {
        "incidents.xlsx",
        "incidents_old.csv",
        "patrols.dbf",
        "notes.docx",
        "polling_stations.geojson.bak",
        "archive/",
    }
    assert "not a format the dashboard reads" in reasons["incidents.xlsx"]
    assert "rename it" in reasons["incidents_old.csv"]
    assert "without its patrols.shp" in reasons["patrols.dbf"]
    # A file of a feed that cannot be read is a failed feed, with its reason.
    routes = scene.versions["convoy_routes"]
    assert routes.data is None and routes.problems[0].level == Level.ERROR
    assert "convoy_routes.kml" in str(routes.problems[0])


def test_hxl_with_a_preamble_above_its_header() -> None:
    text = (
        "Polling stations of the 2026 election,,\n"
        "Source: the commission; updated 11 Oct,,\n"
        "\n"
        "Station,Lat,Lon\n"
        "#loc+name,#geo+lat,#geo+lon\n"
        "Market,6.3,-10.8\n"
        "School,6.4,-10.7\n"
    )
    frame, problems = load_text("polling_stations", "polling_stations.csv", text)
    assert list(frame["name"]) == ["Market", "School"]
    assert frame.geometry.notna().all()
    said = [p for p in problems if p.kind == "preamble"]
    assert len(said) == 1 and "2 row(s) above the header" in said[0].message
    assert list(frame["source_row"]) == [6, 7]  # as a spreadsheet numbers them


@pytest.mark.parametrize(
    "columns",
    [
        ("state_name", "lga_name", "ward_name"),  # Nigeria's commission
        ("county", "constituency", "ward"),  # Kenya's
        ("ADM1_EN", "ADM2_EN", "ADM3_EN"),  # OCHA COD
        ("admin1Name", "admin2Name", "admin3Name"),
        ("#adm1+name", "#adm2+name", "#adm3+name"),
    ],
)
def test_the_area_columns_people_use_at_three_levels(columns: tuple[str, str, str]) -> None:
    head = ",".join(["pu_code", *columns, "latitude", "longitude"])
    text = f"{head}\nNG-01,Kano,Nassarawa,Gama,12.0,8.5\nNG-02,Lagos,Ikeja,Alausa,6.6,3.35\n"
    frame, _ = load_text("polling_stations", "polling_stations.csv", text)
    assert list(frame["admin1"]) == ["Kano", "Lagos"]
    assert list(frame["admin2"]) == ["Nassarawa", "Ikeja"]
    assert list(frame["admin3"]) == ["Gama", "Alausa"]


@pytest.mark.parametrize(
    ("name", "spoil"),
    [
        ("areas.zip", lambda data: data[: len(data) // 2]),  # a copy cut short
        ("areas.gpkg", lambda data: data[:4096]),
        ("areas.zip", lambda data: os.urandom(len(data))),  # garbage under the same name
    ],
)
def test_a_gis_file_cut_short_or_garbage_keeps_the_last_good_copy(
    tmp_path: Path, name: str, spoil: Callable[[bytes], bytes]
) -> None:
    made = tmp_path / "made"
    made.mkdir()
    if name.endswith(".gpkg"):
        _polygons(["One", "Two"]).to_file(made / name, layer="regions")
        good = (made / name).read_bytes()
    else:
        parts = [(p.name, p.read_bytes()) for p in _shapefile(made)]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for part, data in parts:
                archive.writestr(part, data)
        good = buffer.getvalue()
    (tmp_path / name).write_bytes(good)
    settings = Settings.from_env({"POLLWATCH_FEEDS": str(tmp_path), "POLLWATCH_SETTLE_S": "0"})
    loader = SceneLoader(settings)
    assert len(loader.load()["areas"]) == 2
    (tmp_path / name).write_bytes(spoil(good))
    scene = loader.load()
    version = scene.versions["areas"]
    assert version.stale_copy and len(scene["areas"]) == 2  # the last good copy stays
    assert version.problems[0].kind == "kept_last_good"
    assert any(p.level == Level.ERROR for p in version.problems[1:])


def _shapefile(folder: Path) -> list[Path]:
    _polygons(["One", "Two"]).to_file(folder / "export.shp")
    return sorted(folder.glob("export.*"))

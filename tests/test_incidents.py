"""Incidents: our feed, ACLED and UCDP exports, severity, categories, time windows."""

from __future__ import annotations

import pandas as pd

from conftest import kinds, load_text
from layers import incidents
from layers.scene import Scene

ACLED = """\
event_id_cnty,event_date,year,event_type,sub_event_type,admin1,admin2,latitude,longitude,notes,fatalities,source
LBR1,31 December 2020,2020,Riots,Mob violence,Montserrado,Greater Monrovia,6.3,-10.8,"Clashes near a polling centre",0,Front Page Africa
LBR2,2020-12-30,2020,Violence against civilians,Attack,Nimba,Sanniquellie-Mahn,7.36,-8.71,Two killed,2,Daily Observer
LBR3,30/12/2020,2020,Battles,Armed clash,Lofa,Voinjama,8.42,-9.75,,12,Local radio
"""


def test_acled_export_loads_as_it_is() -> None:
    frame, problems = load_text("incidents", "acled.csv", ACLED)
    assert frame["time"].tolist() == [
        pd.Timestamp("2020-12-31T00:00Z"),
        pd.Timestamp("2020-12-30T00:00Z"),
        pd.Timestamp("2020-12-30T00:00Z"),
    ]
    assert frame["type"].tolist()[0] == "Riots" and frame["sub_type"][0] == "Mob violence"
    assert frame["description"][0] == "Clashes near a polling centre"
    assert frame["admin1"].tolist() == ["Montserrado", "Nimba", "Lofa"]
    assert frame["severity"].tolist() == ["low", "high", "critical"]
    assert set(frame["severity_source"]) == {"derived"}
    assert kinds(problems)["derived_severity"] == 1


def test_reported_severity_is_kept() -> None:
    text = "id,time,type,severity,fatalities,lat,lon\nI1,2026-10-11T10:00Z,Protest,critical,0,6.3,-10.8\n"
    frame, _ = load_text("incidents", "i.csv", text)
    assert frame["severity"][0] == "critical" and frame["severity_source"][0] == "reported"


def test_categories_and_time_window() -> None:
    text = (
        "id,time,type,severity,lat,lon\n"
        "I1,2026-10-11T11:30Z,Armed attack,high,6.3,-10.8\n"
        "I2,2026-10-10T11:30Z,Protest,low,6.3,-10.8\n"
        "I3,2026-10-11T13:00Z,Intimidation of voters,medium,6.3,-10.8\n"
    )
    frame, _ = load_text("incidents", "i.csv", text)
    now = pd.Timestamp("2026-10-11T12:00Z")
    derived = incidents.derive(frame, Scene({}, now=now))
    assert derived["category"].tolist() == ["violence", "unrest", "intimidation"]
    assert incidents.age_hours(derived, now).tolist() == [0.5, 24.5, -1.0]
    assert incidents.in_window(derived, now, 6)["id"].tolist() == ["I1"]
    assert incidents.in_window(derived, now, 48)["id"].tolist() == ["I1", "I2"]


def test_render_styles_by_severity_and_category() -> None:
    text = (
        "id,time,type,severity,lat,lon\n"
        "I1,2026-10-11T11:30Z,Armed attack,critical,6.3,-10.8\n"
        "I2,2026-10-11T11:30Z,Protest,low,6.4,-10.8\n"
    )
    frame, _ = load_text("incidents", "i.csv", text)
    derived = incidents.derive(frame, Scene({}, now=pd.Timestamp("2026-10-11T12:00Z")))
    layer = next(iter(incidents.render(derived)._children.values()))
    data = layer.options["source"]
    assert data["t"][0] == int(pd.Timestamp("2026-10-11T11:30Z").timestamp())
    styles = [layer.options["styles"][s] for s in data["s"]]
    assert styles[0]["fillColor"] == incidents.SEVERITY_FILL["critical"]
    assert styles[0]["color"] == incidents.CATEGORY_EDGE["violence"]
    assert styles[1]["fillColor"] == incidents.SEVERITY_FILL["low"]
    assert styles[1]["color"] == incidents.CATEGORY_EDGE["unrest"]
    assert styles[0]["radius"] > styles[1]["radius"]

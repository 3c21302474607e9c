"""The after-action review (layers/analysis/after_action.py): a simulated election day
kept in the history store, reviewed, and checked against the simulator's own files and
faults, computed another way."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pandas as pd
import pytest
from pypdf import PdfReader

from conftest import history_of_a_day
from layers.analysis import after_action
from layers.core.settings import Settings
from layers.exercise.simulator import Simulator
from layers.geo import coverage, geodesy
from layers.replay import days_kept, review_of, scene_at
from layers.views import review as review_views

DAY = dt.date(2026, 11, 29)
START = pd.Timestamp("2026-11-29T04:00:00Z")
STEP_S = 1200  # twenty minutes
STEPS = 45  # to 19:00


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Simulator]:
    """A day of the simulator, each step kept at its own time; a feed failed 10:00-10:30."""
    root = tmp_path_factory.mktemp("day")
    sim, history = history_of_a_day(root, START, STEPS, STEP_S)
    fresh = {"incidents": ("fresh", None), "patrols": ("fresh", None)}
    history.note_states(START.timestamp(), fresh)
    failed = {**fresh, "incidents": ("failed", "incidents.csv: cut short")}
    history.note_states(pd.Timestamp("2026-11-29T10:00Z").timestamp(), failed)
    history.note_states(pd.Timestamp("2026-11-29T10:05Z").timestamp(), failed)  # no change
    history.note_states(pd.Timestamp("2026-11-29T10:30Z").timestamp(), fresh)
    history.flush()
    settings = Settings.from_env({"POLLWATCH_FEEDS": str(sim.out), "POLLWATCH_HISTORY": str(root)})
    return settings, sim


@pytest.fixture(scope="module")
def reviewed(day: tuple[Settings, Simulator]) -> after_action.Review:
    settings, _ = day
    made = review_of(settings, DAY, pd.Timestamp("2026-12-01T00:00Z"))
    assert made is not None
    return made


def test_the_days_incidents_are_those_of_the_feed_counted_by_hour_and_area(
    day: tuple[Settings, Simulator], reviewed: after_action.Review
) -> None:
    _, sim = day
    raw = pd.read_csv(sim.out / "incidents.csv", dtype=str)
    times = pd.to_datetime(raw["time"], utc=True, errors="coerce", format="mixed")
    in_day = raw[(times >= START.normalize()) & (times < START.normalize() + pd.Timedelta(days=1))]
    figures = dict(reviewed.figures)
    assert figures["Incidents"] == f"{len(in_day):,}"
    assert reviewed.timeline["incidents"].sum() == len(in_day)
    assert reviewed.by_area["incidents"].sum() == len(in_day)
    serious = in_day["severity"].str.lower().isin(["high", "critical"]).sum()
    assert len(reviewed.serious) == serious > 0
    assert list(reviewed.serious["time"]) == sorted(reviewed.serious["time"])


def test_each_serious_incident_gets_the_nearest_base_on_duty_at_its_time(
    day: tuple[Settings, Simulator], reviewed: after_action.Review
) -> None:
    settings, _ = day
    kept = reviewed.serious[reviewed.serious["time"] >= START]  # the history began at 04:00
    assert len(kept) and kept["patrol"].notna().all()
    before = reviewed.serious[reviewed.serious["time"] < START]
    assert before["patrol"].isna().all()  # nothing kept then: said as unknown, not guessed
    now = scene_at(settings, pd.Timestamp("2026-11-29T19:00Z"))
    assert now is not None
    bases, incidents = now["patrols"], now["incidents"].set_index("id")
    for row in kept.head(15).itertuples():
        on_duty = coverage.active_bases(bases, row.time)
        point = incidents.loc[row.id].geometry
        # Another way: the distance to every base on duty (a compound's edge), the least.
        metres = np.array(
            [
                geodesy.distance_to_shape_m(base, np.array([point.x]), np.array([point.y]))[0]
                for base in on_duty.geometry
            ]
        )
        nearest = int(np.argmin(metres))
        assert row.patrol == on_duty["id"].iloc[nearest]
        assert row.distance_km == pytest.approx(metres[nearest] / 1000, abs=0.01)
        radius = on_duty["radius_m"].iloc[nearest]
        assert row.reaches == (metres[nearest] <= radius)


def test_the_convoys_the_simulator_sent_astray_and_silent_raise_their_alerts(
    day: tuple[Settings, Simulator], reviewed: after_action.Review
) -> None:
    _, sim = day
    table = reviewed.convoys.set_index("convoy_id")
    astray, silent = sim.convoys[0], sim.convoys[1]
    assert astray.off_route and silent.silent
    assert "off route from" in table.loc[astray.convoy_id, "alerts"]
    assert "position stale from" in table.loc[silent.convoy_id, "alerts"]
    assert pd.isna(table.loc[silent.convoy_id, "arrived"])
    arrived = table[table["arrived"].notna()]
    assert len(arrived)
    for _, row in arrived.iterrows():
        assert row["outcome"].startswith("arrived")
        assert row["delay_min"] == round(
            (row["arrived"] - row["planned_arrival"]).total_seconds() / 60
        )


def test_coverage_through_polling_hours_is_that_of_the_bases_on_shift_each_hour(
    day: tuple[Settings, Simulator], reviewed: after_action.Review
) -> None:
    settings, _ = day
    table = reviewed.coverage
    assert list(table["local"]) == [f"{h:02d}:00" for h in range(7, 19)]
    live = scene_at(settings, pd.Timestamp("2026-11-29T19:00Z"))
    assert live is not None
    stations, bases = live["polling_stations"], live["patrols"]
    for row in table.itertuples():
        found = coverage.coverage(stations, bases, at=row.time)["covered"]
        known = found.dropna().astype(bool)
        assert row.covered_pct == pytest.approx(100 * known.mean())
    assert table["covered_pct"].nunique() > 1  # the shifts change it through the day


def test_stations_that_opened_short_are_judged_by_what_had_happened_by_opening(
    day: tuple[Settings, Simulator], reviewed: after_action.Review
) -> None:
    _, sim = day
    short = reviewed.opened_short
    assert len(short)
    events = pd.read_csv(sim.out / "deliveries.csv", dtype=str)
    events["time"] = pd.to_datetime(events["time"], utc=True, errors="coerce", format="mixed")
    opening = reviewed.polls[0]
    later = events[(events["time"] > opening) & (events["state"] == "receipt_signed")]
    # A station signed for after opening had not everything when it opened.
    caught = set(later["station_id"]) & set(short["station"])
    assert caught
    assert (short.set_index("station").loc[list(caught), "materials"] != "all delivered").all()


def test_outages_are_the_periods_a_feed_was_failed_as_the_screens_showed(
    reviewed: after_action.Review,
) -> None:
    table = reviewed.outages
    assert list(table["feed"]) == ["Incidents"]
    row = table.iloc[0]
    assert row["state"] == "failed" and row["minutes"] == 30.0
    assert row["note"] == "incidents.csv: cut short"
    assert dict(reviewed.figures)["Feed outage and stale minutes"] == "30"


def test_a_day_the_history_does_not_hold_says_so_and_shows_no_figure(
    day: tuple[Settings, Simulator],
) -> None:
    settings, _ = day
    assert days_kept(settings, pd.Timestamp("2026-11-30T12:00Z")) == [
        dt.date(2026, 11, 30),
        DAY,
    ]
    before = review_of(settings, dt.date(2026, 11, 20), pd.Timestamp("2026-12-01T00:00Z"))
    assert before is not None
    assert before.figures == [] and "holds nothing" in before.notes[0]
    assert not len(before.serious) and not len(before.coverage)


def test_the_pdf_holds_every_section_and_feed_text_as_text(
    reviewed: after_action.Review,
) -> None:
    serious = reviewed.serious.copy()
    serious.loc[serious.index[0], "type"] = "<b>Armed</b> & <script>x</script>"
    hostile = after_action.Review(**{**reviewed.__dict__, "serious": serious})
    data = review_views.pdf(hostile, "tester (Operations)", [])
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    *tables, (_, versions) = review_views.sections(reviewed)
    for title, _ in tables:
        assert title.split(",")[0][:30] in text.replace("\n", " ")
    assert "feed\nversions\nfirst\nlast" in text  # on the cover: what the history kept
    assert "<b>Armed</b> & <script>x</script>" in text.replace("\n", " ")
    assert "RESTRICTED" in text and "SYNTHETIC EXERCISE" in text


def test_the_review_charts_pass_plotly_s_checks_and_stack_low_first(
    reviewed: after_action.Review,
) -> None:
    import plotly.graph_objects as go

    from layers.views import charts

    timeline = charts.review_timeline(reviewed.timeline)
    assert [t.name for t in timeline.data] == ["low", "medium", "high", "critical"]
    for fig in (timeline, charts.review_coverage(reviewed.coverage)):
        go.Figure(fig.to_dict())  # raises on an unknown or invalid property
    empty = reviewed.timeline.iloc[0:0]
    assert "No incidents" in charts.review_timeline(empty).layout.annotations[0].text
    assert any("last version kept this day was taken at 19:00" in n for n in reviewed.notes)

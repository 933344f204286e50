"""The register and its exports over the API: each as CSV and XLSX holding
exactly the rows the person may see, the census's check, attendance codes
over a date range, and every export audited."""
from __future__ import annotations

import io
import json
from datetime import datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import select

from apflow import samples
from store.exports import ExportEvent

from .conftest import GOVERNOR, LEAD, OPS, OTHER_LEAD, headers, rows_of

PLACEMENT_EXPORTS = ("/api/register", "/api/register/la-notice", "/api/register/census")


def as_read(fmt: str):
    """A day as the file reads back: ISO text in CSV, a date cell (a datetime to openpyxl) in XLSX."""
    return (lambda d: d.isoformat()) if fmt == "csv" else (lambda d: datetime(d.year, d.month, d.day))


def audit(engine) -> list:
    with engine.connect() as conn:
        return list(conn.execute(select(*ExportEvent.__table__.c).order_by(ExportEvent.id)))


async def mark(api, world) -> None:
    """Two weeks of marks for the running placement at 137000 (Mondays and
    Wednesdays) and the other school's, through the register's own route."""
    mon = world["term"].first
    days = [mon, mon + timedelta(days=2), mon + timedelta(days=7)]
    marks = [{"placement_id": world["running"].placement_id, "day": d.isoformat(), "session": s, "code": c}
             for d, c in zip(days, ("B", "N", "B")) for s in ("am", "pm")]
    r = await api.http.post("/api/attendance", json={"source": "provider", "marks": marks}, headers=headers(LEAD))
    assert r.status_code == 200, r.text
    other = [{"placement_id": world["other"].placement_id, "day": mon.isoformat(), "session": "am", "code": "B"}]
    r = await api.http.post("/api/attendance", json={"source": "provider", "marks": other}, headers=headers(OPS))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("path", PLACEMENT_EXPORTS)
async def test_each_export_holds_exactly_the_placements_the_person_may_see(api, world, path, fmt):
    school = {world["running"].placement_id, world["closed"].placement_id}
    for who, expected in ((LEAD, school), (GOVERNOR, school), (OTHER_LEAD, {world["other"].placement_id}),
                          (OPS, school | {world["other"].placement_id})):
        rows = rows_of(await api.http.get(f"{path}.{fmt}", headers=headers(who)), fmt)
        assert sorted(r["placement_id"] for r in rows) == sorted(expected), (who.user_id, rows)
    narrowed = rows_of(await api.http.get(f"{path}.{fmt}", headers=headers(OPS),
                                          params={"school_id": "137001"}), fmt)
    assert [r["placement_id"] for r in narrowed] == [world["other"].placement_id]
    closed = rows_of(await api.http.get(f"{path}.{fmt}", headers=headers(OPS), params={"state": "closed"}), fmt)
    assert [r["placement_id"] for r in closed] == [world["closed"].placement_id]


async def test_another_schools_export_is_refused_naming_why_and_nothing_is_recorded(api, world, engine):
    for path in (*PLACEMENT_EXPORTS, "/api/register/attendance"):
        params = {"school_id": "137001", "from": "2026-01-01", "to": "2026-12-31"}
        r = await api.http.get(f"{path}.csv", headers=headers(LEAD), params=params)
        assert r.status_code == 403 and "you hold no role at school 137001" in r.json()["detail"], r.text
    assert audit(engine) == []


@pytest.mark.parametrize("params, field", [
    ({"state": "finished"}, "state"), ({"kind": "holiday"}, "kind"), ({"school_id": "13700"}, "school_id"),
    ({"provider": "x" * 201}, "provider"), ({"overdue": "perhaps"}, "overdue"),
])
async def test_a_malformed_filter_is_refused_naming_the_field(api, world, params, field):
    r = await api.http.get("/api/register/census.xlsx", headers=headers(OPS), params=params)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", field], r.text


async def test_an_unknown_format_or_no_identity_is_refused(api, world):
    assert (await api.http.get("/api/register/census.pdf", headers=headers(OPS))).status_code == 422
    assert (await api.http.get("/api/register/census.csv")).status_code == 401


async def test_the_register_keeps_progress_achievements_destination_and_the_pupils_view(api, world):
    r = await api.http.get("/api/register", headers=headers(LEAD), params={"limit": 1})
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["total"] == 2 and len(first["items"]) == 1 and first["next_cursor"]
    nxt = (await api.http.get("/api/register", headers=headers(LEAD), params={"limit": 1, "cursor": first["next_cursor"]})).json()
    entries = {e["placement_id"]: e for e in first["items"] + nxt["items"]}
    c = entries[world["closed"].placement_id]
    assert c["state"] == "closed" and c["end_date"] == world["term"].first_end.isoformat()
    assert c["achievements"] == "Entry level 3 certificate in maths"
    assert c["final_report"] == "Good progress against all objectives."
    assert c["pupil_view"] == "It helped me calm down and I want to go back."
    assert c["destination"].startswith("Home school: Nexus Valley Academy")
    assert c["progress"] == samples.review(world["term"].first).record  # the last review's record
    t = (await api.http.get("/api/register", headers=headers(OTHER_LEAD))).json()["items"][0]
    assert t["state"] == "terminated" and t["destination"].startswith("Another school: Nexus Dale Academy")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_the_census_return_holds_its_fields(api, world, fmt):
    rows = {r["placement_id"]: r for r in rows_of(await api.http.get(f"/api/register/census.{fmt}", headers=headers(OPS)), fmt)}
    blank = "" if fmt == "csv" else None
    day = as_read(fmt)
    running, closed, other = rows[world["running"].placement_id], rows[world["closed"].placement_id], rows[world["other"].placement_id]
    assert (running["provider_urn"], running["provider_ukprn"], running["setting_type"]) == (blank, "10012345", blank)
    assert (closed["provider_urn"], closed["provider_ukprn"], closed["setting_type"]) == ("131999", blank, blank)
    assert (other["provider_urn"], other["provider_ukprn"], other["setting_type"]) == (blank, blank, "ONLINE")
    assert running["entry_date"] == day(world["term"].first)
    assert closed["leaving_date"] == day(world["term"].first_end) and other["leaving_date"] == day(world["term"].second)
    assert [r["primary_reason"] for r in (running, closed, other)] == ["BEHAVIOUR", "SEND", "HEALTH"]
    assert (running["full_or_part_time"], closed["full_or_part_time"]) == ("part time", "full time")
    assert [str(r["sessions_per_week"]) for r in (running, closed)] == ["4", "10"]
    assert closed["upn"] == "A12345678901B"


async def test_the_census_flags_each_row_with_both_a_urn_and_a_ukprn_and_exports_nothing(api, world, engine):
    from tests.attendance.conftest import active_placement, put

    both = put(engine, active_placement(world["term"].first, census_reason="OTHER",
                                        pupil=world["running"].pupil.model_copy(update={"pupil_id": "P-0004", "name": "Lee Both"}),
                                        provider=samples.provider(name="Twofold Tutors", urn="139000")))
    for fmt in ("csv", "xlsx"):
        r = await api.http.get(f"/api/register/census.{fmt}", headers=headers(LEAD))
        assert r.status_code == 409, r.text
        detail = r.json()["detail"]
        assert "nothing was exported" in detail["message"]
        (problem,) = detail["problems"]
        assert problem["placement_id"] == both.placement_id and problem["school_id"] == "137000"
        assert "a URN and a UKPRN" in problem["message"] and "§8.1" in problem["clause"]
        assert "Lee Both" not in r.text  # named by id, never by the pupil
    checked = (await api.http.get("/api/register/census/problems", headers=headers(LEAD))).json()
    assert [p["placement_id"] for p in checked] == [both.placement_id]
    assert audit(engine) == []  # a refused export is no export
    # The other school's return is not held up by it, nor is one filtered to the sound rows.
    assert len(rows_of(await api.http.get("/api/register/census.csv", headers=headers(OTHER_LEAD)), "csv")) == 1
    sound = await api.http.get("/api/register/census.csv", headers=headers(LEAD), params={"provider": "bridgeway"})
    assert [r["placement_id"] for r in rows_of(sound, "csv")] == [world["running"].placement_id]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_attendance_over_a_date_range_comes_with_its_codes(api, world, fmt):
    await mark(api, world)
    mon = world["term"].first
    week = {"from": mon.isoformat(), "to": (mon + timedelta(days=4)).isoformat()}
    rows = rows_of(await api.http.get(f"/api/register/attendance.{fmt}", headers=headers(LEAD), params=week), fmt)
    day = as_read(fmt)
    pid = world["running"].placement_id
    assert [(r["placement_id"], r["day"], r["session"], r["code"]) for r in rows] == [
        (pid, day(mon), "am", "B"), (pid, day(mon), "pm", "B"),
        (pid, day(mon + timedelta(days=2)), "am", "N"), (pid, day(mon + timedelta(days=2)), "pm", "N"),
    ]  # the other school's mark and the second week's are not in it
    assert rows[0]["counts_as"] == "present" and "off-site education" in rows[0]["meaning"]
    assert rows[2]["counts_as"] == "unauthorised_absence"
    everyone = rows_of(await api.http.get(f"/api/register/attendance.{fmt}", headers=headers(OPS), params=week), fmt)
    assert {r["placement_id"] for r in everyone} == {pid, world["other"].placement_id}
    one = rows_of(await api.http.get(f"/api/register/attendance.{fmt}", headers=headers(OPS),
                                     params={**week, "placement_id": world["other"].placement_id}), fmt)
    assert [(r["placement_id"], r["school_id"]) for r in one] == [(world["other"].placement_id, "137001")]


async def test_attendance_refuses_another_schools_placement_and_a_range_backwards(api, world):
    await mark(api, world)
    mon = world["term"].first
    r = await api.http.get("/api/register/attendance.csv", headers=headers(LEAD),
                           params={"from": mon.isoformat(), "to": mon.isoformat(), "placement_id": world["other"].placement_id})
    assert r.status_code == 404, r.text  # as if it were not there
    r = await api.http.get("/api/register/attendance.csv", headers=headers(LEAD),
                           params={"from": mon.isoformat(), "to": (mon - timedelta(days=1)).isoformat()})
    assert r.status_code == 422 and "is before from" in r.json()["detail"]
    r = await api.http.get("/api/register/attendance.csv", headers=headers(LEAD), params={"from": "yesterday", "to": "2026-01-01"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "from"]


async def test_every_export_is_audited_with_who_what_and_which_filter_and_no_pupil_data(api, world, engine):
    await mark(api, world)
    await api.http.get("/api/register/la-notice.xlsx", headers=headers(LEAD), params={"state": "closed", "provider": "pupil referral"})
    mon = world["term"].first.isoformat()
    await api.http.get("/api/register/attendance.csv", headers=headers(OPS), params={"from": mon, "to": mon})
    await api.http.get("/api/register.csv", headers=headers(OPS))
    la, att, reg = audit(engine)
    assert (la.export, la.file_format, la.actor_id, la.actor_role, la.actor_school_id, la.rows) == (
        "la_notice", "xlsx", LEAD.user_id, "ap_lead", "137000", 1)
    assert la.filters == {"state": "closed", "provider": "pupil referral", "schools": ["137000"]}
    assert (att.export, att.actor_id, att.actor_role, att.rows) == ("attendance", OPS.user_id, "trust_operations", 3)
    assert att.filters == {"from": mon, "to": mon, "schools": "all"}
    assert (reg.export, reg.rows) == ("register", 3)
    stored = json.dumps([dict(r._mapping) for r in (la, att, reg)], default=str)
    for p in (world["running"], world["closed"], world["other"]):
        assert p.pupil.name not in stored and p.pupil.pupil_id not in stored


async def test_the_la_notice_holds_what_the_school_tells_the_la(api, world):
    (row,) = rows_of(await api.http.get("/api/register/la-notice.csv", headers=headers(OTHER_LEAD)), "csv")
    p = world["other"]
    assert (row["school_urn"], row["local_authority"], row["pupil_name"], row["date_of_birth"]) == (
        "137001", "Calderdale", "Kim Other", p.pupil.date_of_birth.isoformat())
    assert (row["provider_name"], row["start_date"], row["end_date"], row["full_time"], row["days"], row["sessions_per_week"]) == (
        "Online Learning Co", p.start_date.isoformat(), world["term"].second.isoformat(), "no", "mon,wed", "4")
    assert row["reasons"] == p.reasons and "14 Mill Lane" in row["provider_sites"]


async def test_a_cell_that_would_be_a_formula_stays_text(api, world, engine):
    from tests.attendance.conftest import active_placement, put

    put(engine, active_placement(world["term"].first, census_reason="OTHER",
                                 pupil=world["running"].pupil.model_copy(update={"pupil_id": "P-0005", "name": "=HYPERLINK(\"http://x\")"})))
    csv_rows = rows_of(await api.http.get("/api/register.csv", headers=headers(LEAD)), "csv")
    assert "'=HYPERLINK(\"http://x\")" in [r["pupil_name"] for r in csv_rows]
    r = await api.http.get("/api/register.xlsx", headers=headers(LEAD))
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).worksheets[0]
    cells = [c for c in sheet["C"] if c.value == "=HYPERLINK(\"http://x\")"]
    assert len(cells) == 1 and cells[0].data_type == "s"


async def test_rows_projected_before_the_register_kept_entries_are_filled_when_the_api_starts(api, world, engine, calendars, tmp_path):
    """A closed placement of a number of days, whose row was written before
    the register kept its entry and counted end: the next start counts its
    last day on the school's calendar, and the register export shows it."""
    from sqlalchemy import text

    from apflow.calendars import load_calendar
    from apflow.settings import Settings
    from console.api import create_app
    from domain.deadlines import planned_end

    p = world["closed"]
    end = planned_end(p, load_calendar(p.school.school_id, calendars.folder))
    assert p.planned_end_date is None and end is not None
    with engine.begin() as conn:
        conn.execute(text("update placements set entry = null, planned_end_date = null"))

    again = create_app(Settings(var_dir=tmp_path / "var", calendars_dir=calendars.folder), client=object(), engine=engine)
    async with again.router.lifespan_context(again):
        pass
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from placements where entry is null")).scalar() == 0
    rows = {r["placement_id"]: r for r in rows_of(await api.http.get("/api/register.csv", headers=headers(OPS)), "csv")}
    assert rows[p.placement_id]["planned_end_date"] == end.isoformat()

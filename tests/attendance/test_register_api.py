"""POST /api/attendance: a whole register in one call, all of it or none,
every refused row named with its reason; idempotent per session."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from apflow import samples
from domain.models import Actor, Role
from store import attendance

from .conftest import HEAD, LEAD, OPS, active_placement, headers, put

NOW = date(2026, 1, 1)  # the term is built around the next spring bank holiday


@pytest.fixture
def world(calendars, engine, api):
    term = calendars(NOW)
    calendars(NOW, samples.OTHER_SCHOOL.school_id)
    api.today_is(term.second_end)
    start = term.first
    return dict(
        term=term,
        part=put(engine, active_placement(start)),  # Mondays and Wednesdays, part time, unregistered provider
        full=put(engine, active_placement(start, pattern=samples.FULL_TIME)),
        pru=put(engine, active_placement(start, dual=True, provider=samples.registered_provider(), pattern=samples.FULL_TIME)),
        other=put(engine, active_placement(start, school=samples.OTHER_SCHOOL)),
    )


def row(p, day: date, session: str, code: str, **extra) -> dict:
    return {"placement_id": p.placement_id, "day": day.isoformat(), "session": session, "code": code, **extra}


async def post(api, marks, source="provider", who: Actor = LEAD):
    return await api.http.post("/api/attendance", json={"source": source, "marks": marks}, headers=headers(who))


def count_marks(engine, placement_id=None) -> int:
    q = select(func.count()).select_from(attendance.AttendanceMark)
    if placement_id:
        q = q.where(attendance.AttendanceMark.placement_id == placement_id)
    with engine.connect() as conn:
        return conn.scalar(q)


async def test_a_register_is_recorded_and_read_back(api, world, engine):
    p, mon = world["part"], world["term"].first
    wed = mon + timedelta(days=2)
    r = await post(api, [row(p, mon, "am", "B"), row(p, mon, "pm", "b"), row(p, wed, "am", "B"), row(p, wed, "pm", "N", note="not arrived after lunch")])
    assert r.status_code == 200, r.text
    assert r.json() == {"recorded": 4, "created": 4, "changed": 0, "unchanged": 0}

    r = await api.http.get(f"/api/placements/{p.placement_id}/attendance", headers=headers(LEAD),
                           params={"from": mon.isoformat(), "to": (mon + timedelta(days=6)).isoformat()})
    assert r.status_code == 200, r.text
    out = r.json()
    assert [(m["day"], m["session"], m["code"]) for m in out["marks"]] == [
        (mon.isoformat(), "am", "B"), (mon.isoformat(), "pm", "B"), (wed.isoformat(), "am", "B"), (wed.isoformat(), "pm", "N")]
    assert out["marks"][0]["meaning"].startswith("Attending any other approved educational activity")
    assert out["marks"][3]["explained"] is False and out["marks"][3]["note"] == "not arrived after lunch"
    assert out["marks"][0]["recorded_by"] == LEAD.user_id and out["marks"][0]["source"] == "provider"
    assert out["summary"] == {"expected": 4, "present": 3, "authorised_absence": 0, "unauthorised_absence": 1,
                              "not_counted": 0, "unmarked": 0, "attendance_percent": 75.0}

    # Over the whole placement so far, the sessions with no mark are listed.
    r = await api.http.get(f"/api/placements/{p.placement_id}/attendance", headers=headers(LEAD))
    out = r.json()
    assert out["first"] == mon.isoformat() and out["last"] == world["term"].second_end.isoformat()
    assert out["summary"]["unmarked"] == out["summary"]["expected"] - 4
    assert {"day": (mon + timedelta(days=7)).isoformat(), "session": "am"} in out["unmarked"]


async def test_the_same_register_twice_changes_nothing_and_a_change_is_kept_as_an_amendment(api, world, engine):
    p, mon = world["part"], world["term"].first
    register = [row(p, mon, "am", "B"), row(p, mon, "pm", "N")]
    assert (await post(api, register)).json()["created"] == 2
    r = await post(api, register)
    assert r.json() == {"recorded": 2, "created": 0, "changed": 0, "unchanged": 2}
    assert count_marks(engine, p.placement_id) == 2

    r = await post(api, [row(p, mon, "pm", "I", note="parent rang at 2pm: ill")], source="school", who=HEAD)
    assert r.json() == {"recorded": 1, "created": 0, "changed": 1, "unchanged": 0}
    out = (await api.http.get(f"/api/placements/{p.placement_id}/attendance", headers=headers(LEAD))).json()
    pm = next(m for m in out["marks"] if m["session"] == "pm")
    assert (pm["code"], pm["explained"], pm["source"], pm["provider_code"]) == ("I", True, "school", "N")
    assert [(a["old_code"], a["new_code"], a["reason"], a["amended_by"]) for a in out["amendments"]] == [
        ("N", "I", "parent rang at 2pm: ill", HEAD.user_id)]


async def test_d_at_a_provider_that_is_not_a_registered_school_is_refused_and_nothing_is_recorded(api, world, engine):
    p, mon = world["part"], world["term"].first
    r = await post(api, [row(p, mon, "am", "B"), row(p, mon, "pm", "D")])
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail["message"].startswith("the register was refused: nothing was recorded")
    assert len(detail["errors"]) == 1
    err = detail["errors"][0]
    assert (err["row"], err["placement_id"], err["session"], err["field"]) == (1, p.placement_id, "pm", "code")
    assert "only where the provider is itself a registered school" in err["message"]
    assert count_marks(engine) == 0


async def test_codes_are_checked_against_the_placement(api, world):
    mon = world["term"].first
    part, full, pru = world["part"], world["full"], world["pru"]
    assert (await post(api, [row(pru, mon, "am", "D"), row(part, mon, "am", "C2")])).status_code == 200
    r = await post(api, [row(pru, mon, "pm", "B"), row(full, mon, "am", "C2"), row(pru, mon, "pm", "K")])
    assert r.status_code == 422
    errors = [(e["row"], e["field"]) for e in r.json()["detail"]["errors"]]
    messages = [e["message"] for e in r.json()["detail"]["errors"]]
    assert errors == [(0, "code"), (1, "code"), (2, "session")]
    assert "dual registered at the provider: use D" in messages[0]
    assert "only for a placement on a part-time timetable" in messages[1]
    assert "listed in row 0 too" in messages[2]


async def test_every_row_that_cannot_be_recorded_is_named(api, world, engine):
    t = world["term"]
    p, full = world["part"], world["full"]
    weekend = t.first + timedelta(days=5)
    marks = [
        row(p, t.first, "am", "B"),                                   # 0 fine
        row(p, t.first, "pm", "ZZ"),                                  # 1 unknown code
        row(full, t.second_end + timedelta(days=3), "am", "B"),       # 2 after today
        row(full, weekend, "am", "B"),                                # 3 a Saturday
        row(full, t.bank_holiday, "am", "B"),                         # 4 a bank holiday
        row(full, t.inset, "am", "B"),                                # 5 INSET
        row(full, t.holiday[0], "am", "B"),                           # 6 half-term holiday
        row(full, t.first - timedelta(days=3), "am", "B"),            # 7 before the start
        row(world["other"], t.first, "am", "B"),                      # 8 another school's placement
        {**row(p, t.first, "am", "B"), "placement_id": "placement-nope"},  # 9 no such placement
        row(full, t.first, "am", "B", explained=True),                # 10 explained on a present mark
        row(full, t.first, "pm", "N", explained=True),                # 11 N cannot be explained
        row(full, t.first + timedelta(days=1), "am", "I", explained=False),  # 12 fine: the provider doubts it
    ]
    r = await post(api, marks)
    assert r.status_code == 422
    got = {e["row"]: (e["field"], e["message"]) for e in r.json()["detail"]["errors"]}
    assert sorted(got) == list(range(1, 12))
    assert got[1] == ("code", "unknown register code 'ZZ': see GET /api/attendance/codes")
    assert got[2][0] == "day" and "in the future" in got[2][1]
    for i in (3, 4, 5, 6):
        assert got[i] == ("day", f"{marks[i]['day']} is not a school day in the school's calendar: no register is taken")
    assert got[7] == ("day", f"{marks[7]['day']} is before the placement started on {t.first}")
    assert got[8] == ("placement_id", f"no placement {world['other'].placement_id}")
    assert got[9] == ("placement_id", "no placement placement-nope")
    assert got[10][0] == "explained" and "not an absence" in got[10][1]
    assert got[11][0] == "explained" and "reason is not known" in got[11][1]
    assert count_marks(engine) == 0


async def test_who_may_record_and_read(api, world):
    mon = world["term"].first
    other = world["other"]
    provider = Actor(user_id="bridgeway", role=Role.provider)
    r = await post(api, [row(world["part"], mon, "am", "B")], who=provider)
    assert r.status_code == 403
    assert (await post(api, [row(other, mon, "am", "B"), row(world["part"], mon, "am", "B")], who=OPS)).status_code == 200
    other_lead = Actor(user_id="aplead-137001", role=Role.ap_lead, school_id=samples.OTHER_SCHOOL.school_id)
    assert (await api.http.get(f"/api/placements/{world['part'].placement_id}/attendance", headers=headers(other_lead))).status_code == 404
    assert (await api.http.get(f"/api/placements/{other.placement_id}/attendance", headers=headers(other_lead))).status_code == 200


async def test_a_malformed_register_is_refused_by_shape(api, world):
    r = await api.http.post("/api/attendance", headers=headers(LEAD), json={"source": "provider", "marks": [
        {"placement_id": world["part"].placement_id, "day": "2026-01-05", "session": "noon", "code": "B"}]})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "marks", 0, "session"]
    r = await api.http.post("/api/attendance", headers=headers(LEAD), json={"marks": []})
    assert r.status_code == 422


async def test_a_school_mark_keeps_the_providers_own(api, world, engine):
    """The school's B is its own entry: the provider's report is kept apart,
    and only the provider's own mark stands behind a B."""
    p, mon = world["part"], world["term"].first
    await post(api, [row(p, mon, "am", "B")], source="school")
    [m] = attendance.marks_for(engine, p.placement_id)
    assert (m.code, m.source, m.provider_code) == ("B", "school", None)
    await post(api, [row(p, mon, "am", "B")], source="provider")
    [m] = attendance.marks_for(engine, p.placement_id)
    assert (m.code, m.source, m.provider_code) == ("B", "provider", "B")


async def test_the_api_lists_the_codes_with_their_rules(api):
    r = await api.http.get("/api/attendance/codes", headers=headers(OPS))
    assert r.status_code == 200
    codes = {c["code"]: c for c in r.json()}
    assert codes["D"]["fits"] == ["registered_school_provider"]
    assert codes["N"]["explained"] is False and codes["B"]["explained"] is None
    assert codes["C2"]["counts_as"] == "authorised_absence"

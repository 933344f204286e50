"""A mark for a session the placement's pattern does not schedule is refused
with the reason and clause (§10.3), in the domain and over HTTP through both
ways a mark comes in: the school's register call and a provider's link. Such a
mark would otherwise count a session nobody was due to attend as present."""
from __future__ import annotations

import re
from datetime import date, time, timedelta
from urllib.parse import urlparse

from documents.formatting import long_date
from domain.attendance import PlacementFacts, expected_sessions, mark_problems, unscheduled
from domain.calendar import HalfTerm, SchoolCalendar
from domain.models import Pattern, Weekday
from store import attendance

from .conftest import CODES, LEAD, active_placement, headers, put
from .test_register_api import NOW, count_marks, post, row

BOUNDARY = time(12, 30)
MON = date(2026, 3, 2)
CAL = SchoolCalendar(
    school_id="137000",
    half_terms=(HalfTerm(start=date(2026, 2, 23), end=date(2026, 3, 27)),),
    closures=frozenset({date(2026, 3, 5)}),  # an INSET Thursday
)


def facts(days=("mon", "wed"), arrival=time(9), departure=time(15), started_on=MON) -> PlacementFacts:
    return PlacementFacts(
        placement_id="placement-1", school_id="137000", state="active", started_on=started_on, ended_on=None,
        days=frozenset(days), arrival=arrival, departure=departure, provider_registered=False, full_time=False,
        dual_registration_from=None,
    )


def problems(f: PlacementFacts, day: date, session: str, code: str = "B"):
    return [(p.field, p.message, p.clause)
            for p in mark_problems(CODES, f, day, code, None, CAL, date(2026, 3, 27), session, BOUNDARY)]


def test_the_domain_refuses_exactly_the_sessions_the_pattern_does_not_owe():
    f = facts()
    wed, tue = MON + timedelta(days=2), MON + timedelta(days=1)
    for day in (MON, wed):
        for session in ("am", "pm"):
            assert problems(f, day, session) == []
            assert session in expected_sessions(f, day, CAL, BOUNDARY)
    [(field, message, clause)] = problems(f, tue, "am")
    assert (field, clause) == ("day", "§10.3")
    assert "the placement's pattern does not schedule Tuesday" in message
    assert "it schedules Monday and Wednesday" in message
    assert expected_sessions(f, tue, CAL, BOUNDARY) == ()

    # Not a school day at this school; before the start: each says so.
    thursday_inset = facts(days=("mon", "thu"))
    [(field, message, clause)] = problems(thursday_inset, date(2026, 3, 5), "am")
    assert (field, clause) == ("day", "§10.3") and "not a school day in the school's calendar" in message
    [(field, message, _)] = problems(facts(started_on=wed), MON, "am")
    assert field == "day" and f"before the placement started on {wed}" in message


def test_a_session_outside_the_patterns_times_is_refused():
    mornings = facts(days=("mon",), arrival=time(9), departure=time(12))
    assert problems(mornings, MON, "am") == []
    [(field, message, clause)] = problems(mornings, MON, "pm")
    assert (field, clause) == ("session", "§10.3")
    assert message.startswith("the placement's pattern does not cover the afternoon session")
    assert "09:00 to 12:00" in message and "12:30" in message

    afternoons = facts(days=("mon",), arrival=time(13), departure=time(15))
    assert [f for f, *_ in problems(afternoons, MON, "am")] == ["session"]
    assert "morning" in unscheduled(afternoons, MON, "am", BOUNDARY).message
    assert unscheduled(afternoons, MON, "pm", BOUNDARY) is None


def test_a_code_problem_names_the_codes_clause():
    [(field, _, clause)] = problems(facts(), MON, "am", code="ZZ")
    assert (field, clause) == ("code", "§10.4")


# --- over HTTP --------------------------------------------------------------------------

MORNINGS = Pattern(full_time=False, days=[Weekday.mon, Weekday.wed], arrival=time(9), departure=time(12))


async def test_the_register_call_refuses_an_unscheduled_session_and_records_nothing(api, engine, calendars):
    term = calendars(NOW)
    api.today_is(term.second_end)
    p = put(engine, active_placement(term.first))  # Mondays and Wednesdays, 9:00 to 15:00
    am_only = put(engine, active_placement(term.first, pattern=MORNINGS))
    tue = term.first + timedelta(days=1)
    r = await post(api, [
        row(p, term.first, "am", "B"),       # 0 fine
        row(p, tue, "am", "B"),              # 1 Tuesday: not a pattern day
        row(am_only, term.first, "am", "B"),  # 2 fine
        row(am_only, term.first, "pm", "B"),  # 3 the pattern ends at 12:00
    ])
    assert r.status_code == 422, r.text
    errors = r.json()["detail"]["errors"]
    assert [(e["row"], e["field"], e["clause"]) for e in errors] == [(1, "day", "§10.3"), (3, "session", "§10.3")]
    assert "the placement's pattern does not schedule Tuesday" in errors[0]["message"]
    assert (errors[0]["placement_id"], errors[0]["day"], errors[0]["session"]) == (p.placement_id, tue.isoformat(), "am")
    assert "does not cover the afternoon session" in errors[1]["message"]
    assert count_marks(engine) == 0  # all rows or none

    # Without the unscheduled rows the same register goes in.
    ok = await post(api, [row(p, term.first, "am", "B"), row(am_only, term.first, "am", "B")])
    assert ok.status_code == 200 and ok.json()["created"] == 2
    summary = (await api.http.get(f"/api/placements/{p.placement_id}/attendance", headers=headers(LEAD),
                                  params={"from": term.first.isoformat(), "to": tue.isoformat()})).json()["summary"]
    assert summary["present"] == 1  # Tuesday never counted


async def test_a_providers_link_refuses_an_unscheduled_day_with_the_reason(api, engine, calendars):
    term = calendars(NOW)
    p = put(engine, active_placement(term.first, pattern=MORNINGS))
    issued = await api.http.post(f"/api/placements/{p.placement_id}/links", json={"purpose": "attendance"}, headers=headers(LEAD))
    assert issued.status_code == 201, issued.text
    path = urlparse(issued.json()["url"]).path
    tue = term.first + timedelta(days=1)

    refused = await api.http.post(path, json={"day": tue.isoformat(), "session": "am", "code": "B"})
    assert refused.status_code == 422, refused.text
    detail = refused.json()["detail"]
    assert "the placement's pattern does not schedule Tuesday" in detail["message"] and "(§10.3)" in detail["message"]
    assert detail["fields"] == [{"field": "day", "message": detail["fields"][0]["message"], "clause": "§10.3"}]

    afternoon = await api.http.post(path, json={"day": term.first.isoformat(), "session": "pm", "code": "B"})
    assert afternoon.status_code == 422
    assert afternoon.json()["detail"]["fields"][0]["field"] == "session"

    # The form comes back as it was sent, the reason linked to the day's
    # boxes, so the provider puts it right; nothing was recorded by either.
    page = await api.http.post(path, data={"day.day": str(tue.day), "day.month": str(tue.month), "day.year": str(tue.year),
                                           "session": "am", "code": "B"})
    assert page.status_code == 422 and "does not schedule Tuesday" in page.text
    said = re.search(r'<li><a href="#day">([^<]*)</a></li>', page.text)
    assert said and said.group(1).startswith(f"{long_date(tue)} is a Tuesday"), page.text  # its day in words; the JSON keeps ISO
    assert said.group(1).endswith("(§10.3)") and f'name="day.day" value="{tue.day}"' in page.text
    assert '<button type="submit">Send to the school</button>' in page.text
    assert attendance.marks_for(engine, p.placement_id) == []

    ok = await api.http.post(path, json={"day": term.first.isoformat(), "session": "am", "code": "B"})
    assert ok.status_code == 200, ok.text
    assert [(m.day, m.session) for m in attendance.marks_for(engine, p.placement_id)] == [(term.first, "am")]

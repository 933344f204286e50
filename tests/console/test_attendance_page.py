"""A placement's attendance page over real HTTP, against the real stack:
the sessions it owes, a mark recorded through its form (as the provider
phoned it in, or as the school's own), a mark the register refuses, and who
may not record one."""
from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import httpx
import pytest_asyncio

from apflow import samples
from apflow.attendance_codes import load_codes
from apflow.calendars import load_calendar
from console.pages.attendance import session_words
from documents.formatting import long_date
from domain.escalations import AttendanceAlert
from store import attendance as marks
from workflows.placement import PlacementWorkflow

from .conftest import LEAD, OTHER_LEAD, Person
from .helpers import on_the_first_register_day, started_today
from .test_pages_http import csrf_of, get

GOVERNOR = Person("governor-137000", "read_only")


@pytest_asyncio.fixture(scope="module")
async def active(console):
    """A placement that started on the last school day: its sessions are owed."""
    async with httpx.AsyncClient(base_url=console.url, timeout=30) as api_http:
        cal = load_calendar(samples.SCHOOL.school_id, console.settings.calendars_dir)
        return await started_today(api_http, cal, "Sam Register"), cal


def mark_form(page: str, day, session: str, code: str, source: str, note: str = "") -> dict[str, str]:
    return {"csrf_token": csrf_of(page), "day.day": str(day.day), "day.month": str(day.month), "day.year": str(day.year),
            "session": session, "code": code, "source": source, "note": note}


async def test_a_mark_phoned_in_is_recorded_as_the_providers_and_a_change_leaves_its_amendment(http, console, active, monkeypatch):
    pid, cal = active
    start = on_the_first_register_day(monkeypatch, console.engine, cal, pid)
    placement = await get(http, f"/placements/{pid}", LEAD)
    assert f'href="/placements/{pid}/attendance"' in placement and "Every attendance mark, and record one" in placement

    page = await get(http, f"/placements/{pid}/attendance", LEAD)
    assert "Sessions with no mark" in page and session_words(start, "am") in page
    assert f"For example, {start.day} {start.month} {start.year} for today" in page  # a day past, never one to come
    # Today's sessions say when the provider is chased for them: the afternoon's is listed from the morning.
    assert f"{session_words(start, 'am')} (today: the provider is chased at 10:30 if it is still missing)" in page
    assert f"{session_words(start, 'pm')} (today: the provider is chased at 14:30 if it is still missing)" in page
    # The code is chosen from the trust's current codes, each with its meaning.
    offered = re.findall(r'<option value="([A-Z0-9]+)"', page)
    assert offered == [c.code for c in load_codes(console.settings.attendance_codes) if not c.retired]
    # An unmarked session's link opens the form with its day and session filled in.
    chosen = await get(http, f"/placements/{pid}/attendance?day={start}&session=am", LEAD)
    for part in ("day", "month", "year"):
        assert f'name="day.{part}" type="text" value="{getattr(start, part)}"' in chosen
    assert re.search(r'name="session" type="radio" value="am" checked', chosen)

    r = await http.post(f"/placements/{pid}/attendance", headers=LEAD.headers,
                        data=mark_form(page, start, "am", "B", "provider", "Phoned in by the provider at 9:40"))
    assert r.status_code == 303 and r.headers["location"] == f"/placements/{pid}/attendance?recorded={start}.am"
    done = await get(http, r.headers["location"], LEAD)
    assert f"Mark recorded for {session_words(start, 'am')}" in done
    assert "<strong>B</strong>, present" in done and "Phoned in by the provider at 9:40" in done
    (mark,) = marks.marks_for(console.engine, pid)
    assert (mark.code, mark.source, mark.provider_code, mark.recorded_by, mark.recorded_role) == (
        "B", "provider", "B", LEAD.user, "ap_lead")

    # Sent again, nothing changes; a different mark replaces it and says why.
    again = await http.post(f"/placements/{pid}/attendance", headers=LEAD.headers,
                            data=mark_form(page, start, "am", "B", "provider", "Phoned in by the provider at 9:40"))
    assert again.status_code == 303 and marks.amendments_for(console.engine, pid) == []
    changed = await http.post(f"/placements/{pid}/attendance", headers=LEAD.headers,
                              data=mark_form(page, start, "am", "I", "provider", "Provider rang back: sent home ill at 9:50"))
    assert changed.status_code == 303
    (amendment,) = marks.amendments_for(console.engine, pid)
    assert (amendment.old_code, amendment.new_code, amendment.amended_by) == ("B", "I", LEAD.user)
    after = await get(http, f"/placements/{pid}/attendance", LEAD)
    assert "Changed marks" in after and "B → I" in after and "sent home ill" in after
    assert session_words(start, "am") not in re.search(r'id="unmarked".*?</ul>', after, re.S).group(0)

    # Every mark of the placement as a file, from its own page; another school's staff find no placement.
    assert f'<a class="govuk-link" href="/placements/{pid}/attendance.csv">CSV</a>' in after
    got = await http.get(f"/placements/{pid}/attendance.csv", headers=LEAD.headers)
    assert got.status_code == 200 and got.headers["content-disposition"].startswith('attachment; filename="attendance-')
    header, *rows = got.text.splitlines()
    assert header.startswith("placement_id,school_id,day,session,code") and [r.split(",")[:5] for r in rows] == [
        [pid, "137000", start.isoformat(), "am", "I"]]
    theirs = await http.get(f"/placements/{pid}/attendance.xlsx", headers=OTHER_LEAD.headers)
    assert theirs.status_code == 404 and pid not in theirs.text


async def test_a_mark_the_register_refuses_is_shown_beside_its_field_and_records_nothing(http, console, active, monkeypatch):
    pid, cal = active
    start = on_the_first_register_day(monkeypatch, console.engine, cal, pid)
    before = [(m.day, m.session, m.code) for m in marks.marks_for(console.engine, pid)]
    page = await get(http, f"/placements/{pid}/attendance", LEAD)
    tomorrow = cal.add_school_days(start, 1)
    for data, said in [
        (mark_form(page, tomorrow, "pm", "B", "provider"), f"{long_date(tomorrow)} is in the future: a register records what happened"),
        # D is only for a provider that is itself a registered school.
        (mark_form(page, start, "pm", "D", "provider"), "is only where the provider is itself a registered school (a PRU, an AP academy or a registered independent school), and this provider is not (§10.4)"),
        ({**mark_form(page, start, "pm", "B", "provider"), "day.day": ""}, "Date of the session must be a real date"),
        # More digits than a date can hold: refused as any date that is not one, never a 500.
        ({**mark_form(page, start, "pm", "B", "provider"), "day.year": "9" * 30}, "Date of the session must be a real date"),
        ({**mark_form(page, start, "pm", "B", "provider"), "day.day": "", "day.month": "", "day.year": ""},
         "Enter the date of the session"),
        (mark_form(page, start, "pm", "", ""), "Choose the register code"),
    ]:
        r = await http.post(f"/placements/{pid}/attendance", headers=LEAD.headers, data=data)
        assert r.status_code == 422, r.text[:2000]
        assert "There is a problem" in r.text and said in r.text, (said, re.findall(r'govuk-error-message">(.*?)</', r.text, re.S))
    assert "Choose whose mark it is" in r.text and "Choose the session" not in r.text  # the session was chosen
    assert [(m.day, m.session, m.code) for m in marks.marks_for(console.engine, pid)] == before


async def test_who_may_not_record_sees_the_marks_and_has_no_form_and_another_school_finds_nothing(http, console, active, monkeypatch):
    pid, cal = active
    start = on_the_first_register_day(monkeypatch, console.engine, cal, pid)
    before = [(m.day, m.session, m.code) for m in marks.marks_for(console.engine, pid)]
    seen = await get(http, f"/placements/{pid}/attendance", GOVERNOR)
    assert 'id="mark-form"' not in seen and "record its mark" not in seen
    assert "Marks are recorded by the school's staff and the trust" in seen
    r = await http.post(f"/placements/{pid}/attendance", headers=GOVERNOR.headers,
                        data=mark_form(await get(http, "/placements", GOVERNOR), start, "pm", "B", "school"))
    assert r.status_code == 403 and "You cannot record attendance" in r.text
    await get(http, f"/placements/{pid}/attendance", OTHER_LEAD, status=404)
    r = await http.post(f"/placements/{pid}/attendance", headers=OTHER_LEAD.headers,
                        data=mark_form(await get(http, "/placements", OTHER_LEAD), start, "pm", "B", "school"))
    assert r.status_code == 404
    # Without the session's CSRF field, even the AP lead's form is refused.
    lead_page = await get(http, f"/placements/{pid}/attendance", LEAD)
    r = await http.post(f"/placements/{pid}/attendance", headers=LEAD.headers,
                        data={**mark_form(lead_page, start, "pm", "B", "school"), "csrf_token": "forged"})
    assert r.status_code == 403
    assert [(m.day, m.session, m.code) for m in marks.marks_for(console.engine, pid)] == before


async def test_a_weeks_return_records_the_sessions_given_a_code_and_leaves_the_rest_alone(http, console, active, monkeypatch):
    pid, cal = active
    start = on_the_first_register_day(monkeypatch, console.engine, cal, pid)
    kept = {(m.day, m.session): (m.code, m.note) for m in marks.marks_for(console.engine, pid)}
    assert kept[(start, "am")] == ("I", "Provider rang back: sent home ill at 9:50")  # from the first test
    attendance = await get(http, f"/placements/{pid}/attendance", LEAD)
    assert f'href="/placements/{pid}/attendance/week"' in attendance
    page = await get(http, f"/placements/{pid}/attendance/week", LEAD)
    assert f"The week of Monday {long_date(start - timedelta(days=start.weekday()))}" in page
    # Each session the week owes, with its mark now; a marked one is left as it is unless a code is chosen.
    assert session_words(start, "am") in page and "Now I (the provider&#39;s)" in page and "Leave as it is" in page
    # This week's days after today are not listed: the page says so, unless today is its Friday.
    assert ("The sessions listed run to today: the week&#39;s days to come are keyed in once they have passed."
            in page) == (start.weekday() < 4)
    monday = start - timedelta(days=start.weekday())
    # A week asked for before the start or after today is the nearest the placement ran (on a
    # weekend or in a holiday it started in the week before its first session's).
    started = marks.expectation(console.engine, pid).started_on
    first_week = started - timedelta(days=started.weekday())
    for asked, shown, no_link in (("2020-01-06", first_week, "Previous week"), ("2099-01-05", monday, "Next week"),
                                  ("2026-02-30", monday, "Next week"), ("not-a-day", monday, "Next week")):
        other = await get(http, f"/placements/{pid}/attendance/week?of={asked}", LEAD)
        assert f"The week of Monday {long_date(shown)}" in other and no_link not in other
    keys = {"csrf_token": csrf_of(page), "week": str(monday)}
    am, pm = f"code.{start}.am", f"code.{start}.pm"

    r = await http.post(f"/placements/{pid}/attendance/week", headers=LEAD.headers, data={**keys, am: "", pm: ""})
    assert r.status_code == 422 and "Choose a code for at least one session" in r.text and "Choose whose marks these are" in r.text
    # One refused row refuses the whole return: D is not for this provider.
    r = await http.post(f"/placements/{pid}/attendance/week", headers=LEAD.headers,
                        data={**keys, am: "D", pm: "B", "source": "provider"})
    assert r.status_code == 422 and f"{session_words(start, 'am')}: D (" in r.text and "(§10.4)" in r.text
    r = await http.post(f"/placements/{pid}/attendance/week", headers=LEAD.headers,
                        data={**keys, pm: "BBBBB", "source": "provider", "note": "n" * 2001})
    assert r.status_code == 422 and "Note takes at most 2000 characters" in r.text
    r = await http.post(f"/placements/{pid}/attendance/week", headers=LEAD.headers, data={**keys, pm: "BBBBB", "source": "provider"})
    assert r.status_code == 422 and "Unknown register code &#39;BBBBB&#39;" in r.text
    assert {(m.day, m.session): (m.code, m.note) for m in marks.marks_for(console.engine, pid)} == kept

    r = await http.post(f"/placements/{pid}/attendance/week", headers=LEAD.headers,
                        data={**keys, am: "", pm: "B", "source": "provider", "note": "From the provider's weekly return"})
    assert r.status_code == 303, r.text[:2000]
    assert "1 mark recorded for the week of" in await get(http, r.headers["location"], LEAD)
    now = {(m.day, m.session): (m.code, m.source, m.note) for m in marks.marks_for(console.engine, pid)}
    assert now[(start, "am")] == ("I", "provider", "Provider rang back: sent home ill at 9:50")  # left alone
    assert now[(start, "pm")] == ("B", "provider", "From the provider's weekly return")
    # Someone who may not record sees the week without its form, and cannot post it.
    assert 'id="week-form"' not in await get(http, f"/placements/{pid}/attendance/week", GOVERNOR)
    r = await http.post(f"/placements/{pid}/attendance/week", headers=GOVERNOR.headers,
                        data={**keys, "csrf_token": csrf_of(await get(http, "/placements", GOVERNOR)), pm: "O", "source": "school"})
    assert r.status_code == 403
    await get(http, f"/placements/{pid}/attendance/week", OTHER_LEAD, status=404)
    assert marks.marks_for(console.engine, pid)[-1].code == "B"


async def test_an_open_attendance_escalation_links_to_its_sessions_form(http, console, dev_env, monkeypatch):
    async with httpx.AsyncClient(base_url=console.url, timeout=30) as api_http:
        cal = load_calendar(samples.SCHOOL.school_id, console.settings.calendars_dir)
        pid = await started_today(api_http, cal, "Ash Alerted")
    day = on_the_first_register_day(monkeypatch, console.engine, cal, pid)
    handle = dev_env.client.get_workflow_handle(pid)
    await handle.signal(PlacementWorkflow.attendance_alert, AttendanceAlert(day=day, session="am", problem="missing"))
    await handle.signal(PlacementWorkflow.attendance_alert, AttendanceAlert(day=day, session="pm", problem="unexplained_absence", code="O"))
    links: dict[str, str] = {}
    for _ in range(100):  # the signals' escalations reach the page with the workflow's next projection
        placement = await get(http, f"/placements/{pid}", LEAD)
        links = dict(re.findall(r'<a class="govuk-link" href="([^"]+#record-mark)">([^<]+)</a>, then resolve', placement))
        if len(links) == 2:
            break
        await asyncio.sleep(0.2)
    assert links == {
        f"/placements/{pid}/attendance?day={day}&amp;session=am#record-mark": "Record the mark the provider gives",
        f"/placements/{pid}/attendance?day={day}&amp;session=pm#record-mark": "Record the code for the reason, once it is known",
    }
    # The governor sees the escalations, and no link to a form that is not theirs.
    assert "#record-mark" not in await get(http, f"/placements/{pid}", GOVERNOR)

"""A provider's mark through its attendance link, once the application hands
such answers to the attendance store (`console.attendance.provider_sink`)."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlparse

from documents.formatting import day_and_date as long_day
from domain.clock import uk_date
from store import attendance

from .conftest import LEAD, active_placement, headers, put
from .test_register_api import NOW


async def test_a_providers_mark_through_its_link(api, engine, calendars):
    term = calendars(NOW)
    p = put(engine, active_placement(term.first))
    issued = await api.http.post(f"/api/placements/{p.placement_id}/links", json={"purpose": "attendance"}, headers=headers(LEAD))
    assert issued.status_code == 201, issued.text
    path = urlparse(issued.json()["url"]).path
    link_id = issued.json()["link_id"]

    ok = await api.http.post(path, json={"day": term.first.isoformat(), "session": "am", "code": "b", "note": "arrived 9:05"})
    assert ok.status_code == 200, ok.text
    [mark] = attendance.marks_for(engine, p.placement_id)
    assert (mark.code, mark.source, mark.provider_code, mark.recorded_role, mark.recorded_by, mark.note) == (
        "B", "provider", "B", "provider", link_id, "arrived 9:05")

    # The same link serves the next session; a mark that does not fit is refused with the reason.
    refused = await api.http.post(path, json={"day": term.first.isoformat(), "session": "pm", "code": "D"})
    assert refused.status_code == 422
    assert "only where the provider is itself a registered school" in refused.json()["detail"]["message"]
    early = await api.http.post(path, json={"day": (term.first - timedelta(days=7)).isoformat(), "session": "am", "code": "B"})
    assert early.status_code == 422 and early.json()["detail"]["fields"][0]["field"] == "day"
    assert len(attendance.marks_for(engine, p.placement_id)) == 1


async def test_a_provider_chooses_the_code_from_the_trusts_codes_on_the_links_page(api, engine, calendars):
    term = calendars(NOW)
    p = put(engine, active_placement(term.first))
    issued = await api.http.post(f"/api/placements/{p.placement_id}/links", json={"purpose": "attendance"}, headers=headers(LEAD))
    path = urlparse(issued.json()["url"]).path
    codes = (await api.http.get("/api/attendance/codes", headers=headers(LEAD))).json()

    html = (await api.http.get(path)).text
    # The code is chosen, not typed: every code a register takes now, with its meaning.
    select = re.search(r'<select id="code" name="code" aria-describedby="code-hint">(.*?)</select>', html, re.S)
    assert select, html
    offered = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select.group(1))
    assert offered == [("", "Choose a code")] + [(c["code"], f'{c["code"]}: {c["meaning"]}') for c in codes if not c["retired"]]
    # The session's radios are a group named by its legend.
    assert re.search(r'<fieldset class="group">\s*<legend>Session</legend>', html), html

    # The days and times the pattern schedules, so the provider marks only sessions that are owed.
    assert "<dt>The pupil attends</dt><dd>Monday and Wednesday, 9am to 3pm</dd>" in html, html
    # The sessions the school has no mark for, the latest first, each filling the form in with itself.
    owed = (await api.http.get(f"/api/placements/{p.placement_id}/attendance", headers=headers(LEAD))).json()["unmarked"]
    latest = [(date.fromisoformat(u["day"]), u["session"]) for u in reversed(owed)][:10]
    listed = re.findall(r'<li><a href="\?day=([0-9-]+)&amp;session=(am|pm)#day">([^<]*)</a></li>', html)
    assert [(date.fromisoformat(d), s) for d, s, _ in listed] == latest and len(owed) > 10, listed
    assert listed[0][2] == f"{long_day(latest[0][0])}, {'morning' if latest[0][1] == 'am' else 'afternoon'}"
    assert f"(the latest 10, and {len(owed) - 10} before them)" in html
    chosen_one = (await api.http.get(path, params={"day": listed[0][0], "session": listed[0][1]})).text
    assert f'name="day.day" value="{latest[0][0].day}"' in chosen_one and f'value="{latest[0][1]}" checked' in chosen_one
    assert 'name="day.day" value=""' in (await api.http.get(path, params={"day": "2026-02-30", "session": "am"})).text
    # The day in three boxes, as every date the school's staff enter; its example is today.
    today = uk_date(datetime.now(UTC))
    # A screen reader reads each group's hint (and, once refused, its error) with it.
    assert re.search(r'<fieldset class="group" aria-describedby="day-hint">\s*<legend>Day of the session</legend>\s*'
                     rf'<div class="hint" id="day-hint">For example, {today.day} {today.month} {today.year} for today</div>', html), html
    assert [re.search(rf'<input [^>]*id="{i}" name="{n}"', html) is not None for i, n in (
        ("day", "day.day"), ("day-month", "day.month"), ("day-year", "day.year"))] == [True] * 3

    # Sent without a code: the form again, its message linked to the select, the rest as typed.
    form = {"purpose": "attendance", "day.day": str(term.first.day), "day.month": str(term.first.month),
            "day.year": str(term.first.year), "session": "pm", "code": "", "note": "late bus"}
    again = await api.http.post(path, data=form)
    assert again.status_code == 422
    assert '<a href="#code">Choose the register code</a>' in again.text
    assert '<select id="code" name="code" aria-describedby="code-hint code-error">' in again.text
    assert '<p class="message" id="code-error">Error: Choose the register code</p>' in again.text
    assert '<input type="radio" id="session-pm" name="session" value="pm" checked>' in again.text
    assert f'name="day.day" value="{term.first.day}"' in again.text
    # A day that is not one is said so beside its boxes, and what was typed is kept.
    unreal = await api.http.post(path, data={**form, "day.day": "31", "day.month": "2", "code": "U"})
    assert unreal.status_code == 422 and '<a href="#day">Day of the session must be a real date</a>' in unreal.text
    assert 'name="day.day" value="31"' in unreal.text and 'name="day.month" value="2"' in unreal.text
    blank = await api.http.post(path, data={**form, "day.day": "", "day.month": "", "day.year": "", "code": "U"})
    assert blank.status_code == 422 and '<a href="#day">Enter the day of the session</a>' in blank.text
    assert attendance.marks_for(engine, p.placement_id) == []

    chosen = await api.http.post(path, data={**form, "code": "U"})
    assert chosen.status_code == 200, chosen.text
    # The page says which session was recorded, with what, and the same link takes the next.
    meaning = next(c["meaning"] for c in codes if c["code"] == "U")
    assert (f"<dt>Session</dt><dd>{long_day(term.first)}, afternoon</dd><dt>Mark</dt><dd>U: {meaning}</dd>"
            in chosen.text.replace("&#39;", "'")), chosen.text
    assert f'<a href="{path}">Report another session</a>' in chosen.text
    [mark] = attendance.marks_for(engine, p.placement_id)
    assert (mark.session, mark.code, mark.note) == ("pm", "U", "late bus")
    # The latest missing session, marked, is listed no more; the one before it leads the list.
    (day, session), before = latest[0], latest[1]
    marked = await api.http.post(path, data={"purpose": "attendance", "day.day": str(day.day), "day.month": str(day.month),
                                             "day.year": str(day.year), "session": session, "code": "B"})
    assert marked.status_code == 200, marked.text
    assert f"?day={day}&amp;session={session}#day" not in marked.text
    assert re.search(r'<li><a href="\?day=([0-9-]+)&amp;session=(am|pm)#day">', marked.text).groups() == (str(before[0]), before[1])

"""The pictures: each drawn as SVG with the figures it shows, those
figures as a table beside it, and on the pages that show them only what the
viewer may see."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import httpx
import pytest

from apflow import samples
from apflow.calendars import load_calendar
from domain.deadlines import planned_end
from domain.models import Placement, Weekday
from console import pictures

from .conftest import LEAD, OPS
from .helpers import started_today, today
from .test_pages_http import get

SVG = "{http://www.w3.org/2000/svg}"


def series(p: pictures.Picture) -> list[str]:
    """The names in the picture's key, once the image is seen to draw as
    many series as the key names, each in the key's colour."""
    root = ET.fromstring(str(p.svg))
    assert not list(root.iter(f"{SVG}script"))  # the page's policy allows no inline script
    drawn = {c for g in root.iter(f"{SVG}g") for c in (g.get("class") or "").split() if c.startswith("serie-")}
    assert len(drawn) == len(p.key)
    style = "".join(t.text or "" for t in root.iter(f"{SVG}style"))
    for i, (_, colour) in enumerate(p.key):
        assert re.search(rf"\.color-{i}[^{{]*{{[^}}]*{colour}", style, re.I), (i, colour)
    return [name for name, _ in p.key]


def test_placements_by_state_draws_a_bar_a_school_and_counts_each_state():
    p = pictures.placements_by_state([("137000", "active", 3), ("137000", "closed", 1), ("137001", "proposed", 2)])
    assert series(p) == ["Proposed", "Active", "Closed"]  # the lifecycle's order, only states that occur
    assert p.columns == ("School", "Proposed", "Active", "Closed", "All")
    assert p.rows == (("137000", 0, 3, 1, 4), ("137001", 2, 0, 0, 2))
    assert p.summary == "2 schools, each a bar split by state: 6 placements in all."
    assert pictures.placements_by_state([]) is None
    named = pictures.placements_by_state([("137000", "active", 3), ("137001", "proposed", 2)], (("137000", "Nexus Valley Academy"),))
    assert [row[0] for row in named.rows] == ["Nexus Valley Academy", "137001"]  # a school the directory does not name, by its id
    assert "Nexus Valley Academy" in named.svg and "School 137001" in named.svg


def test_each_state_is_drawn_in_its_tags_colour_and_no_two_states_share_one():
    """The chart's key and the tags beside it in the register's table say the
    same: a state's segment is its tag's colour, told apart from every other."""
    from console.pages.rendering import env
    from console.pages.wording import TAG_COLOURS
    from domain.models import PlacementState

    every = [("137000", s.value, 1) for s in PlacementState]
    key = dict(pictures.placements_by_state(every).key)
    tag = env.from_string('{% from "_bits.html" import state_tag %}{{ state_tag(s) }}')
    shown = {s.value: re.search(r"govuk-tag--([a-z-]+)", tag.render(s=s.value)).group(1) for s in PlacementState}
    assert {pictures.wording.words(s): TAG_COLOURS[colour] for s, colour in shown.items()} == key
    assert len(set(shown.values())) == len(shown)


def test_time_against_plan_shows_a_placement_past_its_end_in_red():
    start = date(2026, 9, 7)
    late = pictures.Span("Late Lee", start, start + timedelta(weeks=6), start + timedelta(weeks=9))
    on_time = pictures.Span("Prompt Pat", start, start + timedelta(weeks=12), start + timedelta(weeks=3))
    p = pictures.time_against_plan([late, on_time])
    assert p.rows == (("Late Lee", 6.0, 9.0, "yes"), ("Prompt Pat", 12.0, 3.0, "no"))
    assert p.summary.endswith("for 2 placements: 1 past its planned end.")
    assert str(p.svg).count(pictures.RED) >= 1
    assert pictures.time_against_plan([pictures.Span("Not yet", start, None, start - timedelta(days=1))]) is None


def test_attendance_by_week_stacks_the_sessions_by_what_they_count_as():
    weeks = [pictures.Week(date(2026, 9, 7), present=6, authorised=2, unauthorised=1, unmarked=1),
             pictures.Week(date(2026, 9, 14), present=10)]
    p = pictures.attendance_by_week(weeks)
    assert series(p) == ["Present", "Authorised absence", "Unauthorised absence", "Not marked"]
    assert p.rows[0] == ("7 September 2026", 6, 2, 1, 1)
    assert "84% of the sessions marked were attended" in p.summary  # 16 of 19
    assert pictures.attendance_by_week([pictures.Week(date(2026, 9, 7))]) is None


def figures(html: str, key: str) -> list[list[str]]:
    """The rows of a picture's table on a page."""
    figure = re.search(rf'<figure class="apflow-picture" id="{key}">(.*?)</figure>', html, re.S)
    assert figure, f"no {key} picture on the page"
    assert "<svg" in figure.group(1) and 'role="img"' in figure.group(1)
    body = re.search(r"<tbody.*?</tbody>", figure.group(1), re.S).group(0)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr.*?</tr>", body, re.S)]


async def test_a_placements_page_draws_its_attendance_week_by_week(http, console):
    cal = load_calendar(samples.SCHOOL.school_id, console.settings.calendars_dir)
    if not cal.is_school_day(today()):
        pytest.skip("today is not a school day: a placement starting today owes no session to mark")
    async with httpx.AsyncClient(base_url=console.url, timeout=30) as api_http:
        # Every weekday, so that the day it starts owes sessions whatever day that is.
        every_day = samples.proposal(date.today()).pattern.model_copy(update={"days": list(Weekday)})
        pid = await started_today(api_http, cal, "Wren Weekly", pattern=every_day)
        r = await api_http.get(f"/api/placements/{pid}/attendance", headers=LEAD.headers)
        owed = r.json()["unmarked"]
        assert owed, "the placement owes no session yet"
        marks = [{"placement_id": pid, "day": s["day"], "session": s["session"], "code": code}
                 for s, code in zip(owed, ["B", "I"])]
        r = await api_http.post("/api/attendance", headers=LEAD.headers, json={"source": "provider", "marks": marks})
        assert r.status_code == 200, r.text
    html = await get(http, f"/placements/{pid}", LEAD)
    monday = date.fromisoformat(owed[0]["day"]) - timedelta(days=date.fromisoformat(owed[0]["day"]).weekday())
    (week,) = [row for row in figures(html, "attendance-by-week") if row[0] == monday.strftime("%-d %B %Y")]
    assert week[1:4] == ["1", str(len(marks) - 1), "0"]  # B counts as present, I as authorised absence
    # Proposed for a number of days, with no end date: its plan is the day the clock counts to.
    placement = Placement.model_validate((await http.get(f"/api/placements/{pid}", headers=LEAD.headers)).json()["placement"])
    assert placement.planned_end_date is None and placement.number_of_days
    end = planned_end(placement, cal)
    assert figures(html, "time-against-plan")[0][:2] == ["This placement", str(round((end - placement.start_date).days / 7, 1))]
    assert f"to {end.strftime('%-d %B %Y')} ({placement.number_of_days} days of education)" in html


async def test_the_register_counts_only_the_schools_the_viewer_may_see(http, console):
    async with httpx.AsyncClient(base_url=console.url, timeout=30) as api_http:
        await started_today(api_http, load_calendar(samples.SCHOOL.school_id, console.settings.calendars_dir), "Ash Counted")
    html = await get(http, "/register", LEAD)
    rows = figures(html, "placements-by-state")
    assert [r[0] for r in rows] == [samples.SCHOOL.name]  # the lead's school alone, by its name in the directory
    listed = (await http.get("/api/placements", headers=LEAD.headers, params={"limit": 200})).json()
    assert int(rows[0][-1]) == listed["total"]
    trust = figures(await get(http, "/register", OPS), "placements-by-state")
    assert sum(int(r[-1]) for r in trust) >= int(rows[0][-1])
    # This page's placements against their plans, each named as the table names it.
    # Its number of days counted to a last day on the school's calendar, as the register holds it.
    ash = [r for r in figures(html, "time-against-plan") if r[0] == "Ash Counted"]
    assert ash and all(r[1] != "no end planned" for r in ash), ash


def test_evaluation_totals_draw_a_line_a_placement_in_the_order_they_were_made():
    one = [pictures.Scored("This placement", "End", date(2026, 12, 10), 98),
           pictures.Scored("This placement", "Mid", date(2026, 10, 20), 81)]
    p = pictures.evaluation_totals(one)
    assert p.rows == (("Mid, 20 October 2026", "This placement", 81), ("End, 10 December 2026", "This placement", 98))
    assert p.summary == "2 evaluations of 1 placement: from 81 to 98 out of 125."
    assert p.key == ()  # one line needs no key
    both = pictures.evaluation_totals([*one, pictures.Scored("Another", "Mid", date(2026, 11, 2), 60)])
    assert series(both) == ["This placement", "Another"]
    assert pictures.evaluation_totals([]) is None


def test_a_picture_is_drawn_again_only_when_its_figures_change(monkeypatch):
    draws = []
    real = pictures._draw
    monkeypatch.setattr(pictures, "_draw", lambda chart: draws.append(chart) or real(chart))
    weeks = [pictures.Week(date(2026, 9, 7) + timedelta(weeks=i), present=8, unauthorised=2) for i in range(30)]
    first = pictures.attendance_by_week(weeks)
    assert pictures.attendance_by_week(list(weeks)) is first and len(draws) == 1
    marked = [*weeks[:-1], pictures.Week(weeks[-1].monday, present=10)]
    again = pictures.attendance_by_week(marked)
    assert len(draws) == 2 and again.rows[-1][1:] == (10, 0, 0, 0) and first.rows[-1][1:] == (8, 0, 2, 0)

"""The console's pages over real HTTP (httpx), against the real stack: what
each answers, to whom, and that a form posted acts once and refuses in place."""
from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
from sqlalchemy import delete

from apflow import samples
from apflow.calendars import load_calendar
from apflow.directory import school_names
from apflow.settings import Settings
from console.pages import forms
from documents.formatting import long_date
from domain.actions import RaiseConcern, Vet
from domain.clock import uk_date
from domain.guards import number_of_days
from domain.models import Placement, Proposal
from store import documents as sent
from store import register

from .conftest import DSL, HEAD, LEAD, OPS, OTHER_LEAD, Person
from tests.api.test_api import body

from .helpers import consulted, started_today, today

HTML = "text/html; charset=utf-8"


def proposal(**changes) -> Proposal:
    start = load_calendar(samples.SCHOOL.school_id, Settings().calendars_dir).add_school_days(today(), 15)
    pupil = samples.proposal(start).pupil.model_copy(update={"pupil_id": f"P-{uuid.uuid4().hex[:8]}", **changes.pop("pupil", {})})
    return samples.proposal(start, pupil=pupil, **changes)


def form_of(model, instance, **extra) -> dict[str, list[str] | str]:
    """The fields a person would fill in for `instance`, as the form names them."""
    return {**forms.flatten(model, instance.model_dump(mode="json", exclude_unset=True)), **extra}


def key_of(html: str) -> str:
    (key,) = re.findall(r'name="idempotency_key" value="([^"]+)"', html)
    return key


def csrf_of(html: str) -> str:
    """The form's CSRF field, as the sign-in put it there for this person."""
    return re.findall(r'name="csrf_token" value="([^"]+)"', html)[0]


def keys_of(html: str) -> dict[str, str]:
    """What a drawn form carries besides its fields: its idempotency key and CSRF token."""
    return {"idempotency_key": key_of(html), "csrf_token": csrf_of(html)}


async def get(http: httpx.AsyncClient, path: str, who: Person, status: int = 200) -> str:
    r = await http.get(path, headers=who.headers)
    assert r.status_code == status, f"GET {path} -> {r.status_code}: {r.text[:2000]}"
    assert r.headers["content-type"] == HTML
    assert r.headers["cache-control"] == "no-store"
    return r.text


async def propose(http: httpx.AsyncClient, p: Proposal, who: Person = LEAD) -> str:
    """Proposes through the page's form; the new placement's id."""
    keys = keys_of(await get(http, "/placements/new", who))
    r = await http.post("/placements/new", headers=who.headers, data=form_of(Proposal, p, **keys))
    assert r.status_code == 303, r.text[:3000]
    (pid,) = re.findall(r"^/placements/(placement-[0-9a-f-]+)\?done=propose$", r.headers["location"])
    return pid


async def test_today_answers_html_for_staff_never_cached(http):
    html = await get(http, "/", LEAD)
    assert "<h1 class=\"govuk-heading-l\">Today</h1>" in html
    for heading in ("Open escalations for you", "Starting in the next two weeks", "Reviews to book", "Letters to post"):
        assert heading in html
    # Letters are posted by the AP lead and the headteacher: no one else is shown a list that is always empty.
    assert "Letters to post" in await get(http, "/", HEAD)
    for who in (DSL, OPS):
        assert "Letters to post" not in await get(http, "/", who)


async def test_the_census_fields_offer_the_trusts_codes_by_what_they_mean(http, console):
    """The census's primary reason and a provider's setting type are chosen
    from the trust's codes (census/codes.toml), never typed and refused later."""
    html = await get(http, "/placements/new", LEAD)
    for name, option in (("census_reason", ("SEND", "Special educational needs and disabilities")),
                         ("provider.setting_type", ("ONLINE", "Online provider"))):
        select = re.search(rf'<select[^>]*name="{re.escape(name)}"[^>]*>(.*?)</select>', html, re.S)
        assert select, name
        assert re.search(rf'<option value="{option[0]}"\s*>{option[1]}</option>', select.group(1)), select.group(1)
    assert "Primary reason for the placement (school census)" in html and "Unique pupil number (UPN)" in html
    pid = await propose(http, proposal(census_reason="SEND"))
    assert Placement.model_validate(register.get(console.engine, pid).data).census_reason == "SEND"
    vet = await get(http, f"/placements/{pid}/actions/vet", LEAD)  # the provider's fields as vetting shows them
    assert re.search(r'<select[^>]*name="provider.setting_type"', vet)


async def test_a_date_without_a_hint_of_its_own_gives_today_as_its_example(http):
    """Neither a day to come, odd for a meeting held, nor one past, odd for a start."""
    html = await get(http, "/placements/new", LEAD)
    start = re.search(r'<div id="start_date-hint" class="govuk-hint">\s*(.*?)\s*</div>', html, re.S)
    d = uk_date(datetime.now(UTC))
    assert start and start.group(1) == f"For example, {d.day} {d.month} {d.year}", start
    assert "For example, 31 8 2012" in html  # the date of birth keeps its own


async def test_a_placement_says_how_many_days_of_education_it_directs_as_its_notice_does(http, console):
    """Counted from its pattern's school days when it was given an end date
    rather than a number of days (§6.6.3), in the parents' notice's words."""
    p = proposal()
    p = p.model_copy(update={"number_of_days": None, "planned_end_date": p.start_date + timedelta(days=27)})
    pid = await propose(http, p)
    days = number_of_days(Placement.model_validate(register.get(console.engine, pid).data),
                          load_calendar(p.school.school_id, console.settings.calendars_dir))
    assert days and f"{days} days of education)" in await get(http, f"/placements/{pid}", LEAD)


async def test_today_names_each_rows_school_for_whoever_sees_several_schools(http, console):
    """Trust operations watch every school: each escalation on their Today
    says whose it is. The school's own DSL sees their school's alone, unnamed."""
    pid = await propose(http, proposal())
    keys = keys_of(await get(http, f"/placements/{pid}/actions/raise_concern", LEAD))
    r = await http.post(f"/placements/{pid}/actions/raise_concern", headers=LEAD.headers,
                        data=form_of(RaiseConcern, RaiseConcern(summary="Seen with an adult not known to the school"), **keys))
    assert r.status_code == 303, r.text[:2000]
    school = school_names(console.settings.directory_file)[samples.SCHOOL.school_id]

    async def card(who: Person) -> str:
        for _ in range(100):  # the workflow raises it at once, in its own time
            html = await get(http, "/", who)
            found = re.findall(rf'<li class="apflow-card apflow-card--alert">\s*<a[^>]*/placements/{pid}".*?</li>', html, re.S)
            if found:
                return found[0]
            await asyncio.sleep(0.1)
        raise AssertionError(f"no escalation of {pid} on {who.user}'s Today")

    assert f"{school} · " in await card(OPS)
    assert school not in await card(DSL)


async def test_the_notice_asks_for_dual_registration_only_at_a_registered_school(http, console):
    """A pupil is dual registered from the first day at a provider that is
    itself a registered school (§5.1.5, §8.2.4); anywhere else the question
    does not arise, and the notice's form does not ask it."""
    cal = load_calendar(samples.SCHOOL.school_id, console.settings.calendars_dir)
    start = cal.add_school_days(today(), 15)
    async with httpx.AsyncClient(base_url=console.url, timeout=30) as api_http:
        unregistered = await consulted(api_http, start, "Uma Unregistered")
        registered = await consulted(api_http, start, "Reg Registered", provider=samples.registered_provider())
    assert 'name="dual_registration_from.day"' not in await get(http, f"/placements/{unregistered}/actions/notify", HEAD)
    form = await get(http, f"/placements/{registered}/actions/notify", HEAD)
    assert 'name="dual_registration_from.day"' in form
    assert f"Northfield Pupil Referral Unit is a registered school, so the pupil is dual registered from the first day, {long_date(start)}" in form


async def test_a_safeguarding_concern_is_read_on_the_placements_page_until_the_dsl_addresses_it(http, console):
    """The DSL is told of a concern at once (§9.7) and reads it on the
    placement's page: what was raised, by whom and when, and once they
    resolve its escalation, when and how it was addressed."""
    pid = await propose(http, proposal())
    said = "Seen leaving the centre at lunch with an adult the school does not know"
    keys = keys_of(await get(http, f"/placements/{pid}/actions/raise_concern", LEAD))
    r = await http.post(f"/placements/{pid}/actions/raise_concern", headers=LEAD.headers,
                        data=form_of(RaiseConcern, RaiseConcern(summary=said), **keys))
    assert r.status_code == 303, r.text[:2000]

    def card(html: str) -> str:
        return re.search(r'<div class="govuk-summary-card" id="concern-1">(.*?)</dl>', html, re.S).group(1)

    page = await get(http, f"/placements/{pid}", DSL)
    assert "Safeguarding concerns (§9.7)" in page
    concern = card(page)
    assert said in concern and LEAD.user in concern and "AP lead" in concern and "Open" in concern and "Not yet" in concern

    keys = keys_of(await get(http, f"/placements/{pid}/actions/resolve_escalation?escalation_id=safeguarding:concern-1", DSL))
    r = await http.post(f"/placements/{pid}/actions/resolve_escalation", headers=DSL.headers,
                        data={**keys, "escalation_id": "safeguarding:concern-1", "note": "Parent confirmed the adult is an uncle"})
    assert r.status_code == 303, r.text[:2000]
    concern = card(await get(http, f"/placements/{pid}", LEAD))
    assert "Addressed" in concern and "Parent confirmed the adult is an uncle" in concern and DSL.user in concern
    assert "Safeguarding concerns" not in await get(http, f"/placements/{await propose(http, proposal())}", LEAD)


async def test_a_visit_form_opens_with_the_person_recording_it_as_who_visited(http, console):
    async with httpx.AsyncClient(base_url=console.url, timeout=30) as api_http:
        pid = await started_today(api_http, load_calendar(samples.SCHOOL.school_id, console.settings.calendars_dir), "Val Visited")
    form = await get(http, f"/placements/{pid}/actions/record_visit", LEAD)
    visitor = re.search(r'name="visit.visited_by" type="text" value="([^"]*)"', form).group(1)
    assert visitor and visitor in (LEAD.user, LEAD.user.replace("-", " ").title())  # their name, as the sign-in gives it
    assert re.search(r'name="visit.role" type="text" value="AP lead"', form)
    form = await get(http, f"/placements/{pid}/actions/record_visit", HEAD)
    assert re.search(r'name="visit.role" type="text" value="Headteacher"', form)


async def test_a_reviews_record_says_when_its_meeting_was_booked_for(http, console):
    async with httpx.AsyncClient(base_url=console.url, timeout=30) as api_http:
        cal = load_calendar(samples.SCHOOL.school_id, console.settings.calendars_dir)
        pid = await started_today(api_http, cal, "Rory Reviewed")
        meeting = cal.add_school_days(today(), 8)
        r = await api_http.post(f"/api/placements/{pid}/actions/open_review", headers=LEAD.headers,
                                json=body(samples.open_review(meeting)))
        assert r.status_code == 200, r.text
    form = await get(http, f"/placements/{pid}/actions/record_review", HEAD)
    assert f"The meeting was booked for {long_date(meeting)}" in form
    assert 'name="review.held_on.day" type="text" value=""' in form  # the day it was held is asked, not assumed


async def test_only_who_may_propose_is_offered_the_proposal_form(http):
    """The menu offers the proposal to a school's AP lead or headteacher; to a
    DSL or trust operations the form's address says at once that it is not
    theirs, rather than refusing the whole form once it is filled in."""
    assert 'href="/placements/new"' in await get(http, "/", LEAD)
    assert 'name="pupil.name"' in await get(http, "/placements/new", LEAD)
    for who in (DSL, OPS):
        assert 'href="/placements/new"' not in await get(http, "/", who)
        html = await get(http, "/placements/new", who, status=403)
        assert "You cannot propose placements" in html and 'name="pupil.name"' not in html


async def test_a_step_not_theirs_says_so_at_the_forms_address(http, console):
    """A governor or a DSL opening a step only the AP lead or headteacher take
    (by a link, or the address typed) is told who takes it, not given a form
    that is refused once filled in; a DSL may still end it early."""
    pid = await propose(http, proposal())
    html = await get(http, f"/placements/{pid}/actions/vet", DSL, status=403)
    assert "You cannot vet the provider" in html and "taken by the school&#39;s AP lead or headteacher" in html
    assert 'id="step-form"' in await get(http, f"/placements/{pid}/actions/vet", LEAD)
    assert 'id="step-form"' in await get(http, f"/placements/{pid}/actions/terminate", DSL)


async def test_a_step_with_immediate_consequences_says_them_above_its_form(http):
    pid = await propose(http, proposal())
    concern = await get(http, f"/placements/{pid}/actions/raise_concern", DSL)
    lede = re.search(r'<p class="govuk-body" id="step-lede">(.*?)</p>', concern, re.S)
    assert lede and "DSL is told at once (§9.7)" in lede.group(1) and "stops the placement starting" in lede.group(1)
    ending = await get(http, f"/placements/{pid}/actions/terminate", LEAD)
    assert "The placement ends today and cannot be restarted." in ending and "(§10.1, §13.4.4)" in ending
    # A step whose title says what it does has none.
    assert 'id="step-lede"' not in await get(http, f"/placements/{pid}/actions/vet", LEAD)


async def test_a_governor_is_told_their_role_sees_and_takes_no_step(http):
    pid = await propose(http, proposal())
    html = await get(http, f"/placements/{pid}", Person("governor-137000", "read_only"))
    assert "Your role sees this placement and takes none of its steps." in html
    assert "Your role sees" not in await get(http, f"/placements/{pid}", LEAD)


async def test_a_proposal_through_its_form_is_listed_and_shown(http, console):
    p = proposal()
    pid = await propose(http, p)
    listed = await get(http, "/placements", LEAD)
    assert p.pupil.name in listed and f"/placements/{pid}" in listed
    page = await get(http, f"/placements/{pid}", LEAD)
    assert p.pupil.name in page and p.provider.name in page
    assert re.search(r'aria-current="step">\s*<span class="apflow-lifecycle__name">Proposed', page)
    assert f'href="/placements/{pid}/actions/vet"' in page


async def test_another_schools_placement_is_not_found(http):
    pid = await propose(http, proposal())
    await get(http, f"/placements/{pid}", OTHER_LEAD, status=404)
    await get(http, f"/placements/{pid}/actions/vet", OTHER_LEAD, status=404)
    theirs = keys_of(await get(http, "/placements/new", OTHER_LEAD))
    r = await http.post(f"/placements/{pid}/actions/vet", headers=OTHER_LEAD.headers, data=form_of(Vet, samples.vet(), **theirs))
    assert r.status_code == 404
    assert pid not in await get(http, "/placements", OTHER_LEAD)
    await get(http, f"/placements/{pid}", OPS)  # the trust sees every school's


async def test_the_same_form_posted_twice_proposes_once(http, console):
    p = proposal()
    data = form_of(Proposal, p, **keys_of(await get(http, "/placements/new", LEAD)))
    first = await http.post("/placements/new", headers=LEAD.headers, data=data)
    again = await http.post("/placements/new", headers=LEAD.headers, data=data)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert len(register.open_placements_of(console.engine, p.school.school_id, p.pupil.pupil_id)) == 1


async def test_a_refused_step_shows_each_message_beside_its_field_and_changes_nothing(http, console):
    pid = await propose(http, proposal())
    keys = keys_of(await get(http, f"/placements/{pid}/actions/vet", LEAD))
    low = samples.vet(insurance=samples.vet().insurance.model_copy(update={"public_liability": 1_000_000}))
    r = await http.post(f"/placements/{pid}/actions/vet", headers=LEAD.headers, data=form_of(Vet, low, **keys))
    assert r.status_code == 409
    html = r.text
    assert 'href="#insurance-public_liability"' in html  # the error summary links to the field
    beside = re.search(r'id="insurance-public_liability-error"[^>]*>(.*?)</p>', html, re.S).group(1)
    assert "Public liability cover is £1,000,000; at least £5,000,000 is required (appendix: insurance)" in beside
    assert 'value="1000000"' in html  # what was typed stays
    assert register.get(console.engine, pid).state == "proposed"


async def test_a_malformed_answer_is_shown_on_the_form(http):
    pid = await propose(http, proposal())
    keys = keys_of(await get(http, f"/placements/{pid}/actions/vet", LEAD))
    data = form_of(Vet, samples.vet(), **keys) | {"safeguarding_confirmation_received_on.day": "31",
                                          "safeguarding_confirmation_received_on.month": "2"}
    r = await http.post(f"/placements/{pid}/actions/vet", headers=LEAD.headers, data=data)
    assert r.status_code == 422
    assert "must be a real date" in r.text
    assert 'href="#safeguarding_confirmation_received_on-day"' in r.text


async def test_search_is_posted_and_finds_the_pupil_by_name_upn_or_id(http):
    name = f"Quinn Searchable-{uuid.uuid4().hex[:6]}"
    upn = f"A{uuid.uuid4().int % 10**12:012d}"
    p = proposal(pupil={"name": name, "upn": upn})
    pid = await propose(http, p)
    mine = csrf_of(await get(http, "/placements", LEAD))
    for typed in (p.pupil.pupil_id, upn, name.split("-")[1], f"  quinn   {name.split()[1].lower()} "):
        r = await http.post("/placements/search", headers=LEAD.headers, data={"pupil": typed, "csrf_token": mine})
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        assert f"/placements/{pid}" in r.text and "1 placement found" in r.text, typed
        assert typed.strip() not in str(r.url)
    theirs = csrf_of(await get(http, "/placements", OTHER_LEAD))
    other = await http.post("/placements/search", headers=OTHER_LEAD.headers, data={"pupil": upn, "csrf_token": theirs})
    assert pid not in other.text
    nothing = await http.post("/placements/search", headers=LEAD.headers, data={"pupil": "x", "csrf_token": mine})
    assert nothing.status_code == 422 and 'href="#pupil"' in nothing.text


async def test_the_notice_preview_is_the_letter_dated_today(http):
    p = proposal()
    pid = await propose(http, p)
    r = await http.get(f"/placements/{pid}/actions/notify/preview", headers=HEAD.headers)
    assert r.status_code == 200, r.text[:2000]
    assert p.pupil.name in r.text and p.provider.name in r.text
    assert f"{today().day} {today():%B %Y}" in r.text


async def test_the_design_systems_assets_are_served(http):
    css = await http.get("/assets/govuk-frontend/govuk-frontend.min.css")
    assert css.status_code == 200 and "govuk-template" in css.text
    fonts = re.findall(r"url\((/assets/[^)]+)\)", css.text)
    assert fonts
    for f in fonts:
        assert (await http.get(f)).status_code == 200, f
    js = await http.get("/assets/console/console.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]


# --- the list: filters and pages over the register alone -----------------------

LISTED_SCHOOL = "137099"  # a school of its own, so these rows are the only ones under it


def project_rows(engine, n: int) -> list[str]:
    """`n` placements put straight into the register (the list reads nothing else)."""
    from domain.calendar import default_calendar
    from domain.guards import Context
    from domain.lifecycle import propose as proposed
    from domain.models import Actor, Placement, Role, School

    school = School(school_id=LISTED_SCHOOL, name="Nexus Dale Academy", local_authority="Kirklees")
    actor = Actor(user_id="lead", role=Role.ap_lead, school_id=LISTED_SCHOOL)
    ctx = Context(today=date(2026, 1, 5), calendar=default_calendar(LISTED_SCHOOL, date(2026, 1, 5)), actor=actor)
    ids = []
    for i in range(n):
        start = ctx.calendar.add_school_days(date(2026, 1, 12), i // 2)
        p = samples.proposal(start, school=school, provider=samples.provider(name="Northgate Centre" if i % 3 else "Bridgeway Learning Centre"))
        p = Placement(placement_id=f"placement-list-{i:03d}", **p.model_dump())
        p = proposed(p, ctx, datetime(2026, 1, 5, 9, tzinfo=UTC))
        register.project(engine, p, next_deadline=date(2026, 1, 1) if i % 4 == 0 else date(2099, 1, 1))
        ids.append(p.placement_id)
    return ids


async def test_a_list_of_many_schools_names_each_by_the_directory_else_by_its_id(http, console):
    (unnamed,) = project_rows(console.engine, 1)
    async with httpx.AsyncClient(base_url=console.url, timeout=30) as api_http:
        named = await started_today(api_http, load_calendar(samples.SCHOOL.school_id, console.settings.calendars_dir), "Nia Named")
    cells = {}
    for school in (samples.SCHOOL.school_id, LISTED_SCHOOL):
        html = await get(http, f"/placements?school={school}", OPS)
        cells |= dict(re.findall(r'href="/placements/([^"]+)">.*?</td>\s*<td class="govuk-table__cell">([^<]*)<br>', html, re.S))
    assert (cells[named], cells[unnamed]) == (samples.SCHOOL.name, LISTED_SCHOOL)
    # The list's filter chooses among the directory's schools by name, and keeps one it does not name.
    options = re.findall(r'<option value="(\d*)"( selected)?>([^<]*)</option>', (await get(http, f"/placements?school={LISTED_SCHOOL}", OPS))
                         .split('name="school"')[1].split("</select>")[0])
    assert options == [("", "", "Any"), ("137001", "", "Nexus Hill Academy (137001)"),
                       ("137000", "", "Nexus Valley Academy (137000)"), (LISTED_SCHOOL, " selected", LISTED_SCHOOL)]
    in_register = await get(http, "/register", OPS)
    assert f'<td class="govuk-table__cell">{samples.SCHOOL.name}<br>' in in_register
    assert f">{samples.SCHOOL.school_id}<" not in in_register


async def test_the_list_pages_by_keyset_and_filters(http, console, monkeypatch):
    ids = project_rows(console.engine, 30)
    seen, path = [], f"/placements?school={LISTED_SCHOOL}"
    while path:
        html = await get(http, path, OPS)
        seen += re.findall(r'href="/placements/(placement-list-\d+)"', html)
        nxt = re.search(r'<a class="govuk-link govuk-pagination__link" href="([^"]+)" rel="next"', html)
        path = nxt.group(1).replace("&amp;", "&") if nxt else None
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))
    assert "30 placements match" in await get(http, f"/placements?school={LISTED_SCHOOL}", OPS)
    monkeypatch.setattr(register, "COUNT_CAP", 20)  # counting stops: the page says so
    assert "More than 20 placements match" in await get(http, f"/placements?school={LISTED_SCHOOL}", OPS)
    monkeypatch.undo()

    overdue = await get(http, f"/placements?school={LISTED_SCHOOL}&overdue=yes&state=&kind=&provider=", OPS)
    assert set(re.findall(r'href="/placements/(placement-list-\d+)"', overdue)) == {ids[i] for i in range(0, 30, 4)}
    bridgeway = await get(http, f"/placements?school={LISTED_SCHOOL}&provider=bridgeway", OPS)
    assert set(re.findall(r'href="/placements/(placement-list-\d+)"', bridgeway)) == {ids[i] for i in range(0, 30, 3)}
    assert "0 placements match" in await get(http, f"/placements?school={LISTED_SCHOOL}&state=active", OPS)
    assert "0 placements match" in await get(http, f"/placements?school={LISTED_SCHOOL}&escalated=yes", OPS)
    # another school's staff cannot list it by naming it
    assert "0 placements match" in await get(http, f"/placements?school={LISTED_SCHOOL}", LEAD)
    r = await http.get("/placements?state=nonsense", headers=OPS.headers)
    assert r.status_code == 422


async def test_add_another_redraws_the_form_with_what_was_typed(http):
    keys = keys_of(await get(http, "/placements/new", LEAD))
    data = form_of(Proposal, proposal(), **keys) | {"_add": "emergency_contacts"}
    r = await http.post("/placements/new", headers=LEAD.headers, data=data)
    assert r.status_code == 200
    assert 'name="emergency_contacts.1.name"' in r.text and 'value="Pat Example"' in r.text
    assert key_of(r.text) == keys["idempotency_key"]  # still the same request


async def test_the_same_step_posted_twice_is_taken_once(http, console):
    pid = await propose(http, proposal())
    keys = keys_of(await get(http, f"/placements/{pid}/actions/vet", LEAD))
    data = form_of(Vet, samples.vet(safeguarding_confirmation_received_on=today()), **keys)
    first = await http.post(f"/placements/{pid}/actions/vet", headers=LEAD.headers, data=data)
    again = await http.post(f"/placements/{pid}/actions/vet", headers=LEAD.headers, data=data)
    assert first.status_code == again.status_code == 303, again.text[:2000]
    assert [e.action for e in register.audit_trail(console.engine, pid)] == ["propose", "vet"]


async def test_an_escalation_is_resolved_from_the_placements_page(http, console):
    async with httpx.AsyncClient(base_url=console.url, timeout=30) as api_http:
        cal = load_calendar(samples.SCHOOL.school_id, console.settings.calendars_dir)
        pid = await started_today(api_http, cal, "Drew Lane")
    html = await get(http, f"/placements/{pid}", LEAD)
    form = re.search(r'<form method="post" action="(/placements/[^"]+/actions/resolve_escalation)".*?</form>', html, re.S)
    assert form, "no resolve form on the page"
    fields = dict(re.findall(r'name="(escalation_id|idempotency_key|csrf_token)" value="([^"]+)"', form.group(0)))
    assert fields["escalation_id"].startswith("notice:")
    r = await http.post(form.group(1), headers=LEAD.headers, data={**fields, "note": ""})
    assert r.status_code == 422 and "Note is needed" in r.text  # the note says what was done
    r = await http.post(form.group(1), headers=LEAD.headers, data={**fields, "note": "Notice was handed over in person; recorded late."})
    assert r.status_code == 303
    html = await get(http, f"/placements/{pid}", LEAD)
    assert "Notice was handed over in person; recorded late." in html and "Resolved" in html
    # The timeline says the step kept the state, not that it went from Active to Active.
    assert "Active, unchanged" in html and "Active → Active" not in html
    (row,) = [e for e in register.escalations_of(console.engine, pid) if e.escalation_id == fields["escalation_id"]]
    assert row.resolved_by_id == LEAD.user


async def test_a_letter_to_post_is_recorded_posted_from_today(http, console):
    from domain.models import Contact
    from tests.api import test_api as api

    from .helpers import consulted, until

    cal = load_calendar(samples.SCHOOL.school_id, console.settings.calendars_dir)
    async with httpx.AsyncClient(base_url=console.url, timeout=30) as api_http:
        pid = await consulted(api_http, cal.add_school_days(today(), 9), "Quinn Hart",
                              parent_contacts=[Contact(name="Ash Hart", relationship="Parent", phone="07700 900004")])
        await api.act(api_http, pid, "notify", samples.notify(), api.HEAD)
    await until(lambda: any(d.placement_id == pid for d in sent.to_post(console.engine, samples.SCHOOL.school_id)),
                what="the notice to post")
    (doc,) = [d for d in sent.to_post(console.engine, samples.SCHOOL.school_id) if d.placement_id == pid]

    home = await get(http, "/", HEAD)
    link = f"/placements/{pid}/actions/record_delivery?document_id={doc.document_id}"
    assert link in home, home.split('aria-labelledby="letters"')[-1][:3000]
    form = await get(http, link, HEAD)
    assert f'value="{doc.document_id}"' in form
    r = await http.post(f"/placements/{pid}/actions/record_delivery", headers=HEAD.headers,
                        data={"document_id": doc.document_id, "method": "post", **keys_of(form)})
    assert r.status_code == 303, r.text[:2000]
    await until(lambda: all(d.placement_id != pid for d in sent.to_post(console.engine, samples.SCHOOL.school_id)),
                what="the notice recorded posted")
    assert "Quinn Hart" not in (await get(http, "/", HEAD)).split('aria-labelledby="letters"')[1]


async def test_today_lists_the_oldest_letters_to_post_and_says_how_many_wait(http, console):
    """A school with more letters waiting than Today lists: the oldest are
    listed with their pupil, and the page says how many wait in all."""
    from domain.models import Placement

    p = Placement(placement_id=f"placement-{uuid.uuid4()}", **proposal(pupil={"name": "Rowan Letterwait"}).model_dump())
    register.project(console.engine, p, None)
    made = datetime(2026, 1, 5, 9, tzinfo=UTC)  # before any letter the other tests send
    for n in range(23):
        sent.claim(console.engine, sent.NewDocument(
            idempotency_key=f"{p.placement_id}:{n}", placement_id=p.placement_id, event=str(n), kind="placement_notice",
            recipient_role="parent", recipient="", subject=f"Letter {n}", html="<p>as sent</p>", pdf=b"%PDF",
            sha256="0" * 64, delivery_mode="post", link_id=None, created_at=made.replace(minute=n)), status=sent.TO_POST)
    try:
        letters = (await get(http, "/", HEAD)).split('aria-labelledby="letters"')[1]
        assert letters.count("Rowan Letterwait") == 20 and "Letter 19" in letters and "Letter 20" not in letters
        (waiting,) = re.findall(r"The oldest 20 of (\d+) waiting are here", letters)
        assert int(waiting) >= 23
    finally:  # older than any other test's letter, they would push its letter off Today
        with console.engine.begin() as conn:
            conn.execute(delete(sent.DocumentRow).where(sent.DocumentRow.placement_id == p.placement_id))


async def test_a_placements_page_names_its_letters_without_the_id_their_subjects_carry(http, console):
    """A letter's subject ends in the placement's id, for the recipient's
    inbox; on the placement's own page it is left off."""
    pid = await propose(http, proposal())
    sent.claim(console.engine, sent.NewDocument(
        idempotency_key=f"{pid}:titled", placement_id=pid, event="titled", kind="placement_notice",
        recipient_role="parent", recipient="parent@family.example", subject=f"Notice of placement: {pid}",
        html="<p>as sent</p>", pdf=b"%PDF", sha256="0" * 64, delivery_mode="email", link_id=None,
        created_at=datetime.now(UTC)), status=sent.SENT)
    html = await get(http, f"/placements/{pid}", LEAD)
    letters = html.split(">Letters</h2>")[1].split("</table>")[0]
    assert "Notice of placement<br>" in letters and pid not in re.sub(r'href="[^"]*"', "", letters)
    timeline = html.split('class="apflow-timeline"')[1]
    assert ">Notice of placement</h3>" in timeline and f"Notice of placement: {pid}" not in timeline


async def test_every_posted_form_carries_the_sessions_csrf_field(http):
    """The sign-in's CSRF check reads `csrf_token` from every form posted."""
    pid = await propose(http, proposal())
    pages = ["/placements", "/placements/new", f"/placements/{pid}", f"/placements/{pid}/actions/notify",
             f"/placements/{pid}/actions/vet"]
    forms_seen = 0
    for path in pages:
        html = await get(http, path, HEAD)
        for form in re.findall(r'<form method="post".*?</form>', html, re.S):
            forms_seen += 1
            assert 'name="csrf_token"' in form, (path, form[:200])
    assert forms_seen >= 5  # the search, the proposal, the notice's upload and form, vetting


async def test_an_upload_that_is_not_a_pdf_is_refused_on_the_form(http, console):
    pid = await propose(http, proposal())
    r = await http.post(f"/placements/{pid}/documents", headers=HEAD.headers,
                        data={"kind": "notice_copy", "csrf_token": csrf_of(await get(http, f"/placements/{pid}/actions/notify", HEAD))},
                        files={"copy": ("copy.txt", b"not a letter", "text/plain")})
    assert r.status_code == 422 and "The copy must be a PDF file" in r.text
    assert [d for d in sent.for_placement(console.engine, pid) if d.status == "uploaded"] == []


async def test_a_form_posted_without_its_csrf_token_is_refused_and_changes_nothing(http, console):
    pid = await propose(http, proposal())
    page = await get(http, f"/placements/{pid}/actions/vet", LEAD)
    good = form_of(Vet, samples.vet(safeguarding_confirmation_received_on=today()), idempotency_key=key_of(page))
    for path, data in [(f"/placements/{pid}/actions/vet", good), (f"/placements/{pid}/actions/vet", {**good, "csrf_token": "forged"}),
                       ("/placements/new", form_of(Proposal, proposal())), ("/placements/search", {"pupil": "P-1"}),
                       (f"/placements/{pid}/documents", {"kind": "notice_copy"})]:
        r = await http.post(path, headers=LEAD.headers, data=data)
        assert r.status_code == 403, (path, r.status_code)
    assert register.get(console.engine, pid).state == "proposed"
    assert [d for d in sent.for_placement(console.engine, pid)] == []


async def test_a_request_the_console_refuses_is_a_page_saying_why_for_a_person_and_json_for_a_program(http):
    page = {**LEAD.headers, "Accept": "text/html,application/xhtml+xml"}
    for path, status, title, said in (
        ("/register/attendance.csv?school=1", 422, "Check what you asked for", "School: String should match pattern"),
        ("/placements?state=bogus", 422, "Check what you asked for", "State: no such state 'bogus'"),
        ("/register?school=137001", 403, "You cannot do this", "137001"),
        ("/no-such-page", 404, "Page not found", "There is no page at this address"),
    ):
        r = await http.get(path, headers=page)
        assert (r.status_code, r.headers["content-type"]) == (status, HTML), (path, r.text[:500])
        assert f"<h1 class=\"govuk-heading-l\">{title}</h1>" in r.text and said in r.text.replace("&#39;", "'"), (path, r.text)
        r = await http.get(path, headers=LEAD.headers)  # no page asked for: JSON, as before
        assert r.status_code == status and "detail" in r.json(), path
    # Its way on: back to the console's page the person came from, never to another site.
    for referer, back in ((f"{str(http.base_url).rstrip('/')}/register?state=active", "/register?state=active"),
                          ("https://elsewhere.example/register", "/")):
        r = await http.get("/placements?state=bogus", headers={**page, "Referer": referer})
        assert f'<a class="govuk-link" href="{back}">Continue</a>' in r.text, r.text

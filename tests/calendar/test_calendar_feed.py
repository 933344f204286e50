"""Each person's deadlines as an iCalendar feed at a secret URL: read back
with the `icalendar` library, holding their own deadlines, reviews and
escalations and not another school's, decided by their grants at each
read, and dead once revoked."""
from __future__ import annotations

import re
from urllib.parse import urlsplit
from datetime import UTC, datetime, time, timedelta

import icalendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from apflow import samples
from apflow.calendars import load_calendar
from apflow.settings import Settings
from domain.access import Grant
from domain.models import Role
from store import accounts
from store.calendar_feeds import CalendarFeedRow
from store.tables import EscalationRow
from tests.api import test_api as api
from tests.api.test_api import LEAD, OTHER, OTHER_LEAD, SCHOOL, expect
from tests.console.helpers import pupil, started_today, today, until

FEED = re.compile(r"^http://[^/]+/calendar-feed/apcal_[A-Za-z0-9_-]{43}\.ics$")


def person(engine, email: str, role: Role, school: str | None) -> dict:
    """An account with one role, and the bearer header of a token of theirs."""
    now = datetime.now(UTC)
    user = accounts.add_user(engine, email, email.split("@")[0], now)
    accounts.add_grant(engine, user.user_id, Grant(role, school))
    token = accounts.create_token(engine, user.user_id, "test", now, timedelta(days=1)).token
    return {"Authorization": f"Bearer {token}", "user_id": user.user_id}


def bearer(who: dict) -> dict:
    return {"Authorization": who["Authorization"]}


async def make_feed(http, who: dict) -> str:
    made = expect(await http.post("/api/me/calendar-feed", headers=bearer(who)), 201)
    assert FEED.match(made["url"]), made["url"]
    # The URL names the service's public address (APFLOW_PUBLIC_URL); the suite's server is on another port.
    return urlsplit(made["url"]).path


async def read(http, url: str) -> icalendar.Calendar:
    r = await http.get(url)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/calendar")
    return icalendar.Calendar.from_ical(r.content)


def events(cal: icalendar.Calendar) -> dict[str, icalendar.Event]:
    return {str(e["uid"]): e for e in cal.walk("VEVENT")}


def ref(pid: str) -> str:
    return pid.removeprefix("placement-")[:8]


async def test_a_feed_holds_its_owners_deadlines_and_no_other_schools(http, api_stack):
    engine = api_stack.engine
    lead = person(engine, "cal-lead@school.example", Role.ap_lead, SCHOOL)
    head = person(engine, "cal-head@school.example", Role.headteacher, SCHOOL)
    other = person(engine, "cal-other@school.example", Role.ap_lead, OTHER)
    cal = load_calendar(SCHOOL, Settings().calendars_dir)

    proposed = (await api.propose(http, pupil=pupil("Zoë Łukasiewicz")))["placement"]
    elsewhere = (await api.propose(http, who=OTHER_LEAD, pupil=pupil("Olly Elsewhere")))["placement"]
    # Active, its late notice escalated to the headteacher (§6.5), and a review booked.
    active = await started_today(http, cal, "Robin Reviewed")
    meeting = cal.nth_school_day(today() + timedelta(days=7), 1)
    await api.act(http, active, "open_review", samples.open_review(meeting))

    def late_notice_escalated():
        with Session(engine) as s:
            return s.scalar(select(EscalationRow).where(EscalationRow.placement_id == active,
                                                        EscalationRow.owner_role == "headteacher",
                                                        EscalationRow.resolved_at.is_(None))) is not None
    await until(late_notice_escalated)

    lead_url, head_url, other_url = await make_feed(http, lead), await make_feed(http, head), await make_feed(http, other)

    raw = (await http.get(lead_url)).text
    mine = events(await read(http, lead_url))
    # The vetting deadline is the AP lead's; the review meeting is everyone's who may see the placement.
    vet = mine[f"deadline-vetting--{proposed['placement_id']}@apflow"]
    assert str(vet["summary"]) == f"Vet the provider (Z.Ł., ref {ref(proposed['placement_id'])})"
    assert vet.decoded("dtstart") >= today()
    review = mine[f"review-{meeting.isoformat()}-{active}@apflow"]
    start = review.decoded("dtstart")
    assert start.date() == meeting and start.time() == time(15, 30) and str(start.tzinfo) == "Europe/London"
    assert "R.R." in str(review["summary"])
    # Nothing of the other school's, nothing that is the headteacher's.
    assert ref(elsewhere["placement_id"]) not in raw and elsewhere["placement_id"] not in raw
    assert not any("notice" in str(e["summary"]) for e in mine.values())
    # No pupil's name, date of birth or provider: initials and a reference.
    for private in ("Łukasiewicz", "Zoë", "Robin", "Reviewed", proposed["pupil"]["date_of_birth"], proposed["provider"]["name"]):
        assert private not in raw, private

    heads = events(await read(http, head_url))
    assert f"deadline-notice--{proposed['placement_id']}@apflow" in heads
    assert f"deadline-vetting--{proposed['placement_id']}@apflow" not in heads
    assert any(uid.startswith("escalation-") and active in uid for uid in heads), list(heads)
    assert f"review-{meeting.isoformat()}-{active}@apflow" in heads

    others = events(await read(http, other_url))
    assert f"deadline-vetting--{elsewhere['placement_id']}@apflow" in others
    assert not any(proposed["placement_id"] in uid or active in uid for uid in others)

    # Decided at each read: a role taken away empties the feed at once.
    accounts.remove_grant(engine, lead["user_id"], Grant(Role.ap_lead, SCHOOL))
    assert events(await read(http, lead_url)) == {}
    accounts.add_grant(engine, lead["user_id"], Grant(Role.ap_lead, SCHOOL))
    assert f"deadline-vetting--{proposed['placement_id']}@apflow" in events(await read(http, lead_url))


async def test_a_feed_stops_once_revoked_or_replaced(http, api_stack):
    engine = api_stack.engine
    who = person(engine, "cal-revoke@school.example", Role.ap_lead, SCHOOL)
    first = await make_feed(http, who)
    assert (await http.get(first)).status_code == 200
    status = expect(await http.get("/api/me/calendar-feed", headers=bearer(who)), 200)
    assert status["last_used_at"] is not None and "url" not in status

    second = await make_feed(http, who)  # a new link revokes the old one
    assert first != second
    assert (await http.get(first)).status_code == 404
    assert (await http.get(second)).status_code == 200

    assert (await http.delete("/api/me/calendar-feed", headers=bearer(who))).status_code == 204
    gone = await http.get(second)
    assert gone.status_code == 404 and "revoked" in gone.text
    assert (await http.delete("/api/me/calendar-feed", headers=bearer(who))).status_code == 404
    assert (await http.get("/api/me/calendar-feed", headers=bearer(who))).status_code == 404

    # Only the hash is kept; the URL is the token alone, and a disabled account's feed opens nothing.
    with Session(engine) as s:
        hashes = {r.token_hash for r in s.scalars(select(CalendarFeedRow).where(CalendarFeedRow.user_id == who["user_id"]))}
    assert second.rsplit("/", 1)[1].removesuffix(".ics") not in str(hashes) and len(hashes) == 2
    third = await make_feed(http, who)
    accounts.disable(engine, who["user_id"], datetime.now(UTC))
    assert (await http.get(third)).status_code == 404
    events_ = [e.event for e in accounts.events(engine, who["user_id"])]
    assert events_.count("calendar_feed_made") == 3 and "calendar_feed_revoked" in events_


async def test_a_feed_refuses_what_is_not_one_of_its_own(http):
    for path in ("/calendar-feed/apcal_" + "A" * 43 + ".ics", "/calendar-feed/nothing.ics",
                 "/calendar-feed/" + "x" * 5000 + ".ics", "/calendar-feed/%00.ics"):
        r = await http.get(path)
        assert r.status_code == 404, (path[:40], r.status_code)
    # An identity apflow keeps no account for (the trusted proxy's) cannot have a feed: its roles could not be checked later.
    r = await http.post("/api/me/calendar-feed", headers=LEAD)
    assert r.status_code == 409 and "account" in r.text
    assert (await http.post("/api/me/calendar-feed")).status_code == 401


def test_a_feeds_token_never_reaches_the_access_log():
    import logging

    from console.hardening import RedactTokens

    token = "apcal_" + "Q" * 43
    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", f"/calendar-feed/{token}.ics", "1.1", 200), None)
    RedactTokens().filter(record)
    assert token not in record.getMessage() and "/calendar-feed/…" in record.getMessage()

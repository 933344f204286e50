"""Each person's deadlines as an iCalendar feed, at a secret URL their
calendar application reads (`GET /calendar-feed/<token>.ics`), so reviews
and deadlines show in the calendar staff already use.

The URL holds the feed's token alone: no name, no school, no placement.
The token is made and revoked by its owner (`/api/me/calendar-feed`, the
console's "Your calendar" page, `apflow calendar`), and kept as a hash
(`store.calendar_feeds`). What a feed shows is decided by the server at
each request, from the owner's account and grants as they are then (a
disabled account, a revoked feed or a role taken away shows at once):

- the review meetings booked on the running placements they may see;
- those placements' deadlines from today on, and their open escalations,
  that are theirs by role at that school: the same rule as the Today page
  (`console.pages.today.owners`: the AP lead's, the headteacher's, the
  DSL's; trust operations and read-only roles see everyone's).

An event names the placement by the pupil's initials and a short
reference, never the pupil's name, date of birth, provider or anything
else the placement holds: a calendar is copied to phones and to calendar
services outside the trust. The full reference and a link to the
placement (which asks its reader to sign in) are in its description.
"""
from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import icalendar
from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from apflow.calendars import load_calendar
from domain.access import Principal
from domain.clock import uk_date
from domain.deadlines import deadlines
from domain.models import Placement, Role
from store import accounts, calendar_feeds, register
from store.accounts import TokenHolder

from .identity import PrincipalDep
from .pages.rendering import page
from .pages.today import OWNS, SEES_ALL
from .signin import csrf

log = logging.getLogger(__name__)

LONDON = ZoneInfo("Europe/London")
PATH = "/calendar-feed/"
MAX_PLACEMENTS = 2_000  # a feed's placements, soonest deadline first
MAX_ESCALATIONS = 2_000
REVIEWS_SINCE = timedelta(days=30)  # booked meetings this far back stay in the feed
REVIEW_LENGTH = timedelta(hours=1)
NOT_FOUND = "no calendar feed here: it may have been revoked (make a new one in apflow, under Your calendar)"


def initials(name: str) -> str:
    """"Zoë Łukasiewicz" → "Z.Ł."."""
    return "".join(f"{w[0].upper()}." for w in name.replace("-", " ").split() if w[0].isalpha()) or "?"


def short_ref(placement_id: str) -> str:
    """placement-7f6fbc79-… → 7f6fbc79: enough to tell a person's placements apart."""
    return placement_id.removeprefix("placement-")[:8]


def _owners_at(principal: Principal, school_id: str) -> set[str] | None:
    """Whose deadlines and escalations at this school are this person's; None: everyone's."""
    roles = principal.roles_at(school_id)
    if roles & set(SEES_ALL):
        return None
    return {OWNS[r] for r in roles if r in OWNS}


def _label(p: Placement) -> str:
    return f"{initials(p.pupil.name)}, ref {short_ref(p.placement_id)}"


def _event(uid: str, summary: str, description: str, url: str, now: datetime, *, day: date | None = None,
           start: datetime | None = None) -> icalendar.Event:
    e = icalendar.Event()
    e.add("uid", f"{uid}@apflow")
    e.add("dtstamp", now)
    e.add("summary", summary)
    e.add("description", description)
    e.add("url", url)
    e.add("class", "PRIVATE")
    e.add("transp", "TRANSPARENT")  # a deadline does not make anyone busy
    if start is not None:
        e.add("dtstart", start)
        e.add("dtend", start + REVIEW_LENGTH)
        e["transp"] = "OPAQUE"
    else:
        e.add("dtstart", day)
        e.add("dtend", day + timedelta(days=1))
    return e


def feed(engine, settings, holder: TokenHolder, now: datetime) -> bytes:
    """The feed as `holder` may see it now."""
    principal = Principal(user_id=holder.user_id, grants=holder.grants, name=holder.name)
    today = uk_date(now)
    cal = icalendar.Calendar()
    cal.add("prodid", "-//apflow//calendar feed//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "apflow: reviews and deadlines")
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    scope = principal.school_scope()
    if scope is not None and not scope:
        return cal.to_ical()  # no role at any school: nothing to see

    @cache
    def school_calendar(school_id: str):
        return load_calendar(school_id, settings.calendars_dir)

    base = settings.base_url
    rows = calendar_feeds.running_placements(engine, scope, MAX_PLACEMENTS + 1)
    if len(rows) > MAX_PLACEMENTS:
        log.warning("a calendar feed was cut at %d placements", MAX_PLACEMENTS)
        rows = rows[:MAX_PLACEMENTS]
    for row in rows:
        p = Placement.model_validate(row.data)
        link = f"{base}/placements/{p.placement_id}"
        label = _label(p)
        for m in p.review_meetings:
            if m.meeting_on < today - REVIEWS_SINCE:
                continue
            start = datetime.combine(m.meeting_on, m.starts_at, tzinfo=LONDON) if m.starts_at else None
            cal.add_component(_event(
                f"review-{m.meeting_on.isoformat()}-{p.placement_id}", f"Review meeting ({label})",
                f"Review meeting of placement {p.placement_id} (§6.8).\n{link}", link, now,
                day=m.meeting_on, start=start))
        mine = _owners_at(principal, row.school_id)
        for d in deadlines(p, school_calendar(row.school_id), settings.policy, today):
            if d.owner is Role.system or d.due < today or (mine is not None and d.owner.value not in mine):
                continue
            what = d.description[:1].upper() + d.description[1:]
            cal.add_component(_event(
                f"deadline-{d.kind}-{d.ref or ''}-{p.placement_id}", f"{what} ({label})",
                f"Due {d.due.isoformat()} for the {d.owner.value.replace('_', ' ')} ({d.clause}), "
                f"placement {p.placement_id}.\n{link}", link, now, day=d.due))
    owners_anywhere = None if scope is None or any(_owners_at(principal, s) is None for s in scope) else \
        set().union(*(_owners_at(principal, s) or set() for s in scope))
    open_ = register.open_escalations(engine, scope, owners_anywhere, limit=MAX_ESCALATIONS).rows
    names = register.by_ids(engine, {e.placement_id for e in open_})
    for e in open_:
        mine = _owners_at(principal, e.school_id)
        if (mine is not None and e.owner_role not in mine) or e.placement_id not in names:
            continue
        p = Placement.model_validate(names[e.placement_id].data)
        link = f"{base}/placements/{e.placement_id}"
        raised = uk_date(e.raised_at)
        cal.add_component(_event(
            f"escalation-{e.escalation_id}-{e.placement_id}", f"Open escalation: {e.message} ({_label(p)})",
            f"Raised {raised.isoformat()} for the {e.owner_role.replace('_', ' ')} ({e.clause}), "
            f"placement {e.placement_id}; open until resolved in apflow.\n{link}", link, now, day=raised))
    cal.add_missing_timezones()
    return cal.to_ical()


# --- routes ---------------------------------------------------------------------------------------


class FeedOut(BaseModel):
    feed_id: str
    created_at: datetime
    last_used_at: datetime | None = None


class MadeFeed(FeedOut):
    url: str  # shown once: only its token's hash is kept


def _account(engine, principal: Principal) -> accounts.UserRow:
    row = accounts.user(engine, principal.user_id)
    if row is None or not row.active:
        raise HTTPException(409, "a calendar feed belongs to an account apflow keeps (`apflow users add`): "
                                 "this identity has none, so its roles could not be checked at each read")
    return row


def feed_url(settings, token: str) -> str:
    return f"{settings.base_url}{PATH}{token}.ics"


def make_feed(engine, settings, principal: Principal) -> MadeFeed:
    user = _account(engine, principal)
    now = datetime.now(UTC)
    made = calendar_feeds.create(engine, user.user_id, now)
    accounts.record_event(engine, "calendar_feed_made", principal.user_id, now, subject_id=user.user_id, detail=made.feed_id)
    return MadeFeed(feed_id=made.feed_id, created_at=now, url=feed_url(settings, made.token))


def revoke_feed(engine, principal: Principal) -> bool:
    user = _account(engine, principal)
    now = datetime.now(UTC)
    live = calendar_feeds.live(engine, user.user_id)
    if live is None or not calendar_feeds.revoke(engine, user.user_id, now):
        return False
    accounts.record_event(engine, "calendar_feed_revoked", principal.user_id, now, subject_id=user.user_id, detail=live.feed_id)
    return True


def _live(engine, principal: Principal) -> FeedOut | None:
    row = calendar_feeds.live(engine, principal.user_id)
    return FeedOut(feed_id=row.feed_id, created_at=row.created_at, last_used_at=row.last_used_at) if row else None


def router() -> APIRouter:
    r = APIRouter(tags=["calendar"])

    @r.get(PATH + "{token}.ics", response_class=Response, responses={200: {"content": {"text/calendar": {}}}, 404: {}})
    def calendar_feed(token: str, request: Request):
        """The feed's owner's reviews, deadlines and escalations, as they may see them now (iCalendar)."""
        engine, settings = request.app.state.engine, request.app.state.settings
        now = datetime.now(UTC)
        holder = calendar_feeds.holder(engine, token, now) if len(token) <= 100 else None
        if holder is None:
            return Response(NOT_FOUND, status_code=404, media_type="text/plain", headers={"Cache-Control": "no-store"})
        return Response(feed(engine, settings, holder, now), media_type="text/calendar; charset=utf-8",
                        headers={"Cache-Control": "no-store", "Content-Disposition": 'inline; filename="apflow.ics"'})

    @r.get("/api/me/calendar-feed", response_model=FeedOut, responses={404: {}})
    def my_feed(principal: PrincipalDep, request: Request):
        """Your live calendar feed (never its URL: that is shown once, when made)."""
        live = _live(request.app.state.engine, principal)
        if live is None:
            raise HTTPException(404, "you have no calendar feed: make one with POST /api/me/calendar-feed")
        return live

    @r.post("/api/me/calendar-feed", response_model=MadeFeed, status_code=201, responses={409: {}})
    def new_feed(principal: PrincipalDep, request: Request):
        """A new calendar feed for you, revoking the one you had; its URL is shown once, here."""
        return make_feed(request.app.state.engine, request.app.state.settings, principal)

    @r.delete("/api/me/calendar-feed", status_code=204, responses={404: {}, 409: {}})
    def delete_feed(principal: PrincipalDep, request: Request):
        """Revokes your calendar feed: its URL answers nothing from now on."""
        if not revoke_feed(request.app.state.engine, principal):
            raise HTTPException(404, "you have no calendar feed to revoke")
        return Response(status_code=204)

    # --- the console's page ---------------------------------------------------------------------

    def _page(request: Request, principal: Principal, made: MadeFeed | None = None, status: int = 200,
              message: str | None = None):
        engine = request.app.state.engine
        has_account = accounts.user(engine, principal.user_id) is not None
        return page(request, "calendar_feed.html", principal, status=status, nav="calendar", made=made,
                    live=_live(engine, principal), has_account=has_account, message=message)

    @r.get("/account/calendar", include_in_schema=False)
    def calendar_page(principal: PrincipalDep, request: Request, revoked: bool = False):
        return _page(request, principal, message="Your calendar feed was revoked: its link shows nothing now." if revoked else None)

    @r.post("/account/calendar", include_in_schema=False)
    async def make_from_page(principal: csrf.FormPrincipal, request: Request):
        try:
            made = await run_in_threadpool(make_feed, request.app.state.engine, request.app.state.settings, principal)
        except HTTPException as e:
            return _page(request, principal, status=e.status_code, message=str(e.detail))
        return _page(request, principal, made=made)

    @r.post("/account/calendar/revoke", include_in_schema=False)
    async def revoke_from_page(principal: csrf.FormPrincipal, request: Request):
        try:
            await run_in_threadpool(revoke_feed, request.app.state.engine, principal)
        except HTTPException as e:
            return _page(request, principal, status=e.status_code, message=str(e.detail))
        return RedirectResponse("/account/calendar?revoked=true", status_code=303)

    return r

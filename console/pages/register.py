"""The register of every placement ever made (§3.7, §8.2.3), closed and
terminated ones too, and its downloads: the register itself, the notice to
the LA (§8.1, §13.4.1), the school census's AP placements and attendance.

Filtered as the placement list is (its form and filters, `placements`), a
page at a time; the downloads carry the same filters and go through the
same service as the JSON API (`console.exports`), so a file holds exactly
the rows the page may show. A pupil is found with a posted form, as on the
placement list: nothing about a pupil goes into this page's addresses, nor
into an export.
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool

from apflow.directory import school_names
from console import exports, paging, pictures
from console.authority import listing_scope
from console.dates import example_day
from console.exports import CensusRefused, Format, Given
from console.identity import PrincipalDep
from console.signin.csrf import FormPrincipal
from domain.lifecycle import FINAL_STATES, NOT_STARTED
from domain.models import Model, PlacementKind, PlacementState
from domain.clock import uk_date
from domain.records import RegisterEntry
from store import register
from store.register import Filters

from . import forms
from .placements import _SEARCH_FIELDS, _filter_fields, _filters, _member, school_choices, search_terms
from .rendering import long_date, page

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25
DOWNLOADS = (("register", "The register"), ("la_notice", "Notice to the LA of placements commissioned"),
             ("census", "School census: AP placements arranged by schools"))


class AttendanceDays(Model):
    """The days of the attendance download, as its form asks for them."""

    first: date
    last: date


DAYS_LABELS = {"first": "From", "last": "To"}
DAYS_LEFT_BLANK = {"first": "Enter the first day to include", "last": "Enter the last day to include"}


def _days_form(values: forms.Values, problems=()) -> tuple[list[forms.Widget], list[forms.ErrorItem]]:
    """The download's two dates, in three boxes each as every date in the console."""
    tree = forms.widgets(AttendanceDays, values)
    for w in tree:
        w.label = DAYS_LABELS[w.name]
        w.hint = (f"The first day to include, for example {example_day()}" if w.name == "first"
                  else "The last day to include: the same day or one after it")
    return tree, forms.place_errors(tree, problems)


def _given(state: str, school: str, provider: str, kind: str, overdue: str, escalated: str) -> Given:
    """The filter form's fields (those left alone are sent empty) as the exports' filters."""
    if school and not (len(school) == 6 and school.isdigit()):
        raise HTTPException(422, "school: a URN is six digits")
    return Given(_member(PlacementState, state, "state"), school or None, provider or None,
                 _member(PlacementKind, kind, "kind"), bool(overdue), bool(escalated))


def _address(given: dict) -> str:
    """The query string of these filters, for the downloads and the first page."""
    query = urlencode(given)
    return f"?{query}" if query else ""


Provider = Annotated[str, Query(max_length=200)]


def _pictures(engine, principal, entries: list[RegisterEntry], names: dict[str, str]) -> list[pictures.Picture]:
    """Every placement the viewer may see by state, school by school; and
    this page's placements against their plans."""
    today = uk_date(datetime.now(UTC))
    spans = [pictures.Span(e.pupil_name, e.start_date, e.planned_end_date,
                           min(today, e.end_date) if e.state in FINAL_STATES else today)
             for e in entries if e.state not in NOT_STARTED and e.start_date <= today]
    drawn = [pictures.placements_by_state(register.state_counts(engine, listing_scope(principal)),
                                             tuple(sorted(names.items()))),
             pictures.time_against_plan(spans)]
    return [d for d in drawn if d is not None]


@router.get("/register")
def register_page(principal: PrincipalDep, request: Request, state: str = "", school: str = "", provider: Provider = "",
                  kind: str = "", overdue: str = "", escalated: str = "", cursor: paging.Cursor = None):
    return _register(request, principal, _given(state, school, provider, kind, overdue, escalated), cursor)


def _register(request: Request, principal, given: Given, cursor: str | None = None, days: forms.Values | None = None,
              problems=(), status: int = 200):
    """The register's page under these filters, with the attendance
    download's dates as they were given and what is wrong with them."""
    result, entries = exports.register_page(request.app.state.engine, given.filters(principal), PAGE_SIZE, cursor)
    shown = _filters(given.state and given.state.value, given.school_id, given.provider, given.kind and given.kind.value,
                     given.overdue, given.escalated)
    many_schools = principal.sees_many_schools()
    names = school_names(request.app.state.settings.directory_file)
    days_tree, errors = _days_form(days or {}, problems)
    return page(
        request, "register.html", principal, status=status, nav="register", rows=entries, total=result.total,
        capped=result.capped, next_cursor=paging.encode(result.next_after) if result.next_after else None, given=shown,
        query=_address(shown), first_page=cursor is None, many_schools=many_schools,
        filter_fields=_filter_fields(tuple(sorted(shown.items())), many_schools, school_choices(principal, names)),
        downloads=DOWNLOADS, days_tree=days_tree, errors=errors,
        search_fields=_SEARCH_FIELDS,
        pictures=_pictures(request.app.state.engine, principal, entries, names),
    )


@router.post("/register/search")
async def search(principal: FormPrincipal, request: Request):
    """A pupil's placements in the register, by part of their name, their UPN
    or the school's id for them (posted, as on the placement list)."""
    pupil, cursor, error = await search_terms(request)
    rows, total, capped, next_cursor = [], 0, False, None
    if error is None:
        filters = Filters(school_ids=listing_scope(principal), pupil=pupil)
        result, rows = await run_in_threadpool(exports.register_page, request.app.state.engine, filters, PAGE_SIZE, cursor)
        total, capped = result.total, result.capped
        next_cursor = paging.encode(result.next_after) if result.next_after else None
    many_schools = principal.sees_many_schools()
    return page(request, "register_search.html", principal, status=422 if error else 200, nav="register", rows=rows,
                total=total, capped=capped, next_cursor=next_cursor, pupil=pupil, error=error, many_schools=many_schools,
                action="/register/search", heading="Find a pupil in the register",
                back={"href": "/register", "text": "The whole register"})


def _download(name: str):
    def download(principal: PrincipalDep, request: Request, fmt: Format, state: str = "", school: str = "",
                 provider: Provider = "", kind: str = "", overdue: str = "", escalated: str = ""):
        given = _given(state, school, provider, kind, overdue, escalated)
        try:
            return exports.of(request).placements(request.app.state.engine, principal, name, given, fmt).response()
        except CensusRefused as e:
            # Shown, not exported: which placements to put right, and how.
            return page(request, "census_problems.html", principal, status=409, nav="register", problems=e.problems,
                        query=_address(_filters(state, school, provider, kind, overdue, escalated)))

    download.__name__ = f"download_{name}"
    return download


for _name, _ in DOWNLOADS:
    router.get(f"/register/{_name.replace('_', '-')}.{{fmt}}")(_download(_name))


@router.get("/register/attendance.{fmt}")
def download_attendance(principal: PrincipalDep, request: Request, fmt: Format,
                        school: Annotated[str, Query(pattern=r"^([0-9]{6})?$")] = ""):
    """The attendance download, its days from the register page's form; a
    day left out, not a real one or in the wrong order is shown on that page."""
    values = forms.values_of(request.query_params)
    days, problems = forms.read(AttendanceDays, values, DAYS_LEFT_BLANK)
    if days is not None and days.last < days.first:
        days, problems = None, {"last": f"The last day must be the same as or after the first ({long_date(days.first)})"}
    if days is None:
        return _register(request, principal, Given(school_id=school or None), days=values, problems=problems, status=422)
    return exports.of(request).attendance(request.app.state.engine, principal, fmt, days.first, days.last,
                                          school or None, None).response()

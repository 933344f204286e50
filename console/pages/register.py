"""The register of every placement ever made (§3.7, §8.2.3), closed and
terminated ones too, and its downloads: the register itself, the notice to
the LA (§8.1, §13.4.1), the school census's AP placements and attendance.

Filtered as the placement list is (its form and filters, `placements`), a
page at a time; the downloads carry the same filters and go through the
same service as the JSON API (`console.exports`), so a file holds exactly
the rows the page may show. A pupil is found on the placement list, by a
posted form: nothing about a pupil goes into this page's addresses.
"""
from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request

from console import exports, paging
from console.exports import CensusRefused, Format, Given
from console.identity import PrincipalDep
from domain.models import PlacementKind, PlacementState

from .placements import _filter_fields, _filters, _member
from .rendering import page

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25
DOWNLOADS = (("register", "The register"), ("la_notice", "Notice to the LA of placements commissioned"),
             ("census", "School census: AP placements arranged by schools"))


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


@router.get("/register")
def register_page(principal: PrincipalDep, request: Request, state: str = "", school: str = "", provider: Provider = "",
                  kind: str = "", overdue: str = "", escalated: str = "", cursor: paging.Cursor = None):
    given = _given(state, school, provider, kind, overdue, escalated)
    result, entries = exports.register_page(request.app.state.engine, given.filters(principal), PAGE_SIZE, cursor)
    shown = _filters(given.state and given.state.value, school, provider, given.kind and given.kind.value,
                     given.overdue, given.escalated)
    many_schools = principal.school_scope() is None or len(principal.school_scope()) > 1
    return page(
        request, "register.html", principal, nav="register", rows=entries, total=result.total, capped=result.capped,
        next_cursor=paging.encode(result.next_after) if result.next_after else None, given=shown,
        query=_address(shown), first_page=cursor is None, many_schools=many_schools,
        filter_fields=_filter_fields(tuple(sorted(shown.items())), many_schools), downloads=DOWNLOADS,
    )


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
                        first: Annotated[date, Query(alias="from")], last: Annotated[date, Query(alias="to")],
                        school: Annotated[str, Query(pattern=r"^([0-9]{6})?$")] = ""):
    return exports.of(request).attendance(request.app.state.engine, principal, fmt, first, last, school or None,
                                          None).response()

"""The list of placements the person may see: filtered, a page at a time
(keyset, as the JSON API pages), and searched by the pupil's school id.

Filters are not about a pupil, so they live in the address; the search is,
so it is posted, and its answer is a page of its own (never cached, like
every console page), never an address.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from markupsafe import Markup

from apflow.directory import school_names
from console import paging
from console.identity import Principal, PrincipalDep
from console.signin.csrf import FormPrincipal
from domain.clock import uk_date
from domain.lifecycle import FINAL_STATES
from domain.models import PlacementKind, PlacementState
from store import register
from store.register import Filters

from . import forms
from .rendering import env, page

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25
_FIELDS = env.get_template("_placement_filters.html")
_SEARCH_FIELDS = _FIELDS.module.search_fields()


@dataclass
class ListRow:
    placement_id: str
    pupil_name: str
    school_id: str
    provider_name: str
    kind: str
    state: str
    start_date: date
    next_deadline: date | None
    overdue: bool
    open_escalations: int


def _schools(principal: Principal, school: str | None) -> set[str] | None:
    """The schools listed: the filter's, within what the person may see."""
    scope = principal.school_scope()
    if school:
        return {school} & set(scope) if scope is not None else {school}
    return None if scope is None else set(scope)


def _rows(request: Request, page_rows) -> list[ListRow]:
    today = uk_date(datetime.now(UTC))
    counts = register.open_escalation_counts(request.app.state.engine, [r.placement_id for r in page_rows])
    return [
        ListRow(r.placement_id, r.pupil_name or "", r.school_id, r.provider_name, r.kind, r.state, r.start_date,
                r.next_deadline, r.next_deadline is not None and r.next_deadline < today and r.state not in FINAL_STATES,
                counts.get(r.placement_id, 0))
        for r in page_rows
    ]


def _cursor(cursor: str | None):
    return paging.decode(cursor, lambda v: (date.fromisoformat(v[0]), str(v[1])))


def _filters(state, school, provider, kind, overdue, escalated) -> dict:
    """The filters as given (for the form and the next page's address)."""
    return {k: v for k, v in dict(state=state, school=school, provider=provider, kind=kind,
                                  overdue="yes" if overdue else None, escalated="yes" if escalated else None).items() if v}


def school_choices(principal: Principal, names: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The schools a person of many may filter by, each as (URN, its name and
    URN), in the order of their names: their own, or for a trust-wide role
    every school the directory names."""
    scope = principal.school_scope()
    ids = scope if scope is not None else names.keys()
    return tuple(sorted(((i, f"{names[i]} ({i})" if i in names else i) for i in ids), key=lambda c: c[1]))


@lru_cache(maxsize=256)
def _filter_fields(given: tuple[tuple[str, str], ...], many_schools: bool, schools: tuple[tuple[str, str], ...] = ()) -> Markup:
    """The filter form's fields for these filters, rendered once and kept
    (a provider's name typed in makes a new entry; the oldest go). With
    `schools` to choose from, the school is chosen from them (and the one
    given, if it is not among them), else typed."""
    filters = dict(given)
    school = filters.get("school")
    listed = [*schools, *([(school, school)] if school and school not in dict(schools) else [])]
    school_items = [{"value": "", "text": "Any"}] + [{"value": urn, "text": label} for urn, label in listed] if schools else []
    return _FIELDS.module.filter_fields(filters, list(PlacementState), list(PlacementKind), many_schools, school_items)


def _member(enum, value: str, name: str):
    if not value:
        return None
    try:
        return enum(value)
    except ValueError:
        raise HTTPException(422, f"{name}: no such {name} {value!r}") from None


@router.get("/placements")
def placements_list(
    principal: PrincipalDep,
    request: Request,
    state: str = "",
    school: str = "",
    provider: Annotated[str, Query(max_length=200)] = "",
    kind: str = "",
    overdue: str = "",
    escalated: str = "",
    cursor: paging.Cursor = None,
):
    """The filter form sends every field, the ones left alone empty."""
    state, kind = _member(PlacementState, state, "state"), _member(PlacementKind, kind, "kind")
    if school and not (len(school) == 6 and school.isdigit()):
        raise HTTPException(422, "school: a URN is six digits")
    overdue, escalated = bool(overdue), bool(escalated)
    today = uk_date(datetime.now(UTC))
    f = Filters(state=state.value if state else None, school_ids=_schools(principal, school), provider=provider or None,
                kind=kind.value if kind else None, overdue_on=today if overdue else None, escalated=escalated)
    result = register.placements_page(request.app.state.engine, limit=PAGE_SIZE, after=_cursor(cursor), filters=f)
    given = _filters(state and state.value, school, provider, kind and kind.value, overdue, escalated)
    many_schools = principal.sees_many_schools()
    return page(
        request, "placements.html", principal, nav="placements", rows=_rows(request, result.rows), total=result.total, capped=result.capped,
        next_cursor=paging.encode(result.next_after) if result.next_after else None, given=given, first_page=cursor is None,
        many_schools=many_schools,
        filter_fields=_filter_fields(tuple(sorted(given.items())), many_schools,
                                     school_choices(principal, school_names(request.app.state.settings.directory_file))),
        search_fields=_SEARCH_FIELDS,
    )


async def search_terms(request: Request) -> tuple[str, str | None, str | None]:
    """What a posted search asks: the pupil typed (spaces closed up), the
    cursor of the page, and the error if what was typed cannot be searched."""
    values = forms.values_of(await request.form())
    pupil = " ".join((values.get("pupil") or [""])[0].split())
    cursor = (values.get("cursor") or [None])[0] or None
    error = None if 2 <= len(pupil) <= 100 else "Enter 2 to 100 characters of the pupil's name, their UPN or school id"
    return pupil, cursor, error


@router.post("/placements/search")
async def search(principal: FormPrincipal, request: Request):
    """Placements of a pupil, by part of their name, their UPN or the school's
    id for them (posted: what is typed is about a pupil, and stays out of URLs)."""
    pupil, cursor, error = await search_terms(request)
    rows, total, capped, next_cursor = [], 0, False, None
    if error is None:
        f = Filters(school_ids=_schools(principal, None), pupil=pupil)
        result = await run_in_threadpool(register.placements_page, request.app.state.engine, limit=PAGE_SIZE,
                                         after=_cursor(cursor), filters=f)
        rows, total, capped = await run_in_threadpool(_rows, request, result.rows), result.total, result.capped
        next_cursor = paging.encode(result.next_after) if result.next_after else None
    return page(request, "search.html", principal, status=422 if error else 200, nav="placements", rows=rows,
                total=total, capped=capped, next_cursor=next_cursor, pupil=pupil, error=error)

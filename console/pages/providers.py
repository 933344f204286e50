"""The trust's providers in the console: the list, a provider's page (its
record, what has expired or soon will, its placements at the schools the
person may see, with their attendance and evaluations), and adding or
changing one through a form built from the record's own model
(`domain.providers.ProviderIn`). The same calls as the JSON API
(`console.providers_api`, `store.providers`)."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from console import paging, pictures
from console import providers_api as api
from console.identity import Principal, PrincipalDep
from console.signin.csrf import FormPrincipal
from domain.actions import Vet
from domain.checklist import CHECKLIST
from domain.evaluations import completed as evaluation_scores
from domain.evaluations import end_total
from domain.models import Placement
from domain.providers import PROVIDER_ID_PATTERN, ProviderIn, ProviderRecord, blocking, gaps, problems, status
from store import accounts
from store import providers as store

from . import forms
from .rendering import not_found, page
from .services import pupil_of

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25
STATUS = {"expired": ("Expired", "red"), "expiring": ("Expiring soon", "orange"),
          "not_vetted": ("Not fully vetted", "grey"), "current": ("Vetted and current", "green")}


def _policy(request: Request):
    return request.app.state.settings.policy


def _engine(request: Request):
    return request.app.state.engine


def list_status(row, today: date, warn_days: int) -> str:
    """A listed provider's status from its columns alone (no record read)."""
    if row.next_expiry is not None and row.next_expiry < today:
        return "expired"
    if not row.vetted:
        return "not_vetted"
    if row.next_expiry is not None and row.next_expiry <= today + timedelta(days=warn_days):
        return "expiring"
    return "current"


@router.get("/providers")
def providers_list(principal: PrincipalDep, request: Request,
                   name: Annotated[str | None, Query(max_length=100)] = None,
                   cursor: paging.Cursor = None):
    today = api.today()
    after = paging.decode(cursor, lambda v: (str(v[0]), str(v[1])))
    found = store.page(_engine(request), limit=PAGE_SIZE, after=after, name=(name or "").strip() or None)
    warn = _policy(request).providers.warn_days
    rows = [(r, STATUS[list_status(r, today, warn)]) for r in found.rows]
    return page(request, "providers.html", principal, nav="providers", rows=rows, total=found.total, today=today,
                capped=found.capped, name=name or "", may_manage=api.may_manage(principal),
                next_cursor=paging.encode(found.next_after) if found.next_after else None)


# --- a provider's page ------------------------------------------------------------


def _record(request: Request, provider_id: str) -> ProviderRecord | None:
    if not re.match(PROVIDER_ID_PATTERN, provider_id):
        return None
    return store.get(_engine(request), provider_id)


@router.get("/providers/new")
def new_provider_form(principal: PrincipalDep, request: Request):
    if not api.may_manage(principal):
        return _forbidden(request, principal)
    return _form(request, principal, values={}, post_to="/providers/new", title="Add a provider", back="/providers")


@router.post("/providers/new")
async def add_provider(principal: FormPrincipal, request: Request):
    if not api.may_manage(principal):
        return _forbidden(request, principal)
    values = forms.values_of(await request.form())
    draw = dict(post_to="/providers/new", title="Add a provider", back="/providers")
    add = (values.get("_add") or [None])[0]
    if add:
        return _form(request, principal, values=values, add=add, **draw)
    given, problems_ = forms.read(ProviderIn, values)
    if given is None:
        return _form(request, principal, values=values, problems=problems_, status=422, **draw)
    record = await run_in_threadpool(store.add, _engine(request), given, api.manager(principal), datetime.now(UTC),
                                     api.complete(given, _policy(request)))
    return RedirectResponse(f"/providers/{record.provider_id}?done=added", status_code=303)


@router.get("/providers/{provider_id}")
def provider_page(provider_id: str, principal: PrincipalDep, request: Request, done: str | None = None):
    record = _record(request, provider_id)
    if record is None:
        return not_found(request, principal, "provider")
    today, policy = api.today(), _policy(request)
    found, marks = api.placements_of(_engine(request), principal, provider_id)
    evaluated = {r.placement_id: Placement.model_validate(r.data) for r in found.rows if api.evaluated(r.data)}
    placements = [dict(placement_id=r.placement_id, school_id=r.school_id, state=r.state, kind=r.kind,
                       pupil_name=pupil_of(r), start_date=r.start_date,
                       attendance=marks.get(r.placement_id),
                       evaluation=end_total(evaluated[r.placement_id]) if r.placement_id in evaluated else None)
                  for r in found.rows]
    scored = [pictures.Scored(f"{row['pupil_name']} ({row['school_id']})", stage.value.capitalize(), on, score)
              for row in placements if row["placement_id"] in evaluated
              for stage, on, score in evaluation_scores(evaluated[row["placement_id"]])]
    drawn = [pictures.evaluation_totals(scored, "Evaluation totals across this provider's placements")]
    events = store.events(_engine(request), provider_id)
    return page(request, "provider_record.html", principal, nav="providers", r=record, today=today,
                pictures=[d for d in drawn if d is not None],
                standing=STATUS[status(record, today, policy)], problems=problems(record, today, policy.providers.warn_days),
                gaps=gaps(record, policy), stopped=bool(blocking(record, today)), placements=placements, placements_total=found.total, CHECKLIST=CHECKLIST,
                may_manage=api.may_manage(principal), events=events,
                names=accounts.names(_engine(request), {e.actor_id for e in events}),
                done={"added": "Provider added", "changed": "Provider's record changed"}.get(done or ""))


@router.get("/providers/{provider_id}/edit")
def edit_provider_form(provider_id: str, principal: PrincipalDep, request: Request):
    record = _record(request, provider_id)
    if record is None:
        return not_found(request, principal, "provider")
    if not api.may_manage(principal):
        return _forbidden(request, principal)
    values = forms.flatten(ProviderIn, record.model_dump(mode="json"))
    return _form(request, principal, values=values, **_edit(record))


def _edit(record: ProviderRecord) -> dict:
    return dict(post_to=f"/providers/{record.provider_id}/edit?version={record.version}",
                title=f"Change {record.provider.name}", back=f"/providers/{record.provider_id}")


@router.post("/providers/{provider_id}/edit")
async def edit_provider(provider_id: str, principal: FormPrincipal, request: Request,
                        version: Annotated[int | None, Query(ge=1, le=10**9)] = None):
    record = await run_in_threadpool(_record, request, provider_id)
    if record is None:
        return not_found(request, principal, "provider")
    if not api.may_manage(principal):
        return _forbidden(request, principal)
    values = forms.values_of(await request.form())
    draw = _edit(record) | {"post_to": f"/providers/{provider_id}/edit?version={version or record.version}"}
    add = (values.get("_add") or [None])[0]
    if add:
        return _form(request, principal, values=values, add=add, **draw)
    given, problems_ = forms.read(ProviderIn, values)
    if given is None:
        return _form(request, principal, values=values, problems=problems_, status=422, **draw)
    try:
        await run_in_threadpool(store.update, _engine(request), provider_id, given, api.manager(principal),
                                datetime.now(UTC), api.complete(given, _policy(request), provider_id), version)
    except store.Conflict as e:
        return _form(request, principal, values=values, problems=[("", str(e)[:1].upper() + str(e)[1:])], status=409, **draw)
    return RedirectResponse(f"/providers/{provider_id}?done=changed", status_code=303)


def _form(request: Request, principal: Principal, *, values, post_to: str, title: str, back: str,
          problems=(), add: str | None = None, status: int = 200):
    tree = forms.widgets(ProviderIn, values, add=add)
    forms.offer(tree, request.app.state.exports.choices)
    errors = forms.place_errors(tree, problems)
    return page(request, "step.html", principal, status=status, nav="providers", title=title, tree=tree, errors=errors,
                post_to=post_to, idempotency_key=None, back=back)


def _forbidden(request: Request, principal: Principal):
    return page(request, "providers.html", principal, status=403, nav="providers", forbidden=True, rows=[], total=0,
                capped=False, name="", may_manage=False, next_cursor=None)


# --- what other pages take from the list ----------------------------------------


def proposal_choices(request: Request) -> list[tuple[str, str]]:
    """The providers a proposal may pick, by name, each with its state if it blocks."""
    today, warn = api.today(), _policy(request).providers.warn_days
    found = store.page(_engine(request), limit=paging.MAX_LIMIT)
    return [(r.provider_id, r.name + (" (expired: no new placements)" if list_status(r, today, warn) == "expired" else ""))
            for r in found.rows]


def vet_values(request: Request, p: Placement, values: dict[str, list[str]]) -> tuple[dict[str, list[str]], ProviderRecord | None]:
    """A vet form opened on a placement at a provider on the list whose record
    is a complete vetting and current: filled in from the record (the
    provider as the record holds it, every check, the insurance). Otherwise as it was."""
    if p.provider_id is None:
        return values, None
    record = store.get(_engine(request), p.provider_id)
    if record is None or status(record, api.today(), _policy(request)) not in ("current", "expiring"):
        return values, None
    v = record.vetting()
    data = {"checklist": {k: c.model_dump(mode="json", exclude_none=True) for k, c in v.checklist.items()},
            "insurance": v.insurance.model_dump(mode="json") if v.insurance else None,
            "safeguarding_confirmation_received_on": v.safeguarding_confirmation_received_on.isoformat()
            if v.safeguarding_confirmation_received_on else None,
            "other_sections": v.other_sections, "provider": record.as_provider().model_dump(mode="json")}
    return {**values, **forms.flatten(Vet, {k: x for k, x in data.items() if x is not None})}, record


def expiring_for(request: Request, principal: Principal) -> list[api.ExpiringOut]:
    """For Today: the providers of the person's open placements whose
    insurance or checks have expired or soon will (AP leads and trust operations)."""
    if not api.may_manage(principal):
        return []
    return api.expiring(_engine(request), principal, _policy(request), api.today())


def proposal_widgets(request: Request, tree: list[forms.Widget]) -> list[forms.Widget]:
    """A proposal's form with its provider picked from the trust's list (a
    select of the providers by name), the provider's details kept only for
    one not on the list."""
    by_name = {w.name: w for w in tree}
    pick, details = by_name.get("provider_id"), by_name.get("provider")
    if pick is None or details is None:
        return tree
    pick.kind, pick.label = "select", "Provider (from the trust's list)"
    pick.choices = proposal_choices(request)
    pick.hint = "Its details, vetting and insurance come from its record on the list of providers."
    details.label = "Or a provider not on the list: its details"
    details.hint = "Leave blank when you pick a provider from the list."
    rest = [w for w in tree if w is not pick]
    at = rest.index(details)
    return rest[:at] + [pick] + rest[at:]

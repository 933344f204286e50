"""The commissioning agreement of a placement (policy appendix): the JSON
API and the console's pages.

- `GET/PUT /api/placements/{id}/agreement`: what the school recorded beyond
  the proposal (`domain.agreement.CommissioningAgreement`), with the signed
  copies kept;
- `GET /api/placements/{id}/agreement.pdf`: the agreement printed for
  signatures, dated the day it is made;
- `POST /api/placements/{id}/agreement/documents`: its signed copy (a PDF,
  at most `APFLOW_MAX_UPLOAD_BYTES`), kept privately like every document.

Anyone who may see the placement may read and print it; its AP lead and
headteacher record it and upload the signed copy. Every save, print and
upload is audited (`store.agreements`)."""
from __future__ import annotations

import logging
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from apflow.directory import school_contacts
from documents import agreement as printed
from domain.access import ACTION_ROLES
from domain.agreement import CommissioningAgreement
from domain.clock import uk_date
from domain.models import Actor, Placement
from store import agreements
from store.tables import PlacementRow

from .authority import actor_for_operation, visible_placement, visible_school
from .identity import Principal, PrincipalDep
from .pages import forms, wording
from .pages.rendering import not_found, page
from .pages.services import posted_file, visible
from .pages.steps import new_key
from .signin import csrf

log = logging.getLogger(__name__)

OPERATION = "record_agreement"
REFUSED = "the school's AP lead or headteacher record its commissioning agreements"
PDF_TYPE = "application/pdf"
RECORDERS = ACTION_ROLES[OPERATION]

# The form's own words for its fields (the console's labels are names in words otherwise).
wording.LABELS.update({
    "parent_phones": "Parent or carer's telephone numbers", "home": "Home", "mobile": "Mobile", "work": "Work",
    "course_offer": "Course or provision offer", "taster_date": "Agreed taster date (if applicable)",
    "social_worker_email": "Social worker email (if relevant)", "cla_adviser_email": "CLA adviser email (if relevant)",
    "yot_keyworker_email": "YOT keyworker email (if relevant)", "gp_contact": "GP contact details",
    "progress_communication": "How the AP setting will communicate progress",
    "post_16_planning": "How the placement contributes to post-16/18 planning (KS4)",
    "send_cla_health_yot": "SEND, CLA, health and YOT information", "plan_targets": "EHCP, PEP, ILP or BSP targets",
    "eal_requirement": "English as an additional language requirement", "health_requirements": "Health requirements",
    "safeguarding_process": "Agreed process for recording and informing of a safeguarding concern",
    "attendance_procedures": "Procedures for recording attendance and non-attendance",
    "academy_dsl": "Academy DSL (name, phone and email)", "transport": "Transport arrangements",
    "lunch": "Lunch arrangements (including FSM funds transfer)", "school_referrer": "School referrer",
    "ap_lead": "AP contact or lead (if not the provider's named contact)",
    "other_professional": "Other professional signing", "forward_to": "A completed copy is forwarded to",
})
wording.LONG_TEXT.update({"course_offer", "progress_communication", "post_16_planning", "send_cla_health_yot",
                          "plan_targets", "eal_requirement", "health_requirements", "safeguarding_process",
                          "attendance_procedures", "transport", "lunch"})
wording.HINTS.setdefault("parent_phones", "The proposal's number for the parent is printed as their mobile when none is given here")
wording.HINTS.setdefault("forward_to", "None chosen: the printed form lists them all")
wording.CHOICES.update({"parent_carer": "Parent or carer", "school_contact": "School contact", "ap_contact": "AP contact",
                        "la_adviser": "LA adviser", "yot_key_worker": "YOT key worker", "nhs_professional": "NHS professional",
                        "other_professional": "Other relevant professional"})


class SignedCopy(BaseModel):
    document_id: str
    uploaded_by: str
    uploaded_at: datetime
    sha256: str
    size: int


class AgreementOut(BaseModel):
    placement_id: str
    agreement: CommissioningAgreement  # empty until the school records it
    recorded: bool
    signed_copies: list[SignedCopy]  # newest first


def signed_copies(engine, placement_id: str) -> list[SignedCopy]:
    return [SignedCopy(document_id=d.document_id, uploaded_by=d.handed_over_by or "", uploaded_at=d.created_at,
                       sha256=d.sha256, size=len(d.pdf)) for d in agreements.signed_copies(engine, placement_id)]


def _out(engine, placement_id: str) -> AgreementOut:
    recorded = agreements.get(engine, placement_id)
    return AgreementOut(placement_id=placement_id, agreement=recorded or CommissioningAgreement(),
                        recorded=recorded is not None, signed_copies=signed_copies(engine, placement_id))


def pdf_problem(body: bytes, limit: int) -> str | None:
    """Why `body` is not taken as a signed copy: a PDF file, whole, within the limit."""
    if not body:
        return "choose the signed copy's PDF file"
    if len(body) > limit:
        return f"the file is larger than the {limit:,} bytes apflow takes"
    if not body.startswith(b"%PDF-") or b"%%EOF" not in body[-1024:]:
        return "the signed copy must be a PDF file (a scan saved as PDF)"
    return None


def _contacts(request: Request, p: Placement):
    try:
        return school_contacts(p.school, request.app.state.settings.directory_file)
    except Exception:  # noqa: BLE001 - the letterhead is then the school's name alone
        log.warning("the directory could not be read for the agreement's letterhead")
        return None


def _render_pdf(request: Request, row: PlacementRow, actor: Actor) -> bytes:
    p = Placement.model_validate(row.data)
    now = datetime.now(UTC)
    engine = request.app.state.engine
    doc = printed.render(p, agreements.get(engine, row.placement_id), now, uk_date(now), _contacts(request, p))
    agreements.printed(engine, row.placement_id, actor, now, doc.sha256)
    return doc.pdf


def _viewer(principal: Principal, school_id: str) -> Actor:
    actor = principal.actor_at(school_id)
    assert actor is not None  # the placement is visible to them
    return actor


def _pdf_response(pdf: bytes, placement_id: str) -> Response:
    return Response(pdf, media_type=PDF_TYPE, headers={
        # Cache-Control: no-store comes with every /api answer (console.hardening).
        "Content-Disposition": f'attachment; filename="commissioning-agreement-{placement_id}.pdf"'})


def router() -> APIRouter:
    r = APIRouter(tags=["agreement"])

    @r.get("/api/placements/{placement_id}/agreement", response_model=AgreementOut)
    def get_agreement(placement_id: str, principal: PrincipalDep, request: Request):
        """What the school recorded for the commissioning agreement beyond the
        proposal (empty until it does), and the signed copies kept."""
        visible_school(request.app.state.engine, principal, placement_id)
        return _out(request.app.state.engine, placement_id)

    @r.put("/api/placements/{placement_id}/agreement", response_model=AgreementOut)
    def put_agreement(placement_id: str, body: CommissioningAgreement, principal: PrincipalDep, request: Request):
        """Records the agreement's fields (replacing what was recorded before)."""
        engine = request.app.state.engine
        row = visible_placement(engine, principal, placement_id)
        actor = actor_for_operation(principal, row.school_id, OPERATION, REFUSED)
        if Placement.model_validate(row.data).final:
            raise HTTPException(409, f"the placement is {row.state}: its agreement is kept as it was")
        agreements.save(engine, placement_id, body, actor, datetime.now(UTC))
        return _out(engine, placement_id)

    @r.get("/api/placements/{placement_id}/agreement.pdf", response_class=Response,
           responses={200: {"content": {PDF_TYPE: {}}}})
    def agreement_pdf(placement_id: str, principal: PrincipalDep, request: Request):
        """The agreement printed for signatures, dated today: the proposal's
        details and what the school recorded, a line for each field still blank."""
        row = visible_placement(request.app.state.engine, principal, placement_id)
        return _pdf_response(_render_pdf(request, row, _viewer(principal, row.school_id)), placement_id)

    @r.post("/api/placements/{placement_id}/agreement/documents", response_model=SignedCopy, status_code=201,
            openapi_extra={"requestBody": {"required": True, "content": {PDF_TYPE: {"schema": {"type": "string", "format": "binary"}}}}})
    async def upload_signed(placement_id: str, principal: PrincipalDep, request: Request):
        """Keeps the signed copy of the agreement (the request's body, a PDF)."""
        engine = request.app.state.engine
        row = await run_in_threadpool(visible_placement, engine, principal, placement_id)
        actor = actor_for_operation(principal, row.school_id, OPERATION, REFUSED)
        if request.headers.get("content-type", "").split(";")[0].strip() != PDF_TYPE:
            raise HTTPException(415, "send the signed copy as the request body, with Content-Type: application/pdf")
        body = await request.body()  # bounded by the API's edge (console.hardening)
        problem = pdf_problem(body, request.app.state.settings.max_upload_bytes)
        if problem:
            raise HTTPException(413 if problem.startswith("the file is larger") else 422, problem)
        doc = await run_in_threadpool(agreements.add_signed, engine, placement_id, body, actor, datetime.now(UTC))
        return SignedCopy(document_id=doc.document_id, uploaded_by=doc.handed_over_by or "",
                          uploaded_at=doc.created_at, sha256=doc.sha256, size=len(doc.pdf))

    # --- the console's pages ---------------------------------------------------

    def _form(request: Request, principal: Principal, row: PlacementRow, values, status: int = 200,
              problems=(), upload_error: str | None = None):
        tree = forms.widgets(CommissioningAgreement, values, add=(values.get("_add") or [None])[0])
        return page(request, "agreement.html", principal, status=status, title="Commissioning agreement",
                    placement=Placement.model_validate(row.data), tree=tree, errors=forms.place_errors(tree, problems),
                    post_to=f"/placements/{row.placement_id}/agreement", back=f"/placements/{row.placement_id}",
                    idempotency_key=new_key(), upload_error=upload_error,
                    signed=agreements.signed_copies(request.app.state.engine, row.placement_id))

    @r.get("/placements/{placement_id}/agreement", include_in_schema=False)
    def agreement_form(placement_id: str, principal: PrincipalDep, request: Request):
        row = visible(request, principal, placement_id)
        if row is None:
            return not_found(request, principal, "placement")
        recorded = agreements.get(request.app.state.engine, placement_id)
        values = forms.flatten(CommissioningAgreement, recorded.model_dump(mode="json") if recorded else {})
        return _form(request, principal, row, values)

    @r.post("/placements/{placement_id}/agreement", include_in_schema=False)
    async def save_agreement(placement_id: str, principal: csrf.FormPrincipal, request: Request):
        row = await run_in_threadpool(visible, request, principal, placement_id)
        if row is None:
            return not_found(request, principal, "placement")
        values = forms.values_of(await request.form())
        if values.get("_add"):
            return _form(request, principal, row, values)
        data, problems = forms.read(CommissioningAgreement, values)
        if data is None:
            return _form(request, principal, row, values, status=422, problems=problems)
        actor = principal.actor_at(row.school_id, OPERATION)
        if actor is None or actor.role not in RECORDERS:
            return _form(request, principal, row, values, status=403,
                         problems=[("", "The school's AP lead or headteacher record its commissioning agreements")])
        if Placement.model_validate(row.data).final:
            return _form(request, principal, row, values, status=409,
                         problems=[("", f"The placement is {wording.phrase(row.state)}: its agreement is kept as it was")])
        await run_in_threadpool(agreements.save, request.app.state.engine, placement_id, data, actor, datetime.now(UTC))
        return RedirectResponse(f"/placements/{placement_id}?agreement=saved#agreement", status_code=303)

    @r.post("/placements/{placement_id}/agreement/documents", include_in_schema=False)
    async def upload_signed_form(placement_id: str, principal: PrincipalDep, request: Request):
        settings = request.app.state.settings
        row, _, body = await posted_file(request, principal, placement_id, "signed_copy")
        if row is None:
            return not_found(request, principal, "placement")
        actor = principal.actor_at(row.school_id, OPERATION)
        if actor is None or actor.role not in RECORDERS:
            problem = "The school's AP lead or headteacher keep its signed agreements"
        else:
            problem = pdf_problem(body, settings.max_upload_bytes)
        if problem:
            recorded = agreements.get(request.app.state.engine, placement_id)
            values = forms.flatten(CommissioningAgreement, recorded.model_dump(mode="json") if recorded else {})
            return _form(request, principal, row, values, status=422, upload_error=problem[:1].upper() + problem[1:])
        await run_in_threadpool(agreements.add_signed, request.app.state.engine, placement_id, body, actor,
                                datetime.now(UTC))
        return RedirectResponse(f"/placements/{placement_id}?agreement=signed#agreement", status_code=303)

    return r

"""Staff routes for what was sent and for providers' links.

- the documents of a placement, each as sent (HTML, and the PDF recipients keep);
- the links given to its provider: list them, issue one by hand (attendance
  links, or a new link when an old one expired), withdraw one;
- the trust's directory pushed again to a school's running placements.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from apflow.directory import school_contacts
from apflow.settings import Settings
from documents import LinkPurpose, issue_link
from documents.links import link_url
from domain.access import Principal
from domain.clock import uk_date, uk_instant
from domain.lifecycle import FINAL_STATES
from domain.models import Placement
from store import documents as sent
from store import register

from workflows import client as placements

from .authority import actor_for_operation, visible_placement, visible_school
from .identity import IdempotencyKey, PrincipalDep, SchoolPath

_LINKS_REFUSED = "the school's AP lead or headteacher manage its providers' links"


def copy_on_file(engine, placement_id: str, action) -> str | None:
    """Why a step's `given_outside` cannot be taken: its copy must be one
    uploaded for this placement (RULES, Words: "recorded ... with a copy")."""
    outside = getattr(action, "given_outside", None)
    if outside is None:
        return None
    row = sent.get(engine, placement_id, outside.copy_document_id)
    if row is None or row.status != sent.UPLOADED:
        return f"no uploaded copy {outside.copy_document_id} on this placement: upload the copy first (POST /api/placements/{placement_id}/documents)"
    return None


class DocumentOut(BaseModel):
    document_id: str
    kind: str
    recipient_role: str
    recipient: str
    subject: str
    status: str  # sent, sending, failed, unconfirmed, to_post, posted, handed_over or uploaded (see store.documents)
    failure: str | None = None  # why it could not be sent
    created_at: datetime
    sent_at: datetime | None
    sha256: str  # of the PDF
    link_id: str | None


class DocumentDetail(DocumentOut):
    html: str


class LinkOut(BaseModel):
    link_id: str
    purpose: str
    expires_at: datetime
    issued_at: datetime
    issued_by: str
    revoked_at: datetime | None
    used_at: datetime | None


class NewLink(BaseModel):
    purpose: LinkPurpose
    valid_days: Annotated[int, Field(ge=1, le=366)] = 14


class IssuedLink(LinkOut):
    url: str


class DirectoryReload(BaseModel):
    school_id: str
    placements_told: int


def _doc(row: sent.DocumentRow) -> dict:
    return dict(
        document_id=row.document_id, kind=row.kind, recipient_role=row.recipient_role, recipient=row.recipient,
        subject=row.subject, status=row.status, created_at=row.created_at, sent_at=row.sent_at,
        sha256=row.sha256, link_id=row.link_id, failure=row.failure,
    )


def _link(row: sent.ProviderLinkRow) -> dict:
    return dict(
        link_id=row.link_id, purpose=row.purpose, expires_at=row.expires_at, issued_at=row.issued_at,
        issued_by=row.issued_by, revoked_at=row.revoked_at, used_at=row.used_at,
    )


# What a link given by hand may be for: a provider's (an evaluation's parts have
# their own buttons; a parent's written views go with the review's invitation).
BY_HAND = (LinkPurpose.attendance, LinkPurpose.initial_assessment, LinkPurpose.progress_report, LinkPurpose.final_report)


def link_id_for(placement_id: str, issued_by: str, key: str | None) -> str:
    """A new link's id; with a key (a form's own, or a request's
    Idempotency-Key) the same one for the same key from the same person, so
    a form sent again or a retried request finds the link the first one made
    instead of giving a second."""
    if key is None:
        return f"lnk-{uuid.uuid4().hex[:24]}"
    return f"lnk-{uuid.uuid5(uuid.NAMESPACE_URL, chr(10).join(('link', placement_id, issued_by, key))).hex[:24]}"


def issue_by_hand(settings: Settings, engine, placement_id: str, purpose: LinkPurpose, issued_by: str,
                  valid_days: int, now: datetime | None = None, key: str | None = None) -> tuple[str, sent.ProviderLinkRow]:
    """A signed link for the placement, working to the end of the day
    `valid_days` after today (as a letter's link works to the end of a day):
    its URL (never stored: signed again from the row for a repeated key) and
    its row, which lets staff withdraw it."""
    now = now or datetime.now(UTC)
    link_id = link_id_for(placement_id, issued_by, key)
    expires = uk_instant(uk_date(now) + timedelta(days=valid_days), time(23, 59))
    sent.add_link(engine, link_id, placement_id, purpose.value, expires, now, issued_by)
    row = sent.get_link(engine, link_id)
    token = issue_link(settings.link_secrets, placement_id, row.purpose, row.expires_at, link_id)
    return link_url(settings.base_url, row.purpose, token), row


def router(settings: Settings) -> APIRouter:
    r = APIRouter(tags=["documents"])

    def staff_of(request: Request, placement_id: str, principal: Principal, operation: str, refusal: str):
        """The placement and who this person acts as on it for `operation`."""
        row = visible_placement(request.app.state.engine, principal, placement_id)
        return row, actor_for_operation(principal, row.school_id, operation, refusal)

    def document(request: Request, placement_id: str, document_id: str, principal: Principal) -> sent.DocumentRow:
        visible_school(request.app.state.engine, principal, placement_id)
        row = sent.get(request.app.state.engine, placement_id, document_id)
        if row is None:
            raise HTTPException(404, f"no document {document_id} on placement {placement_id}")
        return row

    @r.get("/api/placements/{placement_id}/documents", response_model=list[DocumentOut])
    def list_documents(placement_id: str, principal: PrincipalDep, request: Request):
        """Every document sent for the placement, oldest first, with the hash of its PDF."""
        visible_school(request.app.state.engine, principal, placement_id)
        return [DocumentOut(**_doc(d)) for d in sent.listed_for(request.app.state.engine, placement_id)]

    # Declared before the route without ".pdf", whose id would otherwise swallow the suffix.
    @r.get("/api/placements/{placement_id}/documents/{document_id}.pdf", response_class=Response,
           responses={200: {"content": {"application/pdf": {}}}})
    def document_pdf(placement_id: str, document_id: str, principal: PrincipalDep, request: Request):
        """The PDF exactly as it was sent."""
        row = document(request, placement_id, document_id, principal)
        name = f"{row.kind.replace('_', '-')}-{row.document_id}.pdf"
        return Response(row.pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})

    @r.get("/api/placements/{placement_id}/documents/{document_id}", response_model=DocumentDetail)
    def document_detail(placement_id: str, document_id: str, principal: PrincipalDep, request: Request):
        """One document: when and to whom it went, and its HTML as sent."""
        row = document(request, placement_id, document_id, principal)
        return DocumentDetail(**_doc(row), html=row.html)

    @r.post("/api/placements/{placement_id}/documents", response_model=DocumentOut, status_code=201,
            openapi_extra={"requestBody": {"required": True, "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
    async def upload_copy(placement_id: str, kind: Annotated[str, Query(pattern="^(notice_copy|invitation_copy)$")],
                          principal: PrincipalDep, request: Request):
        """Keep the copy of a notice or invitation the school gave by hand or by
        post (a PDF, at most `APFLOW_MAX_UPLOAD_BYTES`); its id goes in the step's `given_outside`."""
        _, actor = await run_in_threadpool(staff_of, request, placement_id, principal, "upload_copy",
                                           "the school's AP lead or headteacher keep the copies of its letters")
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/pdf":
            raise HTTPException(415, "send the copy as the request body, with Content-Type: application/pdf")
        body = await request.body()  # its size is bounded by the API's edge (console.hardening)
        if not body.startswith(b"%PDF-"):
            raise HTTPException(422, "the copy is not a PDF file")
        row = await run_in_threadpool(sent.add_copy, request.app.state.engine, placement_id, kind, body,
                                      actor.user_id, datetime.now(UTC))
        return DocumentOut(**_doc(row))

    @r.get("/api/schools/{school_id}/letters-to-post", response_model=list[DocumentOut])
    def letters_to_post(school_id: SchoolPath, principal: PrincipalDep, request: Request):
        """The school's letters for parents with no email address, oldest first:
        print each (its PDF) and post it, then record it posted on its placement
        (`record_delivery`), from when the clock counts it as given."""
        actor_for_operation(principal, school_id, "post_letters", "the school's AP lead or headteacher post its letters")
        return [DocumentOut(**_doc(d)) for d in sent.to_post(request.app.state.engine, school_id)]

    @r.get("/api/placements/{placement_id}/links", response_model=list[LinkOut])
    def list_links(placement_id: str, principal: PrincipalDep, request: Request):
        visible_school(request.app.state.engine, principal, placement_id)
        return [LinkOut(**_link(x)) for x in sent.links_for(request.app.state.engine, placement_id)]

    @r.post("/api/placements/{placement_id}/links", response_model=IssuedLink, status_code=201)
    def new_link(placement_id: str, body: NewLink, principal: PrincipalDep, request: Request,
                 idempotency_key: IdempotencyKey = None):
        """A link for the provider, given by hand: for attendance, or in place
        of one that expired. The URL is not stored. With an Idempotency-Key, a
        retried request answers with the link the first one made."""
        row, actor = staff_of(request, placement_id, principal, "manage_links", _LINKS_REFUSED)
        if row.state in FINAL_STATES:
            raise HTTPException(409, f"the placement is {row.state}: its provider is asked for nothing more")
        if body.purpose is LinkPurpose.review_views:
            raise HTTPException(422, "a parent's link for written views goes with the review invitation, for that meeting (§6.8): it is not issued by hand")
        url, row = issue_by_hand(settings, request.app.state.engine, placement_id, body.purpose, actor.user_id,
                                 body.valid_days, key=idempotency_key)
        return IssuedLink(**_link(row), url=url)

    @r.post("/api/placements/{placement_id}/links/{link_id}/revoke", response_model=LinkOut)
    def revoke(placement_id: str, link_id: str, principal: PrincipalDep, request: Request):
        """Withdraws a link at once: the provider's next use of it is refused."""
        _, actor = staff_of(request, placement_id, principal, "manage_links", _LINKS_REFUSED)
        engine = request.app.state.engine
        row = sent.get_link(engine, link_id)
        if row is None or row.placement_id != placement_id:
            raise HTTPException(404, f"no link {link_id} on placement {placement_id}")
        sent.revoke_link(engine, link_id, actor.user_id, datetime.now(UTC))
        return LinkOut(**_link(sent.get_link(engine, link_id)))

    @r.post("/api/schools/{school_id}/directory/reload", response_model=DirectoryReload, tags=["operations"])
    async def reload_directory(school_id: SchoolPath, principal: PrincipalDep, request: Request):
        """Reads the trust's directory again and gives the school's entry to
        each of its running placements: their letters use it from then on."""
        actor_for_operation(principal, school_id, "reload_directory",
                            "the trust's operations staff or the school's own staff reload its directory entry")

        def running() -> tuple[list[str], object]:
            rows = register.running(request.app.state.engine, school_id)
            if not rows:
                return [], None
            # One school, one entry.
            return [r.placement_id for r in rows], school_contacts(Placement.model_validate(rows[0].data).school, settings.directory_file)

        ids, entry = await run_in_threadpool(running)
        told = await placements.tell(request.app.state.client, ids, "directory_changed", entry) if ids else 0
        return DirectoryReload(school_id=school_id, placements_told=told)

    return r

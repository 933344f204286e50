"""The codec endpoint the Temporal Web UI calls to show a placement's history
decrypted: `POST /temporal-codec/decode`, Temporal's codec-server protocol
(`{"payloads": [{"metadata": {name: base64}, "data": base64}]}` in and out).

Only the trust's operations staff, signed in to the console, are answered:
the UI's page (another origin) sends the console's session cookie with the
request ("include cross-origin credentials"), and CORS allows exactly the
UI's origin (`APFLOW_TEMPORAL_UI_ORIGIN`), with credentials. A bearer token
or the sign-in proxy's headers open nothing here: the UI holds neither, and
a script with a token reads placements through the API, which hides nothing
it may see. Decoding changes nothing, so it needs no CSRF token: another
site's page can neither pass the origin check nor read an answer.

`encode` is not offered: it would let whoever holds a session make payloads
the workflows take for apflow's own (an update or signal under any actor,
past the API's checks). The UI needs it only for its write actions
(signal, start, reset), which are to be off for apflow's namespace.
"""
from __future__ import annotations

import logging
import zlib
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from pydantic import BaseModel, ConfigDict, Field
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payload, Payloads

from apflow.temporal import REFUSED_ENCODING, EncryptionCodec
from domain.access import Principal
from domain.models import Role

from .identity import session_principal

PATH = "/temporal-codec"
# What the UI sends beside the body (its namespace in X-Namespace).
_REQUEST_HEADERS = ["Content-Type", "X-Namespace"]
# A history page's worth; more in one request is refused (422).
MAX_PAYLOADS = 1_000
log = logging.getLogger("apflow.codec")


# Bytes in proto3 JSON: base64, standard or URL-safe, padded or not.
Base64 = Annotated[str, Field(pattern=r"^[A-Za-z0-9+/_-]*={0,2}$")]


class PayloadJSON(BaseModel):
    """A payload as the codec protocol spells it: proto3 JSON, bytes as base64."""

    model_config = ConfigDict(extra="forbid")
    metadata: dict[Annotated[str, Field(max_length=200)], Base64] = {}
    data: Base64 = ""


class PayloadsJSON(BaseModel):
    model_config = ConfigDict(extra="forbid")
    payloads: Annotated[list[PayloadJSON], Field(max_length=MAX_PAYLOADS)]


def operations_staff(request: Request) -> Principal:
    """The signed-in person, from the console's session cookie alone, if they
    hold the trust's operations role; 401 signed out, 403 anyone else."""
    staff = session_principal(request)
    if staff is None:
        raise HTTPException(401, "sign in to apflow as the trust's operations staff first, in this browser")
    if not any(g.role is Role.trust_operations for g in staff.grants):
        raise HTTPException(403, "only the trust's operations staff may read decrypted histories")
    return staff


OperationsStaff = Annotated[Principal, Depends(operations_staff)]
router = APIRouter(prefix=PATH, tags=["temporal web ui"])


@router.post("/decode", response_model=PayloadsJSON, responses={
    401: {"description": "Not signed in"}, 403: {"description": "Signed in without the trust's operations role"}})
async def decode(body: PayloadsJSON, staff: OperationsStaff, request: Request) -> JSONResponse:
    """Each payload decrypted with the trust's keys; one apflow did not
    encrypt (or no configured key did) is given back as it came."""
    try:
        given = json_format.ParseDict(body.model_dump(), Payloads())
    except json_format.ParseError:
        raise HTTPException(422, "payloads: metadata values and data are base64") from None
    codec: EncryptionCodec = request.app.state.payload_codec
    out = Payloads(payloads=[await _decoded(codec, p) for p in given.payloads])
    log.info("%s decoded %d payloads for the Temporal Web UI", staff.user_id, len(out.payloads))
    return JSONResponse(json_format.MessageToDict(out), headers={"Cache-Control": "no-store"})


async def _decoded(codec: EncryptionCodec, given: Payload) -> Payload:
    """`given` decrypted; as it came when apflow did not encrypt it, or when
    what a key decrypts is no payload (made by someone else holding the key)."""
    if not codec.encrypted(given):  # a search attribute, say: nothing to decrypt, nothing to warn of
        return given
    try:
        [decoded] = await codec.decode([given])
    except (zlib.error, DecodeError):
        return given
    return given if decoded.metadata.get("encoding") == REFUSED_ENCODING else decoded


@router.post("/encode", status_code=403, responses={403: {"description": "Never offered"}})
def encode() -> None:
    """Refused to everyone: see the module's note."""
    raise HTTPException(403, "encode is not offered: payloads are written by apflow alone")


class CodecCORS:
    """CORS on the codec's path only, allowing the UI's origin with
    credentials; every other path keeps the browser's same-origin rule."""

    def __init__(self, app: ASGIApp, ui_origin: str):
        self.app = app
        self.cors = CORSMiddleware(app, allow_origins=[ui_origin], allow_methods=["POST"],
                                   allow_headers=_REQUEST_HEADERS, allow_credentials=True, max_age=600)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path == PATH or path.startswith(PATH + "/")):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def install(app: FastAPI, settings) -> None:
    """The routes and their CORS; `create_app` calls it before the hardening
    middleware, which is told to let the UI's origin post here."""
    app.state.payload_codec = EncryptionCodec(settings.codec_keys)
    app.add_middleware(CodecCORS, ui_origin=settings.ui_origin)
    app.include_router(router)

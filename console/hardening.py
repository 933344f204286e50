"""What every request and response passes through, whatever its route:

- a body larger than the service takes is refused (413) before it is read
  into memory, whether it says its length or streams it;
- a state-changing request sent by a page of another site (its `Origin`
  names a site other than apflow's own) is refused (403): a form on another
  site cannot revoke a link or reload a calendar with a signed-in browser;
- every response forbids framing and sniffing, sends no referrer (a
  provider's token is in its URL) and, for the API and providers' pages,
  is never cached;
- providers' tokens and password-reset secrets never reach the access log.
"""
from __future__ import annotations

import json
import logging
import re
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Scripts and styles of the API's own docs pages are inline.
_DOCS = ("/docs", "/redoc")
_CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
_PRIVATE = ("/api/", "/provider/", "/views/", "/evaluation/")
_TOKEN = re.compile(r"(/provider/|/views/|/evaluation/|/reset-password/|/calendar-feed/)[^\s?\"/]+")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class Hardening:
    """ASGI middleware; `max_body` bytes for any request, `max_upload` for
    the routes that take a document (`POST …/documents`)."""

    def __init__(self, app: ASGIApp, public_url: str, max_body: int, max_upload: int,
                 cross_origin: dict[str, str] | None = None):
        self.app = app
        self.origin = _origin(public_url)
        # Paths another site's page may post to, each with the one origin it
        # may come from (the Temporal Web UI's, to the codec endpoint).
        self.cross_origin = {prefix: origin.lower() for prefix, origin in (cross_origin or {}).items()}
        self.max_body = max_body
        self.max_upload = max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        method, path = scope["method"], scope["path"]
        if method in UNSAFE_METHODS and "origin" in headers and headers["origin"].lower() not in self._own(headers, path):
            await _answer(send, 403, "a request from another site's page is refused: use apflow itself")
            return
        limit = self.max_upload if method == "POST" and path.endswith("/documents") else self.max_body
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _answer(send, 413, f"the request is larger than the {limit:,} bytes this service takes")
            return

        received, refused = 0, False

        async def limited() -> Message:
            # A streamed body past the limit: answer 413 at once and tell the
            # app the client left, so it stops reading; what it sends is dropped.
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit and not refused:
                    refused = True
                    await _answer(send, 413, f"the request is larger than the {limit:,} bytes this service takes")
                    return {"type": "http.disconnect"}
            return message

        async def secured(message: Message) -> None:
            if refused:
                return
            if message["type"] == "http.response.start":
                extra = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                         (b"referrer-policy", b"no-referrer")]
                if not path.startswith(_DOCS):
                    extra.append((b"content-security-policy", _CSP.encode()))
                if path.startswith(_PRIVATE):
                    extra.append((b"cache-control", b"no-store"))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        try:
            await self.app(scope, limited, secured)
        except Exception:
            if not refused:
                raise  # the error handler outside answers it

    def _own(self, headers: dict[str, str], path: str) -> set[str]:
        host = headers.get("host", "")
        also = {o for prefix, o in self.cross_origin.items() if path.startswith(prefix)}
        return {self.origin, f"http://{host}".lower(), f"https://{host}".lower(), *also}


async def _answer(send: Send, status: int, message: str) -> None:
    body = json.dumps({"detail": {"message": message}}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class RedactTokens(logging.Filter):
    """Replaces a provider's token in a log record's arguments (uvicorn's
    access log names every path) with an ellipsis."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_TOKEN.sub(r"\1…", a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = _TOKEN.sub(r"\1…", record.msg)
        return True


def install(app, settings, cross_origin: dict[str, str] | None = None) -> None:
    """Wraps the app; called once by `create_app`."""
    app.add_middleware(Hardening, public_url=settings.base_url, max_body=settings.max_request_bytes,
                       max_upload=settings.max_upload_bytes, cross_origin=cross_origin)
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactTokens) for f in access.filters):
        access.addFilter(RedactTokens())

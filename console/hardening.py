"""What every request and response passes through, whatever its route:

- a body larger than the service takes is refused (413) before it is read
  into memory, whether it says its length or streams it;
- a state-changing request sent by a page of another site (its `Origin`
  names a site other than apflow's own) is refused (403): a form on another
  site cannot revoke a link or reload a calendar with a signed-in browser;
- every response forbids framing and sniffing, sends no referrer (a
  provider's token is in its URL) and, for the API and providers' pages,
  is never cached;
- text no person types is refused (422) before any route reads it: a
  control character (tab, newline and carriage return aside) or an unpaired
  surrogate, in a JSON or form body or the query string. Nothing could
  write it whole (PostgreSQL takes no NUL, UTF-8 no lone surrogate) and a
  letter would print it as a box;
- providers' tokens and password-reset secrets never reach the access log.
"""
from __future__ import annotations

import json
import logging
import re
from urllib.parse import parse_qsl, urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Scripts and styles of the API's own docs pages are inline.
_DOCS = ("/docs", "/redoc")
_CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
_PRIVATE = ("/api/", "/provider/", "/views/", "/evaluation/")
_TOKEN = re.compile(r"(/provider/|/views/|/evaluation/|/reset-password/|/calendar-feed/)[^\s?\"/]+")
_UNTYPED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_READ_BODIES = ("application/json", "application/x-www-form-urlencoded")  # a document's multipart is the file's


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

        # A browser's page or form (not the API's JSON) is answered with a page.
        page = not path.startswith("/api/") and "text/html" in headers.get("accept", "")
        found = _untyped_in("query", parse_qsl(scope.get("query_string", b"").decode("utf-8", errors="replace"), keep_blank_values=True))
        if found:
            await _refuse_text(send, found, page)
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

        inner = limited
        if method in UNSAFE_METHODS and headers.get("content-type", "").split(";")[0].strip().lower() in _READ_BODIES:
            # Read whole (it is within the limit) to be checked, then given to the route as it came.
            body, more = b"", True
            while more and not refused:
                message = await limited()
                if message["type"] != "http.request":
                    break
                body += message.get("body", b"")
                more = message.get("more_body", False)
            if refused:
                return
            found = _untyped_in("body", _body_values(body, headers["content-type"]))
            if found:
                await _refuse_text(send, found, page)
                return
            inner = _replay(body, receive)

        try:
            await self.app(scope, inner, secured)
        except Exception:
            if not refused:
                raise  # the error handler outside answers it

    def _own(self, headers: dict[str, str], path: str) -> set[str]:
        host = headers.get("host", "")
        also = {o for prefix, o in self.cross_origin.items() if path.startswith(prefix)}
        return {self.origin, f"http://{host}".lower(), f"https://{host}".lower(), *also}


def _body_values(body: bytes, content_type: str):
    """The body's values as the route would read them; none when it is not
    what it says (the route refuses it then, as it always has)."""
    try:
        if content_type.lower().startswith("application/json"):
            return json.loads(body)
        return parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than a parser goes
        return None


def _untyped_in(where: str, value) -> tuple[tuple, str] | None:
    """Where in `value` (JSON, or a query string's or a form's (name, value)
    pairs) text no person types first stands, and the character; none if
    nowhere. Walked with a stack of its own: JSON may nest deeper than Python recurses."""
    stack = [((where,), value)]
    while stack:
        path, v = stack.pop()
        if isinstance(v, str):
            found = _UNTYPED.search(v)
            if found:
                return path, found.group()
            continue
        if isinstance(v, dict):
            items = list(v.items())
        elif isinstance(v, list) and v and all(isinstance(x, tuple) for x in v):
            items = v  # (name, value) pairs: JSON holds no tuples
        elif isinstance(v, list):
            items = list(enumerate(v))
        else:
            continue
        for key, inner in reversed(items):  # the first in the body is found first
            stack.append(((*path, key), inner))
            if isinstance(key, str):
                stack.append((path, key))
    return None


async def _refuse_text(send: Send, found: tuple[tuple, str], page: bool) -> None:
    """422 in FastAPI's own shape for an invalid request (`HTTPValidationError`);
    to a browser's form (`page`), the console's page saying the same."""
    loc, char = found
    what = "an unpaired surrogate" if "\ud800" <= char <= "\udfff" else "a control character"
    code = f"U+{ord(char):04X}"
    if page:
        from .pages.rendering import env  # the console's templates, which import much of the app

        field = next((str(part) for part in reversed(loc) if isinstance(part, str)), "the form")
        body = env.get_template("untyped_text.html").render(principal=None, field=field, what=what, code=code).encode()
        kind = b"text/html; charset=utf-8"
    else:
        detail = [{"loc": list(loc), "type": "string_pattern_mismatch",
                   "msg": f"{what} ({code}) is not text a person types: take it out and send again"}]
        body, kind = json.dumps({"detail": detail}).encode(), b"application/json"
    await send({"type": "http.response.start", "status": 422,
                "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body already read, once; then whatever the client sends (its disconnect)."""
    given = False

    async def again() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()
    return again


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

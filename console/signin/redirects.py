"""A person whose browser asks for a page without being signed in is sent
to the sign-in page, which brings them back afterwards (`next`, a local
path only); the JSON API, and anything that does not ask for HTML, keeps
its 401. A refused form gets a page saying so."""
from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response

from console.identity import NotSignedIn

from . import pages
from .csrf import FormRefused


def wants_page(request: Request) -> bool:
    path = request.url.path
    return not (path == "/api" or path.startswith("/api/")) and "text/html" in request.headers.get("accept", "")


async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
    if not wants_page(request):
        return await http_exception_handler(request, exc)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    query = urlencode({"next": here}) if pages.local_path(here, "") else ""
    return RedirectResponse("/sign-in" + (f"?{query}" if query else ""), status_code=303)


async def form_refused(request: Request, exc: FormRefused) -> Response:
    return pages.refusal(request, 403, "This form could not be sent",
                         "This form has expired or did not come from apflow, so nothing was changed. "
                         "Go back, reload the page and send it again.", again=None)

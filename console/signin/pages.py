"""Rendering the sign-in pages (`console/templates/signin/`, on the console's
`layout.html`), and the one rule for where a page may send a person next."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader

_templates = Environment(loader=FileSystemLoader(str(Path(__file__).parent.parent / "templates")), autoescape=True)

# Sign-in pages hold form tokens, codes and secrets: no cache keeps them.
NO_STORE = {"Cache-Control": "no-store"}

Errors = dict[str, str]  # a field's id -> what is wrong with it, in the page's order


def render(request: Request, template: str, status: int = 200, headers: dict[str, str] | None = None,
           **context) -> HTMLResponse:
    context.setdefault("errors", {})
    html = _templates.get_template(f"signin/{template}").render(request=request, **context)
    return HTMLResponse(html, status_code=status, headers={**NO_STORE, **(headers or {})})


def refusal(request: Request, status: int, title: str, message: str, *, again: str | None = "/sign-in",
            headers: dict[str, str] | None = None) -> HTMLResponse:
    """A page that says what was refused and why, and where to go from here."""
    return render(request, "refused.html", status, headers, title=title, message=message, again=again)


def local_path(candidate: str | None, default: str = "/") -> str:
    """`candidate` when it is a path on this site, else `default`: a `next`
    taken from a URL must never send a person to another site (an open
    redirect would lend apflow's name to a phishing page)."""
    if not candidate or len(candidate) > 2000 or not candidate.startswith("/"):
        return default
    # `//host` and `/\host` are other sites to a browser; control characters
    # and spaces are stripped by some before they parse the rest.
    if candidate.startswith("//") or "\\" in candidate or any(c <= " " or c == "\x7f" for c in candidate):
        return default
    parts = urlsplit(candidate)
    if parts.scheme or parts.netloc:
        return default
    if parts.path.startswith("/sign-in"):
        return default  # back to the sign-in page would be a loop
    return candidate

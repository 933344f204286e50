"""A browser for the sign-in tests, over httpx.

apflow's cookies are `Secure`; a real browser keeps them for https and for
localhost, but httpx sends none over plain http, so this one takes each
`Secure` cookie apflow sets and holds it for the test server too. Each
browser connects from an address of its own on the loopback network
(127.0.x.y), so the throttle counts each one's failures apart, as it would
different people's."""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from urllib.parse import urljoin, urlsplit

import httpx

_addresses = itertools.count()
PAGE = {"Accept": "text/html,application/xhtml+xml"}
JSON = {"Accept": "application/json"}


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").lower()))
        elif tag == "input" and self.forms and a.get("name"):
            self.forms[-1].fields[a["name"]] = a.get("value", "")


def forms(html: str) -> list[Form]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form token"
    return found.group(1)


def error_links(html: str) -> dict[str, str]:
    """The error summary: each message by the field it links to."""
    summary = re.search(r'class="govuk-error-summary".*?</ul>', html, re.S)
    return dict(re.findall(r'<a href="#([\w-]+)">([^<]+)</a>', summary.group(0))) if summary else {}


def _deleting(morsel) -> bool:
    """A cookie set to expire at once: how a server deletes one."""
    if morsel["max-age"]:
        return int(morsel["max-age"]) <= 0
    return bool(morsel["expires"]) and parsedate_to_datetime(morsel["expires"]) <= datetime.now(UTC)


class Browser:
    def __init__(self, base_url: str) -> None:
        n = next(_addresses)
        self.address = f"127.0.{1 + n // 250}.{2 + n % 250}"
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.set_cookies: list[str] = []  # every Set-Cookie apflow sent, as sent
        self.http = httpx.AsyncClient(
            base_url=base_url, headers=PAGE, timeout=30,
            transport=httpx.AsyncHTTPTransport(local_address=self.address),
            event_hooks={"response": [self._hold_secure_cookies]},
        )

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.http.aclose()

    async def _hold_secure_cookies(self, response: httpx.Response) -> None:
        if (response.url.host, response.url.port) != (self.host, self.port):
            return
        for header in response.headers.get_list("set-cookie"):
            self.set_cookies.append(header)
            parsed = SimpleCookie()
            parsed.load(header)
            for name, morsel in parsed.items():
                if morsel["secure"] and not _deleting(morsel):
                    self.http.cookies.set(name, morsel.value, domain=self.host, path=morsel["path"] or "/")

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.http.cookies.jar if c.name == name and c.domain == self.host), None)

    def last_set_cookie(self, name: str) -> str:
        return next(h for h in reversed(self.set_cookies) if h.startswith(f"{name}="))

    async def get(self, url: str, **kw) -> httpx.Response:
        return await self.http.get(url, **kw)

    async def post_form(self, page: httpx.Response, url: str | None = None, **fields: str) -> httpx.Response:
        """Posts the page's form with its hidden fields and these."""
        form = forms(page.text)[0]
        target = urljoin(str(page.url), url or form.action or str(page.url))
        return await self.http.post(target, data={**form.fields, **fields})

    async def api_status(self) -> int:
        """What the JSON API says to this browser's session."""
        return (await self.http.get("/api/placements", headers=JSON)).status_code

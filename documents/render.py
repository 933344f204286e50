"""Templates to HTML and PDF, refusing a document that lacks what the policy
requires of it.

`RenderedDocument.sha256` is the hash of the PDF bytes: the PDF is what the
recipient keeps, so it is what a record of "this notice was sent" should
point at. Rendering is deterministic for the same context (the PDF's creation
date is the document's `issued_on`), so a retried activity gets the same hash.

A provider's link is a live credential, so it has two renderings. `render`
makes the copy that is kept (the register's HTML, and the PDF, which is also
the message's attachment): it names the link by its id and expiry and never
holds its URL, whatever the template. `message_html` makes the email body as
it leaves, the one place the URL (and its signed token) is written.
"""
from __future__ import annotations

import hashlib
import html as html_lib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timezone
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined

from .formatting import FILTERS, as_date
from .kinds import KINDS, DocumentKind, MissingItem
from .pdf import html_to_pdf

TEMPLATE_DIR = Path(__file__).parent / "templates"


class UnknownDocumentKind(KeyError):
    pass


class DocumentIncomplete(ValueError):
    """The context lacks items the policy requires; nothing was rendered."""

    def __init__(self, kind: str, missing: list[MissingItem]) -> None:
        self.kind = kind
        self.missing = missing
        items = "; ".join(str(m) for m in missing)
        super().__init__(f"{kind} cannot be sent: missing {items}")


@dataclass(frozen=True)
class RenderedDocument:
    kind: str
    subject: str
    html: str
    pdf: bytes
    sha256: str  # of `pdf`

    @property
    def filename(self) -> str:
        return f"{self.kind.replace('_', '-')}.pdf"


def plain(value: Any) -> Any:
    """Mappings, sequences and pydantic models as dicts and lists, so contexts
    can be completed and filtered without touching the caller's objects."""
    if hasattr(value, "model_dump"):
        return plain(value.model_dump())
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def _fill(node: Any, keys: list[str]) -> None:
    """Set the optional path `keys` to None where it is absent."""
    head, rest = keys[0], keys[1:]
    if head == "*":
        if isinstance(node, list) and rest:
            for item in node:
                _fill(item, rest)
        return
    if not isinstance(node, dict):
        return
    if not rest:
        node.setdefault(head, None)
    elif node.get(head) is not None:
        _fill(node[head], rest)


def _kind(kind: str) -> DocumentKind:
    try:
        return KINDS[str(kind)]
    except KeyError:
        raise UnknownDocumentKind(str(kind)) from None


def prepare(kind: str, context: Mapping[str, Any]) -> dict[str, Any]:
    spec = _kind(kind)
    ctx = plain(context)
    if spec.only is not None:
        ctx = {k: v for k, v in ctx.items() if k in spec.only}
    for path in spec.optional:
        _fill(ctx, path.split("."))
    return ctx


def missing_items(kind: str, context: Mapping[str, Any]) -> list[MissingItem]:
    """What the policy requires of this document that `context` lacks, so a
    caller can refuse an action before anything is sent."""
    return _kind(kind).missing(prepare(kind, context))


class Renderer:
    """Renders the package's templates; a trust's own folder, if given, is
    searched first so it can reword any template (or the shared layout)."""

    def __init__(self, template_dir: Path | str | None = None) -> None:
        loaders = [FileSystemLoader(str(template_dir))] if template_dir else []
        loaders.append(FileSystemLoader(str(TEMPLATE_DIR)))
        self.env = Environment(
            loader=ChoiceLoader(loaders),
            # A field a template names but the context lacks is an error,
            # never a blank in a statutory notice.
            undefined=StrictUndefined,
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(FILTERS)

    def missing_items(self, kind: str, context: Mapping[str, Any]) -> list[MissingItem]:
        return missing_items(kind, context)

    def _complete(self, kind: str, context: Mapping[str, Any]) -> tuple[DocumentKind, dict[str, Any]]:
        spec = _kind(kind)
        ctx = prepare(kind, context)
        missing = spec.missing(ctx)
        if missing:
            raise DocumentIncomplete(spec.name.value, missing)
        return spec, ctx

    def render(self, kind: str, context: Mapping[str, Any]) -> RenderedDocument:
        """The document as it is kept and attached: a provider's link appears
        by its id and expiry only (see `message_html` for the link itself)."""
        spec, ctx = self._complete(kind, context)
        if isinstance(ctx.get("link"), dict):
            # Its URL carries the signed token: anyone who read the kept copy could answer with it.
            ctx["link"] = {**ctx["link"], "url": None}
        template = self.env.get_template(spec.template)
        html = template.render(ctx)
        block = template.blocks.get("subject")
        subject = " ".join(html_lib.unescape("".join(block(template.new_context(ctx)))).split()) if block else ""
        if not subject:
            raise ValueError(f"{spec.template} gives no subject line")
        issued = as_date(ctx["issued_on"])
        school = ctx.get("school") or {}
        pdf = html_to_pdf(
            html,
            title=subject,
            footer=f"Reference {ctx['placement_id']}",
            created=datetime.combine(issued, time(0), tzinfo=timezone.utc),
            author=school.get("name") or "",
        )
        return RenderedDocument(spec.name.value, subject, html, pdf, hashlib.sha256(pdf).hexdigest())

    def message_html(self, kind: str, context: Mapping[str, Any]) -> str:
        """The email body as it leaves: the document with the provider's link
        (`link.url`) written out. Never store it; the kept copy is `render`'s."""
        spec, ctx = self._complete(kind, context)
        return self.env.get_template(spec.template).render(ctx)


@lru_cache(maxsize=1)
def default_renderer() -> Renderer:
    return Renderer()


def render(kind: str, context: Mapping[str, Any]) -> RenderedDocument:
    """Render `kind` with the package's templates; raises `DocumentIncomplete`
    naming every missing item and its clause."""
    return default_renderer().render(kind, context)

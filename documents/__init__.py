"""The policy's letters and messages: templates, rendering to HTML and PDF,
delivery (outbox or SMTP) and signed links for providers."""
from .delivery import AcceptanceUnknown, Delivery, DeliverySettings, OutgoingDocument, RecipientRole, deliver
from .kinds import KINDS, Kind, MissingItem
from .links import (
    LinkClaims,
    LinkError,
    LinkExpired,
    LinkPurpose,
    LinkRevoked,
    LinkTampered,
    LinkWrongPlacement,
    LinkWrongPurpose,
    issue_link,
    verify_link,
)
from .render import DocumentIncomplete, RenderedDocument, Renderer, UnknownDocumentKind, missing_items, render

__all__ = [
    "KINDS",
    "AcceptanceUnknown",
    "Delivery",
    "DeliverySettings",
    "DocumentIncomplete",
    "Kind",
    "LinkClaims",
    "LinkError",
    "LinkExpired",
    "LinkPurpose",
    "LinkRevoked",
    "LinkTampered",
    "LinkWrongPlacement",
    "LinkWrongPurpose",
    "MissingItem",
    "OutgoingDocument",
    "RecipientRole",
    "RenderedDocument",
    "Renderer",
    "UnknownDocumentKind",
    "deliver",
    "issue_link",
    "missing_items",
    "render",
    "verify_link",
]

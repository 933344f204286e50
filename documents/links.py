"""Signed, expiring links for providers, who have no accounts (§12: they
report attendance, the initial assessment, progress and the final report),
and for parents' written views before a review (§6.8).

A token is scoped to one placement and one purpose, carries its own expiry,
and a link id the caller can revoke. The claims are signed, not encrypted:
they hold ids only, never personal data. Time is always passed in.
"""
from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from itsdangerous import BadData, BadSignature, URLSafeSerializer
from itsdangerous.encoding import base64_decode, base64_encode

from domain.letters import LinkPurpose

_SALT = "apflow.provider-link.v1"  # keeps these tokens apart from anything else signed with the secret




@dataclass(frozen=True)
class LinkClaims:
    placement_id: str
    purpose: LinkPurpose
    expires_at: datetime
    link_id: str


class LinkError(Exception):
    """Base of every refusal; messages carry no token content."""


class LinkTampered(LinkError):
    pass


class LinkExpired(LinkError):
    pass


class LinkWrongPurpose(LinkError):
    pass


class LinkWrongPlacement(LinkError):
    pass


class LinkRevoked(LinkError):
    pass


Secret = str | bytes | Sequence[str | bytes]


def _serializer(secret: Secret) -> URLSafeSerializer:
    # A list of secrets (oldest first) lets a rotated secret still verify
    # links already sent; new links are signed with the last one.
    keys: Any = list(secret) if isinstance(secret, (list, tuple)) else secret
    return URLSafeSerializer(keys, salt=_SALT)


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment


def canonical(token: str) -> bool:
    """Whether the token is exactly as `issue_link` writes it: an optional
    "." (compressed claims), the claims and the signature, each unpadded
    URL-safe base64 that encodes back to itself. Base64 leaves unused bits in
    a final character, so several spellings decode to the same bytes; only
    one of them was issued, and any other is an altered link."""
    parts = token[1:].split(".") if token.startswith(".") else token.split(".")
    if len(parts) != 2:
        return False
    try:
        return all(part and base64_encode(base64_decode(part)).decode("ascii") == part for part in parts)
    except (BadData, UnicodeError):
        return False


def issue_link(
    secret: Secret, placement_id: str, purpose: LinkPurpose | str, expires_at: datetime, link_id: str
) -> str:
    """The token to put in the provider's URL (it is URL-safe)."""
    exp = int(_aware(expires_at, "expires_at").timestamp())
    claims = {"p": placement_id, "u": LinkPurpose(purpose).value, "e": exp, "l": link_id}
    return _serializer(secret).dumps(claims)


def verify_link(
    secret: Secret,
    token: str,
    now: datetime,
    *,
    purpose: LinkPurpose | str,
    placement_id: str | None = None,
    revoked: Container[str] = frozenset(),
) -> LinkClaims:
    """Claims of a genuine, current token for `purpose` (and `placement_id`,
    when the URL names one). Checked in order: signature, scope, revocation,
    expiry. A token spelled otherwise than it was issued (`canonical`) is
    refused as tampered, even where its bytes would verify."""
    if not canonical(token):
        raise LinkTampered("link is not genuine")
    try:
        raw = _serializer(secret).loads(token)
        claims = LinkClaims(
            placement_id=str(raw["p"]),
            purpose=LinkPurpose(raw["u"]),
            expires_at=datetime.fromtimestamp(int(raw["e"]), tz=timezone.utc),
            link_id=str(raw["l"]),
        )
    except (BadSignature, KeyError, TypeError, ValueError):
        raise LinkTampered("link is not genuine") from None
    if claims.purpose != LinkPurpose(purpose):
        raise LinkWrongPurpose("link is for another purpose")
    if placement_id is not None and claims.placement_id != placement_id:
        raise LinkWrongPlacement("link is for another placement")
    if claims.link_id in revoked:
        raise LinkRevoked("link has been withdrawn")
    if _aware(now, "now") >= claims.expires_at:
        raise LinkExpired("link has expired")
    return claims


def provider_url(base_url: str, token: str) -> str:
    """Where a provider opens its link: the service's public address and the token."""
    return f"{base_url.rstrip('/')}/provider/{token}"


def views_url(base_url: str, token: str) -> str:
    """Where a parent opens the link for their written views before a review (§6.8)."""
    return f"{base_url.rstrip('/')}/views/{token}"


def evaluation_url(base_url: str, token: str) -> str:
    """Where the pupil, a parent or the provider answers their part of an evaluation."""
    return f"{base_url.rstrip('/')}/evaluation/{token}"


def link_url(base_url: str, purpose: LinkPurpose | str, token: str) -> str:
    """The page a link of `purpose` opens: a parent's views, a part of an
    evaluation, or a provider's answer."""
    purpose = LinkPurpose(purpose)
    if purpose is LinkPurpose.review_views:
        return views_url(base_url, token)
    return (evaluation_url if purpose.value.startswith("evaluation_") else provider_url)(base_url, token)

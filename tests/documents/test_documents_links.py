from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from documents import (
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

SECRET = "test-secret-not-for-production"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
EXPIRES = NOW + timedelta(days=7)
PLACEMENT = "placement-6f1c2e8a"


def token(purpose=LinkPurpose.progress_report, expires=EXPIRES, secret=SECRET, link_id="link-1") -> str:
    return issue_link(secret, PLACEMENT, purpose, expires, link_id)


def test_valid_link_gives_its_claims():
    t = token()
    assert "/" not in t and "+" not in t  # goes in a URL as it is
    claims = verify_link(SECRET, t, NOW, purpose="progress_report", placement_id=PLACEMENT)
    assert claims == LinkClaims(PLACEMENT, LinkPurpose.progress_report, EXPIRES, "link-1")


def test_expired_link():
    t = token()
    verify_link(SECRET, t, EXPIRES - timedelta(seconds=1), purpose=LinkPurpose.progress_report)
    with pytest.raises(LinkExpired):
        verify_link(SECRET, t, EXPIRES, purpose=LinkPurpose.progress_report)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-5] + ("A" if t[-5] != "A" else "B") + t[-4:],  # signature changed (a character whose bits all count)
        lambda t: ("e" if t[0] != "e" else "f") + t[1:],  # payload changed
        lambda t: t.split(".")[0],  # signature cut off
        lambda t: "not a token",
    ],
)
def test_tampered_link(mangle):
    with pytest.raises(LinkTampered):
        verify_link(SECRET, mangle(token()), NOW, purpose=LinkPurpose.progress_report)


ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def respelled(t: str) -> str:
    """The token with its last character swapped for another that decodes to
    the same bytes: the signature's last base64 character carries bits that
    no byte uses, and changing only those changes nothing the signer sees."""
    last = ALPHABET.index(t[-1])
    return t[:-1] + ALPHABET[last ^ 1]


def test_a_token_spelled_otherwise_than_issued_is_refused():
    from itsdangerous import URLSafeSerializer
    from itsdangerous.encoding import base64_decode

    from documents.links import _SALT, canonical

    t = token()
    other = respelled(t)
    assert other != t
    # The same bytes: the signature alone would accept it...
    assert base64_decode(other.rsplit(".", 1)[1]) == base64_decode(t.rsplit(".", 1)[1])
    assert URLSafeSerializer(SECRET, salt=_SALT).loads(other) == URLSafeSerializer(SECRET, salt=_SALT).loads(t)
    # ...but it is not the link that was issued.
    assert canonical(t) and not canonical(other)
    with pytest.raises(LinkTampered):
        verify_link(SECRET, other, NOW, purpose=LinkPurpose.progress_report)
    for bad in ("", ".", "a.b.c", t + "=", t.replace(".", ".."), t + "\n"):
        assert not canonical(bad), bad
        with pytest.raises(LinkTampered):
            verify_link(SECRET, bad, NOW, purpose=LinkPurpose.progress_report)


def test_every_issued_token_is_canonical_and_verifies():
    from documents.links import canonical

    for n in range(200):
        t = token(link_id=f"link-{n}", expires=EXPIRES + timedelta(seconds=n))
        assert canonical(t)
        assert verify_link(SECRET, t, NOW, purpose=LinkPurpose.progress_report).link_id == f"link-{n}"


def test_link_signed_with_another_secret_is_tampered():
    with pytest.raises(LinkTampered):
        verify_link(SECRET, token(secret="someone-else"), NOW, purpose=LinkPurpose.progress_report)


def test_wrong_purpose():
    with pytest.raises(LinkWrongPurpose):
        verify_link(SECRET, token(LinkPurpose.attendance), NOW, purpose=LinkPurpose.final_report)


def test_wrong_placement():
    with pytest.raises(LinkWrongPlacement):
        verify_link(SECRET, token(), NOW, purpose=LinkPurpose.progress_report, placement_id="placement-other")


def test_revoked_by_link_id():
    revoked = {"link-1"}
    with pytest.raises(LinkRevoked):
        verify_link(SECRET, token(link_id="link-1"), NOW, purpose=LinkPurpose.progress_report, revoked=revoked)
    verify_link(SECRET, token(link_id="link-2"), NOW, purpose=LinkPurpose.progress_report, revoked=revoked)


def test_errors_are_distinct_and_share_a_base():
    kinds = {LinkTampered, LinkExpired, LinkWrongPurpose, LinkWrongPlacement, LinkRevoked}
    assert len(kinds) == 5 and all(issubclass(k, LinkError) for k in kinds)
    assert not issubclass(LinkExpired, LinkTampered) and not issubclass(LinkWrongPurpose, LinkExpired)


def test_rotated_secret_still_verifies_links_already_sent():
    old = token(secret="old-secret")
    rotated = ["old-secret", "new-secret"]  # newest last
    verify_link(rotated, old, NOW, purpose=LinkPurpose.progress_report)
    fresh = issue_link(rotated, PLACEMENT, LinkPurpose.progress_report, EXPIRES, "link-3")
    verify_link("new-secret", fresh, NOW, purpose=LinkPurpose.progress_report)


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        issue_link(SECRET, PLACEMENT, LinkPurpose.attendance, datetime(2026, 3, 9), "link-1")
    with pytest.raises(ValueError):
        verify_link(SECRET, token(), datetime(2026, 3, 2), purpose=LinkPurpose.progress_report)


def test_unknown_purpose_is_refused_when_issuing():
    with pytest.raises(ValueError):
        issue_link(SECRET, PLACEMENT, "homework", EXPIRES, "link-1")

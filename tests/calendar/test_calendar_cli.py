"""`apflow calendar` as an operator runs it: the real command in a process
of its own, against a register in a temporary folder, read back through
the store and the feed's own reader."""
from __future__ import annotations

import re
from datetime import UTC, datetime

from store import accounts, calendar_feeds
from tests.test_users_cli import cli  # noqa: F401


def test_a_feed_is_printed_once_and_opens_nothing_once_revoked(cli):  # noqa: F811
    cli("users", "add", "robin@school.example", "--role", "ap_lead", "--school", "137000")
    assert "has no calendar feed" in cli("calendar", "status", "robin@school.example").stdout

    made = cli("calendar", "make", "robin@school.example").stdout.strip().splitlines()
    url = made[-1]
    assert re.fullmatch(r"http://[^/]+/calendar-feed/apcal_[A-Za-z0-9_-]{43}\.ics", url), url
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    holder = calendar_feeds.holder(cli.engine, token, datetime.now(UTC))
    assert holder is not None and holder.user_id == accounts.user_by_email(cli.engine, "robin@school.example").user_id
    assert token not in cli("calendar", "status", "robin@school.example").stdout  # shown once, when made

    assert "revoked" in cli("calendar", "revoke", "robin@school.example").stdout
    assert calendar_feeds.holder(cli.engine, token, datetime.now(UTC)) is None
    assert "no calendar feed to revoke" in cli("calendar", "revoke", "robin@school.example", code=1).stderr
    assert "no account" in cli("calendar", "make", "nobody@school.example", code=1).stderr
    assert [e for e, actor, _ in cli.events() if e.startswith("calendar_")] == ["calendar_feed_made", "calendar_feed_revoked"]

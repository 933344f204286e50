"""Calendar feeds: a secret URL per person that their calendar application
reads. The secret is random (256 bits), shown once when the feed is made
and kept only as its SHA-256, like API tokens (`store.accounts`). A person
has at most one live feed: making a new one revokes the old. The feed
names its owner only; what it shows is worked out at each request from
the owner's account and grants as they are then."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, ForeignKey, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from .accounts import TOUCH_EVERY, TokenHolder, UserRow, digest, grants_of
from .tables import Base, Instant

PREFIX = "apcal_"


class CalendarFeedRow(Base):
    __tablename__ = "calendar_feeds"

    feed_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"), index=True)
    created_at: Mapped[datetime] = mapped_column(Instant())
    revoked_at: Mapped[datetime | None] = mapped_column(Instant())
    last_used_at: Mapped[datetime | None] = mapped_column(Instant())


@dataclass(frozen=True)
class CreatedFeed:
    feed_id: str
    token: str  # shown once: only its hash is kept


def _session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)


def create(engine: Engine, user_id: str, now: datetime) -> CreatedFeed:
    """A new feed for the user, revoking any they had."""
    feed_id, token = "cal-" + secrets.token_hex(6), PREFIX + secrets.token_urlsafe(32)
    with _session(engine) as s, s.begin():
        s.execute(update(CalendarFeedRow).where(CalendarFeedRow.user_id == user_id, CalendarFeedRow.revoked_at.is_(None))
                  .values(revoked_at=now))
        s.add(CalendarFeedRow(feed_id=feed_id, token_hash=digest(token), user_id=user_id, created_at=now))
    return CreatedFeed(feed_id, token)


def live(engine: Engine, user_id: str) -> CalendarFeedRow | None:
    """The user's live feed, if they have one."""
    with _session(engine) as s:
        return s.scalar(select(CalendarFeedRow).where(CalendarFeedRow.user_id == user_id,
                                                      CalendarFeedRow.revoked_at.is_(None)))


def revoke(engine: Engine, user_id: str, now: datetime) -> bool:
    """Revokes the user's live feed; False when they had none."""
    with _session(engine) as s, s.begin():
        return s.execute(update(CalendarFeedRow).where(CalendarFeedRow.user_id == user_id,
                                                       CalendarFeedRow.revoked_at.is_(None))
                         .values(revoked_at=now)).rowcount > 0


def holder(engine: Engine, token: str, now: datetime) -> TokenHolder | None:
    """Whose live feed this token opens (an active account), with their
    grants as they are now; None for any other token."""
    if not token.startswith(PREFIX) or len(token) > 100:
        return None
    with _session(engine) as s:
        row = s.scalar(select(CalendarFeedRow).where(CalendarFeedRow.token_hash == digest(token)))
        if row is None or row.revoked_at is not None:
            return None
        user = s.get(UserRow, row.user_id)
        if user is None or user.disabled_at is not None:
            return None
        stale = row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY
        feed_id, name = row.feed_id, user.name
    if stale:
        with engine.begin() as c:
            c.execute(update(CalendarFeedRow).where(CalendarFeedRow.feed_id == feed_id).values(last_used_at=now))
    return TokenHolder(row.user_id, name, grants_of(engine, row.user_id))


def running_placements(engine: Engine, school_ids, limit: int) -> list:
    """Running placements at these schools (none: every school), soonest
    next deadline first, at most `limit`: what a feed's deadlines come from."""
    from domain.lifecycle import FINAL_STATES

    from .tables import PlacementRow

    t = PlacementRow
    q = select(t).where(t.state.not_in(sorted(FINAL_STATES)))
    if school_ids is not None:
        q = q.where(t.school_id.in_(sorted(school_ids)))
    q = q.order_by(t.next_deadline.is_(None), t.next_deadline, t.placement_id).limit(limit)
    with _session(engine) as s:
        return list(s.scalars(q))

"""Parents' written views before a review (§6.8), as they sent them through
the link in the review invitation: one row per link, so a link answers once
however often the answer is sent."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Engine, Index, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import insert_for
from .tables import Base, Instant


class ReviewViewsRow(Base):
    __tablename__ = "review_views"
    __table_args__ = (Index("ix_review_views_placement", "placement_id", "meeting_on", "received_at"),)

    link_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    placement_id: Mapped[str] = mapped_column(String(64))
    meeting_on: Mapped[date] = mapped_column(Date)  # the review meeting the views are for
    views: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(Instant())


def add(engine: Engine, link_id: str, placement_id: str, meeting_on: date, views: str, at: datetime) -> bool:
    """Keeps the views sent through a link; False when that link's are kept already."""
    stmt = insert_for(engine.dialect.name, ReviewViewsRow).values(
        link_id=link_id, placement_id=placement_id, meeting_on=meeting_on, views=views, received_at=at,
    ).on_conflict_do_nothing(index_elements=["link_id"])
    with engine.begin() as conn:
        return conn.execute(stmt).rowcount == 1


def for_placement(engine: Engine, placement_id: str) -> list[ReviewViewsRow]:
    """A placement's written views, by meeting, oldest first."""
    q = (select(ReviewViewsRow).where(ReviewViewsRow.placement_id == placement_id)
         .order_by(ReviewViewsRow.meeting_on, ReviewViewsRow.received_at))
    with Session(engine) as s:
        return list(s.scalars(q))

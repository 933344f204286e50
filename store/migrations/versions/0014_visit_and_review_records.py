"""placement_contacts.record: a progress visit's whole record; review_views: parents' written views

A visit recorded with its progress record (the policy appendix) keeps the
record with its contact, which the workflow drops once its projection has
stored it. Parents' written views before a review (§6.8), sent through the
link in the review invitation, are kept one per link.

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-02 20:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("placement_contacts") as batch:
        batch.add_column(sa.Column("record", sa.JSON(), nullable=True))
    op.create_table(
        "review_views",
        sa.Column("link_id", sa.String(64), primary_key=True),
        sa.Column("placement_id", sa.String(64), nullable=False),
        sa.Column("meeting_on", sa.Date(), nullable=False),
        sa.Column("views", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_review_views_placement", "review_views", ["placement_id", "meeting_on", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_review_views_placement", table_name="review_views")
    op.drop_table("review_views")
    with op.batch_alter_table("placement_contacts") as batch:
        batch.drop_column("record")

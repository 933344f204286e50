"""documents: drop the index on status alone, which ix_documents_status_kind
(status, kind) serves as well: one index less to write with every letter

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 09:30:00
"""
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_documents_status", "documents")


def downgrade() -> None:
    op.create_index("ix_documents_status", "documents", ["status"])

"""audit: keyed (HMAC) chain with a key id per event; append-only triggers on SQLite too

Events already in the table keep their unkeyed SHA-256 hashes (hash_key NULL): `gmc audit verify` checks them
as the chain's prefix, and the first keyed event's link seals them.

Revision ID: 0002_audit_hmac
Revises: 0001_foundation
Create Date: 2026-12-06 14:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002_audit_hmac'
down_revision = '0001_foundation'
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = {
    "audit_event_no_update": "UPDATE",
    "audit_event_no_delete": "DELETE",
}


def upgrade() -> None:
    # Plain ADD COLUMN (not a batch copy of the table), so no event is rewritten.
    op.add_column('audit_event', sa.Column('hash_key', sa.String(length=16), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        for name, operation in SQLITE_TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {operation} ON audit_event BEGIN "
                f"SELECT RAISE(ABORT, 'audit_event is append-only: {operation} refused'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        # SQLite drops a column by copying the table, which needs the triggers gone (done above).
        with op.batch_alter_table('audit_event', schema=None) as batch_op:
            batch_op.drop_column('hash_key')
    else:
        op.drop_column('audit_event', 'hash_key')

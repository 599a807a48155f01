"""Reporting: review rules per centre (a centre's turnaround target and MDT rule override the programme's
defaults, which stay as the rows without a centre), so a centre's admin changes only its own centre's rules.

Revision ID: 0702_reporting_centre_rules
Revises: 0701_reporting
Create Date: 2026-12-07 20:45:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0702_reporting_centre_rules'
down_revision = '0701_reporting'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('review_rule', schema=None) as batch_op:
        batch_op.add_column(sa.Column('centre_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_review_rule_centre_id_centre'), 'centre', ['centre_id'], ['id'])
        batch_op.drop_constraint('uq_review_rule_programme_arm', type_='unique')
        batch_op.create_unique_constraint('uq_review_rule_centre_arm', ['centre_id', 'programme_arm'])
    op.create_index('uq_review_rule_default_arm', 'review_rule', ['programme_arm'], unique=True,
                    sqlite_where=sa.text('centre_id IS NULL'), postgresql_where=sa.text('centre_id IS NULL'))


def downgrade() -> None:
    op.drop_index('uq_review_rule_default_arm', table_name='review_rule')
    op.execute("DELETE FROM review_rule WHERE centre_id IS NOT NULL")
    with op.batch_alter_table('review_rule', schema=None) as batch_op:
        batch_op.drop_constraint('uq_review_rule_centre_arm', type_='unique')
        batch_op.create_unique_constraint('uq_review_rule_programme_arm', ['programme_arm'])
        batch_op.drop_constraint(batch_op.f('fk_review_rule_centre_id_centre'), type_='foreignkey')
        batch_op.drop_column('centre_id')

"""registry: consent forms by programme arm; a young person's assent and the reason for an accepted mismatch

Revision ID: 0105_registry_consent_fit
Revises: 0103_registry_case
Create Date: 2026-12-07 15:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0105_registry_consent_fit'
down_revision = '0103_registry_case'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('consent_form', sa.Column('programme_arm', sa.String(length=20), nullable=True))
    op.add_column('consent', sa.Column('assent', sa.String(length=20), nullable=True))
    op.add_column('consent', sa.Column('fit_reason', sa.Text(), nullable=True))
    form = sa.table('consent_form', sa.column('code', sa.String), sa.column('programme_arm', sa.String))
    op.execute(form.update().where(form.c.code.like('RD-%')).values(programme_arm='rare_disease'))
    op.execute(form.update().where(form.c.code.like('CANCER-%')).values(programme_arm='cancer'))


def downgrade() -> None:
    op.drop_column('consent', 'fit_reason')
    op.drop_column('consent', 'assent')
    op.drop_column('consent_form', 'programme_arm')

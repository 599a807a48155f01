"""Samples: a shipment belongs to the centre whose staff opened it, so other centres never see it.

Revision ID: 0202_samples_shipment_centre
Revises: 0201_samples
Create Date: 2026-12-04 21:20:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0202_samples_shipment_centre'
down_revision = '0201_samples'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('shipment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('centre_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_shipment_centre_id'), ['centre_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_shipment_centre_id_centre'), 'centre', ['centre_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('shipment', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_shipment_centre_id_centre'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_shipment_centre_id'))
        batch_op.drop_column('centre_id')

"""Samples: QC thresholds and turnaround targets per centre (the programme's defaults stay), freezer names
unique within a centre, and the state an archived sample left (filled from its custody events).

Revision ID: 0203_samples_centre_config
Revises: 0202_samples_shipment_centre
Create Date: 2026-12-07 16:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0203_samples_centre_config'
down_revision = '0202_samples_shipment_centre'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('qc_rule', schema=None) as batch_op:
        batch_op.add_column(sa.Column('centre_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_qc_rule_centre_id_centre'), 'centre', ['centre_id'], ['id'])
        batch_op.drop_constraint('uq_qc_rule_type_metric', type_='unique')
        batch_op.create_unique_constraint('uq_qc_rule_centre_type_metric', ['centre_id', 'sample_type_code', 'metric'])
    op.create_index('uq_qc_rule_default_type_metric', 'qc_rule', ['sample_type_code', 'metric'], unique=True,
                    sqlite_where=sa.text('centre_id IS NULL'), postgresql_where=sa.text('centre_id IS NULL'))
    with op.batch_alter_table('turnaround_target', schema=None) as batch_op:
        batch_op.add_column(sa.Column('centre_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_turnaround_target_centre_id_centre'), 'centre', ['centre_id'],
                                    ['id'])
        batch_op.drop_constraint('uq_turnaround_target_state_type', type_='unique')
        batch_op.create_unique_constraint('uq_turnaround_target_centre_state_type',
                                          ['centre_id', 'state', 'sample_type_code'])
    op.create_index('uq_turnaround_target_default_type', 'turnaround_target', ['state', 'sample_type_code'],
                    unique=True, sqlite_where=sa.text('centre_id IS NULL'),
                    postgresql_where=sa.text('centre_id IS NULL'))
    op.create_index('uq_turnaround_target_centre_all', 'turnaround_target', ['centre_id', 'state'], unique=True,
                    sqlite_where=sa.text('sample_type_code IS NULL'),
                    postgresql_where=sa.text('sample_type_code IS NULL'))
    op.create_index('uq_turnaround_target_default_all', 'turnaround_target', ['state'], unique=True,
                    sqlite_where=sa.text('centre_id IS NULL AND sample_type_code IS NULL'),
                    postgresql_where=sa.text('centre_id IS NULL AND sample_type_code IS NULL'))
    with op.batch_alter_table('freezer', schema=None) as batch_op:
        batch_op.drop_constraint('uq_freezer_name', type_='unique')
        batch_op.create_unique_constraint('uq_freezer_centre_name', ['centre_id', 'name'])
    with op.batch_alter_table('sample', schema=None) as batch_op:
        batch_op.add_column(sa.Column('archived_from', sa.String(length=20), nullable=True))
    op.execute("""
        UPDATE sample SET archived_from = (
            SELECT e.from_state FROM sample_event e
            WHERE e.sample_id = sample.id AND e.to_state = 'archived'
            ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1)
        WHERE state = 'archived'
    """)


def downgrade() -> None:
    with op.batch_alter_table('sample', schema=None) as batch_op:
        batch_op.drop_column('archived_from')
    with op.batch_alter_table('freezer', schema=None) as batch_op:
        batch_op.drop_constraint('uq_freezer_centre_name', type_='unique')
        batch_op.create_unique_constraint('uq_freezer_name', ['name'])
    for name in ('uq_turnaround_target_default_all', 'uq_turnaround_target_centre_all',
                 'uq_turnaround_target_default_type'):
        op.drop_index(name, table_name='turnaround_target')
    op.execute("DELETE FROM turnaround_target WHERE centre_id IS NOT NULL")
    with op.batch_alter_table('turnaround_target', schema=None) as batch_op:
        batch_op.drop_constraint('uq_turnaround_target_centre_state_type', type_='unique')
        batch_op.create_unique_constraint('uq_turnaround_target_state_type', ['state', 'sample_type_code'])
        batch_op.drop_constraint(batch_op.f('fk_turnaround_target_centre_id_centre'), type_='foreignkey')
        batch_op.drop_column('centre_id')
    op.drop_index('uq_qc_rule_default_type_metric', table_name='qc_rule')
    op.execute("DELETE FROM qc_rule WHERE centre_id IS NOT NULL")
    with op.batch_alter_table('qc_rule', schema=None) as batch_op:
        batch_op.drop_constraint('uq_qc_rule_centre_type_metric', type_='unique')
        batch_op.create_unique_constraint('uq_qc_rule_type_metric', ['sample_type_code', 'metric'])
        batch_op.drop_constraint(batch_op.f('fk_qc_rule_centre_id_centre'), type_='foreignkey')
        batch_op.drop_column('centre_id')

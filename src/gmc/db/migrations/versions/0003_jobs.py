"""jobs: background imports with progress

Revision ID: 0003_jobs
Revises: 0002_auth_lifecycle
Create Date: 2026-12-07 21:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003_jobs'
down_revision = '0002_auth_lifecycle'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('background_job',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('phase', sa.String(length=20), nullable=True),
    sa.Column('rows_done', sa.Integer(), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('error', sa.JSON(), nullable=True),
    sa.Column('runner', sa.String(length=120), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_background_job'))
    )
    op.create_index(op.f('ix_background_job_status'), 'background_job', ['status'], unique=False)
    op.create_index(op.f('ix_background_job_user_id'), 'background_job', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_background_job_user_id'), table_name='background_job')
    op.drop_index(op.f('ix_background_job_status'), table_name='background_job')
    op.drop_table('background_job')

"""Foundation: uploaded files, so requests name an upload instead of a server path.

Revision ID: 0003_uploads
Revises: 0001_foundation
Create Date: 2026-12-07 15:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003_uploads'
down_revision = '0001_foundation'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'upload',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('upload_id', sa.String(length=40), nullable=False),
        sa.Column('centre_id', sa.Integer(), nullable=True),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
        sa.Column('uploaded_by', sa.String(length=200), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('stored_name', sa.String(length=200), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['centre_id'], ['centre.id'], name=op.f('fk_upload_centre_id_centre')),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['app_user.id'], name=op.f('fk_upload_uploaded_by_id_app_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_upload')),
        sa.UniqueConstraint('upload_id', name=op.f('uq_upload_upload_id')),
    )
    op.create_index(op.f('ix_upload_centre_id'), 'upload', ['centre_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_upload_centre_id'), table_name='upload')
    op.drop_table('upload')

"""Registry: link requests (a registration another scope must decide) and HL7 interfaces (a sending facility
bound to its trust and its API token).

Revision ID: 0104_registry_linkage
Revises: 0103_registry_case
Create Date: 2026-12-07 17:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0104_registry_linkage'
down_revision = '0103_registry_case'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'link_request',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('source', sa.String(length=20), nullable=False),
        sa.Column('requesting_trust_id', sa.Integer(), nullable=False),
        sa.Column('requested_by', sa.String(length=200), nullable=False),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('person', sa.JSON(), nullable=False),
        sa.Column('candidates', sa.JSON(), nullable=False),
        sa.Column('exact', sa.Boolean(), nullable=False),
        sa.Column('message_ref', sa.String(length=250), nullable=True),
        sa.Column('decided_by', sa.String(length=200), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('participant_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['participant_id'], ['participant.id'],
                                name=op.f('fk_link_request_participant_id_participant')),
        sa.ForeignKeyConstraint(['requesting_trust_id'], ['trust.id'],
                                name=op.f('fk_link_request_requesting_trust_id_trust')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_link_request')),
    )
    op.create_index(op.f('ix_link_request_status'), 'link_request', ['status'], unique=False)
    op.create_index(op.f('ix_link_request_requesting_trust_id'), 'link_request', ['requesting_trust_id'], unique=False)
    op.create_table(
        'hl7_interface',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('facility', sa.String(length=40), nullable=False),
        sa.Column('trust_id', sa.Integer(), nullable=False),
        sa.Column('token_id', sa.Integer(), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['token_id'], ['api_token.id'], name=op.f('fk_hl7_interface_token_id_api_token')),
        sa.ForeignKeyConstraint(['trust_id'], ['trust.id'], name=op.f('fk_hl7_interface_trust_id_trust')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_hl7_interface')),
        sa.UniqueConstraint('facility', name=op.f('uq_hl7_interface_facility')),
    )
    op.create_index(op.f('ix_hl7_interface_trust_id'), 'hl7_interface', ['trust_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_hl7_interface_trust_id'), table_name='hl7_interface')
    op.drop_table('hl7_interface')
    op.drop_index(op.f('ix_link_request_requesting_trust_id'), table_name='link_request')
    op.drop_index(op.f('ix_link_request_status'), table_name='link_request')
    op.drop_table('link_request')

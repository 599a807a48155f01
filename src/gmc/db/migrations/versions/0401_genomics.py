"""Genomics: genome datasets (one sample of one VCF, mapped to a case participant; calls live in the variant store)

Revision ID: 0401_genomics
Revises: 0103_registry_case
Create Date: 2026-11-22 03:26:29.846242
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0401_genomics'
down_revision = '0103_registry_case'
branch_labels = None
# genome_dataset.sample_id refers to the samples branch's table.
depends_on = '0201_samples'


def upgrade() -> None:
    op.create_table('genome_dataset',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.String(length=40), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('sample_id', sa.Integer(), nullable=True),
    sa.Column('vcf_sample', sa.String(length=100), nullable=False),
    sa.Column('store_sample', sa.String(length=140), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('source_path', sa.String(length=1000), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('file_size', sa.BigInteger(), nullable=False),
    sa.Column('build', sa.String(length=10), nullable=False),
    sa.Column('store_dataset', sa.String(length=40), nullable=False),
    sa.Column('n_variants', sa.Integer(), nullable=False),
    sa.Column('n_new_sites', sa.Integer(), nullable=False),
    sa.Column('qc', sa.JSON(), nullable=False),
    sa.Column('qc_flags', sa.JSON(), nullable=False),
    sa.Column('ingested_by', sa.String(length=200), nullable=False),
    sa.Column('ingested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['genomic_case.id'], name=op.f('fk_genome_dataset_case_id_genomic_case')),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], name=op.f('fk_genome_dataset_participant_id_participant')),
    sa.ForeignKeyConstraint(['sample_id'], ['sample.id'], name=op.f('fk_genome_dataset_sample_id_sample')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_genome_dataset')),
    sa.UniqueConstraint('dataset_id', name=op.f('uq_genome_dataset_dataset_id')),
    sa.UniqueConstraint('file_sha256', 'vcf_sample', name='uq_genome_dataset_file_sample')
    )
    with op.batch_alter_table('genome_dataset', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_genome_dataset_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_genome_dataset_case_kind', ['case_id', 'kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_genome_dataset_file_sha256'), ['file_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_genome_dataset_participant_id'), ['participant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_genome_dataset_sample_id'), ['sample_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_genome_dataset_store_dataset'), ['store_dataset'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('genome_dataset', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_genome_dataset_store_dataset'))
        batch_op.drop_index(batch_op.f('ix_genome_dataset_sample_id'))
        batch_op.drop_index(batch_op.f('ix_genome_dataset_participant_id'))
        batch_op.drop_index(batch_op.f('ix_genome_dataset_file_sha256'))
        batch_op.drop_index('ix_genome_dataset_case_kind')
        batch_op.drop_index(batch_op.f('ix_genome_dataset_case_id'))

    op.drop_table('genome_dataset')

"""Registry: one live record per NHS number (a partial unique index, both engines), and an index of each live
participant's blocking keys so registration finds every candidate without scanning a capped slice.

Revision ID: 0104_registry_live_nhs
Revises: 0104_registry_linkage
Create Date: 2026-12-07 18:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0104_registry_live_nhs'
down_revision = '0104_registry_linkage'
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    clashes = bind.execute(sa.text(
        "SELECT nhs_number, COUNT(*) FROM participant WHERE merged_into_id IS NULL AND nhs_number IS NOT NULL "
        "GROUP BY nhs_number HAVING COUNT(*) > 1")).all()
    if clashes:
        raise RuntimeError(
            f"{len(clashes)} NHS number(s) are held by more than one live participant record: merge those records "
            "(the duplicate worklist) before upgrading, so each NHS number has one live record")
    op.create_index('uq_participant_live_nhs_number', 'participant', ['nhs_number'], unique=True,
                    sqlite_where=sa.text('merged_into_id IS NULL AND nhs_number IS NOT NULL'),
                    postgresql_where=sa.text('merged_into_id IS NULL AND nhs_number IS NOT NULL'))
    op.create_table(
        'participant_block_key',
        sa.Column('participant_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=160), nullable=False),
        sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], ondelete='CASCADE',
                                name=op.f('fk_participant_block_key_participant_id_participant')),
        sa.PrimaryKeyConstraint('participant_id', 'key', name=op.f('pk_participant_block_key')),
    )
    op.create_index(op.f('ix_participant_block_key_key'), 'participant_block_key', ['key'], unique=False)
    # Keys of the records already registered, computed by the same function registration uses.
    from gmc.registry.blocking import person_keys

    rows = bind.execute(sa.text(
        "SELECT id, nhs_number, family_name, given_name, date_of_birth, sex, postcode FROM participant "
        "WHERE merged_into_id IS NULL")).all()
    table = sa.table('participant_block_key', sa.column('participant_id'), sa.column('key'))
    batch: list[dict[str, object]] = []
    for pk, nhs, family, given, born, sex, postcode in rows:
        if isinstance(born, str):
            from datetime import date

            born = date.fromisoformat(born)
        batch += [{"participant_id": pk, "key": key} for key in sorted(person_keys(
            nhs_number=nhs, family_name=family, given_name=given, date_of_birth=born, sex=sex, postcode=postcode))]
        if len(batch) >= 5000:
            op.bulk_insert(table, batch)
            batch = []
    if batch:
        op.bulk_insert(table, batch)


def downgrade() -> None:
    op.drop_index(op.f('ix_participant_block_key_key'), table_name='participant_block_key')
    op.drop_table('participant_block_key')
    op.drop_index('uq_participant_live_nhs_number', table_name='participant')

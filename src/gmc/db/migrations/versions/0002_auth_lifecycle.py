"""auth: second factor (TOTP, recovery codes), sign-in throttling, password change, deactivation

The per-user failure counter and lock give way to login_throttle, which counts failures per account name and
per address (growing delays, no lock anyone could trigger).

Revision ID: 0002_auth_lifecycle
Revises: 0002_audit_hmac
Create Date: 2026-12-06 16:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002_auth_lifecycle'
down_revision = '0002_audit_hmac'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_throttle',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('blocked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttle'))
    )
    op.create_index(op.f('ix_login_throttle_last_failure_at'), 'login_throttle', ['last_failure_at'], unique=False)
    op.create_table('user_recovery_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_user_recovery_code_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_recovery_code')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_user_recovery_code_code_hash'))
    )
    op.create_index(op.f('ix_user_recovery_code_user_id'), 'user_recovery_code', ['user_id'], unique=False)
    # Plain ALTER TABLE statements (SQLite 3.35+ drops columns in place): app_user is referenced by other tables,
    # which a batch copy of it would trip over.
    for column in (
        sa.Column('deactivated_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('must_change_password', sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column('totp_secret', sa.String(length=64), nullable=True),
        sa.Column('totp_enabled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('totp_last_step', sa.BigInteger(), nullable=True),
    ):
        op.add_column('app_user', column)
    op.execute("ALTER TABLE app_user DROP COLUMN failed_login_count")
    op.execute("ALTER TABLE app_user DROP COLUMN locked_until")
    op.add_column('web_session', sa.Column('stage', sa.String(length=20), nullable=False, server_default='full'))


def downgrade() -> None:
    op.execute("ALTER TABLE web_session DROP COLUMN stage")
    op.add_column('app_user', sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))
    op.add_column('app_user', sa.Column('failed_login_count', sa.Integer(), nullable=False, server_default='0'))
    for name in ('totp_last_step', 'totp_enabled_at', 'totp_secret', 'must_change_password', 'password_changed_at',
                 'deactivated_at'):
        op.execute(f"ALTER TABLE app_user DROP COLUMN {name}")
    op.drop_index(op.f('ix_user_recovery_code_user_id'), table_name='user_recovery_code')
    op.drop_table('user_recovery_code')
    op.drop_index(op.f('ix_login_throttle_last_failure_at'), table_name='login_throttle')
    op.drop_table('login_throttle')

"""account events: an audit row per change to an account (who, when, what, on whom); accounts
can be made to set their own password at their next sign-in (one-time and demo passwords)

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('account_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('target', sa.String(length=100), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('account_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_events_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_events_target'), ['target'], unique=False)
    with op.batch_alter_table('annotators', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    # the demo's accounts still on the demo password set their own at their next sign-in
    op.execute(sa.text("UPDATE annotators SET must_change_password = demo_password"))


def downgrade() -> None:
    with op.batch_alter_table('annotators', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
    with op.batch_alter_table('account_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_events_target'))
        batch_op.drop_index(batch_op.f('ix_account_events_at'))
    op.drop_table('account_events')

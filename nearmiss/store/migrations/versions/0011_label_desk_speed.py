"""label desk: candidates indexed on coalesce(p_near, nearness), the score the 'uncertain'
queue orders by (without it serving sorted every candidate on each key press); app_settings,
settings admins change in the app (what annotators' cards show)

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_candidates_queue_score', 'candidates', [sa.text('coalesce(p_near, nearness)')])
    op.create_table('app_settings',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['updated_by'], ['annotators.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('app_settings')
    op.drop_index('ix_candidates_queue_score', table_name='candidates')

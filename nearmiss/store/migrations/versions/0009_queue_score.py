"""queue score: candidates indexed on coalesce(p_near, nearness), the score the 'uncertain'
queue orders by (without it serving sorted every candidate on each key press)

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_candidates_queue_score', 'candidates', [sa.text('coalesce(p_near, nearness)')])


def downgrade() -> None:
    op.drop_index('ix_candidates_queue_score', table_name='candidates')

"""labeling: per-dataset overlap, indexes for retraction and per-annotator look-ups

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('label_settings',
    sa.Column('dataset', sa.String(length=200), nullable=False),
    sa.Column('overlap', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('dataset')
    )
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_labels_retracts'), ['retracts'], unique=False)
        batch_op.create_index('ix_labels_candidate_annotator', ['candidate_id', 'annotator_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.drop_index('ix_labels_candidate_annotator')
        batch_op.drop_index(batch_op.f('ix_labels_retracts'))
    op.drop_table('label_settings')

"""ranker: learned near-miss probability per candidate and the fitted rankers

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rankers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('scope', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('features', sa.JSON(), nullable=False),
    sa.Column('labels', sa.Integer(), nullable=False),
    sa.Column('label_mark', sa.Integer(), nullable=False),
    sa.Column('quality', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('rankers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rankers_scope'), ['scope'], unique=False)
    with op.batch_alter_table('candidates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('p_near', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('ranker_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_candidates_p_near'), ['p_near'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('candidates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_candidates_p_near'))
        batch_op.drop_column('ranker_id')
        batch_op.drop_column('p_near')
    with op.batch_alter_table('rankers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rankers_scope'))
    op.drop_table('rankers')

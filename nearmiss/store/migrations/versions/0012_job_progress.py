"""job progress: runs record their stage, its counter and the last report, and a number per
kind for display (existing runs numbered in id order)

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('number', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('stage', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('done', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('total', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('unit', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('stage_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('beat_at', sa.DateTime(timezone=True), nullable=True))
    runs = sa.table('runs', sa.column('id', sa.Integer), sa.column('kind', sa.String), sa.column('number', sa.Integer))
    conn = op.get_bind()
    counts: dict[str, int] = {}
    for run_id, kind in conn.execute(sa.select(runs.c.id, runs.c.kind).order_by(runs.c.id)).all():
        counts[kind] = counts.get(kind, 0) + 1
        conn.execute(runs.update().where(runs.c.id == run_id).values(number=counts[kind]))
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.create_index('ix_runs_kind_number', ['kind', 'number'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_index('ix_runs_kind_number')
        for column in ('beat_at', 'stage_at', 'unit', 'total', 'done', 'stage', 'number'):
            batch_op.drop_column(column)

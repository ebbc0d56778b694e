"""labeling desk: comments and flags on decisions, decisions on expired leases, guidelines
per dataset (versioned) and the guideline version each decision was made under

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('guidelines',
    sa.Column('dataset', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['annotators.id'], ),
    sa.PrimaryKeyConstraint('dataset', 'version')
    )
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flagged', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('late', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('guideline_version', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.drop_column('guideline_version')
        batch_op.drop_column('late')
        batch_op.drop_column('flagged')
    op.drop_table('guidelines')

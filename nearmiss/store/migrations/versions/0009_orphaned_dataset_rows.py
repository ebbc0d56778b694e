"""drop what older stores kept under a dataset name no dataset has (labeling settings,
guidelines, rankers left behind by a rename or delete before they moved with the dataset), so a
dataset loaded later under that name starts clean

Revision ID: 0009
Revises: 0008
"""
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

KEPT_BY_NAME = (("label_settings", "dataset"), ("guidelines", "dataset"), ("rankers", "scope"))
ALL_DATASETS = "*"  # a ranker fitted across datasets belongs to none


def upgrade() -> None:
    for table, column in KEPT_BY_NAME:
        op.execute(f"DELETE FROM {table} WHERE {column} <> '{ALL_DATASETS}' "
                   f"AND {column} NOT IN (SELECT DISTINCT dataset FROM items)")


def downgrade() -> None:
    pass  # the rows dropped belonged to no dataset

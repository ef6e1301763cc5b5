"""actual label on predictions, with a partial index of labelled predictions

The monitoring aggregates (confusion matrix, metrics over time) read only labelled predictions;
with the label on the prediction row and a partial index over those rows they no longer join
every online prediction to its sample.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 11:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LABELLED = sa.text("actual_label IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("actual_label", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
    # Existing predictions take their sample's label.
    op.execute(
        "UPDATE predictions SET actual_label = "
        "(SELECT samples.label FROM samples WHERE samples.id = predictions.sample_id)"
    )
    op.create_index(
        "ix_predictions_labelled",
        "predictions",
        ["dataset", "created_at"],
        unique=False,
        sqlite_where=LABELLED,
        postgresql_where=LABELLED,
    )


def downgrade() -> None:
    op.drop_index("ix_predictions_labelled", table_name="predictions", sqlite_where=LABELLED,
                  postgresql_where=LABELLED)
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.drop_column("actual_label")

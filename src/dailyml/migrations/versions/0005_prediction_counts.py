"""prediction counts per (dataset, model version, source, day, actual, predicted); samples by id

Pre-aggregated counts of labelled predictions, maintained as labels arrive, so the confusion
matrix and daily metrics cost the same at a million predictions as at a thousand; an index of
samples by (dataset, source, id) so a random sample is one index probe. Existing labelled
predictions are counted here.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "prediction_counts",
        sa.Column("dataset", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("day", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("actual_label", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("predicted_label", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("abs_error_sum", sa.Float(), nullable=False),
        sa.Column("abs_error_n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["model_version_id"], ["model_versions.id"]),
        sa.PrimaryKeyConstraint("dataset", "model_version_id", "source", "day", "actual_label", "predicted_label"),
    )
    op.create_index("ix_samples_dataset_source_id", "samples", ["dataset", "source", "id"], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        day = "strftime('%Y-%m-%d', p.created_at)"
        error = "abs(p.score - CAST(p.actual_label AS REAL))"
    else:
        day = "to_char(date_trunc('day', timezone('UTC', p.created_at)), 'YYYY-MM-DD')"
        error = "abs(p.score - CAST(p.actual_label AS DOUBLE PRECISION))"
    # Regression labels are grades (numbers); classification labels are names, whose error is
    # never read (their predictions have no score, so the CASE never casts them).
    op.execute(
        "INSERT INTO prediction_counts (dataset, model_version_id, source, day, actual_label, predicted_label, "
        "n, abs_error_sum, abs_error_n) "
        f"SELECT p.dataset, p.model_version_id, s.source, {day}, p.actual_label, p.predicted_label, count(*), "
        f"coalesce(sum(CASE WHEN p.score IS NOT NULL THEN {error} END), 0), count(p.score) "
        "FROM predictions p JOIN samples s ON s.id = p.sample_id WHERE p.actual_label IS NOT NULL "
        f"GROUP BY p.dataset, p.model_version_id, s.source, {day}, p.actual_label, p.predicted_label"
    )


def downgrade() -> None:
    op.drop_index("ix_samples_dataset_source_id", table_name="samples")
    op.drop_table("prediction_counts")

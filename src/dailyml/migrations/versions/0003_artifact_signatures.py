"""artifact signatures: an HMAC-SHA256 of each registered version, keyed outside the database

Existing versions get no signature: with DAILYML_ARTIFACT_KEY set they are refused until
`dailyml sign-artifacts` signs them once (SECURITY.md, docs/deployment.md).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("artifact_signature", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.drop_column("artifact_signature")

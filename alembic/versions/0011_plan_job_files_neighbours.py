"""Plan jobs keep their plan's files (GeoJSON, CSV, manifests, figure) in `plan_job_file`,
and say whether they borrow from neighbours' shared depots, with which approval lead time,
for which jurisdiction. Existing jobs borrow nothing and have no files (their plan.json
stays in `plan_job.plan_json`).

Revision ID: 0011_plan_job_files_neighbours
Revises: 0010_ownership_aid
Create Date: 2026-12-01 23:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0011_plan_job_files_neighbours"
down_revision: str | None = "0010_ownership_aid"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("plan_job", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("neighbours", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("aid_lead_hours", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("jurisdiction", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True)
        )
    op.create_table(
        "plan_job_file",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["plan_job.id"], name=op.f("fk_plan_job_file_job_id_plan_job")
        ),
        sa.PrimaryKeyConstraint("job_id", "name", name=op.f("pk_plan_job_file")),
    )


def downgrade() -> None:
    op.drop_table("plan_job_file")
    with op.batch_alter_table("plan_job", schema=None) as batch_op:
        batch_op.drop_column("jurisdiction")
        batch_op.drop_column("aid_lead_hours")
        batch_op.drop_column("neighbours")

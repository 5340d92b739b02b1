"""interop: remembered column mappings, background import jobs, the rest of HSDS 3.0 (schedule recurrence, phone/schedule/contact ids, organisation and service fields)

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from atlas.curation.triggers import create_triggers, drop_triggers

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = {
    "organization": [
        sa.Column("tax_status", sa.String(length=120), nullable=True),
        sa.Column("tax_id", sa.String(length=120), nullable=True),
        sa.Column("year_incorporated", sa.Integer(), nullable=True),
        sa.Column("logo", sa.String(length=2000), nullable=True),
        sa.Column("uri", sa.String(length=2000), nullable=True),
        sa.Column("parent_organization_id", sa.Integer(), nullable=True),
    ],
    "service": [
        sa.Column("interpretation_services", sa.Text(), nullable=True),
        sa.Column("accreditations", sa.Text(), nullable=True),
        sa.Column("licenses", sa.Text(), nullable=True),
        sa.Column("required_documents", sa.JSON(), nullable=False, server_default="[]"),
        sa.Column("import_hash", sa.String(length=64), nullable=True),
    ],
    "location": [
        sa.Column("external_identifier", sa.String(length=200), nullable=True),
        sa.Column("external_identifier_type", sa.String(length=200), nullable=True),
    ],
    "phone": [sa.Column("uuid", sa.String(length=36), nullable=True)],
    "contact": [sa.Column("uuid", sa.String(length=36), nullable=True)],
    "schedule": [
        sa.Column("uuid", sa.String(length=36), nullable=True),
        sa.Column("dtstart", sa.Date(), nullable=True),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.Column("interval", sa.Integer(), nullable=True),
        sa.Column("wkst", sa.String(length=2), nullable=True),
        sa.Column("byweekno", sa.String(length=200), nullable=True),
        sa.Column("bymonthday", sa.String(length=200), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("attending_type", sa.String(length=100), nullable=True),
        sa.Column("schedule_link", sa.String(length=2000), nullable=True),
    ],
}


def upgrade() -> None:
    op.create_table(
        "import_mapping",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=120), nullable=False),
        sa.Column("column_key", sa.String(length=200), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_mapping")),
        sa.UniqueConstraint("source", "column_key", name="uq_import_mapping_column"),
    )
    op.create_table(
        "import_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name=op.f("ck_import_job_state")),
        sa.CheckConstraint("kind IN ('plan', 'commit')", name=op.f("ck_import_job_kind")),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_import_job_user_id_user"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_job")),
    )
    with op.batch_alter_table("import_job", schema=None) as batch_op:
        batch_op.create_index("ix_import_job_state", ["state", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_import_job_token"), ["token"], unique=False)
    rebuild = op.get_bind().dialect.name == "sqlite"
    if rebuild:  # SQLite rebuilds the tables; the deputy triggers (0007) must not point at a table in between
        drop_triggers(op.get_bind())
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.add_column(column)
            if table == "organization":
                batch_op.create_foreign_key(batch_op.f("fk_organization_parent_organization_id_organization"),
                                            "organization", ["parent_organization_id"], ["id"], ondelete="SET NULL")
    if rebuild:
        create_triggers(op.get_bind())


def downgrade() -> None:
    rebuild = op.get_bind().dialect.name == "sqlite"
    if rebuild:
        drop_triggers(op.get_bind())
    for table, columns in reversed(COLUMNS.items()):
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table == "organization":
                batch_op.drop_constraint(batch_op.f("fk_organization_parent_organization_id_organization"),
                                         type_="foreignkey")
            for column in reversed(columns):
                batch_op.drop_column(column.name)
    if rebuild:
        create_triggers(op.get_bind())
    op.drop_table("import_job")
    op.drop_table("import_mapping")

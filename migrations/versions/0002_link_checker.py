"""link checker: links, their usages and history, check runs, the scheduler lease, robots.txt cache

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('check_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('checked', sa.Integer(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('new_links', sa.Integer(), nullable=False),
    sa.Column('watermark', sa.DateTime(), nullable=True),
    sa.Column('message', sa.String(length=500), nullable=True),
    sa.CheckConstraint("kind IN ('due', 'all', 'new', 'manual')", name=op.f('ck_check_run_kind')),
    sa.CheckConstraint("status IN ('running', 'done', 'failed', 'interrupted')", name=op.f('ck_check_run_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_run'))
    )
    with op.batch_alter_table('check_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_check_run_started_at'), ['started_at'], unique=False)

    op.create_table('checker_lease',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_checker_lease'))
    )
    op.create_table('link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('url_key', sa.String(length=64), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('host', sa.String(length=300), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=True),
    sa.Column('detail', sa.String(length=500), nullable=True),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('final_url', sa.String(length=2000), nullable=True),
    sa.Column('redirect_count', sa.Integer(), nullable=False),
    sa.Column('suggested_url', sa.String(length=2000), nullable=True),
    sa.Column('content_type', sa.String(length=120), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=500), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=True),
    sa.Column('content_excerpt', sa.Text(), nullable=True),
    sa.Column('check_count', sa.Integer(), nullable=False),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('first_failure_at', sa.DateTime(), nullable=True),
    sa.Column('last_check_at', sa.DateTime(), nullable=True),
    sa.Column('last_success_at', sa.DateTime(), nullable=True),
    sa.Column('next_check_at', sa.DateTime(), nullable=True),
    sa.Column('state_changed_at', sa.DateTime(), nullable=True),
    sa.Column('override_state', sa.String(length=20), nullable=True),
    sa.Column('override_basis', sa.String(length=40), nullable=True),
    sa.Column('override_by', sa.String(length=254), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("override_state IS NULL OR override_state IN ('ok', 'ignored')", name=op.f('ck_link_override_state')),
    sa.CheckConstraint("state IN ('new', 'ok', 'warning', 'broken', 'manual_check', 'ignored')", name=op.f('ck_link_state')),
    sa.CheckConstraint('consecutive_failures >= 0', name=op.f('ck_link_failures_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_link')),
    sa.UniqueConstraint('url_key', name=op.f('uq_link_url_key'))
    )
    with op.batch_alter_table('link', schema=None) as batch_op:
        batch_op.create_index('ix_link_due', ['next_check_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_link_host'), ['host'], unique=False)
        batch_op.create_index(batch_op.f('ix_link_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_link_state'), ['state'], unique=False)

    op.create_table('robots_file',
    sa.Column('origin', sa.String(length=300), nullable=False),
    sa.Column('fetched_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('origin', name=op.f('pk_robots_file'))
    )
    op.create_table('link_check',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('link_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('checked_at', sa.DateTime(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=True),
    sa.Column('final_url', sa.String(length=2000), nullable=True),
    sa.Column('redirects', sa.JSON(), nullable=False),
    sa.Column('detail', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['link_id'], ['link.id'], name=op.f('fk_link_check_link_id_link'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['check_run.id'], name=op.f('fk_link_check_run_id_check_run'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_link_check'))
    )
    with op.batch_alter_table('link_check', schema=None) as batch_op:
        batch_op.create_index('ix_link_check_link_time', ['link_id', 'checked_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_link_check_run_id'), ['run_id'], unique=False)

    op.create_table('link_usage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('link_id', sa.Integer(), nullable=False),
    sa.Column('entity_type', sa.String(length=20), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=60), nullable=False),
    sa.Column('raw_url', sa.String(length=2000), nullable=False),
    sa.CheckConstraint("entity_type IN ('organization', 'service', 'location')", name=op.f('ck_link_usage_entity_type')),
    sa.ForeignKeyConstraint(['link_id'], ['link.id'], name=op.f('fk_link_usage_link_id_link'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_link_usage')),
    sa.UniqueConstraint('entity_type', 'entity_id', 'field', 'link_id', name='uq_link_usage_place')
    )
    with op.batch_alter_table('link_usage', schema=None) as batch_op:
        batch_op.create_index('ix_link_usage_entity', ['entity_type', 'entity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_link_usage_link_id'), ['link_id'], unique=False)


def downgrade() -> None:
    for table in ("link_usage", "link_check", "robots_file", "link", "checker_lease", "check_run"):
        op.drop_table(table)

"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 01:46:25.688053
"""

import sqlalchemy as sa
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('geocode_cache',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=40), nullable=False),
    sa.Column('query', sa.String(length=500), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('precision', sa.String(length=20), nullable=True),
    sa.Column('display_name', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('(latitude IS NULL) = (longitude IS NULL)', name=op.f('ck_geocode_cache_coordinates_pair')),
    sa.CheckConstraint('latitude IS NULL OR (latitude >= -90 AND latitude <= 90)', name=op.f('ck_geocode_cache_latitude_range')),
    sa.CheckConstraint('longitude IS NULL OR (longitude >= -180 AND longitude <= 180)', name=op.f('ck_geocode_cache_longitude_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_geocode_cache')),
    sa.UniqueConstraint('provider', 'query', name='uq_geocode_cache_query')
    )
    op.create_table('jobcenter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('short_name', sa.String(length=60), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobcenter')),
    sa.UniqueConstraint('slug', name=op.f('uq_jobcenter_slug'))
    )
    op.create_table('region',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('ags', sa.String(length=12), nullable=True),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('postal_codes', sa.JSON(), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.CheckConstraint("kind IN ('bundesland', 'kreis', 'gemeinde')", name=op.f('ck_region_kind')),
    sa.CheckConstraint('(latitude IS NULL) = (longitude IS NULL)', name=op.f('ck_region_coordinates_pair')),
    sa.CheckConstraint('latitude IS NULL OR (latitude >= -90 AND latitude <= 90)', name=op.f('ck_region_latitude_range')),
    sa.CheckConstraint('longitude IS NULL OR (longitude >= -180 AND longitude <= 180)', name=op.f('ck_region_longitude_range')),
    sa.ForeignKeyConstraint(['parent_id'], ['region.id'], name=op.f('fk_region_parent_id_region'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_region')),
    sa.UniqueConstraint('slug', name=op.f('uq_region_slug'))
    )
    op.create_table('taxonomy_term',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('review_interval_months', sa.Integer(), nullable=True),
    sa.Column('internal_only', sa.Boolean(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.CheckConstraint('parent_id IS NULL OR parent_id <> id', name=op.f('ck_taxonomy_term_not_own_parent')),
    sa.CheckConstraint('review_interval_months IS NULL OR review_interval_months > 0', name=op.f('ck_taxonomy_term_review_interval')),
    sa.ForeignKeyConstraint(['parent_id'], ['taxonomy_term.id'], name=op.f('fk_taxonomy_term_parent_id_taxonomy_term'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_taxonomy_term')),
    sa.UniqueConstraint('slug', name=op.f('uq_taxonomy_term_slug'))
    )
    op.create_table('user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('password_hash', sa.String(length=300), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_login_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("role IN ('coordinator', 'staff')", name=op.f('ck_user_role')),
    sa.CheckConstraint('email = lower(email)', name=op.f('ck_user_email_lowercase')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user')),
    sa.UniqueConstraint('email', name=op.f('uq_user_email'))
    )
    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_api_token_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_token_token_hash'))
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_user_id'), ['user_id'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=254), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('entity_type', sa.String(length=40), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.CheckConstraint("action IN ('create', 'update', 'delete')", name=op.f('ck_audit_log_action')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_audit_log_user_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_log_entity', ['entity_type', 'entity_id'], unique=False)

    op.create_table('jobcenter_region',
    sa.Column('jobcenter_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['jobcenter_id'], ['jobcenter.id'], name=op.f('fk_jobcenter_region_jobcenter_id_jobcenter'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_jobcenter_region_region_id_region'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('jobcenter_id', 'region_id', name=op.f('pk_jobcenter_region'))
    )
    op.create_table('organization',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('alternate_name', sa.String(length=300), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('website', sa.String(length=2000), nullable=True),
    sa.Column('legal_status', sa.String(length=120), nullable=True),
    sa.Column('sector', sa.String(length=120), nullable=True),
    sa.Column('is_employer', sa.Boolean(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('visibility', sa.String(length=10), nullable=False),
    sa.Column('internal_note', sa.Text(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('deputy_id', sa.Integer(), nullable=True),
    sa.Column('assured_date', sa.Date(), nullable=True),
    sa.Column('assured_by_id', sa.Integer(), nullable=True),
    sa.Column('archived_at', sa.DateTime(), nullable=True),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('source_name', sa.String(length=120), nullable=True),
    sa.Column('source_id', sa.String(length=200), nullable=True),
    sa.Column('source_url', sa.String(length=2000), nullable=True),
    sa.Column('source_licence', sa.String(length=200), nullable=True),
    sa.Column('imported_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("NOT is_employer OR visibility = 'internal'", name=op.f('ck_organization_employer_internal')),
    sa.CheckConstraint("visibility IN ('public', 'internal')", name=op.f('ck_organization_visibility')),
    sa.CheckConstraint('owner_id IS NULL OR deputy_id IS NULL OR owner_id <> deputy_id', name=op.f('ck_organization_owner_not_deputy')),
    sa.CheckConstraint('version_id >= 1', name=op.f('ck_organization_version_positive')),
    sa.ForeignKeyConstraint(['assured_by_id'], ['user.id'], name=op.f('fk_organization_assured_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['deputy_id'], ['user.id'], name=op.f('fk_organization_deputy_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], name=op.f('fk_organization_owner_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organization')),
    sa.UniqueConstraint('source_name', 'source_id', name='uq_organization_source'),
    sa.UniqueConstraint('uuid', name=op.f('uq_organization_uuid'))
    )
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organization_deputy_id'), ['deputy_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_organization_owner_id'), ['owner_id'], unique=False)

    op.create_table('location',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('location_type', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('transportation', sa.Text(), nullable=True),
    sa.Column('accessibility_description', sa.Text(), nullable=True),
    sa.Column('url', sa.String(length=2000), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('geo_precision', sa.String(length=20), nullable=False),
    sa.Column('geo_source', sa.String(length=20), nullable=True),
    sa.Column('geocoded_at', sa.DateTime(), nullable=True),
    sa.Column('address_precision', sa.String(length=20), nullable=False),
    sa.Column('visibility', sa.String(length=10), nullable=False),
    sa.Column('gemeinde_id', sa.Integer(), nullable=True),
    sa.Column('archived_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('source_name', sa.String(length=120), nullable=True),
    sa.Column('source_id', sa.String(length=200), nullable=True),
    sa.Column('source_url', sa.String(length=2000), nullable=True),
    sa.Column('source_licence', sa.String(length=200), nullable=True),
    sa.Column('imported_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("address_precision IN ('exakt', 'strasse', 'gemeinde')", name=op.f('ck_location_address_precision')),
    sa.CheckConstraint("geo_precision IN ('exakt', 'strasse', 'plz', 'gemeinde', 'unbekannt')", name=op.f('ck_location_geo_precision')),
    sa.CheckConstraint("geo_source IS NULL OR geo_source IN ('manuell', 'nominatim', 'gazetteer', 'import', 'seed')", name=op.f('ck_location_geo_source')),
    sa.CheckConstraint("location_type IN ('physical', 'virtual', 'postal')", name=op.f('ck_location_location_type')),
    sa.CheckConstraint("visibility IN ('public', 'internal')", name=op.f('ck_location_visibility')),
    sa.CheckConstraint('(latitude IS NULL) = (longitude IS NULL)', name=op.f('ck_location_coordinates_pair')),
    sa.CheckConstraint('latitude IS NULL OR (latitude >= -90 AND latitude <= 90)', name=op.f('ck_location_latitude_range')),
    sa.CheckConstraint('longitude IS NULL OR (longitude >= -180 AND longitude <= 180)', name=op.f('ck_location_longitude_range')),
    sa.ForeignKeyConstraint(['gemeinde_id'], ['region.id'], name=op.f('fk_location_gemeinde_id_region'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_location_organization_id_organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_location')),
    sa.UniqueConstraint('uuid', name=op.f('uq_location_uuid'))
    )
    with op.batch_alter_table('location', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_location_gemeinde_id'), ['gemeinde_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_location_organization_id'), ['organization_id'], unique=False)

    op.create_table('service',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('alternate_name', sa.String(length=300), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('summary_plain', sa.Text(), nullable=True),
    sa.Column('url', sa.String(length=2000), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('alert', sa.Text(), nullable=True),
    sa.Column('fees_description', sa.Text(), nullable=True),
    sa.Column('cost_options', sa.JSON(), nullable=False),
    sa.Column('access_routes', sa.JSON(), nullable=False),
    sa.Column('legal_domains', sa.JSON(), nullable=False),
    sa.Column('contact_channels', sa.JSON(), nullable=False),
    sa.Column('accessibility', sa.JSON(), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('target_group', sa.Text(), nullable=True),
    sa.Column('eligibility_description', sa.Text(), nullable=True),
    sa.Column('minimum_age', sa.Integer(), nullable=True),
    sa.Column('maximum_age', sa.Integer(), nullable=True),
    sa.Column('application_process', sa.Text(), nullable=True),
    sa.Column('waiting_time', sa.String(length=300), nullable=True),
    sa.Column('waiting_time_confirmed_at', sa.Date(), nullable=True),
    sa.Column('intake_status', sa.String(length=20), nullable=False),
    sa.Column('intake_status_confirmed_at', sa.Date(), nullable=True),
    sa.Column('opening_hours_confirmed_at', sa.Date(), nullable=True),
    sa.Column('delivery_format', sa.String(length=20), nullable=True),
    sa.Column('setting', sa.String(length=20), nullable=True),
    sa.Column('short_notice', sa.Boolean(), nullable=False),
    sa.Column('supra_regional', sa.Boolean(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('visibility', sa.String(length=10), nullable=False),
    sa.Column('internal_note', sa.Text(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('deputy_id', sa.Integer(), nullable=True),
    sa.Column('assured_date', sa.Date(), nullable=True),
    sa.Column('assured_by_id', sa.Integer(), nullable=True),
    sa.Column('archived_at', sa.DateTime(), nullable=True),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('source_name', sa.String(length=120), nullable=True),
    sa.Column('source_id', sa.String(length=200), nullable=True),
    sa.Column('source_url', sa.String(length=2000), nullable=True),
    sa.Column('source_licence', sa.String(length=200), nullable=True),
    sa.Column('imported_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("delivery_format IS NULL OR delivery_format IN ('einzel', 'gruppe', 'beides')", name=op.f('ck_service_delivery_format')),
    sa.CheckConstraint("intake_status IN ('offen', 'warteliste', 'aufnahmestopp', 'unbekannt')", name=op.f('ck_service_intake_status')),
    sa.CheckConstraint("setting IS NULL OR setting IN ('ambulant', 'teilstationaer', 'stationaer')", name=op.f('ck_service_setting')),
    sa.CheckConstraint("status IN ('aktiv', 'pausiert', 'beendet', 'unklar')", name=op.f('ck_service_status')),
    sa.CheckConstraint("visibility IN ('public', 'internal')", name=op.f('ck_service_visibility')),
    sa.CheckConstraint('maximum_age IS NULL OR maximum_age <= 130', name=op.f('ck_service_maximum_age')),
    sa.CheckConstraint('minimum_age IS NULL OR maximum_age IS NULL OR minimum_age <= maximum_age', name=op.f('ck_service_age_range')),
    sa.CheckConstraint('minimum_age IS NULL OR minimum_age >= 0', name=op.f('ck_service_minimum_age')),
    sa.CheckConstraint('owner_id IS NULL OR deputy_id IS NULL OR owner_id <> deputy_id', name=op.f('ck_service_owner_not_deputy')),
    sa.CheckConstraint('valid_from IS NULL OR valid_to IS NULL OR valid_from <= valid_to', name=op.f('ck_service_valid_range')),
    sa.CheckConstraint('version_id >= 1', name=op.f('ck_service_version_positive')),
    sa.ForeignKeyConstraint(['assured_by_id'], ['user.id'], name=op.f('fk_service_assured_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['deputy_id'], ['user.id'], name=op.f('fk_service_deputy_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_service_organization_id_organization'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], name=op.f('fk_service_owner_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service')),
    sa.UniqueConstraint('source_name', 'source_id', name='uq_service_source'),
    sa.UniqueConstraint('uuid', name=op.f('uq_service_uuid'))
    )
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_deputy_id'), ['deputy_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_owner_id'), ['owner_id'], unique=False)

    op.create_table('address',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('address_1', sa.String(length=300), nullable=True),
    sa.Column('address_2', sa.String(length=300), nullable=True),
    sa.Column('postal_code', sa.String(length=10), nullable=True),
    sa.Column('city', sa.String(length=200), nullable=False),
    sa.Column('region', sa.String(length=200), nullable=True),
    sa.Column('state_province', sa.String(length=200), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.CheckConstraint('postal_code IS NULL OR length(postal_code) BETWEEN 3 AND 10', name=op.f('ck_address_postal_code')),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_address_location_id_location'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_address')),
    sa.UniqueConstraint('location_id', name=op.f('uq_address_location_id'))
    )
    op.create_table('contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('service_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=True),
    sa.Column('department', sa.String(length=200), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=50), nullable=True),
    sa.CheckConstraint('(CASE WHEN organization_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN service_id IS NULL THEN 0 ELSE 1 END) = 1', name=op.f('ck_contact_exactly_one_owner')),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_contact_organization_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_contact_service_id_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact'))
    )
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contact_service_id'), ['service_id'], unique=False)

    op.create_table('phone',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('service_id', sa.Integer(), nullable=True),
    sa.Column('location_id', sa.Integer(), nullable=True),
    sa.Column('number', sa.String(length=50), nullable=False),
    sa.Column('extension', sa.String(length=20), nullable=True),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=True),
    sa.Column('visibility', sa.String(length=10), nullable=False),
    sa.CheckConstraint("type IN ('voice', 'fax', 'cell', 'text', 'video', 'textphone')", name=op.f('ck_phone_type')),
    sa.CheckConstraint("visibility IN ('public', 'internal')", name=op.f('ck_phone_visibility')),
    sa.CheckConstraint('(CASE WHEN organization_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN service_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN location_id IS NULL THEN 0 ELSE 1 END) = 1', name=op.f('ck_phone_exactly_one_owner')),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_phone_location_id_location'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_phone_organization_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_phone_service_id_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_phone'))
    )
    with op.batch_alter_table('phone', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_phone_location_id'), ['location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_phone_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_phone_service_id'), ['service_id'], unique=False)

    op.create_table('review_task',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('service_id', sa.Integer(), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('source_ref', sa.String(length=100), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolution_note', sa.Text(), nullable=True),
    sa.CheckConstraint("kind IN ('overdue', 'link_broken', 'link_changed', 'public_report', 'import_duplicate', 'manual')", name=op.f('ck_review_task_kind')),
    sa.CheckConstraint('(CASE WHEN organization_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN service_id IS NULL THEN 0 ELSE 1 END) = 1', name=op.f('ck_review_task_exactly_one_owner')),
    sa.ForeignKeyConstraint(['assignee_id'], ['user.id'], name=op.f('fk_review_task_assignee_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_review_task_organization_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['user.id'], name=op.f('fk_review_task_resolved_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_review_task_service_id_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_task'))
    )
    with op.batch_alter_table('review_task', schema=None) as batch_op:
        batch_op.create_index('ix_review_task_open', ['resolved_at', 'assignee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_task_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_task_service_id'), ['service_id'], unique=False)

    op.create_table('schedule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=True),
    sa.Column('location_id', sa.Integer(), nullable=True),
    sa.Column('freq', sa.String(length=10), nullable=False),
    sa.Column('byday', sa.String(length=30), nullable=False),
    sa.Column('opens_at', sa.String(length=5), nullable=True),
    sa.Column('closes_at', sa.String(length=5), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('description', sa.String(length=300), nullable=True),
    sa.CheckConstraint("freq IN ('WEEKLY', 'MONTHLY')", name=op.f('ck_schedule_freq')),
    sa.CheckConstraint('(CASE WHEN service_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN location_id IS NULL THEN 0 ELSE 1 END) = 1', name=op.f('ck_schedule_exactly_one_owner')),
    sa.CheckConstraint('opens_at IS NULL OR closes_at IS NULL OR opens_at < closes_at', name=op.f('ck_schedule_opens_before_closes')),
    sa.CheckConstraint('valid_from IS NULL OR valid_to IS NULL OR valid_from <= valid_to', name=op.f('ck_schedule_valid_range')),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_schedule_location_id_location'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_schedule_service_id_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schedule'))
    )
    with op.batch_alter_table('schedule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_schedule_location_id'), ['location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_schedule_service_id'), ['service_id'], unique=False)

    op.create_table('service_at_location',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_service_at_location_location_id_location'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_service_at_location_service_id_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_at_location')),
    sa.UniqueConstraint('service_id', 'location_id', name='uq_service_at_location_pair')
    )
    with op.batch_alter_table('service_at_location', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_at_location_location_id'), ['location_id'], unique=False)

    op.create_table('service_jobcenter',
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('jobcenter_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['jobcenter_id'], ['jobcenter.id'], name=op.f('fk_service_jobcenter_jobcenter_id_jobcenter'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_service_jobcenter_service_id_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('service_id', 'jobcenter_id', name=op.f('pk_service_jobcenter'))
    )
    op.create_table('service_taxonomy',
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('taxonomy_term_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_service_taxonomy_service_id_service'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['taxonomy_term_id'], ['taxonomy_term.id'], name=op.f('fk_service_taxonomy_taxonomy_term_id_taxonomy_term'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('service_id', 'taxonomy_term_id', name=op.f('pk_service_taxonomy'))
    )


def downgrade() -> None:
    op.drop_table('service_taxonomy')
    op.drop_table('service_jobcenter')
    with op.batch_alter_table('service_at_location', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_at_location_location_id'))

    op.drop_table('service_at_location')
    with op.batch_alter_table('schedule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_schedule_service_id'))
        batch_op.drop_index(batch_op.f('ix_schedule_location_id'))

    op.drop_table('schedule')
    with op.batch_alter_table('review_task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_task_service_id'))
        batch_op.drop_index(batch_op.f('ix_review_task_organization_id'))
        batch_op.drop_index('ix_review_task_open')

    op.drop_table('review_task')
    with op.batch_alter_table('phone', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_phone_service_id'))
        batch_op.drop_index(batch_op.f('ix_phone_organization_id'))
        batch_op.drop_index(batch_op.f('ix_phone_location_id'))

    op.drop_table('phone')
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_service_id'))
        batch_op.drop_index(batch_op.f('ix_contact_organization_id'))

    op.drop_table('contact')
    op.drop_table('address')
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_owner_id'))
        batch_op.drop_index(batch_op.f('ix_service_organization_id'))
        batch_op.drop_index(batch_op.f('ix_service_deputy_id'))

    op.drop_table('service')
    with op.batch_alter_table('location', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_location_organization_id'))
        batch_op.drop_index(batch_op.f('ix_location_gemeinde_id'))

    op.drop_table('location')
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organization_owner_id'))
        batch_op.drop_index(batch_op.f('ix_organization_deputy_id'))

    op.drop_table('organization')
    op.drop_table('jobcenter_region')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_entity')
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_user_id'))

    op.drop_table('api_token')
    op.drop_table('user')
    op.drop_table('taxonomy_term')
    op.drop_table('region')
    op.drop_table('jobcenter')
    op.drop_table('geocode_cache')

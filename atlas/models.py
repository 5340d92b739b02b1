"""Typed SQLAlchemy models, named after Open Referral HSDS 3.0 where it has a name."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship, validates

from . import vocab
from .db import Base
from .safetext import stored_url


def utcnow() -> datetime:
    """Return the current UTC time as a naive datetime (stored the same way on every database)."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_uuid() -> str:
    """Return a new random UUID string (HSDS ids are UUIDs)."""
    return str(uuid.uuid4())


def one_of(column: str, codes: dict[str, Any], name: str | None = None, nullable: bool = False) -> CheckConstraint:
    """Return a CHECK constraint that limits a column to a vocabulary's codes."""
    values = ", ".join(f"'{c}'" for c in codes)
    expr = f"{column} IN ({values})"
    if nullable:
        expr = f"{column} IS NULL OR {expr}"
    return CheckConstraint(expr, name=name or column)


def coordinate_checks() -> tuple[CheckConstraint, ...]:
    """Return CHECK constraints for a latitude/longitude pair."""
    return (
        CheckConstraint("latitude IS NULL OR (latitude >= -90 AND latitude <= 90)", name="latitude_range"),
        CheckConstraint("longitude IS NULL OR (longitude >= -180 AND longitude <= 180)", name="longitude_range"),
        CheckConstraint("(latitude IS NULL) = (longitude IS NULL)", name="coordinates_pair"),
    )


def exactly_one(*columns: str) -> CheckConstraint:
    """Return a CHECK constraint requiring exactly one of the columns to be set."""
    terms = " + ".join(f"(CASE WHEN {c} IS NULL THEN 0 ELSE 1 END)" for c in columns)
    return CheckConstraint(f"{terms} = 1", name="exactly_one_owner")


class TimestampMixin:
    """Creation and modification times (technical, not a human verification)."""

    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class SourceMixin:
    """Where a record came from, so re-imports update instead of duplicating."""

    source_name: Mapped[str | None] = mapped_column(String(120))
    source_id: Mapped[str | None] = mapped_column(String(200))
    source_url: Mapped[str | None] = mapped_column(String(2000))
    source_licence: Mapped[str | None] = mapped_column(String(200))
    imported_at: Mapped[datetime | None] = mapped_column(DateTime)


class EntryMixin(TimestampMixin, SourceMixin):
    """What organisations and offers share: visibility, ownership, verification, lifecycle, versioning."""

    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    visibility: Mapped[str] = mapped_column(String(10), default="public")
    internal_note: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    deputy_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    # Human verification ("Angaben geprüft"), kept apart from updated_at.
    assured_date: Mapped[date | None] = mapped_column(Date)
    assured_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    archived_at: Mapped[datetime | None] = mapped_column(DateTime)
    version_id: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    @declared_attr
    def owner(cls) -> Mapped[User | None]:
        return relationship("User", foreign_keys=[cls.owner_id])

    @declared_attr
    def deputy(cls) -> Mapped[User | None]:
        return relationship("User", foreign_keys=[cls.deputy_id])

    @declared_attr
    def assured_by(cls) -> Mapped[User | None]:
        return relationship("User", foreign_keys=[cls.assured_by_id])

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.version_id}

    @property
    def is_public(self) -> bool:
        """True when anonymous visitors may see this entry."""
        return self.visibility == "public" and self.archived_at is None


def entry_checks() -> tuple[CheckConstraint, ...]:
    """Return the CHECK constraints every entry table carries."""
    return (
        one_of("visibility", vocab.VISIBILITY),
        CheckConstraint("owner_id IS NULL OR deputy_id IS NULL OR owner_id <> deputy_id", name="owner_not_deputy"),
        CheckConstraint("version_id >= 1", name="version_positive"),
    )


class User(UserMixin, Base):
    """A person who logs in: a coordinator (edits) or staff (reads internal data)."""

    __tablename__ = "user"
    __table_args__ = (
        one_of("role", vocab.ROLES),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    # None means the account cannot log in with a password (e.g. demo owners).
    password_hash: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", cascade="all, delete-orphan")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def is_coordinator(self) -> bool:
        """True for users who may change data."""
        return self.role == "coordinator"

    @property
    def display_name(self) -> str:
        """Name for the UI, falling back to the e-mail address."""
        return self.name or self.email


class ApiToken(Base):
    """A bearer token for scripts; only its SHA-256 hash is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship(back_populates="tokens")


class Region(Base):
    """A Bundesland, Kreis (or kreisfreie Stadt) or Gemeinde; regions are data, never constants."""

    __tablename__ = "region"
    __table_args__ = (one_of("kind", vocab.REGION_KINDS), *coordinate_checks())

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Amtlicher Gemeinde-/Kreisschlüssel or Länderschlüssel.
    ags: Mapped[str | None] = mapped_column(String(12))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"))
    postal_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)

    parent: Mapped[Region | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Region]] = relationship(back_populates="parent", order_by="Region.name")

    def ancestor(self, kind: str) -> Region | None:
        """Return this region or the nearest ancestor of the given kind."""
        node: Region | None = self
        while node is not None and node.kind != kind:
            node = node.parent
        return node


jobcenter_region = Table(
    "jobcenter_region",
    Base.metadata,
    Column("jobcenter_id", ForeignKey("jobcenter.id", ondelete="CASCADE"), primary_key=True),
    Column("region_id", ForeignKey("region.id", ondelete="CASCADE"), primary_key=True),
)

service_jobcenter = Table(
    "service_jobcenter",
    Base.metadata,
    Column("service_id", ForeignKey("service.id", ondelete="CASCADE"), primary_key=True),
    Column("jobcenter_id", ForeignKey("jobcenter.id", ondelete="CASCADE"), primary_key=True),
)

service_taxonomy = Table(
    "service_taxonomy",
    Base.metadata,
    Column("service_id", ForeignKey("service.id", ondelete="CASCADE"), primary_key=True),
    Column("taxonomy_term_id", ForeignKey("taxonomy_term.id", ondelete="RESTRICT"), primary_key=True),
)


class Jobcenter(Base):
    """A Jobcenter and the regions of its catchment."""

    __tablename__ = "jobcenter"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str] = mapped_column(String(60), default="")

    regions: Mapped[list[Region]] = relationship(secondary=jobcenter_region)


class TaxonomyTerm(Base):
    """A category; two levels (parent_id of a top-level term is NULL)."""

    __tablename__ = "taxonomy_term"
    __table_args__ = (
        CheckConstraint("review_interval_months IS NULL OR review_interval_months > 0", name="review_interval"),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    # Everyday words for the public pages ("Geld und Schulden"); staff keep the professional name.
    name_plain: Mapped[str] = mapped_column(String(200), default="")
    name_plain_en: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("taxonomy_term.id", ondelete="RESTRICT"))
    # Months after which an offer in this category is due for review; None inherits the parent's.
    review_interval_months: Mapped[int | None] = mapped_column(Integer)
    # Terms such as employers are never shown to the public.
    internal_only: Mapped[bool] = mapped_column(Boolean, default=False)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    parent: Mapped[TaxonomyTerm | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[TaxonomyTerm]] = relationship(
        back_populates="parent", order_by="TaxonomyTerm.sort_order"
    )

    @property
    def top(self) -> TaxonomyTerm:
        """Return the top-level term of this term."""
        return self.parent or self

    @property
    def effective_review_interval(self) -> int:
        """Review interval in months, inherited from the parent, 12 when nothing is set."""
        return self.review_interval_months or (self.parent and self.parent.review_interval_months) or 12

    def label(self, lang: str = "de") -> str:
        """Return the term's name in a UI language."""
        return self.name_en if lang == "en" and self.name_en else self.name

    def public_label(self, lang: str = "de") -> str:
        """Return the term's everyday name for the public pages, else its name."""
        plain = self.name_plain_en if lang == "en" else self.name_plain
        return plain or self.label(lang)


class Organization(EntryMixin, Base):
    """A partner organisation (Träger)."""

    __tablename__ = "organization"
    __table_args__ = (
        *entry_checks(),
        CheckConstraint("NOT is_employer OR visibility = 'internal'", name="employer_internal"),
        UniqueConstraint("source_name", "source_id", name="uq_organization_source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    alternate_name: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(String(254))
    website: Mapped[str | None] = mapped_column(String(2000))
    legal_status: Mapped[str | None] = mapped_column(String(120))
    sector: Mapped[str | None] = mapped_column(String(120))
    is_employer: Mapped[bool] = mapped_column(Boolean, default=False)
    tax_status: Mapped[str | None] = mapped_column(String(120))
    tax_id: Mapped[str | None] = mapped_column(String(120))
    year_incorporated: Mapped[int | None] = mapped_column(Integer)
    logo: Mapped[str | None] = mapped_column(String(2000))
    uri: Mapped[str | None] = mapped_column(String(2000))
    parent_organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id", ondelete="SET NULL"))

    parent_organization: Mapped[Organization | None] = relationship(remote_side="Organization.id")

    services: Mapped[list[Service]] = relationship(back_populates="organization", order_by="Service.name")
    locations: Mapped[list[Location]] = relationship(back_populates="organization", order_by="Location.id")
    phones: Mapped[list[Phone]] = relationship(back_populates="organization", cascade="all, delete-orphan")
    contacts: Mapped[list[Contact]] = relationship(back_populates="organization", cascade="all, delete-orphan")

    @validates("website")
    def _url_rule(self, key: str, value: str | None) -> str | None:
        return stored_url(key, value)


class Service(EntryMixin, Base):
    """An offer (Angebot, Leistung, Maßnahme) of an organisation."""

    __tablename__ = "service"
    __table_args__ = (
        *entry_checks(),
        one_of("status", vocab.STATUS),
        one_of("intake_status", vocab.INTAKE_STATUS),
        one_of("delivery_format", vocab.DELIVERY_FORMAT, nullable=True),
        one_of("setting", vocab.SETTING, nullable=True),
        CheckConstraint("minimum_age IS NULL OR minimum_age >= 0", name="minimum_age"),
        CheckConstraint("maximum_age IS NULL OR maximum_age <= 130", name="maximum_age"),
        CheckConstraint(
            "minimum_age IS NULL OR maximum_age IS NULL OR minimum_age <= maximum_age", name="age_range"
        ),
        CheckConstraint("valid_from IS NULL OR valid_to IS NULL OR valid_from <= valid_to", name="valid_range"),
        UniqueConstraint("source_name", "source_id", name="uq_service_source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    alternate_name: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    # Plain-language summary for participants.
    summary_plain: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(2000))
    email: Mapped[str | None] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(20), default="aktiv")
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    # The "Hinweis" banner, e.g. "Aufnahmestopp bis März" (HSDS alert).
    alert: Mapped[str | None] = mapped_column(Text)
    fees_description: Mapped[str | None] = mapped_column(Text)
    cost_options: Mapped[list[str]] = mapped_column(JSON, default=list)
    access_routes: Mapped[list[str]] = mapped_column(JSON, default=list)
    legal_domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    contact_channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    accessibility: Mapped[list[str]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    interpretation_services: Mapped[str | None] = mapped_column(Text)
    accreditations: Mapped[str | None] = mapped_column(Text)
    licenses: Mapped[str | None] = mapped_column(Text)
    required_documents: Mapped[list[str]] = mapped_column(JSON, default=list)
    target_group: Mapped[str | None] = mapped_column(Text)
    eligibility_description: Mapped[str | None] = mapped_column(Text)
    minimum_age: Mapped[int | None] = mapped_column(Integer)
    maximum_age: Mapped[int | None] = mapped_column(Integer)
    application_process: Mapped[str | None] = mapped_column(Text)
    # Volatile facts, each with the date it was last confirmed.
    waiting_time: Mapped[str | None] = mapped_column(String(300))
    waiting_time_confirmed_at: Mapped[date | None] = mapped_column(Date)
    intake_status: Mapped[str] = mapped_column(String(20), default="unbekannt")
    intake_status_confirmed_at: Mapped[date | None] = mapped_column(Date)
    opening_hours_confirmed_at: Mapped[date | None] = mapped_column(Date)
    delivery_format: Mapped[str | None] = mapped_column(String(20))
    setting: Mapped[str | None] = mapped_column(String(20))
    short_notice: Mapped[bool] = mapped_column(Boolean, default=False)
    # Online, hotline or far-away offers that serve everyone regardless of Jobcenter.
    supra_regional: Mapped[bool] = mapped_column(Boolean, default=False)
    # SHA-256 of the import record this offer was last written from: an identical re-import skips it unread.
    import_hash: Mapped[str | None] = mapped_column(String(64))

    organization: Mapped[Organization] = relationship(back_populates="services")
    categories: Mapped[list[TaxonomyTerm]] = relationship(secondary=service_taxonomy, order_by="TaxonomyTerm.sort_order")
    jobcenters: Mapped[list[Jobcenter]] = relationship(secondary=service_jobcenter)
    service_at_locations: Mapped[list[ServiceAtLocation]] = relationship(
        back_populates="service", cascade="all, delete-orphan"
    )
    phones: Mapped[list[Phone]] = relationship(back_populates="service", cascade="all, delete-orphan")
    schedules: Mapped[list[Schedule]] = relationship(back_populates="service", cascade="all, delete-orphan")
    contacts: Mapped[list[Contact]] = relationship(back_populates="service", cascade="all, delete-orphan")
    sessions: Mapped[list[ServiceSession]] = relationship(
        back_populates="service", cascade="all, delete-orphan",
        order_by="(ServiceSession.starts_on, ServiceSession.start_time, ServiceSession.id)")

    @validates("url")
    def _url_rule(self, key: str, value: str | None) -> str | None:
        return stored_url(key, value)

    @property
    def locations(self) -> list[Location]:
        """The locations where this offer takes place."""
        return [sal.location for sal in self.service_at_locations]

    @property
    def is_public(self) -> bool:
        """Public when the offer, its organisation and all its categories may be shown."""
        return (
            super().is_public
            and self.organization.is_public
            and not any(c.internal_only or (c.parent and c.parent.internal_only) for c in self.categories)
        )

    @property
    def effective_owner(self) -> User | None:
        """The offer's owner, or its organisation's."""
        return self.owner or self.organization.owner

    @property
    def review_interval_months(self) -> int:
        """The shortest review interval of the offer's categories (12 without categories)."""
        return min((c.effective_review_interval for c in self.categories), default=12)


class Location(TimestampMixin, SourceMixin, Base):
    """A site of an organisation (Standort); one offer can be at several."""

    __tablename__ = "location"
    __table_args__ = (
        *coordinate_checks(),
        one_of("location_type", vocab.LOCATION_TYPES),
        one_of("address_precision", vocab.ADDRESS_PRECISION),
        one_of("geo_precision", vocab.GEO_PRECISION),
        one_of("geo_source", vocab.GEO_SOURCES, nullable=True),
        one_of("visibility", vocab.VISIBILITY),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    location_type: Mapped[str] = mapped_column(String(10), default="physical")
    name: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    # How to get there (HSDS transportation): bus line, stop, walking time.
    transportation: Mapped[str | None] = mapped_column(Text)
    accessibility_description: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(2000))
    external_identifier: Mapped[str | None] = mapped_column(String(200))
    external_identifier_type: Mapped[str | None] = mapped_column(String(200))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    geo_precision: Mapped[str] = mapped_column(String(20), default="unbekannt")
    geo_source: Mapped[str | None] = mapped_column(String(20))
    geocoded_at: Mapped[datetime | None] = mapped_column(DateTime)
    # What the public may see of the address: protected offers show only the Gemeinde.
    address_precision: Mapped[str] = mapped_column(String(20), default="exakt")
    visibility: Mapped[str] = mapped_column(String(10), default="public")
    gemeinde_id: Mapped[int | None] = mapped_column(ForeignKey("region.id", ondelete="SET NULL"), index=True)
    archived_at: Mapped[datetime | None] = mapped_column(DateTime)

    organization: Mapped[Organization] = relationship(back_populates="locations")
    gemeinde: Mapped[Region | None] = relationship()
    address: Mapped[Address | None] = relationship(
        back_populates="location", cascade="all, delete-orphan", uselist=False
    )
    phones: Mapped[list[Phone]] = relationship(back_populates="location", cascade="all, delete-orphan")
    schedules: Mapped[list[Schedule]] = relationship(back_populates="location", cascade="all, delete-orphan")

    @validates("url")
    def _url_rule(self, key: str, value: str | None) -> str | None:
        return stored_url(key, value)

    @property
    def is_protected(self) -> bool:
        """True when the public may not see the street address."""
        return self.address_precision != "exakt"


class Address(Base):
    """The postal address of a location."""

    __tablename__ = "address"
    __table_args__ = (
        CheckConstraint("postal_code IS NULL OR length(postal_code) BETWEEN 3 AND 10", name="postal_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"), unique=True)
    address_1: Mapped[str | None] = mapped_column(String(300))
    address_2: Mapped[str | None] = mapped_column(String(300))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    city: Mapped[str] = mapped_column(String(200))
    # HSDS region: the Kreis; state_province: the Bundesland.
    region: Mapped[str | None] = mapped_column(String(200))
    state_province: Mapped[str | None] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2), default="DE")

    location: Mapped[Location] = relationship(back_populates="address")

    def street(self, precision: str = "exakt") -> str | None:
        """Return the street line, without the house number for 'strasse', None for 'gemeinde'."""
        return street_line(self.address_1, precision)

    def one_line(self, precision: str = "exakt") -> str:
        """Return the address on one line, reduced to what the precision allows."""
        return address_line(self.address_1, self.address_2, self.postal_code, self.city, precision)


HOUSE_NUMBER = re.compile(r"\s+\d+\s*[a-zA-Z]?(\s*[-/]\s*\d+\s*[a-zA-Z]?)?$")


def street_line(address_1: str | None, precision: str = "exakt") -> str | None:
    """The street as the public may see it: without the house number for 'strasse', nothing for 'gemeinde'."""
    if precision == "gemeinde" or not address_1:
        return None
    if precision == "strasse":
        return HOUSE_NUMBER.sub("", address_1).strip() or None
    return address_1


def address_line(address_1: str | None, address_2: str | None, postal_code: str | None, city: str | None,
                 precision: str = "exakt") -> str:
    """An address on one line, reduced to what the precision allows (only the town for 'gemeinde')."""
    if precision == "gemeinde":
        return city or ""
    place = " ".join(p for p in (postal_code, city) if p)
    extra = address_2 if precision == "exakt" else None
    return ", ".join(p for p in (street_line(address_1, precision), extra, place) if p)


class ServiceAtLocation(Base):
    """Links an offer to a location where it takes place."""

    __tablename__ = "service_at_location"
    __table_args__ = (UniqueConstraint("service_id", "location_id", name="uq_service_at_location_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"), index=True)
    description: Mapped[str | None] = mapped_column(Text)

    service: Mapped[Service] = relationship(back_populates="service_at_locations")
    location: Mapped[Location] = relationship()


class Phone(Base):
    """A phone number of an organisation, an offer or a location."""

    __tablename__ = "phone"
    __table_args__ = (
        one_of("type", vocab.PHONE_TYPES),
        one_of("visibility", vocab.VISIBILITY),
        exactly_one("organization_id", "service_id", "location_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The HSDS id a phone was imported with (None: derived from the row id on export).
    uuid: Mapped[str | None] = mapped_column(String(36))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(50))
    extension: Mapped[str | None] = mapped_column(String(20))
    type: Mapped[str] = mapped_column(String(20), default="voice")
    description: Mapped[str | None] = mapped_column(String(300))
    # Direct staff lines are internal.
    visibility: Mapped[str] = mapped_column(String(10), default="public")

    organization: Mapped[Organization | None] = relationship(back_populates="phones")
    service: Mapped[Service | None] = relationship(back_populates="phones")
    location: Mapped[Location | None] = relationship(back_populates="phones")


class Contact(Base):
    """A named contact person; always internal (staff personal data)."""

    __tablename__ = "contact"
    __table_args__ = (
        exactly_one("organization_id", "service_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str | None] = mapped_column(String(36))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(50))

    organization: Mapped[Organization | None] = relationship(back_populates="contacts")
    service: Mapped[Service | None] = relationship(back_populates="contacts")


class Schedule(Base):
    """Opening hours of a location or an offer (HSDS schedule, weekly)."""

    __tablename__ = "schedule"
    __table_args__ = (
        exactly_one("service_id", "location_id"),
        CheckConstraint("opens_at IS NULL OR closes_at IS NULL OR opens_at < closes_at", name="opens_before_closes"),
        CheckConstraint("valid_from IS NULL OR valid_to IS NULL OR valid_from <= valid_to", name="valid_range"),
        one_of("freq", {"WEEKLY": 1, "MONTHLY": 1}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str | None] = mapped_column(String(36))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"), index=True)
    freq: Mapped[str] = mapped_column(String(10), default="WEEKLY")
    # Comma-separated RFC 5545 weekdays: MO,TU,WE,TH,FR,SA,SU.
    byday: Mapped[str] = mapped_column(String(30))
    opens_at: Mapped[str | None] = mapped_column(String(5))
    closes_at: Mapped[str | None] = mapped_column(String(5))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(String(300))
    # The rest of the HSDS/RFC 5545 recurrence, kept as imported.
    dtstart: Mapped[date | None] = mapped_column(Date)
    until: Mapped[date | None] = mapped_column(Date)
    count: Mapped[int | None] = mapped_column(Integer)
    interval: Mapped[int | None] = mapped_column(Integer)
    wkst: Mapped[str | None] = mapped_column(String(2))
    byweekno: Mapped[str | None] = mapped_column(String(200))
    bymonthday: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    attending_type: Mapped[str | None] = mapped_column(String(100))
    schedule_link: Mapped[str | None] = mapped_column(String(2000))

    service: Mapped[Service | None] = relationship(back_populates="schedules")
    location: Mapped[Location | None] = relationship(back_populates="schedules")


class ServiceSession(Base):
    """One dated session of a course, group or event (Termin): a local date and wall-clock times in Europe/Berlin."""

    __tablename__ = "service_session"
    __table_args__ = (
        CheckConstraint("start_time IS NULL OR end_time IS NULL OR start_time < end_time", name="starts_before_ends"),
        CheckConstraint("end_time IS NULL OR start_time IS NOT NULL", name="end_needs_start"),
        one_of("seats", vocab.SESSION_SEATS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), default=new_uuid)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    # Wall-clock date and "HH:MM" times, never UTC instants: a session at 10:00 stays at 10:00 across DST changes.
    starts_on: Mapped[date] = mapped_column(Date, index=True)
    start_time: Mapped[str | None] = mapped_column(String(5))
    end_time: Mapped[str | None] = mapped_column(String(5))
    place: Mapped[str | None] = mapped_column(String(300))
    seats: Mapped[str] = mapped_column(String(20), default="unbekannt")
    registration_note: Mapped[str | None] = mapped_column(String(500))

    service: Mapped[Service] = relationship(back_populates="sessions")


class AuditLog(Base):
    """One change to one record: who, when, and each field's value before and after."""

    __tablename__ = "audit_log"
    __table_args__ = (
        one_of("action", {"create": 1, "update": 1, "delete": 1}),
        Index("ix_audit_log_entity", "entity_type", "entity_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # Who acted when no user did: "seed", "cli", "import:<source>".
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(10))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int] = mapped_column(Integer)
    # {field: [before, after]}
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    user: Mapped[User | None] = relationship()


class GeocodeCache(Base):
    """A cached answer of an online geocoder, so each address is asked at most once."""

    __tablename__ = "geocode_cache"
    __table_args__ = (*coordinate_checks(), UniqueConstraint("provider", "query", name="uq_geocode_cache_query"))

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(40))
    query: Mapped[str] = mapped_column(String(500))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    precision: Mapped[str | None] = mapped_column(String(20))
    display_name: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


REVIEW_KINDS = {
    "overdue": ("Prüfung fällig", "review overdue"),
    "link_broken": ("Link defekt", "broken link"),
    "link_changed": ("Link geändert", "link changed"),
    "public_report": ("Fehlermeldung", "public report"),
    "import_duplicate": ("mögliche Dublette", "possible duplicate"),
    "manual": ("Aufgabe", "task"),
}


class ReviewTask(Base):
    """Something a person must check on an organisation or offer; feeds the owner's review queue."""

    __tablename__ = "review_task"
    __table_args__ = (
        one_of("kind", REVIEW_KINDS),
        exactly_one("organization_id", "service_id"),
        Index("ix_review_task_open", "resolved_at", "assignee_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(300))
    detail: Mapped[str | None] = mapped_column(Text)
    # Identifies the origin (e.g. "link:42", "report:7") so the same problem opens only one task.
    source_ref: Mapped[str | None] = mapped_column(String(100))
    due_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    resolution_note: Mapped[str | None] = mapped_column(Text)

    organization: Mapped[Organization | None] = relationship()
    service: Mapped[Service | None] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])

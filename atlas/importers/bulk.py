"""Creating many new entries fast: batched INSERTs with their audit-log entries, in the caller's transaction.

The ORM path costs a few milliseconds per offer (seven objects with attribute events and the audit hook); new
rows of an import are therefore inserted in batches here. The audit log gets the same "create" entries the
session hook writes, so history, search sync and reports see bulk-created entries like any other.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, insert

from .. import reference
from ..audit import SKIPPED
from ..models import (
    Address,
    AuditLog,
    Contact,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceAtLocation,
    ServiceSession,
    new_uuid,
    service_jobcenter,
    service_taxonomy,
)
from .plan import LOCATION_FIELDS, ORG_FIELDS, SERVICE_FIELDS, PlanRow
from .records import SCHEDULE_EXTRA, ContactData, LocationData, PhoneData, ScheduleData

if TYPE_CHECKING:
    from .commit import Committer

BATCH = 1_000


def _plain(value: Any) -> Any:
    """JSON-safe value as the audit log stores it."""
    if type(value) is str:
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _default(table: Table, key: str) -> Any:
    """The value a column gets when an INSERT leaves it out."""
    default = table.c[key].default
    if default is None:
        return None
    return default.arg(None) if default.is_callable else default.arg


class BulkCreator:
    """Inserts the new organisations, sites and offers of a plan in batches."""

    def __init__(self, committer: Committer) -> None:
        self.c = committer
        self.session = committer.session
        self.actor = self.session.info.get("actor", (None, "system"))

    # -- low level ---------------------------------------------------------------------------------------

    def insert(self, model: Any, rows: list[dict[str, Any]], extra: dict[str, dict] | None = None) -> dict[str, int]:
        """INSERT rows in batches and write their audit entries; returns {uuid: id} for tables with a uuid.

        Rows come back through RETURNING in any order (batched; no row-by-row fallback), so they are matched by
        their uuid, and each audit entry is built from the row as stored.
        """
        if not rows:
            return {}
        if model in reference.MODELS:
            reference.changed(self.session)  # pages of this process list the new places once this commits
        table: Table = model.__table__
        keys = set().union(*rows)
        stamps = {k: self.c.now for k in ("created_at", "updated_at") if k in table.c and k not in keys}
        full = [{k: row[k] if k in row else _default(table, k) for k in keys} | stamps for row in rows]
        stored = []
        for start in range(0, len(full), BATCH):
            stored += self.session.execute(insert(table).returning(*table.c), full[start:start + BATCH]).all()
        # Like the session hook, the audit entry lists the values the import set (not column defaults).
        audited = sorted(k for k in keys if k not in SKIPPED and k != "id")
        self._audit(table.name, stored, audited, extra or {})
        return {row.uuid: row.id for row in stored} if "uuid" in table.c else {}

    def _audit(self, entity: str, stored: list[Any], keys: list[str], extra: dict[str, dict]) -> None:
        user_id, actor = self.actor
        now = self.c.now
        for start in range(0, len(stored), BATCH):  # built batch by batch: 70,000 entries never sit in memory
            entries = []
            for row in stored[start:start + BATCH]:
                values = row._mapping
                changes = {}
                for k in keys:
                    v = values[k]
                    if v is not None and v != "" and v != []:
                        changes[k] = [None, _plain(v)]
                if extra and values.get("uuid") in extra:
                    changes |= extra[values["uuid"]]
                entries.append({"at": now, "user_id": user_id, "actor": actor, "action": "create",
                                "entity_type": entity, "entity_id": values["id"], "changes": changes})
            self.session.execute(insert(AuditLog.__table__), entries)

    def _link(self, table: Table, rows: list[dict[str, Any]]) -> None:
        for start in range(0, len(rows), BATCH):
            self.session.execute(insert(table), rows[start:start + BATCH])

    # -- the plan ----------------------------------------------------------------------------------------

    def create(self, rows: list[PlanRow]) -> None:
        """Create the offers of these rows (all new) with organisations, sites and children."""
        c = self.c
        for row in rows:  # organisations updated or created earlier in this run go through the ORM
            if row.org_action == "update" or row.org_source_id in c.orgs:
                c.organisation(row)
        existing_sites = {}
        for row in rows:
            for data in (*row.record.locations, *row.record.site_only):
                key = c.location_key(row, data)
                if c.existing_location(row, data) is not None:
                    existing_sites[key] = c.location(row, None, data)
        self.session.flush()
        org_ids = {sid: org.id for sid, org in c.orgs.items()}
        org_ids |= {row.org_source_id: row.organization_id for row in rows if row.org_action == "link"}
        self._organisations(rows, org_ids)
        site_ids = {key: loc.id for key, loc in existing_sites.items()}
        self._locations(rows, org_ids, site_ids)
        self._services(rows, org_ids, site_ids)

    def _organisations(self, rows: list[PlanRow], org_ids: dict[str, int]) -> None:
        new: dict[str, PlanRow] = {}
        for row in rows:
            if row.org_source_id not in org_ids and row.org_source_id not in new:
                new[row.org_source_id] = row
        dicts = []
        for sid, row in new.items():
            data = row.record.organization
            values = {k: v for k, v in data.fields.items() if k in ORG_FIELDS}
            values |= {"name": data.name, "owner_id": self._user_id(data.owner), "deputy_id": self._deputy_id(data.deputy)}
            if values.get("is_employer"):
                values["visibility"] = "internal"
            values["uuid"] = data.uuid if data.uuid and data.uuid not in self.c.ctx.uuids["organization"] else new_uuid()
            dicts.append(values | self.c.source_values(sid, row.record.fields.get("source_url")))
        by_uuid = self.insert(Organization, dicts)
        org_ids |= {sid: by_uuid[d["uuid"]] for sid, d in zip(new, dicts)}
        self._phones([(("organization_id", org_ids[sid]), row.record.organization.phones) for sid, row in new.items()])
        self._contacts([(("organization_id", org_ids[sid]), row.record.organization.contacts)
                        for sid, row in new.items()])

    def _locations(self, rows: list[PlanRow], org_ids: dict[str, int], site_ids: dict[str, int]) -> None:
        new: dict[str, LocationData] = {}
        owners: dict[str, int] = {}
        for row in rows:
            for data in (*row.record.locations, *row.record.site_only):
                key = self.c.location_key(row, data)
                if key not in site_ids and key not in new:
                    new[key] = data
                    owners[key] = org_ids[row.org_source_id]
        dicts = []
        for key, data in new.items():
            values = {k: v for k, v in data.fields.items() if k in LOCATION_FIELDS and v is not None}
            values |= {"organization_id": owners[key]} | self.c.source_values(key)
            uid = data.uuid if data.uuid and data.uuid not in self.c.taken_location_uuids else new_uuid()
            self.c.taken_location_uuids.add(uid)
            values["uuid"] = uid
            values |= self.c.geo_values(data, values.get("location_type", "physical"))
            dicts.append(values)
        by_uuid = self.insert(Location, dicts)
        site_ids |= {key: by_uuid[d["uuid"]] for key, d in zip(new, dicts)}
        addresses = [{"location_id": site_ids[key], "address_1": d.address.address_1, "address_2": d.address.address_2,
                      "postal_code": d.address.postal_code, "city": d.address.city or "", "region": d.address.region,
                      "state_province": d.address.state_province, "country": d.address.country or "DE"}
                     for key, d in new.items() if d.address is not None]
        self.insert(Address, addresses)
        self._phones([(("location_id", site_ids[key]), d.phones) for key, d in new.items()])
        self._schedules([(("location_id", site_ids[key]), d.schedules) for key, d in new.items()])

    def _services(self, rows: list[PlanRow], org_ids: dict[str, int], site_ids: dict[str, int]) -> None:
        dicts: list[dict[str, Any]] = []
        extra: dict[str, dict] = {}
        for row in rows:
            record = row.record
            values = {k: v for k, v in record.fields.items() if k in SERVICE_FIELDS and v is not None}
            values |= {"name": record.name, "organization_id": org_ids[row.org_source_id],
                       "owner_id": self._user_id(record.owner), "deputy_id": self._deputy_id(record.deputy)}
            values["uuid"] = record.uuid if record.uuid and record.uuid not in self.c.ctx.uuids["service"] \
                else new_uuid()
            values["import_hash"] = row.digest
            dicts.append(values | self.c.source_values(row.source_id, record.fields.get("source_url")))
            jobcenters = sorted(j for j in record.jobcenters if j in self.c.ctx.jobcenters)
            extra[values["uuid"]] = {k: [[], v] for k, v in (("categories", sorted(row.categories)),
                                                             ("jobcenters", jobcenters)) if v}
        by_uuid = self.insert(Service, dicts, extra)
        ids = [by_uuid[d["uuid"]] for d in dicts]
        terms, jobcenters = self.c.ctx.terms, self.c.ctx.jobcenters
        self._link(service_taxonomy, [{"service_id": sid, "taxonomy_term_id": terms[slug].id}
                                      for sid, row in zip(ids, rows) for slug in row.categories])
        self._link(service_jobcenter, [{"service_id": sid, "jobcenter_id": jobcenters[j].id}
                                       for sid, row in zip(ids, rows) for j in dict.fromkeys(row.record.jobcenters)
                                       if j in jobcenters])
        links = []
        for sid, row in zip(ids, rows):
            descriptions = {self.c.location_key(row, d): d.link_description for d in row.record.locations}
            for key, description in descriptions.items():
                links.append({"service_id": sid, "location_id": site_ids[key], "description": description})
        self.insert(ServiceAtLocation, links)
        self._phones([(("service_id", sid), row.record.phones) for sid, row in zip(ids, rows)])
        self._schedules([(("service_id", sid), row.record.schedules) for sid, row in zip(ids, rows)])
        self.insert(ServiceSession, [{"service_id": sid, "uuid": new_uuid(), **s.values()}
                                     for sid, row in zip(ids, rows) for s in row.record.sessions])
        self._contacts([(("service_id", sid), row.record.contacts) for sid, row in zip(ids, rows)])

    # -- children ----------------------------------------------------------------------------------------

    def _phones(self, owners: list[tuple[tuple[str, int], list[PhoneData]]]) -> None:
        self.insert(Phone, [{key: owner, "number": p.number, "type": p.type, "description": p.description,
                             "extension": p.extension, "visibility": p.visibility, "uuid": p.uuid}
                            for (key, owner), phones in owners for p in phones])

    def _schedules(self, owners: list[tuple[tuple[str, int], list[ScheduleData]]]) -> None:
        self.insert(Schedule, [{key: owner, "byday": s.byday, "opens_at": s.opens_at, "closes_at": s.closes_at,
                                "description": s.description, "freq": s.freq, "valid_from": s.valid_from,
                                "valid_to": s.valid_to, "uuid": s.uuid,
                                **{k: s.extra.get(k) for k in SCHEDULE_EXTRA}}
                               for (key, owner), items in owners for s in items])

    def _contacts(self, owners: list[tuple[tuple[str, int], list[ContactData]]]) -> None:
        self.insert(Contact, [{key: owner, "name": x.name, "title": x.title, "department": x.department,
                               "email": x.email, "phone": x.phone, "uuid": x.uuid} for (key, owner), items in owners for x in items])

    def _user_id(self, email: str | None) -> int | None:
        user = self.c._user(email)
        return user.id if user is not None else None

    def _deputy_id(self, email: str | None) -> int | None:
        user = self.c._deputy(email)
        return user.id if user is not None else None

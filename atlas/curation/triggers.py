"""Database triggers: a deputy must be a coordinator, and a coordinator who deputises keeps the role.

Used by migration 0007 and by every later migration that rebuilds organization, service or user on SQLite
(a batch rebuild drops the triggers; they are dropped before and created again after).
"""

from __future__ import annotations

import sqlalchemy as sa

ENTRY_TABLES = ("organization", "service")
MESSAGE = "Die Vertretung muss ein Konto mit der Rolle Koordination sein."
ROLE_MESSAGE = "Dieses Konto ist noch Vertretung für Einträge und muss die Rolle Koordination behalten."


def create_triggers(conn: sa.Connection) -> None:
    """Refuse, in the database, a deputy who is not a coordinator, and demoting a coordinator who deputises."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text(f"""
            CREATE FUNCTION atlas_deputy_is_coordinator() RETURNS trigger AS $$
            BEGIN
              IF NEW.deputy_id IS NOT NULL AND NOT EXISTS (
                  SELECT 1 FROM "user" WHERE id = NEW.deputy_id AND role = 'coordinator') THEN
                RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'check_violation';
              END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql"""))
        conn.execute(sa.text(f"""
            CREATE FUNCTION atlas_deputy_keeps_role() RETURNS trigger AS $$
            BEGIN
              IF NEW.role <> 'coordinator' AND (
                  EXISTS (SELECT 1 FROM organization WHERE deputy_id = NEW.id)
                  OR EXISTS (SELECT 1 FROM service WHERE deputy_id = NEW.id)) THEN
                RAISE EXCEPTION '{ROLE_MESSAGE}' USING ERRCODE = 'check_violation';
              END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql"""))
        for table in ENTRY_TABLES:
            conn.execute(sa.text(f"CREATE TRIGGER {table}_deputy_is_coordinator BEFORE INSERT OR UPDATE OF deputy_id "
                                 f"ON {table} FOR EACH ROW EXECUTE FUNCTION atlas_deputy_is_coordinator()"))
        conn.execute(sa.text('CREATE TRIGGER user_deputy_keeps_role BEFORE UPDATE OF role ON "user" '
                             "FOR EACH ROW EXECUTE FUNCTION atlas_deputy_keeps_role()"))
        return
    check = ("WHEN NEW.deputy_id IS NOT NULL AND NOT EXISTS "
             "(SELECT 1 FROM user WHERE id = NEW.deputy_id AND role = 'coordinator') "
             f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")
    for table in ENTRY_TABLES:
        conn.execute(sa.text(f"CREATE TRIGGER {table}_deputy_insert BEFORE INSERT ON {table} FOR EACH ROW {check}"))
        conn.execute(sa.text(f"CREATE TRIGGER {table}_deputy_update BEFORE UPDATE OF deputy_id ON {table} "
                             f"FOR EACH ROW {check}"))
    conn.execute(sa.text(
        "CREATE TRIGGER user_deputy_keeps_role BEFORE UPDATE OF role ON user FOR EACH ROW "
        "WHEN NEW.role <> 'coordinator' AND (EXISTS (SELECT 1 FROM organization WHERE deputy_id = NEW.id) "
        "OR EXISTS (SELECT 1 FROM service WHERE deputy_id = NEW.id)) "
        f"BEGIN SELECT RAISE(ABORT, '{ROLE_MESSAGE}'); END"))


def drop_triggers(conn: sa.Connection) -> None:
    """Remove the triggers (and PostgreSQL's functions)."""
    if conn.dialect.name == "postgresql":
        for table in ENTRY_TABLES:
            conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {table}_deputy_is_coordinator ON {table}"))
        conn.execute(sa.text('DROP TRIGGER IF EXISTS user_deputy_keeps_role ON "user"'))
        conn.execute(sa.text("DROP FUNCTION IF EXISTS atlas_deputy_is_coordinator()"))
        conn.execute(sa.text("DROP FUNCTION IF EXISTS atlas_deputy_keeps_role()"))
        return
    for table in ENTRY_TABLES:
        conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {table}_deputy_insert"))
        conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {table}_deputy_update"))
    conn.execute(sa.text("DROP TRIGGER IF EXISTS user_deputy_keeps_role"))

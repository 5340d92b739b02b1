"""Alembic environment: atlas passes its own connection; nothing is read from alembic.ini."""

from alembic import context

import atlas  # noqa: F401  (imports every module, so every table is on the metadata)
from atlas.db import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run migrations on the connection atlas handed over in config.attributes."""
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("atlas migrations run online only: use 'flask --app atlas init-db'.")
run_migrations_online()

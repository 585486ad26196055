"""Alembic environment: runs on the connection `backend.db.session.migrate` passes in, or on
`sqlalchemy.url` (alembic.ini / DATABASE_URL) when used from the alembic command line."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import backend.risk.models  # noqa: F401  (the risk package's tables share this metadata)
from backend.db.models import metadata
from peerlend.db import normalise_url

config = context.config
target_metadata = metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from backend.settings import get_settings

        url = get_settings().database_url
    engine = create_engine(normalise_url(url))
    with engine.connect() as connection:
        _run(connection)
        connection.commit()


if context.is_offline_mode():
    context.configure(
        url=normalise_url(config.get_main_option("sqlalchemy.url")), target_metadata=target_metadata
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()

"""Migrations (the engine itself comes from `peerlend.db.make_engine`).

`alembic upgrade head` runs programmatically (`migrate`) whenever the indexer or the API
starts, so a fresh database, or one from an older release, is brought up to date first.
"""

from __future__ import annotations

import threading
from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

# Package data: a folder in a checkout and in an installed wheel alike.
MIGRATIONS = resources.files("backend.db") / "migrations"
_migrate_lock = threading.Lock()


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        config.set_main_option(
            "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
        )
    return config


def migrate(engine: Engine) -> None:
    """`alembic upgrade head` on this engine's database."""
    with _migrate_lock, engine.begin() as connection:
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

"""Alembic: the migrations create exactly the tables the models declare, on both databases."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from backend.db.models import metadata
from backend.db.session import alembic_config, migrate
from peerlend.db import make_engine

MIGRATIONS_HEAD = "0005"


def test_migrations_match_models(any_db):
    engine = make_engine(any_db)
    migrate(engine)
    migrate(engine)  # idempotent
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
        assert context.get_current_revision() == MIGRATIONS_HEAD
    tables = set(inspect(engine).get_table_names())
    assert {
        "event",
        "block",
        "sync_state",
        "loan",
        "note",
        "repayment",
        "claim",
        "score",
        "identity",
        "token",
        "risk_transfer",
        "alert_ack",
        "reminder_delivery",
    } <= tables

    with engine.begin() as conn:
        config = alembic_config(engine)
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate(engine)
    assert "loan" in inspect(engine).get_table_names()

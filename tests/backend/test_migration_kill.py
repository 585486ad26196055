"""A fresh SQLite database killed (SIGKILL) during its first migration, before any one of the
migration's statements, is left with nothing or everything, and the next start finishes it.

The kill is real: a forked child runs `migrate` and SIGKILLs itself just before statement k is
sent to SQLite, for every k of a full run. Forking keeps this fast (no interpreter start-up per
kill) while the parent only ever opens the files the dead child left behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import event, inspect

from backend.db.session import migrate
from peerlend.db import make_engine

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def schema(url: str) -> set[tuple[str, str]]:
    """Every table and index with its SQL, as SQLite stores it."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
            ).all()
            version = (
                conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
                if "alembic_version" in inspect(conn).get_table_names()
                else None
            )
        return {(f"{kind}:{name}", sql or "") for kind, name, sql in rows} | {("version", str(version))}
    finally:
        engine.dispose()


def count_statements(url: str) -> int:
    engine = make_engine(url)
    statements = 0

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_args):
        nonlocal statements
        statements += 1

    migrate(engine)
    engine.dispose()
    return statements


def migrate_and_die_before(url: str, k: int) -> int:
    """Forks a child that migrates `url` and SIGKILLs itself before its k-th statement; returns
    the child's wait status."""
    pid = os.fork()
    if pid == 0:  # the child: never returns
        try:
            engine = make_engine(url)
            sent = 0

            @event.listens_for(engine, "before_cursor_execute")
            def _die(*_args):
                nonlocal sent
                sent += 1
                if sent == k:
                    os.kill(os.getpid(), signal.SIGKILL)

            migrate(engine)
        finally:
            os._exit(3)  # only reached if the kill never came
    _, status = os.waitpid(pid, 0)
    return status


@pytest.fixture
def db_dir(tmp_path):
    """Memory-backed files where the machine has them: a hundred fresh databases' fsyncs
    would otherwise dominate the test's time, and durability is not what is tested here."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    folder = Path(tempfile.mkdtemp(prefix="peerlend-migration-kill-", dir=shm))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_kill_before_every_statement_of_the_first_migration(db_dir):
    schema_url = f"sqlite:///{db_dir / 'reference.db'}"
    total = count_statements(schema_url)
    complete = schema(schema_url)
    empty = schema(f"sqlite:///{db_dir / 'empty.db'}")
    assert total > 40, f"expected the full migration to send many statements, got {total}"

    for k in range(1, total + 1):
        url = f"sqlite:///{db_dir / f'killed_{k}.db'}"
        status = migrate_and_die_before(url, k)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, (
            f"statement {k}: the child was not killed (status {status})"
        )
        left = schema(url)
        assert left in (empty, complete), (
            f"killed before statement {k} of {total}: a partial schema was left: {sorted(left)[:5]}..."
        )
        engine = make_engine(url)
        migrate(engine)  # the next start
        engine.dispose()
        assert schema(url) == complete, f"killed before statement {k}: the next start did not finish it"

"""The one SQLAlchemy engine factory: the indexer's and the oracle service's databases.

SQLite (the default for both) gets one set of pragmas:

* `journal_mode=WAL`: readers (the API, the oracle's HTTP thread) never block the writer, and
  a killed writer's open transaction is rolled back when the database is next opened;
* `synchronous=FULL`: a committed transaction survives power loss (a pending push must, and
  the indexer's one transaction per batch costs one fsync);
* `foreign_keys=ON`; a 30 s busy timeout so two threads writing at once wait, not fail.

SQLite transactions are real transactions. Python's sqlite3 driver (3.11) opens a transaction
only before INSERT/UPDATE/DELETE, so a migration's CREATE TABLEs each committed on their own (a
kill mid-migration left a half-built schema that no later start could upgrade) and a request's
SELECTs each saw the latest commit (one answer could mix two indexed blocks). So the driver's
own transaction handling is switched off and every SQLAlchemy transaction starts with an
explicit `BEGIN`, as SQLAlchemy's pysqlite documentation recommends:

* by default `BEGIN IMMEDIATE`: the transaction takes the write lock at once, so a writer never
  reads a snapshot that another writer's commit then makes stale (which SQLite refuses with
  "database is locked" instead of waiting);
* `snapshot_reads(engine)`: `BEGIN DEFERRED` for read-only work (the API's GET requests): every
  statement of the transaction reads the one WAL snapshot taken at its first read, and readers
  never wait for the writer.

DDL is transactional in SQLite, so a migration run in one transaction leaves nothing or
everything.

`postgresql://` and `postgres://` URLs mean psycopg 3.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

SQLITE_BUSY_TIMEOUT_SECONDS = 30
# Execution option naming how a SQLite transaction begins: "IMMEDIATE" or "DEFERRED".
SQLITE_BEGIN = "sqlite_begin"
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}",
)


def normalise_url(url: str) -> str:
    """`postgresql://` and `postgres://` mean psycopg 3 here."""
    parsed = make_url(
        url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url
    )
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            # State folders such as the default `.run/` need not exist yet.
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(pragma)
            cursor.close()
            # The driver emits no BEGIN of its own; `_sqlite_begin` below does.
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):
            mode = connection.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
            if mode not in ("IMMEDIATE", "DEFERRED"):
                raise ValueError(f"{SQLITE_BEGIN} must be IMMEDIATE or DEFERRED, not {mode!r}")
            connection.exec_driver_sql(f"BEGIN {mode}")

        return engine
    return create_engine(url, pool_pre_ping=True)


def snapshot_reads(engine: Engine) -> Engine:
    """The same engine (and pool) for read-only transactions: on SQLite they begin DEFERRED, so
    all their statements read one snapshot without waiting for the writer. PostgreSQL needs
    `REPEATABLE READ` for the same guarantee; callers ask for it per connection."""
    if engine.dialect.name != "sqlite":
        return engine
    return engine.execution_options(**{SQLITE_BEGIN: "DEFERRED"})

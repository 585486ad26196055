"""`peerlend-indexer`: run the indexer, serve the API, run the risk monitor, reconcile SQL against
the chain.

Settings come from the environment (see backend/settings.py and docs/indexer.md):
DATABASE_URL, PEERLEND_RPC_URL, PEERLEND_DEPLOYMENTS_DIR, PEERLEND_CONFIRMATIONS, ...
"""

from __future__ import annotations

import json
import logging
import sys

import click

from backend.settings import get_settings


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def main(verbose: bool) -> None:
    """Peerlend's chain indexer and read-only API."""
    _logging(verbose)


@main.command()
@click.option("--exit-at-head", is_flag=True, help="Stop once caught up with head − confirmations.")
def run(exit_at_head: bool) -> None:
    """Sync events into the database, forever (or until caught up)."""
    from backend.db.session import migrate
    from backend.indexer.sync import Indexer
    from peerlend.db import make_engine
    from peerlend.deployments import DeploymentError

    settings = get_settings()
    engine = make_engine(settings.database_url)
    migrate(engine)
    indexer = Indexer(settings, engine)
    try:
        indexer.run(exit_at_head=exit_at_head)
    except DeploymentError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        indexer.stop()
    status = indexer.status
    click.echo(
        f"indexed to block {status.last_block} (head {status.head}), {status.events} events this run",
        err=True,
    )


@main.command()
@click.option("--host", default=None, help="Listen address (PEERLEND_API_HOST, default 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (PEERLEND_API_PORT, default 8000).")
@click.option("--no-indexer", is_flag=True, help="Serve the API only; another process indexes.")
def serve(host: str | None, port: int | None, no_indexer: bool) -> None:
    """Serve the JSON API, with the indexer syncing in a background thread."""
    import uvicorn

    from backend.api.app import create_app

    settings = get_settings()
    app = create_app(settings, run_indexer=not no_indexer)
    # One process: the indexer thread and the response cache live in it, and on two cores a
    # second worker measured slower (bench/README.md). uvloop and httptools: the C event loop
    # and HTTP parser; no access log by default (PEERLEND_API_ACCESS_LOG=1 turns it on).
    uvicorn.run(
        app,
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_level="info",
        loop="uvloop",
        http="httptools",
        access_log=settings.api_access_log,
        backlog=4096,
    )


@main.command()
@click.option("--once", is_flag=True, help="One pass, then exit (for cron or a deploy check).")
def monitor(once: bool) -> None:
    """The risk monitor alone: the token-transfer mirror the AML rules read, and the reminders
    and their webhooks, following the indexed block. `serve` runs it beside its indexer; with
    `run` and `serve --no-indexer` in separate processes, run this beside `run`."""
    from backend.db.session import migrate
    from backend.risk.monitor import Monitor
    from peerlend.db import make_engine

    settings = get_settings()
    engine = make_engine(settings.database_url)
    migrate(engine)
    risk = Monitor(settings, engine)
    if once:
        try:
            risk.run_once()
        except Exception as exc:  # noqa: BLE001  (one readable line, whatever failed: RPC, database, endpoint)
            raise click.ClickException(f"risk monitor pass failed: {type(exc).__name__}: {exc}") from None
    else:
        try:
            risk.run()
        except KeyboardInterrupt:
            risk.stop()
    status = risk.status
    click.echo(
        f"risk monitor at indexed block {status.block}: {status.transfers} transfers mirrored, "
        f"{status.planned} reminders planned, {status.delivered} delivered",
        err=True,
    )


@main.command()
def migrate() -> None:
    """Bring the database schema up to date (`alembic upgrade head`), then exit.

    `run` and `serve` migrate at start too; this is for deploy scripts that migrate first."""
    from backend.db.session import migrate as upgrade
    from peerlend.db import make_engine

    engine = make_engine(get_settings().database_url)
    upgrade(engine)
    click.echo(f"database at {engine.url!r} is up to date", err=True)


@main.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def reset(yes: bool) -> None:
    """Delete everything indexed (the schema stays), e.g. before indexing a new deployment."""
    from sqlalchemy import delete
    from sqlmodel import Session

    from backend.db.models import metadata
    from backend.db.session import migrate
    from peerlend.db import make_engine

    settings = get_settings()
    if not yes:
        click.confirm(f"Delete all indexed data in {make_engine(settings.database_url).url!r}?", abort=True)
    engine = make_engine(settings.database_url)
    migrate(engine)
    with Session(engine) as session:
        for table in reversed(metadata.sorted_tables):
            session.exec(delete(table))
        session.commit()
    click.echo("indexed data deleted", err=True)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
def reconcile(as_json: bool) -> None:
    """对账: compare the SQL mirror with on-chain views; exit 1 on any mismatch, 2 if there is
    nothing to compare (empty database, another chain or deployment, RPC down)."""
    from sqlmodel import Session

    from backend.core.reconcile import ReconcileError
    from backend.core.reconcile import reconcile as run_reconcile
    from backend.db.session import migrate
    from peerlend.db import make_engine
    from peerlend.deployments import DeploymentError
    from peerlend.rpc import Rpc

    settings = get_settings()
    engine = make_engine(settings.database_url)
    migrate(engine)
    rpc = Rpc(settings.rpc_url, settings.rpc_timeout)
    try:
        chain_id = rpc.chain_id()
        deployment = settings.load_deployment(chain_id)
        with Session(engine) as session:
            report = run_reconcile(session, rpc, deployment)
    except (DeploymentError, ReconcileError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001
        click.echo(f"error: cannot reconcile: {type(exc).__name__}: {exc}", err=True)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        checks = sum(report.checked.values())
        click.echo(
            f"reconciled at block {report.block}: {checks} checks, {len(report.mismatches)} mismatches "
            f"({report.calls} calls in {report.rpc_requests} JSON-RPC batches)"
        )
        for m in report.mismatches:
            click.echo(f"MISMATCH {m.scope} {m.key} {m.field}: sql={m.sql} chain={m.chain}")
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()

"""CLI commands of the oracle service (click): `serve` and `score`.

They are plain click commands, registered on the `peerlend-oracle` group in `oracle/cli.py`
and also runnable as `python -m oracle.service serve|score`.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading

import click

from oracle.service.settings import OracleSettings
from peerlend.vocabulary import Grade

log = logging.getLogger("oracle.service")


def setup_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(level)


def _settings() -> OracleSettings:
    try:
        return OracleSettings()
    except Exception as error:  # pydantic's message names the variable, never a secret's value
        raise click.ClickException(f"bad oracle settings: {error}") from None


def _runtime(settings: OracleSettings, *, with_key: bool):
    from oracle.service.keys import KeyLoadError
    from oracle.service.runtime import Runtime

    try:
        return Runtime.build(settings, with_key=with_key)
    except (KeyLoadError, RuntimeError, FileNotFoundError) as error:
        raise click.ClickException(str(error)) from None


@click.command("serve")
@click.option("--host", default=None, help="API host (default PEERLEND_ORACLE_API_HOST).")
@click.option("--port", type=int, default=None, help="API port (default PEERLEND_ORACLE_API_PORT).")
@click.option("--api/--no-api", default=True, show_default=True, help="Serve the HTTP API.")
@click.option("--worker/--no-worker", default=True, show_default=True, help="Run the push worker.")
@click.option("--log-level", default="INFO", show_default=True)
def serve(host: str | None, port: int | None, api: bool, worker: bool, log_level: str) -> None:
    """Run the HTTP API and the worker that pushes scores on-chain."""
    setup_logging(log_level)
    settings = _settings()
    runtime = _runtime(settings, with_key=worker)
    stop = threading.Event()
    thread = None
    if worker:
        from oracle.service.worker import Worker

        thread = threading.Thread(target=Worker(runtime).run, args=(stop,), name="oracle-worker", daemon=True)
        thread.start()
    try:
        if api:
            import uvicorn

            from oracle.service.api import create_app

            uvicorn.run(
                create_app(runtime),
                host=host or settings.api_host,
                port=port or settings.api_port,
                log_level=log_level.lower(),
            )
        else:
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
            while not stop.is_set():
                stop.wait(1.0)
    finally:
        stop.set()
        if thread is not None:
            thread.join(timeout=30)


@click.command("score")
@click.option("--address", required=True, help="The applicant's address.")
@click.option(
    "--push",
    is_flag=True,
    help="Also push the score on-chain, answering the account's pending request (needs the oracle key).",
)
@click.option("--log-level", default="WARNING", show_default=True)
def score(address: str, push: bool, log_level: str) -> None:
    """Score --address from its stored application and print JSON; --push also pushes it as the
    answer to the account's pending on-chain request."""
    from oracle.service import store
    from oracle.service.applications import Rejected, checksum
    from oracle.service.history import read_histories
    from oracle.service.store import Application, Push

    setup_logging(log_level)
    try:
        account = checksum(address)
    except Rejected as error:
        raise click.BadParameter(error.message, param_hint="--address") from None
    runtime = _runtime(_settings(), with_key=push)
    with store.session(runtime.engine) as db:
        app = db.get(Application, account)
    if app is None:
        raise click.ClickException(f"no application stored for {account}")
    history = read_histories(runtime.chain, [account])[account]
    try:
        scored = runtime.scorer.score(account, app.fields, history)
    except ValueError as error:
        raise click.ClickException(f"cannot score {account}: {error}") from None
    out = {
        "address": account,
        "score": scored.score,
        "grade": scored.grade,
        "grade_letter": Grade(scored.grade).letter,
        "pd": scored.pd,
        "reasons": scored.reasons,
        "model_id": scored.model_id,
        "history": scored.history,
    }
    if push:
        from oracle.service import watcher

        pusher = runtime.pusher()
        if pusher.reconcile() is not None:
            raise click.ClickException("a push is still in flight; run again once it is mined")
        watcher.scan_requests(runtime.chain, runtime.engine)
        with store.session(runtime.engine) as db:
            request = store.latest_request(db, account)
        if request is None or request.status != store.QUEUED:
            raise click.ClickException(
                f"{account} has no pending score request; it must call CreditOracle.request_score() first"
            )
        outcome = pusher.push_next(only=[account])
        if outcome is None:
            raise click.ClickException("nothing was pushed (see the log)")
        with store.session(runtime.engine) as db:
            row = db.get(Push, outcome.push_id)
        record = runtime.chain.oracle.functions.score_of(account).call()
        entry = next(e for e in row.entries if e["account"] == account)
        out.update(
            score=entry["score"],
            pd=entry["pd"],
            reasons=entry["reasons"],
            push_id=row.id,
            push_status=row.status,
            tx_hash=row.tx_hash or row.tx_hashes[-1],
            onchain={
                "score": record[0],
                "grade": record[1],
                "model": "0x" + bytes(record[2]).hex(),
                "updated_at": record[3],
                "expires_at": record[4],
            },
        )
    click.echo(json.dumps(out, indent=2))


COMMANDS = (serve, score)

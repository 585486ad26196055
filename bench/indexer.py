"""Indexer throughput and live lag, on a fresh anvil filled by `bench/load.py`.

- Backfill: the whole chain (≥ 20,000 Peerlend events; 5,000 in quick mode) indexed from
  scratch with `Indexer(settings, engine).run(exit_at_head=True)` into SQLite, and into
  PostgreSQL when a server can be had (PEERLEND_TEST_POSTGRES_URL, or a throwaway one from
  scripts/ci_postgres.sh). Reported as events/s (target ≥ 5,000), with the share of time
  spent waiting for anvil's JSON-RPC. Below target, a second SQLite backfill runs under
  cProfile and the Markdown lists what dominates.
- Live lag: `peerlend-indexer run` (a subprocess, default settings but 0 confirmations)
  follows the chain while `bench.load.Streamer` sends transactions at a steady rate and anvil
  mines a block every second; head − indexed block is sampled every 0.5 s.

The databases are handed to the API section (bench/api.py) when it runs in the same
process, so the chain is built once; everything is removed at the end (atexit as backstop).
"""

from __future__ import annotations

import atexit
import cProfile
import os
import pstats
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET_EVENTS_PER_SECOND = 5_000
SIZES = {False: 20_000, True: 5_000}  # events generated, by quick
LIVE = {False: (25.0, 30.0), True: (10.0, 30.0)}  # (seconds, transactions/s), by quick
MAX_ERRORS = 3  # consecutive indexer errors before a backfill is abandoned
BLOCK_TIME = 1  # seconds (anvil's interval mining takes whole seconds)


def echo(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# PostgreSQL: an existing server (PEERLEND_TEST_POSTGRES_URL) or a throwaway one
# ---------------------------------------------------------------------------


class Postgres:
    """A PostgreSQL server to create scratch databases in."""

    def __init__(self, admin_url: str, data_dir: str | None = None):
        self.admin_url = admin_url.replace("postgresql+psycopg://", "postgresql://")
        self.data_dir = data_dir  # set when we started it (and so stop it)
        self.databases: list[str] = []

    @classmethod
    def get(cls) -> tuple[Postgres | None, str | None]:
        """(server, None), or (None, why not)."""
        url = os.environ.get("PEERLEND_TEST_POSTGRES_URL")
        if not url and os.environ.get("DATABASE_URL", "").startswith("postgres"):
            url = os.environ["DATABASE_URL"]
        if url:
            server = cls(url)
            reason = server.ping()
            if reason is None:
                return server, None
            echo(f"bench: PostgreSQL at {url} does not answer ({reason}); starting a throwaway one")
        try:
            result = subprocess.run(
                ["bash", str(ROOT / "scripts" / "ci_postgres.sh")],
                capture_output=True, text=True, timeout=600, cwd=ROOT,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, f"scripts/ci_postgres.sh failed: {exc}"
        exports = dict(
            line.removeprefix("export ").split("=", 1)
            for line in result.stdout.splitlines()
            if line.startswith("export ") and "=" in line
        )
        if result.returncode != 0 or "PEERLEND_TEST_POSTGRES_URL" not in exports:
            tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
            return None, f"scripts/ci_postgres.sh exited {result.returncode}: {tail}"
        server = cls(exports["PEERLEND_TEST_POSTGRES_URL"], exports.get("PEERLEND_PG_DATA"))
        reason = server.ping()
        if reason is not None:
            server.stop()
            return None, reason
        return server, None

    def ping(self) -> str | None:
        import psycopg

        try:
            with psycopg.connect(self.admin_url, connect_timeout=3):
                return None
        except Exception as exc:  # noqa: BLE001
            return f"{type(exc).__name__}: {exc}"

    def create(self) -> str:
        import psycopg
        from sqlalchemy.engine import make_url

        name = f"peerlend_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.databases.append(name)
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def version(self) -> str:
        import psycopg

        with psycopg.connect(self.admin_url) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]

    def stop(self) -> None:
        import psycopg

        for name in self.databases:
            try:
                with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=3) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception:  # noqa: BLE001, S110  (the server may be gone already)
                pass
        self.databases = []
        if self.data_dir:
            subprocess.run(
                ["bash", str(ROOT / "scripts" / "ci_postgres.sh"), "stop", self.data_dir],
                capture_output=True, timeout=120, cwd=ROOT,
            )  # fmt: skip
            self.data_dir = None


# ---------------------------------------------------------------------------
# The prepared chain and databases, shared with bench/api.py
# ---------------------------------------------------------------------------


@dataclass
class Prepared:
    quick: bool
    tmp: Path
    chain: Any = None  # bench.load.Chain while anvil runs
    load: Any = None  # bench.load.LoadResult
    loader: Any = None
    sqlite_url: str | None = None
    postgres: Postgres | None = None
    postgres_url: str | None = None
    postgres_reason: str | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def stop_chain(self) -> None:
        if self.chain is not None:
            self.chain.anvil.stop()
            shutil.rmtree(self.chain.deployments_dir, ignore_errors=True)
            self.chain = None

    def close(self) -> None:
        self.stop_chain()
        if self.postgres is not None:
            self.postgres.stop()
            self.postgres = None
        shutil.rmtree(self.tmp, ignore_errors=True)


_HANDOFF: Prepared | None = None
_OPEN: list[Prepared] = []


@atexit.register
def _cleanup() -> None:
    for prepared in list(_OPEN):
        prepared.close()


def prepare(quick: bool, postgres: bool = True) -> Prepared:
    """A fresh anvil with Peerlend deployed and the load generated; a PostgreSQL server if possible."""
    from bench.load import Loader, deploy

    prepared = Prepared(quick=quick, tmp=Path(tempfile.mkdtemp(prefix="peerlend-bench-")))
    _OPEN.append(prepared)
    try:
        prepared.chain = deploy(accounts=100, directory=prepared.tmp / "deployments")
        echo(
            f"bench: anvil {prepared.chain.url}, contracts deployed in {prepared.chain.deploy_seconds:.1f} s"
        )
        prepared.loader = Loader(prepared.chain.url, prepared.chain.record, echo=echo)
        prepared.load = prepared.loader.generate(SIZES[quick])
        echo(
            f"bench: {prepared.load.events:,} events in {prepared.load.transactions:,} transactions, "
            f"{prepared.load.blocks:,} blocks, generated in {prepared.load.seconds:.1f} s"
        )
        if postgres:
            prepared.postgres, prepared.postgres_reason = Postgres.get()
            if prepared.postgres is None:
                echo(f"bench: no PostgreSQL ({prepared.postgres_reason})")
    except BaseException:
        prepared.close()
        _OPEN.remove(prepared)
        raise
    return prepared


def take_handoff(quick: bool) -> Prepared | None:
    """The databases the indexer section filled in this process, if any (for bench/api.py)."""
    global _HANDOFF
    prepared, _HANDOFF = _HANDOFF, None
    if prepared is not None and prepared.quick != quick:
        release(prepared)
        return None
    return prepared


def release(prepared: Prepared) -> None:
    prepared.close()
    if prepared in _OPEN:
        _OPEN.remove(prepared)


# ---------------------------------------------------------------------------
# Backfill
# ---------------------------------------------------------------------------


def settings_for(prepared: Prepared, url: str):
    from backend.settings import Settings

    return Settings(
        database_url=url,
        rpc_url=prepared.chain.url,
        deployments_dir=prepared.chain.deployments_dir,
        confirmations=0,
    )


def timed_rpc(url: str, timeout: float):
    """An `Rpc` that adds up the wall time of its calls (the share of a backfill spent in anvil)."""
    from peerlend.rpc import Rpc

    class TimedRpc(Rpc):
        seconds = 0.0
        calls = 0

        def _timed(self, fn, *args):
            began = time.perf_counter()
            try:
                return fn(*args)
            finally:
                self.seconds += time.perf_counter() - began
                self.calls += 1

        def get_logs(self, *args):
            return self._timed(super().get_logs, *args)

        def get_headers(self, *args):
            return self._timed(super().get_headers, *args)

        def block_number(self):
            return self._timed(super().block_number)

        def chain_id(self):
            return self._timed(super().chain_id)

    return TimedRpc(url, timeout)


def backfill(prepared: Prepared, url: str, profile: cProfile.Profile | None = None) -> dict[str, Any]:
    """Indexes the chain from scratch into `url`; returns events/s and where the time went."""
    from backend.db.session import migrate
    from backend.indexer.sync import Indexer
    from peerlend.db import make_engine

    settings = settings_for(prepared, url)
    engine = make_engine(settings.database_url)
    try:
        began = time.perf_counter()
        migrate(engine)
        migrate_seconds = time.perf_counter() - began
        rpc = timed_rpc(settings.rpc_url, settings.rpc_timeout)
        indexer = Indexer(settings, engine, rpc=rpc)
        # The indexer retries every error forever (with backoff); a benchmark must not.
        done = threading.Event()

        def watchdog() -> None:
            while not done.wait(0.2):
                if indexer.status.consecutive_errors >= MAX_ERRORS:
                    indexer.stop()
                    return

        guard = threading.Thread(target=watchdog, daemon=True)
        guard.start()
        began = time.perf_counter()
        if profile is not None:
            profile.enable()
        try:
            indexer.run(exit_at_head=True)
        finally:
            if profile is not None:
                profile.disable()
            done.set()
            guard.join()
        seconds = time.perf_counter() - began
    finally:
        engine.dispose()
    status = indexer.status
    if status.consecutive_errors:
        raise RuntimeError(
            f"backfill into {url.split(':', 1)[0]} failed {status.consecutive_errors}×: {status.last_error}"
        )
    return {
        "events": status.events,
        "blocks": (status.last_block or 0) - prepared.chain.record["start_block"] + 1,
        "seconds": round(seconds, 2),
        "events_per_second": round(status.events / seconds) if seconds else None,
        "rpc_seconds": round(rpc.seconds, 2),
        "rpc_share": round(rpc.seconds / seconds, 3) if seconds else None,
        "rpc_calls": rpc.calls,
        "batches": status.batches,
        "migrate_seconds": round(migrate_seconds, 2),
        "meets_target": bool(seconds and status.events / seconds >= TARGET_EVENTS_PER_SECOND),
    }


# ---------------------------------------------------------------------------
# Profiles: where the time goes, by package and by function
# ---------------------------------------------------------------------------

CATEGORIES = (
    ("backend/indexer/decode", "decode (backend/indexer/decode.py)"),
    ("backend/indexer/apply", "apply handlers (backend/indexer/apply.py)"),
    ("backend/indexer/sync", "sync loop (backend/indexer/sync.py)"),
    ("peerlend/rpc", "RPC client (peerlend/rpc.py)"),
    ("backend/core", "views and stats (backend/core)"),
    ("backend/api", "API routes and deps (backend/api)"),
    ("peerlend/loanmath", "loan math (peerlend/loanmath.py)"),
    ("backend/db", "column types (backend/db)"),
    ("backend/", "other backend code"),
    ("sqlalchemy/orm", "SQLAlchemy ORM (unit of work, identity map, loading)"),
    ("sqlalchemy", "SQLAlchemy Core (SQL compile, execute, result rows)"),
    ("sqlmodel", "SQLModel"),
    ("sqlite3", "sqlite3 driver (C: SQL execution, I/O)"),
    ("psycopg", "psycopg driver"),
    ("pydantic", "pydantic (validation, serialization)"),
    ("fastapi", "FastAPI (routing, dependencies, encoding)"),
    ("starlette", "Starlette"),
    ("anyio", "anyio"),
    ("httpx", "httpx (the in-process client)"),
    ("h11", "h11"),
    ("uvicorn", "uvicorn"),
    ("asyncio", "asyncio event loop"),
    ("web3", "web3 (HTTP provider)"),
    ("requests", "requests / urllib3 / sockets (JSON-RPC over HTTP)"),
    ("urllib3", "requests / urllib3 / sockets (JSON-RPC over HTTP)"),
    ("socket", "requests / urllib3 / sockets (JSON-RPC over HTTP)"),
    ("ssl", "requests / urllib3 / sockets (JSON-RPC over HTTP)"),
    ("http/", "requests / urllib3 / sockets (JSON-RPC over HTTP)"),
    ("json", "json (stdlib)"),
    ("eth_abi", "eth_abi / eth_utils / eth_hash"),
    ("eth_utils", "eth_abi / eth_utils / eth_hash"),
    ("eth_hash", "eth_abi / eth_utils / eth_hash"),
)


def _category(filename: str, name: str) -> str:
    path = filename.replace("\\", "/")
    if path == "~":  # a builtin: attribute by the method's name
        lowered = name.lower()
        if "sqlite3" in lowered:
            return "sqlite3 driver (C: SQL execution, I/O)"
        if "psycopg" in lowered or "pgconn" in lowered:
            return "psycopg driver"
        if "socket" in lowered or "recv" in lowered or "sendall" in lowered or "select" in lowered:
            return "requests / urllib3 / sockets (JSON-RPC over HTTP)"
        if "json" in lowered:
            return "json (stdlib)"
        if "pydantic" in lowered or "serializ" in lowered or "validat" in lowered:
            return "pydantic (validation, serialization)"
        return "builtins (other C functions)"
    for marker, label in CATEGORIES:
        if f"/{marker}" in path or path.startswith(marker):
            return label
    return "other Python"


def _short(filename: str) -> str:
    for marker in ("site-packages/", str(ROOT) + "/", "lib/python3.11/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def children(stats: pstats.Stats, parent: tuple[str, str]) -> dict[str, Any] | None:
    """Where `parent` (file suffix, function name) spends its time: each callee's cumulative
    time when called from it, and the parent's own (self) time."""
    keys = [k for k in stats.stats if k[0].replace("\\", "/").endswith(parent[0]) and k[2] == parent[1]]
    if not keys:
        return None
    key = keys[0]
    _cc, calls, tottime, cumtime, _ = stats.stats[key]
    rows = []
    for callee, (_c, _n, _tt, _ct, callers) in stats.stats.items():
        if key in callers:
            ncalls, _prim, _tt2, ct = callers[key][1], callers[key][0], callers[key][2], callers[key][3]
            name = callee[2] if callee[0] == "~" else f"{_short(callee[0])}:{callee[1]}({callee[2]})"
            rows.append({"function": name, "calls": ncalls, "cumulative_seconds": round(ct, 3)})
    rows.sort(key=lambda r: -r["cumulative_seconds"])
    return {
        "parent": f"{_short(key[0])}:{key[1]}({key[2]})",
        "calls": calls,
        "cumulative_seconds": round(cumtime, 3),
        "self_seconds": round(tottime, 3),
        "children": rows[:8],
    }


def summarise_profile(
    profile: cProfile.Profile,
    top: int = 12,
    requests: int | None = None,
    parent: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """Self time by package, the functions with the most self time, and (with `parent`) where
    that function's time goes."""
    stats = pstats.Stats(profile)
    total = sum(row[2] for row in stats.stats.values()) or 1e-9
    by_category: dict[str, float] = {}
    rows = []
    for (filename, line, name), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():
        category = _category(filename, name)
        by_category[category] = by_category.get(category, 0.0) + tottime
        short = _short(filename)
        rows.append(
            {
                "function": f"{short}:{line}({name})" if filename != "~" else name,
                "calls": calls,
                "self_seconds": round(tottime, 3),
                "cumulative_seconds": round(cumtime, 3),
                "self_share": round(tottime / total, 3),
            }
        )
    project = sorted(
        (r for r in rows if r["function"].startswith("backend/")), key=lambda r: -r["cumulative_seconds"]
    )
    rows.sort(key=lambda r: -r["self_seconds"])
    return {
        "total_seconds": round(total, 2),
        "by_package": {
            name: {"seconds": round(seconds, 3), "share": round(seconds / total, 3)}
            for name, seconds in sorted(by_category.items(), key=lambda kv: -kv[1])
        },
        "top_functions": rows[:top],
        "project_cumulative": project[:6],
        "breakdown": children(stats, parent) if parent else None,
        **({"requests": requests} if requests else {}),
    }


def profile_markdown(summary: dict[str, Any], packages: int = 8, functions: int = 10) -> list[str]:
    total = summary["total_seconds"] or 1e-9
    lines = ["| where (self time, by package) | share |", "|---|---:|"]
    for name, row in list(summary["by_package"].items())[:packages]:
        lines.append(f"| {name} | {100 * row['share']:.0f}% |")
    breakdown = summary.get("breakdown")
    if breakdown:
        lines += [
            "",
            f"`{breakdown['parent']}` takes {100 * breakdown['cumulative_seconds'] / total:.0f}% of the profiled "
            f"time; where it goes:",
            "",
            "| called from it | calls | cumulative s | share of the profile |",
            "|---|---:|---:|---:|",
        ]
        for row in breakdown["children"]:
            lines.append(
                f"| `{row['function']}` | {row['calls']:,} | {row['cumulative_seconds']} | "
                f"{100 * row['cumulative_seconds'] / total:.0f}% |"
            )
        lines.append(
            f"| (its own code) | | {breakdown['self_seconds']} | {100 * breakdown['self_seconds'] / total:.0f}% |"
        )
    else:
        lines += [
            "",
            "| project function (cumulative) | calls | cumulative s | share |",
            "|---|---:|---:|---:|",
        ]
        for row in summary.get("project_cumulative", []):
            lines.append(
                f"| `{row['function']}` | {row['calls']:,} | {row['cumulative_seconds']} | "
                f"{100 * row['cumulative_seconds'] / total:.0f}% |"
            )
    lines += ["", "| function (self time) | calls | self s | cumulative s |", "|---|---:|---:|---:|"]
    for row in summary["top_functions"][:functions]:
        lines.append(
            f"| `{row['function']}` | {row['calls']:,} | {row['self_seconds']} | {row['cumulative_seconds']} |"
        )
    return lines


# ---------------------------------------------------------------------------
# Live lag
# ---------------------------------------------------------------------------


def indexer_command() -> list[str]:
    script = Path(sys.executable).parent / "peerlend-indexer"
    return [str(script)] if script.exists() else [sys.executable, "-m", "backend.cli"]


def sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite:///")


def indexed_block(path: str) -> int | None:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as conn:
            row = conn.execute("SELECT last_block FROM sync_state LIMIT 1").fetchone()
        return row[0] if row else None
    except sqlite3.Error:
        return None


def stop_process(process: subprocess.Popen, grace: float = 10.0) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def live_lag(prepared: Prepared, seconds: float, rate: float) -> dict[str, Any]:
    """`peerlend-indexer run` on the backfilled SQLite database while transactions stream in."""
    from backend.settings import Settings
    from bench.load import Streamer

    loader, chain = prepared.loader, prepared.chain
    path = sqlite_path(prepared.sqlite_url)
    env = dict(
        os.environ,
        DATABASE_URL=prepared.sqlite_url,
        PEERLEND_RPC_URL=chain.url,
        PEERLEND_DEPLOYMENTS_DIR=str(chain.deployments_dir),
        PEERLEND_CONFIRMATIONS="0",
        PYTHONPATH=str(ROOT),
    )
    env.pop("PEERLEND_DATABASE_URL", None)
    env.pop("PEERLEND_POLL_INTERVAL", None)
    poll = Settings.model_fields["poll_interval"].default
    log_path = prepared.tmp / "indexer-live.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [*indexer_command(), "run"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=prepared.tmp
        )
    try:
        head = loader.block_number()
        deadline = time.monotonic() + 60
        while (indexed_block(path) or -1) < head:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the indexer did not catch up before streaming; see {log_path.read_text()[-2000:]}"
                )
            time.sleep(0.1)
        streamer = Streamer(loader, prepared.load, block_time=BLOCK_TIME)
        outcome: dict[str, Any] = {}

        def stream() -> None:
            try:
                outcome.update(streamer.run(rate, seconds))
            except BaseException as exc:  # noqa: BLE001  (re-raised below, in the caller's thread)
                outcome["error"] = exc

        thread = threading.Thread(target=stream, daemon=True)
        samples: list[tuple[float, int, int]] = []
        began = time.perf_counter()
        thread.start()
        next_at = began
        while thread.is_alive():
            next_at += 0.5
            time.sleep(max(0.0, next_at - time.perf_counter()))
            head = loader.block_number()
            indexed = indexed_block(path)
            if indexed is not None:
                samples.append((time.perf_counter() - began, head, indexed))
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        # Catch-up: how long after the last block the indexer has it.
        last = loader.block_number()
        stream_end = time.perf_counter()
        while (indexed_block(path) or -1) < last and time.perf_counter() - stream_end < 30:
            time.sleep(0.05)
        caught_up = time.perf_counter() - stream_end
        if process.poll() is not None:
            raise RuntimeError(
                f"the indexer exited with {process.returncode}: {log_path.read_text()[-2000:]}"
            )
    finally:
        stop_process(process)
    lags = [head - indexed for _, head, indexed in samples]
    first, stream_last = outcome.get("first_block", 0), outcome.get("last_block", 0)
    streamed = loader.logs(first + 1, stream_last) if stream_last > first else []
    reverted = 0
    for number in range(first + 1, stream_last + 1):
        receipts = loader.call("eth_getBlockReceipts", [hex(number)]) or []
        reverted += sum(1 for receipt in receipts if int(receipt["status"], 16) == 0)
    return {
        "seconds": outcome.get("seconds"),
        "transactions": outcome.get("transactions"),
        "reverted": reverted,
        "rate_tx_per_second": rate,
        "events": len(streamed),
        "events_per_second": round(len(streamed) / outcome["seconds"], 1) if outcome.get("seconds") else None,
        "blocks": outcome.get("blocks"),
        "block_time_seconds": BLOCK_TIME,
        "poll_interval_seconds": poll,
        "samples": len(lags),
        "lag_blocks_mean": round(sum(lags) / len(lags), 2) if lags else None,
        "lag_blocks_p50": sorted(lags)[len(lags) // 2] if lags else None,
        "lag_blocks_max": max(lags) if lags else None,
        "catch_up_seconds": round(caught_up, 2),
    }


# ---------------------------------------------------------------------------
# The section
# ---------------------------------------------------------------------------


def run(quick: bool = False) -> dict[str, Any]:
    """The section (see the module docstring); a failure is reported, not raised, so that the
    other sections of `make bench` still get written."""
    try:
        return _run(quick)
    except Exception as exc:  # noqa: BLE001
        import traceback

        traceback.print_exc()
        return failed("indexer", exc)


def failed(section: str, exc: Exception) -> dict[str, Any]:
    return {
        "error": f"{type(exc).__name__}: {exc}",
        "markdown": [f"**Not measured: the {section} benchmark failed** — `{type(exc).__name__}: {exc}`"],
    }


def _run(quick: bool) -> dict[str, Any]:
    global _HANDOFF
    started = time.perf_counter()
    prepared = prepare(quick)
    result: dict[str, Any] = {"target_events_per_second": TARGET_EVENTS_PER_SECOND}
    try:
        result["load"] = prepared.load.summary()
        result["load"]["deploy_seconds"] = round(prepared.chain.deploy_seconds, 1)
        backfills: dict[str, Any] = {}
        prepared.sqlite_url = f"sqlite:///{prepared.tmp / 'backfill.db'}"
        echo("bench: backfill into SQLite")
        backfills["sqlite"] = backfill(prepared, prepared.sqlite_url)
        echo(f"bench:   {backfills['sqlite']}")
        if prepared.postgres is not None:
            prepared.postgres_url = prepared.postgres.create()
            echo("bench: backfill into PostgreSQL")
            backfills["postgresql"] = backfill(prepared, prepared.postgres_url)
            backfills["postgresql"]["server"] = prepared.postgres.version()
            echo(f"bench:   {backfills['postgresql']}")
        result["backfill"] = backfills
        profiles = {}
        for name, row in backfills.items():
            if row["meets_target"]:
                continue
            echo(f"bench: {name} backfill below target: profiling a second one (cProfile)")
            if name == "sqlite":
                url = f"sqlite:///{prepared.tmp / 'profiled.db'}"
            else:
                url = prepared.postgres.create()
            profile = cProfile.Profile()
            profiled = backfill(prepared, url, profile)
            (prepared.tmp / "profiled.db").unlink(missing_ok=True)
            profiles[name] = summarise_profile(profile, parent=("backend/indexer/sync.py", "_batch"))
            profiles[name]["profiled_events_per_second"] = profiled["events_per_second"]
        if profiles:
            result["backfill_profile"] = profiles
        seconds, rate = LIVE[quick]
        echo(f"bench: live lag, {rate:g} tx/s for {seconds:g} s")
        result["live"] = live_lag(prepared, seconds, rate)
        echo(f"bench:   {result['live']}")
        result["seconds"] = round(time.perf_counter() - started, 1)
        result["markdown"] = markdown(result, prepared)
    except BaseException:
        release(prepared)
        raise
    prepared.stop_chain()
    _HANDOFF = prepared  # the API section serves these databases; atexit removes them otherwise
    return result


def markdown(result: dict[str, Any], prepared: Prepared) -> list[str]:
    load, backfills, live = result["load"], result["backfill"], result["live"]
    target = TARGET_EVENTS_PER_SECOND
    lines = [
        f"Chain: {load['events']:,} Peerlend events from {load['transactions']:,} transactions in {load['blocks']:,} "
        f"blocks ({load['loans']:,} loans, {load['borrowers']} borrowers, {load['lenders']} lenders), generated by "
        f"`bench/load.py` in {load['seconds']} s ({load['events_per_second']:,} events/s) on a fresh anvil.",
        "",
        "### Backfill from scratch (`Indexer.run(exit_at_head=True)`)",
        "",
        "| database | events | blocks | getLogs batches | seconds | events/s | waiting for anvil (RPC) | target |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, row in backfills.items():
        mark = "✓" if row["meets_target"] else "✗"
        label = "SQLite" if name == "sqlite" else f"PostgreSQL {row.get('server', '')}".strip()
        lines.append(
            f"| {label} | {row['events']:,} | {row['blocks']:,} | {row['batches']} | {row['seconds']} | "
            f"{row['events_per_second']:,} | "
            f"{100 * row['rpc_share']:.0f}% ({row['rpc_seconds']} s) | ≥ {target:,} {mark} |"
        )
    if "postgresql" not in backfills:
        lines.append(f"| PostgreSQL | not measured: {prepared.postgres_reason} | | | | | | |")
    per_block = load["events"] / max(1, load["blocks"])
    lines += [
        "",
        f"The chain is dense (≈ {per_block:.0f} events per block, {load['blocks']:,} blocks), so the backfill is "
        "a few `eth_getLogs` ranges and header batches: it measures decoding and the database, not the node. "
        "A sparse chain (a few events per block) adds one header per block with events (fetched 100 per "
        "JSON-RPC batch).",
        "",
    ]
    for name, profile in result.get("backfill_profile", {}).items():
        label = "SQLite" if name == "sqlite" else "PostgreSQL"
        lines += [
            f"{label} backfill is below target ({backfills[name]['events_per_second']:,} < {target:,} events/s). "
            f"cProfile of a second {label} backfill ({profile['total_seconds']} s of self time, "
            f"{profile['profiled_events_per_second']:,} events/s under the profiler); what dominates:",
            "",
            *profile_markdown(profile),
            "",
            "(A `Session.execute`/`exec` row also carries SQLAlchemy's autoflush of the derived rows — loans, "
            "notes, … — pending at that point; `sorted` wraps the decoding of the batch's logs.)",
            "",
        ]
    lines += [
        "### Live lag (`peerlend-indexer run` following the chain)",
        "",
        f"{live['transactions']:,} transactions at {live['rate_tx_per_second']:g} tx/s for {live['seconds']} s "
        f"({live['events']:,} events, {live['events_per_second']} events/s) into {live['blocks']} blocks "
        f"(anvil mining every {live['block_time_seconds']:g} s); the indexer polls every "
        f"{live['poll_interval_seconds']:g} s (the default) with 0 confirmations. Lag = head − indexed block, "
        f"sampled every 0.5 s.",
        "",
        "| samples | mean lag | median lag | max lag | caught up after the last block |",
        "|---:|---:|---:|---:|---:|",
        f"| {live['samples']} | {live['lag_blocks_mean']} blocks | {live['lag_blocks_p50']} blocks | "
        f"{live['lag_blocks_max']} blocks | {live['catch_up_seconds']} s |",
        "",
        f"At one block per {live['block_time_seconds']:g} s, a lag of n blocks is ≈ n seconds; most of it is the poll "
        f"interval (mean wait {live['poll_interval_seconds'] / 2:g} s), not indexing work.",
    ]
    return lines


if __name__ == "__main__":
    import json

    quick = "--quick" in sys.argv
    out = run(quick)
    print("\n".join(out.pop("markdown")))
    print(json.dumps(out, indent=2, default=str))
    if _HANDOFF is not None:
        release(_HANDOFF)

"""Crash safety: `peerlend-indexer run` is killed with SIGKILL at random points of a sync,
restarted, and must end with a database identical to an uninterrupted run's."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time

from sqlalchemy import select
from sqlmodel import Session

from backend.db.models import SyncState
from peerlend.db import make_engine
from tests.backend.helpers import dump, make_settings, sync_to_head

SMALL_BATCHES = {"batch_blocks": 1, "min_batch_blocks": 1, "max_batch_blocks": 1}


def indexer_command() -> list[str]:
    script = shutil.which("peerlend-indexer")
    return (
        [script, "run", "--exit-at-head"]
        if script
        else [sys.executable, "-m", "backend.cli", "run", "--exit-at-head"]
    )


def last_block(engine) -> int:
    try:
        with Session(engine) as session:
            state = session.scalars(select(SyncState)).first()
            return -1 if state is None else state.last_block
    except Exception:  # noqa: BLE001  (tables not created yet)
        return -1


def test_kill_9_mid_sync_then_restart(chain, any_db, tmp_path):
    sc = chain.scenario
    env = {
        **os.environ,
        "DATABASE_URL": any_db,
        "PEERLEND_RPC_URL": chain.url,
        "PEERLEND_DEPLOYMENTS_DIR": str(chain.deployments_dir),
        "PEERLEND_CONFIRMATIONS": "0",
        "PEERLEND_BATCH_BLOCKS": "1",
        "PEERLEND_MIN_BATCH_BLOCKS": "1",
        "PEERLEND_MAX_BATCH_BLOCKS": "1",
        "PEERLEND_SYNC_THROTTLE": "0.02",
        "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")])),
    }
    engine = make_engine(any_db)
    rng = random.Random(int(time.time()))
    targets = sorted(rng.sample(range(sc.end_block // 4, sc.end_block - 2), 3))
    killed = []
    for target in targets:
        process = subprocess.Popen(
            indexer_command(), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 60
        while process.poll() is None and last_block(engine) < target and time.monotonic() < deadline:
            time.sleep(0.002)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            killed.append(last_block(engine))
        process.wait(timeout=30)
        assert process.returncode in (-signal.SIGKILL, 0), process.stderr.read().decode()
        process.stderr.close()
    assert any(block < sc.end_block for block in killed), f"no kill landed mid-sync: {killed}"

    final = subprocess.run(indexer_command(), env=env, capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr
    assert last_block(engine) == sc.end_block

    reference = make_engine(f"sqlite:///{tmp_path / 'uninterrupted.db'}")
    sync_to_head(make_settings(chain, str(reference.url), **SMALL_BATCHES), reference)
    assert dump(engine) == dump(reference)

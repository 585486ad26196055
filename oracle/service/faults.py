"""Test-only fault injection: pause the process at a named point so a test can SIGKILL it there.

Set `PEERLEND_ORACLE_TEST_PAUSE_AT` to one of `CHECKPOINTS`. When the pusher reaches that
point it prints `PEERLEND-ORACLE-PAUSED <name>` to stderr and sleeps until killed. Unset (the
default) it does nothing. This is deliberately not a setting in `OracleSettings`: it exists
only for the crash tests in `tests/oracle/test_service_restart.py`.
"""

from __future__ import annotations

import os
import sys
import time

ENV = "PEERLEND_ORACLE_TEST_PAUSE_AT"
CHECKPOINTS = ("before_persist", "after_persist", "after_send")
MARKER = "PEERLEND-ORACLE-PAUSED"


def checkpoint(name: str) -> None:
    assert name in CHECKPOINTS, name
    if os.environ.get(ENV) != name:
        return
    print(f"{MARKER} {name}", file=sys.stderr, flush=True)
    while True:  # until SIGKILL
        time.sleep(3600)

"""Test-suite wall time: the same command `make test` runs, timed."""

from __future__ import annotations

import re
import subprocess
import time


def run() -> dict:
    started = time.perf_counter()
    result = subprocess.run(["bash", "scripts/run_tests.sh"], capture_output=True, text=True, timeout=1_800)
    seconds = round(time.perf_counter() - started, 1)
    tail = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    counts = dict((kind, int(n)) for n, kind in re.findall(r"(\d+) (passed|failed|skipped|error)", tail))
    return {
        "seconds": seconds,
        "exit_code": result.returncode,
        "summary": tail,
        "counts": counts,
        "markdown": [
            "| suite | wall time | result |",
            "|---|---:|---|",
            f"| `make test` (pytest -n 2) | {seconds} s | {tail} |",
        ],
    }

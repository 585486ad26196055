"""`make bench`: measure what users pay and wait for; writes bench/results/latest.{json,md}.

    python -m bench.run            # everything
    python -m bench.run --quick    # smaller sizes, for a smoke run

The gas section runs on its own fresh anvil; the API section reuses the databases the indexer
section backfilled. Timings are reported here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from peerlend.devchain import Anvil, ape_connected

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    def read(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
        except OSError:
            return ""

    cpu = ""
    if Path("/proc/cpuinfo").exists():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    if Path("/proc/meminfo").exists():
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 2**20, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "anvil": read(["anvil", "--version"]).splitlines()[0] if read(["anvil", "--version"]) else "",
        "vyper": read(["vyper", "--version"]),
    }


def with_ape(node: Anvil):
    return ape_connected(node.url)


def run_gas(quick: bool) -> dict:
    from bench.gas import GasBench

    with Anvil() as node, with_ape(node):
        return GasBench().run(quick=quick)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=["gas", "indexer", "api", "suite"], action="append")
    args = parser.parse_args()
    sections = args.only or ["gas", "indexer", "api", "suite"]

    report = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "quick": args.quick,
    }
    started = time.perf_counter()
    if "gas" in sections:
        report["gas"] = run_gas(args.quick)
    extra = _optional_sections(sections, args.quick)
    report.update(extra)
    report["bench_seconds"] = round(time.perf_counter() - started, 1)

    RESULTS.mkdir(exist_ok=True)
    previous = RESULTS / "latest.json"
    if args.only and previous.exists():
        # A partial run updates its sections and keeps the others' last results.
        kept = json.loads(previous.read_text())
        for name in ("gas", "indexer", "api", "suite"):
            if name not in sections and name in kept:
                report[name] = kept[name]
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    from bench.report import render

    (RESULTS / "latest.md").write_text(render(report))
    print(f"wrote {RESULTS / 'latest.md'} and latest.json in {report['bench_seconds']} s")


def _optional_sections(sections, quick) -> dict:
    """Indexer, API and suite timings live in their own modules (bench/indexer.py, api.py, suite.py)."""
    import importlib

    out = {}
    for name in ("indexer", "api", "suite"):
        if name not in sections:
            continue
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError:
            out[name] = {"markdown": [f"Not measured: bench/{name}.py is not written yet."]}
            continue
        out[name] = module.run(quick=quick) if name != "suite" else module.run()
    return out


if __name__ == "__main__":
    main()

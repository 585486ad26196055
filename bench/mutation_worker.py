"""The long-lived pytest host behind `make mutate` (bench/mutation.py starts one per job).

Started in a scratch checkout with the contract test files as arguments, it pays once for what
every mutant would otherwise pay again: importing pytest, boa, hypothesis and the test modules
(a collect-only pass) and compiling every contract. Then it answers one JSON command per line
on stdin with one JSON line on stdout:

- `{"cmd": "baseline", "tests": [...]}`: runs the tests on the unmutated contracts and records,
  per test, its outcome, its duration and the contract lines it executed (boa's program-counter
  trace mapped through each contract's source map: the same hook boa's coverage plugin uses).
- `{"cmd": "mutant", "file": F, "line": N, "mutated": TEXT, "stages": [[...], [...]],
  "timeout": [s, s], "digests": {...}}`: writes the mutant, compiles the contracts that
  include F (a compiler error: stillborn), compares their bytecode with the original's and
  with mutants already run (same bytecode: same behaviour, nothing to run), then runs each
  stage's tests with `-x` until one fails (killed) or all passed (survived).

Every run happens in a forked child, so each starts from the same state: modules imported,
contracts compiled, no test run yet. A stage that runs over its timeout is killed with its
process group. The child's pytest output goes to `last.log` in the scratch checkout.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import select
import signal
import sys
import time
import traceback
from pathlib import Path

CHECKOUT = Path.cwd()
LOG = CHECKOUT / "last.log"
# no:unraisableexception: its cleanup runs gc.collect() five times per session, over the whole
# heap of compiled contracts (1.4 s a session; the worker also freezes that heap, see main).
PYTEST_ARGS = [
    "-q",
    "-p",
    "no:cacheprovider",
    "-p",
    "no:randomly",
    "-p",
    "no:unraisableexception",
    "--no-header",
]


def _send(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------------------
# Compiling once: every contract compiled before the first fork, a mutant's contracts in its child
# ---------------------------------------------------------------------------


class Contracts:
    """Compiled contracts by resolved path; `boa.load_partial` is routed through it, so a test
    (or `tests.contracts.helpers.compiled`) gets the copy compiled here instead of compiling
    again, and a mutant's contracts are compiled exactly once, in the child that tests them."""

    def __init__(self) -> None:
        import boa
        from boa import interpret

        self._boa, self._interpret = boa, interpret
        self._real = interpret.load_partial
        self.memo: dict[tuple, object] = {}
        boa.load_partial = interpret.load_partial = self.load_partial

    def load_partial(self, filename, compiler_args=None):
        key = (str(Path(filename).resolve()), repr(compiler_args))
        if key not in self.memo:
            deployer = self._real(str(filename), compiler_args=compiler_args)
            data = deployer.compiler_data
            if not hasattr(data, "source_map"):
                # boa computes the source map (reverts' stack traces, the trace of executed
                # lines) only when it goes through its disk cache.
                data.source_map = self._interpret._compute_source_map(data)
            self.memo[key] = deployer
        return self.memo[key]

    def precompile(self) -> dict[str, str]:
        """Every contract under contracts/ (boa's disk cache serves the unchanged ones);
        returns each one's bytecode digest."""
        digests = {}
        for path in sorted((CHECKOUT / "contracts").rglob("*.vy")):
            if _is_module(path):
                continue
            rel = str(path.relative_to(CHECKOUT))
            digests[rel] = _digest(self.load_partial(rel))
        return digests

    def no_disk_cache(self) -> None:
        self._interpret.set_cache_dir(None)

    def recompile(self, paths: list[str]) -> dict[str, str]:
        """In a mutant's child: compile `paths` afresh from disk and forget every deployer of
        them compiled before."""
        digests = {}
        for rel in paths:
            resolved = str((CHECKOUT / rel).resolve())
            for key in [k for k in self.memo if k[0] == resolved]:
                del self.memo[key]
            digests[rel] = _digest(self.load_partial(rel))
        # The suite's own per-process cache of deployers (by path) must not serve the original.
        helpers = sys.modules.get("tests.contracts.helpers")
        if helpers is not None and hasattr(helpers.compiled, "cache_clear"):
            helpers.compiled.cache_clear()
        return digests


def _is_module(path: Path) -> bool:
    """A library module (contracts/lib) or an interface has no bytecode of its own."""
    return path.suffix != ".vy" or "lib" in path.parts or "interfaces" in path.parts


def _digest(deployer) -> str:
    data = deployer.compiler_data
    return hashlib.sha256(bytes(data.bytecode) + b"|" + bytes(data.bytecode_runtime)).hexdigest()


def dependents(file: str) -> list[str]:
    """The contracts that compile `file` in: itself if it is a contract, and every contract
    importing it, directly or through another module (`from .lib import loan_math`)."""
    contracts = [p for p in (CHECKOUT / "contracts").rglob("*.vy") if not _is_module(p)]
    modules = {str(p.relative_to(CHECKOUT)): p.read_text() for p in (CHECKOUT / "contracts").rglob("*.vy")}
    users = {file}
    changed = True
    while changed:
        changed = False
        for rel, text in modules.items():
            if rel in users:
                continue
            if any(_imports(text, Path(u).stem) for u in users):
                users.add(rel)
                changed = True
    return sorted(str(p.relative_to(CHECKOUT)) for p in contracts if str(p.relative_to(CHECKOUT)) in users)


def _imports(text: str, stem: str) -> bool:
    import re

    return re.search(rf"^\s*(from\s+[.\w]+\s+)?import\s+{stem}\b", text, re.MULTILINE) is not None


# ---------------------------------------------------------------------------
# Running pytest in a forked child
# ---------------------------------------------------------------------------


class _Recorder:
    """A pytest plugin: outcome, duration and (optionally) executed contract lines per test."""

    def __init__(self, trace: bool) -> None:
        self.trace = trace
        self.current: str | None = None
        self.lines: dict[str, set] = {}
        self.durations: dict[str, float] = {}
        self.failed: list[str] = []
        self.passed = 0
        if trace:
            from boa.environment import Env

            recorder = self

            def _trace_cov(env, filename, node):
                if recorder.current is not None and filename:
                    end = node.end_lineno or node.lineno
                    recorder.lines[recorder.current].add((str(filename), node.lineno, end))

            Env._coverage_enabled = True
            Env._trace_cov = _trace_cov

    def pytest_runtest_logstart(self, nodeid, location):
        self.current = nodeid
        self.lines.setdefault(nodeid, set())
        self.durations.setdefault(nodeid, 0.0)

    def pytest_runtest_logreport(self, report):
        self.durations[report.nodeid] = self.durations.get(report.nodeid, 0.0) + report.duration
        if report.failed and report.nodeid not in self.failed:
            self.failed.append(report.nodeid)
        elif report.when == "call" and report.passed:
            self.passed += 1

    def pytest_runtest_logfinish(self, nodeid, location):
        self.current = None

    def covered(self) -> dict[str, dict[str, list[int]]]:
        """nodeid -> contract file (relative to the checkout) -> sorted executed lines."""
        out: dict[str, dict[str, list[int]]] = {}
        for nodeid, spans in self.lines.items():
            files: dict[str, set[int]] = {}
            for filename, start, end in spans:
                files.setdefault(_relative(filename), set()).update(range(start, end + 1))
            out[nodeid] = {f: sorted(lines) for f, lines in files.items()}
        return out


def _relative(filename: str) -> str:
    """A contract's path relative to the checkout (`contracts/lib/loan_math.vy`), whatever
    folder it was compiled in; a path outside contracts/ (snekmate, vyper's builtins) as is."""
    parts = Path(filename).parts
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "contracts" and (CHECKOUT.joinpath(*parts[i:])).exists():
            return str(Path(*parts[i:]))
    return filename


def _pytest(tests: list[str], stop_first: bool, trace: bool = False) -> dict:
    import pytest

    recorder = _Recorder(trace)
    args = [*PYTEST_ARGS, *(["-x"] if stop_first else []), *tests]
    started = time.perf_counter()
    status = int(pytest.main(args, plugins=[recorder]))
    result = {
        "status": status,
        "failed": recorder.failed,
        "passed": recorder.passed,
        "seconds": time.perf_counter() - started,
        "durations": recorder.durations,
    }
    if trace:
        result["covered"] = recorder.covered()
    return result


def _forked(work, timeout: float | None) -> dict:
    """Runs `work()` in a forked child (its own process group, output to last.log) and returns
    its JSON-able result, or {"timeout": True} when it runs over `timeout` seconds."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.setpgid(0, 0)
            os.close(read_end)
            log = os.open(LOG, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(log, 1)
            os.dup2(log, 2)
            # closefd=False: a replaced stream that is garbage-collected must not close fd 1 or 2.
            sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
            sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
            try:
                payload = work()
            except BaseException:  # noqa: BLE001 - reported to the parent, never raised there
                payload = {"error": traceback.format_exc()[-2000:]}
            data = json.dumps(payload).encode()
            view = memoryview(data)
            while view:
                written = os.write(write_end, view)
                view = view[written:]
            os.close(write_end)
        finally:
            os._exit(0)
    os.close(write_end)
    chunks, deadline = [], None if timeout is None else time.monotonic() + timeout
    timed_out = False
    while True:
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select([read_end], [], [], wait)
        if not ready:
            timed_out = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            break
        chunk = os.read(read_end, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    if timed_out:
        return {"timeout": True}
    if not chunks:
        return {"error": "the child exited without a result (see last.log)"}
    return json.loads(b"".join(chunks))


# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------


def baseline(command: dict) -> dict:
    return _forked(lambda: _pytest(command["tests"], stop_first=False, trace=True), None)


def mutant(command: dict, contracts: Contracts, original_digests: dict[str, str]) -> dict:
    path = CHECKOUT / command["file"]
    original = path.read_text()
    started = time.perf_counter()
    LOG.write_text("")  # the log holds the last mutant's pytest output only
    try:
        path.write_text(_apply(original, command["line"], command["mutated"]))

        def run() -> dict:
            compile_started = time.perf_counter()
            try:
                digests = contracts.recompile(dependents(command["file"]))
            except Exception as error:  # noqa: BLE001 - the compiler's verdict on the mutant
                text = str(error).strip().splitlines()
                return {"result": "stillborn", "detail": (text[0] if text else type(error).__name__)[:200]}
            result = {"compile_seconds": time.perf_counter() - compile_started, "digest": _combined(digests)}
            if all(original_digests.get(rel) == d for rel, d in digests.items()):
                return {**result, "result": "equivalent", "detail": "compiles to the original bytecode"}
            same = command.get("digests", {}).get(result["digest"])
            if same is not None:
                return {**result, "result": "duplicate", "detail": same}
            stages, stage = [], 0
            for index, (tests, timeout) in enumerate(zip(command["stages"], command["timeout"], strict=True)):
                if not tests:
                    continue
                stage = index + 1
                outcome = _forked(lambda tests=tests: _pytest(tests, stop_first=True), timeout)
                stages.append({k: outcome.get(k) for k in ("seconds", "status", "passed")})
                result.update(stages=stages, stage=stage)
                if outcome.get("timeout"):
                    return {**result, "result": "timeout", "detail": f"ran over {timeout:.0f} s"}
                if "error" in outcome:
                    return {**result, "result": "error", "detail": outcome["error"][-300:]}
                if outcome["failed"]:
                    return {**result, "result": "killed", "killer": outcome["failed"][0]}
                if outcome["status"] not in (0, 5):
                    return {**result, "result": "error", "detail": f"pytest exit {outcome['status']}"}
            return {**result, "stages": stages, "stage": stage, "result": "survived"}

        outcome = _forked(run, None)
    finally:
        path.write_text(original)
    outcome["seconds"] = time.perf_counter() - started
    return outcome


def _combined(digests: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(sorted(digests.items())).encode()).hexdigest()[:16]


def _apply(source: str, line: int, mutated: str) -> str:
    lines = source.splitlines(keepends=True)
    original = lines[line - 1]
    newline = "\n" if original.endswith("\n") else ""
    indent = original[: len(original) - len(original.lstrip())]
    lines[line - 1] = indent + mutated + newline
    return "".join(lines)


def main() -> None:
    test_files = sys.argv[1:]
    os.chdir(CHECKOUT)
    sys.path.insert(0, str(CHECKOUT))
    started = time.perf_counter()
    # Import the test modules (and their conftests, which load the hypothesis profile) once.
    import pytest

    contracts = Contracts()
    # Compiled here, from this checkout's files: a deployer from boa's disk cache may have been
    # compiled in another folder and would name that folder in its source map.
    contracts.no_disk_cache()
    with open(LOG, "w") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        collector = _Collector()
        status = pytest.main([*PYTEST_ARGS, "--collect-only", *test_files], plugins=[collector])
    if status != 0:
        _send({"ready": False, "error": f"collection failed (exit {status}); see {LOG}"})
        return
    original_digests = contracts.precompile()
    # Everything so far (modules, compiled contracts) lives as long as the worker: out of the
    # garbage collector's sight, collections in the children stay short and their pages shared.
    gc.collect()
    gc.freeze()
    _send({"ready": True, "tests": collector.nodeids, "seconds": time.perf_counter() - started})
    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        if command["cmd"] == "baseline":
            _send(baseline(command))
        elif command["cmd"] == "mutant":
            _send(mutant(command, contracts, original_digests))
        elif command["cmd"] == "stop":
            return


class _Collector:
    def __init__(self) -> None:
        self.nodeids: list[str] = []

    def pytest_collection_finish(self, session):
        self.nodeids = [item.nodeid for item in session.items]


if __name__ == "__main__":
    main()

"""`make mutate`: how much of the contracts' money logic the contract suite actually checks.

    python -m bench.mutation                  # every mutant of the money paths
    python -m bench.mutation --limit 40       # a sample (evenly spread), for a quick look
    python -m bench.mutation --list           # print the mutants, run nothing

A mutant is the contract source with one small change a real bug could make:
- operator: `+`<->`-`, `*`<->`//`, `+=`<->`-=`, `and`<->`or`, `==`<->`!=`;
- bound: `<`<->`<=`, `>`<->`>=`;
- constant: an integer literal n -> n + 1 (and 1 -> 0);
- dropped statement: an `assert`, an assignment, an `extcall` or an internal call replaced by
  `pass`.
Only the bodies of the money-path functions are mutated (MONEY_PATHS: funding, gating,
disbursement, the repayment waterfall, payoff, penalty, default, recovery, claims, fees and
refunds) of LoanBook, LoanLens and the schedule/loan math modules; never signatures,
docstrings, revert messages, type bounds (`DynArray[T, 360]`), a local's `= 0` initializer or
`log` statements (events are checked by the indexer's tests against the chain).

Each mutant is compiled first (a mutant the compiler rejects is "stillborn" and not counted;
a module is compiled through the contract that imports it), then the contract suite runs
against it in a scratch copy, stopping at the first failure: the test files that name the
mutated function first, the hypothesis state machine last, with PEERLEND_FUZZ_EXAMPLES lowered
(--fuzz-examples), no shrinking and a fixed hypothesis seed. The unmutated suite must pass the
same way first (the baseline), which also sets the per-mutant timeout (3x the baseline). A
failing or timed-out suite kills the mutant; a passing one lets it survive. Survivors are
either killed by a new test (tests/contracts/test_mutation_kills.py) or argued equivalent (no
input can tell them from the original) in EQUIVALENT below, by mutant id, with the argument.
Ids hash the file, function and line text (not the line number), so they stay the same across
runs and across edits elsewhere in the file.

The score, per function and in all, and every survivor go to bench/results/mutation.md (and
mutation.json). Not part of `make test`: a full run compiles and tests hundreds of mutants.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

# Files that do not exist (yet) are skipped, so the runner works before and after the lens and
# the loan_math module (LoanBook v2) exist.
TARGETS = (
    "contracts/LoanBook.vy",
    "contracts/LoanLens.vy",
    "contracts/lib/schedule_math.vy",
    "contracts/lib/loan_math.vy",
)

# Function-name patterns of the money paths (regular expressions matched against the name).
MONEY_PATHS = (
    r"fund", r"_check_(borrower|lender|loan_terms)", r"request_loan", r"disburse", r"repay",
    r"_settle", r"payoff", r"penalty", r"_accrue", r"default", r"_recover", r"claim", r"_credit",
    r"fee", r"refund", r"_expire", r"expire", r"cancel", r"_pull", r"_push", r"installment",
    r"schedule", r"interest", r"principal", r"annuity", r"amount_due", r"_skip_settled",
    r"prepay", r"exposure", r"reserve", r"_window", r"_waterfall", r"^_pay$", r"^_close$", r"_earned",
    r"_(un)?pack_terms", r"^_level$", r"_ray_pow", r"^_status$",
)  # fmt: skip

# Test files in the order that kills most mutants soonest; any other contract test file follows.
TEST_ORDER = (
    "tests/contracts/test_lifecycle.py",
    "tests/contracts/test_schedule.py",
    "tests/contracts/test_gating.py",
    "tests/contracts/test_notes.py",
)

# Mutant id -> why no input can tell it from the original. Reviewed by hand.
EQUIVALENT: dict[str, str] = {
    # LoanBook v1 (_payoff_parts in LoanBook.vy).
    "LoanBook:_payoff_parts:bound:def8f617": (
        "`due_at <= now` -> `<`: at due_at == now the mutant takes the pro-rata branch, where "
        "earned = part_interest * (due_at - begin) // (due_at - begin) = part_interest exactly "
        "(due_at > begin as period_seconds > 0), so it adds part_interest - paid like the original "
        "(0 if equal, also like the original), then stops; the original goes on to k + 1, whose "
        "window starts at due_at == now (or k + 1 > installments, always for BULLET), so it earns 0 "
        "there and stops too. Same interest, same principal."
    ),
    "LoanBook:_payoff_parts:bound:0ce28565": (
        "`now > begin` -> `>=`: at now == begin the mutant computes earned = part_interest * 0 // "
        "(due_at - begin) = 0, the value the original leaves in place."
    ),
    "LoanBook:_payoff_parts:bound:bfd823d9": (
        "`earned > paid` -> `>=`: at earned == paid the mutant adds earned - paid = 0."
    ),
    # LoanBook v2 (loan_math module, disburse with the ledger's level).
    "LoanBook:disburse:dropped:8354b0a8": (
        "`record.annuity = annuity` writes the memory copy only; after it disburse reads record's "
        "method, principal, apr, installments, period, start and token (for _skip_settled, the "
        "ledger and the payout), never record.annuity (loan_math and schedule_math read no annuity "
        "field; the schedule runs on state.level), and storage gets `self._loans[id].annuity = "
        "annuity` separately."
    ),
    "loan_math:_earned:bound:3dfb44ff": (
        "`now <= begin` -> `<`: at now == begin the mutant returns "
        "_period_interest(remaining, apr, 0) = remaining * apr * 0 // (BPS * YEAR) = 0, as the "
        "original does."
    ),
    "loan_math:_payoff_parts:bound:f7d39c9f": "`earned > paid` -> `>=`: at equality it adds earned - paid = 0.",
    "loan_math:_pending_penalty:bound:d7173a84": (
        "`now <= accrued_until` -> `<`: at now == accrued_until the mutant runs the loop, where "
        "every installment it reaches has late_from < now, so elapsed = now - max(late_from, "
        "accrued_until) = 0 and it adds 0; it returns min(0, cap - charged) = 0 (charged < cap, "
        "checked first). The loop body's other arithmetic does not depend on the timestamp, and "
        "the original runs it on the same ledger one second later, so it cannot revert only here."
    ),
    "loan_math:_pending_penalty:bound:b848cd18": (
        "`charged >= cap` -> `>`: at charged == cap the mutant runs the loop and returns "
        "min(added, cap - charged) = min(added, 0) = 0; the loop is the one the original runs "
        "whenever charged < cap, on the same ledger."
    ),
    "loan_math:_pending_penalty:bound:d9ea84eb": (
        "`late_from >= now` -> `>`: at late_from == now the mutant also counts installment k with "
        "elapsed = now - max(now, accrued_until) = 0 (accrued_until <= now), adding 0; installment "
        "k + 1 has late_from + period_seconds > now and stops it, as the original stopped at k."
    ),
}

# Run after everything else, for mutants with PEERLEND_FUZZ_EXAMPLES lowered (see --fuzz-examples).
FUZZ_EXAMPLES = 10
SLOW_LAST = ("tests/contracts/test_invariants.py",)
# Contract tests that never deploy LoanBook or its modules: they cannot kill a mutant.
UNRELATED = ("tests/contracts/test_credit_oracle.py", "tests/contracts/test_identity_registry.py")
# A module has no bytecode of its own: its mutants compile (and are tested) through this contract.
COMPILED_BY = {
    "contracts/lib/schedule_math.vy": "contracts/LoanBook.vy",
    "contracts/lib/loan_math.vy": "contracts/LoanBook.vy",
}


@dataclass(frozen=True)
class Mutant:
    id: str
    file: str
    line: int
    function: str
    kind: str
    original: str
    mutated: str


@dataclass
class Outcome:
    mutant: Mutant
    result: str  # killed | survived | stillborn | equivalent | timeout
    seconds: float
    detail: str = ""


# ---------------------------------------------------------------------------
# Mutant generation
# ---------------------------------------------------------------------------

_DEF = re.compile(r"^def (\w+)\(")
_SWAPS = (
    ("operator", r"(?<=\s)\+(?=\s)", "-"),
    ("operator", r"(?<=\s)-(?=\s)", "+"),
    ("operator", r"(?<=\s)\*(?=\s)", "//"),
    ("operator", r"(?<=\s)//(?=\s)", "*"),
    ("operator", r"\+=", "-="),
    ("operator", r"-=", "+="),
    ("operator", r"\band\b", "or"),
    ("operator", r"\bor\b", "and"),
    ("operator", r"==", "!="),
    ("operator", r"!=", "=="),
    ("bound", r"(?<=\s)<(?=\s)", "<="),
    ("bound", r"(?<=\s)<=(?=\s)", "<"),
    ("bound", r"(?<=\s)>(?=\s)", ">="),
    ("bound", r"(?<=\s)>=(?=\s)", ">"),
)
_LITERAL = re.compile(r"(?<![\w.])(\d[\d_]*)(?![\w.])")
# Statements worth dropping: checks (`assert`, or a module's check helper such as
# `loan_math._check(...)`), external and internal calls, assignments.
_DROPPABLE = re.compile(r"^\s*(assert\b|extcall\b|self\.\w+\(|[a-z]\w*\._\w+\(|[\w.\[\]]+\s*(\+|-)?=\s)")


# `x: uint256 = 0`: Vyper makes every local start with a value; the zero is a placeholder, not
# a constant of the money logic (a branch that forgets to assign shows up as a dropped statement).
_ZERO_INIT = re.compile(r"^\s*\w+: [\w\[\], ]+ = 0\s*$")


def _code_part(line: str) -> str:
    return line.split("#", 1)[0]


def _functions(lines: list[str]) -> list[tuple[str, int, int]]:
    """(name, first body line, end line) of every top-level function, 0-based, end exclusive.

    The body starts after the signature (which may span lines, with `)` at column 0) and ends at
    the next line of code at column 0 (a decorator, a declaration, a section comment), so
    neither the signature's types nor declarations between functions are mutated.
    """
    spans = []
    i = 0
    while i < len(lines):
        match = _DEF.match(lines[i])
        if match is None:
            i += 1
            continue
        depth, j = 0, i
        while True:
            code = _code_part(lines[j])
            depth += code.count("(") - code.count(")")
            if depth <= 0 and code.rstrip().endswith(":"):
                break
            j += 1
        body = j + 1
        end = body
        while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t"):
            end += 1
        spans.append((match.group(1), body, end))
        i = end
    return spans


def _in_docstring(lines: list[str], start: int, end: int) -> set[int]:
    """Lines of the docstring(s) in lines[start:end] (one-line or spanning lines)."""
    inside, skip = False, set()
    for i in range(start, end):
        quotes = lines[i].count('"""')
        if inside or quotes:
            skip.add(i)
        if quotes % 2 == 1:
            inside = not inside
    return skip


def _outside_strings_and_types(code: str) -> list[tuple[int, int]]:
    """Spans of `code` that are neither string literals nor the bounds of a sized type
    (`DynArray[T, 360]`, `String[64]`): changing those only changes a revert message or a
    buffer size, never the arithmetic."""
    hidden = [(m.start(), m.end()) for m in re.finditer(r'"[^"]*"|\'[^\']*\'', code)]
    hidden += [(m.start(), m.end()) for m in re.finditer(r"\b(DynArray|String|Bytes)\[[^\]]*\]", code)]
    return hidden


def _id(file: str, function: str, body: str, kind: str, original: str, mutated: str, nth: int) -> str:
    """Stable across runs and edits elsewhere in the file (no line number in it), but new when
    the mutated function's body changes: an equivalence argued for one version of a function
    must be argued again for the next."""
    text = f"{file}|{function}|{body}|{original.strip()}|{mutated.strip()}|{nth}"
    digest = hashlib.sha256(text.encode())
    return f"{Path(file).stem}:{function}:{kind}:{digest.hexdigest()[:8]}"


def mutants_of(file: str, source: str) -> list[Mutant]:
    lines = source.splitlines()
    money = re.compile("|".join(MONEY_PATHS))
    found: list[Mutant] = []
    seen: dict[tuple, int] = {}

    body = ""

    def add(function: str, kind: str, i: int, mutated_line: str) -> None:
        key = (function, lines[i].strip(), mutated_line.strip())
        nth = seen.get(key, 0)
        seen[key] = nth + 1
        found.append(
            Mutant(_id(file, function, body, kind, lines[i], mutated_line, nth), file, i + 1, function, kind,
                   lines[i].strip(), mutated_line.strip())
        )  # fmt: skip

    for function, start, end in _functions(lines):
        if not money.search(function):
            continue
        body = "\n".join(line.strip() for line in lines[start:end] if line.strip())
        skip = _in_docstring(lines, start, end)
        for i in range(start, end):
            line = lines[i]
            code = _code_part(line)
            stripped = code.strip()
            if i in skip or not stripped or stripped.startswith(("log ", "#", "@", "return empty")):
                continue
            # A statement continued on the next lines cannot be dropped line by line.
            whole = code.count("(") == code.count(")") and code.count("[") == code.count("]")
            if whole and re.match(r"^\s*(for|if|elif|else|def)\b", code) is None and _DROPPABLE.match(code):
                indent = code[: len(code) - len(code.lstrip())]
                add(function, "dropped", i, f"{indent}pass")
            hidden = _outside_strings_and_types(code)

            def visible(match: re.Match, hidden: list[tuple[int, int]] = hidden) -> bool:
                return not any(a <= match.start() < b for a, b in hidden)

            for kind, pattern, replacement in _SWAPS:
                for match in filter(visible, re.finditer(pattern, code)):
                    add(
                        function,
                        kind,
                        i,
                        code[: match.start()] + replacement + code[match.end() :] + line[len(code) :],
                    )
            if "range(" in code or ": constant(" in code or _ZERO_INIT.match(code):
                continue
            for match in filter(visible, _LITERAL.finditer(code)):
                value = int(match.group(1).replace("_", ""))
                bumped = "0" if value == 1 else str(value + 1)
                add(
                    function,
                    "constant",
                    i,
                    code[: match.start()] + bumped + code[match.end() :] + line[len(code) :],
                )
    return found


def all_mutants(root: Path = ROOT) -> list[Mutant]:
    mutants: list[Mutant] = []
    for file in TARGETS:
        path = root / file
        if path.exists():
            mutants.extend(mutants_of(file, path.read_text()))
    return mutants


def apply(mutant: Mutant, source: str) -> str:
    lines = source.splitlines(keepends=True)
    original = lines[mutant.line - 1]
    newline = "\n" if original.endswith("\n") else ""
    indent = original[: len(original) - len(original.lstrip())]
    lines[mutant.line - 1] = indent + mutant.mutated + newline
    return "".join(lines)


# ---------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------


def _scratch_checkout(into: Path) -> Path:
    """A copy of the files the contract suite reads (contracts, tests, the shared layer)."""
    for part in ("contracts", "tests", "peerlend", "backend", "oracle", "pyproject.toml", "ape-config.yaml"):
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, into / part, ignore=shutil.ignore_patterns("__pycache__", ".build"))
        elif source.exists():
            shutil.copy2(source, into / part)
    return into


def _env(checkout: Path, fuzz_examples: int) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(checkout)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # Fewer hypothesis examples per property (the suites read this knob) and no shrinking: a
    # mutant needs one failing example to die, not a minimal one.
    env["PEERLEND_FUZZ_EXAMPLES"] = str(fuzz_examples)
    env["PEERLEND_FUZZ_SHRINK"] = "0"
    return env


def _run(command: list[str], checkout: Path, env: dict, timeout: float | None) -> tuple[int | None, str]:
    """(exit code or None on timeout, output). On timeout the whole process group is killed."""
    process = subprocess.Popen(command, cwd=checkout, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip
    try:
        output, _ = process.communicate(timeout=timeout)
        return process.returncode, output
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return None, output


def _compile_target(file: str) -> str:
    """The contract to compile for a mutant of `file`: a library module compiles as part of its user."""
    return COMPILED_BY.get(file, file)


def _compiles(checkout: Path, file: str, env: dict) -> tuple[bool, str]:
    """Compile the mutated contract (boa's disk cache then serves it to the suite's fixtures)."""
    code = "import sys, boa; boa.load_partial(sys.argv[1])"
    status, output = _run([sys.executable, "-c", code, _compile_target(file)], checkout, env, 600)
    if status == 0:
        return True, ""
    lines = [ln for ln in output.strip().splitlines() if ln.strip()]
    return False, (lines[-1] if lines else "compiler timed out")


def _test_files(checkout: Path, function: str | None = None) -> list[str]:
    """Contract test files, cheapest first; those that name `function` before the others; the
    hypothesis state machine (SLOW_LAST) always last, as it costs more than the rest together."""
    files = [f for f in TEST_ORDER if (checkout / f).exists()]
    files += sorted(
        str(p.relative_to(checkout)) for p in (checkout / "tests" / "contracts").glob("test_*.py")
        if str(p.relative_to(checkout)) not in TEST_ORDER + SLOW_LAST + UNRELATED
    )  # fmt: skip
    if function:
        name = function.lstrip("_")
        files.sort(key=lambda f: name not in (checkout / f).read_text())  # stable: keeps the order
    return files + [f for f in SLOW_LAST if (checkout / f).exists()]


def _pytest(files: list[str]) -> list[str]:
    return [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
            "--hypothesis-seed=0", *files]  # fmt: skip


def run_mutant(mutant: Mutant, checkout: Path, env: dict, timeout: float) -> Outcome:
    started = time.perf_counter()
    if mutant.id in EQUIVALENT:
        return Outcome(mutant, "equivalent", 0.0, EQUIVALENT[mutant.id])
    path = checkout / mutant.file
    original = path.read_text()
    try:
        path.write_text(apply(mutant, original))
        ok, error = _compiles(checkout, mutant.file, env)
        if not ok:
            return Outcome(mutant, "stillborn", time.perf_counter() - started, error[:200])
        # Examples a previous mutant's failure saved must not decide this one's fate.
        shutil.rmtree(checkout / ".hypothesis", ignore_errors=True)
        status, output = _run(_pytest(_test_files(checkout, mutant.function)), checkout, env, timeout)
        seconds = time.perf_counter() - started
        if status is None:
            return Outcome(mutant, "timeout", seconds, f"suite ran over {timeout:.0f} s")
        if status == 0:
            return Outcome(mutant, "survived", seconds)
        failed = next((ln for ln in output.splitlines() if ln.startswith(("FAILED", "ERROR"))), "")
        if status not in (1,):  # 1 = tests failed; anything else is pytest itself breaking
            return Outcome(mutant, "error", seconds, (failed or output.strip()[-200:])[:200])
        return Outcome(mutant, "killed", seconds, failed[:200])
    finally:
        path.write_text(original)


def baseline(checkout: Path, env: dict) -> float:
    """Seconds the suite takes on the unmutated contracts; it must pass, or every mutant "dies"."""
    started = time.perf_counter()
    ok, error = _compiles(checkout, TARGETS[0], env)
    status, output = _run(_pytest(_test_files(checkout)), checkout, env, None) if ok else (1, error)
    if status != 0:
        tail = "\n".join(output.splitlines()[-15:])
        raise SystemExit(
            f"mutation: the contract suite fails on the unmutated contracts; fix that first\n{tail}"
        )
    return time.perf_counter() - started


def spread(mutants: list[Mutant], limit: int | None) -> list[Mutant]:
    if not limit or limit >= len(mutants):
        return mutants
    step = len(mutants) / limit
    return [mutants[int(i * step)] for i in range(limit)]


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def score(outcomes: list[Outcome]) -> dict:
    counted = [o for o in outcomes if o.result in ("killed", "timeout", "survived")]
    killed = sum(o.result in ("killed", "timeout") for o in counted)
    return {
        "mutants": len(outcomes),
        "stillborn": sum(o.result == "stillborn" for o in outcomes),
        "equivalent": sum(o.result == "equivalent" for o in outcomes),
        "errors": sum(o.result == "error" for o in outcomes),
        "counted": len(counted),
        "killed": killed,
        "survived": len(counted) - killed,
        "score": round(killed / len(counted), 4) if counted else None,
    }


def write_report(
    outcomes: list[Outcome],
    total: int,
    seconds: float,
    commit: str,
    fuzz_examples: int,
    clean: float,
    note: str = "",
) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    summary = score(outcomes)
    by_function: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_function.setdefault(f"{Path(outcome.mutant.file).stem}.{outcome.mutant.function}", []).append(
            outcome
        )
    data = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "seconds": round(seconds, 1),
        "mutants_generated": total,
        "note": note,
        "fuzz_examples": fuzz_examples,
        "baseline_seconds": round(clean, 1),
        **summary,
        "outcomes": [
            {**asdict(o.mutant), "result": o.result, "seconds": round(o.seconds, 1), "detail": o.detail}
            for o in outcomes
        ],  # fmt: skip
    }
    (RESULTS / "mutation.json").write_text(json.dumps(data, indent=1) + "\n")
    pct = "n/a" if summary["score"] is None else f"{summary['score'] * 100:.1f}%"
    lines = [
        "# Mutation testing: the contract suite against mutants of the money paths",
        "",
        f"Generated {data['generated_at']} at commit `{commit}` by `make mutate` ({seconds / 60:.0f} min).",
        "",
        f"**Score: {pct}** of non-equivalent mutants killed ({summary['killed']} of {summary['counted']}); "
        f"target ≥ 97%. Mutants run: {summary['mutants']} of {total} generated; "
        f"{summary['stillborn']} did not compile, {summary['equivalent']} argued equivalent"
        f"{', ' + str(summary['errors']) + ' broke pytest itself (not counted)' if summary['errors'] else ''}.",
        "",
        *([note, ""] if note else []),
        "How: each mutant is compiled (a compiler error makes it stillborn), then the contract suite "
        "runs against it with `-x`, files naming the mutated function first and the hypothesis "
        f"state machine last, with PEERLEND_FUZZ_EXAMPLES={fuzz_examples}, no shrinking and a fixed "
        f"hypothesis seed (the unmutated suite passes that way in {clean:.0f} s). A mutant the "
        "suite fails on, or that runs over the per-mutant timeout, is killed. "
        + (
            "A sample spread evenly over all mutants was run."
            if summary["mutants"] < total
            else "Every mutant was run."
        ),
        "",
        "| function | run | killed | survived | stillborn | equivalent |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, group in sorted(by_function.items()):
        counts = {
            r: sum(o.result == r for o in group)
            for r in ("killed", "timeout", "survived", "stillborn", "equivalent", "error")
        }
        lines.append(f"| `{name}` | {len(group)} | {counts['killed'] + counts['timeout']} | {counts['survived']} | "
                     f"{counts['stillborn']} | {counts['equivalent']} |")  # fmt: skip
    survivors = [o for o in outcomes if o.result == "survived"]
    lines += ["", "## Survivors", ""]
    if not survivors:
        lines.append("None.")
    for o in survivors:
        m = o.mutant
        lines.append(f"- `{m.id}` {m.file}:{m.line} ({m.kind}): `{m.original}` → `{m.mutated}`")
    equivalents = [o for o in outcomes if o.result == "equivalent"]
    if equivalents:
        lines += ["", "## Argued equivalent", ""]
        lines += [
            f"- `{o.mutant.id}` `{o.mutant.original}` → `{o.mutant.mutated}`: {o.detail}" for o in equivalents
        ]
    (RESULTS / "mutation.md").write_text("\n".join(lines) + "\n")


def rereport(mutants: list[Mutant]) -> None:
    """Rewrite the last report after survivors were argued equivalent, without running again:
    outcomes keep their result, ids are those of the current generator (matched by file, line
    and text), and a survivor whose id is in EQUIVALENT becomes equivalent."""
    data = json.loads((RESULTS / "mutation.json").read_text())
    fields = set(Mutant.__dataclass_fields__)
    current = {(m.file, m.line, m.original, m.mutated): m for m in mutants}
    outcomes = []
    for row in data["outcomes"]:
        mutant = Mutant(**{k: v for k, v in row.items() if k in fields})
        mutant = current.get((mutant.file, mutant.line, mutant.original, mutant.mutated), mutant)
        outcome = Outcome(mutant, row["result"], row["seconds"], row["detail"])
        if outcome.result == "survived" and mutant.id in EQUIVALENT:
            outcome = Outcome(mutant, "equivalent", outcome.seconds, EQUIVALENT[mutant.id])
        outcomes.append(outcome)
    write_report(sorted(outcomes, key=_order), data["mutants_generated"], data["seconds"], data["commit"],
                 data.get("fuzz_examples", FUZZ_EXAMPLES), data.get("baseline_seconds", 0.0),
                 data.get("note", ""))  # fmt: skip


def _prefix_spread(items: list) -> list:
    """`items` reordered so that every prefix is spread over the whole list (bit-reversed
    positions: 0, 1/2, 1/4, 3/4, ...), so a run cut short by --minutes is still a spread sample."""
    bits = max(1, (len(items) - 1).bit_length())
    rank = sorted(range(len(items)), key=lambda i: int(format(i, f"0{bits}b")[::-1], 2))
    return [items[i] for i in rank]


def _order(outcome: Outcome) -> tuple:
    return (outcome.mutant.file, outcome.mutant.line, outcome.mutant.id)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, help="run an evenly spread sample of this many mutants")
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    parser.add_argument("--list", action="store_true", help="print the mutants and exit")
    parser.add_argument(
        "--match", help="only mutants whose id contains this text (or one of several, comma-separated)"
    )
    parser.add_argument("--rereport", action="store_true",
                        help="rewrite the report from mutation.json with the current EQUIVALENT table; run nothing")  # fmt: skip
    parser.add_argument("--minutes", type=float,
                        help="start no new mutant after this many minutes (the report covers those run)")  # fmt: skip
    parser.add_argument("--fuzz-examples", type=int, default=FUZZ_EXAMPLES,
                        help="PEERLEND_FUZZ_EXAMPLES for the suite's hypothesis properties")  # fmt: skip
    args = parser.parse_args()

    mutants = all_mutants()
    if args.match:
        wanted = args.match.split(",")
        mutants = [m for m in mutants if any(text in m.id for text in wanted)]
    if args.list:
        for m in mutants:
            print(f"{m.id}\t{m.file}:{m.line}\t{m.original}  ->  {m.mutated}")
        print(f"{len(mutants)} mutants", file=sys.stderr)
        return
    if args.rereport:
        rereport(mutants)
        return
    chosen = spread(mutants, args.limit)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()  # fmt: skip
    env_of = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="peerlend-mutants-") as scratch:
        checkouts = [_scratch_checkout(Path(scratch) / f"w{i}") for i in range(max(1, args.workers))]
        env_of = {c: _env(c, args.fuzz_examples) for c in checkouts}
        clean = baseline(checkouts[0], env_of[checkouts[0]])
        # A mutant can make a loop run far longer (or forever, up to gas); past this it counts as
        # killed by timeout. Three times the clean suite leaves room for a loaded machine.
        timeout = max(120.0, 3 * clean)
        print(f"baseline: suite passes in {clean:.0f} s; per-mutant timeout {timeout:.0f} s; "
              f"{len(chosen)} of {len(mutants)} mutants, {len(checkouts)} workers", flush=True)  # fmt: skip
        todo: queue.Queue[Mutant] = queue.Queue()
        for mutant in _prefix_spread(chosen):
            todo.put(mutant)
        outcomes: list[Outcome] = []
        lock = threading.Lock()

        stop_at = started + args.minutes * 60 if args.minutes else None

        def work(checkout: Path) -> None:
            while stop_at is None or time.perf_counter() < stop_at:
                try:
                    mutant = todo.get_nowait()
                except queue.Empty:
                    return
                outcome = run_mutant(mutant, checkout, env_of[checkout], timeout)
                with lock:
                    outcomes.append(outcome)
                    print(f"[{len(outcomes)}/{len(chosen)}] {outcome.result:10} {outcome.seconds:5.0f}s "
                          f"{mutant.id} {mutant.original!r} -> {mutant.mutated!r}", flush=True)  # fmt: skip
                    # Written after every mutant, so an interrupted run still leaves its report.
                    write_report(sorted(outcomes, key=_order), len(mutants), time.perf_counter() - started,
                                 commit, args.fuzz_examples, clean)  # fmt: skip

        threads = [threading.Thread(target=work, args=(c,), daemon=True) for c in checkouts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    outcomes.sort(key=_order)
    write_report(outcomes, len(mutants), time.perf_counter() - started, commit, args.fuzz_examples, clean)
    summary = score(outcomes)
    print(f"mutation score {summary['score']} ({summary['killed']}/{summary['counted']}); "
          f"report: {RESULTS / 'mutation.md'}")  # fmt: skip


if __name__ == "__main__":
    main()

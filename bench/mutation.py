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
Only lines inside the money-path functions are mutated (MONEY_PATHS: funding, gating,
disbursement, the repayment waterfall, payoff, penalty, default, recovery, claims, fees and
refunds) of LoanBook, LoanLens and the schedule math module. `log` statements are left alone:
events are checked by the indexer's tests against the chain, not by the contract suite.

Each mutant is compiled first (a mutant the compiler rejects is "stillborn" and not counted),
then the contract suite runs against it in a scratch checkout, stopping at the first failure,
fastest files first. A failing or timed-out suite kills the mutant; a passing one lets it
survive. Survivors are either killed by a new test or argued equivalent (no input can tell
them from the original) in EQUIVALENT below, by mutant id, with the argument.

The score, per function and in all, and every survivor go to bench/results/mutation.md (and
mutation.json). Not part of `make test`: a full run compiles and tests hundreds of mutants.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

TARGETS = ("contracts/LoanBook.vy", "contracts/LoanLens.vy", "contracts/lib/schedule_math.vy")

# Function-name patterns of the money paths (regular expressions matched against the name).
MONEY_PATHS = (
    r"fund", r"_check_(borrower|lender|loan_terms)", r"request_loan", r"disburse", r"repay",
    r"_settle", r"payoff", r"penalty", r"_accrue", r"default", r"_recover", r"claim", r"_credit",
    r"fee", r"refund", r"_expire", r"expire", r"cancel", r"_pull", r"_push", r"installment",
    r"schedule", r"interest", r"principal", r"annuity", r"amount_due", r"_skip_settled",
    r"prepay", r"exposure", r"reserve", r"_window",
)  # fmt: skip

# Test files in the order that kills most mutants soonest; any other contract test file follows.
TEST_ORDER = (
    "tests/contracts/test_lifecycle.py",
    "tests/contracts/test_schedule.py",
    "tests/contracts/test_gating.py",
    "tests/contracts/test_notes.py",
)

# Mutant id -> why no input can tell it from the original. Reviewed by hand.
EQUIVALENT: dict[str, str] = {}

SUITE_TIMEOUT = 900
_COMPILE_ERROR = re.compile(r"vyper\.exceptions\.\w+|VyperException")


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
_DROPPABLE = re.compile(r"^\s*(assert\b|extcall\b|self\.\w+\(|[\w.\[\]]+\s*(\+|-)?=\s)")


def _code_part(line: str) -> str:
    return line.split("#", 1)[0]


def _functions(lines: list[str]) -> list[tuple[str, int, int]]:
    """(name, first body line, end line) of every top-level function, 0-based, end exclusive."""
    starts = [(i, m.group(1)) for i, line in enumerate(lines) if (m := _DEF.match(line))]
    spans = []
    for index, (start, name) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(lines)
        # The decorators of the next function are not this function's body.
        while end > start and (lines[end - 1].startswith("@") or not lines[end - 1].strip()):
            end -= 1
        spans.append((name, start + 1, end))
    return spans


def _in_docstring(lines: list[str], start: int, end: int) -> set[int]:
    inside, skip = False, set()
    for i in range(start, end):
        quotes = lines[i].count('"""')
        if inside or quotes:
            skip.add(i)
        if quotes % 2 == 1:
            inside = not inside
    return skip


def _id(file: str, function: str, kind: str, original: str, mutated: str, nth: int) -> str:
    digest = hashlib.sha256(f"{file}|{function}|{original.strip()}|{mutated.strip()}|{nth}".encode())
    return f"{Path(file).stem}:{function}:{kind}:{digest.hexdigest()[:8]}"


def mutants_of(file: str, source: str) -> list[Mutant]:
    lines = source.splitlines()
    money = re.compile("|".join(MONEY_PATHS))
    found: list[Mutant] = []
    seen: dict[tuple, int] = {}

    def add(function: str, kind: str, i: int, mutated_line: str) -> None:
        key = (function, lines[i].strip(), mutated_line.strip())
        nth = seen.get(key, 0)
        seen[key] = nth + 1
        found.append(
            Mutant(_id(file, function, kind, lines[i], mutated_line, nth), file, i + 1, function, kind,
                   lines[i].strip(), mutated_line.strip())
        )  # fmt: skip

    for function, start, end in _functions(lines):
        if not money.search(function):
            continue
        skip = _in_docstring(lines, start, end)
        for i in range(start, end):
            line = lines[i]
            code = _code_part(line)
            stripped = code.strip()
            if i in skip or not stripped or stripped.startswith(("log ", "#", "@", "return empty")):
                continue
            if re.match(r"^\s*(for|if|elif|else|def)\b", code) is None and _DROPPABLE.match(code):
                indent = code[: len(code) - len(code.lstrip())]
                add(function, "dropped", i, f"{indent}pass")
            for kind, pattern, replacement in _SWAPS:
                for match in re.finditer(pattern, code):
                    add(
                        function,
                        kind,
                        i,
                        code[: match.start()] + replacement + code[match.end() :] + line[len(code) :],
                    )
            if "range(" in code or ": constant(" in code:
                continue
            for match in _LITERAL.finditer(code):
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


def _env(checkout: Path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(checkout)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _compiles(checkout: Path, file: str) -> tuple[bool, str]:
    code = "import sys, boa; boa.load_partial(sys.argv[1])"
    run = subprocess.run([sys.executable, "-c", code, file], cwd=checkout, env=_env(checkout),
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    return run.returncode == 0, run.stderr.strip().splitlines()[-1] if run.returncode else ""


def _test_files(checkout: Path) -> list[str]:
    rest = sorted(
        str(p.relative_to(checkout)) for p in (checkout / "tests" / "contracts").glob("test_*.py")
        if str(p.relative_to(checkout)) not in TEST_ORDER
    )  # fmt: skip
    return [f for f in TEST_ORDER if (checkout / f).exists()] + rest


def run_mutant(mutant: Mutant, checkout: Path) -> Outcome:
    started = time.perf_counter()
    if mutant.id in EQUIVALENT:
        return Outcome(mutant, "equivalent", 0.0, EQUIVALENT[mutant.id])
    path = checkout / mutant.file
    original = path.read_text()
    try:
        path.write_text(apply(mutant, original))
        command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                   *_test_files(checkout)]  # fmt: skip
        try:
            run = subprocess.run(command, cwd=checkout, env=_env(checkout), capture_output=True, text=True,
                                 timeout=SUITE_TIMEOUT)  # fmt: skip
        except subprocess.TimeoutExpired:
            return Outcome(mutant, "timeout", time.perf_counter() - started, "suite timed out")
        if run.returncode == 0:
            return Outcome(mutant, "survived", time.perf_counter() - started)
        if _COMPILE_ERROR.search(run.stdout):
            # The suite's fixtures compile the contracts first: a compiler error there means the
            # mutant is not a program (e.g. a dropped declaration), not that a test caught it.
            ok, error = _compiles(checkout, mutant.file)
            if not ok:
                return Outcome(mutant, "stillborn", time.perf_counter() - started, error[:200])
        failed = next(
            (ln for ln in run.stdout.splitlines() if ln.startswith("FAILED") or ln.startswith("ERROR")), ""
        )
        return Outcome(mutant, "killed", time.perf_counter() - started, failed[:200])
    finally:
        path.write_text(original)


def baseline(checkout: Path) -> None:
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *_test_files(checkout)]
    run = subprocess.run(command, cwd=checkout, env=_env(checkout), capture_output=True, text=True)
    if run.returncode != 0:
        tail = "\n".join(run.stdout.splitlines()[-15:])
        raise SystemExit(
            f"mutation: the contract suite fails on the unmutated contracts; fix that first\n{tail}"
        )


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
        "counted": len(counted),
        "killed": killed,
        "survived": len(counted) - killed,
        "score": round(killed / len(counted), 4) if counted else None,
    }


def write_report(outcomes: list[Outcome], total: int, seconds: float, commit: str) -> None:
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
        f"{summary['stillborn']} did not compile, {summary['equivalent']} argued equivalent.",
        "",
        "| function | run | killed | survived | stillborn | equivalent |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, group in sorted(by_function.items()):
        counts = {
            r: sum(o.result == r for o in group)
            for r in ("killed", "timeout", "survived", "stillborn", "equivalent")
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, help="run an evenly spread sample of this many mutants")
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    parser.add_argument("--list", action="store_true", help="print the mutants and exit")
    parser.add_argument("--match", help="only mutants whose id contains this text")
    args = parser.parse_args()

    mutants = all_mutants()
    if args.match:
        mutants = [m for m in mutants if args.match in m.id]
    if args.list:
        for m in mutants:
            print(f"{m.id}\t{m.file}:{m.line}\t{m.original}  ->  {m.mutated}")
        print(f"{len(mutants)} mutants", file=sys.stderr)
        return
    chosen = spread(mutants, args.limit)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()  # fmt: skip
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="peerlend-mutants-") as scratch:
        checkouts = [_scratch_checkout(Path(scratch) / f"w{i}") for i in range(args.workers)]
        baseline(checkouts[0])
        outcomes: list[Outcome] = []

        def work(index: int) -> None:
            checkout = checkouts[index]
            for mutant in chosen[index :: args.workers]:
                outcome = run_mutant(mutant, checkout)
                outcomes.append(outcome)
                print(f"[{len(outcomes)}/{len(chosen)}] {outcome.result:10} {mutant.id} "
                      f"{mutant.original!r} -> {mutant.mutated!r}", flush=True)  # fmt: skip

        with ThreadPoolExecutor(args.workers) as pool:
            list(pool.map(work, range(args.workers)))
    outcomes.sort(key=lambda o: (o.mutant.file, o.mutant.line, o.mutant.id))
    write_report(outcomes, len(mutants), time.perf_counter() - started, commit)
    summary = score(outcomes)
    print(f"mutation score {summary['score']} ({summary['killed']}/{summary['counted']}); "
          f"report: {RESULTS / 'mutation.md'}")  # fmt: skip


if __name__ == "__main__":
    main()

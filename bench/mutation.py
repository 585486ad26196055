"""`make mutate`: how much of the contracts' money logic the contract suite actually checks.

    python -m bench.mutation                  # every mutant of the money paths
    python -m bench.mutation --jobs 2         # two workers, one core each
    python -m bench.mutation --limit 40       # a sample (evenly spread), for a quick look
    python -m bench.mutation --resume         # reuse what earlier runs decided and still holds
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
a `log` line (an event spread over several lines has its argument lines mutated: the indexer
rebuilds the ledger from them).

How a run goes (bench/mutation_worker.py does the compiling and testing):
- One long-lived worker per job, each in its own scratch copy of the checkout, imports pytest,
  boa and the test modules and compiles every contract once; each mutant is then handled in a
  forked child of it, so nothing is imported or collected again and nothing leaks between
  mutants.
- The coverage map: the contract suite runs once on the unmutated contracts with boa's
  program-counter trace on, recording per test the contract lines it executes and its
  duration. It must pass (the baseline), or every mutant would "die".
- Per mutant: the contracts that include the mutated file are compiled, once (a compiler error:
  stillborn, not counted; the original bytecode: equivalent; the bytecode of a mutant already
  run: that mutant's outcome). Stage 1 runs the tests that execute the mutated line, cheapest
  first, with `-x`: the first failure kills it. Only a stage-1 survivor meets stage 2, the rest
  of the contract suite (--no-confirm skips it). A stage running over three times its
  unmutated time plus a minute kills the mutant (a loop running away).
- Hypothesis runs the mutation profile (tests/hypothesis_profiles.py, selected by
  PEERLEND_HYPOTHESIS_PROFILE=mutation): --examples derandomized examples per property, no
  deadline, no database, no shrinking, so an outcome is the same on every run.
- Outcomes are cached in .cache/mutation by the digest of the mutated contract sources;
  --resume reuses a kill while the killing test's file (and the suite's shared helpers) is
  unchanged, a survivor only while the whole suite is, a stillborn or bytecode-equivalent
  mutant while the sources are. After adding a kill test, `--resume` reruns the survivors only.

Survivors are either killed by a new test (tests/contracts/test_mutation_kills.py) or argued
equivalent (no input can tell them from the original) in EQUIVALENT below, by mutant id, with
the argument. Ids hash the file, function and line text (not the line number), so they stay the
same across runs and across edits elsewhere in the file.

The score, per money path, per function and in all, every survivor, every equivalent and the
time per mutant go to bench/results/mutation.md (and mutation.json). Not part of `make test`.
"""

from __future__ import annotations

import argparse
import contextlib
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
from collections import Counter
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
    r"_(un)?pack_terms", r"^_level$", r"_ray_pow", r"^_status$", r"^_limits_of$",
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
    # loan_math module, and LoanBook's disburse with the ledger's level.
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
    "loan_math:_payoff_parts:bound:6424985c": (
        "`due_at > now` -> `>=`: only at now == due_at of installment k does the mutant differ; "
        "it takes k as the running installment and adds _earned(k) - paid, where _earned = "
        "_period_interest(remaining, apr, now - _window_start(k)) is k's own interest "
        "(_installment computes it as _period_interest(remaining, apr, due_at - _window_start(k)), "
        "for every method), so it adds part_interest - paid like the original (0 when equal, "
        "also like the original), and stops. The original goes on to k + 1, whose window starts "
        "at due_at(k) = now (for BULLET installments before the last, interest 0 and the next "
        "window starts at disbursement, which the mutant's _earned(k) already covered), so it "
        "earns 0 there and stops. Principal outstanding does not depend on the loop."
    ),
    "LoanBook:_waterfall:dropped:de3e3719": (
        "The last `budget -= pay` of the prepayment branch: the branch ends in `break`, and "
        "after the loop budget is never read again (the waterfall returns the ledger, penalty, "
        "interest and principal), so the local's final value decides nothing."
    ),
    "LoanBook:_waterfall:operator:6af1b094": (
        "The same last `budget -= pay` of the prepayment branch as "
        "LoanBook:_waterfall:dropped:de3e3719, turned into `+=`: the branch ends in `break` and "
        "budget is never read again, so its final value decides nothing."
    ),
    "LoanBook:_waterfall:bound:3e723d80": (
        "`earned > interest_paid_current` -> `>=`: at equality the mutant pays min(budget, 0) = 0 "
        "of interest (interest_paid_current, interest and budget change by 0), as the original "
        "pays nothing."
    ),
    "loan_math:_pending_penalty:operator:e3970ff2": (
        "`rate == 0 or now <= accrued_until` -> `and`: the mutant runs the loop where the "
        "original returns 0, when the rate is 0 (every term is unpaid * 0 * elapsed = 0) or when "
        "now == accrued_until (accrued_until is never ahead of now; every elapsed = now - "
        "max(late_from, accrued_until) = 0). Either way it adds 0 and returns min(0, cap - "
        "charged) = 0 (charged < cap, checked before). The loop cannot revert: unpaid >= the "
        "amounts paid on the cursor installment, elapsed >= 0 (late_from < now), remaining >= "
        "part (parts are capped by remaining)."
    ),
    "LoanBook:request_loan:constant:d5b6e624": (
        "`annuity=0` -> `annuity=1` in the new request's Loan: the literal goes straight to "
        "loan_math._pack_loan with status OPEN, which packs `funded` into the word the annuity "
        "shares once a loan is disbursed and drops the annuity field (_unpack_loan reads the "
        "annuity as 0 for a loan not yet ACTIVE); disburse writes the real annuity. Nothing "
        "else reads the literal."
    ),
    "LoanBook:_pay:bound:bbb41f18": (
        "`received < paid` -> `<=`: at received == paid the mutant reruns the waterfall on the "
        "same ledger with the same amount (a view of record, ledger and time, none changed in "
        "between) and sets paid = received = paid: the same split as the first run."
    ),
    "schedule_math:_installment:bound:73802dba": (
        "`level > full` -> `>=`: at level == full the mutant sets part = level - full = 0, the "
        "value the original leaves in place."
    ),
    "LoanBook:_pay:bound:5928f43d": (
        "`paid > 0` -> `paid >= 0` makes the check always pass, "
        "like dropping it: see LoanBook:_pay:dropped:5b53f0ef (paid > 0 whenever _pay runs)."
    ),
    "LoanBook:_pull:constant:3adf7a9d": (
        "`if amount == 0: return 0` -> `return 1`: no caller pulls 0. fund pulls take = "
        "min(amount, principal - funded) with amount > 0 on an OPEN loan (funded < principal, "
        "or it would be FUNDED); deposit_reserve checks amount > 0; _pay pulls paid > 0 (see "
        "LoanBook:_pay:dropped:5b53f0ef); _recover pulls take after checking take > 0. The "
        "branch is a guard for a zero amount that cannot arrive."
    ),
    "LoanBook:_pay:dropped:5b53f0ef": (
        '`_check(paid > 0, "nothing owed")` in _pay cannot fail: _pay runs on an ACTIVE loan '
        "(cursor <= installments: the payment that moves the cursor past the last installment "
        "stores REPAID) with amount > 0 (repay checks it; repay_in_full passes principal "
        "outstanding + interest + penalty, where outstanding = 0 leaves the last installment's "
        "interest unpaid). _skip_settled keeps the cursor on an installment with part + interest "
        "> 0, so scheduled_remaining > 0. The waterfall then pays something: penalty first; a due "
        "cursor installment with nothing left to pay would already have moved the cursor (its "
        "parts depend on the ledger only, not on the time); a running one takes its earned "
        "interest and then min(budget, scheduled_remaining) > 0 of principal. So paid > 0, and "
        "the dropped check never decides anything (it is a guard; tests reach its twin in "
        "_recover)."
    ),
}

# The profile's examples per hypothesis test (PEERLEND_MUTATION_EXAMPLES; see --examples).
EXAMPLES = 10
# Contract tests that never deploy LoanBook or its modules: they cannot kill a mutant.
UNRELATED = ("tests/contracts/test_credit_oracle.py", "tests/contracts/test_identity_registry.py")
# Files besides a test's own that decide its verdict: a cached kill holds while the killing
# test's file and these are unchanged.
SUPPORT = (
    "tests/conftest.py", "tests/hypothesis_profiles.py", "tests/contracts/conftest.py",
    "tests/contracts/helpers.py", "tests/contracts/model.py", "tests/contracts/reference.py",
    "peerlend/loanmath.py", "peerlend/vocabulary.py",
)  # fmt: skip
# Coverage maps and cached outcomes (content-addressed, never committed).
CACHE = ROOT / ".cache" / "mutation"

# The report groups functions by the money path they belong to (first match wins).
PATHS = (
    ("fund", r"^fund$|_check_lender"),
    ("gating", r"_check_(borrower|loan_terms)|^request_loan$|^_limits_of$"),
    ("disburse", r"^disburse$|^_level$|_annuity|_ray_pow"),
    ("repay waterfall", r"^repay$|_waterfall|^_pay$|_installment|_window_start|_skip_settled|_period_interest"),
    ("payoff", r"repay_in_full|_payoff_parts|_earned"),
    ("penalty", r"penalty|_accrue"),
    ("default", r"default"),
    ("recovery", r"_recover"),
    ("claim", r"claim|_credit_notes"),
    ("fees and reserve", r"fee|reserve"),
    ("refund, cancel, expiry", r"refund|cancel|expire|_close|^_status$"),
    ("views (lens)", r"^amount_due$|^schedule$|^loan$|^ledger$|^note$"),
    ("terms packing", r"_pack_terms|_unpack_terms"),
    ("transfers", r"^_pull$|^_push$"),
)  # fmt: skip


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
    result: str  # killed | survived | stillborn | equivalent | timeout | error
    seconds: float
    detail: str = ""  # the killing test, the compiler's error, the equivalence argument
    compile_seconds: float = 0.0
    stage: int = 0  # the stage that decided it: 1 the tests executing the line, 2 the rest
    cached: bool = False  # taken from an earlier run (--resume)


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
# Fingerprints: what a cached map or outcome depends on
# ---------------------------------------------------------------------------


def _sha(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def contract_sources(root: Path = ROOT) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted((root / "contracts").rglob("*.vy"))}


def sources_digest(sources: dict[str, str], mutant: Mutant | None = None) -> str:
    """Every contract source, with `mutant` applied: the key of a mutant's cached outcome."""
    texts = dict(sources)
    if mutant is not None:
        texts[mutant.file] = apply(mutant, texts[mutant.file])
    return _sha(*(f"{path}\n{text}" for path, text in sorted(texts.items())))


def test_files(root: Path = ROOT) -> list[str]:
    files = sorted(str(p.relative_to(root)) for p in (root / "tests" / "contracts").glob("test_*.py"))
    return [f for f in files if f not in UNRELATED]


def _file_digest(root: Path, *files: str) -> str:
    return _sha(*(f"{f}\n{(root / f).read_text() if (root / f).exists() else ''}" for f in files))


def tests_digest(root: Path = ROOT) -> str:
    """The contract suite as a whole: a cached survivor holds while this is unchanged."""
    return _file_digest(root, *test_files(root), *SUPPORT)


def killer_digest(root: Path, nodeid: str) -> str:
    return _file_digest(root, nodeid.split("::", 1)[0], *SUPPORT)


# ---------------------------------------------------------------------------
# The coverage map: which tests execute which contract lines
# ---------------------------------------------------------------------------


@dataclass
class CoverageMap:
    """Built once per version of the contracts and tests by running the suite on the unmutated
    contracts with boa's program-counter trace on (bench/mutation_worker.py): per test, the
    contract lines it executed and how long it took."""

    tests: list[str]
    durations: dict[str, float]
    covered: dict[str, dict[str, list[int]]]

    def __post_init__(self) -> None:
        self._index: dict[tuple[str, int], set[str]] = {}
        for nodeid, files in self.covered.items():
            for file, lines in files.items():
                for line in lines:
                    self._index.setdefault((file, line), set()).add(nodeid)

    def executing(self, file: str, lines: range) -> set[str]:
        found: set[str] = set()
        for line in lines:
            found |= self._index.get((file, line), set())
        return found

    def cheapest_first(self, tests) -> list[str]:
        position = {t: i for i, t in enumerate(self.tests)}
        return sorted(tests, key=lambda t: (self.durations.get(t, 0.0), position.get(t, 0)))

    def seconds(self, tests) -> float:
        return sum(self.durations.get(t, 0.0) for t in tests)


def _function_span(root: Path, mutant: Mutant) -> range:
    lines = (root / mutant.file).read_text().splitlines()
    for _, start, end in _functions(lines):
        if start < mutant.line <= end:
            return range(start + 1, end + 1)
    return range(mutant.line, mutant.line + 1)


def stages(
    mutant: Mutant, cmap: CoverageMap, killers: Counter | None = None, root: Path = ROOT
) -> tuple[list[str], list[str]]:
    """(stage 1, stage 2). Stage 1: the tests that execute the mutated line on the unmutated
    contracts (a test that never reaches the line runs the mutant exactly as the original),
    or, if the trace attributes the line to no test, those executing any line of its function;
    first those that killed other mutants of the same function (`killers`, most kills first),
    then cheapest first. Stage 2, for stage-1 survivors only: every other contract test."""
    first = cmap.executing(mutant.file, range(mutant.line, mutant.line + 1))
    if not first:
        first = cmap.executing(mutant.file, _function_span(root, mutant))
    rest = [t for t in cmap.tests if t not in first]
    proven = [t for t, _ in (killers or Counter()).most_common() if t in first]
    return proven + [t for t in cmap.cheapest_first(first) if t not in proven], cmap.cheapest_first(rest)


# ---------------------------------------------------------------------------
# Workers: one long-lived pytest host per job (bench/mutation_worker.py)
# ---------------------------------------------------------------------------


def _scratch_checkout(into: Path) -> Path:
    """A copy of what the contract suite reads (contracts, tests, the shared layer) and the
    worker itself: mutants are written into the copy, never into the checkout."""
    parts = (
        "contracts",
        "tests",
        "peerlend",
        "backend",
        "oracle",
        "bench",
        "pyproject.toml",
        "ape-config.yaml",
    )
    for part in parts:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(
                source, into / part, ignore=shutil.ignore_patterns("__pycache__", ".build", "results")
            )
        elif source.exists():
            shutil.copy2(source, into / part)
    return into


def _env(checkout: Path, examples: int) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(checkout)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # tests/hypothesis_profiles.py: few derandomized examples, no deadline, database or shrinking.
    env["PEERLEND_HYPOTHESIS_PROFILE"] = "mutation"
    env["PEERLEND_MUTATION_EXAMPLES"] = str(examples)
    # The state machine's own knobs (tests/contracts/test_invariants.py).
    env["PEERLEND_FUZZ_EXAMPLES"] = str(examples)
    env["PEERLEND_FUZZ_SHRINK"] = "0"
    return env


class Worker:
    def __init__(self, checkout: Path, examples: int, files: list[str]) -> None:
        self.checkout = checkout
        self._log = open(checkout / "worker.log", "w")  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.mutation_worker", *files],
            cwd=checkout, env=_env(checkout, examples), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._log, text=True, start_new_session=True,
        )  # fmt: skip
        self._hello: dict | None = None

    def hello(self) -> dict:
        if self._hello is None:
            self._hello = self._read()
            if not self._hello.get("ready"):
                raise SystemExit(f"mutation: the worker could not start: {self._hello.get('error')}")
        return self._hello

    def _read(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"mutation: a worker died; see {self.checkout / 'worker.log'} and last.log")
        return json.loads(line)

    def ask(self, command: dict) -> dict:
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self) -> None:
        try:
            self.process.stdin.write(json.dumps({"cmd": "stop"}) + "\n")
            self.process.stdin.flush()
            self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._log.close()


def coverage_map(worker: Worker, key: str, resume: bool) -> tuple[CoverageMap, float]:
    """The map for this version (from the cache with --resume), and the seconds the unmutated
    suite took; the suite must pass, or every mutant would "die"."""
    path = CACHE / f"map-{key[:24]}.json"
    if resume and path.exists():
        data = json.loads(path.read_text())
        return CoverageMap(data["tests"], data["durations"], data["covered"]), data["seconds"]
    tests = worker.hello()["tests"]
    answer = worker.ask({"cmd": "baseline", "tests": tests})
    if answer.get("status") != 0:
        failed = "\n".join(answer.get("failed", [])[:10]) or answer.get("error", "")
        raise SystemExit(
            f"mutation: the contract suite fails on the unmutated contracts; fix that first\n{failed}\n"
            f"(output: {worker.checkout / 'last.log'})"
        )
    CACHE.mkdir(parents=True, exist_ok=True)
    data = {"tests": tests, "durations": answer["durations"], "covered": answer["covered"],
            "seconds": answer["seconds"]}  # fmt: skip
    path.write_text(json.dumps(data))
    return CoverageMap(tests, answer["durations"], answer["covered"]), answer["seconds"]


# ---------------------------------------------------------------------------
# Cached outcomes (--resume)
# ---------------------------------------------------------------------------


class ResultCache:
    """Outcomes by mutant source digest. A stillborn mutant or one compiling to the original
    bytecode stays so while the sources are the same; a kill holds while the killing test's
    file (and SUPPORT) is unchanged; a survivor or a timeout only while the whole suite is."""

    def __init__(self, path: Path, root: Path = ROOT) -> None:
        self.path, self.root = path, root
        self.entries: dict[str, dict] = json.loads(path.read_text()) if path.exists() else {}
        self._lock = threading.Lock()

    def get(self, key: str, examples: int, suite: str) -> dict | None:
        entry = self.entries.get(key)
        if entry is None or entry.get("examples") != examples:
            return None
        if entry["result"] in ("stillborn", "equivalent"):
            return entry
        if entry["result"] == "killed" and entry.get("killer"):
            return entry if killer_digest(self.root, entry["killer"]) == entry.get("killer_digest") else None
        return entry if entry.get("suite") == suite else None

    def put(self, key: str, outcome: Outcome, killer: str, examples: int, suite: str) -> None:
        if outcome.result == "error":
            return
        entry = {"result": outcome.result, "detail": outcome.detail, "seconds": round(outcome.seconds, 2),
                 "compile_seconds": round(outcome.compile_seconds, 2), "stage": outcome.stage,
                 "examples": examples, "suite": suite, "killer": killer,
                 "killer_digest": killer_digest(self.root, killer) if killer else ""}  # fmt: skip
        with self._lock:
            self.entries[key] = entry
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.entries))
            tmp.replace(self.path)


# ---------------------------------------------------------------------------
# Running one mutant
# ---------------------------------------------------------------------------


def _stage_timeout(cmap: CoverageMap, tests: list[str]) -> float:
    """A mutant can make a loop run far longer (up to the gas limit); past three times what the
    tests take on the original (plus a minute for a loaded machine) it counts as killed."""
    return 3 * cmap.seconds(tests) + 60


def run_mutant(worker: Worker, mutant: Mutant, cmap: CoverageMap, confirm: bool,
               twins: dict[str, Outcome], killers: Counter | None = None) -> tuple[Outcome, str]:  # fmt: skip
    """(outcome, killing test). `twins` maps the bytecode digest of mutants already run to
    their outcomes: a mutant compiling to the same bytecode as one of them shares its fate.
    `killers`: the tests that killed other mutants of the same function (tried first)."""
    first, rest = stages(mutant, cmap, killers)
    planned = [first, rest] if confirm else [first]
    answer = worker.ask({
        "cmd": "mutant", "file": mutant.file, "line": mutant.line, "mutated": mutant.mutated,
        "stages": planned, "timeout": [_stage_timeout(cmap, tests) for tests in planned],
        "digests": {digest: o.mutant.id for digest, o in twins.items()},
    })  # fmt: skip
    seconds, compile_seconds = answer.get("seconds", 0.0), answer.get("compile_seconds", 0.0)
    result = answer.get("result", "error")
    stage = answer.get("stage", 0)
    killer = answer.get("killer", "")
    detail = answer.get("detail", "") or answer.get("error", "")[-300:]
    if result == "duplicate":
        twin = next(o for o in twins.values() if o.mutant.id == answer["detail"])
        result, stage = twin.result, twin.stage
        killer = twin.detail if twin.result == "killed" else ""
        detail = (
            twin.detail if twin.result == "killed" else f"compiles to the same bytecode as `{twin.mutant.id}`"
        )
    elif result == "killed":
        detail = killer
    elif result == "survived" and not confirm:
        detail = "stage 1 only (--no-confirm)"
    outcome = Outcome(mutant, result, seconds, detail[:300], compile_seconds, stage)
    if answer.get("digest") and result in ("killed", "survived", "timeout"):
        twins.setdefault(answer["digest"], outcome)
    return outcome, killer


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


def timing(outcomes: list[Outcome], total: int, jobs: int) -> dict:
    """Seconds per mutant over the mutants compiled and tested (in this run, or in the earlier
    run a cached outcome comes from, which recorded its time), and what all `total` would take
    on `jobs` workers at that rate."""
    measured = [o for o in outcomes if o.seconds > 0]
    if not measured:
        return {}
    mean = sum(o.seconds for o in measured) / len(measured)
    survivors = [o for o in measured if o.result == "survived"]
    return {
        "measured": len(measured),
        "cached": sum(o.cached for o in measured),
        "per_mutant_seconds": round(mean, 2),
        "compile_seconds": round(sum(o.compile_seconds for o in measured) / len(measured), 2),
        "survivor_seconds": round(sum(o.seconds for o in survivors) / max(1, len(survivors)), 2),
        "jobs": jobs,
        "projected_full_run_minutes": round(total * mean / jobs / 60, 1),
    }


def path_of(function: str) -> str:
    return next((name for name, pattern in PATHS if re.search(pattern, function)), "other")


def _counts(group: list[Outcome]) -> dict[str, int]:
    return {r: sum(o.result == r for o in group)
            for r in ("killed", "timeout", "survived", "stillborn", "equivalent", "error")}  # fmt: skip


def argued_before(path: Path = RESULTS / "mutation.json") -> dict[tuple, str]:
    """(file, function, line text, mutated text) -> id, for every mutant the last report lists
    as equivalent by argument: when its function changes, its id changes and it runs again; if
    it survives, the report points at the argument to check for the new version."""
    if not path.exists():
        return {}
    rows = json.loads(path.read_text()).get("outcomes", [])
    return {(r["file"], r["function"], r["original"], r["mutated"]): r["id"] for r in rows
            if r["result"] == "equivalent" and r["id"] in EQUIVALENT}  # fmt: skip


def write_report(
    outcomes: list[Outcome], total: int, seconds: float, commit: str, examples: int, clean: float,
    note: str = "", clock: dict | None = None, before: dict[tuple, str] | None = None,
) -> None:  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    before = before or {}
    summary = score(outcomes)
    clock = clock or {}
    by_function: dict[str, list[Outcome]] = {}
    by_path: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_function.setdefault(f"{Path(outcome.mutant.file).stem}.{outcome.mutant.function}", []).append(
            outcome
        )
        by_path.setdefault(path_of(outcome.mutant.function), []).append(outcome)
    data = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "seconds": round(seconds, 1),
        "mutants_generated": total,
        "note": note,
        "examples": examples,
        "baseline_seconds": round(clean, 1),
        "timing": clock,
        **summary,
        "outcomes": [
            {
                **asdict(o.mutant),
                "result": o.result,
                "seconds": round(o.seconds, 1),
                "detail": o.detail,
                "compile_seconds": round(o.compile_seconds, 1),
                "stage": o.stage,
                "cached": o.cached,
            }
            for o in outcomes
        ],  # fmt: skip
    }
    (RESULTS / "mutation.json").write_text(json.dumps(data, indent=1) + "\n")
    pct = "n/a" if summary["score"] is None else f"{summary['score'] * 100:.1f}%"
    scope = (
        f"**Partial run over {summary['mutants']} of {total} generated mutants.**"
        if summary["mutants"] < total
        else f"Every one of the {total} generated mutants was run."
    )
    per_mutant = (
        f" Per mutant: {clock['per_mutant_seconds']:.1f} s on average ({clock['compile_seconds']:.1f} s of it "
        f"compiling), over the {clock['measured']} compiled and tested"
        f"{' (' + str(clock['cached']) + ' of them in an earlier run, from the cache)' if clock.get('cached') else ''}; "
        f"all {total} on {clock['jobs']} job(s) would take about {clock['projected_full_run_minutes']:.0f} min."
        if clock
        else ""
    )
    lines = [
        "# Mutation testing: the contract suite against mutants of the money paths",
        "",
        f"Generated {data['generated_at']} at commit `{commit}` by `make mutate` ({seconds / 60:.0f} min).",
        "",
        scope,
        "",
        f"**Score: {pct}** of non-equivalent mutants killed ({summary['killed']} of {summary['counted']}); "
        f"target ≥ 97%. {summary['stillborn']} did not compile, {summary['equivalent']} are equivalent "
        "(argued, or compiling to the original bytecode)"
        f"{', ' + str(summary['errors']) + ' broke pytest itself (not counted)' if summary['errors'] else ''}.",
        "",
        *([note, ""] if note else []),
        "How: each mutant is compiled once (a compiler error makes it stillborn; the original "
        "bytecode makes it equivalent; another mutant's bytecode gives it that mutant's outcome), "
        "then the contract tests that execute the mutated line on the original contracts run "
        "against it with `-x`, cheapest first; a mutant surviving them is confirmed against the "
        "rest of the contract suite. Hypothesis runs the mutation profile "
        f"(tests/hypothesis_profiles.py: {examples} derandomized examples per property, no shrinking, "
        f"no deadline); the unmutated suite passes that way in {clean:.0f} s. A failing test, or a "
        "stage running over three times its unmutated time plus a minute, kills the mutant." + per_mutant,
        "",
        "| money path | run | killed | survived | stillborn | equivalent |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, _ in (*PATHS, ("other", "")):
        group = by_path.get(name)
        if group:
            c = _counts(group)
            lines.append(f"| {name} | {len(group)} | {c['killed'] + c['timeout']} | {c['survived']} | "
                         f"{c['stillborn']} | {c['equivalent']} |")  # fmt: skip
    lines += [
        "",
        "| function | run | killed | survived | stillborn | equivalent |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, group in sorted(by_function.items()):
        c = _counts(group)
        lines.append(f"| `{name}` | {len(group)} | {c['killed'] + c['timeout']} | {c['survived']} | "
                     f"{c['stillborn']} | {c['equivalent']} |")  # fmt: skip
    survivors = [o for o in outcomes if o.result == "survived"]
    lines += ["", "## Survivors", ""]
    if not survivors:
        lines.append("None.")
    for o in survivors:
        m = o.mutant
        lines.append(f"- `{m.id}` {m.file}:{m.line} ({m.kind}): `{m.original}` → `{m.mutated}`")
        earlier = before.get((m.file, m.function, m.original, m.mutated))
        if earlier and earlier != m.id:
            lines[-1] += (
                f" (argued equivalent as `{earlier}` before its function changed: check that argument)"
            )
    equivalents = [o for o in outcomes if o.result == "equivalent"]
    if equivalents:
        lines += ["", "## Equivalent", ""]
        lines += [
            f"- `{o.mutant.id}` `{o.mutant.original}` → `{o.mutant.mutated}`: {o.detail}" for o in equivalents
        ]
    (RESULTS / "mutation.md").write_text("\n".join(lines) + "\n")


def rereport(mutants: list[Mutant], note: str = "") -> None:
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
        outcome = Outcome(mutant, row["result"], row["seconds"], row["detail"], row.get("compile_seconds", 0.0),
                          row.get("stage", 0), row.get("cached", False))  # fmt: skip
        if outcome.result == "survived" and mutant.id in EQUIVALENT:
            outcome = Outcome(mutant, "equivalent", outcome.seconds, EQUIVALENT[mutant.id])
        outcomes.append(outcome)
    clock = data.get("timing") or {}
    write_report(sorted(outcomes, key=_order), data["mutants_generated"], data["seconds"], data["commit"],
                 data.get("examples", data.get("fuzz_examples", EXAMPLES)), data.get("baseline_seconds", 0.0),
                 note or data.get("note", ""), timing(outcomes, data["mutants_generated"], clock.get("jobs", 1)))  # fmt: skip


def _prefix_spread(items: list) -> list:
    """`items` reordered so that every prefix is spread over the whole list (bit-reversed
    positions: 0, 1/2, 1/4, 3/4, ...), so a run cut short by --minutes is still a spread sample."""
    bits = max(1, (len(items) - 1).bit_length())
    rank = sorted(range(len(items)), key=lambda i: int(format(i, f"0{bits}b")[::-1], 2))
    return [items[i] for i in rank]


def _order(outcome: Outcome) -> tuple:
    return (outcome.mutant.file, outcome.mutant.line, outcome.mutant.id)


def _run_all(workers, todo, outcomes, chosen, sources, suite, cache, twins, lock, report, args, started,
             clean: list[float]) -> None:  # fmt: skip
    """Builds (or loads) the coverage map on the first worker (clean[0]: the seconds the
    unmutated suite took), then runs the queue on all of them."""
    key = _sha(sources_digest(sources), suite, str(args.examples))
    cmap, clean[0] = coverage_map(workers[0], key, args.resume)
    print(f"baseline: the suite passes in {clean[0]:.0f} s; {len(cmap.tests)} tests mapped; "
          f"{len(workers)} worker(s)", flush=True)  # fmt: skip
    stop_at = started + args.minutes * 60 if args.minutes else None
    killers: dict[str, Counter] = {}
    for done in outcomes:  # cached kills (--resume) say which tests kill mutants of a function
        if done.result == "killed" and done.detail.startswith("tests/"):
            killers.setdefault(f"{done.mutant.file}:{done.mutant.function}", Counter())[done.detail] += 1

    def work(worker: Worker) -> None:
        while stop_at is None or time.perf_counter() < stop_at:
            try:
                mutant = todo.get_nowait()
            except queue.Empty:
                return
            function = f"{mutant.file}:{mutant.function}"
            with lock:
                proven = Counter(killers.get(function, Counter()))
            outcome, killer = run_mutant(worker, mutant, cmap, not args.no_confirm, twins, proven)
            with lock:
                if killer:
                    killers.setdefault(function, Counter())[killer] += 1
                outcomes.append(outcome)
                cache.put(sources_digest(sources, mutant), outcome, killer, args.examples, suite)
                print(f"[{len(outcomes)}/{len(chosen)}] {outcome.result:10} {outcome.seconds:5.1f}s "
                      f"{mutant.id} {mutant.original!r} -> {mutant.mutated!r}"
                      f"{'  ' + outcome.detail[:120] if outcome.result != 'killed' else ''}",
                      flush=True)  # fmt: skip
                # Written after every mutant, so an interrupted run still leaves its report.
                report()

    threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, help="run an evenly spread sample of this many mutants")
    parser.add_argument("--jobs", "--workers", type=int, default=max(1, (os.cpu_count() or 2) // 2),
                        help="workers in parallel, one core each (default: half the cores)")  # fmt: skip
    parser.add_argument("--list", action="store_true", help="print the mutants and exit")
    parser.add_argument(
        "--match", help="only mutants whose id contains this text (or one of several, comma-separated)"
    )
    parser.add_argument("--rereport", action="store_true",
                        help="rewrite the report from mutation.json with the current EQUIVALENT table; run nothing")  # fmt: skip
    parser.add_argument("--minutes", type=float,
                        help="start no new mutant after this many minutes (the report covers those run)")  # fmt: skip
    parser.add_argument("--examples", "--fuzz-examples", type=int, default=EXAMPLES,
                        help=f"hypothesis examples per property under the mutation profile (default {EXAMPLES})")  # fmt: skip
    parser.add_argument("--resume", action="store_true",
                        help="reuse the coverage map and every outcome still valid from earlier runs (.cache/mutation)")  # fmt: skip
    parser.add_argument("--no-confirm", action="store_true",
                        help="a mutant surviving the tests that execute its line is reported a survivor without "
                             "running the rest of the suite (a quick hunt for survivors)")  # fmt: skip
    parser.add_argument(
        "--note", default="", help="a paragraph for the report on how this run was put together"
    )
    args = parser.parse_args()
    # A plain `kill` ends the run like Ctrl-C: workers stopped, scratch copies deleted, report kept.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

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
        rereport(mutants, args.note)
        return
    total = len(all_mutants())
    chosen = spread(mutants, args.limit)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()  # fmt: skip
    started = time.perf_counter()
    sources, suite = contract_sources(), tests_digest()
    cache = ResultCache(CACHE / "results.json")
    outcomes: list[Outcome] = []
    todo: queue.Queue[Mutant] = queue.Queue()
    for mutant in _prefix_spread(chosen):
        if mutant.id in EQUIVALENT:
            outcomes.append(Outcome(mutant, "equivalent", 0.0, EQUIVALENT[mutant.id]))
            continue
        entry = cache.get(sources_digest(sources, mutant), args.examples, suite) if args.resume else None
        if entry is not None:
            outcomes.append(Outcome(mutant, entry["result"], entry["seconds"], entry["detail"],
                                    entry.get("compile_seconds", 0.0), entry.get("stage", 0), cached=True))  # fmt: skip
        else:
            todo.put(mutant)
    print(
        f"{len(chosen)} of {total} mutants: {todo.qsize()} to run, {len(outcomes)} argued or cached",
        flush=True,
    )
    lock = threading.Lock()
    twins: dict[str, Outcome] = {}
    clean = [0.0]

    before = argued_before()

    def report() -> None:
        write_report(sorted(outcomes, key=_order), total, time.perf_counter() - started, commit, args.examples,
                     clean[0], args.note, timing(outcomes, total, args.jobs), before)  # fmt: skip

    with tempfile.TemporaryDirectory(prefix="peerlend-mutants-") as scratch:
        jobs = min(args.jobs, todo.qsize())
        workers = [Worker(_scratch_checkout(Path(scratch) / f"w{i}"), args.examples, test_files())
                   for i in range(jobs)]  # fmt: skip
        try:
            for worker in workers:
                worker.hello()
            if workers:
                _run_all(workers, todo, outcomes, chosen, sources, suite, cache, twins, lock, report, args,
                         started, clean)  # fmt: skip
        finally:
            for worker in workers:
                worker.close()
    report()
    summary = score(outcomes)
    clock = timing(outcomes, total, args.jobs)
    print(f"mutation score {summary['score']} ({summary['killed']}/{summary['counted']}); "
          f"{clock.get('per_mutant_seconds', 0)} s per mutant; report: {RESULTS / 'mutation.md'}")  # fmt: skip


if __name__ == "__main__":
    main()

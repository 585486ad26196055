"""`peerlend.vocabulary` against the contracts' own constants, read from the Vyper sources.

Every `NAME: constant(...) = value` (public or not) in contracts/**/*.vy is evaluated; a number
the Python side uses must equal the contract constant of the same meaning, and a constant
defined in several contracts must agree everywhere. The terms fields are compared with the
`Terms` struct, in order.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

from peerlend import vocabulary
from peerlend.vocabulary import GRADES, TERMS_FIELDS, Grade, LoanStatus, Method

CONTRACTS = Path(__file__).resolve().parent.parent / "contracts"
SOURCES = sorted(path for path in CONTRACTS.rglob("*.vy") if "test" not in path.relative_to(CONTRACTS).parts)
CONSTANT = re.compile(r"^(\w+):\s*(?:public\()?constant\((\w+)\)\)?\s*=\s*(.+?)\s*(?:#.*)?$", re.MULTILINE)


def _evaluate(expression: str, known: dict[str, int]) -> int | None:
    """The value of a constant expression of integers, `**`, `*`, `+`, `-`, `//` and names of
    constants already read; None for anything else (keccak256 roles, strings)."""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        return None

    def value(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name) and node.id in known:
            return known[node.id]
        if isinstance(node, ast.BinOp):
            ops = {ast.Mult: int.__mul__, ast.Pow: int.__pow__, ast.Add: int.__add__, ast.Sub: int.__sub__,
                   ast.FloorDiv: int.__floordiv__}  # fmt: skip
            if type(node.op) in ops:
                return ops[type(node.op)](value(node.left), value(node.right))
        raise ValueError(ast.dump(node))

    try:
        return value(tree.body)
    except ValueError:
        return None


def contract_constants() -> dict[str, dict[str, int]]:
    """{constant name: {source file: value}} over every contract source."""
    found: dict[str, dict[str, int]] = defaultdict(dict)
    for path in SOURCES:
        known: dict[str, int] = {}
        for name, _type, expression in CONSTANT.findall(path.read_text()):
            number = _evaluate(expression, known)
            if number is not None:
                known[name] = number
                found[name][path.relative_to(CONTRACTS).as_posix()] = number
    return found


CONSTANTS = contract_constants()


def the(name: str) -> int:
    """The one value of contract constant `name` (it must exist and agree across contracts)."""
    values = CONSTANTS.get(name)
    assert values, f"no contract defines the constant {name}"
    assert len(set(values.values())) == 1, f"{name} differs between contracts: {values}"
    return next(iter(values.values()))


def test_the_parser_reads_expressions():
    assert _evaluate("365 * 86_400", {}) == 31_536_000
    assert _evaluate("30 * DAY", {"DAY": 86_400}) == 2_592_000
    assert _evaluate("10**30", {}) == 10**30
    assert _evaluate('keccak256("ORACLE_ROLE")', {}) is None


@pytest.mark.parametrize("status", list(LoanStatus), ids=lambda s: s.name)
def test_loan_status_numbers_are_the_contracts(status):
    assert the(status.name) == status.value


@pytest.mark.parametrize("method", list(Method), ids=lambda m: m.name)
def test_method_numbers_are_the_contracts(method):
    assert the(method.name) == method.value


CAPS = (
    "BPS", "DAY", "YEAR",
    "MAX_ORIGINATION_FEE_BPS", "MAX_SERVICE_FEE_BPS", "MAX_PENALTY_BPS_PER_DAY", "MAX_PENALTY_CAP_BPS",
    "MAX_GRACE_SECONDS", "MAX_DEFAULT_AFTER_SECONDS", "MIN_REVIEW_SECONDS", "MAX_REVIEW_SECONDS",
    "MIN_DISBURSE_SECONDS", "MAX_DISBURSE_SECONDS", "MAX_APR_BPS", "MAX_INSTALLMENTS",
    "MIN_PERIOD_SECONDS", "MAX_PERIOD_SECONDS", "MAX_TERM_SECONDS", "MIN_FUNDING_SECONDS", "MAX_FUNDING_SECONDS",
    "MAX_PRINCIPAL", "MIN_SCORE", "MAX_SCORE", "MIN_TTL", "MAX_TTL", "MAX_BATCH", "MAX_REQUEST_COOLDOWN",
)  # fmt: skip


@pytest.mark.parametrize("name", CAPS)
def test_units_and_caps_are_the_contracts(name):
    assert the(name) == getattr(vocabulary, name)


def test_every_contract_cap_is_in_the_vocabulary():
    """A new hard cap in a contract must get its Python name too (or this list must say why not)."""
    caps = {name for name in CONSTANTS if re.match(r"^(MAX|MIN)_", name)}
    assert caps <= set(CAPS), f"contract caps missing from peerlend.vocabulary: {sorted(caps - set(CAPS))}"


def test_grades_are_the_contracts():
    assert the("GRADES") == len(GRADES) == len(Grade) - 1
    assert [grade.letter for grade in GRADES] == ["A", "B", "C", "D", "E"]
    assert Grade(0).letter is None and Grade(0).label == "ineligible"


def test_terms_fields_are_the_terms_struct_in_order():
    source = (CONTRACTS / "lib" / "loan_math.vy").read_text()  # LoanBook's Terms, shared with LoanLens
    struct = re.search(r"^struct Terms:\n((?:[ \t]+.*\n|[ \t]*#.*\n)+)", source, re.MULTILINE)
    assert struct, "lib/loan_math.vy has no `struct Terms`"
    fields = re.findall(r"^\s+(\w+):", struct.group(1), re.MULTILINE)
    assert tuple(fields) == TERMS_FIELDS

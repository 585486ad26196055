"""LoanBook's revert reasons are stored once, as a text and a table of (offset, length) per code
(contracts/lib/loan_math.vy); every check passes a code. These tests keep the table honest: each
code's comment says its reason, the contract reverts with exactly that text, and no code is
unused or missing."""

from __future__ import annotations

import re
from pathlib import Path

import boa

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
SOURCE = (CONTRACTS / "lib" / "loan_math.vy").read_text()
CODES = {
    name: (int(code), text)
    for name, code, text in re.findall(r'^(E_\w+): constant\(uint256\) = (\d+)  # "([^"]*)"$', SOURCE, re.M)
}
REASON_TEXT = re.search(r'^_REASON_TEXT: constant\(String\[\d+\]\) = "([^"]*)"$', SOURCE, re.M).group(1)
REASON_AT = [
    int(v)
    for v in re.search(r"^_REASON_AT: constant\(uint256\[\d+\]\) = \[([^\]]*)\]", SOURCE, re.M)
    .group(1)
    .split(",")
]


def test_codes_are_dense_and_the_table_says_what_each_comment_says():
    assert (
        sorted(code for code, _ in CODES.values()) == list(range(len(CODES))) == list(range(len(REASON_AT)))
    )
    for name, (code, text) in CODES.items():
        at = REASON_AT[code]
        assert REASON_TEXT[at >> 8 : (at >> 8) + (at & 255)] == text, name
        assert name == "E_" + re.sub(r"[^A-Z0-9]+", "_", text.upper()).strip("_")


def test_every_code_is_used_and_no_check_passes_text():
    users = "".join((CONTRACTS / f).read_text() for f in ("LoanBook.vy", "LoanLens.vy", "lib/loan_math.vy"))
    for name in CODES:
        assert len(re.findall(rf"\b{name}\b", users)) >= 2, f"{name} is defined but never checked"
    assert not re.search(r'_check\([^)]*"', users), "a check passes reason text instead of a code"


def test_a_check_reverts_with_the_prefixed_text(book, admin):
    """End to end: the shared revert path builds "loanbook: " + the code's text."""
    with boa.env.prank(admin), boa.reverts("loanbook: zero token"):
        book.set_token_allowed("0x" + "00" * 20, True)
    with boa.reverts("loanbook: no such loan"):
        book.loan(10**6)
    with boa.reverts("loanbook: no such note"):
        book.note(10**6)

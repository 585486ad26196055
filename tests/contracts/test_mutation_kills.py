"""Tests that kill mutants `make mutate` found surviving the rest of the contract suite.

Each test names the mutant(s) it kills (ids as in bench/results/mutation.md) and asserts the
behaviour the mutant changes, so it fails on the mutated contract and passes on the real one.
"""

from __future__ import annotations

import boa


def test_reserve_accepts_a_deposit_of_one_base_unit(book, stablecoin, lenders):
    """Kills LoanBook:deposit_reserve:constant (`amount > 0` -> `amount > 1`): the zero check
    rejects exactly zero, and the smallest real deposit still reaches the reserve."""
    token = stablecoin.address
    reserve, balance = book.reserve(token), stablecoin.balanceOf(book.address)
    with boa.env.prank(lenders[0]):
        book.deposit_reserve(token, 1)
    assert book.reserve(token) == reserve + 1
    assert stablecoin.balanceOf(book.address) == balance + 1
    with boa.env.prank(lenders[0]), boa.reverts("loanbook: zero amount"):
        book.deposit_reserve(token, 0)

"""The slices of the contract ABIs the oracle service uses.

Taken from the shared vendored ABIs (`peerlend/abi/*.json`, copied verbatim from
`ape compile`), so there is one committed copy and the service still runs without ape or a
Vyper compiler. `tests/oracle/test_service_units.py` checks every entry here against the
compiled ABI, so a contract change that breaks the service fails a test.
"""

from __future__ import annotations

from peerlend.abi import load


def _slice(contract: str, events: tuple[str, ...], functions: tuple[str, ...]) -> list[dict]:
    """The named entries, every overload of a function included (web3 picks one by arguments)."""
    wanted = {("event", name) for name in events} | {("function", name) for name in functions}
    found = [e for e in load(contract) if (e.get("type"), e.get("name")) in wanted]
    missing = wanted - {(e["type"], e["name"]) for e in found}
    if missing:
        raise KeyError(f"{contract} has no {sorted(missing)}")
    return found


CREDIT_ORACLE_ABI: list[dict] = _slice(
    "CreditOracle",
    events=("ScoreUpdated", "ScoreRequested"),
    functions=(
        "hasRole",
        "push_scores",
        "request_score",
        "score_of",
        "ORACLE_ROLE",
        "request_nonce",
        "pending_request",
        "answered_nonce",
        "next_request_at",
    ),
)

LOAN_BOOK_ABI: list[dict] = _slice(
    "LoanBook",
    events=("LoanRequested", "LoanDisbursed", "Repayment", "LoanDefaulted"),
    functions=(),
)

"""The slices of the contract ABIs the oracle service uses.

Taken from the ABIs vendored for the indexer (`backend/abi/*.json`, copied verbatim from
`ape compile`), so there is one committed copy and the service still runs without ape or a
Vyper compiler. `tests/oracle/test_service_units.py` checks every entry here against the
compiled ABI, so a contract change that breaks the service fails a test.
"""

from __future__ import annotations

from backend.abi import entry


def _slice(contract: str, events: tuple[str, ...], functions: tuple[str, ...]) -> list[dict]:
    return [entry(contract, "event", name) for name in events] + [
        entry(contract, "function", name) for name in functions
    ]


CREDIT_ORACLE_ABI: list[dict] = _slice(
    "CreditOracle",
    events=("ScoreUpdated", "ScoreRequested"),
    functions=("hasRole", "push_scores", "request_score", "score_of", "ORACLE_ROLE", "request_nonce"),
)

LOAN_BOOK_ABI: list[dict] = _slice(
    "LoanBook",
    events=("LoanRequested", "LoanDisbursed", "Repayment", "LoanDefaulted"),
    functions=(),
)

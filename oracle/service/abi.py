"""The slices of the contract ABIs the oracle service uses, copied verbatim from `ape compile`.

The service runs without ape or a Vyper compiler, so it carries only what it calls and decodes.
`tests/oracle/test_service_units.py` checks every entry here against the compiled ABI
(`.build/__local__.json`), so a contract change that breaks the service fails a test.
"""

from __future__ import annotations

CREDIT_ORACLE_ABI: list[dict] = [
    {
        "anonymous": False,
        "inputs": [
            {"indexed": True, "name": "account", "type": "address"},
            {"indexed": False, "name": "score", "type": "uint256"},
            {"indexed": False, "name": "grade", "type": "uint256"},
            {"indexed": True, "name": "model", "type": "bytes32"},
            {"indexed": False, "name": "expires_at", "type": "uint256"},
        ],
        "name": "ScoreUpdated",
        "type": "event",
    },
    {
        "anonymous": False,
        "inputs": [
            {"indexed": True, "name": "account", "type": "address"},
            {"indexed": False, "name": "nonce", "type": "uint256"},
        ],
        "name": "ScoreRequested",
        "type": "event",
    },
    {
        "inputs": [{"name": "arg0", "type": "bytes32"}, {"name": "arg1", "type": "address"}],
        "name": "hasRole",
        "outputs": [{"name": "", "type": "bool"}],
        "stateMutability": "view",
        "type": "function",
    },
    {
        "inputs": [
            {"name": "accounts", "type": "address[]"},
            {"name": "scores", "type": "uint256[]"},
            {"name": "model", "type": "bytes32"},
            {"name": "ttl_seconds", "type": "uint256"},
        ],
        "name": "push_scores",
        "outputs": [],
        "stateMutability": "nonpayable",
        "type": "function",
    },
    {
        "inputs": [],
        "name": "request_score",
        "outputs": [],
        "stateMutability": "nonpayable",
        "type": "function",
    },
    {
        "inputs": [{"name": "account", "type": "address"}],
        "name": "score_of",
        "outputs": [
            {
                "components": [
                    {"name": "score", "type": "uint256"},
                    {"name": "grade", "type": "uint256"},
                    {"name": "model", "type": "bytes32"},
                    {"name": "updated_at", "type": "uint256"},
                    {"name": "expires_at", "type": "uint256"},
                ],
                "name": "",
                "type": "tuple",
            }
        ],
        "stateMutability": "view",
        "type": "function",
    },
    {
        "inputs": [],
        "name": "ORACLE_ROLE",
        "outputs": [{"name": "", "type": "bytes32"}],
        "stateMutability": "view",
        "type": "function",
    },
    {
        "inputs": [{"name": "arg0", "type": "address"}],
        "name": "request_nonce",
        "outputs": [{"name": "", "type": "uint256"}],
        "stateMutability": "view",
        "type": "function",
    },
]

LOAN_BOOK_ABI: list[dict] = [
    {
        "anonymous": False,
        "inputs": [
            {"indexed": True, "name": "loan_id", "type": "uint256"},
            {"indexed": True, "name": "borrower", "type": "address"},
            {"indexed": True, "name": "token", "type": "address"},
            {"indexed": False, "name": "grade", "type": "uint256"},
            {"indexed": False, "name": "score", "type": "uint256"},
            {"indexed": False, "name": "principal", "type": "uint256"},
            {"indexed": False, "name": "apr_bps", "type": "uint256"},
            {"indexed": False, "name": "installments", "type": "uint256"},
            {"indexed": False, "name": "period_seconds", "type": "uint256"},
            {"indexed": False, "name": "method", "type": "uint256"},
            {"indexed": False, "name": "funding_deadline", "type": "uint256"},
        ],
        "name": "LoanRequested",
        "type": "event",
    },
    {
        "anonymous": False,
        "inputs": [
            {"indexed": True, "name": "loan_id", "type": "uint256"},
            {"indexed": True, "name": "borrower", "type": "address"},
            {"indexed": False, "name": "amount", "type": "uint256"},
            {"indexed": False, "name": "origination_fee", "type": "uint256"},
            {"indexed": False, "name": "start", "type": "uint256"},
            {"indexed": False, "name": "annuity", "type": "uint256"},
        ],
        "name": "LoanDisbursed",
        "type": "event",
    },
    {
        "anonymous": False,
        "inputs": [
            {"indexed": True, "name": "loan_id", "type": "uint256"},
            {"indexed": True, "name": "payer", "type": "address"},
            {"indexed": False, "name": "amount", "type": "uint256"},
            {"indexed": False, "name": "principal", "type": "uint256"},
            {"indexed": False, "name": "interest", "type": "uint256"},
            {"indexed": False, "name": "penalty", "type": "uint256"},
            {"indexed": False, "name": "fee_treasury", "type": "uint256"},
            {"indexed": False, "name": "fee_reserve", "type": "uint256"},
            {"indexed": False, "name": "to_noteholders", "type": "uint256"},
            {"indexed": False, "name": "principal_outstanding", "type": "uint256"},
            {"indexed": False, "name": "next_installment", "type": "uint256"},
        ],
        "name": "Repayment",
        "type": "event",
    },
    {
        "anonymous": False,
        "inputs": [
            {"indexed": True, "name": "loan_id", "type": "uint256"},
            {"indexed": False, "name": "debt", "type": "uint256"},
            {"indexed": False, "name": "principal_outstanding", "type": "uint256"},
            {"indexed": False, "name": "cover", "type": "uint256"},
        ],
        "name": "LoanDefaulted",
        "type": "event",
    },
]

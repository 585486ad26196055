"""Contract ABIs the services decode and call, vendored as JSON beside this file (package data).

The indexer and the oracle service must run without ape or a Vyper compiler, so the ABIs are
committed here, copied verbatim from ape's manifest (`.build/__local__.json`, written by `ape compile`).
Verbatim matters: `peerlend.deployments.abi_hash` of these lists equals the `abi_hash` that
`deploy_all` writes into `deployments/<chain_id>.json`, so the indexer can tell at startup
whether the deployed contracts speak the ABI it knows.

Refresh after a contract's events or views change:

    ape compile && python -m peerlend.abi

`tests/backend/test_abi.py` fails when the events and views listed in `USED` drift from
the compiled contracts.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

MANIFEST = Path(".build") / "__local__.json"  # ape's manifest, relative to the ape project
INDEXED = ("LoanBook", "LoanLens", "LoanNote", "IdentityRegistry", "CreditOracle")

# What the indexer relies on: events it derives state from, views it reconciles against.
USED: dict[str, dict[str, tuple[str, ...]]] = {
    "LoanBook": {
        "event": (
            "LoanRequested", "LoanTerms", "LoanFunded", "LoanFullyFunded", "LoanCancelled", "LoanExpired",
            "NoteRefunded", "LoanDisbursed", "PenaltyAccrued", "Repayment", "LoanRepaid", "LoanDefaulted",
            "Recovery", "Claimed", "ReserveDeposited", "FeesWithdrawn", "TokenAllowed",
        ),
        "function": (
            "loan", "loan_terms", "ledger", "default_record", "note", "claimable", "held", "reserve", "fees",
            "exposure", "loan_count", "note_count",
        ),
    },
    "LoanLens": {"event": (), "function": ("schedule", "amount_due", "loan_notes")},
    "LoanNote": {"event": ("Transfer",), "function": ("ownerOf",)},
    "IdentityRegistry": {"event": ("Attested", "Revoked", "BlockedSet"), "function": ("is_verified", "is_blocked")},
    "CreditOracle": {"event": ("ScoreUpdated",), "function": ("score_of",)},
}  # fmt: skip


# The part of ERC-20 that Peerlend calls on an allow-listed token (metadata, balances, approval):
# the token is not ours, so its ABI is not vendored with the contracts'.
ERC20: list[dict[str, Any]] = [
    {"type": "function", "name": name, "stateMutability": "view", "inputs": inputs,
     "outputs": [{"name": "", "type": kind}]}
    for name, inputs, kind in (
        ("symbol", [], "string"),
        ("name", [], "string"),
        ("decimals", [], "uint8"),
        ("balanceOf", [{"name": "owner", "type": "address"}], "uint256"),
        ("allowance", [{"name": "owner", "type": "address"}, {"name": "spender", "type": "address"}], "uint256"),
    )
] + [
    {"type": "function", "name": "approve", "stateMutability": "nonpayable",
     "inputs": [{"name": "spender", "type": "address"}, {"name": "amount", "type": "uint256"}],
     "outputs": [{"name": "", "type": "bool"}]},
]  # fmt: skip

# The local chain's TestStablecoin (contracts/test/TestStablecoin.vy): that ERC-20 plus the
# deployer's `mint`, for the load benchmark and the browser tests, which fund wallets over web3.
TEST_STABLECOIN: list[dict[str, Any]] = ERC20 + [
    {"type": "function", "name": "mint", "stateMutability": "nonpayable",
     "inputs": [{"name": "to", "type": "address"}, {"name": "amount", "type": "uint256"}], "outputs": []},
    {"type": "function", "name": "transfer", "stateMutability": "nonpayable",
     "inputs": [{"name": "to", "type": "address"}, {"name": "amount", "type": "uint256"}],
     "outputs": [{"name": "", "type": "bool"}]},
]  # fmt: skip


@cache
def load(name: str) -> list[dict[str, Any]]:
    return json.loads(resources.files(__name__).joinpath(f"{name}.json").read_text())


def entry(name: str, kind: str, item: str) -> dict[str, Any]:
    for abi_entry in load(name):
        if abi_entry.get("type") == kind and abi_entry.get("name") == item:
            return abi_entry
    raise KeyError(f"{name} has no {kind} {item}")


def refresh(manifest: Path = MANIFEST) -> list[Path]:
    """Rewrites the vendored ABIs from ape's manifest; returns the files written."""
    types = json.loads(manifest.read_text())["contractTypes"]
    written = []
    folder = Path(str(resources.files(__name__)))  # a source checkout: the package is a folder
    for name in INDEXED:
        path = folder / f"{name}.json"
        path.write_text(json.dumps(types[name]["abi"], indent=1) + "\n")
        written.append(path)
    load.cache_clear()
    return written

"""Deploy and wire Peerlend's contracts with ape: used by `ape run deploy`, the demo and tests.

Order: [TestStablecoin on local chains] → IdentityRegistry → CreditOracle → LoanNote →
LoanBook → LoanLens (views over the book) → bind the note to the book → roles → parameters. Re-running against a chain that
already has a deployment record whose contracts still have code reuses them (idempotent).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eth_utils import is_address, to_checksum_address

from peerlend import deployments
from peerlend.settings import LOCAL_CHAIN_IDS
from peerlend.vocabulary import TERMS_FIELDS

# Parameter files live with the ape project (like contracts/ and .build/): relative to the
# working directory `ape run deploy` runs in, not to where this package is installed.
PARAMS_DIR = Path("deployments") / "params"


def load_params(name: str = "local") -> dict[str, Any]:
    path = Path(name) if name.endswith(".json") else PARAMS_DIR / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"no deployment parameters at {path}")
    return json.loads(path.read_text())


def _resolve(role: str, account_ref, test_accounts) -> str:
    """A role is an address, or (on local chains) an index into the test accounts."""
    if isinstance(account_ref, int) and test_accounts:
        return test_accounts[account_ref].address
    if not isinstance(account_ref, str) or not is_address(account_ref):
        raise ValueError(f"role {role}: {account_ref!r} is not an address (fill in the params file)")
    return to_checksum_address(account_ref)


def _abi_hash(contract) -> str:
    return deployments.abi_hash([entry.model_dump(mode="json") for entry in contract.contract_type.abi])


def _existing(project, chain, record: dict | None, name: str):
    if not record or name not in record.get("contracts", {}):
        return None
    address = record["contracts"][name]["address"]
    if chain.provider.get_code(address) in (b"", "0x", None):
        return None
    return getattr(project, name).at(address)


def _previous_record(chain_id: int, echo) -> dict[str, Any] | None:
    """The record to reuse on this chain, if it describes contracts of this release."""
    try:
        found = deployments.load_deployment(chain_id)
    except deployments.DeploymentNotFound:
        return None
    except deployments.DeploymentError as error:
        # A record from an older release (e.g. written before LoanLens existed): its contracts
        # are not this release's, so none of them is reused.
        echo(f"deploying afresh: {error}")
        return None
    if found.abi_mismatches:
        echo(
            f"deploying afresh: the recorded {', '.join(found.abi_mismatches)} have another ABI than this release"
        )
        return None
    return found.record


def deploy_all(deployer, params: dict[str, Any], *, reuse: bool = True, echo=print) -> dict[str, Any]:
    """Deploys (or reuses) every contract, wires roles and parameters, and returns the record."""
    from ape import accounts, chain, project

    chain_id = chain.chain_id
    previous = _previous_record(chain_id, echo) if reuse else None
    test_accounts = accounts.test_accounts if chain_id in LOCAL_CHAIN_IDS else []
    roles = {
        name: _resolve(name, ref, test_accounts)
        for name, ref in params["roles"].items()
        if not name.startswith("_")
    }
    start_block = previous["start_block"] if previous else chain.blocks.head.number
    contracts: dict[str, Any] = {}

    def get_or_deploy(name, *args):
        found = _existing(project, chain, previous, name)
        if found is not None:
            echo(f"{name}: reusing {found.address}")
            contracts[name] = found
            return found
        deployed = deployer.deploy(getattr(project, name), *args)
        echo(f"{name}: deployed {deployed.address}")
        contracts[name] = deployed
        return deployed

    tokens = []
    if chain_id in LOCAL_CHAIN_IDS:
        tokens.append(get_or_deploy("TestStablecoin"))
    for address in params.get("tokens", []):
        if not isinstance(address, str) or not is_address(address):
            raise ValueError(f"token {address!r} is not an address (fill in the params file)")
        if chain.provider.get_code(address) in (b"", "0x", None):
            raise ValueError(f"token {address} has no contract on chain {chain_id}")
        tokens.append(project.TestStablecoin.at(to_checksum_address(address)))  # any ERC-20: its ABI suffices

    identity = get_or_deploy("IdentityRegistry")
    oracle = get_or_deploy("CreditOracle")
    terms = params["terms"]
    book = _existing(project, chain, previous, "LoanBook")
    if book is not None:
        echo(f"LoanBook: reusing {book.address}")
    else:
        # The book creates its note collection from a LoanNote blueprint (ERC-5202), bound to it
        # in code: no set-up transaction, no storage read per mint.
        blueprint = deployer.declare(project.LoanNote, sender=deployer.address).contract_address
        book = deployer.deploy(
            project.LoanBook,
            blueprint,
            identity.address,
            oracle.address,
            roles["treasury"],
            tuple(terms[key] for key in TERMS_FIELDS),
        )
        echo(f"LoanBook: deployed {book.address} with its LoanNote collection")
    contracts["LoanBook"] = book
    contracts["LoanNote"] = project.LoanNote.at(book.notes())
    lens = get_or_deploy("LoanLens", book.address)
    if lens.book() != book.address:  # a lens left from an older book: read this one
        lens = contracts["LoanLens"] = deployer.deploy(project.LoanLens, book.address)
        echo(f"LoanLens: deployed {lens.address}")

    _grant(identity, identity.KYC_ATTESTER_ROLE(), roles["kyc_attester"], deployer)
    _grant(identity, identity.RISK_OFFICER_ROLE(), roles["risk_officer"], deployer)
    _grant(oracle, oracle.ORACLE_ROLE(), roles["oracle"], deployer)
    _grant(book, book.RISK_OFFICER_ROLE(), roles["risk_officer"], deployer)
    _grant(book, book.PAUSER_ROLE(), roles["pauser"], deployer)
    if list(oracle.grade_thresholds()) != params["grade_thresholds"]:
        oracle.set_grade_thresholds(params["grade_thresholds"], sender=deployer)
    if tuple(book.params()) != tuple(terms[key] for key in TERMS_FIELDS):
        book.set_params(tuple(terms[key] for key in TERMS_FIELDS), sender=deployer)

    for token in tokens:
        unit = 10 ** token.decimals()
        if not book.token_allowed(token.address):
            book.set_token_allowed(token.address, True, sender=deployer)
        limits = [
            (row["max_principal"] * unit, row["max_exposure"] * unit, row["min_apr_bps"])
            for row in params["grade_limits_units"]
        ]
        if [tuple(book.grade_limits(token.address, grade)) for grade in range(1, 6)] != limits:
            book.set_grade_limits(token.address, limits, sender=deployer)
        threshold = params["lender_kyc_threshold_units"] * unit
        if book.lender_kyc_threshold(token.address) != threshold:
            book.set_lender_kyc_threshold(token.address, threshold, sender=deployer)

    return {
        "chain_id": chain_id,
        "deployer": deployer.address,
        "start_block": start_block,
        "roles": roles,
        "tokens": [token.address for token in tokens],
        "contracts": {
            name: {"address": contract.address, "abi_hash": _abi_hash(contract)}
            for name, contract in contracts.items()
        },
    }


def _grant(contract, role, account, deployer) -> None:
    if not contract.hasRole(role, account):
        contract.grantRole(role, account, sender=deployer)

"""The shipped testnet template (deployments/params/sepolia.json) deploys: on an anvil that
poses as Sepolia (chain 11155111), with its FILL-IN blanks filled as an operator would."""

from __future__ import annotations

import copy

import pytest

from peerlend.deploy import deploy_all, load_params
from peerlend.devchain import Anvil
from peerlend.vocabulary import TERMS_FIELDS

SEPOLIA = 11_155_111


@pytest.fixture(scope="module")
def sepolia():
    from ape import networks
    from ape.api.networks import NetworkAPI

    # ape takes this anvil for Sepolia and would wait for 2 confirmations, polling at Sepolia's
    # 15 s block time, on a chain that only mines on demand: confirmations are not under test here.
    original = NetworkAPI.required_confirmations
    NetworkAPI.required_confirmations = property(lambda self: 0)
    try:
        with Anvil(chain_id=SEPOLIA) as node, networks.parse_network_choice(node.url) as provider:
            yield provider
    finally:
        NetworkAPI.required_confirmations = original


def filled(template: dict, roles: dict[str, str], token: str) -> dict:
    params = copy.deepcopy(template)
    params["roles"].update(roles)
    params["tokens"] = [token]
    params["notes_base_uri"] = "https://indexer.example/notes/"
    return params


def test_sepolia_template_deploys_once_filled_in(sepolia):
    from ape import accounts, chain, project

    assert chain.chain_id == SEPOLIA
    template = load_params("sepolia")
    test = accounts.test_accounts
    with pytest.raises(ValueError, match="role treasury: 'FILL-IN"):
        deploy_all(test[0], template, reuse=False, echo=lambda *_: None)

    token = test[0].deploy(project.TestStablecoin)  # stands in for the testnet's USDC
    names = ("treasury", "risk_officer", "pauser", "kyc_attester", "oracle")
    roles = {name: test[i].address for i, name in enumerate(names, start=1)}
    record = deploy_all(test[0], filled(template, roles, token.address), reuse=False, echo=lambda *_: None)

    assert record["chain_id"] == SEPOLIA
    assert "TestStablecoin" not in record["contracts"]  # no test token off local chains
    assert record["tokens"] == [token.address] and record["roles"] == roles
    book = project.LoanBook.at(record["contracts"]["LoanBook"]["address"])
    assert book.token_allowed(token.address)
    assert tuple(book.params()) == tuple(template["terms"][key] for key in TERMS_FIELDS)
    assert book.treasury() == roles["treasury"]
    assert book.hasRole(book.RISK_OFFICER_ROLE(), roles["risk_officer"])
    unit = 10 ** token.decimals()
    for grade, row in enumerate(template["grade_limits_units"], start=1):
        assert tuple(book.grade_limits(token.address, grade)) == (
            row["max_principal"] * unit, row["max_exposure"] * unit, row["min_apr_bps"]
        )  # fmt: skip

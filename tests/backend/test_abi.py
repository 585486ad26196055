"""The vendored ABIs (peerlend/abi) are the compiled contracts' ABIs, byte for byte, so the
indexer decodes what the contracts emit and its abi_hash equals the deployment record's."""

from __future__ import annotations

import pytest

from peerlend import abi
from peerlend.deployments import abi_hash, load_deployment


@pytest.mark.parametrize("name", abi.INDEXED)
def test_vendored_abi_is_the_compiled_abi(name):
    from ape import project

    compiled = [entry.model_dump(mode="json") for entry in getattr(project, name).contract_type.abi]
    assert abi.load(name) == compiled, (
        f"peerlend/abi/{name}.json is stale: run `ape compile && python -m peerlend.abi`"
    )


def test_everything_the_backend_uses_is_in_the_abi():
    for name, kinds in abi.USED.items():
        for kind, items in kinds.items():
            for item in items:
                assert abi.entry(name, kind, item)["name"] == item


def test_deployment_record_matches_vendored_abi(chain):
    deployment = load_deployment(31337, chain.deployments_dir / "31337.json")
    assert deployment.abi_mismatches == ()
    for name in abi.INDEXED:
        assert chain.record["contracts"][name]["abi_hash"] == abi_hash(abi.load(name))


def test_the_token_fragments_are_the_test_stablecoins_own():
    """The hand-written ERC-20 and TestStablecoin fragments (the token is not ours on a real
    chain, so its ABI is not vendored) call functions the compiled test token has, with its types."""
    from ape import project

    def signature(entry: dict) -> tuple:
        return (
            entry["name"],
            entry["stateMutability"],
            tuple(i["type"] for i in entry["inputs"]),
            tuple(o["type"] for o in entry["outputs"]),
        )

    compiled = {
        signature(entry.model_dump(mode="json"))
        for entry in project.TestStablecoin.contract_type.abi
        if entry.type == "function"
    }
    for fragments in (abi.ERC20, abi.TEST_STABLECOIN):
        assert {signature(entry) for entry in fragments} <= compiled

"""bench.load against a chain it did not start: attach by RPC URL and deployment record, load
it (twice), and leave the node running in the mining mode it had."""

from __future__ import annotations

import json

import pytest
from web3 import Web3

from bench.load import Loader, attach, deploy, main

pytestmark = pytest.mark.anvil


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    directory = tmp_path_factory.mktemp("deployments")
    started = deploy(accounts=30, directory=directory)
    try:
        yield started
    finally:
        started.anvil.stop()


def test_load_an_existing_chain_twice_and_keep_its_mining_mode(chain):
    w3 = Web3(Web3.HTTPProvider(chain.url))
    w3.provider.make_request("evm_setIntervalMining", [1])  # as `anvil --block-time 1`
    attached = attach(chain.url, chain.deployments_dir / "31337.json")
    assert attached.anvil is None and attached.record == chain.record

    before = w3.eth.block_number
    for _ in range(2):  # a second load renews the KYC identities and adds loans after the first
        result = Loader(attached.url, attached.record, echo=lambda *_: None).generate(600)
        assert result.events >= 600 and result.first_block > before
        assert result.by_name["LoanRequested"] == result.loans > 0
        before = result.last_block
    assert w3.provider.make_request("anvil_getAutomine", [])["result"] is False
    assert w3.provider.make_request("anvil_getIntervalMining", [])["result"] == 1
    w3.provider.make_request("evm_setIntervalMining", [0])
    w3.provider.make_request("evm_setAutomine", [True])


def test_attach_refuses_what_it_cannot_load(chain, tmp_path, capsys):
    with pytest.raises(ValueError, match="no deployment record for chain 31337 at"):
        attach(chain.url, tmp_path / "missing.json")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**chain.record, "chain_id": 1}))
    with pytest.raises(ValueError, match="is for chain 1, the RPC serves chain 31337"):
        attach(chain.url, other)
    partial = tmp_path / "partial.json"
    contracts = {k: v for k, v in chain.record["contracts"].items() if k != "TestStablecoin"}
    partial.write_text(json.dumps({**chain.record, "contracts": contracts}))
    with pytest.raises(ValueError, match="has no TestStablecoin"):
        attach(chain.url, partial)
    locked = {**chain.record, "roles": {**chain.record["roles"], "oracle": "0x" + "ab" * 20}}
    with pytest.raises(ValueError, match="does not hold the key of 0x"):
        Loader(chain.url, locked, echo=lambda *_: None)
    with pytest.raises(SystemExit, match="^bench.load: no JSON-RPC node answers at http://127.0.0.1:1"):
        main(["--rpc-url", "http://127.0.0.1:1"])

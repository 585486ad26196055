"""The deploy script, run as a user runs it, against a real anvil."""

from __future__ import annotations

import json
import os
import subprocess

from web3 import Web3

ERC20_ABI = json.loads(
    '[{"name":"decimals","type":"function","stateMutability":"view","inputs":[],"outputs":[{"type":"uint8","name":""}]},'
    '{"name":"symbol","type":"function","stateMutability":"view","inputs":[],"outputs":[{"type":"string","name":""}]}]'
)


def test_deploy_script_writes_deployment_file(anvil, tmp_path):
    env = dict(os.environ, APE_FOUNDRY_HOST=anvil.url, PEERLEND_DEPLOYMENTS_DIR=str(tmp_path))
    result = subprocess.run(
        ["ape", "run", "deploy", "--network", "ethereum:local:foundry"],
        env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]

    record = json.loads((tmp_path / "31337.json").read_text())
    address = record["contracts"]["TestStablecoin"]["address"]
    assert f"TestStablecoin: {address}" in result.stdout

    w3 = Web3(Web3.HTTPProvider(anvil.url))
    assert w3.eth.get_code(address) != b""
    token = w3.eth.contract(address=address, abi=ERC20_ABI)
    assert token.functions.decimals().call() == 6
    assert token.functions.symbol().call() == "tUSD"


def test_ape_connects_to_the_same_chain(ape_network, anvil):
    from ape import accounts, chain

    assert chain.chain_id == 31337
    assert accounts.test_accounts[0].address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert accounts.test_accounts[0].balance > 0

"""The deploy script, run as a user runs it, against a real anvil."""

from __future__ import annotations

import json
import os
import subprocess

from web3 import Web3

VIEW_ABI = json.loads(
    '[{"name":"decimals","type":"function","stateMutability":"view","inputs":[],"outputs":[{"type":"uint8","name":""}]},'
    '{"name":"symbol","type":"function","stateMutability":"view","inputs":[],"outputs":[{"type":"string","name":""}]},'
    '{"name":"book","type":"function","stateMutability":"view","inputs":[],"outputs":[{"type":"address","name":""}]},'
    '{"name":"token_allowed","type":"function","stateMutability":"view","inputs":[{"type":"address","name":"t"}],'
    '"outputs":[{"type":"bool","name":""}]}]'
)
NAMES = ("TestStablecoin", "IdentityRegistry", "CreditOracle", "LoanNote", "LoanBook", "LoanLens")


def run_deploy(anvil, directory):
    env = dict(os.environ, APE_FOUNDRY_HOST=anvil.url, PEERLEND_DEPLOYMENTS_DIR=str(directory))
    return subprocess.run(
        ["ape", "run", "deploy", "--network", "ethereum:local:foundry"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_deploy_script_writes_deployment_file_and_is_idempotent(anvil, tmp_path):
    result = run_deploy(anvil, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    record = json.loads((tmp_path / "31337.json").read_text())
    assert set(record["contracts"]) == set(NAMES)
    for name in NAMES:
        assert f"{name}: {record['contracts'][name]['address']}" in result.stdout

    w3 = Web3(Web3.HTTPProvider(anvil.url))
    address = {name: record["contracts"][name]["address"] for name in NAMES}
    for name in NAMES:
        assert w3.eth.get_code(address[name]) != b""
    token = w3.eth.contract(address=address["TestStablecoin"], abi=VIEW_ABI)
    assert (token.functions.decimals().call(), token.functions.symbol().call()) == (6, "tUSD")
    notes = w3.eth.contract(address=address["LoanNote"], abi=VIEW_ABI)
    assert notes.functions.book().call() == address["LoanBook"]
    book = w3.eth.contract(address=address["LoanBook"], abi=VIEW_ABI)
    assert book.functions.token_allowed(address["TestStablecoin"]).call()

    block_before = w3.eth.block_number
    again = run_deploy(anvil, tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "LoanBook: reusing" in again.stdout
    assert json.loads((tmp_path / "31337.json").read_text())["contracts"] == record["contracts"]
    assert w3.eth.block_number == block_before  # nothing to do: no transaction sent


def test_deploy_rejects_unknown_params_file(anvil, tmp_path):
    env = dict(os.environ, APE_FOUNDRY_HOST=anvil.url, PEERLEND_DEPLOYMENTS_DIR=str(tmp_path))
    result = subprocess.run(
        ["ape", "run", "deploy", "--network", "ethereum:local:foundry", "--params", "nope"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode != 0
    assert "no deployment parameters" in result.stdout + result.stderr

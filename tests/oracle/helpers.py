"""Shared helpers of the oracle service tests (tests/oracle/test_service_*.py): the real
credit model trained once, contracts deployed with peerlend.deploy on an anvil, signed
applications, and the service as a subprocess (`python -m oracle.service`)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from web3 import Web3

from oracle.service import signing
from oracle.service.abi import CREDIT_ORACLE_ABI
from oracle.service.settings import OracleSettings
from peerlend.devchain import ape_connected, test_account

ROOT = Path(__file__).resolve().parents[2]
CHAIN_ID = 31337
ORACLE_INDEX = 3  # deployments/params/local.json: roles.oracle

dev_account = test_account  # anvil's test account `index`, key included


# ---------------------------------------------------------------- model


def fields_for(i: int) -> dict[str, Any]:
    """A plausible application: every field of the lending_club application schema (the model
    keeps the ones it uses); i varies the numbers."""
    return {
        "funded_amnt": 10_000 + 500 * i,
        "term": "term_36" if i % 3 else "term_60",
        "verification_status": ("Verified", "Source_Verified", "Not_Verified")[i % 3],
        "annual_inc": 60_000.0 + 5_000 * i,
        "emp_length": "emp_5",
        "delinq_2yrs": i % 2,
        "inq_last_6mths": i % 3,
        "revol_util": 35.5 + i,
        "acc_now_delinq": 0,
        "open_il_6m": 1,
        "open_il_12m": i % 2,
        "open_il_24m": 1 + i % 3,
        "total_bal_il": 12_000 + 1_000 * i,
        "all_util": 40.0 + i,
        "inq_fi": i % 2,
        "inq_last_12m": 1 + i % 4,
        "delinq_amnt": 0.0,
        "num_il_tl": 4,
        "total_il_high_credit_limit": 30_000,
    }


def model_path(directory: Path) -> Path:
    """The real credit model trained into `directory` (oracle.model caches identical runs, so
    only the first call of a machine fits it)."""
    from oracle.model import train

    return Path(train(directory))


def scorer_for(path: Path):
    from oracle.model import load_model
    from oracle.service.scorer import Scorer

    return Scorer(load_model(path))


# ---------------------------------------------------------------- chain


def deploy(anvil_url: str, directory: Path) -> dict:
    """Deploys every contract with peerlend.deploy.deploy_all (ape attached to `anvil_url`) and
    writes deployments/31337.json into `directory`."""
    from peerlend import deployments
    from peerlend.deploy import deploy_all, load_params

    with ape_on(anvil_url):
        from ape import accounts

        record = deploy_all(
            accounts.test_accounts[0], load_params("local"), reuse=False, echo=lambda *_: None
        )
    deployments.save(record, directory)
    return record


ape_on = ape_connected  # ape connected to a running anvil


def oracle_contract(w3: Web3, record: dict):
    return w3.eth.contract(address=record["contracts"]["CreditOracle"]["address"], abi=CREDIT_ORACLE_ABI)


def after_cooldown(w3: Web3, record: dict, accounts) -> None:
    """Moves anvil's clock past the request cooldown of `accounts`, if one is still running."""
    oracle = oracle_contract(w3, record)
    ready = max(oracle.functions.next_request_at(a.address).call() for a in accounts)
    if ready > w3.eth.get_block("latest")["timestamp"]:
        w3.provider.make_request("evm_setNextBlockTimestamp", [ready])
        w3.provider.make_request("evm_mine", [])


def request_score(w3: Web3, record: dict, account) -> dict:
    """`account` calls CreditOracle.request_score() (anvil's accounts are unlocked), after its
    cooldown if a previous request is that recent."""
    after_cooldown(w3, record, [account])
    tx = oracle_contract(w3, record).functions.request_score().transact({"from": account.address})
    return w3.eth.wait_for_transaction_receipt(tx)


def score_updates(w3: Web3, record: dict) -> list:
    """Every ScoreUpdated log of the deployment, oldest first."""
    oracle = oracle_contract(w3, record)
    return oracle.events.ScoreUpdated.get_logs(from_block=record["start_block"], to_block="latest")


def settings_for(anvil_url: str, deployments_dir: Path, db: Path, model: Path, **extra) -> OracleSettings:
    values = {
        "rpc_url": anvil_url,
        "deployments_dir": deployments_dir,
        "db_url": f"sqlite:///{db}",
        "model_path": model,
        "confirmations": 0,
        "poll_interval": 0.1,
        "backoff_base": 0.05,
        "backoff_max": 0.5,
        "receipt_wait_seconds": 5,
        **extra,
    }
    return OracleSettings(**values)


def signed_payload(account, fields: dict, nonce: int, issued_at: int | None = None, scheme="eip712") -> dict:
    issued_at = int(time.time()) if issued_at is None else issued_at
    return {
        "address": account.address,
        "fields": fields,
        "nonce": nonce,
        "issued_at": issued_at,
        "scheme": scheme,
        "signature": signing.sign(account, scheme, CHAIN_ID, fields, nonce, issued_at),
    }


# ---------------------------------------------------------------- subprocess


def service_env(anvil_url: str, deployments_dir: Path, db: Path, model: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEERLEND_ORACLE_")}
    env.update(
        PYTHONPATH=str(ROOT),
        PEERLEND_ORACLE_RPC_URL=anvil_url,
        PEERLEND_ORACLE_DEPLOYMENTS_DIR=str(deployments_dir),
        PEERLEND_ORACLE_DB_URL=f"sqlite:///{db}",
        PEERLEND_ORACLE_MODEL_PATH=str(model),
        PEERLEND_ORACLE_CONFIRMATIONS="0",
        PEERLEND_ORACLE_POLL_INTERVAL="0.1",
        PEERLEND_ORACLE_BACKOFF_BASE="0.05",
        PEERLEND_ORACLE_BACKOFF_MAX="0.5",
        **extra,
    )
    return env


def start_service(env: dict[str, str], *args: str, log_path: Path) -> subprocess.Popen:
    handle = open(log_path, "ab")  # noqa: SIM115 - closed by the caller via the process
    return subprocess.Popen(
        [sys.executable, "-m", "oracle.service", *args],
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )

"""Fills a chain with ≥ 20,000 Peerlend events, fast; and streams transactions at a steady rate.

    python -m bench.load                    # 20,000 events on a fresh anvil, then stop it
    python -m bench.load --events 5000
    python -m bench.load --rpc-url http://127.0.0.1:8545 [--deployment deployments/31337.json]
                                            # load a chain someone else deployed; leave it running

The chain is either a fresh anvil started here (`deploy`) or an existing one (`attach`): any
node with anvil's development methods (`evm_mine`, `evm_setAutomine`, `evm_increaseTime`,
`txpool_status`) whose deployment record names its contracts, and whose unlocked accounts
include the record's deployer (it mints tUSD), KYC attester and oracle key. The other unlocked
accounts become borrowers and lenders. Its mining mode (automine or interval) is put back
when the load ends.

How it is fast: the contracts are deployed with `deploy_all` (ape), then anvil's automine is
switched off and transactions go straight to its JSON-RPC as `eth_sendTransaction` from the
unlocked test accounts, `TXS_PER_BLOCK` per JSON-RPC batch, each batch followed by one
`evm_mine`. No receipt is awaited: a phase (all requests, all fundings, ...) is checked at its
end by counting its events with one `eth_getLogs`, which also maps the new loan and note ids.
web3's `contract.functions.f().transact()` with automine managed 28 tx/s here (`attest`,
2,000 transactions: web3's formatting, one HTTP round trip and one mined block per transaction;
anvil's per-block cost grows with the chain). Calldata is encoded here with eth_abi and sent in
batches instead: 20,000 events take ≈ 25–50 s on 2 cores, most of it inside anvil.

A round of the load, for `loans` loan requests (many borrowers, small principals, so grade
limits and exposure caps never bind):
  KYC attestations and score pushes → requests (LoanRequested + LoanTerms) → 1–3 fundings each
  (LoanFunded + the note's Transfer, LoanFullyFunded on the last; every 20th request stays
  partly funded, every 25th is cancelled and refunded) → +1 day → disbursements → repayments
  (every 4th repaid in full) → claims → note transfers → +62 days → defaults and recoveries.
Every block holds `TXS_PER_BLOCK` transactions (≈ 80 events): a busy protocol, not one event
per block.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import event_abi_to_log_topic, function_abi_to_4byte_selector, keccak, to_checksum_address

from peerlend.vocabulary import DAY

UNIT = 10**6
MAX = 2**256 - 1
TXS_PER_BLOCK = 50
GAS_PRICE = 20 * 10**9
INDEXED = ("LoanBook", "LoanNote", "IdentityRegistry", "CreditOracle")
# Gas limit per call (generous; a block is mined until the pool is empty, so limits only
# decide how many transactions fit one block).
GAS = {
    "mint": 150_000, "approve": 100_000, "attest": 200_000, "push_scores": 6_000_000, "request_loan": 800_000,
    "fund": 800_000, "cancel": 300_000, "refund": 400_000, "disburse": 800_000, "repay": 1_500_000,
    "repay_in_full": 800_000, "claim": 300_000, "transferFrom": 200_000, "mark_default": 800_000,
    "deposit_reserve": 200_000,
}  # fmt: skip
# Roles of anvil's test accounts on a local chain (deployments/params/local.json), used when a
# deployment record does not name them.
ADMIN, OFFICER, ATTESTER, ORACLE, TREASURY = 0, 1, 2, 3, 9
FIRST_USER = 10
MIN_USERS = 8


def _abi(name: str) -> list[dict[str, Any]]:
    from peerlend import abi

    return abi.TEST_STABLECOIN if name == "TestStablecoin" else abi.load(name)


class Fn:
    """One contract function: selector and argument types, encoded with eth_abi (no web3 formatting)."""

    def __init__(self, address: str, entry: dict[str, Any]):
        self.address = address
        self.name = entry["name"]
        self.types = [item["type"] for item in entry["inputs"]]
        self.selector = function_abi_to_4byte_selector(entry)

    def data(self, *args) -> str:
        return "0x" + (self.selector + abi_encode(self.types, list(args))).hex()


class Contract:
    def __init__(self, name: str, address: str):
        self.name, self.address = name, to_checksum_address(address)
        self.abi = _abi(name)
        self.fns: dict[str, Fn] = {}
        for e in self.abi:  # an overloaded name (a Vyper default argument) keeps its shortest form
            if e.get("type") == "function":
                self.fns.setdefault(e["name"], Fn(self.address, e))
        self.topics = {
            "0x" + event_abi_to_log_topic(e).hex(): e for e in self.abi if e.get("type") == "event"
        }

    def __getattr__(self, name: str) -> Fn:
        try:
            return self.__dict__["fns"][name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass
class Chain:
    """A chain with Peerlend deployed; `deployments_dir` holds its deployment record. `anvil` is
    the node this module started (None for a chain it attached to: never stopped here)."""

    anvil: Any
    url: str
    record: dict[str, Any]
    deployments_dir: Path
    deploy_seconds: float = 0.0


def attach(url: str, deployment: Path | None = None) -> Chain:
    """An existing chain at `url` with its deployment record: `deployment`, or else
    `<deployments dir>/<chain id>.json` (`peerlend.deployments.load_deployment`). Raises
    ValueError (one line) if the node, the record or a contract is missing."""
    from web3 import Web3

    from peerlend import deployments

    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))
    try:
        chain_id = w3.eth.chain_id
    except Exception as error:
        raise ValueError(f"no JSON-RPC node answers at {url}: {type(error).__name__}") from None
    try:
        loaded = deployments.load_deployment(chain_id, deployment)
    except deployments.DeploymentNotFound as error:
        raise ValueError(f"{error}, or pass --deployment" if deployment is None else str(error)) from None
    except deployments.DeploymentError as error:
        raise ValueError(str(error)) from None
    record, directory = loaded.record, loaded.path.parent
    if "TestStablecoin" not in record["contracts"]:
        raise ValueError(f"{loaded.path} has no TestStablecoin (the load mints it)")
    return Chain(None, url, record, directory)


def deploy(accounts: int = 100, directory: Path | None = None) -> Chain:
    """Starts anvil with `accounts` unlocked accounts and deploys Peerlend with `deploy_all`."""
    import tempfile

    from peerlend import deployments
    from peerlend.devchain import Anvil, ape_connected

    started = time.perf_counter()
    node = Anvil(accounts=accounts).start()
    try:
        from ape import accounts as ape_accounts
        from ape.logging import logger

        from peerlend.deploy import deploy_all, load_params

        level = logger.level
        logger.set_level("WARNING")
        try:
            with ape_connected(node.url):
                record = deploy_all(
                    ape_accounts.test_accounts[0], load_params("local"), reuse=False, echo=lambda *_: None
                )
        finally:
            logger.set_level(level)
    except BaseException:
        node.stop()
        raise
    directory = directory or Path(tempfile.mkdtemp(prefix="peerlend-bench-deploy-"))
    deployments.save(record, directory)
    return Chain(node, node.url, record, directory, time.perf_counter() - started)


@dataclass
class LoadResult:
    events: int
    by_name: dict[str, int]
    transactions: int
    blocks: int
    seconds: float
    loans: int
    borrowers: list[str]
    lenders: list[str]
    active_loans: list[int] = field(default_factory=list)
    note_owner: dict[int, str] = field(default_factory=dict)
    note_loan: dict[int, int] = field(default_factory=dict)
    first_block: int = 0
    last_block: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "transactions": self.transactions,
            "blocks": self.blocks,
            "loans": self.loans,
            "borrowers": len(self.borrowers),
            "lenders": len(self.lenders),
            "seconds": round(self.seconds, 1),
            "events_per_second": round(self.events / self.seconds) if self.seconds else None,
            "by_event": dict(sorted(self.by_name.items(), key=lambda kv: -kv[1])),
        }


class RpcError(RuntimeError):
    pass


class Loader:
    """Sends Peerlend transactions to anvil in JSON-RPC batches, `TXS_PER_BLOCK` per mined block."""

    def __init__(self, url: str, record: dict[str, Any], txs_per_block: int = TXS_PER_BLOCK, echo=print):
        from web3 import Web3

        self.url = url
        self.w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 120}))
        self.provider = self.w3.provider
        self.txs_per_block = txs_per_block
        self.echo = echo
        c = {name: Contract(name, entry["address"]) for name, entry in record["contracts"].items()}
        self.token, self.book, self.notes = c["TestStablecoin"], c["LoanBook"], c["LoanNote"]
        self.identity, self.oracle = c["IdentityRegistry"], c["CreditOracle"]
        self.indexed = {c[name].address.lower(): c[name] for name in INDEXED}
        self.accounts = [to_checksum_address(a) for a in self.call("eth_accounts", [])]
        self.admin, self.attester, self.oracle_key = self._roles(record)
        free = [a for a in self.accounts if a not in self._role_holders(record)]
        # On anvil the first FIRST_USER accounts are spare (0-3 and 9 hold the roles): users
        # start at FIRST_USER, as on the fresh chain. A node with fewer accounts uses them all.
        spare = [a for a in free if self.accounts.index(a) < FIRST_USER]
        users = [a for a in free if a not in spare]
        if len(users) < MIN_USERS:
            users = free[1:]
            spare = free[:1]
        if len(users) < MIN_USERS or not spare:
            raise ValueError(
                f"need at least {MIN_USERS + 1} unlocked accounts besides the deployment's roles, got {len(free)}"
            )
        # `anyone` sends the calls anyone may make (disburse, mark_default); `payer` repays for
        # borrowers in the stream
        self.anyone, self.payer = spare[0], spare[min(1, len(spare) - 1)]
        half = max(4, len(users) * 5 // 9)
        self.borrowers, self.lenders = users[:half], users[half:]
        self.nonces: dict[str, int] = {}
        self.sent = 0
        self.loan_borrower: dict[int, str] = {}
        self.loan_principal: dict[int, int] = {}
        self.note_owner: dict[int, str] = {}
        self.note_loan: dict[int, int] = {}
        self.by_name: Counter[str] = Counter()
        self.active: list[int] = []

    def _role_holders(self, record: dict[str, Any]) -> set[str]:
        """Every account the deployment gave a role (or, without a record of roles, anvil's
        first FIRST_USER accounts): never used as a borrower or lender."""
        roles = record.get("roles")
        if not roles:
            return set(self.accounts[:FIRST_USER])
        named = [record.get("deployer"), *roles.values()]
        return {to_checksum_address(a) for a in named if isinstance(a, str)}

    def _roles(self, record: dict[str, Any]) -> tuple[str, str, str]:
        """(token owner and admin, KYC attester, oracle key) from the record, else anvil's indexes."""
        roles = record.get("roles") or {}
        if record.get("deployer") and roles.get("kyc_attester") and roles.get("oracle"):
            wanted = [
                to_checksum_address(a) for a in (record["deployer"], roles["kyc_attester"], roles["oracle"])
            ]
        elif len(self.accounts) > FIRST_USER:
            wanted = [self.accounts[ADMIN], self.accounts[ATTESTER], self.accounts[ORACLE]]
        else:
            raise ValueError(
                f"the deployment record names no roles and the node has {len(self.accounts)} accounts"
            )
        locked = [a for a in wanted if a not in self.accounts]
        if locked:
            raise ValueError(f"the node does not hold the key of {', '.join(locked)} (a role the load needs)")
        return wanted[0], wanted[1], wanted[2]

    # ------------------------------------------------------------------ JSON-RPC

    def call(self, method: str, params: list[Any]) -> Any:
        response = self.provider.make_request(method, params)
        if response.get("error"):
            raise RpcError(f"{method}: {response['error']}")
        return response["result"]

    def block_number(self) -> int:
        return int(self.call("eth_blockNumber", []), 16)

    def nonce(self, sender: str) -> int:
        if sender not in self.nonces:
            self.nonces[sender] = int(self.call("eth_getTransactionCount", [sender, "pending"]), 16)
        value = self.nonces[sender]
        self.nonces[sender] = value + 1
        return value

    def tx(self, sender: str, fn: Fn, *args) -> dict[str, str]:
        return {
            "from": sender,
            "to": fn.address,
            "data": fn.data(*args),
            "gas": hex(GAS[fn.name]),
            "gasPrice": hex(GAS_PRICE),
            "nonce": hex(self.nonce(sender)),
        }

    def send(self, txs: list[dict[str, str]]) -> None:
        """Sends `txs` and mines them, `txs_per_block` per block; waits for nothing else."""
        for i in range(0, len(txs), self.txs_per_block):
            chunk = txs[i : i + self.txs_per_block]
            responses = self.provider.make_batch_request([("eth_sendTransaction", [tx]) for tx in chunk])
            errors = [r["error"] for r in responses if r.get("error")]
            if errors:
                raise RpcError(f"eth_sendTransaction: {errors[0]} ({len(errors)} of {len(chunk)} failed)")
            self.call("evm_mine", [])
            # A chunk whose gas limits exceed the block's stays partly pending: mine the rest.
            while int(self.call("txpool_status", [])["pending"], 16):
                self.call("evm_mine", [])
            self.sent += len(chunk)

    def mining_mode(self) -> tuple[bool, int]:
        """(automine, interval seconds) of the node, to put back after the load. Nodes without
        anvil's getters count as automining."""
        response = self.provider.make_request("anvil_getAutomine", [])
        automine = bool(response.get("result", True)) if not response.get("error") else True
        response = self.provider.make_request("anvil_getIntervalMining", [])
        interval = int(response.get("result") or 0) if not response.get("error") else 0
        return automine, interval

    def restore_mining(self, mode: tuple[bool, int]) -> None:
        automine, interval = mode
        self.call("evm_setAutomine", [automine])
        if interval:
            self.call("evm_setIntervalMining", [interval])

    def advance(self, seconds: int) -> None:
        self.call("evm_increaseTime", [seconds])
        self.call("evm_mine", [])

    def logs(self, from_block: int, to_block: int | None = None) -> list[dict[str, Any]]:
        to_block = self.block_number() if to_block is None else to_block
        out = []
        step = 2_000
        for start in range(from_block, to_block + 1, step):
            end = min(to_block, start + step - 1)
            out += self.call(
                "eth_getLogs",
                [{"fromBlock": hex(start), "toBlock": hex(end), "address": list(self.indexed)}],
            )
        return out

    def decode(self, log: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """(event name, {name: value}) for the few events whose ids the load needs."""
        contract = self.indexed[log["address"].lower()]
        entry = contract.topics[log["topics"][0]]
        args: dict[str, Any] = {}
        topics = iter(log["topics"][1:])
        plain = [i for i in entry["inputs"] if not i.get("indexed")]
        data = bytes.fromhex(log["data"][2:])
        from eth_abi import decode as abi_decode

        values = iter(abi_decode([i["type"] for i in plain], data)) if plain else iter(())
        for item in entry["inputs"]:
            if item.get("indexed"):
                word = bytes.fromhex(next(topics)[2:])
                args[item["name"]] = (
                    to_checksum_address(word[12:])
                    if item["type"] == "address"
                    else int.from_bytes(word, "big")
                )
            else:
                args[item["name"]] = next(values)
        return entry["name"], args

    def phase(self, label: str, txs: list[dict[str, str]], expect: tuple[str, int] | None = None):
        """Sends one phase's transactions; checks its key event count; returns its logs decoded."""
        start = self.block_number() + 1
        began = time.perf_counter()
        self.send(txs)
        logs = self.logs(start) if txs else []
        names = Counter()
        decoded = []
        for log in logs:
            name, args = self.decode(log)
            names[name] += 1
            decoded.append((name, args))
        self.by_name.update(names)
        if expect is not None and names[expect[0]] != expect[1]:
            raise RuntimeError(
                f"load phase {label}: expected {expect[1]} {expect[0]} events, got {names[expect[0]]} "
                "(some transactions reverted)"
            )
        self.echo(
            f"  load: {label:<12} {len(txs):>6,} txs {sum(names.values()):>6,} events "
            f"{time.perf_counter() - began:5.1f} s"
        )
        return decoded

    # ------------------------------------------------------------------ the load

    def setup(self) -> None:
        """Money, approvals and KYC for every borrower and lender; scores for the borrowers."""
        admin = self.admin
        txs = []
        for i, account in enumerate(self.borrowers + self.lenders):
            txs.append(
                self.tx(
                    admin,
                    self.token.mint,
                    account,
                    (10_000_000 if i < len(self.borrowers) else 100_000_000) * UNIT,
                )
            )
            txs.append(self.tx(account, self.token.approve, self.book.address, MAX))
        txs.append(self.tx(admin, self.token.mint, admin, 10_000_000 * UNIT))
        txs.append(self.tx(admin, self.token.approve, self.book.address, MAX))
        self.send(txs)
        txs = [self.kyc(account) for account in self.borrowers + self.lenders]
        self.phase("kyc", txs, ("Attested", len(txs)))
        reserve = [self.tx(admin, self.book.deposit_reserve, self.token.address, 1_000_000 * UNIT)]
        self.phase("reserve", reserve, ("ReserveDeposited", 1))
        self.scores()

    def kyc(self, account: str) -> dict[str, str]:
        # one identity per account, the same in every run: loading a chain again renews it
        identity = keccak(b"bench-identity" + bytes.fromhex(account[2:]))
        expires_at = 2**40 - 1  # the latest expiry the registry can store
        return self.tx(self.attester, self.identity.attest, account, identity, expires_at)

    def scores(self) -> None:
        """Grades A–C (exposure caps of 20,000–100,000 units: never binding at these principals)."""
        values = [(790, 720, 660)[i % 3] for i in range(len(self.borrowers))]
        txs = [
            self.tx(
                self.oracle_key,
                self.oracle.push_scores,
                self.borrowers[i : i + 50],
                values[i : i + 50],
                b"\x42" * 32,
                365 * DAY,
            )  # fmt: skip
            for i in range(0, len(self.borrowers), 50)
        ]
        self.phase("scores", txs, ("ScoreUpdated", len(self.borrowers)))

    def round(self, loans: int) -> None:
        """One full lifecycle round over `loans` new requests."""
        book = self.book
        first = (
            int(self.call("eth_call", [{"to": book.address, "data": book.loan_count.data()}, "latest"]), 16)
            + 1
        )
        # Requests: principals of 50–500 units, 1–12 installments, all four schedule methods.
        txs = []
        for k in range(loans):
            i = first + k
            borrower = self.borrowers[i % len(self.borrowers)]
            principal = (50 + 50 * (i * 7 % 10)) * UNIT
            method = i % 4
            txs.append(self.tx(borrower, book.request_loan, self.token.address, principal, 1_200 + 100 * (i % 12),
                               1 + i % 12, 30 * DAY, method, 7 * DAY))  # fmt: skip
        for name, args in self.phase("requests", txs, ("LoanRequested", loans)):
            if name == "LoanRequested":
                self.loan_borrower[args["loan_id"]] = args["borrower"]
                self.loan_principal[args["loan_id"]] = args["principal"]
        ids = list(range(first, first + loans))
        assert all(i in self.loan_borrower for i in ids), "loan ids are not contiguous"

        # Fundings: 1–3 lenders each; every 20th stays partly funded, every 25th gets cancelled.
        txs, partial, cancelled = [], [], []
        for i in ids:
            principal = self.loan_principal[i]
            lenders = 1 + i % 3
            short = i % 20 == 0 or i % 25 == 0
            part = principal // (lenders + 1) if short else principal // lenders
            for j in range(lenders):
                # Exact parts (the last takes the rounding): the block may order them any way.
                lender = self.lenders[(i * 3 + j) % len(self.lenders)]
                last = j == lenders - 1 and not short
                txs.append(self.tx(lender, book.fund, i, principal - part * j if last else part))
            if i % 25 == 0:
                cancelled.append(i)
            elif i % 20 == 0:
                partial.append(i)
        funded = self.phase("fundings", txs, ("LoanFunded", len(txs)))
        for name, args in funded:
            if name == "LoanFunded":
                self.note_owner[args["note_id"]] = args["lender"]
                self.note_loan[args["note_id"]] = args["loan_id"]

        # Cancel (borrower) and refund every note of the cancelled requests.
        txs = [self.tx(self.loan_borrower[i], book.cancel, i) for i in cancelled]
        cancelled_set = set(cancelled)
        cancelled_notes = [n for n, loan in self.note_loan.items() if loan in cancelled_set]
        txs += [self.tx(self.note_owner[n], book.refund, n) for n in cancelled_notes]
        self.phase("cancel+refund", txs, ("NoteRefunded", len(cancelled_notes)))
        for n in cancelled_notes:
            self.note_owner.pop(n)

        # Review window over: disburse every fully funded loan.
        self.advance(DAY + 60)
        skipped = set(partial) | cancelled_set
        full = [i for i in ids if i not in skipped]
        self.phase(
            "disburse",
            [self.tx(self.anyone, book.disburse, i) for i in full],
            ("LoanDisbursed", len(full)),
        )

        # Repayments: every 4th in full, every 10th not at all (they will default), others a tenth.
        unpaid = [i for i in full if i % 10 == 3 and i % 4 != 3]  # not bullets: due after one period
        in_full = [i for i in full if i % 4 == 1 and i % 10 != 3]
        other = set(in_full) | set(unpaid)
        partly = [i for i in full if i not in other]
        txs = [self.tx(self.loan_borrower[i], book.repay_in_full, i) for i in in_full]
        txs += [self.tx(self.loan_borrower[i], book.repay, i, self.loan_principal[i] // 10) for i in partly]
        self.phase("repayments", txs, ("Repayment", len(txs)))

        # Claims: every note of loans repaid in full, every other note of the others.
        notes_of: dict[int, list[int]] = {}
        for n, loan in self.note_loan.items():
            notes_of.setdefault(loan, []).append(n)
        claims = [n for i in in_full for n in notes_of[i]]
        claims += [n for i in partly for n in notes_of[i] if n % 2 == 0]
        self.phase(
            "claims", [self.tx(self.note_owner[n], book.claim, n) for n in claims], ("Claimed", len(claims))
        )

        # Note transfers (secondary sales) of notes of still-active loans.
        txs = []
        for i in partly:
            for n in notes_of[i]:
                if n % 3 == 0:
                    owner = self.note_owner[n]
                    buyer = self.lenders[(self.lenders.index(owner) + 1) % len(self.lenders)]
                    txs.append(self.tx(owner, self.notes.transferFrom, owner, buyer, n))
                    self.note_owner[n] = buyer
        self.phase("transfers", txs, ("Transfer", len(txs)))

        # Two periods later the unpaid loans are in default; half of them recover a little.
        self.advance(62 * DAY)
        self.phase("defaults", [self.tx(self.anyone, book.mark_default, i) for i in unpaid],
                   ("LoanDefaulted", len(unpaid)))  # fmt: skip
        recovering = unpaid[::2]
        txs = [self.tx(self.loan_borrower[i], book.repay, i, self.loan_principal[i] // 5) for i in recovering]
        self.phase("recoveries", txs, ("Recovery", len(txs)))
        self.active += partly
        # Scores are refreshed every round (the oracle's job): they would expire otherwise.
        self.scores()

    def generate(self, target_events: int, events_per_loan: float = 10.5) -> LoadResult:
        began = time.perf_counter()
        first_block = self.block_number() + 1
        mode = self.mining_mode()
        self.call("evm_setAutomine", [False])
        try:
            self.setup()
            while sum(self.by_name.values()) < target_events:
                missing = target_events - sum(self.by_name.values())
                self.round(max(20, int(missing / events_per_loan) + 1))
        finally:
            self.restore_mining(mode)
        seconds = time.perf_counter() - began
        last_block = self.block_number()
        return LoadResult(
            events=sum(self.by_name.values()),
            by_name=dict(self.by_name),
            transactions=self.sent,
            blocks=last_block - first_block + 1,
            seconds=seconds,
            loans=len(self.loan_borrower),
            borrowers=list(self.borrowers),
            lenders=list(self.lenders),
            active_loans=list(self.active),
            note_owner=dict(self.note_owner),
            note_loan=dict(self.note_loan),
            first_block=first_block,
            last_block=last_block,
        )


class Streamer:
    """Live traffic at a steady rate from where `Loader.generate` left the chain: new requests
    and their fundings, repayments of active (by now overdue) loans, claims, note transfers and
    KYC attestations. anvil mines every `block_time` seconds (interval mining), so a
    transaction that depends on another one is sent only once its parent can have been mined."""

    def __init__(self, loader: Loader, result: LoadResult, block_time: int = 1):
        self.loader = loader
        self.result = result
        self.block_time = block_time
        self.delay = 2 * block_time + 0.2
        self.sent = 0
        self.cursor = 0
        self.funds: list[tuple[float, int, int]] = []  # (ready at, loan id, amount)
        self.claims: list[tuple[float, int]] = []  # (ready at, note id)
        self.busy: dict[int, float] = {}  # note id -> not before
        self.next_loan = 1 + int(
            loader.call(
                "eth_call", [{"to": loader.book.address, "data": loader.book.loan_count.data()}, "latest"]
            ),
            16,
        )
        self.active = list(result.active_loans)
        self.notes_of: dict[int, list[int]] = {}
        for n, loan in result.note_loan.items():
            if n in result.note_owner:
                self.notes_of.setdefault(loan, []).append(n)

    def _next(self, now: float) -> dict[str, str]:
        lo, book, owners = self.loader, self.loader.book, self.result.note_owner
        self.cursor += 1
        step = self.cursor % 10
        if step in (1, 2, 4, 5) and self.funds and self.funds[0][0] <= now:
            _, loan_id, amount = self.funds.pop(0)
            return lo.tx(lo.lenders[(loan_id * 2 + step) % len(lo.lenders)], book.fund, loan_id, amount)
        if step in (0, 3):
            # Same principal for every streamed request, funded in two exact halves: which
            # request of a block gets which id does not matter.
            loan_id, self.next_loan = self.next_loan, self.next_loan + 1
            borrower = lo.borrowers[3 * (loan_id % max(1, len(lo.borrowers) // 3))]
            self.funds += [(now + self.delay, loan_id, 50 * UNIT)] * 2
            return lo.tx(
                borrower, book.request_loan, lo.token.address, 100 * UNIT, 1_500, 6, 30 * DAY, 0, 7 * DAY
            )
        if (
            step == 6
            and self.claims
            and self.claims[0][0] <= now
            and self.busy.get(self.claims[0][1], 0) <= now
        ):
            _, n = self.claims.pop(0)
            self.busy[n] = now + self.delay
            return lo.tx(owners[n], book.claim, n)
        if step == 7 and self.active:
            loan_id = self.active[self.cursor % len(self.active)]
            for n in self.notes_of.get(loan_id, []):
                if self.busy.get(n, 0) <= now:
                    owner = owners[n]
                    buyer = lo.lenders[(lo.lenders.index(owner) + 1) % len(lo.lenders)]
                    owners[n] = buyer
                    self.busy[n] = now + self.delay
                    return lo.tx(owner, lo.notes.transferFrom, owner, buyer, n)
        if step == 9 and self.active:
            loan_id = self.active.pop(0)
            self.active.append(loan_id)
            self.claims += [(now + self.delay, n) for n in self.notes_of.get(loan_id, [])[:1]]
            return lo.tx(lo.payer, book.repay, loan_id, 2 * UNIT)
        return lo.kyc(to_checksum_address(f"0x{0xB0B0 << 140 | self.cursor:040x}"))

    def run(self, rate: float, seconds: float, stop=None) -> dict[str, Any]:
        """Sends `rate` transactions per second for `seconds`, anvil mining every `block_time` s."""
        lo = self.loader
        lo.call("evm_setAutomine", [False])
        payer = lo.payer  # repays for the borrowers (anyone may)
        lo.send([lo.tx(lo.admin, lo.token.mint, payer, 10_000_000 * UNIT),
                 lo.tx(payer, lo.token.approve, lo.book.address, MAX)])  # fmt: skip
        lo.call("evm_setIntervalMining", [max(1, round(self.block_time))])
        began = time.perf_counter()
        first = lo.block_number()
        errors = 0
        try:
            while True:
                elapsed = time.perf_counter() - began
                if elapsed >= seconds or (stop is not None and stop.is_set()):
                    break
                while self.sent < int(elapsed * rate) + 1:
                    response = lo.provider.make_request(
                        "eth_sendTransaction", [self._next(time.perf_counter())]
                    )
                    errors += bool(response.get("error"))
                    self.sent += 1
                time.sleep(max(0.0, self.sent / rate - (time.perf_counter() - began)))
            time.sleep(self.block_time * 1.5)  # the last transactions get mined
        finally:
            lo.call("evm_setIntervalMining", [0])
            lo.call("evm_setAutomine", [True])
        last = lo.block_number()
        return {
            "transactions": self.sent,
            "send_errors": errors,
            "seconds": round(time.perf_counter() - began, 2),
            "blocks": last - first,
            "first_block": first,
            "last_block": last,
        }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--events", type=int, default=20_000, help="Peerlend events to generate (default 20,000)"
    )
    parser.add_argument(
        "--accounts", type=int, default=100, help="accounts of the fresh anvil (≥ 18; 10+ are users)"
    )
    parser.add_argument("--txs-per-block", type=int, default=TXS_PER_BLOCK)
    parser.add_argument(
        "--rpc-url", help="load this existing chain instead of a fresh anvil (it is left running)"
    )
    parser.add_argument(
        "--deployment",
        type=Path,
        help="with --rpc-url: its deployment record (default deployments/<chain id>.json)",
    )
    args = parser.parse_args(argv)
    if args.deployment is not None and args.rpc_url is None:
        parser.error("--deployment needs --rpc-url")
    try:
        chain = attach(args.rpc_url, args.deployment) if args.rpc_url else deploy(args.accounts)
    except ValueError as error:
        raise SystemExit(f"bench.load: {error}") from None
    try:
        if chain.anvil is not None:
            print(f"anvil at {chain.url}, deployed in {chain.deploy_seconds:.1f} s")
        else:
            print(f"chain {chain.record['chain_id']} at {chain.url}, deployment from {chain.deployments_dir}")
        try:
            loader = Loader(chain.url, chain.record, args.txs_per_block)
        except ValueError as error:
            raise SystemExit(f"bench.load: {error}") from None
        result = loader.generate(args.events)
        print(
            f"generated {result.events:,} Peerlend events ({result.transactions:,} transactions, "
            f"{result.blocks:,} blocks {result.first_block}..{result.last_block}, {result.loans:,} loans) "
            f"in {result.seconds:.1f} s = {result.events / result.seconds:,.0f} events/s"
        )
        for name, count in result.summary()["by_event"].items():
            print(f"  {name:<18} {count:>7,}")
    finally:
        if chain.anvil is not None:  # only what this run started
            chain.anvil.stop()
            import shutil

            shutil.rmtree(chain.deployments_dir, ignore_errors=True)


if __name__ == "__main__":
    main()

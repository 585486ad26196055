"""Pushing scores on-chain in batches, exactly once, across crashes and restarts.

One batch is one `push_scores(accounts, scores, model, ttl)` transaction from the oracle key.
The order of operations is what makes it exactly-once:

1. Pick up to `batch_size` accounts with queued requests and score them.
2. Build the transaction (nonce = the key's *pending* transaction count, gas = estimate ×
   `gas_multiplier`, EIP-1559 fees) and sign it locally.
3. In ONE database transaction: insert the `oracle_push` row with the signed raw transaction,
   its hash, nonce and the scored entries (status `signed`), and move the requests to
   `pushing`. Commit. From here on the batch is remembered whatever happens.
4. Broadcast the raw transaction (status `sent`).
5. When a receipt of one of its hashes has `confirmations` blocks on top: in one database
   transaction mark the push `done` (or `failed` if it reverted), its requests `done`, and
   record each account's score with the grade the contract emitted in `ScoreUpdated`.

Only one push is open at a time, and `reconcile` runs before anything else on every iteration
(so also right after a restart):

* a receipt exists → step 5;
* no receipt, the key's mined nonce is still ≤ the push's nonce → re-broadcast the stored raw
  transaction (same bytes, same hash: it cannot execute twice). After `replace_after_seconds`
  without a receipt it is re-signed with the same nonce, calldata and gas but ≥ 12.5 % higher
  fees; the new hash is stored before sending. All attempts share one nonce, so at most one
  of them can ever be mined;
* no receipt for any attempt but the nonce was used by another transaction → the push is
  `dropped` and its requests go back to `queued` (nothing of it reached the chain).

A crash before step 3 loses only work (the requests are still queued); a crash between 3 and 4
is healed by the re-broadcast; a crash after 4 by the receipt lookup.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from sqlalchemy.engine import Engine
from sqlmodel import col, select
from web3.exceptions import TransactionNotFound
from web3.logs import DISCARD

from oracle.service import faults, store
from oracle.service.chain import Chain
from oracle.service.history import read_histories
from oracle.service.scorer import Scorer
from oracle.service.settings import OracleSettings
from oracle.service.store import Application, Push, ScoreRequest
from peerlend.rpc import is_transient

log = logging.getLogger(__name__)
GWEI = 10**9
_KNOWN = ("already known", "known transaction", "already imported", "alreadyknown", "already exists")


@dataclass
class PushOutcome:
    push_id: int
    status: str
    tx_hash: str | None = None


class Pusher:
    def __init__(
        self, chain: Chain, engine: Engine, account: LocalAccount, scorer: Scorer, settings: OracleSettings
    ):
        self.chain = chain
        self.engine = engine
        self.account = account
        self.scorer = scorer
        self.settings = settings

    # ---------------------------------------------------------------- reconcile

    def open_push(self) -> Push | None:
        with store.session(self.engine) as db:
            return db.exec(
                select(Push).where(col(Push.status).in_(store.OPEN_PUSH)).order_by(Push.id)
            ).first()

    def reconcile(self) -> Push | None:
        """Advances the open push as far as the chain allows; returns it if it is still open."""
        push = self.open_push()
        if push is None:
            return None
        receipt = self._find_receipt(push)
        if receipt is not None:
            if receipt["blockNumber"] > self.chain.safe_head():
                return push  # mined, waiting for confirmations
            self._finish(push, receipt)
            return None
        if self._nonce_used(push):
            receipt = self._find_receipt(push)  # mined between the two look-ups?
            if receipt is not None:
                return push  # next iteration finishes it, once confirmed
            self._drop(push)
            return None
        if (
            push.status == store.SENT
            and time.time() - (push.sent_at or push.created_at) >= self.settings.replace_after_seconds
        ):
            self._replace(push)
        elif not self._in_mempool(push):
            self._broadcast(push)
        return push

    def _find_receipt(self, push: Push):
        for tx_hash in push.tx_hashes:
            try:
                return self.chain.call(
                    lambda h=tx_hash: self.chain.w3.eth.get_transaction_receipt(h),
                    "eth_getTransactionReceipt",
                )
            except TransactionNotFound:
                continue
        return None

    def _in_mempool(self, push: Push) -> bool:
        for tx_hash in push.tx_hashes:
            try:
                self.chain.call(
                    lambda h=tx_hash: self.chain.w3.eth.get_transaction(h), "eth_getTransactionByHash"
                )
                return True
            except TransactionNotFound:
                continue
        return False

    def _nonce_used(self, push: Push) -> bool:
        mined = self.chain.call(
            lambda: self.chain.w3.eth.get_transaction_count(push.sender, "latest"), "eth_getTransactionCount"
        )
        return mined > push.tx_nonce

    def _finish(self, push: Push, receipt) -> None:
        tx_hash = "0x" + bytes(receipt["transactionHash"]).hex()
        ok = receipt["status"] == 1
        graded = {}
        if ok:
            for event in self.chain.oracle.events.ScoreUpdated().process_receipt(receipt, errors=DISCARD):
                graded[event.args.account] = event.args.grade
        with store.session(self.engine) as db:
            row = db.get(Push, push.id)
            row.status = store.DONE if ok else store.FAILED
            row.tx_hash, row.mined_block = tx_hash, receipt["blockNumber"]
            row.error = None if ok else "push_scores reverted"
            db.add(row)
            requests = db.exec(select(ScoreRequest).where(ScoreRequest.push_id == push.id)).all()
            for request in requests:
                request.status = store.DONE if ok else store.FAILED
                request.error = None if ok else f"push transaction {tx_hash} reverted"
                request.updated_at = store.now()
                db.add(request)
            if ok:
                for entry in push.entries:
                    app = db.get(Application, entry["account"])
                    if app is None:
                        continue
                    app.score, app.pd = entry["score"], entry["pd"]
                    app.grade = int(graded.get(entry["account"], entry["grade"]))
                    app.reasons_json = json.dumps(entry["reasons"])
                    app.model_id, app.tx_hash, app.scored_at = push.model_id, tx_hash, store.now()
                    db.add(app)
        if ok:
            log.info(
                "push %d mined in block %d (%s): %d scores",
                push.id,
                receipt["blockNumber"],
                tx_hash,
                len(push.entries),
            )
        else:
            log.error("push %d reverted in block %d (%s)", push.id, receipt["blockNumber"], tx_hash)

    def _drop(self, push: Push) -> None:
        with store.session(self.engine) as db:
            row = db.get(Push, push.id)
            row.status, row.error = store.DROPPED, f"nonce {push.tx_nonce} was used by another transaction"
            db.add(row)
            for request in db.exec(select(ScoreRequest).where(ScoreRequest.push_id == push.id)).all():
                request.status, request.push_id, request.updated_at = store.QUEUED, None, store.now()
                db.add(request)
        log.warning(
            "push %d dropped: nonce %d used by another transaction; its requests are queued again",
            push.id,
            push.tx_nonce,
        )

    # ---------------------------------------------------------------- send

    def _broadcast(self, push: Push) -> None:
        """Sends the stored raw transaction. A refusal (nonce too low, underpriced, base fee above
        our cap, no funds) is logged and left to the next `reconcile`: the nonce check settles it,
        or the replacement after `replace_after_seconds`."""
        raw = HexBytes(push.raw_tx)
        accepted = True
        try:
            self.chain.call(lambda: self.chain.w3.eth.send_raw_transaction(raw), "eth_sendRawTransaction")
        except Exception as error:
            if is_transient(error):
                raise
            if not any(word in str(error).lower() for word in _KNOWN):
                accepted = False
                log.warning("push %d: broadcast of %s refused: %s", push.id, push.tx_hashes[-1], error)
        with store.session(self.engine) as db:
            row = db.get(Push, push.id)
            if row.status == store.SIGNED:
                row.status, row.sent_at = store.SENT, store.now()
                db.add(row)
            push.status, push.sent_at = row.status, row.sent_at
        if accepted:
            log.info("push %d broadcast: tx %s nonce %d", push.id, push.tx_hashes[-1], push.tx_nonce)

    def _fees(self) -> tuple[int, int]:
        w3 = self.chain.w3
        block = self.chain.call(lambda: w3.eth.get_block("latest"), "eth_getBlockByNumber latest")
        base = int(block.get("baseFeePerGas", 0) or 0)
        try:
            priority = int(self.chain.call(lambda: w3.eth.max_priority_fee, "eth_maxPriorityFeePerGas"))
        except Exception:
            priority = 1 * GWEI
        max_fee = 2 * base + priority
        if self.settings.max_fee_gwei is not None:
            max_fee = min(max_fee, int(self.settings.max_fee_gwei * GWEI))
            priority = min(priority, max_fee)
        return max_fee, priority

    def _sign(
        self, accounts: list[str], scores: list[int], nonce: int, gas: int, max_fee: int, priority: int
    ):
        tx = self.chain.oracle.functions.push_scores(
            accounts, scores, self.scorer.model_id_bytes, self.settings.ttl_seconds
        ).build_transaction(
            {
                "from": self.account.address,
                "chainId": self.chain.chain_id,
                "nonce": nonce,
                "gas": gas,
                "maxFeePerGas": max_fee,
                "maxPriorityFeePerGas": priority,
            }
        )
        return self.account.sign_transaction(tx)

    def _replace(self, push: Push) -> None:
        max_fee, priority = self._fees()
        max_fee = max(max_fee, push.max_fee_per_gas * 9 // 8 + 1)
        priority = max(priority, push.max_priority_fee_per_gas * 9 // 8 + 1)
        if self.settings.max_fee_gwei is not None and max_fee > self.settings.max_fee_gwei * GWEI:
            log.warning(
                "push %d is unmined but its fees are already at the PEERLEND_ORACLE_MAX_FEE_GWEI cap", push.id
            )
            if not self._in_mempool(push):
                self._broadcast(push)
            return
        entries = push.entries
        # a replacement must not change what is pushed: same model id and ttl as the original
        tx = self.chain.oracle.functions.push_scores(
            [e["account"] for e in entries],
            [e["score"] for e in entries],
            bytes.fromhex(push.model_id[2:]),
            push.ttl_seconds,
        ).build_transaction(
            {
                "from": self.account.address,
                "chainId": self.chain.chain_id,
                "nonce": push.tx_nonce,
                "gas": push.gas,
                "maxFeePerGas": max_fee,
                "maxPriorityFeePerGas": min(priority, max_fee),
            }
        )
        signed = self.account.sign_transaction(tx)
        tx_hash = "0x" + bytes(signed.hash).hex()
        with store.session(self.engine) as db:
            row = db.get(Push, push.id)
            row.tx_hashes_json = json.dumps([*row.tx_hashes, tx_hash])
            row.raw_tx = "0x" + bytes(signed.raw_transaction).hex()
            row.max_fee_per_gas, row.max_priority_fee_per_gas = max_fee, min(priority, max_fee)
            row.status, row.sent_at = store.SIGNED, store.now()
            db.add(row)
        log.info(
            "push %d unmined for %.0fs: replacing with tx %s (max fee %d wei)",
            push.id,
            self.settings.replace_after_seconds,
            tx_hash,
            max_fee,
        )
        self._broadcast(self.open_push())

    # ---------------------------------------------------------------- new batch

    def push_next(self, only: list[str] | None = None) -> PushOutcome | None:
        """Scores and pushes the next batch (of the accounts in `only`, if given), unless a push
        is still open. Returns what it did, or None if there was nothing to push."""
        if self.open_push() is not None:
            return None
        with store.session(self.engine) as db:
            query = select(ScoreRequest).where(ScoreRequest.status == store.QUEUED).order_by(ScoreRequest.id)
            if only is not None:
                query = query.where(col(ScoreRequest.account).in_(only))
            queued = db.exec(query).all()
            accounts: list[str] = []
            for request in queued:
                if request.account not in accounts and len(accounts) < self.settings.batch_size:
                    accounts.append(request.account)
            request_ids = [r.id for r in queued if r.account in accounts]
            apps = {a: db.get(Application, a) for a in accounts}
        if not accounts:
            return None

        histories = read_histories(self.chain, accounts)
        scored, failures = [], {}
        for account in accounts:
            app = apps[account]
            if app is None:  # cannot happen for a queued request, but never push without data
                failures[account] = "no application"
                continue
            try:
                scored.append(self.scorer.score(account, app.fields, histories[account]))
            except ValueError as error:
                failures[account] = f"cannot score: {error}"
        if failures:
            self._fail_requests(request_ids, failures)
        if not scored:
            return None

        addresses = [s.account for s in scored]
        scores = [s.score for s in scored]
        w3, sender = self.chain.w3, self.account.address
        estimate = self.chain.call(
            lambda: self.chain.oracle.functions.push_scores(
                addresses, scores, self.scorer.model_id_bytes, self.settings.ttl_seconds
            ).estimate_gas({"from": sender}),
            "eth_estimateGas push_scores",
        )
        gas = int(estimate * self.settings.gas_multiplier)
        max_fee, priority = self._fees()
        nonce = self.chain.call(
            lambda: w3.eth.get_transaction_count(sender, "pending"), "eth_getTransactionCount"
        )
        signed = self._sign(addresses, scores, nonce, gas, max_fee, priority)
        tx_hash = "0x" + bytes(signed.hash).hex()

        faults.checkpoint("before_persist")
        with store.session(self.engine) as db:
            if db.exec(select(Push).where(col(Push.status).in_(store.OPEN_PUSH))).first() is not None:
                return None  # another pusher got there first; do not send
            push = Push(
                status=store.SIGNED,
                sender=sender,
                tx_nonce=nonce,
                tx_hashes_json=json.dumps([tx_hash]),
                raw_tx="0x" + bytes(signed.raw_transaction).hex(),
                entries_json=json.dumps([s.entry() for s in scored]),
                model_id=self.scorer.model_id,
                ttl_seconds=self.settings.ttl_seconds,
                max_fee_per_gas=max_fee,
                max_priority_fee_per_gas=priority,
                gas=gas,
            )
            db.add(push)
            db.flush()
            for request in db.exec(select(ScoreRequest).where(col(ScoreRequest.id).in_(request_ids))).all():
                if request.status == store.QUEUED and request.account in addresses:
                    request.status, request.push_id, request.updated_at = store.PUSHING, push.id, store.now()
                    db.add(request)
        log.info(
            "push %d signed: %d scores, tx %s nonce %d, gas %d", push.id, len(scored), tx_hash, nonce, gas
        )
        faults.checkpoint("after_persist")
        self._broadcast(push)
        faults.checkpoint("after_send")
        self._await_receipt(push)
        return PushOutcome(push.id, self._status(push.id), tx_hash)

    def _await_receipt(self, push: Push) -> None:
        deadline = time.monotonic() + self.settings.receipt_wait_seconds
        while True:
            if self.reconcile() is None:
                return
            if time.monotonic() >= deadline:
                return
            time.sleep(min(0.25, max(self.settings.poll_interval, 0.05)))

    def _status(self, push_id: int) -> str:
        with store.session(self.engine) as db:
            return db.get(Push, push_id).status

    def _fail_requests(self, request_ids: list[int], failures: dict[str, str]) -> None:
        """Requests whose stored application cannot be scored (e.g. the model now needs a field
        it lacks) wait for a new application instead of blocking the queue."""
        with store.session(self.engine) as db:
            for request in db.exec(select(ScoreRequest).where(col(ScoreRequest.id).in_(request_ids))).all():
                if request.account in failures and request.status == store.QUEUED:
                    request.status = store.NEEDS_APPLICATION
                    request.error = failures[request.account]
                    request.updated_at = store.now()
                    db.add(request)
        for account, reason in failures.items():
            log.warning("request for %s waits for a new application: %s", account, reason)

"""Pushing scores on-chain in batches, exactly once, across crashes, restarts and slow nodes.

One batch is one `push_scores(accounts, scores, model, ttl, request_nonces)` transaction from
the oracle key. Entry i answers the on-chain request `request_nonces[i]` of `accounts[i]`, and
CreditOracle stores it only if that request is still the account's pending one: a request is
answered at most once whatever this module does, so a batch sent twice emits nothing twice.
On top of that the order of operations keeps the service from sending a batch twice at all:

1. Pick up to `batch_size` accounts with queued requests (the latest request of each), drop
   those the chain says are no longer pending, and score the rest.
2. Build the transaction (nonce = the key's *pending* transaction count, gas = estimate ×
   `gas_multiplier`, EIP-1559 fees) and sign it locally.
3. In ONE database transaction: insert the `oracle_push` row with the signed raw transaction,
   its hash, nonce and the scored entries (status `signed`), and move the requests to
   `pushing`. Commit. From here on the batch is remembered whatever happens.
4. Broadcast the raw transaction (status `sent`).
5. When a receipt of one of its hashes has `confirmations` blocks on top: in one database
   transaction mark the push `done` (or `failed` if it reverted) and settle each request by
   what the chain did with its entry: answered (a `ScoreUpdated` in this receipt: the score and
   the emitted grade are recorded), replaced by a newer request (`superseded`), or already
   answered by an earlier transaction (`done`, the score taken from that transaction).

Only one push is open at a time, and `reconcile` runs before anything else on every iteration
(so also right after a restart):

* a receipt exists → step 5;
* no receipt, but the key's mined nonce is past the push's nonce → a transaction with that
  nonce was mined, but the node may not serve its receipt yet (anvil counts a mined
  transaction in the nonce while its receipt still reads null; real nodes import a block
  before serving its receipts). Nothing is decided: the receipts of the push's hashes are
  polled until `receipt_deadline_seconds` have passed since this was first seen. Only then
  is the push `dropped` and its requests `queued` again; if it was in fact mined, the chain
  skips the second answer;
* no receipt, nonce not used → re-broadcast the stored raw transaction (same bytes, same
  hash: it cannot execute twice). After `replace_after_seconds` without a receipt it is
  re-signed with the same nonce, calldata and gas but ≥ 12.5 % higher fees; the new hash is
  stored before sending. All attempts share one nonce, so at most one of them can ever be
  mined.

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


def event_tx(event) -> str:
    return "0x" + bytes(event.transactionHash).hex()


def model_of(event) -> str:
    return "0x" + bytes(event.args.model).hex()


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
        # push id → monotonic time its nonce was first seen used without a receipt. In memory:
        # after a restart the wait starts again, which only makes it longer (never wrong).
        self._nonce_used_since: dict[int, float] = {}

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
            self._nonce_used_since.pop(push.id, None)
            if receipt["blockNumber"] > self.chain.safe_head():
                return push  # mined, waiting for confirmations
            self._finish(push, receipt)
            return None
        if self._nonce_used(push):
            # Mined (ours or another transaction with this nonce), but no receipt served for any
            # of our hashes yet: wait for it by hash, and decide only at the deadline.
            since = self._nonce_used_since.setdefault(push.id, time.monotonic())
            waited = time.monotonic() - since
            if waited < self.settings.receipt_deadline_seconds:
                if waited == 0:
                    log.info("push %d: nonce %d is used; waiting for the receipt", push.id, push.tx_nonce)
                return push
            self._nonce_used_since.pop(push.id, None)
            self._drop(push, waited)
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
        block = receipt["blockNumber"]
        graded: dict[str, int] = {}
        if ok:
            for event in self.chain.oracle.events.ScoreUpdated().process_receipt(receipt, errors=DISCARD):
                graded[event.args.account] = int(event.args.grade)
        # entries the contract skipped: replaced by a newer request, or answered earlier
        skipped = [e for e in push.entries if e["account"] not in graded] if ok else []
        latest = {e["account"]: self._latest_request(e["account"], block) for e in skipped}
        earlier = {
            e["account"]: self._answer_of(e["account"], e.get("request_nonce"), block)
            for e in skipped
            if e.get("request_nonce") is not None and latest[e["account"]] <= e["request_nonce"]
        }
        with store.session(self.engine) as db:
            row = db.get(Push, push.id)
            row.status = store.DONE if ok else store.FAILED
            row.tx_hash, row.mined_block = tx_hash, block
            row.error = None if ok else "push_scores reverted"
            db.add(row)
            entries = {e["account"]: e for e in push.entries}
            for request in db.exec(select(ScoreRequest).where(ScoreRequest.push_id == push.id)).all():
                entry = entries.get(request.account)
                answered = entry.get("request_nonce") if entry else None
                if not ok:
                    request.status, request.error = store.FAILED, f"push transaction {tx_hash} reverted"
                elif (
                    request.request_nonce is not None
                    and answered is not None
                    and request.request_nonce < answered
                ):
                    request.status, request.error = store.SUPERSEDED, f"replaced by request {answered}"
                elif request.account in graded or request.account in earlier:
                    request.status, request.error = store.DONE, None
                else:
                    newer = latest.get(request.account)
                    request.status, request.error = store.SUPERSEDED, f"replaced by request {newer}"
                request.updated_at = store.now()
                db.add(request)
            for account, entry in entries.items():
                if account in graded:
                    self._record(db, entry, entry["score"], graded[account], tx_hash, push.model_id)
                elif earlier.get(account) is not None:
                    # answered by an earlier transaction (most likely this batch's own, given up on
                    # before its receipt came): the score the chain holds, this entry's reasons
                    event = earlier[account]
                    self._record(
                        db,
                        entry,
                        int(event.args.score),
                        int(event.args.grade),
                        event_tx(event),
                        model_of(event),
                    )
        if ok:
            log.info(
                "push %d mined in block %d (%s): %d scores, %d skipped by the contract",
                push.id,
                block,
                tx_hash,
                len(graded),
                len(skipped),
            )
        else:
            log.error("push %d reverted in block %d (%s)", push.id, block, tx_hash)

    @staticmethod
    def _record(db, entry: dict, score: int, grade: int, tx_hash: str, model_id: str) -> None:
        """The account's latest pushed score, as the contract stored it."""
        app = db.get(Application, entry["account"])
        if app is None:
            return
        app.score, app.pd, app.grade = score, entry["pd"], grade
        app.reasons_json = json.dumps(entry["reasons"])
        app.model_id, app.tx_hash, app.scored_at = model_id, tx_hash, store.now()
        db.add(app)

    def _latest_request(self, account: str, block: int) -> int:
        return self.chain.call(
            lambda: self.chain.oracle.functions.request_nonce(account).call(block_identifier=block),
            "request_nonce()",
        )

    def _answer_of(self, account: str, nonce: int, block: int):
        """The ScoreUpdated that answered request `nonce` of `account` before `block` (a
        transaction of a push that was given up on, or of another pusher), or None."""
        answered = self.chain.call(
            lambda: self.chain.oracle.functions.answered_nonce(account).call(block_identifier=block),
            "answered_nonce()",
        )
        if answered < nonce:
            return None
        with store.session(self.engine) as db:
            request = db.exec(
                select(ScoreRequest).where(
                    ScoreRequest.account == account, ScoreRequest.request_nonce == nonce
                )
            ).first()
        since = (
            request.block_number if request is not None and request.block_number else self.chain.start_block
        )
        logs = self.chain.get_logs(self.chain.oracle.events.ScoreUpdated, since, block, {"account": account})
        return logs[-1] if logs else None  # the score the account holds now

    def _drop(self, push: Push, waited: float) -> None:
        with store.session(self.engine) as db:
            row = db.get(Push, push.id)
            row.status = store.DROPPED
            row.error = f"nonce {push.tx_nonce} was used and no receipt came for {waited:.0f}s"
            db.add(row)
            for request in db.exec(select(ScoreRequest).where(ScoreRequest.push_id == push.id)).all():
                request.status, request.push_id, request.updated_at = store.QUEUED, None, store.now()
                db.add(request)
        log.warning(
            "push %d dropped: nonce %d used, no receipt for any of its %d hashes within %.0fs; "
            "its requests are queued again (the contract skips any already answered)",
            push.id,
            push.tx_nonce,
            len(push.tx_hashes),
            waited,
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

    def _call(self, entries: list[dict], model: bytes, ttl: int):
        """push_scores of `entries`, each answering its request (entries of a push signed by an
        older version carry no request nonce: pushed as before)."""
        accounts = [e["account"] for e in entries]
        scores = [e["score"] for e in entries]
        nonces = [e.get("request_nonce") for e in entries]
        if any(n is None for n in nonces):
            return self.chain.oracle.functions.push_scores(accounts, scores, model, ttl)
        return self.chain.oracle.functions.push_scores(accounts, scores, model, ttl, nonces)

    def _sign(self, entries: list[dict], nonce: int, gas: int, max_fee: int, priority: int):
        tx = self._call(entries, self.scorer.model_id_bytes, self.settings.ttl_seconds).build_transaction(
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
        # a replacement must not change what is pushed: same entries, model id and ttl
        tx = self._call(push.entries, bytes.fromhex(push.model_id[2:]), push.ttl_seconds).build_transaction(
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
            latest: dict[str, ScoreRequest] = {}  # account → its newest queued request
            for request in db.exec(query).all():
                if request.request_nonce is None:  # a CLI request of an older version: no answer on-chain
                    request.status, request.error = store.FAILED, "not an on-chain request"
                    db.add(request)
                    continue
                if request.account in latest or len(latest) < self.settings.batch_size:
                    best = latest.get(request.account)
                    if best is None or request.request_nonce > best.request_nonce:
                        latest[request.account] = request
        if not latest:
            return None
        nonce_of = self._still_pending(latest)
        accounts = list(nonce_of)
        if not accounts:
            return None
        with store.session(self.engine) as db:
            apps = {a: db.get(Application, a) for a in accounts}
            request_ids = [
                r.id
                for r in db.exec(
                    select(ScoreRequest).where(
                        ScoreRequest.status == store.QUEUED, col(ScoreRequest.account).in_(accounts)
                    )
                ).all()
            ]

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

        entries = [{**s.entry(), "request_nonce": nonce_of[s.account]} for s in scored]
        addresses = [e["account"] for e in entries]
        w3, sender = self.chain.w3, self.account.address
        call = self._call(entries, self.scorer.model_id_bytes, self.settings.ttl_seconds)
        estimate = self.chain.call(lambda: call.estimate_gas({"from": sender}), "eth_estimateGas push_scores")
        gas = int(estimate * self.settings.gas_multiplier)
        max_fee, priority = self._fees()
        nonce = self.chain.call(
            lambda: w3.eth.get_transaction_count(sender, "pending"), "eth_getTransactionCount"
        )
        signed = self._sign(entries, nonce, gas, max_fee, priority)
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
                entries_json=json.dumps(entries),
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
            "push %d signed: %d scores, tx %s nonce %d, gas %d", push.id, len(entries), tx_hash, nonce, gas
        )
        faults.checkpoint("after_persist")
        self._broadcast(push)
        faults.checkpoint("after_send")
        self._await_receipt(push)
        return PushOutcome(push.id, self._status(push.id), tx_hash)

    def _still_pending(self, latest: dict[str, ScoreRequest]) -> dict[str, int]:
        """account → request nonce to answer, for the requests still pending on-chain (at the
        safe head). The others are settled without a push: answered by an earlier transaction
        (after a database restore, or a push given up on that was mined after all) → `done`
        with that score; replaced by a newer request → `superseded`."""
        safe = self.chain.safe_head()
        pending, settled = {}, {}
        for account, request in latest.items():
            onchain = self.chain.call(
                lambda a=account: self.chain.oracle.functions.pending_request(a).call(block_identifier=safe),
                "pending_request()",
            )
            if onchain == request.request_nonce:
                pending[account] = request.request_nonce
            else:
                settled[account] = self._answer_of(account, request.request_nonce, safe)
        if settled:
            with store.session(self.engine) as db:
                for account, event in settled.items():
                    for request in db.exec(
                        select(ScoreRequest).where(
                            ScoreRequest.account == account, ScoreRequest.status == store.QUEUED
                        )
                    ).all():
                        if event is not None and request.request_nonce == latest[account].request_nonce:
                            request.status, request.error = store.DONE, None
                        else:
                            request.status = store.SUPERSEDED
                            request.error = (
                                "answered on-chain already" if event else "replaced by a newer request"
                            )
                        request.updated_at = store.now()
                        db.add(request)
                    if event is not None:
                        self._correct_drop(db, event)
                    app = db.get(Application, account)
                    if event is not None and app is not None:
                        app.score, app.grade = int(event.args.score), int(event.args.grade)
                        app.model_id, app.tx_hash, app.scored_at = (
                            model_of(event),
                            event_tx(event),
                            store.now(),
                        )
                        db.add(app)
            log.info("%d request(s) no longer pending on-chain were settled without a push", len(settled))
        return pending

    @staticmethod
    def _correct_drop(db, event) -> None:
        """A push given up on whose transaction was mined after all (the answer found on-chain
        is one of its hashes) is recorded as done, so the database says what the chain did."""
        tx_hash = event_tx(event)
        for row in db.exec(
            select(Push).where(Push.status == store.DROPPED, col(Push.tx_hashes_json).contains(tx_hash))
        ).all():
            row.status, row.tx_hash, row.mined_block = store.DONE, tx_hash, event.blockNumber
            row.error = "mined: its receipt came after the push was given up on"
            db.add(row)
            log.warning("push %d was mined after all (%s); recorded as done", row.id, tx_hash)

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

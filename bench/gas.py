"""Gas per user operation, from real anvil receipts, next to the anchors users compare us with.

Measures every LoanBook operation once on a warm book, repay/claim for loans with 1, 10 and
100 lenders, push_scores per score at batch 1/10/100, and request/fund as the book grows to
10,000 loans (the growth loans are sent straight to anvil's JSON-RPC without waiting for
receipts, so filling the book takes seconds, not minutes).
"""

from __future__ import annotations

import time
from typing import Any

from peerlend.vocabulary import DAY

UNIT = 10**6
MAX = 2**256 - 1

# Published gas numbers of comparable operations (see bench/README.md for the sources).
ANCHORS = {
    "Aave v3 repay": 176_521,
    "Aave v3 supply": 146_755,
    "NFTfi v2 payBackLoan": 150_446,
    "NFTfi v2 acceptOffer": 536_101,
    "MetaStreet v2 extra funding source (borrow)": 21_000,
}
TARGETS = {
    "repay_installment": 90_000,
    "fund_first": 150_000,
    "fund_later": 150_000,
    "fund_completing": 150_000,
    "claim": 60_000,
    "request_loan": 200_000,
    "disburse": 150_000,
}
SIZE_TARGETS = {"LoanBook": 22_500}
EIP170 = 24_576


class GasBench:
    def __init__(self, echo=print):
        from ape import accounts, chain, project

        from peerlend.deploy import deploy_all, load_params

        self.echo = echo
        self.chain = chain
        test = accounts.test_accounts
        self.admin, self.attester, self.oracle_key = test[0], test[2], test[3]
        self.borrower = test[4]
        self.record = deploy_all(self.admin, load_params("local"), reuse=False, echo=lambda *_: None)
        c = {name: getattr(project, name).at(e["address"]) for name, e in self.record["contracts"].items()}
        self.token, self.book, self.notes = c["TestStablecoin"], c["LoanBook"], c["LoanNote"]
        self.lens = c["LoanLens"]
        self.identity, self.oracle = c["IdentityRegistry"], c["CreditOracle"]
        self.results: dict[str, Any] = {
            "operations": {},
            "lender_scaling": {},
            "book_growth": {},
            "push_scores": {},
            "storage": {},
            "sizes": {},
        }
        self.lenders = []
        self._kyc_counter = 0

    # ------------------------------------------------------------------ helpers

    def _gas(self, receipt) -> int:
        return int(receipt.gas_used)

    def _storage(self, receipt) -> dict[str, int]:
        """Storage one transaction touched, from anvil's prestateTracer over every contract the
        call reached: distinct slots accessed, slots changed, and of those the ones that went
        from zero to nonzero (the 22,100-gas kind)."""
        trace = lambda config: self.chain.provider.make_request(  # noqa: E731
            "debug_traceTransaction", [receipt.txn_hash, {"tracer": "prestateTracer", **config}]
        )
        accessed = sum(len(account.get("storage", {})) for account in trace({}).values())
        diff = trace({"tracerConfig": {"diffMode": True}})
        written = new = 0
        for address, account in diff["post"].items():
            before = diff["pre"].get(address, {}).get("storage", {})
            for slot in account.get("storage", {}):
                written += 1
                new += int(before.get(slot, "0x0"), 16) == 0
        return {"slots_accessed": accessed, "slots_written": written, "slots_new": new}

    def _measure(self, name: str, receipt) -> int:
        self.results["operations"][name] = self._gas(receipt)
        self.results["storage"][name] = self._storage(receipt)
        return self.results["operations"][name]

    def sizes(self) -> None:
        """Runtime bytecode size of each deployed contract (EIP-170: at most 24,576 bytes)."""
        for name, contract in (("LoanBook", self.book), ("LoanLens", self.lens), ("LoanNote", self.notes)):
            code = self.chain.provider.get_code(contract.address)
            self.results["sizes"][name] = len(code)

    def _kyc(self, account):
        self._kyc_counter += 1
        return self.identity.attest(
            account, self._kyc_counter.to_bytes(32, "big"), self.chain.pending_timestamp + 3_650 * DAY,
            sender=self.attester,
        )  # fmt: skip

    def _fund_account(self, account, amount=10_000_000 * UNIT):
        self.token.mint(account, amount, sender=self.admin)
        self.token.approve(self.book.address, MAX, sender=account)

    def make_lenders(self, count: int):
        from ape import accounts

        while len(self.lenders) < count:
            account = accounts.test_accounts.generate_test_account()
            self.admin.transfer(account, 10**18)
            self._fund_account(account)
            self._kyc(account)
            self.lenders.append(account)

    def request(self, principal=1_000 * UNIT, apr=1_200, n=12, method=0):
        receipt = self.book.request_loan(self.token.address, principal, apr, n, 30 * DAY, method, 7 * DAY,
                                         sender=self.borrower)  # fmt: skip
        return receipt.events.filter(self.book.LoanRequested)[0].loan_id, receipt

    def funded_loan(self, lenders: int, principal=None):
        principal = principal or lenders * 100 * UNIT
        loan_id, _ = self.request(principal=principal)
        part = principal // lenders
        notes, receipts = [], []
        for i in range(lenders):
            receipt = self.book.fund(loan_id, part, sender=self.lenders[i])
            receipts.append(receipt)
            notes.append(receipt.events.filter(self.book.LoanFunded)[0].note_id)
        return loan_id, notes, receipts

    def advance(self, seconds):
        self.chain.mine(1, timestamp=self.chain.pending_timestamp + seconds)

    # ------------------------------------------------------------------ measurements

    def setup(self):
        self._fund_account(self.borrower)
        self._kyc(self.borrower)
        self.oracle.push_scores(
            [self.borrower.address], [800], b"\x01" * 32, 365 * DAY, sender=self.oracle_key
        )
        self.make_lenders(3)
        # Warm the per-token accumulators (held, reserve, fees) like a live book.
        loan_id, _, _ = self.funded_loan(1)
        self.advance(DAY)
        self.book.disburse(loan_id, sender=self.borrower)
        self.book.repay(loan_id, 10 * UNIT, sender=self.borrower)

    def operations(self):
        m = self._measure
        m("kyc_attest", self._kyc(self.chain.provider.web3.eth.account.create().address))
        loan_id, receipt = self.request(principal=3_000 * UNIT)
        m("request_loan", receipt)
        first = self.book.fund(loan_id, 1_000 * UNIT, sender=self.lenders[0])
        later = self.book.fund(loan_id, 1_000 * UNIT, sender=self.lenders[1])
        last = self.book.fund(loan_id, 1_000 * UNIT, sender=self.lenders[2])
        m("fund_first", first)
        m("fund_later", later)
        m("fund_completing", last)
        notes = [r.events.filter(self.book.LoanFunded)[0].note_id for r in (first, later, last)]
        self.advance(DAY)
        m("disburse", self.book.disburse(loan_id, sender=self.borrower))
        self.advance(30 * DAY)
        due = self.lens.amount_due(loan_id)
        m("repay_installment", self.book.repay(loan_id, due.past_due, sender=self.borrower))
        m("claim", self.book.claim(notes[0], sender=self.lenders[0]))
        transfer = self.notes.transferFrom(self.lenders[1], self.lenders[0], notes[1], sender=self.lenders[1])
        m("note_transfer", transfer)
        self.advance(10 * DAY)
        m("repay_in_full", self.book.repay_in_full(loan_id, sender=self.borrower))

        # default
        loan_id, _, _ = self.funded_loan(2)
        self.advance(DAY)
        self.book.disburse(loan_id, sender=self.borrower)
        self.advance(70 * DAY)
        m("mark_default", self.book.mark_default(loan_id, sender=self.lenders[0]))

        # refund after cancel
        loan_id, _ = self.request()
        receipt = self.book.fund(loan_id, 10 * UNIT, sender=self.lenders[0])
        note_id = receipt.events.filter(self.book.LoanFunded)[0].note_id
        self.book.cancel(loan_id, sender=self.borrower)
        m("refund", self.book.refund(note_id, sender=self.lenders[0]))

    def lender_scaling(self, counts=(1, 10, 100)):
        self.make_lenders(max(counts))
        for count in counts:
            loan_id, notes, receipts = self.funded_loan(count)
            self.advance(DAY)
            self.book.disburse(loan_id, sender=self.borrower)
            self.advance(30 * DAY)
            due = self.lens.amount_due(loan_id)
            repay = self._gas(self.book.repay(loan_id, due.past_due, sender=self.borrower))
            claim = self._gas(self.book.claim(notes[-1], sender=self.lenders[count - 1]))
            self.results["lender_scaling"][count] = {
                "repay": repay,
                "claim": claim,
                "fund_last": self._gas(receipts[-1]),
            }
            self.echo(f"  {count:>3} lenders: repay {repay:,} gas, claim {claim:,} gas")

    def push_scores(self, batches=(1, 10, 100)):
        for size in batches:
            accounts = [self.chain.provider.web3.eth.account.create().address for _ in range(size)]
            receipt = self.oracle.push_scores(
                accounts, [700] * size, b"\x02" * 32, 30 * DAY, sender=self.oracle_key
            )
            self.results["push_scores"][size] = {
                "total": self._gas(receipt),
                "per_score": self._gas(receipt) // size,
            }

    def book_growth(self, checkpoints=(10, 100, 1_000, 10_000)):
        """request/fund gas measured at each book size. Filler loans go to anvil in JSON-RPC
        batches with automine off and one evm_mine per batch (web3's one-by-one transact
        manages ~30 tx/s here; batches fill 10,000 loans in well under a minute)."""
        from web3 import Web3

        w3 = Web3(Web3.HTTPProvider(self.chain.provider.uri, request_kwargs={"timeout": 120}))
        abi = [entry.model_dump(mode="json") for entry in self.book.contract_type.abi]
        book = w3.eth.contract(address=self.book.address, abi=abi)
        # Each filler is 1 base unit, so even 10,000 open loans stay inside the exposure cap.
        assert self.book.grade_limits(self.token.address, 1).max_exposure > 10_000
        data = book.encode_abi("request_loan", args=[self.token.address, 1, 1_200, 12, 30 * DAY, 0, 30 * DAY])
        started = time.perf_counter()
        for checkpoint in checkpoints:
            missing = max(checkpoint - self.book.loan_count(), 0)
            nonce = w3.eth.get_transaction_count(self.borrower.address, "pending")
            w3.provider.make_request("evm_setAutomine", [False])
            try:
                for first in range(0, missing, 200):
                    batch = [
                        ("eth_sendTransaction", [{"from": self.borrower.address, "to": self.book.address,
                                                  "data": data, "gas": hex(600_000), "nonce": hex(nonce + i)}])
                        for i in range(first, min(first + 200, missing))
                    ]  # fmt: skip
                    errors = [r["error"] for r in w3.provider.make_batch_request(batch) if r.get("error")]
                    if errors:
                        raise RuntimeError(f"filler request_loan failed: {errors[0]}")
                    w3.provider.make_request("evm_mine", [])
                    # gas limits above the block's leave some pending: mine until the pool is empty
                    while int(w3.provider.make_request("txpool_status", [])["result"]["pending"], 16):
                        w3.provider.make_request("evm_mine", [])
            finally:
                w3.provider.make_request("evm_setAutomine", [True])
            assert self.book.loan_count() >= checkpoint, "filler loans were not all mined"
            loan_id, receipt = self.request(principal=1_000 * UNIT)
            fund = self.book.fund(loan_id, 500 * UNIT, sender=self.lenders[0])
            self.results["book_growth"][checkpoint] = {
                "request": self._gas(receipt),
                "fund_first": self._gas(fund),
            }
            self.echo(
                f"  book at {checkpoint:>6,} loans: request {self._gas(receipt):,}, fund {self._gas(fund):,}"
            )
            self.book.cancel(loan_id, sender=self.borrower)
        self.results["book_growth_seconds"] = round(time.perf_counter() - started, 1)

    def run(self, quick: bool = False) -> dict[str, Any]:
        self.setup()
        self.sizes()
        self.echo("gas: operations")
        self.operations()
        self.echo("gas: lender scaling")
        self.lender_scaling((1, 10) if quick else (1, 10, 100))
        self.echo("gas: push_scores")
        self.push_scores()
        self.echo("gas: book growth")
        self.book_growth((10, 100) if quick else (10, 100, 1_000, 10_000))
        self.results["anchors"] = ANCHORS
        self.results["targets"] = TARGETS
        self.results["size_targets"] = SIZE_TARGETS
        return self.results

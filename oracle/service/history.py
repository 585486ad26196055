"""A borrower's repayment record on Peerlend, read from LoanBook events.

Kept deliberately simple (and the same for every borrower):

* `loans` — loans of the borrower that were disbursed (`LoanRequested.borrower` = the account,
  then `LoanDisbursed`).
* a `Repayment` on one of those loans is **late** when its block time is after the due time of
  the oldest installment that was unpaid before it, i.e. `start + cursor × period_seconds`, where
  `start` is `LoanDisbursed.start`, `period_seconds` comes from `LoanRequested`, and `cursor` is
  the previous repayment's `next_installment`, or before the first repayment the cursor the
  contract's `disburse` set (`peerlend.loanmath.first_cursor`: the first installment with
  anything to pay, the last for a bullet loan). Otherwise it is **on time** (paying early counts
  as on time).
  The grace period does not make a payment on time: it only delays penalties.
* `defaults` — `LoanDefaulted` events of those loans.
* `delinquent_loans` — those loans, not defaulted, whose oldest unpaid installment (the cursor
  after the last repayment) fell due at or before the block read: an **active delinquency**,
  as the contract's `amount_due` reports `past_due > 0` (a partial payment does not cure it).
  `oracle.service.standing` withholds a usable score while it lasts.

Whoever paid (`Repayment.payer`) does not matter: the record belongs to the loan's borrower.
Recoveries after a default are not counted as repayments.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from oracle.service.chain import Chain
from peerlend.loanmath import first_cursor


@dataclass(frozen=True)
class BorrowerHistory:
    loans: int = 0
    repayments_on_time: int = 0
    repayments_late: int = 0
    defaults: int = 0
    delinquent_loans: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "loans": self.loans,
            "repayments_on_time": self.repayments_on_time,
            "repayments_late": self.repayments_late,
            "defaults": self.defaults,
            "delinquent_loans": self.delinquent_loans,
        }


def disbursal_cursor(requested) -> int:
    """The installment `disburse` made current, from the `LoanRequested` arguments."""
    return first_cursor(
        requested.principal,
        requested.apr_bps,
        requested.installments,
        requested.period_seconds,
        requested.method,
    )


def read_histories(
    chain: Chain, accounts: list[str], to_block: int | None = None
) -> dict[str, BorrowerHistory]:
    """The history of each account (checksummed addresses) up to `to_block` (default: head)."""
    result = {account: BorrowerHistory() for account in accounts}
    if not accounts:
        return result
    head = chain.head() if to_block is None else to_block
    events = chain.book.events
    requested = chain.get_logs(events.LoanRequested, chain.start_block, head, {"borrower": list(accounts)})
    if not requested:
        return result
    loans = {log.args.loan_id: log.args for log in requested}
    ids = list(loans)
    disbursed = {
        log.args.loan_id: log.args.start
        for log in chain.get_logs(events.LoanDisbursed, chain.start_block, head, {"loan_id": ids})
    }
    repayments = sorted(
        chain.get_logs(events.Repayment, chain.start_block, head, {"loan_id": ids}),
        key=lambda log: (log.blockNumber, log.logIndex),
    )
    defaulted = {
        log.args.loan_id
        for log in chain.get_logs(events.LoanDefaulted, chain.start_block, head, {"loan_id": ids})
    }

    times: dict[int, int] = {}
    cursor = {loan_id: disbursal_cursor(loans[loan_id]) for loan_id in disbursed}
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for loan_id in disbursed:
        counts[loans[loan_id].borrower]["loans"] += 1
    for loan_id in defaulted:
        counts[loans[loan_id].borrower]["defaults"] += 1
    for log in repayments:
        loan_id = log.args.loan_id
        if loan_id not in disbursed:
            continue
        if log.blockNumber not in times:
            times[log.blockNumber] = chain.block_timestamp(log.blockNumber)
        due = disbursed[loan_id] + cursor[loan_id] * loans[loan_id].period_seconds
        late = times[log.blockNumber] > due
        counts[loans[loan_id].borrower]["repayments_late" if late else "repayments_on_time"] += 1
        cursor[loan_id] = log.args.next_installment
    now = chain.block_timestamp(head)
    for loan_id, start in disbursed.items():
        terms = loans[loan_id]
        behind = (
            cursor[loan_id] <= terms.installments and now >= start + cursor[loan_id] * terms.period_seconds
        )
        if loan_id not in defaulted and behind:
            counts[terms.borrower]["delinquent_loans"] += 1
    for account in accounts:
        if account in counts:
            result[account] = BorrowerHistory(**counts[account])
    return result

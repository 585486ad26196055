"""信息披露: disclosure statistics, per token (amounts in different tokens are never added).

Definitions (as of the last indexed block):
- volume: loans disbursed (ACTIVE, REPAID, DEFAULTED), count and principal;
- outstanding principal: principal not yet repaid on ACTIVE loans, plus the principal at
  default of DEFAULTED loans whose debt is not fully recovered (as the contract's `exposure`);
- overdue buckets by days past due of the oldest unpaid installment (1–30, 31–90, 90+),
  defaulted loans included until fully recovered: loans, their past-due amounts (a defaulted
  loan's remaining debt), their outstanding principal, and the rate = that outstanding
  principal / all outstanding principal (逾期率 by amount);
- default rate: defaulted loans' principal outstanding at default / disbursed principal,
  and by count;
- reserve balance and fees: the book's `reserve` and `fees` mirrors, all fees ever taken
  (treasury and reserve shares), withdrawals, default cover paid and recovered;
- by grade (credit grade at request) and by month (UTC calendar month of the event).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import select
from sqlmodel import Session

from backend.core.views import (
    DISBURSED,
    GRADE_LETTERS,
    STATUSES,
    days_past_due,
    due_now,
    effective_status,
    past_due,
    principal_outstanding,
    unrecovered,
)  # fmt: skip
from backend.db.models import Loan, Note, Repayment, Token

BUCKETS = (("1-30", 1, 30), ("31-90", 31, 90), ("90+", 91, None))


def _month(timestamp: int | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m")


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 6)


def _bucket(days: int) -> str | None:
    for name, low, high in BUCKETS:
        if days >= low and (high is None or days <= high):
            return name
    return None


def token_stats(
    loans: list[Loan], notes: list[Note], repayments: list[Repayment], token: Token | None, now: int
) -> dict:
    disbursed = [loan for loan in loans if loan.status in DISBURSED]
    active = [loan for loan in loans if loan.status == "ACTIVE"]
    defaulted = [loan for loan in loans if loan.status == "DEFAULTED"]
    owing = [loan for loan in loans if loan.status == "ACTIVE" or unrecovered(loan)]
    outstanding = sum(principal_outstanding(loan) for loan in owing)
    volume = sum(loan.principal for loan in disbursed)

    buckets = {name: {"loans": 0, "past_due": 0, "principal_outstanding": 0} for name, _, _ in BUCKETS}
    for loan in owing:
        due = due_now(loan, now)
        name = _bucket(days_past_due(loan, now, due))
        if name is not None:
            buckets[name]["loans"] += 1
            buckets[name]["past_due"] += past_due(loan, due)
            buckets[name]["principal_outstanding"] += principal_outstanding(loan)
    overdue_principal = sum(b["principal_outstanding"] for b in buckets.values())
    overdue = {
        "buckets": {
            name: {
                "loans": b["loans"],
                "past_due": str(b["past_due"]),
                "principal_outstanding": str(b["principal_outstanding"]),
                "rate": _ratio(b["principal_outstanding"], outstanding),
            }
            for name, b in buckets.items()
        },
        "loans": sum(b["loans"] for b in buckets.values()),
        "past_due": str(sum(b["past_due"] for b in buckets.values())),
        "principal_outstanding": str(overdue_principal),
        "rate": _ratio(overdue_principal, outstanding),
    }
    defaulted_principal = sum(loan.default_principal for loan in defaulted)
    by_status = dict.fromkeys(STATUSES, 0)
    for loan in loans:
        by_status[effective_status(loan, now)] += 1

    by_grade = []
    for grade in sorted({loan.grade for loan in loans}):
        rows = [loan for loan in loans if loan.grade == grade]
        rows_disbursed = [loan for loan in rows if loan.status in DISBURSED]
        rows_defaulted = [loan for loan in rows if loan.status == "DEFAULTED"]
        grade_volume = sum(loan.principal for loan in rows_disbursed)
        by_grade.append(
            {
                "grade": grade,
                "grade_letter": GRADE_LETTERS.get(grade),
                "requested": len(rows),
                "disbursed": len(rows_disbursed),
                "volume": str(grade_volume),
                "principal_outstanding": str(sum(principal_outstanding(loan) for loan in rows)),
                "defaulted": len(rows_defaulted),
                "default_rate": _ratio(sum(loan.default_principal for loan in rows_defaulted), grade_volume),
                "average_apr_bps": round(sum(loan.apr_bps for loan in rows) / len(rows), 2),
            }
        )

    months: dict[str, dict[str, int]] = defaultdict(
        lambda: {"requested": 0, "requested_principal": 0, "disbursed": 0, "volume": 0, "repaid_amount": 0,
                 "defaulted": 0, "defaulted_principal": 0}
    )  # fmt: skip
    for loan in loans:
        months[_month(loan.requested_at)]["requested"] += 1
        months[_month(loan.requested_at)]["requested_principal"] += loan.principal
        if loan.disbursed_at is not None:
            months[_month(loan.disbursed_at)]["disbursed"] += 1
            months[_month(loan.disbursed_at)]["volume"] += loan.principal
        if loan.status == "DEFAULTED":
            months[_month(loan.closed_at)]["defaulted"] += 1
            months[_month(loan.closed_at)]["defaulted_principal"] += loan.default_principal
    for row in repayments:
        months[_month(row.timestamp)]["repaid_amount"] += row.amount
    by_month = [
        {
            "month": month,
            **{
                k: (str(v) if k not in ("requested", "disbursed", "defaulted") else v)
                for k, v in data.items()
            },
        }
        for month, data in sorted(months.items())
    ]

    token = token or Token(address="")
    return {
        "volume": {"count": len(disbursed), "principal": str(volume)},
        "requested": {"count": len(loans), "principal": str(sum(loan.principal for loan in loans))},
        "principal_outstanding": str(outstanding),
        "active_loans": len(active),
        "loans_by_status": by_status,
        "borrowers": len({loan.borrower for loan in loans}),
        "lenders": len({note.lender for note in notes}),
        "repaid": {
            "principal": str(sum(loan.principal_paid for loan in loans)),
            "interest": str(sum(loan.interest_paid for loan in loans)),
            "penalty": str(sum(loan.penalty_paid for loan in loans)),
            "recovered": str(sum(loan.recovered for loan in loans)),
        },
        "overdue": overdue,
        "default": {
            "count": len(defaulted),
            "principal": str(defaulted_principal),
            "rate": _ratio(defaulted_principal, volume),
            "rate_by_count": _ratio(len(defaulted), len(disbursed)),
        },
        "reserve": {
            "balance": str(token.reserve),
            "deposits": str(token.reserve_deposits),
            "fees_in": str(token.fees_to_reserve),
            "cover_paid": str(token.reserve_cover_paid),
            "recovered": str(token.reserve_recovered),
        },
        "fees": {
            "collected": str(token.fees_to_treasury + token.fees_to_reserve),
            "to_treasury": str(token.fees_to_treasury),
            "to_reserve": str(token.fees_to_reserve),
            "withdrawn": str(token.fees_withdrawn),
            "balance": str(token.fees),
        },
        "escrow_held": str(token.held),
        "by_grade": by_grade,
        "by_month": by_month,
    }


def stats(session: Session, now: int, token_filter: str | None = None) -> dict:
    loans = session.scalars(select(Loan).order_by(Loan.id)).all()
    notes = session.scalars(select(Note)).all()
    repayments = session.scalars(select(Repayment)).all()
    tokens = {row.address: row for row in session.scalars(select(Token))}
    loan_token = {loan.id: loan.token for loan in loans}
    addresses = sorted(set(tokens) | {loan.token for loan in loans})
    if token_filter is not None:
        addresses = [token_filter]
    per_token = []
    for address in addresses:
        token_loans = [loan for loan in loans if loan.token == address]
        per_token.append(
            {
                "token": address,
                **token_stats(
                    token_loans,
                    [note for note in notes if loan_token.get(note.loan_id) == address],
                    [row for row in repayments if loan_token.get(row.loan_id) == address],
                    tokens.get(address),
                    now,
                ),
            }
        )
    by_status = dict.fromkeys(STATUSES, 0)
    overdue = {name: 0 for name, _, _ in BUCKETS}
    for loan in loans:
        by_status[effective_status(loan, now)] += 1
        bucket = _bucket(days_past_due(loan, now))
        if bucket is not None:
            overdue[bucket] += 1
    disbursed = sum(by_status[status] for status in DISBURSED)
    # Counts are comparable across tokens; amounts are only given per token, under "tokens".
    return {
        "borrowers": len({loan.borrower for loan in loans}),
        "lenders": len({note.lender for note in notes}),
        "noteholders": len({note.owner for note in notes if note.owner is not None}),
        "loans": len(loans),
        "loans_by_status": by_status,
        "overdue_loans": overdue,
        "default_rate_by_count": _ratio(by_status["DEFAULTED"], disbursed),
        "tokens": per_token,
    }

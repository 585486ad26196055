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
- by grade (credit grade at request) and by month (UTC calendar month of the event), with the
  principal outstanding at the end of each month (`outstanding_end`: disbursed principal minus
  principal repaid, a defaulted loan's principal at default counting until the Recovery event that
  completes its debt), so the last month's equals the current outstanding.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import select
from sqlmodel import Session

from backend.core.views import DISBURSED, GRADE_LETTERS, STATUSES
from backend.db.models import Loan, Note, Repayment, Token, TokenInfo

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


LOAN_COLUMNS = (
    Loan.id, Loan.borrower, Loan.token, Loan.grade, Loan.principal, Loan.apr_bps, Loan.status, Loan.status_now,
    Loan.outstanding, Loan.past_due_now, Loan.days_past_due, Loan.default_principal, Loan.principal_paid,
    Loan.interest_paid, Loan.penalty_paid, Loan.recovered, Loan.requested_at, Loan.disbursed_at, Loan.closed_at,
    Loan.default_debt,
)  # fmt: skip


def _outstanding_changes(loans: list, repayments: list) -> dict[str, int]:
    """Net change of principal outstanding per month: + principal when disbursed, − principal of
    each repayment, − a defaulted loan's principal at default when a recovery completes its debt."""
    changes: dict[str, int] = defaultdict(int)
    defaulted = {loan.id: loan for loan in loans if loan.status == "DEFAULTED"}
    recovered: dict[int, int] = defaultdict(int)
    for loan in loans:
        if loan.disbursed_at is not None:
            changes[_month(loan.disbursed_at)] += loan.principal
    for row in sorted(repayments, key=lambda r: r.timestamp):
        if row.kind == "repayment":
            changes[_month(row.timestamp)] -= row.principal
        elif row.loan_id in defaulted:
            loan = defaulted[row.loan_id]
            before, recovered[row.loan_id] = recovered[row.loan_id], recovered[row.loan_id] + row.amount
            if before < loan.default_debt <= recovered[row.loan_id]:
                changes[_month(row.timestamp)] -= loan.default_principal
    return changes


def token_stats(loans: list, notes: list, repayments: list, token: Token | None) -> dict:
    """One token's figures from the loans' materialised columns (`derive.refresh`): `status_now`
    (as served), `outstanding`, `past_due_now`, `days_past_due`. `repayments` are Repayment rows
    (`loan_id`, `kind`, `timestamp`, `amount`, `principal`)."""
    disbursed = [loan for loan in loans if loan.status in DISBURSED]
    active = [loan for loan in loans if loan.status == "ACTIVE"]
    defaulted = [loan for loan in loans if loan.status == "DEFAULTED"]
    owing = [loan for loan in loans if loan.outstanding]
    outstanding = sum(loan.outstanding for loan in owing)
    volume = sum(loan.principal for loan in disbursed)

    buckets = {name: {"loans": 0, "past_due": 0, "principal_outstanding": 0} for name, _, _ in BUCKETS}
    for loan in owing:
        name = _bucket(loan.days_past_due)
        if name is not None:
            buckets[name]["loans"] += 1
            buckets[name]["past_due"] += loan.past_due_now
            buckets[name]["principal_outstanding"] += loan.outstanding
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
        by_status[loan.status_now] += 1

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
                "principal_outstanding": str(sum(loan.outstanding for loan in rows)),
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
    changes = _outstanding_changes(loans, repayments)
    by_month, outstanding_end = [], 0
    for month, data in sorted(months.items()):
        outstanding_end += changes.get(month, 0)
        by_month.append(
            {
                "month": month,
                **{
                    k: (str(v) if k not in ("requested", "disbursed", "defaulted") else v)
                    for k, v in data.items()
                },
                "outstanding_end": str(outstanding_end),
            }
        )

    token = token or Token(address="")
    return {
        "volume": {"count": len(disbursed), "principal": str(volume)},
        "requested": {"count": len(loans), "principal": str(sum(loan.principal for loan in loans))},
        "principal_outstanding": str(outstanding),
        "active_loans": len(active),
        "loans_by_status": by_status,
        "borrowers": len({loan.borrower for loan in loans}),
        "lenders": len({lender for lender, _ in notes}),
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


def token_entry(address: str, info: dict[str, TokenInfo], figures: dict) -> dict:
    meta = info.get(address)
    return {
        "token": address,
        "symbol": meta.symbol if meta else None,
        "decimals": meta.decimals if meta else None,
        **figures,
    }


def stats(session: Session) -> dict:
    """The whole disclosure, every token, from the materialised loan columns (Core rows, no ORM
    objects): what `derive.refresh` snapshots once per indexed batch."""
    loans = session.execute(select(*LOAN_COLUMNS).order_by(Loan.id)).all()
    notes = session.execute(
        select(Note.lender, Note.owner, Loan.token).join(Loan, Loan.id == Note.loan_id)
    ).all()
    repayments = session.execute(
        select(
            Loan.token,
            Repayment.loan_id,
            Repayment.kind,
            Repayment.timestamp,
            Repayment.amount,
            Repayment.principal,
        ).join(Loan, Loan.id == Repayment.loan_id)
    ).all()
    tokens = {row.address: row for row in session.scalars(select(Token))}
    info = {row.address: row for row in session.scalars(select(TokenInfo))}
    addresses = sorted(set(tokens) | {loan.token for loan in loans})
    per_token = []
    for address in addresses:
        per_token.append(
            token_entry(
                address,
                info,
                token_stats(
                    [loan for loan in loans if loan.token == address],
                    [(lender, owner) for lender, owner, token in notes if token == address],
                    [row for row in repayments if row.token == address],
                    tokens.get(address),
                ),
            )
        )
    by_status = dict.fromkeys(STATUSES, 0)
    overdue = {name: 0 for name, _, _ in BUCKETS}
    for loan in loans:
        by_status[loan.status_now] += 1
        bucket = _bucket(loan.days_past_due) if loan.outstanding else None
        if bucket is not None:
            overdue[bucket] += 1
    disbursed = sum(by_status[status] for status in DISBURSED)
    # Counts are comparable across tokens; amounts are only given per token, under "tokens".
    return {
        "borrowers": len({loan.borrower for loan in loans}),
        "lenders": len({lender for lender, _, _ in notes}),
        "noteholders": len({owner for _, owner, _ in notes if owner is not None}),
        "loans": len(loans),
        "loans_by_status": by_status,
        "overdue_loans": overdue,
        "default_rate_by_count": _ratio(by_status["DEFAULTED"], disbursed),
        "tokens": per_token,
    }


def for_token(body: dict, token: str, info: dict[str, TokenInfo]) -> dict:
    """The snapshot restricted to one token (a token without loans gets zeros)."""
    entries = [entry for entry in body["tokens"] if entry["token"] == token]
    return {**body, "tokens": entries or [token_entry(token, info, token_stats([], [], [], None))]}

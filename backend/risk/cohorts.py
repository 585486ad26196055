"""The book by cohort: vintage curves, roll-rate matrices and concentration.

- **Vintage curves** (账龄分析): loans grouped by token, origination month (UTC calendar month
  of disbursement) and grade; for each month on book m (a month is 30 days), the cumulative
  default rate (loans marked defaulted within m months of disbursement) and the cumulative
  30+ DPD rate (loans that reached 30 days past due, or defaulted, within m months), by
  disbursed principal and by count.
- **Roll rates** (迁徙率): snapshots of every disbursed loan's bucket every `period` seconds
  from the first disbursement up to the indexed block; for each pair of consecutive snapshots
  and each starting bucket, where the loans went (to a worse bucket, back to current, repaid).
- **Concentration** (集中度): per token, the largest borrowers' and lenders' shares of the
  outstanding principal, and the Herfindahl index (Σ share²). Lenders hold outstanding pro
  rata to their notes' shares (bought notes count for their current owner).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from backend.core.views import GRADE_LETTERS
from backend.risk.delinquency import BUCKETS, REPAID, Book, LoanHistory
from peerlend.vocabulary import DAY

MONTH = 30 * DAY
DPD30 = 30


def _month(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m")


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 6)


def vintages(book: Book) -> list[dict]:
    groups: dict[tuple[str, str, int | None], list[LoanHistory]] = defaultdict(list)
    for history in book.disbursed():
        loan = history.loan
        key = (loan.token, _month(loan.disbursed_at))
        groups[(*key, loan.grade)].append(history)
        groups[(*key, None)].append(history)
    out = []
    for (token, month, grade), histories in sorted(
        groups.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or 0)
    ):
        first = min(h.loan.disbursed_at for h in histories)
        months_on_book = max(1, -(-(book.now - first) // MONTH))
        principal = sum(h.loan.principal for h in histories)
        events = [
            (
                h.loan.principal,
                h.loan.closed_at if h.loan.status == "DEFAULTED" else None,
                h.first_time_dpd(DPD30, book.now),
                h.loan.disbursed_at,
            )
            for h in histories
        ]
        curve = []
        for m in range(1, months_on_book + 1):
            defaulted = [
                (p, d) for p, d, _, start in events if d is not None and d <= min(start + m * MONTH, book.now)
            ]
            late = [
                (p, d) for p, _, d, start in events if d is not None and d <= min(start + m * MONTH, book.now)
            ]
            curve.append(
                {
                    "months_on_book": m,
                    "default_rate": _ratio(sum(p for p, _ in defaulted), principal),
                    "dpd30_rate": _ratio(sum(p for p, _ in late), principal),
                    "default_rate_by_count": _ratio(len(defaulted), len(histories)),
                    "dpd30_rate_by_count": _ratio(len(late), len(histories)),
                }
            )
        out.append(
            {
                "token": token,
                "origination_month": month,
                "grade": grade,
                "grade_letter": GRADE_LETTERS.get(grade) if grade is not None else None,
                "loans": len(histories),
                "principal": str(principal),
                "curve": curve,
            }
        )
    return out


ROLL_FROM = BUCKETS[:-1]
ROLL_TO = (*BUCKETS, REPAID)


def roll_rates(
    book: Book,
    period: int = MONTH,
    *,
    token: str | None = None,
    grade: int | None = None,
    origination_month: str | None = None,
) -> dict:
    """The matrix over the whole book, or over one cohort (token, grade, origination month)."""
    histories = [
        h
        for h in book.disbursed()
        if (token is None or h.loan.token == token)
        and (grade is None or h.loan.grade == grade)
        and (origination_month is None or _month(h.loan.disbursed_at) == origination_month)
    ]
    counts = {a: dict.fromkeys(ROLL_TO, 0) for a in ROLL_FROM}
    snapshots: list[int] = []
    if histories:
        t = min(h.loan.disbursed_at for h in histories)
        while t < book.now:
            snapshots.append(t)
            t += period
        snapshots.append(book.now)
    for before, after in zip(snapshots, snapshots[1:], strict=False):
        for history in histories:
            start = history.state_at(before)
            if start is None or start not in counts:
                continue
            counts[start][history.state_at(after)] += 1
    return {
        "period_seconds": period,
        "snapshots": snapshots,
        "from": list(ROLL_FROM),
        "to": list(ROLL_TO),
        "counts": counts,
        "rates": {a: {b: _ratio(n, sum(row.values())) for b, n in row.items()} for a, row in counts.items()},
    }


def concentration(book: Book, top_n: int, warn_share: float) -> list[dict]:
    loans = {loan.id: loan for loan in book.loans}
    per_token: dict[str, dict[str, dict[str, int]]] = defaultdict(
        lambda: {"borrowers": defaultdict(int), "lenders": defaultdict(int)}
    )
    for loan in loans.values():
        if loan.status == "ACTIVE":
            per_token[loan.token]["borrowers"][loan.borrower] += loan.principal_outstanding
    for note in book.notes:
        loan = loans[note.loan_id]
        if loan.status == "ACTIVE" and note.owner is not None and note.share:
            per_token[loan.token]["lenders"][note.owner] += (
                note.share * loan.principal_outstanding // loan.principal
            )
    out = []
    for token, sides in sorted(per_token.items()):
        total = sum(sides["borrowers"].values())
        entry: dict = {"token": token, "principal_outstanding": str(total), "warnings": []}
        for side, holdings in sides.items():
            ranked = sorted(holdings.items(), key=lambda kv: (-kv[1], kv[0]))
            shares = [amount / total for _, amount in ranked] if total else []
            entry[side] = {
                "count": len(ranked),
                "top": [
                    {"account": account, "principal_outstanding": str(amount), "share": _ratio(amount, total)}
                    for account, amount in ranked[:top_n]
                ],
                "top_share": _ratio(sum(a for _, a in ranked[:top_n]), total),
                "hhi": round(sum(s * s for s in shares), 6) if shares else None,
            }
            for account, amount in ranked:
                if total and amount / total > warn_share:
                    entry["warnings"].append(
                        {
                            "side": side[:-1],
                            "account": account,
                            "share": _ratio(amount, total),
                            "threshold": warn_share,
                        }
                    )
        out.append(entry)
    return out

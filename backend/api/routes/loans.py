from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from sqlalchemy import func, or_, select

from backend.api.deps import (
    MAX_INT,
    Address,
    AsOfDep,
    GradeParam,
    MethodParam,
    PageDep,
    SessionDep,
    StatusParam,
    not_found,
)  # fmt: skip
from backend.api.schemas import LoanDetail, LoanSummary, Page
from backend.core.views import loan_detail
from backend.core.vocabulary import LoanStatus
from backend.db.models import Event, Loan, Note, Repayment

router = APIRouter(tags=["loans"])


SORTS = {
    "id": Loan.id,
    "principal": Loan.principal,
    "apr_bps": Loan.apr_bps,
    "requested_at": Loan.requested_at,
    "funding_deadline": Loan.funding_deadline,
    "grade": Loan.grade,
}
Sort = Literal[
    "id", "-id", "principal", "-principal", "apr_bps", "-apr_bps", "requested_at", "-requested_at",
    "funding_deadline", "-funding_deadline", "grade", "-grade",
]  # fmt: skip


def status_clause(status: LoanStatus, now: int):
    """Status as the API reports it (`status_now`, materialised at the indexed block): an OPEN
    loan whose funding deadline has passed is EXPIRED."""
    return Loan.status_now == status.name


@router.get("/loans", response_model=Page[LoanSummary], summary="Loans, filtered and sorted")
def list_loans(
    session: SessionDep,
    point: AsOfDep,
    page: PageDep,
    status: Annotated[
        StatusParam | None, Query(description="EXPIRED includes OPEN loans past their deadline")
    ] = None,
    borrower: Annotated[Address | None, Query()] = None,
    lender: Annotated[Address | None, Query(description="Funded a note of the loan, or owns one now")] = None,
    grade: Annotated[
        GradeParam | None, Query(description="Credit grade at request, A (1, best) to E (5)")
    ] = None,
    method: Annotated[MethodParam | None, Query()] = None,
    token: Annotated[Address | None, Query()] = None,
    sort: Annotated[Sort, Query(description="Field, '-' prefix for descending")] = "-id",
):
    query = select(Loan)
    if status is not None:
        query = query.where(status_clause(status, point.timestamp))
    if borrower is not None:
        query = query.where(Loan.borrower == borrower)
    if lender is not None:
        funded = select(Note.loan_id).where(or_(Note.lender == lender, Note.owner == lender))
        query = query.where(Loan.id.in_(funded))
    if grade is not None:
        query = query.where(Loan.grade == int(grade))
    if method is not None:
        query = query.where(Loan.method == int(method))
    if token is not None:
        query = query.where(Loan.token == token)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    column = SORTS[sort.lstrip("-")]
    order = [column.desc() if sort.startswith("-") else column.asc()]
    if column is not Loan.id:
        order.append(Loan.id.asc())
    summaries = session.scalars(
        query.with_only_columns(Loan.summary).order_by(*order).limit(page.limit).offset(page.offset)
    ).all()
    return {
        "items": summaries,
        "total": total,
        "limit": page.limit,
        "offset": page.offset,
    }


@router.get(
    "/loans/{loan_id}",
    response_model=LoanDetail,
    summary="One loan: terms, status, notes with owners, schedule, repayments, events",
)
def get_loan(session: SessionDep, point: AsOfDep, loan_id: Annotated[int, Path(ge=1, le=MAX_INT)]):
    loan = session.get(Loan, loan_id)
    if loan is None:
        raise not_found(f"loan {loan_id}")
    detail = loan_detail(session, loan, point.timestamp)
    detail["as_of"] = point.as_dict()
    detail["repayments"] = [
        repayment_out(row)
        for row in session.scalars(
            select(Repayment).where(Repayment.loan_id == loan_id).order_by(Repayment.event_id)
        )
    ]
    detail["events"] = [
        event_out(event)
        for event in session.scalars(
            select(Event).where(Event.loan_id == loan_id).order_by(Event.block_number, Event.log_index)
        )
    ]
    return detail


def event_out(event: Event) -> dict:
    return {
        "id": event.id,
        "block_number": event.block_number,
        "block_timestamp": event.block_timestamp,
        "tx_hash": event.tx_hash,
        "log_index": event.log_index,
        "contract": event.contract,
        "address": event.address,
        "name": event.name,
        "loan_id": event.loan_id,
        "note_id": event.note_id,
        "args": event.args,
    }


AMOUNT_FIELDS = frozenset(
    {"amount", "principal", "interest", "penalty", "fee_treasury", "fee_reserve", "to_noteholders", "to_reserve",
     "principal_outstanding"}
)  # fmt: skip


def repayment_out(row: Repayment) -> dict:
    return {key: str(value) if key in AMOUNT_FIELDS else value for key, value in row.model_dump().items()}

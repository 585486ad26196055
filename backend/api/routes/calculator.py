from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BeforeValidator, WithJsonSchema

from backend.api.schemas import CalculatorOut
from backend.core.vocabulary import Method, parse
from peerlend import loanmath

router = APIRouter(tags=["calculator"])


def method_number(value):
    """A method by name (any case, `-` or `_`) or by number; numbers out of range are left for
    the contract's own check ("loanbook: bad method")."""
    if isinstance(value, str) and not value.strip().isdigit():
        return int(parse(Method, value))
    return value


CalculatorMethod = Annotated[
    int,
    BeforeValidator(method_number),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "enum": [m.name for m in Method]},
            ],
            "description": "Repayment method: a number (0–3) or a name in any case, `-` or `_` "
            "(EQUAL_INSTALLMENT, equal-installment, ...)",
        }
    ),
]


@router.get(
    "/calculator",
    response_model=CalculatorOut,
    summary="Repayment schedule for given terms (the contract's `schedule` view, to the unit)",
    responses={422: {"description": "Terms the contract would reject, with its revert message"}},
)
def calculator(
    principal: Annotated[int, Query(ge=0, description="Principal in token base units")],
    apr_bps: Annotated[int, Query(ge=0, description="Annual rate in basis points (max 3600)")],
    installments: Annotated[int, Query(ge=0, description="1 to 360")],
    period_seconds: Annotated[int, Query(ge=0, description="Seconds between installments (1 to 366 days)")],
    method: Annotated[CalculatorMethod, Query(ge=0)] = 0,
    start: Annotated[int | None, Query(ge=0, description="Disbursement time, to get due times")] = None,
):
    try:
        rows = loanmath.schedule(principal, apr_bps, installments, period_seconds, method)
    except loanmath.TermsError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    annuity = (
        loanmath.annuity_payment(principal, apr_bps, installments, period_seconds)
        if method == loanmath.EQUAL_INSTALLMENT
        else None
    )
    interest = sum(row.interest for row in rows)
    return {
        "principal": str(principal),
        "apr_bps": apr_bps,
        "installments": installments,
        "period_seconds": period_seconds,
        "method": Method(method).name,
        "method_id": method,
        "annuity": None if annuity is None else str(annuity),
        "total_principal": str(sum(row.principal for row in rows)),
        "total_interest": str(interest),
        "total": str(principal + interest),
        "schedule": [
            {
                "installment": row.k,
                "due_offset": row.due_offset,
                "due_time": None if start is None else start + row.due_offset,
                "principal": str(row.principal),
                "interest": str(row.interest),
                "amount": str(row.amount),
            }
            for row in rows
        ],
    }

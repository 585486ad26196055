"""Dependencies: the database session, the as-of point, pagination and validated parameters."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from eth_utils import is_address, to_checksum_address
from fastapi import Depends, HTTPException, Query, Request
from pydantic import AfterValidator, BeforeValidator, WithJsonSchema
from sqlmodel import Session

from backend.api.cache import read_marker, record_block
from backend.core.views import AsOf, as_of
from backend.core.vocabulary import LoanGrade, LoanStatus, Method, parse
from peerlend.db import snapshot_reads


def get_session(request: Request) -> Iterator[Session]:
    """One transaction, and so one snapshot of the database, per request: an indexer commit
    mid-request cannot mix two indexed blocks in one answer. Reads (GET, HEAD) take a snapshot
    without waiting for the indexer; the few writes (acknowledgements) take the write lock. The
    indexed block this snapshot shows is recorded for the response cache."""
    engine = request.app.state.engine
    reads_only = request.method in ("GET", "HEAD")
    with Session(snapshot_reads(engine) if reads_only else engine, expire_on_commit=False) as session:
        if engine.dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        record_block(request.scope, read_marker(session))
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_as_of(session: SessionDep) -> AsOf:
    return as_of(session)


AsOfDep = Annotated[AsOf, Depends(get_as_of)]


# Ids, offsets and block numbers are 64-bit integers in the database.
MAX_INT = 2**63 - 1


def checksum(value: str) -> str:
    if not is_address(value):
        raise ValueError(f"not an Ethereum address: {value!r}")
    return to_checksum_address(value)


Address = Annotated[str, AfterValidator(checksum)]


@dataclass(frozen=True)
class Pagination:
    limit: int
    offset: int


def pagination(
    limit: Annotated[int, Query(ge=1, le=1_000, description="Page size (1–1000)")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT, description="Rows to skip")] = 0,
) -> Pagination:
    return Pagination(limit, offset)


PageDep = Annotated[Pagination, Depends(pagination)]


def not_found(what: str) -> HTTPException:
    return HTTPException(status_code=404, detail=f"{what} not found")


def vocabulary_param(vocabulary, described: str):
    """A query parameter taking a member of `vocabulary` by number or by name (any case, `-` or
    `_`): the schema lists both forms."""
    names = [member.name for member in vocabulary]
    numbers = [member.value for member in vocabulary]
    return Annotated[
        vocabulary,
        BeforeValidator(lambda value: parse(vocabulary, value)),
        WithJsonSchema(
            {
                "anyOf": [{"type": "integer", "enum": numbers}, {"type": "string", "enum": names}],
                "description": f"{described}: a number or a name, in any case ({', '.join(names)})",
            }
        ),
    ]


StatusParam = vocabulary_param(LoanStatus, "Loan status")
GradeParam = vocabulary_param(LoanGrade, "Credit grade")
MethodParam = vocabulary_param(Method, "Repayment method")

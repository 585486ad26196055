"""Loan statuses, repayment methods and credit grades: the contract's numbers and their names.

The API answers with both (`status` is the name, `grade` the number and `grade_letter` the
letter, `method` the name and `method_id` the number) and accepts either in filters, in any
case, with `-` or `_` between words (`status=3`, `status=active`, `method=equal-installment`).
"""

from __future__ import annotations

from enum import IntEnum


class LoanStatus(IntEnum):
    OPEN = 1
    FUNDED = 2
    ACTIVE = 3
    REPAID = 4
    DEFAULTED = 5
    CANCELLED = 6
    EXPIRED = 7


class Method(IntEnum):
    EQUAL_INSTALLMENT = 0
    EQUAL_PRINCIPAL = 1
    INTEREST_ONLY = 2
    BULLET = 3


class Grade(IntEnum):
    A = 1
    B = 2
    C = 3
    D = 4
    E = 5


def parse(vocabulary: type[IntEnum], value: object) -> IntEnum:
    """A member by number (`3`) or by name in any case, `-` or `_` between words."""
    if isinstance(value, vocabulary):
        return value
    text = str(value).strip()
    if text.isdigit():
        try:
            return vocabulary(int(text))
        except ValueError:
            pass
    else:
        key = text.upper().replace("-", "_").replace(" ", "_")
        if key in vocabulary.__members__:
            return vocabulary[key]
    choices = ", ".join(f"{member.name} ({member.value})" for member in vocabulary)
    raise ValueError(f"unknown {vocabulary.__name__} {text!r}; one of {choices}")

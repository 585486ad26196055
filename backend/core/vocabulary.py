"""How the API reads loan statuses, repayment methods and credit grades.

The words themselves (the contract's numbers and their names) are `peerlend.vocabulary`'s.

The API answers with both (`status` is the name, `grade` the number and `grade_letter` the
letter, `method` the name and `method_id` the number) and accepts either in filters, in any
case, with `-` or `_` between words (`status=3`, `status=active`, `method=equal-installment`).
"""

from __future__ import annotations

from enum import IntEnum

from peerlend.vocabulary import GRADES, Grade, LoanStatus, Method

__all__ = [
    "GRADE_NAMES",
    "METHOD_NAMES",
    "STATUS_NAMES",
    "Grade",
    "LoanGrade",
    "LoanStatus",
    "Method",
    "parse",
]

# The names the API answers with (its JSON schema lists them).
STATUS_NAMES = tuple(status.name for status in LoanStatus)
METHOD_NAMES = tuple(method.name for method in Method)
GRADE_NAMES = tuple(grade.letter for grade in GRADES)

# The grades a loan can carry: gating needs a scored grade, so grade 0 never reaches the book
# and is no filter value. Named "Grade" in messages ("unknown Grade '0'").
LoanGrade = IntEnum("Grade", {grade.name: grade.value for grade in GRADES})


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

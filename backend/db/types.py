"""Column types."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Numeric, String
from sqlalchemy.types import TypeDecorator

UINT256_DIGITS = 78  # len(str(2**256 - 1))


class Uint256(TypeDecorator):
    """A uint256 as a Python int, stored exactly.

    PostgreSQL: NUMERIC(78, 0). SQLite has no exact wide number type, so there it is a
    zero-padded 78-character string: exact, and it sorts and compares like the number.
    Sums over these columns are done in Python.
    """

    impl = String(UINT256_DIGITS)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(UINT256_DIGITS, 0))
        return dialect.type_descriptor(String(UINT256_DIGITS))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = int(value)
        if value < 0 or value >= 2**256:
            raise ValueError(f"not a uint256: {value}")
        if dialect.name == "postgresql":
            return Decimal(value)
        return str(value).zfill(UINT256_DIGITS)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return int(value)

    def coerce_compared_value(self, op, value):
        return self

"""Canonical JSON of an application's fields (RFC 8785, "JCS") and its keccak-256 hash.

The applicant signs `fieldsHash = keccak256(utf8(JCS(fields)))`, so client and server must turn
the same fields into the same bytes. JCS is the published answer: object keys sorted, no
whitespace, strings escaped as `JSON.stringify` does, numbers printed as ECMAScript prints
doubles (`72000.0` → `72000`, `1e21` → `1e+21`). In JavaScript: `keccak256(toUtf8Bytes(
canonicalize(fields)))` with the `canonicalize` npm package; in Python: `fields_hash(fields)`.

Accepted values: objects with string keys, arrays, strings, booleans, null, finite numbers;
integers must be exactly representable as a double (|n| ≤ 2^53), since JCS treats every number
as one.

The serialisation is the `rfc8785` package's. It refuses the integers ±2^53 themselves (it
keeps to ±(2^53 − 1)); they are exact doubles and this service has always accepted them, so
they are handed over as the doubles they are, which prints the same digits. Signed hashes stay
byte for byte what they were (`tests/oracle/test_service_units.py` pins documented vectors).
"""

from __future__ import annotations

from typing import Any

import rfc8785
from eth_utils import keccak

_MAX_EXACT_INT = 2**53


def _as_jcs_numbers(value: Any) -> Any:
    """`value` with integers checked against the double range and ±2^53 given as doubles."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        if abs(value) > _MAX_EXACT_INT:
            raise ValueError(f"integer {value} is not exactly representable as a double")
        return float(value) if abs(value) == _MAX_EXACT_INT else value
    if isinstance(value, dict):
        return {key: _as_jcs_numbers(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_as_jcs_numbers(item) for item in value]
    return value


def canonical_json(value: Any) -> str:
    """The JCS serialisation of `value`; ValueError for anything JSON or JCS cannot represent."""
    return rfc8785.dumps(_as_jcs_numbers(value)).decode("utf-8")


def fields_hash(fields: dict[str, Any]) -> bytes:
    """keccak256 of the UTF-8 canonical JSON of the application fields (32 bytes)."""
    return keccak(canonical_json(fields).encode("utf-8"))

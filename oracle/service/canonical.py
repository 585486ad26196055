"""Canonical JSON of an application's fields (RFC 8785, "JCS") and its keccak-256 hash.

The applicant signs `fieldsHash = keccak256(utf8(JCS(fields)))`, so client and server must turn
the same fields into the same bytes. JCS is the published answer: object keys sorted, no
whitespace, strings escaped as `JSON.stringify` does, numbers printed as ECMAScript prints
doubles (`72000.0` → `72000`, `1e21` → `1e+21`). In JavaScript: `keccak256(toUtf8Bytes(
canonicalize(fields)))` with the `canonicalize` npm package; in Python: `fields_hash(fields)`.

Accepted values: objects with string keys, arrays, strings, booleans, null, finite numbers;
integers must be exactly representable as a double (|n| ≤ 2^53), since JCS treats every number
as one.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

from eth_utils import keccak

_MAX_SAFE_INT = 2**53


def _number(value: float) -> str:
    """ECMAScript Number::toString for a finite double (what JCS prescribes)."""
    if not math.isfinite(value):
        raise ValueError("numbers must be finite (no NaN or Infinity)")
    if value == 0:
        return "0"
    if value < 0:
        return "-" + _number(-value)
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    k = len(text)
    n = exponent + len(digits)  # value = 0.text × 10^n
    if k <= n <= 21:
        return text + "0" * (n - k)
    if 0 < n <= 21:
        return text[:n] + "." + text[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + text
    exp = n - 1
    mantissa = text if k == 1 else text[0] + "." + text[1:]
    return f"{mantissa}e{'+' if exp >= 0 else '-'}{abs(exp)}"


def _string(value: str) -> str:
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        raise ValueError("strings must not contain lone surrogates")
    return json.dumps(value, ensure_ascii=False)


def canonical_json(value: Any) -> str:
    """The JCS serialisation of `value`."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        if abs(value) > _MAX_SAFE_INT:
            raise ValueError(f"integer {value} is not exactly representable as a double")
        return str(value)
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(canonical_json(item) for item in value) + "]"
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise ValueError("object keys must be strings")
        # JCS sorts by UTF-16 code units; for the BMP that equals code-point order.
        items = sorted(value.items(), key=lambda item: item[0].encode("utf-16-be"))
        return "{" + ",".join(f"{_string(key)}:{canonical_json(item)}" for key, item in items) + "}"
    raise ValueError(f"unsupported JSON value of type {type(value).__name__}")


def fields_hash(fields: dict[str, Any]) -> bytes:
    """keccak256 of the UTF-8 canonical JSON of the application fields (32 bytes)."""
    return keccak(canonical_json(fields).encode("utf-8"))

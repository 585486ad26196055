"""`curl .../stats | python -m scripts._demo.stats_digest [--symbol tUSD --decimals 6]`: the
disclosure headline as a few lines, in token units and percentages.

Prints every top-level number or short value of the /stats answer (the breakdowns by grade
and by month stay in the JSON), so the demo shows what the public disclosure page says. The
API gives amounts as strings of base units and rates as fractions; this turns them into
'9,000.00 tUSD' and '25.00%'.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from decimal import Decimal

SKIPPED = {"by_grade", "by_month"}


def amount(value: str, symbol: str, decimals: int) -> str:
    return f"{Decimal(int(value)).scaleb(-decimals):,.2f} {symbol}"


def show(key: str, value, symbol: str | None, decimals: int) -> str:
    if value is None:
        return "–"
    if key == "timestamp" and isinstance(value, int):
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M UTC")
    if (
        isinstance(value, float)
        or (key.endswith("rate") or "rate_" in key)
        and isinstance(value, int | float)
    ):
        return f"{value * 100:.2f}%"
    if symbol and isinstance(value, str) and value.isdigit():
        return amount(value, symbol, decimals)
    return str(value)


def digest(stats: dict, symbol: str | None = None, decimals: int = 0, prefix: str = "") -> list[str]:
    lines = []
    for key, value in stats.items():
        if key in SKIPPED or key == "token":
            continue
        words = key.replace("_", " ")
        if (
            isinstance(value, dict)
            and len(value) <= 8
            and all(not isinstance(v, dict | list) for v in value.values())
        ):
            inner = ", ".join(
                f"{k.replace('_', ' ')} {show(k, v, symbol, decimals)}" for k, v in value.items()
            )
            lines.append(f"   {prefix}{words}: {inner}")
        elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            for item in value:
                label = symbol or str(item.get("token") or item.get("id") or "")[:10]
                lines.extend(digest(item, symbol, decimals, prefix=f"{prefix}{label} "))
        elif not isinstance(value, dict | list):
            lines.append(f"   {prefix}{words}: {show(key, value, symbol if prefix else None, decimals)}")
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbol", default=None, help="the token's symbol, e.g. tUSD")
    parser.add_argument("--decimals", type=int, default=0, help="the token's decimals, e.g. 6")
    options = parser.parse_args()
    try:
        print("\n".join(digest(json.load(sys.stdin), options.symbol, options.decimals)))
    except (ValueError, AttributeError) as error:
        print(f"   (could not read /stats: {error})")
        sys.exit(1)

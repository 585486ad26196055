"""`curl .../stats | python -m scripts._demo.stats_digest`: the disclosure headline as a few lines.

Prints every top-level number or short value of the /stats answer (the breakdowns by grade
and by month stay in the JSON), so the demo shows what the public disclosure page says.
"""

from __future__ import annotations

import json
import sys


def digest(stats: dict, prefix: str = "") -> list[str]:
    lines = []
    for key, value in stats.items():
        if key in {"by_grade", "by_month"}:
            continue
        if (
            isinstance(value, dict)
            and len(value) <= 8
            and all(not isinstance(v, (dict, list)) for v in value.values())
        ):
            inner = ", ".join(f"{k} {v}" for k, v in value.items())
            lines.append(f"   {prefix}{key}: {inner}")
        elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            for item in value:
                label = item.get("token") or item.get("id") or ""
                lines.extend(digest(item, prefix=f"{prefix}{key}[{str(label)[:10]}] "))
        elif not isinstance(value, (dict, list)):
            lines.append(f"   {prefix}{key}: {value}")
    return lines


if __name__ == "__main__":
    try:
        print("\n".join(digest(json.load(sys.stdin))))
    except (ValueError, AttributeError) as error:
        print(f"   (could not read /stats: {error})")
        sys.exit(1)

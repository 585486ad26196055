"""How the wallet CLI writes numbers and times for people: amounts with the token symbol and
the token's decimals, times as dates with how far away they are, and plain tables.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import click

from peerlend.vocabulary import DAY


def parse_amount(text: str, decimals: int, what: str = "amount") -> int:
    """'1500.50' → 1_500_500_000 for 6 decimals; rejects signs, exponents that overflow,
    extra precision and anything that is not a plain positive number."""
    try:
        if not text.isascii():
            raise ValueError(text)
        value = Decimal(text.strip().replace(",", "").replace("_", ""))
    except (InvalidOperation, ValueError):
        raise click.BadParameter(f"{text!r} is not a number", param_hint=what) from None
    if not value.is_finite() or value <= 0:
        raise click.BadParameter(f"{what} must be positive, got {text}", param_hint=what)
    if value.adjusted() > 40:
        raise click.BadParameter(f"{text} is far larger than any token supply", param_hint=what)
    scaled = value.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise click.BadParameter(f"{text} has more than {decimals} decimals", param_hint=what)
    return int(scaled)


def parse_percent(text: str, what: str = "--apr") -> int:
    """'12.5' (percent a year) → 1250 basis points; whole basis points only."""
    try:
        if not text.isascii():
            raise ValueError(text)
        value = Decimal(text.strip().removesuffix("%"))
    except (InvalidOperation, ValueError):
        raise click.BadParameter(f"{text!r} is not a number", param_hint=what) from None
    if not value.is_finite() or value < 0:
        raise click.BadParameter(f"must be a percentage of 0 or more, got {text}", param_hint=what)
    if value > 1_000:
        raise click.BadParameter(f"{text}% a year is not a lending rate", param_hint=what)
    bps = value * 100
    if bps != bps.to_integral_value():
        raise click.BadParameter(f"{text} is finer than a basis point (0.01%)", param_hint=what)
    return int(bps)


def units(amount: int, decimals: int) -> str:
    """1_500_500_000, 6 → '1,500.50': thousands separators, at least two decimals, no trailing
    zeros beyond them, never rounded (every base unit shows)."""
    text = f"{Decimal(amount).scaleb(-decimals):,.{decimals}f}" if decimals else f"{amount:,}"
    if "." in text:
        whole, fraction = text.split(".")
        fraction = fraction.rstrip("0").ljust(min(2, decimals), "0")
        text = f"{whole}.{fraction}" if fraction else whole
    return text


class Money:
    """Formats base units of one token: `money(1_500_500_000)` → '1,500.50 tUSD'."""

    def __init__(self, symbol: str, decimals: int):
        self.symbol, self.decimals = symbol, decimals

    def __call__(self, amount: int) -> str:
        return f"{units(amount, self.decimals)} {self.symbol}"

    def parse(self, text: str, what: str = "AMOUNT") -> int:
        return parse_amount(text, self.decimals, what)


def date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def when(timestamp: int, now: int) -> str:
    """'2027-03-01 09:00 UTC (in 12 days)' / '(3 hours ago)', relative to the chain's clock."""
    return f"{date(timestamp)} ({relative(timestamp - now)})"


def relative(seconds: int) -> str:
    future = seconds >= 0
    span = abs(seconds)
    if span < 90:
        text = "now" if span < 5 else f"{span} seconds"
    elif span < 90 * 60:
        text = f"{round(span / 60)} minutes"
    elif span < 2 * DAY:
        text = f"{round(span / 3600)} hours"
    else:
        text = f"{round(span / DAY)} days"
    if text == "now":
        return text
    return f"in {text}" if future else f"{text} ago"


def same_decimals(cells: list[str]) -> list[str]:
    """Pads the fractions of a column of amounts ('1.5 tUSD', '2.25 tUSD') to one length, so
    the decimal points line up and every row shows the same precision."""
    split = []
    for cell in cells:
        number, _, suffix = str(cell).partition(" ")
        whole, dot, fraction = number.partition(".")
        split.append(
            (whole, fraction if dot else "", suffix, number.replace(",", "").replace(".", "").isdigit())
        )
    places = max((len(fraction) for _, fraction, _, numeric in split if numeric), default=0)
    out = []
    for (whole, fraction, suffix, numeric), cell in zip(split, cells, strict=True):
        if not numeric or not places:
            out.append(str(cell))
            continue
        text = f"{whole}.{fraction.ljust(places, '0')}"
        out.append(f"{text} {suffix}" if suffix else text)
    return out


def table(headers: list[str], rows: list[list[str]], right: set[int] = frozenset()) -> list[str]:
    """Aligned text columns; columns whose index is in `right` are right-aligned numbers with
    the same number of decimals in every row."""
    if rows:
        columns = [same_decimals(list(column)) if index in right else list(column)
                   for index, column in enumerate(zip(*rows, strict=True))]  # fmt: skip
        rows = [list(row) for row in zip(*columns, strict=True)]
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells):
        return "  ".join(
            str(cell).rjust(width) if index in right else str(cell).ljust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(headers), *(line(row) for row in rows)]


def short(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}"

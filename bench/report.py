"""Renders bench results as the Markdown table committed in bench/results/latest.md."""

from __future__ import annotations

from typing import Any


def _fmt(value) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _target_note(measured: int, target: int) -> str:
    if measured <= target:
        return f"≤ {target:,} ✓"
    return f"≤ {target:,} ✗ (+{measured - target:,}, {100 * (measured - target) / target:.0f}% over)"


def render(report: dict[str, Any]) -> str:
    lines = ["# Peerlend benchmarks", ""]
    m = report["machine"]
    lines += [
        f"Generated {report['generated_at']}{' (quick run)' if report.get('quick') else ''} on {m['cpu']}, "
        f"{m['cores']} cores, {m['memory_gib']} GiB; {m['os']}; Python {m['python']}; {m['anvil']}; vyper {m['vyper']}.",
        "Rerun with `make bench`. Gas comes from real anvil receipts (total transaction gas, including the 21,000 base).",
        "",
    ]
    gas = report.get("gas")
    if gas:
        targets = gas.get("targets", {})
        storage = gas.get("storage", {})
        lines += [
            "## Gas per operation",
            "",
            "Storage: distinct slots the transaction accessed and changed, over every contract it reached "
            "(LoanBook, LoanNote, the token, the registries), from anvil's prestateTracer; "
            '"new" are the changed slots that went from zero to nonzero (22,100 gas each).',
            "",
            "| operation | gas | target | slots accessed | slots changed | of which new |",
            "|---|---:|---|---:|---:|---:|",
        ]
        for name, value in gas["operations"].items():
            target = targets.get(name)
            slots = storage.get(name, {})
            lines.append(
                f"| {name} | {_fmt(value)} | {_target_note(value, target) if target else ''} "
                f"| {slots.get('slots_accessed', '')} | {slots.get('slots_written', '')} "
                f"| {slots.get('slots_new', '')} |"
            )
        if gas.get("sizes"):
            size_targets = gas.get("size_targets", {})
            lines += [
                "",
                "## Contract sizes (runtime bytecode)",
                "",
                "| contract | bytes | target |",
                "|---|---:|---|",
            ]
            for name, size in gas["sizes"].items():
                target = size_targets.get(name, 24_576)
                lines.append(f"| {name} | {_fmt(size)} | {_target_note(size, target)} |")
        lines += [
            "",
            "Anchors (published numbers of comparable operations):",
            "",
            "| anchor | gas |",
            "|---|---:|",
        ]
        lines += [f"| {name} | {_fmt(value)} |" for name, value in gas["anchors"].items()]
        lines += [
            "",
            "## Lender-count scaling (must stay flat)",
            "",
            "| lenders | repay | claim | last fund |",
            "|---:|---:|---:|---:|",
        ]
        for count, row in gas["lender_scaling"].items():
            lines.append(
                f"| {count} | {_fmt(row['repay'])} | {_fmt(row['claim'])} | {_fmt(row['fund_last'])} |"
            )
        lines += ["", "## push_scores", "", "| batch | total gas | gas per score |", "|---:|---:|---:|"]
        for size, row in gas["push_scores"].items():
            lines.append(f"| {size} | {_fmt(row['total'])} | {_fmt(row['per_score'])} |")
        lines += [
            "",
            "## Book growth",
            "",
            "| loans on the book | request_loan | first fund |",
            "|---:|---:|---:|",
        ]
        for size, row in gas["book_growth"].items():
            lines.append(f"| {int(size):,} | {_fmt(row['request'])} | {_fmt(row['fund_first'])} |")
        lines.append("")
    for section in ("indexer", "api", "suite"):
        if section in report and report[section]:
            lines += [f"## {section.capitalize()}", ""]
            lines += report[section].get("markdown", ["(no data)"])
            lines.append("")
    if "analysis" in report:
        lines += ["## Analysis", "", *report["analysis"], ""]
    return "\n".join(lines) + "\n"

"""What every section of `inspector bench` returns and how it prints: `Row` and `format_table`;
with `rss_mb`, the one measuring helper two sections share (the soak and the audit workers)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    section: str
    what: str
    value: float
    unit: str
    note: str = ""


def format_table(rows: list[Row]) -> str:
    width = max(len(r.what) for r in rows)
    lines = [f"{'section':<10} {'measure':<{width}} {'value':>10} {'unit':<8} note"]
    for r in rows:
        value = f"{r.value:>10.2f}" if abs(r.value) < 100 else f"{r.value:>10.0f}"
        lines.append(f"{r.section:<10} {r.what:<{width}} {value} {r.unit:<8} {r.note}")
    return "\n".join(lines)


def rss_mb() -> float:
    """Resident memory of this process in MB (Linux /proc; NaN elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        import os

        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return float("nan")

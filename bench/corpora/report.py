"""Plain-text tables and item lines shared by the corpus benches."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bench.corpora.corpus import Item


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned first column, right-aligned numbers; floats with three decimals."""
    cells = [[_cell(c) for c in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def item_line(item: Item) -> str:
    """One item as an error listing shows it: id, outlet, time, title."""
    return (
        f"{item.id:<18} {item.outlet.name[:16]:<16} {item.published:%Y-%m-%d %H:%M}  {item.title}"
    )


def emit_errors(listing: list[str], path: Path | None) -> int:
    """Print the error listing (one unindented line per error) or write it to `path`."""
    count = sum(not line.startswith(" ") for line in listing)
    text = "\n".join([f"service errors: {count}", *listing]) + "\n"
    if path:
        path.write_text(text, encoding="utf-8")
        print(f"\n{count} service errors written to {path}")
    else:
        print("\n" + text, end="")
    return count

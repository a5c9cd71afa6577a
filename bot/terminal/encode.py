"""The one encoder of exported rows: JSON, CSV or an aligned text table, for every report."""

from __future__ import annotations

import csv
import io
import json
from typing import Sequence

FORMATS = ("table", "json", "csv")


def encode(rows: list[dict], fmt_name: str, fields: Sequence[str],
           table_columns: Sequence[tuple[str, str]] | None = None) -> str:
    """Rows as JSON (a list of objects), CSV (a header of `fields`, then the rows; just the
    header when there are none) or an aligned text table of `table_columns` (field, heading;
    default: every field)."""
    if fmt_name == "json":
        return json.dumps(rows, indent=2, ensure_ascii=False)
    if fmt_name == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(fields), lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue().rstrip("\n")
    columns = table_columns or [(f, f) for f in fields]
    return text_table([[_cell(r.get(f)) for f, _ in columns] for r in rows], [h for _, h in columns])


def text_table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    """Left-aligned columns separated by two spaces."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row)]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


def _cell(value: object) -> str:
    return "" if value is None else str(value)

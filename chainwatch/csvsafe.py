"""CSV that spreadsheets open safely: no cell is read as a formula, Chinese survives Excel.

A cell that starts with = + - @ (or a tab or carriage return, which some
spreadsheets skip before looking for those) is prefixed with ``'`` so it is
shown as text instead of run (CSV/formula injection). Numbers are written as
numbers: a float is never a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"  # Excel guesses the encoding from it; without it Chinese arrives as mojibake


def safe_cell(value: Any) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(DANGEROUS_PREFIXES) else text


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]], bom: bool = True) -> str:
    buf = io.StringIO()
    if bom:
        buf.write(BOM)
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return buf.getvalue()

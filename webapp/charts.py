"""Small bar charts drawn server-side as inline SVG: no script, no external library, prints well.

Labels are escaped here (they come from article data), numbers are computed
here; the template only places the returned markup.
"""

from __future__ import annotations

from markupsafe import Markup, escape

BAR = "#3d6f99"
AXIS = "#98a2ad"
TEXT = "#3b4450"


def _nice_max(value: int) -> int:
    if value <= 5:
        return max(value, 1)
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 2.5, 5, 10):
        top = int(step * magnitude)
        if top >= value:
            return top
    return value


def column_chart(series: list[tuple[str, int]], title: str, width: int = 760, height: int = 220) -> Markup:
    """Vertical bars over time (e.g. alliances per month); every few labels shown to stay legible."""
    if not series:
        return Markup("")
    left, right, top, bottom = 36, 8, 24, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_max(max(v for _, v in series))
    slot = plot_w / len(series)
    bar_w = min(max(2.0, slot * 0.7), 44.0)  # a few months must not look like a few walls
    every = max(1, round(len(series) / 12))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
             f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>']
    # Gridlines at whole numbers only: "0, 0, 1" on an axis reads as a bug.
    fracs = (0, 0.5, 1) if peak % 2 == 0 else (0, 1)
    for frac in fracs:
        y = top + plot_h * (1 - frac)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e7eb"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="{AXIS}">'
                     f"{round(peak * frac)}</text>")
    for i, (label, value) in enumerate(series):
        x = left + i * slot + (slot - bar_w) / 2
        h = plot_h * value / peak
        parts.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                     f'fill="{BAR}" rx="1.5"><title>{escape(label)}: {value}</title></rect>')
        if i % every == 0:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                         f'font-size="11" fill="{TEXT}">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(items: list[tuple[str, int]], title: str, width: int = 760) -> Markup:
    """Horizontal bars, one per row (e.g. targets by region), longest first."""
    if not items:
        return Markup("")
    row_h, label_w, top = 24, 130, 8
    height = top * 2 + row_h * len(items)
    plot_w = width - label_w - 50
    peak = max(v for _, v in items) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
             f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for i, (label, value) in enumerate(items):
        y = top + i * row_h
        w = max(2.0, plot_w * value / peak)
        parts.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" font-size="12" fill="{TEXT}">'
                     f"{escape(label)}</text>")
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" fill="{BAR}" rx="2">'
                     f"<title>{escape(label)}: {value}</title></rect>")
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 16}" font-size="12" fill="{TEXT}">{value}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))

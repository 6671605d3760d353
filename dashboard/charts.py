"""Server-rendered SVG charts: no script, no chart library, nothing from a CDN.

Every label goes through `escape`, so a field or reason name cannot become markup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

BAR = "#2f6f9f"
ACCENT = "#c0612b"
MUTED = "#8a94a0"


def _fmt_int(value: float) -> str:
    return f"{value:g}"


def column_chart(points: Sequence[tuple[str, float | None]], *, title: str,
                 color: str = BAR, fmt: Callable[[float], str] = _fmt_int,
                 width: int = 900, height: int = 170) -> Markup:
    """Vertical bars, one per point (e.g. per day); None draws no bar."""
    top = max([v for _, v in points if v is not None] + [1.0])
    left, bottom, pad_top = 36, 28, 14
    plot_w, plot_h = width - left - 8, height - bottom - pad_top
    step = plot_w / max(1, len(points))
    bar_w = max(2.0, min(40.0, step * 0.7))
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<line x1="{left}" y1="{pad_top + plot_h}" x2="{width - 8}" '
             f'y2="{pad_top + plot_h}" stroke="{MUTED}" stroke-width="1"/>',
             f'<text x="{left - 6}" y="{pad_top + 4}" text-anchor="end" '
             f'class="tick">{escape(fmt(top))}</text>']
    label_every = max(1, len(points) // 10)
    for i, (label, value) in enumerate(points):
        x = left + i * step + (step - bar_w) / 2
        if value is not None and value > 0:
            h = plot_h * value / top
            parts.append(f'<rect x="{x:.1f}" y="{pad_top + plot_h - h:.1f}" width="{bar_w:.1f}" '
                         f'height="{h:.1f}" fill="{color}"><title>{escape(label)}: '
                         f'{escape(fmt(value))}</title></rect>')
        if i % label_every == 0:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - 10}" text-anchor="middle" '
                         f'class="tick">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_list(items: Sequence[tuple[str, float]], *, title: str, total: float | None = None,
             color: str = BAR, width: int = 420) -> Markup:
    """Horizontal bars with their label and count (and share of `total` if given)."""
    if not items:
        return Markup('<p class="empty">None in this range.</p>')
    row_h, label_w = 26, 150
    height = row_h * len(items) + 4
    top = max([v for _, v in items] + [1.0])
    bar_space = width - label_w - 80
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for i, (label, value) in enumerate(items):
        y = i * row_h + 4
        w = max(1.0, bar_space * value / top)
        share = f" ({100 * value / total:.0f}%)" if total else ""
        parts.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" class="label">'
                     f'{escape(label)}</text>'
                     f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 10}" '
                     f'fill="{color}"/>'
                     f'<text x="{label_w + w + 6:.1f}" y="{y + 15}" class="value">'
                     f'{escape(_fmt_int(value))}{escape(share)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def share_bar(part: int, whole: int, *, title: str, color: str = BAR) -> Markup:
    """One bar filled to part/whole, with the percentage."""
    pct = 100 * part / whole if whole else 0.0
    return Markup(
        f'<svg class="chart share" viewBox="0 0 300 28" role="img" aria-label="{escape(title)}">'
        f'<title>{escape(title)}</title>'
        f'<rect x="0" y="4" width="240" height="18" fill="#e6eaee"/>'
        f'<rect x="0" y="4" width="{2.4 * pct:.1f}" height="18" fill="{color}"/>'
        f'<text x="248" y="18" class="value">{pct:.0f}%</text></svg>')

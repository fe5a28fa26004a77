"""Small server-side SVG charts (no JavaScript library): grouped bars and lines.

Labels are escaped; sizes are in a fixed viewBox so the page scales them."""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from html import escape

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 480, 240, 48, 36, 16
COLORS = ("#2c6ecb", "#8051b8", "#d8a300", "#1f8a5b", "#c4572b")


def _scale(values: Sequence[int | float | Decimal]) -> float:
    top = max([float(v) for v in values] + [0.0])
    return top if top > 0 else 1.0


def _frame(body: list[str], labels: Sequence[str], series_names: Sequence[str], top: float, title: str) -> str:
    plot_h = HEIGHT - BOTTOM - TOP
    lines = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for i in range(5):
        y = TOP + plot_h - plot_h * i / 4
        lines.append(f'<line x1="{LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e3e3"/>'
                     f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end" fill="#616161">'
                     f'{_short(top * i / 4)}</text>')
    lines += body
    step = (WIDTH - LEFT - 8) / max(len(labels), 1)
    every = max(1, len(labels) // 8)
    for i, label in enumerate(labels):
        if i % every == 0:
            x = LEFT + step * (i + 0.5)
            lines.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 14}" font-size="10" text-anchor="middle" '
                         f'fill="#616161">{escape(str(label))}</text>')
    for i, name in enumerate(series_names):
        x = LEFT + i * 130
        lines.append(f'<rect x="{x}" y="{HEIGHT - 14}" width="10" height="10" fill="{COLORS[i % len(COLORS)]}"/>'
                     f'<text x="{x + 14}" y="{HEIGHT - 5}" font-size="10" fill="#303030">{escape(name)}</text>')
    lines.append("</svg>")
    return "".join(lines)


def _short(value: float) -> str:
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.1f}{suffix}"
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def bar_chart(title: str, labels: Sequence[str], series: dict[str, Sequence[int | Decimal]]) -> str:
    """Grouped bars: one group per label, one bar per series."""
    top = _scale([v for values in series.values() for v in values])
    plot_h = HEIGHT - BOTTOM - TOP
    step = (WIDTH - LEFT - 8) / max(len(labels), 1)
    width = step * 0.8 / max(len(series), 1)
    body = []
    for s, (name, values) in enumerate(series.items()):
        for i, value in enumerate(values):
            h = plot_h * float(value) / top
            x = LEFT + step * i + step * 0.1 + width * s
            body.append(f'<rect x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{width:.1f}" height="{h:.1f}" '
                        f'fill="{COLORS[s % len(COLORS)]}"><title>{escape(str(labels[i]))} · {escape(name)}: '
                        f'{escape(str(value))}</title></rect>')
    return _frame(body, labels, list(series), top, title)


def line_chart(title: str, labels: Sequence[str], series: dict[str, Sequence[int | Decimal | None]]) -> str:
    """Lines over the labels (months); None leaves a gap."""
    top = _scale([v for values in series.values() for v in values if v is not None])
    bottom = min([float(v) for values in series.values() for v in values if v is not None] + [0.0])
    span = top - bottom or 1.0
    plot_h = HEIGHT - BOTTOM - TOP
    step = (WIDTH - LEFT - 8) / max(len(labels), 1)
    body = []
    for s, (name, values) in enumerate(series.items()):
        points = [f"{LEFT + step * (i + 0.5):.1f},{TOP + plot_h - plot_h * (float(v) - bottom) / span:.1f}"
                  for i, v in enumerate(values) if v is not None]
        color = COLORS[s % len(COLORS)]
        if points:
            body.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{" ".join(points)}"/>')
            body += [f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="3" fill="{color}"><title>'
                     f'{escape(name)}</title></circle>' for p in points]
    return _frame(body, labels, list(series), top, title)

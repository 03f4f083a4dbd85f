"""Server-rendered SVG charts for the analytics page of the Django admin.

No JavaScript and no CDN: the page draws the same with the network cut off. Every label is escaped;
the numbers come from the selectors.
"""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 220
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 56, 16, 16, 36
GRID_LINES = 4


def _nice_ceiling(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return 1
    magnitude: float = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    while magnitude > value and magnitude > 1:
        magnitude /= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _format(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value == int(value):
        return f"{int(value)}"
    return f"{value:.1f}"


def line_chart(
    *, points: list[tuple[str, float]], title: str, colour: str, chart_id: str, unit: str = ""
) -> SafeString:
    """An area/line chart of a daily series: `points` = [(label, value), ...]."""
    plot_width = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_height = HEIGHT - PAD_TOP - PAD_BOTTOM
    maximum = _nice_ceiling(max((value for _, value in points), default=0))
    if all(float(value).is_integer() for _, value in points):
        # Counts: whole-number grid lines (0, 1, 2, 3, 4 rather than 0, 0.25, ...).
        maximum = -(-max(maximum, GRID_LINES) // GRID_LINES) * GRID_LINES
    count = len(points)

    def x(index: int) -> float:
        return PAD_LEFT + (plot_width * index / (count - 1) if count > 1 else plot_width / 2)

    def y(value: float) -> float:
        return PAD_TOP + plot_height - plot_height * value / maximum

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="analytics-chart" id="{escape(chart_id)}" '
        f'data-chart="line" data-points="{count}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" preserveAspectRatio="xMidYMid meet">',
        f"<title>{escape(title)}</title>",
    ]
    for line in range(GRID_LINES + 1):
        value = maximum * line / GRID_LINES
        grid_y = y(value)
        parts.append(
            f'<line x1="{PAD_LEFT}" y1="{grid_y:.1f}" x2="{WIDTH - PAD_RIGHT}" y2="{grid_y:.1f}" '
            f'stroke="#d9dee5" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{PAD_LEFT - 6}" y="{grid_y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#5b6573">{escape(unit)}{_format(value)}</text>'
        )
    if points:
        coordinates = [(x(index), y(value)) for index, (_, value) in enumerate(points)]
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in coordinates)
        baseline = PAD_TOP + plot_height
        area = f"{coordinates[0][0]:.1f},{baseline:.1f} {path} {coordinates[-1][0]:.1f},{baseline:.1f}"
        parts.append(f'<polygon class="chart-area" points="{area}" fill="{colour}" fill-opacity="0.15"/>')
        parts.append(
            f'<polyline class="chart-line" points="{path}" fill="none" stroke="{colour}" stroke-width="2" '
            f'stroke-linejoin="round"/>'
        )
        radius = 3 if count <= 62 else 1.5
        for (label, value), (px, py) in zip(points, coordinates, strict=True):
            parts.append(
                f'<circle class="chart-point" cx="{px:.1f}" cy="{py:.1f}" r="{radius}" fill="{colour}">'
                f"<title>{escape(label)}: {escape(unit)}{_format(value)}</title></circle>"
            )
        # Axis labels: first, middle and last day.
        for index in sorted({0, count // 2, count - 1}):
            anchor = "start" if index == 0 else "end" if index == count - 1 else "middle"
            parts.append(
                f'<text x="{x(index):.1f}" y="{HEIGHT - 12}" text-anchor="{anchor}" font-size="11" '
                f'fill="#5b6573">{escape(points[index][0])}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated label is escaped above


def bar_chart(*, bars: list[tuple[str, float]], title: str, colour: str, chart_id: str) -> SafeString:
    """Horizontal bars, one per label (top themes)."""
    row_height = 28
    label_width = 180
    height = max(len(bars), 1) * row_height + 16
    maximum = max((value for _, value in bars), default=0) or 1
    bar_space = WIDTH - label_width - 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="analytics-chart" id="{escape(chart_id)}" '
        f'data-chart="bar" data-points="{len(bars)}" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    if not bars:
        parts.append(f'<text x="{WIDTH / 2}" y="26" text-anchor="middle" font-size="13" fill="#5b6573">No data</text>')
    for index, (label, value) in enumerate(bars):
        top = 8 + index * row_height
        width = max(bar_space * value / maximum, 2)
        short_label = label if len(label) <= 26 else label[:25] + "…"
        parts.append(
            f'<text x="{label_width - 8}" y="{top + 17}" text-anchor="end" font-size="12" '
            f'fill="#1f2933">{escape(short_label)}</text>'
        )
        parts.append(
            f'<rect class="chart-bar" x="{label_width}" y="{top + 4}" width="{width:.1f}" height="{row_height - 10}" '
            f'rx="3" fill="{colour}"><title>{escape(label)}: {_format(value)}</title></rect>'
        )
        parts.append(
            f'<text x="{label_width + width + 6:.1f}" y="{top + 17}" font-size="12" fill="#1f2933">'
            f"{_format(value)}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated label is escaped above

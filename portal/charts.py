"""Pictures for the segment page and the "What works" page, drawn as inline SVG on the server (no JavaScript).

Every text that reaches the SVG is escaped here. Colours are presentation attributes, not
style attributes, so the page's Content-Security-Policy can forbid inline styles.
"""

from __future__ import annotations

from html import escape

from markupsafe import Markup

BAR_COLOUR = "#1f5f8b"
BASELINE_COLOUR = "#b3541e"
AXIS_COLOUR = "#555555"
TEXT_COLOUR = "#1a1a1a"
FONT = 'font-family="system-ui, sans-serif"'
LABEL_CHARACTERS = 44  # a longer bar label is cut, so it stays left of its bar

REGION_NAMES = {
    "SE-AB": "Stockholm", "SE-AC": "Västerbotten", "SE-BD": "Norrbotten", "SE-C": "Uppsala",
    "SE-D": "Södermanland", "SE-E": "Östergötland", "SE-F": "Jönköping", "SE-G": "Kronoberg",
    "SE-H": "Kalmar", "SE-I": "Gotland", "SE-K": "Blekinge", "SE-M": "Skåne",
    "SE-N": "Halland", "SE-O": "Västra Götaland", "SE-S": "Värmland", "SE-T": "Örebro",
    "SE-U": "Västmanland", "SE-W": "Dalarna", "SE-X": "Gävleborg", "SE-Y": "Västernorrland",
    "SE-Z": "Jämtland", "DE": "Germany", "FR": "France", "NL": "Netherlands", "NO": "Norway",
    "FI": "Finland", "DK": "Denmark", "PL": "Poland", "ES": "Spain", "IT": "Italy",
    "GB": "United Kingdom", "IE": "Ireland", "BE": "Belgium", "AT": "Austria",
    "CH": "Switzerland", "EE": "Estonia", "LV": "Latvia", "LT": "Lithuania", "PT": "Portugal",
    "IS": "Iceland", "US": "United States", "IN": "India",
}


def theme_label(theme: str) -> str:
    return theme.replace("_", " ").capitalize()


def region_label(code: str) -> str:
    # The export groups small regions as "other" so no region points at a handful of people.
    if code in ("other", "unknown"):
        return {"other": "Other regions", "unknown": "Unknown"}[code]
    name = REGION_NAMES.get(code.upper())
    return f"{name} ({code})" if name else code


def gains_chart(gains: list[dict], title: str) -> Markup:
    """Bars: share of expected interested people reached by targeting deciles 1..k.

    A dashed line shows what random targeting would reach (k tenths).
    """
    rows = sorted(gains, key=lambda row: row["decile"])
    width, height = 640, 320
    left, right, top, bottom = 56, 16, 20, 48
    plot_width, plot_height = width - left - right, height - top - bottom
    slot = plot_width / max(len(rows), 1)
    parts = [_svg_open(width, height, title)]
    for percent in (0, 25, 50, 75, 100):
        y = top + plot_height * (1 - percent / 100)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
                     f'stroke="#dddddd"/>')
        parts.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end" font-size="12" '
                     f'fill="{TEXT_COLOUR}" {FONT}>{percent} %</text>')
    baseline_points = []
    for index, row in enumerate(rows):
        gain = _clamp(float(row.get("cumulative_gain") or 0.0))
        bar_height = plot_height * gain
        x = left + index * slot + slot * 0.15
        parts.append(f'<rect x="{x:.1f}" y="{top + plot_height - bar_height:.1f}" '
                     f'width="{slot * 0.7:.1f}" height="{bar_height:.1f}" fill="{BAR_COLOUR}">'
                     f'<title>Top {int(row["decile"]) * 10} %: {gain * 100:.0f} % reached'
                     f'</title></rect>')
        parts.append(f'<text x="{x + slot * 0.35:.1f}" y="{height - bottom + 16}" '
                     f'text-anchor="middle" font-size="12" fill="{TEXT_COLOUR}" {FONT}>'
                     f'{int(row["decile"]) * 10} %</text>')
        random_share = _clamp(int(row["decile"]) / 10)
        baseline_points.append(f"{x + slot * 0.35:.1f},"
                               f"{top + plot_height * (1 - random_share):.1f}")
    if baseline_points:
        parts.append(f'<polyline points="{" ".join(baseline_points)}" fill="none" '
                     f'stroke="{BASELINE_COLOUR}" stroke-width="2" stroke-dasharray="6 4"/>')
    parts.append(f'<line x1="{left}" y1="{top + plot_height}" x2="{width - right}" '
                 f'y2="{top + plot_height}" stroke="{AXIS_COLOUR}"/>')
    parts.append(f'<text x="{left + plot_width / 2:.1f}" y="{height - 8}" text-anchor="middle" '
                 f'font-size="13" fill="{TEXT_COLOUR}" {FONT}>'
                 'Share of people targeted, best-scored first</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def share_bars(pairs: list[tuple[str, float]], title: str) -> Markup:
    """Horizontal bars, one per (label, share 0..1), in the given order."""
    width, row_height, label_width, right = 560, 30, 210, 60
    height = row_height * len(pairs) + 12
    bar_room = width - label_width - right
    largest = max((share for _, share in pairs), default=0.0) or 1.0
    parts = [_svg_open(width, height, title)]
    for index, (label, share) in enumerate(pairs):
        y = 6 + index * row_height
        bar_width = bar_room * _clamp(share) / _clamp(largest) if largest else 0
        parts.append(f'<text x="{label_width - 10}" y="{y + 19}" text-anchor="end" '
                     f'font-size="13" fill="{TEXT_COLOUR}" {FONT}>{escape(label)}</text>')
        parts.append(f'<rect x="{label_width}" y="{y + 4}" width="{bar_width:.1f}" '
                     f'height="{row_height - 10}" fill="{BAR_COLOUR}"/>')
        parts.append(f'<text x="{label_width + bar_width + 6:.1f}" y="{y + 19}" font-size="13" '
                     f'fill="{TEXT_COLOUR}" {FONT}>{share * 100:.0f} %</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def difference_bars(rows: list[tuple[str, float, float, float]], title: str) -> Markup:
    """Horizontal bars from zero, one per (label, difference, interval low, interval high) in
    percentage points, in the given order, each with its interval as a line across the bar."""
    width, row_height, label_width, right = 760, 28, 330, 24
    height = row_height * len(rows) + 40
    low = min([0.0, *(lo for _, _, lo, _ in rows)])
    high = max([0.0, *(hi for _, _, _, hi in rows)])
    span = (high - low) or 1.0
    plot_width = width - label_width - right

    def x_of(value: float) -> float:
        return label_width + plot_width * (value - low) / span

    parts = [_svg_open(width, height, title)]
    zero = x_of(0.0)
    for index, (label, difference, lo, hi) in enumerate(rows):
        y = 6 + index * row_height
        label = label if len(label) <= LABEL_CHARACTERS else label[:LABEL_CHARACTERS - 1] + "…"
        start, end = sorted((zero, x_of(difference)))
        parts.append(f'<text x="{label_width - 10}" y="{y + 18}" text-anchor="end" '
                     f'font-size="13" fill="{TEXT_COLOUR}" {FONT}>{escape(label)}</text>')
        parts.append(f'<rect x="{start:.1f}" y="{y + 5}" width="{end - start:.1f}" '
                     f'height="{row_height - 12}" fill="{BAR_COLOUR}"><title>{escape(label)}: '
                     f'{difference * 100:+.1f} points (95 % interval {lo * 100:+.1f} to '
                     f'{hi * 100:+.1f})</title></rect>')
        parts.append(f'<line x1="{x_of(lo):.1f}" y1="{y + row_height / 2 - 1:.1f}" '
                     f'x2="{x_of(hi):.1f}" y2="{y + row_height / 2 - 1:.1f}" '
                     f'stroke="{BASELINE_COLOUR}" stroke-width="2"/>')
    axis_y = 6 + row_height * len(rows)
    parts.append(f'<line x1="{zero:.1f}" y1="2" x2="{zero:.1f}" y2="{axis_y}" '
                 f'stroke="{AXIS_COLOUR}"/>')
    for value in (low, 0.0, high):
        parts.append(f'<text x="{x_of(value):.1f}" y="{axis_y + 16}" text-anchor="middle" '
                     f'font-size="12" fill="{TEXT_COLOUR}" {FONT}>{value * 100:+.0f}</text>')
    parts.append(f'<text x="{label_width + plot_width / 2:.1f}" y="{height - 4}" '
                 f'text-anchor="middle" font-size="13" fill="{TEXT_COLOUR}" {FONT}>'
                 'Difference in intent rate, percentage points (line: 95 % interval)</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _svg_open(width: int, height: int, title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}" '
            f'class="chart"><title>{escape(title)}</title>')


def _clamp(value: float) -> float:
    return min(max(value, 0.0), 1.0)


SECOND_COLOUR = "#2e7d32"
GRID_COLOUR = "#dddddd"
EXEMPT_COLOUR = "#8a8a8a"


def _value_axis(parts: list[str], low: float, high: float, box: tuple[int, int, int, int],
                text) -> None:
    """Five grid lines with their values from `low` to `high` over the plot `box`
    (left, top, right edge x, bottom edge y)."""
    left, top, right, bottom = box
    for index in range(5):
        value = low + (high - low) * index / 4
        y = bottom - (bottom - top) * index / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" '
                     f'stroke="{GRID_COLOUR}"/>')
        parts.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end" font-size="12" '
                     f'fill="{TEXT_COLOUR}" {FONT}>{escape(text(value))}</text>')


def _legend(parts: list[str], names: list[str], colours: tuple[str, ...], x: int, y: int) -> None:
    for index, name in enumerate(names):
        left = x + index * 190
        parts.append(f'<rect x="{left}" y="{y - 10}" width="14" height="10" '
                     f'fill="{colours[index % len(colours)]}"/>')
        parts.append(f'<text x="{left + 20}" y="{y}" font-size="12" fill="{TEXT_COLOUR}" '
                     f'{FONT}>{escape(name)}</text>')


def lines_chart(x_labels: list[str], series: list[tuple[str, list[float | None]]], title: str,
                text=lambda value: f"{value:.2f}") -> Markup:
    """One line per (name, values) over the x labels (scoring dates), each point marked; a
    missing value (None) leaves a gap. A legend names the lines."""
    width, height = 640, 300
    left, right, top, bottom = 64, 48, 36, 56  # room for the last date's label
    known = [value for _, values in series for value in values if value is not None]
    low, high = (min(known), max(known)) if known else (0.0, 1.0)
    padding = (high - low) * 0.1 or abs(high) * 0.1 or 0.1
    low, high = low - padding, high + padding
    plot_bottom, plot_right = height - bottom, width - right
    step = (plot_right - left) / max(len(x_labels) - 1, 1)

    def point(index: int, value: float) -> tuple[float, float]:
        x = left + index * step if len(x_labels) > 1 else (left + plot_right) / 2
        return x, plot_bottom - (plot_bottom - top) * (value - low) / (high - low)

    parts = [_svg_open(width, height, title)]
    _value_axis(parts, low, high, (left, top, plot_right, plot_bottom), text)
    colours = (BAR_COLOUR, BASELINE_COLOUR, SECOND_COLOUR)
    for number, (name, values) in enumerate(series):
        colour = colours[number % len(colours)]
        runs: list[list[str]] = [[]]
        for index, value in enumerate(values):
            if value is None:
                runs.append([])
                continue
            x, y = point(index, value)
            runs[-1].append(f"{x:.1f},{y:.1f}")
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}">'
                         f'<title>{escape(name)} {escape(x_labels[index])}: '
                         f'{escape(text(value))}</title></circle>')
        for run in runs:
            if len(run) > 1:
                parts.append(f'<polyline points="{" ".join(run)}" fill="none" '
                             f'stroke="{colour}" stroke-width="2"/>')
    for index, label in enumerate(x_labels):
        x, _ = point(index, low)
        parts.append(f'<text x="{x:.1f}" y="{plot_bottom + 18}" text-anchor="middle" '
                     f'font-size="11" fill="{TEXT_COLOUR}" {FONT}>{escape(label)}</text>')
    _legend(parts, [name for name, _ in series], colours, left, height - 10)
    parts.append("</svg>")
    return Markup("".join(parts))


def decile_pairs_chart(deciles: list[tuple[int, float, float]], title: str) -> Markup:
    """Per decile (1 = best-scored tenth), two bars: the mean predicted score and the realised
    rate, as (decile, predicted, realised)."""
    width, height = 640, 300
    left, right, top, bottom = 64, 16, 20, 56
    plot_bottom, plot_right = height - bottom, width - right
    high = max([value for _, predicted, realised in deciles
                for value in (predicted, realised)] + [0.01]) * 1.1
    slot = (plot_right - left) / max(len(deciles), 1)
    parts = [_svg_open(width, height, title)]
    _value_axis(parts, 0.0, high, (left, top, plot_right, plot_bottom),
                lambda value: f"{value * 100:.0f} %")
    colours = (BAR_COLOUR, BASELINE_COLOUR)
    for index, (decile, *values) in enumerate(deciles):
        for number, value in enumerate(values):
            bar = (plot_bottom - top) * value / high
            x = left + index * slot + slot * (0.1 + 0.4 * number)
            what = ("predicted", "realised")[number]
            parts.append(f'<rect x="{x:.1f}" y="{plot_bottom - bar:.1f}" width="{slot * 0.38:.1f}" '
                         f'height="{bar:.1f}" fill="{colours[number]}"><title>Decile {decile} '
                         f'{what}: {value * 100:.1f} %</title></rect>')
        parts.append(f'<text x="{left + (index + 0.5) * slot:.1f}" y="{plot_bottom + 18}" '
                     f'text-anchor="middle" font-size="12" fill="{TEXT_COLOUR}" {FONT}>'
                     f'{decile}</text>')
    _legend(parts, ["mean predicted score", "realised intent rate"], colours, left, height - 10)
    parts.append("</svg>")
    return Markup("".join(parts))


def value_bars(pairs: list[tuple[str, float]], title: str, threshold: float,
               exempt: frozenset[str] = frozenset()) -> Markup:
    """Horizontal bars, one per (label, value), with a dashed line at `threshold`; a bar past
    it is drawn in the warning colour, unless its label is `exempt` (grey: shown, no alarm)."""
    width, row_height, label_width, right = 640, 26, 260, 60
    height = row_height * len(pairs) + 12
    largest = max([value for _, value in pairs] + [threshold]) * 1.05
    room = width - label_width - right
    parts = [_svg_open(width, height, title)]
    for index, (label, value) in enumerate(pairs):
        y = 6 + index * row_height
        bar = room * max(value, 0.0) / largest
        colour = (EXEMPT_COLOUR if label in exempt
                  else BASELINE_COLOUR if value > threshold else BAR_COLOUR)
        parts.append(f'<text x="{label_width - 10}" y="{y + 17}" text-anchor="end" '
                     f'font-size="12" fill="{TEXT_COLOUR}" {FONT}>{escape(label)}</text>')
        parts.append(f'<rect x="{label_width}" y="{y + 4}" width="{bar:.1f}" '
                     f'height="{row_height - 10}" fill="{colour}"/>')
        parts.append(f'<text x="{label_width + bar + 6:.1f}" y="{y + 17}" font-size="12" '
                     f'fill="{TEXT_COLOUR}" {FONT}>{value:.3f}</text>')
    x = label_width + room * threshold / largest
    parts.append(f'<line x1="{x:.1f}" y1="2" x2="{x:.1f}" y2="{height - 2}" '
                 f'stroke="{AXIS_COLOUR}" stroke-dasharray="4 3"><title>threshold '
                 f'{threshold:g}</title></line>')
    parts.append("</svg>")
    return Markup("".join(parts))

"""Pictures drawn from the measurements, as SVG text: an iris flower, a glass of wine, the grade scale.

The flower and the glass are the pictures of iris and wine (``PICTURES``); other datasets have
none. The grade scale serves every regression dataset (its grades are the spec's labels).

Drawn by our own code so that the picture *is* the input: a sepal twice as long is drawn twice as
long, at a fixed scale with a scale bar (the scale only shrinks when a flower would not fit, and
the bar shows it). SVG keeps the drawings crisp and lets both apps show them (Gradio as HTML,
Streamlit as an image), and lets tests read the geometry back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from dailyml.datasets import IRIS, WINE

# -- iris ----------------------------------------------------------------------------------------
IRIS_PX_PER_CM = 17.0  # scale used whenever the flower fits (every real iris does)
_IRIS_W, _IRIS_H = 340, 380
_IRIS_CX, _IRIS_CY = 170, 165
_IRIS_MAX_REACH = 148.0  # px from the centre an organ may reach before the scale shrinks

_SEPAL_FILL, _SEPAL_EDGE = "#6f5fd8", "#3f32a0"
_PETAL_FILL, _PETAL_EDGE = "#b9adf7", "#5a4cc4"
_SIGNAL = "#f2c230"  # the yellow patch at the base of an iris fall


@dataclass(frozen=True)
class IrisGeometry:
    """The drawn sizes in pixels and the scale that maps centimetres to pixels."""

    px_per_cm: float
    sepal_length_px: float
    sepal_width_px: float
    petal_length_px: float
    petal_width_px: float


def iris_geometry(sepal_length: float, sepal_width: float, petal_length: float, petal_width: float) -> IrisGeometry:
    """Pixel sizes of each organ: proportional to the measurement, one scale for all four."""
    longest = max(sepal_length, petal_length, sepal_width / 2, petal_width / 2, 1e-9)
    scale = min(IRIS_PX_PER_CM, _IRIS_MAX_REACH / longest)
    return IrisGeometry(
        px_per_cm=scale,
        sepal_length_px=sepal_length * scale,
        sepal_width_px=sepal_width * scale,
        petal_length_px=petal_length * scale,
        petal_width_px=petal_width * scale,
    )


def _leaf_path(length: float, width: float) -> str:
    """A leaf shape from the origin along +x, ``length`` long and ``width`` wide at its widest.

    A cubic Bezier with both control points at ``±2w/3`` bulges to exactly ``w/2``, so the drawn
    width equals ``width``.
    """
    c = width * 2 / 3
    a, b = length * 0.22, length * 0.86
    return f"M0 0C{a:.2f} {-c:.2f} {b:.2f} {-c:.2f} {length:.2f} 0C{b:.2f} {c:.2f} {a:.2f} {c:.2f} 0 0Z"


def _fmt_cm(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def iris_svg(
    sepal_length: float,
    sepal_width: float,
    petal_length: float,
    petal_width: float,
    *,
    caption: str | None = None,
) -> str:
    """An iris seen from above: three sepals (falls) and three petals (standards), drawn to scale."""
    g = iris_geometry(sepal_length, sepal_width, petal_length, petal_width)
    sepal = _leaf_path(g.sepal_length_px, g.sepal_width_px)
    signal = _leaf_path(g.sepal_length_px * 0.42, g.sepal_width_px * 0.38)
    petal = _leaf_path(g.petal_length_px, g.petal_width_px)
    parts = []
    for angle in (90, 210, 330):  # falls droop: one points down, two to the upper sides
        parts.append(
            f'<g data-part="sepal" transform="rotate({angle})">'
            f'<path d="{sepal}" fill="url(#sepal-grad)" stroke="{_SEPAL_EDGE}" stroke-width="1.2"/>'
            f'<path d="{signal}" transform="translate({g.sepal_length_px * 0.12:.2f} 0)" fill="{_SIGNAL}" '
            f'opacity="0.9"/>'
            f'<line x1="{g.sepal_length_px * 0.1:.2f}" y1="0" x2="{g.sepal_length_px * 0.9:.2f}" y2="0" '
            f'stroke="#ffffff" stroke-opacity="0.55" stroke-width="1"/></g>'
        )
    for angle in (270, 30, 150):  # standards stand up between the falls
        parts.append(
            f'<g data-part="petal" transform="rotate({angle})">'
            f'<path d="{petal}" fill="url(#petal-grad)" stroke="{_PETAL_EDGE}" stroke-width="1"/></g>'
        )
    bar_px = g.px_per_cm  # one centimetre
    text = caption or (
        f"sepal {_fmt_cm(sepal_length)} × {_fmt_cm(sepal_width)} cm · "
        f"petal {_fmt_cm(petal_length)} × {_fmt_cm(petal_width)} cm"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_IRIS_W} {_IRIS_H}" width="{_IRIS_W}" '
        f'height="{_IRIS_H}" role="img" aria-label="{escape(text)}" class="dailyml-iris" '
        f'data-px-per-cm="{g.px_per_cm:.4f}">'
        f"<title>{escape(text)}</title>"
        "<defs>"
        f'<radialGradient id="sepal-grad" cx="0" cy="0.5" r="1"><stop offset="0" stop-color="#9b8ef0"/>'
        f'<stop offset="1" stop-color="{_SEPAL_FILL}"/></radialGradient>'
        f'<radialGradient id="petal-grad" cx="0" cy="0.5" r="1"><stop offset="0" stop-color="#e6e0ff"/>'
        f'<stop offset="1" stop-color="{_PETAL_FILL}"/></radialGradient>'
        "</defs>"
        f'<rect x="0" y="0" width="{_IRIS_W}" height="{_IRIS_H}" rx="14" fill="#f6f8f4"/>'
        f'<g transform="translate({_IRIS_CX} {_IRIS_CY})">{"".join(parts)}'
        '<circle r="5" fill="#e9d66b" stroke="#b59d2a" stroke-width="1"/></g>'
        f'<text x="{_IRIS_W / 2}" y="{_IRIS_H - 42}" text-anchor="middle" font-family="sans-serif" '
        f'font-size="13" fill="#333">{escape(text)}</text>'
        f'<g data-part="scale-bar" transform="translate(18 {_IRIS_H - 18})">'
        f'<line x1="0" y1="0" x2="{bar_px:.2f}" y2="0" stroke="#333" stroke-width="2"/>'
        f'<line x1="0" y1="-4" x2="0" y2="4" stroke="#333"/>'
        f'<line x1="{bar_px:.2f}" y1="-4" x2="{bar_px:.2f}" y2="4" stroke="#333"/>'
        f'<text x="{bar_px + 6:.2f}" y="4" font-family="sans-serif" font-size="11" fill="#555">1 cm</text></g>'
        "</svg>"
    )


# -- wine ----------------------------------------------------------------------------------------
WINE_COLOURS = {
    "red": ("#5c0f22", "#9e2239"),
    "white": ("#d9c45a", "#f4ebb0"),
}


def wine_glass_svg(wine_type: str, *, caption: str | None = None) -> str:
    """A wine glass filled with wine of the chosen colour (``red`` or ``white``)."""
    dark, light = WINE_COLOURS.get(wine_type, ("#999999", "#cccccc"))
    bowl = "M58 18C40 70 40 124 100 160C160 124 160 70 142 18Z"
    text = caption or f"{wine_type} wine"
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 270" width="200" height="270" role="img" '
        f'aria-label="{escape(text)}" class="dailyml-wine-glass" data-wine-type="{escape(wine_type)}">'
        f"<title>{escape(text)}</title>"
        "<defs>"
        f'<linearGradient id="wine-{escape(wine_type)}" x1="0" y1="0" x2="1" y2="1">'
        f'<stop offset="0" stop-color="{light}"/><stop offset="1" stop-color="{dark}"/></linearGradient>'
        f'<clipPath id="bowl-clip"><path d="{bowl}"/></clipPath>'
        "</defs>"
        '<rect x="0" y="0" width="200" height="270" rx="14" fill="#f6f6f8"/>'
        f'<g clip-path="url(#bowl-clip)"><rect data-part="wine" x="30" y="78" width="140" height="90" '
        f'fill="url(#wine-{escape(wine_type)})"/>'
        f'<ellipse cx="100" cy="78" rx="60" ry="5" fill="{light}" opacity="0.85"/></g>'
        f'<path d="{bowl}" fill="#dfe7ef" fill-opacity="0.18" stroke="#8593a3" stroke-width="2.2"/>'
        '<path d="M62 36C54 70 56 104 74 128" fill="none" stroke="#ffffff" stroke-opacity="0.7" '
        'stroke-width="5" stroke-linecap="round"/>'
        '<rect x="97" y="159" width="6" height="66" fill="#c9d2dc" stroke="#8593a3" stroke-width="1.2"/>'
        '<ellipse cx="100" cy="228" rx="42" ry="8" fill="#dfe7ef" stroke="#8593a3" stroke-width="2"/>'
        f'<text x="100" y="258" text-anchor="middle" font-family="sans-serif" font-size="14" '
        f'fill="#333">{escape(text)}</text>'
        "</svg>"
    )


GRADES = tuple(range(3, 10))  # wine's; a regression spec's grades are its labels
_X0 = 46.0
_SCALE_CELLS_PX = 392.0  # the cells' total width: 56 px a grade for seven, narrower for more


def _grade_colour(grade: int, grades: Sequence[int]) -> str:
    """From red (the lowest grade) through amber to green (the highest)."""
    t = (grade - grades[0]) / max(grades[-1] - grades[0], 1)
    hue = 4 + t * 126
    return f"hsl({hue:.0f}, 62%, 58%)"


def _grade_x(value: float, grades: Sequence[int], cell: float) -> float:
    """Centre x of a grade (or any score, clipped just outside the scale)."""
    clipped = min(max(value, grades[0] - 0.45), grades[-1] + 0.45)
    return _X0 + (clipped - grades[0]) * cell + cell / 2


def grade_scale_svg(
    predicted: int, score: float | None = None, actual: int | None = None, *, grades: Sequence[int] = GRADES
) -> str:
    """The grade scale (every integer from the lowest to the highest of ``grades``: 3-9 for wine)
    with the predicted grade highlighted, the raw score marked above it and, when known, the
    actual grade marked below it."""
    grades = range(min(grades), max(grades) + 1)
    cell = min(56.0, max(28.0, _SCALE_CELLS_PX / len(grades)))
    width = _X0 * 2 + cell * len(grades)
    cells = []
    for g in grades:
        x = _X0 + (g - grades[0]) * cell
        chosen = g == predicted
        part = ' data-part="predicted-grade"' if chosen else ""
        cells.append(
            f'<rect{part} x="{x + 2:.1f}" y="44" width="{cell - 4:.1f}" height="34" rx="6" '
            f'fill="{_grade_colour(g, grades)}" fill-opacity="{1 if chosen else 0.35}" '
            f'stroke="{"#1d2433" if chosen else "none"}" stroke-width="3"/>'
            f'<text x="{x + cell / 2:.1f}" y="67" text-anchor="middle" font-family="sans-serif" '
            f'font-size="{18 if chosen else 15}" font-weight="{700 if chosen else 400}" fill="#1d2433">{g}</text>'
        )
    marks = []
    if score is not None:
        x = _grade_x(score, grades, cell)
        marks.append(
            f'<g data-part="score" data-score="{score:.4f}"><path d="M{x - 7:.1f} 28L{x + 7:.1f} 28L{x:.1f} 40Z" '
            f'fill="#1d2433"/><text x="{x:.1f}" y="22" text-anchor="middle" font-family="sans-serif" '
            f'font-size="12" fill="#1d2433">score {score:.2f}</text></g>'
        )
    if actual is not None:
        x = _grade_x(actual, grades, cell)
        marks.append(
            f'<g data-part="actual" data-actual="{actual}"><path d="M{x - 7:.1f} 94L{x + 7:.1f} 94L{x:.1f} 82Z" '
            f'fill="#0b7a3e"/><text x="{x:.1f}" y="110" text-anchor="middle" font-family="sans-serif" '
            f'font-size="12" fill="#0b7a3e">actual {actual}</text></g>'
        )
    label = f"predicted grade {predicted}" + (f", actual {actual}" if actual is not None else "")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} 118" width="{width:.0f}" height="118" '
        f'role="img" aria-label="{label}" class="dailyml-grade-scale" data-predicted="{predicted}">'
        f"<title>{label}</title>"
        f'<rect x="0" y="0" width="{width:.0f}" height="118" rx="14" fill="#f6f6f8"/>'
        f'<text x="10" y="66" font-family="sans-serif" font-size="11" fill="#777">poor</text>'
        f'<text x="{width - 10:.0f}" y="66" text-anchor="end" font-family="sans-serif" font-size="11" '
        f'fill="#777">great</text>'
        f"{''.join(cells)}{''.join(marks)}</svg>"
    )


# -- which dataset has which picture -------------------------------------------------------------
def _iris_picture(row: Mapping[str, Any]) -> str | None:
    # No picture of an impossible flower: the form's message says what is wrong.
    if IRIS.validate_row(row):
        return None
    sizes = {name: float(row[name]) for name in IRIS.feature_names}
    return iris_svg(sizes["sepal_length"], sizes["sepal_width"], sizes["petal_length"], sizes["petal_width"])


def _wine_picture(row: Mapping[str, Any]) -> str | None:
    colour = row.get("wine_type")
    return wine_glass_svg(colour) if isinstance(colour, str) and colour else None


# The two built-in datasets have a picture of their own; every other dataset is shown without one.
PICTURES: dict[str, Callable[[Mapping[str, Any]], str | None]] = {
    IRIS.name: _iris_picture,
    WINE.name: _wine_picture,
}


def has_picture(dataset: str) -> bool:
    """Whether ``dataset`` has a picture of its own (the iris flower, the wine glass)."""
    return dataset in PICTURES


def picture(dataset: str, row: Mapping[str, Any]) -> str | None:
    """The dataset's own picture of a row of features, as SVG; None for a dataset without one, or
    for a row that cannot be drawn (an impossible flower)."""
    draw = PICTURES.get(dataset)
    return draw(row) if draw else None


def svg_data_uri(svg: str) -> str:
    """The SVG as a ``data:`` URI, for an ``<img>`` tag."""
    import base64

    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def html_figure(svg: str, caption: str = "") -> str:
    """An SVG inside a centred figure, for HTML outputs."""
    cap = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return f'<figure class="dailyml-figure" style="margin:0;text-align:center">{svg}{cap}</figure>'


__all__ = [
    "GRADES",
    "IRIS_PX_PER_CM",
    "IrisGeometry",
    "PICTURES",
    "grade_scale_svg",
    "has_picture",
    "html_figure",
    "iris_geometry",
    "iris_svg",
    "picture",
    "svg_data_uri",
    "wine_glass_svg",
]

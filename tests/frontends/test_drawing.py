"""The drawings follow the measurements: sizes in proportion, the chosen colour, the right grade."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from dailyml.datasets import IRIS, WINE
from frontends.common.drawing import (
    IRIS_PX_PER_CM,
    WINE_COLOURS,
    grade_scale_svg,
    has_picture,
    iris_geometry,
    iris_svg,
    picture,
    wine_glass_svg,
)

SVG = "{http://www.w3.org/2000/svg}"


def _parts(svg: str, part: str) -> list[ET.Element]:
    return [e for e in ET.fromstring(svg).iter() if e.get("data-part") == part]


def _leaf_extent(group: ET.Element) -> tuple[float, float]:
    """Length (tip x) and width (twice the control-point bulge times 3/4) of a drawn leaf path."""
    d = group.find(f"{SVG}path").get("d")  # type: ignore[union-attr]
    numbers = [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", d)]
    tip_x = numbers[6]
    control_y = abs(numbers[3])
    return tip_x, 2 * 0.75 * control_y


def test_iris_organs_are_drawn_to_one_fixed_scale() -> None:
    small = iris_geometry(5.0, 3.0, 1.5, 0.2)
    big = iris_geometry(7.5, 3.0, 6.0, 2.4)
    assert small.px_per_cm == big.px_per_cm == IRIS_PX_PER_CM
    assert big.sepal_length_px / small.sepal_length_px == pytest.approx(1.5)
    assert big.petal_length_px / small.petal_length_px == pytest.approx(4.0)
    assert big.petal_width_px / small.petal_width_px == pytest.approx(12.0)


def test_iris_svg_sizes_follow_the_measurements() -> None:
    svg = iris_svg(6.0, 3.0, 4.0, 1.0)
    sepals, petals = _parts(svg, "sepal"), _parts(svg, "petal")
    assert len(sepals) == 3 and len(petals) == 3
    sepal_len, sepal_wid = _leaf_extent(sepals[0])
    petal_len, petal_wid = _leaf_extent(petals[0])
    assert sepal_len == pytest.approx(6.0 * IRIS_PX_PER_CM, rel=1e-3)
    assert sepal_wid == pytest.approx(3.0 * IRIS_PX_PER_CM, rel=1e-2)
    assert petal_len == pytest.approx(4.0 * IRIS_PX_PER_CM, rel=1e-3)
    assert petal_wid == pytest.approx(1.0 * IRIS_PX_PER_CM, rel=1e-2)
    assert "sepal 6 × 3 cm · petal 4 × 1 cm" in svg


def test_a_giant_iris_shrinks_the_scale_and_the_scale_bar_says_so() -> None:
    geometry = iris_geometry(25.0, 3.0, 4.0, 1.0)
    assert geometry.px_per_cm < IRIS_PX_PER_CM
    assert geometry.sepal_length_px <= 150
    svg = iris_svg(25.0, 3.0, 4.0, 1.0)
    bar = _parts(svg, "scale-bar")[0]
    assert float(bar.find(f"{SVG}line").get("x2")) == pytest.approx(geometry.px_per_cm, abs=0.01)  # type: ignore[union-attr]


@pytest.mark.parametrize("colour", ["red", "white"])
def test_wine_glass_is_filled_with_the_chosen_colour(colour: str) -> None:
    svg = wine_glass_svg(colour)
    ET.fromstring(svg)  # well-formed
    assert f'data-wine-type="{colour}"' in svg
    for shade in WINE_COLOURS[colour]:
        assert shade in svg
    other = "white" if colour == "red" else "red"
    assert WINE_COLOURS[other][0] not in svg


def test_grade_scale_marks_predicted_grade_score_and_actual() -> None:
    svg = grade_scale_svg(6, 5.73, 7)
    root = ET.fromstring(svg)
    assert root.get("data-predicted") == "6"
    assert len(_parts(svg, "predicted-grade")) == 1
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert [str(g) for g in range(3, 10)] == [x for x in labels if x and x.isdigit()]
    assert "score 5.73" in labels and "actual 7" in labels


def test_grade_scale_score_marker_moves_with_the_score() -> None:
    def marker_x(score: float) -> float:
        path = _parts(grade_scale_svg(5, score), "score")[0].find(f"{SVG}path")
        return float(re.findall(r"-?\d+(?:\.\d+)?", path.get("d"))[-2])  # type: ignore[union-attr]

    assert marker_x(4.2) < marker_x(5.0) < marker_x(6.8)
    assert marker_x(1.0) == marker_x(2.0)  # clipped just outside the 3-9 scale


def test_grade_scale_takes_the_grades_of_any_regression_spec() -> None:
    svg = grade_scale_svg(2, 2.4, 5, grades=[6, 1, 3])  # every grade from the lowest to the highest
    root = ET.fromstring(svg)
    labels = [t.text for t in root.iter(f"{SVG}text") if t.text and t.text.isdigit()]
    assert labels == [str(g) for g in range(1, 7)]
    assert root.get("data-predicted") == "2" and "actual 5" in svg


def test_iris_and_wine_have_their_own_picture_other_datasets_none() -> None:
    flower = picture("iris", IRIS.example_row)
    assert flower is not None and len(_parts(flower, "sepal")) == 3
    assert picture("iris", {**IRIS.example_row, "petal_width": 0.0}) is None  # no impossible flower
    glass = picture("wine", WINE.example_row)
    assert glass is not None and 'data-wine-type="red"' in glass
    assert picture("tumours", {"radius": 17.99}) is None
    assert has_picture("iris") and has_picture("wine") and not has_picture("tumours")

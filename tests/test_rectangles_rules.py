"""graspsim.rectangles rule by rule on constructed cases: the angle wrap's exact values, what
as_rects accepts and the messages naming what it rejects, the corner order on written-out
rectangles, and each file format's exact text, line numbers and skipped or rejected rows."""

import math

import numpy as np
import pytest

from graspsim.rectangles import (
    RECT_COLUMNS, as_rects, format_cornell, format_jacquard, from_corners, from_grasp_anything_rows, parse_cornell,
    parse_jacquard, scale_rects, to_corners, to_grasp_anything_rows, wrap_angles,
)

HALF_PI = math.pi / 2

#: centre (10, 20), closing line along +u (angle 0), opening 8, jaw 4
FLAT = [10.0, 20.0, 0.0, 8.0, 4.0]
FLAT_CORNERS = [[6, 18], [14, 18], [14, 22], [6, 22]]


# -- wrap_angles ---------------------------------------------------------------------------
def test_wrap_angles_exact_values():
    assert RECT_COLUMNS == ("u", "v", "angle", "opening", "jaw")
    a = [0.0, 0.5, -0.5, 1.2, -1.2, 1.5, -1.5, HALF_PI, -HALF_PI, 2.0, -2.0, math.pi, 7.0, -7.0]
    w = wrap_angles(a)
    assert w.dtype == np.float64 and w.shape == (len(a),)
    expected = [0.0, 0.5, -0.5, 1.2, -1.2, 1.5, -1.5, HALF_PI, HALF_PI, 2.0 - math.pi, math.pi - 2.0, 0.0,
                7.0 - 2 * math.pi, -7.0 + 2 * math.pi]
    np.testing.assert_allclose(w, expected, atol=1e-14)
    assert wrap_angles(HALF_PI) == HALF_PI
    assert wrap_angles(-HALF_PI) == HALF_PI
    assert wrap_angles(3 * HALF_PI) == pytest.approx(HALF_PI, abs=1e-15)
    assert wrap_angles(-3 * HALF_PI) == pytest.approx(HALF_PI, abs=1e-15)
    # just inside the open end: kept (the tolerance is 1e-15, not more)
    assert wrap_angles(-HALF_PI + 1e-12) == pytest.approx(-HALF_PI + 1e-12, abs=1e-16)
    assert wrap_angles(-HALF_PI + 1e-14) < 0
    # ... and an angle at the tolerance itself (within 1e-15 of -pi/2, inclusive) goes to the closed end
    edge = -HALF_PI + 1e-15
    assert np.mod(edge + HALF_PI, math.pi) - HALF_PI == edge
    assert wrap_angles(edge) == pytest.approx(HALF_PI, abs=1e-14)
    np.testing.assert_array_equal(wrap_angles([[0.1, 0.2]]).shape, (1, 2))


def test_float32_input_is_read_at_full_precision():
    """Angles, corners and Grasp-Anything rows in float32 (as tensors often are) give the same
    float64 results as the same values cast to float64 first."""
    rng = np.random.default_rng(0)
    angles = np.float32(rng.uniform(-4, 4, 50))
    out = wrap_angles(angles)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, wrap_angles(angles.astype(np.float64)))
    corners = np.float32(rng.uniform(0, 300, (20, 4, 2)))
    np.testing.assert_array_equal(from_corners(corners), from_corners(corners.astype(np.float64)))
    rows = np.float32(np.column_stack([np.zeros(20), rng.uniform(0, 300, (20, 4)), rng.uniform(-90, 90, 20)]))
    np.testing.assert_array_equal(from_grasp_anything_rows(rows), from_grasp_anything_rows(rows.astype(np.float64)))


# -- as_rects ------------------------------------------------------------------------------
def test_as_rects_accepts_one_row_many_rows_and_nothing():
    one = as_rects(FLAT)
    assert one.shape == (1, 5) and one.dtype == np.float64
    np.testing.assert_array_equal(one, [FLAT])
    np.testing.assert_array_equal(as_rects([FLAT, FLAT]), [FLAT, FLAT])
    for empty in ([], np.zeros((0, 5)), np.zeros((0, 3))):
        out = as_rects(empty)
        assert out.shape == (0, 5) and out.dtype == np.float64
    # negative centres and angles are fine; zero opening and jaw too
    np.testing.assert_allclose(as_rects([-3.0, -4.0, -2.0, 0.0, 0.0]), [[-3, -4, math.pi - 2.0, 0, 0]])


def test_as_rects_copies_and_wraps_the_copy():
    src = np.array([[1.0, 2.0, 2.0, 3.0, 4.0]])
    out = as_rects(src)
    assert out[0, 2] == pytest.approx(2.0 - math.pi)
    assert src[0, 2] == 2.0
    out[0, 0] = 99.0
    assert src[0, 0] == 1.0
    ints = as_rects(np.array([[1, 2, 0, 3, 4]]))
    assert ints.dtype == np.float64


def test_as_rects_errors_name_the_source_and_the_problem():
    for bad in (np.zeros((2, 4)), np.zeros(6), np.zeros((2, 5, 1))):
        with pytest.raises(ValueError, match=r"^labels.txt: rectangles must have shape \(N, 5\) = "
                                             rf"\(u, v, angle, opening, jaw\), got {re_shape(bad.shape)}$"):
            as_rects(bad + 1, source="labels.txt")
    with pytest.raises(ValueError, match=r"^rectangles: rectangles must have shape"):
        as_rects(np.ones((2, 4)))
    for col in range(5):
        for value in (np.nan, np.inf):
            r = np.array([FLAT, FLAT])
            r[1, col] = value
            with pytest.raises(ValueError, match=r"^g: rectangles must be finite$"):
                as_rects(r, source="g")
    for col in (3, 4):
        r = np.array([FLAT, FLAT])
        r[1, col] = -0.5
        with pytest.raises(ValueError, match=r"^g: rectangle opening and jaw must be non-negative$"):
            as_rects(r, source="g")


def re_shape(shape):
    return str(shape).replace("(", r"\(").replace(")", r"\)")


# -- corners -------------------------------------------------------------------------------
def test_to_corners_written_out():
    c = to_corners([FLAT, [0.0, 0.0, HALF_PI, 10.0, 2.0]])
    assert c.shape == (2, 4, 2)
    np.testing.assert_allclose(c[0], FLAT_CORNERS)
    # closing line up the image (-v): corner 0 below, corner 1 above; the jaw runs along +u
    np.testing.assert_allclose(c[1], [[-1, 5], [-1, -5], [1, -5], [1, 5]], atol=1e-12)
    assert to_corners(np.zeros((0, 5))).shape == (0, 4, 2)


def test_from_corners_written_out_and_shapes():
    r = from_corners(FLAT_CORNERS)
    assert r.shape == (1, 5) and r.dtype == np.float64
    np.testing.assert_allclose(r, [FLAT], atol=1e-12)
    # the centre is the mean of the corners, the jaw edge 1 -> 2
    np.testing.assert_allclose(from_corners([[[0, 0], [6, 0], [6, 2], [0, 2]]]), [[3, 1, 0, 6, 2]], atol=1e-12)
    # an edge 0 -> 1 pointing down the image (+v) is the same grasp as one pointing up: +pi/2
    np.testing.assert_allclose(from_corners([[[0, 0], [0, 6], [2, 6], [2, 0]]]), [[1, 3, HALF_PI, 6, 2]])
    # an edge along -u is angle 0, not pi
    np.testing.assert_allclose(from_corners([[[6, 0], [0, 0], [0, 2], [6, 2]]]), [[3, 1, 0, 6, 2]], atol=1e-12)
    # 30 degrees counter-clockwise on screen (towards -v)
    s = math.sqrt(3)
    np.testing.assert_allclose(from_corners([[[0, 0], [s, -1], [s + 0.5, -1 + s / 2], [0.5, s / 2]]]),
                               [[(s + 0.5) / 2, (s / 2 - 1) / 2, math.pi / 6, 2, 1]], atol=1e-12)
    for empty in ([], np.zeros((0, 4, 2))):
        out = from_corners(empty)
        assert out.shape == (0, 5)
    for bad, shown in ((np.ones((2, 4, 3)), r"\(2, 4, 3\)"), (np.ones((3, 2)), r"\(1, 3, 2\)"),
                       (np.ones((1, 1, 4, 2)), r"\(1, 1, 4, 2\)"), (np.ones(8), r"\(8,\)")):
        with pytest.raises(ValueError, match=rf"^corners must have shape \(N, 4, 2\), got {shown}$"):
            from_corners(bad)


# -- Cornell -------------------------------------------------------------------------------
def test_format_cornell_exact_text():
    assert format_cornell([FLAT]) == "6 18\n14 18\n14 22\n6 22\n"
    assert format_cornell([[0.5, 0.25, 0.0, 1.0, 0.5]]) == "0 0\n1 0\n1 0.5\n0 0.5\n"
    assert format_cornell([[1234567.0, 0.0, 0.0, 2.0, 0.0]]) == "1.23457e+06 0\n1.23457e+06 0\n" * 2
    assert format_cornell(np.zeros((0, 5))) == ""


def test_parse_cornell_blank_lines_numbers_and_nan_blocks():
    text = "\n6 18\n14 18\n   \n14 22\n6 22\n\n"
    np.testing.assert_allclose(parse_cornell(text), [FLAT])
    assert parse_cornell("").shape == (0, 5)
    assert parse_cornell("\n\n").shape == (0, 5)
    # one NaN coordinate drops its whole block, and only it
    nan_block = "0 0\n6 0\nNaN 2\n0 2\n"
    np.testing.assert_allclose(parse_cornell(nan_block + "6 18\n14 18\n14 22\n6 22\n"), [FLAT])
    np.testing.assert_allclose(parse_cornell("6 18\n14 18\n14 22\n6 22\n" + nan_block), [FLAT])
    assert parse_cornell("0 0\n6 0\n6 2\n0 nan\n").shape == (0, 5)
    # tabs and runs of spaces separate too
    np.testing.assert_allclose(parse_cornell("6\t18\n14  18\n14 22\n6 22"), [FLAT])


def test_parse_cornell_errors_name_the_file_and_line():
    with pytest.raises(ValueError, match=r"^pcd.txt:4: expected a corner 'x y', got '1 2 3'$"):
        parse_cornell("1 2\n\n3 4\n  1 2 3  \n", source="pcd.txt")
    with pytest.raises(ValueError, match=r"^pcd.txt:1: expected a corner 'x y', got '7'$"):
        parse_cornell("7\n", source="pcd.txt")
    with pytest.raises(ValueError, match=r"^<text>:2: expected a corner 'x y', got 'a b'$"):
        parse_cornell("1 2\na b\n")
    with pytest.raises(ValueError, match=r"^f.txt:7: 6 corner lines is not a multiple of 4 \(a rectangle is 4 lines\)$"):
        parse_cornell("1 2\n3 4\n5 6\n7 8\n\n1 1\n2 2\n\n", source="f.txt")
    with pytest.raises(ValueError, match=r"^<text>:2: 2 corner lines is not a multiple of 4"):
        parse_cornell("1 2\n3 4\n")


# -- Jacquard ------------------------------------------------------------------------------
def test_format_jacquard_exact_text():
    assert format_jacquard([[100.0, 50.0, -math.pi / 6, 40.0, 10.0]]) == "100.0000;50.0000;30.0000;40.0000;10.0000\n"
    assert format_jacquard([[1.5, 2.25, math.pi / 4, 3.0, 0.0], [0, 0, 0, 1, 1]]) == (
        "1.5000;2.2500;-45.0000;3.0000;0.0000\n0.0000;0.0000;-0.0000;1.0000;1.0000\n")
    assert format_jacquard(np.zeros((0, 5))) == ""


def test_parse_jacquard_values_blank_lines_and_zero_sizes():
    r = parse_jacquard("\n  100;50;30;40;10  \n\n1.5;2;-45;0;0\n")
    np.testing.assert_allclose(r, [[100, 50, -math.pi / 6, 40, 10], [1.5, 2, math.pi / 4, 0, 0]])
    assert r.dtype == np.float64
    # 120 degrees clockwise is -120 degrees, the same grasp as +60 (counter-clockwise)
    np.testing.assert_allclose(parse_jacquard("0;0;120;1;1")[0, 2], math.pi / 3)
    assert parse_jacquard("").shape == (0, 5)
    assert parse_jacquard(" \n").shape == (0, 5)


def test_parse_jacquard_errors_name_the_file_and_line():
    msg = r"expected 'x;y;theta;w;h' \(finite numbers, w and h >= 0\), got "
    cases = [
        ("1;2;3;4;5\n\n1;2;3;4\n", 3, "'1;2;3;4'"),
        ("1;2;3;4;5;6\n", 1, "'1;2;3;4;5;6'"),
        ("1;2;x;4;5\n", 1, "'1;2;x;4;5'"),
        ("1;2;3;4;5\n1;2;3;-4;5\n", 2, "'1;2;3;-4;5'"),
        ("1;2;3;4;-0.5\n", 1, "'1;2;3;4;-0.5'"),
        ("nan;2;3;4;5\n", 1, "'nan;2;3;4;5'"),
        ("1;inf;3;4;5\n", 1, "'1;inf;3;4;5'"),
        ("1;2;inf;4;5\n", 1, "'1;2;inf;4;5'"),
        ("1;2;3;nan;5\n", 1, "'1;2;3;nan;5'"),
        ("1;2;3;4;inf\n", 1, "'1;2;3;4;inf'"),
    ]
    for text, line, shown in cases:
        with pytest.raises(ValueError, match=rf"^g.txt:{line}: {msg}{shown}$"):
            parse_jacquard(text, source="g.txt")
    with pytest.raises(ValueError, match=rf"^<text>:1: {msg}"):
        parse_jacquard("1;2\n")


# -- Grasp-Anything ------------------------------------------------------------------------
def test_grasp_anything_rows_exact_values():
    rows = to_grasp_anything_rows([[100.0, 50.0, -math.pi / 6, 40.0, 10.0], [1, 2, math.pi / 4, 3, 4]])
    assert rows.shape == (2, 6)
    np.testing.assert_allclose(rows, [[0, 100, 50, 40, 10, 30], [0, 1, 2, 3, 4, -45]])
    np.testing.assert_allclose(to_grasp_anything_rows([FLAT], first_column=0.75), [[0.75, 10, 20, 8, 4, 0]])
    assert to_grasp_anything_rows(np.zeros((0, 5))).shape == (0, 6)
    r = from_grasp_anything_rows([[0.9, 100, 50, 40, 10, 30], [0, 1, 2, 3, 4, -45]])
    np.testing.assert_allclose(r, [[100, 50, -math.pi / 6, 40, 10], [1, 2, math.pi / 4, 3, 4]])
    np.testing.assert_allclose(from_grasp_anything_rows([5, 1, 2, 3, 4, 120]), [[1, 2, math.pi / 3, 3, 4]])
    # the unused first column may hold anything, also NaN; negative positions and angles are fine
    np.testing.assert_allclose(from_grasp_anything_rows([[np.nan, -1, -2, 0, 0, -30]]),
                               [[-1, -2, math.pi / 6, 0, 0]])
    for empty in ([], np.zeros((0, 6))):
        assert from_grasp_anything_rows(empty).shape == (0, 5)


def test_grasp_anything_rows_errors_name_the_row():
    with pytest.raises(ValueError, match=r"^lab.pt: Grasp-Anything labels must have shape \(N, 6\) = "
                                         r"\(_, x, y, w, h, theta\), got \(2, 5\)$"):
        from_grasp_anything_rows(np.ones((2, 5)), source="lab.pt")
    with pytest.raises(ValueError, match=r"^<rows>: Grasp-Anything labels must have shape .*got \(1, 2, 6\)$"):
        from_grasp_anything_rows(np.ones((1, 2, 6)))
    good = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    for col, value in ((1, np.nan), (2, np.inf), (3, -1.0), (4, -0.5), (5, np.nan), (3, np.inf)):
        rows = np.array([good, good, good])
        rows[2, col] = value
        with pytest.raises(ValueError, match=rf"^lab.pt: row 2 is not a valid grasp: \[0.0, "):
            from_grasp_anything_rows(rows, source="lab.pt")
    rows = np.array([good, good])
    rows[1, 4] = -2.0
    with pytest.raises(ValueError, match=r"^<rows>: row 1 is not a valid grasp: \[0.0, 1.0, 2.0, 3.0, -2.0, 5.0\]$"):
        from_grasp_anything_rows(rows)


# -- scaling -------------------------------------------------------------------------------
def test_scale_rects_exact():
    src = np.array([[0.0, 9.5, 0.3, 10.0, 4.0], [-0.5, 3.0, 2.0, 1.0, 0.0]])
    out = scale_rects(src, 0.5)
    np.testing.assert_allclose(out, [[-0.25, 4.5, 0.3, 5, 2], [-0.5, 1.25, 2.0 - math.pi, 0.5, 0]])
    assert src[0, 0] == 0.0 and src[0, 3] == 10.0
    np.testing.assert_allclose(scale_rects([FLAT], 3.0), [[31, 61, 0, 24, 12]])
    np.testing.assert_allclose(scale_rects([FLAT], 1.0), [FLAT])

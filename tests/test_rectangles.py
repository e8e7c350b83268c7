"""The one rectangle convention and its file formats: round trips and angle conventions."""

import math

import numpy as np
import pytest

from graspsim.camera import Camera
from graspsim.grasp import ImageGrasp, TopDownGrasp, image_to_world, world_to_image
from graspsim.rectangles import (
    as_rects, format_cornell, format_jacquard, from_corners, from_grasp_anything_rows, parse_cornell,
    parse_jacquard, scale_rects, to_corners, to_grasp_anything_rows, wrap_angles,
)


def random_rects(n=50, seed=0):
    rng = np.random.default_rng(seed)
    return np.column_stack([
        rng.uniform(20, 300, n), rng.uniform(20, 300, n), rng.uniform(-math.pi / 2 + 1e-3, math.pi / 2, n),
        rng.uniform(5, 100, n), rng.uniform(2, 40, n),
    ])


def test_wrap_angles_interval_and_half_turn_symmetry():
    a = np.linspace(-7, 7, 1001)
    w = wrap_angles(a)
    assert (w > -math.pi / 2).all() and (w <= math.pi / 2).all()
    np.testing.assert_allclose(np.cos(2 * w), np.cos(2 * a), atol=1e-12)
    assert wrap_angles(-math.pi / 2) == pytest.approx(math.pi / 2)


def test_corner_order_and_round_trip():
    r = random_rects()
    c = to_corners(r)
    # edge 0 -> 1 runs along the closing line (length = opening), 1 -> 2 along the jaw
    np.testing.assert_allclose(np.linalg.norm(c[:, 1] - c[:, 0], axis=1), r[:, 3])
    np.testing.assert_allclose(np.linalg.norm(c[:, 2] - c[:, 1], axis=1), r[:, 4])
    np.testing.assert_allclose(from_corners(c), r, atol=1e-9)
    # angle convention: a closing line along +u is angle 0, along -v (up the image) is +pi/2
    flat = to_corners([[10, 10, 0.0, 20, 4]])[0]
    assert flat[1, 0] - flat[0, 0] == pytest.approx(20) and flat[1, 1] == pytest.approx(flat[0, 1])
    up = from_corners([[[0, 10], [0, 0], [4, 0], [4, 10]]])[0]
    assert up[2] == pytest.approx(math.pi / 2) and up[3] == pytest.approx(10) and up[4] == pytest.approx(4)


def test_rotating_by_half_turn_gives_the_same_rectangle():
    r = random_rects(10)
    turned = r.copy()
    turned[:, 2] += math.pi
    np.testing.assert_allclose(as_rects(turned), r, atol=1e-12)
    a, b = to_corners(r), to_corners(turned)
    np.testing.assert_allclose(np.sort(a.reshape(-1, 8), 1), np.sort(b.reshape(-1, 8), 1), atol=1e-9)


def test_cornell_round_trip_skips_nan_and_names_bad_lines():
    r = random_rects(5)
    np.testing.assert_allclose(parse_cornell(format_cornell(r)), r, atol=1e-3)
    text = format_cornell(r[:1]) + "NaN NaN\n" * 4
    assert len(parse_cornell(text)) == 1
    with pytest.raises(ValueError, match=r"pcd0100cpos.txt:3"):
        parse_cornell("1 2\n3 4\nfive 6\n7 8\n", source="pcd0100cpos.txt")
    with pytest.raises(ValueError, match="multiple of 4"):
        parse_cornell("1 2\n3 4\n5 6\n", source="f.txt")


def test_jacquard_round_trip_and_angle_sign():
    r = random_rects(5)
    np.testing.assert_allclose(parse_jacquard(format_jacquard(r)), r, atol=1e-4)
    (g,) = parse_jacquard("100;50;30;40;10\n")
    # Jacquard's theta is clockwise on screen (towards +v): +30 deg is -pi/6 in our convention
    assert g[2] == pytest.approx(-math.pi / 6) and g[3] == 40 and g[4] == 10
    with pytest.raises(ValueError, match=r"g.txt:2"):
        parse_jacquard("1;2;3;4;5\n1;2;3;4\n", source="g.txt")
    with pytest.raises(ValueError, match=r"g.txt:1"):
        parse_jacquard("1;2;3;-4;5\n", source="g.txt")


def test_grasp_anything_rows_round_trip():
    r = random_rects(5)
    rows = to_grasp_anything_rows(r)
    assert rows.shape == (5, 6)
    np.testing.assert_allclose(from_grasp_anything_rows(rows), r, atol=1e-9)
    np.testing.assert_allclose(from_grasp_anything_rows([[0, 10, 20, 30, 5, 30]])[0, 2], -math.pi / 6)
    with pytest.raises(ValueError, match="shape"):
        from_grasp_anything_rows(np.zeros((2, 5)))


def test_scale_rects_follows_resize_pixel_centres():
    r = np.array([[0.0, 9.5, 0.3, 10, 4]])
    s = scale_rects(r, 2.0)
    np.testing.assert_allclose(s[0], [0.5, 19.5, 0.3, 20, 8])


def test_image_grasp_rect_and_world_round_trip():
    cam = Camera()
    depth = np.full((cam.height, cam.width), cam.height_m - 0.05, np.float32)  # a 5 cm high slab
    g = ImageGrasp(150.0, 170.0, 1.2, 40.0, 0.0)
    np.testing.assert_allclose(ImageGrasp.from_rect(g.as_rect()).as_rect(), g.as_rect())
    w = image_to_world(g, depth, cam)
    back = world_to_image(w, cam)
    assert back.u == pytest.approx(g.u, abs=1e-6) and back.v == pytest.approx(g.v, abs=1e-6)
    assert back.opening_px == pytest.approx(g.opening_px, rel=1e-6) and back.angle == pytest.approx(g.angle)
    # mod-pi: the same grasp with the angle turned by pi maps to the same world yaw
    w2 = image_to_world(ImageGrasp(150.0, 170.0, 1.2 - math.pi, 40.0), depth, cam)
    assert w2.yaw == pytest.approx(w.yaw)
    # the world rectangle of a label projects to the rectangle with the finger width as jaw
    assert world_to_image(TopDownGrasp(0, 0, 0.02, 0.0, 0.05), cam).jaw_px > 0

"""graspsim.grasp on constructed cases: the angle wrap at its edges, the action bounds and
their normalisation, the grasp types' conversions, the depth disc read around a grasp
centre, and the image <-> world lift with values worked out by hand."""

import dataclasses
import math

import numpy as np
import pytest

from graspsim.camera import Camera
from graspsim.grasp import (
    GRASP_DEPTH, MIN_TCP_Z, ImageGrasp, TopDownGrasp, action_bounds, image_to_world, surface_depth, tcp_height,
    unit_to_action, world_to_image, wrap_angle,
)
from graspsim.grippers import get_gripper

HALF_PI = math.pi / 2


# -- wrap_angle -------------------------------------------------------------------------
def test_wrap_angle_keeps_the_interval_and_its_open_end():
    # inside (-pi/2, pi/2]: unchanged, including the closed end and values near pi/3, pi/2
    for a in (0.0, 0.5, -0.5, 1.2, -1.2, 1.5, -1.5, HALF_PI):
        assert wrap_angle(a) == a
    # the open end -pi/2 is the same grasp as +pi/2
    assert wrap_angle(-HALF_PI) == HALF_PI


def test_wrap_angle_exact_values_outside():
    assert wrap_angle(2.0) == pytest.approx(2.0 - math.pi, abs=1e-15)
    assert wrap_angle(-2.0) == pytest.approx(math.pi - 2.0, abs=1e-15)
    assert wrap_angle(math.pi) == pytest.approx(0.0, abs=1e-15)
    assert wrap_angle(-math.pi) == pytest.approx(0.0, abs=1e-15)
    assert wrap_angle(7.0) == pytest.approx(7.0 - 2 * math.pi, abs=1e-14)
    assert wrap_angle(-7.0) == pytest.approx(-7.0 + 2 * math.pi, abs=1e-14)
    assert wrap_angle(np.float32(1.0)) == pytest.approx(1.0)
    assert isinstance(wrap_angle(np.float32(1.0)), float)


# -- action bounds and normalised actions -----------------------------------------------
def test_action_bounds_exact():
    low, high = action_bounds(320, 240)
    assert low.dtype == np.float32 and high.dtype == np.float32
    np.testing.assert_array_equal(low, np.float32([0.0, 0.0, -HALF_PI, 0.0]))
    np.testing.assert_array_equal(high, np.float32([319, 239, HALF_PI, 320]))
    _, tall = action_bounds(100, 300)
    np.testing.assert_array_equal(tall, np.float32([99, 299, HALF_PI, 300]))


def test_unit_to_action_maps_corners_centre_and_clips():
    low, high = np.float32([0, 10, -2, 0]), np.float32([100, 30, 2, 50])
    out = unit_to_action([-1, -1, -1, -1], low, high)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, low)
    np.testing.assert_array_equal(unit_to_action([1, 1, 1, 1], low, high), high)
    np.testing.assert_allclose(unit_to_action([0, 0, 0, 0], low, high), [50, 20, 0, 25])
    np.testing.assert_allclose(unit_to_action([0.5, -0.5, 0.25, -0.75], low, high), [75, 15, 0.5, 6.25])
    # a float32 action is mapped in float64 and rounded once
    low32 = np.float32([-227.8144073486328, -971.6410522460938, -120.05097198486328, -48.81288528442383])
    high32 = np.float32([2010.4501953125, 1548.5615234375, 609.087890625, 1796.5665283203125])
    unit32 = np.float32([0.229603573679924, 0.8066583871841431, 0.16035646200180054, -0.7633720636367798])
    lo, hi, un = (x.astype(np.float64) for x in (low32, high32, unit32))
    np.testing.assert_array_equal(unit_to_action(unit32, low32, high32),
                                  (lo + (un + 1) / 2 * (hi - lo)).astype(np.float32))
    # outside [-1, 1]: clipped to the bounds
    np.testing.assert_array_equal(unit_to_action([3, -3, 1.5, -1.01], low, high), np.float32([100, 10, 2, 0]))


def test_unit_to_action_errors_name_the_problem():
    low, high = action_bounds(64, 64)
    with pytest.raises(ValueError, match=r"normalised action must have shape \(4,\), got \(3,\)"):
        unit_to_action([0, 0, 0], low, high)
    with pytest.raises(ValueError, match=r"normalised action must be finite, got \[0.0, nan, 0.0, 0.0\]"):
        unit_to_action([0, float("nan"), 0, 0], low, high)
    with pytest.raises(ValueError, match="finite"):
        unit_to_action([0, 0, float("inf"), 0], low, high)


# -- ImageGrasp / TopDownGrasp ---------------------------------------------------------
def test_image_grasp_defaults_and_rect_conversions():
    g = ImageGrasp(10.0, 20.0, 2.0, 8.0)
    assert g.jaw_px == 0.0 and g.score == 1.0
    rect = ImageGrasp(10.0, 20.0, 2.0, 8.0, 4.0).as_rect()
    assert rect.dtype == np.float64 and rect.shape == (5,)
    np.testing.assert_allclose(rect, [10, 20, 2.0 - math.pi, 8, 4], atol=1e-15)
    back = ImageGrasp.from_rect([[1.0, 2.0, -2.0, 3.0, 4.0]], score=0.25)
    assert (back.u, back.v, back.opening_px, back.jaw_px, back.score) == (1.0, 2.0, 3.0, 4.0, 0.25)
    assert back.angle == pytest.approx(math.pi - 2.0)
    assert ImageGrasp.from_rect([1, 2, 0.5, 3, 4]).score == 1.0
    assert all(type(x) is float for x in dataclasses.astuple(back))
    with pytest.raises(ValueError):
        ImageGrasp.from_rect([1, 2, 3, 4])


def test_image_grasp_corners_cornell_order():
    # closing line along +u (angle 0), opening 8, jaw 4, centre (10, 20)
    np.testing.assert_allclose(ImageGrasp(10, 20, 0.0, 8, 4).corners(), [[6, 18], [14, 18], [14, 22], [6, 22]])
    # angle pi/2: closing line along -v (up the image); the angle is wrapped first
    c = ImageGrasp(10, 20, HALF_PI + math.pi, 8, 4).corners()
    np.testing.assert_allclose(c, [[8, 24], [8, 16], [12, 16], [12, 24]], atol=1e-9)


def test_image_grasp_action_conversions():
    a = ImageGrasp(3.0, 4.0, -2.0, 6.0, 7.0).as_action()
    assert a.dtype == np.float32 and a.shape == (4,)
    np.testing.assert_allclose(a, np.float32([3, 4, math.pi - 2.0, 6]))
    g = ImageGrasp.from_action(np.float32([[5, 6, 2.0, 9]]), jaw_px=3.0)
    assert (g.u, g.v, g.opening_px, g.jaw_px, g.score) == (5.0, 6.0, 9.0, 3.0, 1.0)
    assert g.angle == pytest.approx(2.0 - math.pi)
    assert ImageGrasp.from_action([5, 6, 0.5, 9]).jaw_px == 0.0
    with pytest.raises(ValueError):
        ImageGrasp.from_action([1, 2, 3])


def test_top_down_grasp_array_and_check():
    g = TopDownGrasp(0.1, -0.2, 0.03, 0.4, 0.05)
    arr = g.as_array()
    assert arr.dtype == np.float64
    np.testing.assert_array_equal(arr, [0.1, -0.2, 0.03, 0.4, 0.05])
    g.check()
    TopDownGrasp(0, 0, 0, 0, 1e-6).check()
    # a grasp built from a policy's float32 output still gives a float64 array
    g32 = TopDownGrasp(*np.float32([0.1, -0.2, 0.03, 0.4, 0.05]))
    assert g32.as_array().dtype == np.float64
    for name in ("x", "y", "z", "yaw", "opening_m"):
        for bad in (float("nan"), float("inf"), -float("inf")):
            with pytest.raises(ValueError, match=rf"grasp {name} must be finite, got {bad!r}"):
                dataclasses.replace(g, **{name: bad}).check()
    for bad in (0.0, -0.01):
        with pytest.raises(ValueError, match=rf"grasp opening_m must be positive, got {bad!r}"):
            dataclasses.replace(g, opening_m=bad).check()


# -- surface_depth -----------------------------------------------------------------------
def _flat(value=0.6, shape=(40, 50)):
    return np.full(shape, value, np.float64)


def test_surface_depth_reads_a_disc_of_radius_3_5_pixels():
    d = _flat()
    d[20, 10] = 0.5
    assert surface_depth(d, 10, 20) == 0.5
    # (3, 1) from the centre is inside the disc (10 <= 3.5**2), (3, 2) is not (13 > 12.25)
    d = _flat()
    d[21, 13] = 0.45
    assert surface_depth(d, 10, 20) == 0.45
    d = _flat()
    d[22, 13] = 0.45
    d[20, 14] = 0.44  # 4 pixels away: outside
    d[16, 10] = 0.43
    d[24, 10] = 0.42
    d[17, 13] = 0.41  # (3, -3): the window's corner is outside the disc
    d[23, 7] = 0.41  # (-3, 3)
    assert surface_depth(d, 10, 20) == 0.6
    for du, dv in ((3, 0), (-3, 0), (0, 3), (0, -3), (-3, -1), (1, -3), (-2, 2)):
        d = _flat()
        d[20 + dv, 10 + du] = 0.4
        assert surface_depth(d, 10, 20) == 0.4, (du, dv)
    # a smaller radius
    d = _flat()
    d[20, 12] = 0.3
    assert surface_depth(d, 10, 20, radius=1) == 0.6
    assert surface_depth(d, 10, 20, radius=2) == 0.3


def test_surface_depth_centre_is_rounded_and_disc_is_around_the_real_centre():
    d = _flat()
    d[20, 14] = 0.3  # 3.5 px right of u = 10.5, which rounds (half to even) to 10: window ends at 13
    assert surface_depth(d, 10.5, 20) == 0.6
    d = _flat()
    d[20, 7] = 0.3  # 3.5 px left of u = 10.5: inside the window and on the disc's edge
    assert surface_depth(d, 10.5, 20) == 0.3
    d = _flat()
    d[20, 6] = 0.3  # u = 9.6 rounds to 10: the window starts at column 7, so column 6 is not read
    assert surface_depth(d, 9.6, 20) == 0.6
    d = _flat()
    d[20, 13] = 0.3  # u = 9.6: column 13 is 3.4 px away, inside the window (7..13) and the disc
    assert surface_depth(d, 9.6, 20) == 0.3
    d = _flat()
    d[26, 10] = 0.3  # v = 22.6 rounds to 23: window rows 20..26, row 26 is 3.4 px away
    assert surface_depth(d, 10, 22.6) == 0.3
    d = _flat()
    d[19, 10] = 0.3  # row 19: above the window (rows 20..26) and 3.6 px from v = 22.6
    assert surface_depth(d, 10, 22.6) == 0.6


def test_surface_depth_ignores_missing_and_non_finite_depth():
    d = _flat()
    d[20, 10] = 0.0
    d[20, 11] = np.nan
    d[20, 9] = -0.1
    d[21, 10] = np.inf
    d[19, 10] = -np.inf
    assert surface_depth(d, 10, 20) == 0.6
    d[18, 10] = 0.55
    assert surface_depth(d, 10, 20) == 0.55
    d = _flat(0.0)
    d[5, 5] = np.nan
    with pytest.raises(ValueError, match=r"no valid depth around grasp centre \(5, 5\)"):
        surface_depth(d, 5, 5)


def test_surface_depth_at_the_image_edges():
    d = _flat(shape=(40, 50))
    d[0, 0], d[39, 49] = 0.2, 0.3
    assert surface_depth(d, 0, 0) == 0.2
    assert surface_depth(d, 49, 39) == 0.3
    # a centre up to 3 px outside still reaches the edge pixels in its disc
    d = _flat(shape=(40, 50))
    d[10, 0] = 0.25
    assert surface_depth(d, -3, 10) == 0.25
    d = _flat(shape=(40, 50))
    d[10, 49] = 0.25
    assert surface_depth(d, 52, 10) == 0.25
    d = _flat(shape=(40, 50))
    d[0, 10] = 0.25
    assert surface_depth(d, 10, -3) == 0.25
    d = _flat(shape=(40, 50))
    d[39, 10] = 0.25
    assert surface_depth(d, 10, 42) == 0.25
    # 4 px outside: the window is empty
    for u, v in ((-4, 10), (53, 10), (10, -4), (10, 43), (-100, -100)):
        with pytest.raises(ValueError, match=rf"grasp centre \({u}, {v}\) lies outside the 50x40 image"):
            surface_depth(d, u, v)


# -- heights and the image <-> world lift --------------------------------------------------
def test_tcp_height_exact():
    assert GRASP_DEPTH == 0.025 and MIN_TCP_Z == 0.004
    assert tcp_height(0.1) == pytest.approx(0.075, abs=1e-15)
    assert tcp_height(0.03) == pytest.approx(0.005, abs=1e-15)
    assert tcp_height(0.02) == 0.004
    assert tcp_height(0.0) == 0.004
    assert isinstance(tcp_height(np.float32(0.1)), float)


def _unit_camera():
    """200 x 200 px, tan(fov / 2) = 1/2: the focal length is 200 px; principal point (99.5, 99.5)."""
    return Camera(width=200, height=200, fov_deg=math.degrees(2 * math.atan(0.5)), height_m=0.6)


def test_image_to_world_exact_values():
    cam = _unit_camera()
    assert cam.focal_px == pytest.approx(200.0)
    depth = np.full((200, 200), 0.6, np.float32)
    depth[50:70, 130:150] = 0.5  # a 10 cm block top around pixel (139.5, 59.5)
    g = ImageGrasp(139.5, 59.5, 2.0, 20.0, 5.0, 0.7)
    w = image_to_world(g, depth, cam)
    # 40 px right and 40 px up at 0.5 m from the camera: 0.1 m along +x and +y
    assert w.x == pytest.approx(0.1, abs=1e-7) and w.y == pytest.approx(0.1, abs=1e-7)
    assert w.z == pytest.approx(0.075, abs=1e-7)
    assert w.yaw == pytest.approx(2.0 - math.pi)
    # the opening is scaled at the TCP depth 0.6 - 0.075 = 0.525 m: 0.525 / 200 m per pixel
    assert w.opening_m == pytest.approx(20 * 0.525 / 200, rel=1e-6)
    assert all(type(v) is float for v in dataclasses.astuple(w))


def test_image_to_world_clamps_height_and_opening_to_the_gripper():
    cam = _unit_camera()
    depth = np.full((200, 200), 0.59, np.float32)  # a 1 cm high surface: the TCP is clamped to 4 mm
    w = image_to_world(ImageGrasp(99.5, 99.5, 0.0, 10.0), depth, cam)
    assert (w.x, w.y) == (pytest.approx(0.0, abs=1e-9), pytest.approx(0.0, abs=1e-9))
    assert w.z == MIN_TCP_Z
    assert w.opening_m == pytest.approx(10 * (0.6 - 0.004) / 200, rel=1e-6)
    # 28 px at 0.596 m is 0.08344 m: beyond franka's 0.08 stroke, within the 2F-85's 0.085
    wide = ImageGrasp(99.5, 99.5, 0.0, 28.0)
    assert get_gripper().max_opening_m == 0.08
    assert image_to_world(wide, depth, cam).opening_m == 0.08
    assert image_to_world(wide, depth, cam, gripper="robotiq-2f85").opening_m == pytest.approx(28 * 0.596 / 200)
    narrow = dataclasses.replace(get_gripper(), name="narrow", max_opening_m=0.05)
    assert image_to_world(wide, depth, cam, gripper=narrow).opening_m == 0.05


def test_world_to_image_exact_values():
    cam = _unit_camera()
    g = world_to_image(TopDownGrasp(0.1, 0.1, 0.075, -2.0, 0.0525), cam, score=0.3)
    # the centre is the projection of the surface point 0.1 m high, 0.5 m from the camera
    assert g.u == pytest.approx(139.5) and g.v == pytest.approx(59.5)
    assert g.angle == pytest.approx(math.pi - 2.0)
    assert g.opening_px == pytest.approx(0.0525 * 200 / 0.525)
    assert g.jaw_px == pytest.approx(0.022 * 200 / 0.525)
    assert g.score == 0.3
    assert world_to_image(TopDownGrasp(0.1, 0.1, 0.075, 0.0, 0.05), cam).score == 1.0
    wide_fingers = dataclasses.replace(get_gripper(), name="wide-fingers", finger_width_m=0.03)
    g2 = world_to_image(TopDownGrasp(0.1, 0.1, 0.075, 0.0, 0.05), cam, gripper=wide_fingers)
    assert g2.jaw_px == pytest.approx(0.03 * 200 / 0.525)
    assert all(type(v) is float for v in dataclasses.astuple(g2))


def test_image_world_round_trip_off_centre_camera():
    cam = dataclasses.replace(_unit_camera(), centre=(0.2, -0.1), height_m=0.7)
    depth = np.full((200, 200), 0.62, np.float32)  # an 8 cm slab
    g = ImageGrasp(40.25, 150.75, 0.9, 17.0)
    w = image_to_world(g, depth, cam)
    assert w.z == pytest.approx(0.08 - GRASP_DEPTH, abs=1e-6)
    assert w.x == pytest.approx(0.2 + (40.25 - 99.5) * 0.62 / 200, abs=1e-6)
    assert w.y == pytest.approx(-0.1 - (150.75 - 99.5) * 0.62 / 200, abs=1e-6)
    back = world_to_image(w, cam)
    assert back.u == pytest.approx(g.u, abs=1e-4) and back.v == pytest.approx(g.v, abs=1e-4)
    assert back.opening_px == pytest.approx(g.opening_px, rel=1e-6) and back.angle == pytest.approx(0.9)

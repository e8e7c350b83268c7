import math

import numpy as np
import pytest

from graspsim.camera import Camera, DepthNoise
from graspsim.grasp import ImageGrasp, TopDownGrasp, image_to_world, world_to_image, wrap_angle
from graspsim.objects import get_object_set
from graspsim.sim.world import World


def test_pixel_world_round_trip():
    cam = Camera()
    pts = np.array([[0.1, -0.05, 0.03], [-0.12, 0.1, 0.0], [0.0, 0.0, 0.08]])
    u, v, d = cam.world_to_pixel(pts)
    back = cam.pixel_to_world(u, v, d)
    np.testing.assert_allclose(back, pts, atol=1e-12)


def test_image_axes_follow_the_world():
    """+u is world +x and -v is world +y, checked on a rendered object."""
    with World() as world:
        index = world.add_object(get_object_set("primitives"), "red sphere", 1.0, [0.08, 0.05, 0.02], [0, 0, 0, 1])
        frame = world.render()
        vs, us = np.nonzero(frame["segmentation"] == index + 1)
        u, v, d = world.camera.world_to_pixel([0.08, 0.05, 0.04])
        assert abs(us.mean() - u) < 3 and abs(vs.mean() - v) < 3
        assert abs(frame["depth"][int(v), int(u)] - d) < 0.003


def test_wrap_angle_is_mod_pi():
    for a in np.linspace(-7, 7, 57):
        w = wrap_angle(a)
        assert -math.pi / 2 < w <= math.pi / 2
        assert math.isclose(math.cos(2 * w), math.cos(2 * a), abs_tol=1e-9)
        assert math.isclose(math.sin(2 * w), math.sin(2 * a), abs_tol=1e-9)


def test_image_world_grasp_round_trip():
    cam = Camera()
    depth = np.full((cam.height, cam.width), cam.height_m, np.float32)
    depth[100:140, 200:240] = cam.height_m - 0.05  # a 5 cm tall block
    g = ImageGrasp(220.0, 120.0, 0.4, 50.0)
    wg = image_to_world(g, depth, cam)
    assert math.isclose(wg.z, 0.05 - 0.025, abs_tol=1e-6)
    assert math.isclose(wg.yaw, 0.4)
    back = world_to_image(wg, cam)
    assert math.isclose(back.u, g.u, abs_tol=1e-6) and math.isclose(back.v, g.v, abs_tol=1e-6)
    assert math.isclose(back.opening_px, g.opening_px, rel_tol=1e-6)
    # a world grasp at angle > pi/2 comes back wrapped
    assert math.isclose(world_to_image(TopDownGrasp(0, 0, 0.01, 2.0, 0.05), cam).angle, 2.0 - math.pi)


def test_depth_noise_is_seeded_and_validated():
    noise = DepthNoise(sigma_m=0.002, dropout=0.1)
    depth = np.full((32, 32), 0.6, np.float32)
    a = noise.apply(depth, np.random.default_rng(1))
    b = noise.apply(depth, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert (a == 0).any() and not np.array_equal(a, depth)
    with pytest.raises(ValueError, match="sigma_m"):
        DepthNoise(sigma_m=float("nan"))
    with pytest.raises(ValueError, match="width"):
        Camera(width=3)

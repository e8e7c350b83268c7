"""graspsim.camera on constructed cases: validation messages at the bounds, the pinhole
model's matrices and projections with values worked out by hand, the depth-noise model
against its written rule, and a render of a known box in a PyBullet client of its own."""

import dataclasses
import math

import numpy as np
import pybullet as p
import pytest

from graspsim.appearance import Lighting
from graspsim.camera import Camera, DepthNoise

#: tan(fov / 2) = 1/2, so the focal length is the image height in pixels
HALF_TAN_FOV = math.degrees(2 * math.atan(0.5))


# -- DepthNoise ----------------------------------------------------------------------------
def test_depth_noise_defaults_and_validation():
    n = DepthNoise()
    assert (n.sigma_m, n.quantisation_m, n.dropout) == (0.001, 0.0, 0.0)
    DepthNoise(sigma_m=0.0, quantisation_m=0.0, dropout=0.0)
    DepthNoise(dropout=0.999)
    for name in ("sigma_m", "quantisation_m", "dropout"):
        for bad in (-1e-9, float("nan"), float("inf")):
            with pytest.raises(ValueError, match=rf"depth noise {name} must be a finite non-negative number, "
                                                 rf"got {bad!r}"):
                DepthNoise(**{name: bad})
    for bad in (1.0, 1.5):
        with pytest.raises(ValueError, match=rf"depth noise dropout must be < 1, got {bad!r}"):
            DepthNoise(dropout=bad)


def test_depth_noise_follows_its_rule():
    depth = np.array([[0.5, 1.0, 2.0], [0.3, 0.6, 1.2]], np.float32)
    z = np.random.default_rng(7).standard_normal(depth.shape)
    out = DepthNoise(sigma_m=0.01).apply(depth, np.random.default_rng(7))
    assert out.dtype == np.float32 and out.shape == depth.shape
    # the standard deviation is sigma at 1 m and grows with the square of the depth
    np.testing.assert_allclose(out, depth + z * 0.01 * depth.astype(np.float64) ** 2, rtol=1e-6)


def test_depth_noise_quantisation_dropout_and_clip():
    depth = np.full((20, 20), 0.6, np.float32)
    rng = np.random.default_rng(3)
    z = rng.standard_normal(depth.shape)
    drop = rng.random(depth.shape) < 0.3
    out = DepthNoise(sigma_m=0.01, quantisation_m=0.002, dropout=0.3).apply(depth, np.random.default_rng(3))
    noisy = 0.6 + z * 0.01 * 0.36
    expected = np.where(drop, 0.0, np.round(noisy / 0.002) * 0.002)
    np.testing.assert_allclose(out, expected.astype(np.float32), atol=1e-7)
    assert drop.any() and (~drop).any()
    # no quantisation and no dropout: no rounding and no zeros
    out = DepthNoise(sigma_m=0.01).apply(depth, np.random.default_rng(3))
    np.testing.assert_allclose(out, (0.6 + z * 0.0036).astype(np.float32), atol=1e-7)
    assert (out > 0).all()
    # negative readings are clipped to 0
    out = DepthNoise(sigma_m=100.0).apply(depth, np.random.default_rng(3))
    clear = np.abs(z + 1 / 60) > 1e-4  # away from the threshold z = -0.6 / (100 * 0.6**2)
    np.testing.assert_array_equal((out == 0)[clear], (z < -1 / 60)[clear])
    assert (out[clear & (z > -1 / 60)] > 0).all()
    assert out.min() == 0.0


# -- Camera: validation and matrices -------------------------------------------------------
def test_camera_defaults():
    cam = Camera()
    assert (cam.width, cam.height, cam.fov_deg, cam.height_m) == (320, 320, 40.0, 0.6)
    assert (cam.centre, cam.near, cam.far, cam.noise) == ((0.0, 0.0), 0.05, 1.5, None)


def test_camera_validation_bounds_and_messages():
    for name in ("width", "height"):
        for ok in (16, 4096, np.int64(64)):
            Camera(**{name: ok})
        for bad in (15, 4097, 64.0, "64"):
            with pytest.raises(ValueError, match=rf"camera {name} must be an integer in \[16, 4096\], got {bad!r}"):
                Camera(**{name: bad})
    Camera(fov_deg=0.01)
    Camera(fov_deg=169.9)
    for bad in (0.0, -10.0, 170.0):
        with pytest.raises(ValueError, match=rf"camera fov_deg must be in \(0, 170\), got {bad!r}"):
            Camera(fov_deg=bad)
    Camera(height_m=0.051)
    Camera(height_m=1.499)
    for bad in (0.05, 1.5, 0.01, 2.0):
        with pytest.raises(ValueError, match=rf"camera height_m must lie between near and far, got {bad!r}"):
            Camera(height_m=bad)


def test_focal_length_intrinsics_and_extrinsics():
    cam = Camera(width=300, height=200, fov_deg=HALF_TAN_FOV, height_m=0.7, centre=(0.1, -0.2))
    # the field of view is vertical: f = (H / 2) / tan(fov / 2)
    assert cam.focal_px == pytest.approx(200.0, rel=1e-12)
    assert Camera(width=300, height=200, fov_deg=90.0).focal_px == pytest.approx(100.0, rel=1e-12)
    k = cam.intrinsics
    assert k.dtype == np.float64
    np.testing.assert_allclose(k, [[200, 0, 149.5], [0, 200, 99.5], [0, 0, 1]], rtol=1e-12)
    t = cam.extrinsics
    np.testing.assert_array_equal(t, [[1, 0, 0, 0.1], [0, -1, 0, -0.2], [0, 0, -1, 0.7], [0, 0, 0, 1]])
    assert cam.metres_per_pixel(0.5) == pytest.approx(0.0025)
    np.testing.assert_allclose(cam.metres_per_pixel(np.array([0.2, 0.4])), [0.001, 0.002])


def test_pixel_to_world_exact_values_and_broadcasting():
    cam = Camera(width=300, height=200, fov_deg=HALF_TAN_FOV, height_m=0.7, centre=(0.1, -0.2))
    # 50 px right of and 40 px below the principal point, 0.4 m from the camera
    np.testing.assert_allclose(cam.pixel_to_world(199.5, 139.5, 0.4), [0.1 + 0.1, -0.2 - 0.08, 0.3], atol=1e-12)
    pts = cam.pixel_to_world([149.5, 49.5], 99.5, [0.2, 0.6])
    assert pts.shape == (2, 3)
    np.testing.assert_allclose(pts, [[0.1, -0.2, 0.5], [0.1 - 0.3, -0.2, 0.1]], atol=1e-12)
    # a float32 depth (as read from a depth image) is used at full precision
    d32 = np.float32([0.45, 0.123456])
    pts = cam.pixel_to_world(np.float32([10.5, 20.5]), np.float32([30.5, 40.5]), d32)
    assert pts.dtype == np.float64
    np.testing.assert_array_equal(pts[:, 2], 0.7 - d32.astype(np.float64))
    # points in the camera frame follow the extrinsics (OpenCV axes)
    u, v, d = 10.0, 170.0, 0.55
    cam_pt = np.array([(u - 149.5) * d / 200, (v - 99.5) * d / 200, d, 1.0])
    np.testing.assert_allclose(cam.pixel_to_world(u, v, d), (cam.extrinsics @ cam_pt)[:3], atol=1e-12)


def test_world_to_pixel_exact_values_and_the_plane_of_the_camera():
    cam = Camera(width=300, height=200, fov_deg=HALF_TAN_FOV, height_m=0.7, centre=(0.1, -0.2))
    u, v, d = cam.world_to_pixel([0.2, -0.28, 0.3])
    assert (u, v, d) == (pytest.approx(199.5), pytest.approx(139.5), pytest.approx(0.4))
    u, v, d = cam.world_to_pixel([[0.1, -0.2, 0.5], [-0.2, -0.2, 0.1]])
    np.testing.assert_allclose(u, [149.5, 49.5])
    np.testing.assert_allclose(v, [99.5, 99.5])
    np.testing.assert_allclose(d, [0.2, 0.6])
    # float32 points (as from a float32 observation) give float64 depths and pixels
    u, v, d = cam.world_to_pixel(np.float32([[0.2, -0.28, 0.3], [0.05, 0.01, 0.123]]))
    assert u.dtype == v.dtype == d.dtype == np.float64
    np.testing.assert_array_equal(d, 0.7 - np.float32([0.3, 0.123]).astype(np.float64))
    for z in (0.7, 0.9):
        with pytest.raises(ValueError, match=r"^world_to_pixel: a point lies at or above the camera$"):
            cam.world_to_pixel([[0.0, 0.0, 0.1], [0.0, 0.0, z]])
    assert cam.world_to_pixel([0.0, 0.0, 0.699])[2] == pytest.approx(0.001)


# -- rendering -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def box_client():
    """A second PyBullet client (so that client 0 is not the one rendered) holding one
    4 x 4 x 10 cm box standing at (0.06, -0.04) on z = 0, no table."""
    other = p.connect(p.DIRECT)
    client = p.connect(p.DIRECT)
    shape = p.createCollisionShape(p.GEOM_BOX, halfExtents=[0.02, 0.02, 0.05], physicsClientId=client)
    visual = p.createVisualShape(p.GEOM_BOX, halfExtents=[0.02, 0.02, 0.05], rgbaColor=[0.9, 0.9, 0.9, 1],
                                 physicsClientId=client)
    body = p.createMultiBody(0, shape, visual, [0.06, -0.04, 0.05], physicsClientId=client)
    yield client, body
    p.disconnect(client)
    p.disconnect(other)


def test_render_of_a_box_in_the_image_and_depth(box_client):
    client, body = box_client
    cam = Camera(width=96, height=64, fov_deg=HALF_TAN_FOV, height_m=0.5, near=0.1, far=1.2, centre=(0.02, 0.0))
    frame = cam.render(client)
    assert set(frame) == {"rgb", "depth", "segmentation"}
    rgb, depth, seg = frame["rgb"], frame["depth"], frame["segmentation"]
    assert rgb.shape == (64, 96, 3) and rgb.dtype == np.uint8 and rgb.flags["C_CONTIGUOUS"]
    assert depth.shape == (64, 96) and depth.dtype == np.float32
    assert seg.shape == (64, 96) and seg.dtype == np.int32
    assert set(np.unique(seg)) == {-1, body}
    # nothing behind the box: the background reads the far plane, exactly
    np.testing.assert_array_equal(depth[seg == -1], np.float32(1.2))
    # the box top (z = 0.1) is 0.4 m from the camera; the pixels at its edges see its sides
    assert np.median(depth[seg == body]) == pytest.approx(0.4, abs=2e-3)
    assert depth[seg == body].min() == pytest.approx(0.4, abs=2e-3)
    # the box covers 4 cm / (0.4 m / 64 px) = 6.4 px around the projection of its top centre
    vs, us = np.nonzero(seg == body)
    u, v, _ = cam.world_to_pixel([0.06, -0.04, 0.1])
    assert u == pytest.approx(53.9) and v == pytest.approx(37.9)
    assert abs(us.mean() - u) < 1.5 and abs(vs.mean() - v) < 1.5
    assert 5 <= us.max() - us.min() + 1 <= 8 and 5 <= vs.max() - vs.min() + 1 <= 8


def test_render_noise_needs_an_rng_and_uses_it(box_client):
    client, _ = box_client
    cam = Camera(width=32, height=32, height_m=0.5)
    clean = cam.render(client)["depth"]
    noisy_cam = dataclasses.replace(cam, noise=DepthNoise(sigma_m=0.01, dropout=0.2))
    with pytest.raises(ValueError, match=r"^Camera.render: a depth-noise model needs an rng$"):
        noisy_cam.render(client)
    out = noisy_cam.render(client, np.random.default_rng(5))["depth"]
    np.testing.assert_array_equal(out, noisy_cam.noise.apply(clean, np.random.default_rng(5)))
    assert (out == 0).any()


def test_render_passes_the_lighting(box_client):
    client, body = box_client
    cam = Camera(width=48, height=48, height_m=0.5)
    default = cam.render(client)["rgb"]
    assert np.array_equal(cam.render(client, lighting=None)["rgb"], default)
    dark = cam.render(client, lighting=Lighting(colour=(0.2, 0.2, 0.2), ambient=0.1, diffuse=0.1, specular=0.0))
    seg = cam.render(client)["segmentation"] == body
    assert dark["rgb"][seg].mean() < default[seg].mean() - 50

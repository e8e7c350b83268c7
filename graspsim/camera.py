"""The one camera model: a pinhole RGB-D camera looking straight down at the table.

Conventions
-----------
- World frame: z up, table surface at z = 0, workspace centred on the origin.
- Image axes: u = column (to the right), v = row (downwards); integer pixel
  coordinates are pixel centres, so the principal point of a W x H image is
  ((W - 1) / 2, (H - 1) / 2).
- Top-down view: image +u is world +x and image -v is world +y, so an angle
  measured in the image from +u towards -v equals the world yaw.
- Depth images hold the z-distance along the optical axis in metres (not the
  Euclidean ray length).
- ``extrinsics`` is the 4x4 world-from-camera transform in the OpenCV camera
  convention (x right, y down, z forward).
- The camera never tilts: a scene's appearance may only raise or lower it
  (``dataclasses.replace(camera, height_m=...)``, see graspsim.appearance).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class DepthNoise:
    """Optional depth-noise model (off unless passed to the camera).

    Each pixel gets Gaussian noise whose standard deviation grows with the
    square of the depth (``sigma_m`` at 1 m), is rounded to ``quantisation_m``,
    and a fraction ``dropout`` of pixels reads 0 (missing depth).
    """

    sigma_m: float = 0.001
    quantisation_m: float = 0.0
    dropout: float = 0.0

    def __post_init__(self):
        for name in ("sigma_m", "quantisation_m", "dropout"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"depth noise {name} must be a finite non-negative number, got {value!r}")
        if self.dropout >= 1:
            raise ValueError(f"depth noise dropout must be < 1, got {self.dropout!r}")

    def apply(self, depth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        noisy = depth + rng.standard_normal(depth.shape) * self.sigma_m * depth**2
        if self.quantisation_m > 0:
            noisy = np.round(noisy / self.quantisation_m) * self.quantisation_m
        if self.dropout > 0:
            noisy[rng.random(depth.shape) < self.dropout] = 0.0
        return np.clip(noisy, 0.0, None).astype(np.float32)


@dataclass(frozen=True)
class Camera:
    """A top-down pinhole camera.

    width, height: image size in pixels (default 320 x 320).
    fov_deg: vertical field of view in degrees.
    height_m: camera height above the table (metres).
    centre: (x, y) of the point on the table below the camera (metres).
    near, far: clipping planes (metres).
    """

    width: int = 320
    height: int = 320
    fov_deg: float = 40.0
    height_m: float = 0.6
    centre: tuple[float, float] = (0.0, 0.0)
    near: float = 0.05
    far: float = 1.5
    noise: DepthNoise | None = field(default=None)

    def __post_init__(self):
        for name in ("width", "height"):
            value = getattr(self, name)
            if not (isinstance(value, (int, np.integer)) and 16 <= value <= 4096):
                raise ValueError(f"camera {name} must be an integer in [16, 4096], got {value!r}")
        if not (0 < self.fov_deg < 170):
            raise ValueError(f"camera fov_deg must be in (0, 170), got {self.fov_deg!r}")
        if not (self.near < self.height_m < self.far):
            raise ValueError(f"camera height_m must lie between near and far, got {self.height_m!r}")

    # -- intrinsics and extrinsics ---------------------------------------------------
    @property
    def focal_px(self) -> float:
        """Focal length in pixels (square pixels)."""
        return (self.height / 2) / math.tan(math.radians(self.fov_deg) / 2)

    @property
    def intrinsics(self) -> np.ndarray:
        """3x3 matrix K (pixels)."""
        f = self.focal_px
        return np.array(
            [[f, 0.0, (self.width - 1) / 2], [0.0, f, (self.height - 1) / 2], [0.0, 0.0, 1.0]], dtype=np.float64
        )

    @property
    def extrinsics(self) -> np.ndarray:
        """4x4 world-from-camera transform (OpenCV axes)."""
        t = np.eye(4)
        t[:3, :3] = np.diag([1.0, -1.0, -1.0])
        t[:3, 3] = (self.centre[0], self.centre[1], self.height_m)
        return t

    def metres_per_pixel(self, depth: float | np.ndarray) -> float | np.ndarray:
        """Size of one pixel on a plane at ``depth`` metres from the camera."""
        return depth / self.focal_px

    # -- projections -----------------------------------------------------------------
    def pixel_to_world(self, u, v, depth) -> np.ndarray:
        """World points (..., 3) of pixels (u, v) at z-depth ``depth`` (metres)."""
        u, v, depth = np.broadcast_arrays(np.asarray(u, float), np.asarray(v, float), np.asarray(depth, float))
        k = self.intrinsics
        xc = (u - k[0, 2]) * depth / k[0, 0]
        yc = (v - k[1, 2]) * depth / k[1, 1]
        return np.stack([self.centre[0] + xc, self.centre[1] - yc, self.height_m - depth], axis=-1)

    def world_to_pixel(self, points) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pixel coordinates (u, v) and z-depth of world points (..., 3)."""
        points = np.asarray(points, float)
        k = self.intrinsics
        depth = self.height_m - points[..., 2]
        if np.any(depth <= 0):
            raise ValueError("world_to_pixel: a point lies at or above the camera")
        u = (points[..., 0] - self.centre[0]) * k[0, 0] / depth + k[0, 2]
        v = -(points[..., 1] - self.centre[1]) * k[1, 1] / depth + k[1, 2]
        return u, v, depth

    # -- rendering -------------------------------------------------------------------
    def _matrices(self):
        import pybullet as p

        cx, cy = self.centre
        view = p.computeViewMatrix([cx, cy, self.height_m], [cx, cy, 0.0], [0.0, 1.0, 0.0])
        proj = p.computeProjectionMatrixFOV(self.fov_deg, self.width / self.height, self.near, self.far)
        return view, proj

    def render(self, client: int, rng: np.random.Generator | None = None, lighting=None) -> dict[str, np.ndarray]:
        """Render ``client``: rgb uint8 (H, W, 3), depth float32 (H, W) metres, and
        segmentation int32 (H, W) of PyBullet body ids (-1 for nothing).

        Depth noise, when configured, is drawn from ``rng`` (required then).
        ``lighting``: a :class:`graspsim.appearance.Lighting` (light direction,
        colour, ambient/diffuse/specular coefficients, shadows), or None for
        PyBullet's default light (no light arguments are passed at all).
        """
        import pybullet as p

        view, proj = self._matrices()
        light = {} if lighting is None else lighting.pybullet_kwargs()
        _, _, rgba, zbuf, seg = p.getCameraImage(
            self.width,
            self.height,
            view,
            proj,
            renderer=p.ER_TINY_RENDERER,
            physicsClientId=client,
            **light,
        )
        rgba = np.asarray(rgba, dtype=np.uint8).reshape(self.height, self.width, 4)
        zbuf = np.asarray(zbuf, dtype=np.float64).reshape(self.height, self.width)
        depth = (self.far * self.near / (self.far - (self.far - self.near) * zbuf)).astype(np.float32)
        if self.noise is not None:
            if rng is None:
                raise ValueError("Camera.render: a depth-noise model needs an rng")
            depth = self.noise.apply(depth, rng)
        seg = np.asarray(seg, dtype=np.int32).reshape(self.height, self.width)
        return {"rgb": np.ascontiguousarray(rgba[..., :3]), "depth": depth, "segmentation": seg}

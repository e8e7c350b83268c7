"""The one grasp type, in the image and in the world.

:class:`ImageGrasp` is a grasp rectangle in the image: centre (u, v) in
pixels, ``angle`` of the closing line (finger to finger) measured from +u
towards -v in radians, wrapped to (-π/2, π/2] because a parallel-jaw grasp is
symmetric; ``opening_px`` is the rectangle's side along the closing line (the
gripper opening, Jacquard's "w"), ``jaw_px`` the other side (the finger width,
Jacquard's "h"), ``score`` the policy's confidence.

:class:`TopDownGrasp` is the executed grasp in the world: the TCP position
(x, y, z) in metres, ``yaw`` of the closing direction about world z in
radians (same wrap), and ``opening_m``. Because the camera's +u is world +x
and -v is world +y, the image angle equals the world yaw.

Depth for an image grasp comes from the depth image: the highest surface in a
small disc around the centre, minus ``GRASP_DEPTH`` (how far the fingertips
reach below that surface), never lower than ``MIN_TCP_Z`` above the table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from graspsim.camera import Camera
from graspsim.grippers import GripperSpec, get_gripper

GRASP_DEPTH = 0.025  # m below the highest surface at the grasp centre
MIN_TCP_Z = 0.004  # m above the table
DEPTH_WINDOW_PX = 3  # radius of the disc read from the depth image


def wrap_angle(angle: float) -> float:
    """Wrap an angle (radians) to (-π/2, π/2]: grasps are symmetric under a half turn."""
    a = math.fmod(float(angle), math.pi)
    if a <= -math.pi / 2:
        a += math.pi
    elif a > math.pi / 2:
        a -= math.pi
    return a


def action_bounds(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) float32 of the environment action (u, v, angle, opening_px) on a
    ``width`` × ``height`` image: u in [0, W - 1], v in [0, H - 1] pixels, angle in
    [-π/2, π/2] radians, opening in [0, max(W, H)] pixels."""
    low = np.array([0.0, 0.0, -math.pi / 2, 0.0], np.float32)
    high = np.array([width - 1, height - 1, math.pi / 2, float(max(width, height))], np.float32)
    return low, high


def unit_to_action(unit, low, high) -> np.ndarray:
    """An action in [-1, 1]^4 (clipped there) mapped linearly onto [low, high]: -1 -> low,
    +1 -> high (float32); ValueError for a wrong shape or a non-finite value."""
    lo, hi = np.asarray(low, np.float64), np.asarray(high, np.float64)
    a = np.asarray(unit, np.float64)
    if a.shape != lo.shape:
        raise ValueError(f"normalised action must have shape {lo.shape}, got {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"normalised action must be finite, got {a.tolist()}")
    a = np.clip(a, -1.0, 1.0)
    return (lo + (a + 1.0) / 2.0 * (hi - lo)).astype(np.float32)


def relative_unit_to_action(unit, anchor_uv, radius_px: float, low, high) -> np.ndarray:
    """A prompt-relative action in [-1, 1]^4 (clipped there) mapped onto the environment
    action: (u, v) = ``anchor_uv`` + ``radius_px`` × (unit[0], unit[1]), clipped to
    [low, high]; angle and opening mapped linearly as :func:`unit_to_action` maps them.
    ValueError for a wrong shape, a non-finite value or a radius that is not positive."""
    if not (isinstance(radius_px, (int, float)) and math.isfinite(radius_px) and radius_px > 0):
        raise ValueError(f"radius_px must be a positive number, got {radius_px!r}")
    action = unit_to_action(unit, low, high).astype(np.float64)
    a = np.clip(np.asarray(unit, np.float64), -1.0, 1.0)
    lo, hi = np.asarray(low, np.float64), np.asarray(high, np.float64)
    action[:2] = np.clip(np.asarray(anchor_uv, np.float64) + radius_px * a[:2], lo[:2], hi[:2])
    return action.astype(np.float32)


@dataclass(frozen=True)
class ImageGrasp:
    u: float
    v: float
    angle: float
    opening_px: float
    jaw_px: float = 0.0
    score: float = 1.0

    def corners(self) -> np.ndarray:
        """The rectangle's 4 corners (u, v) as a (4, 2) array in Cornell order:
        corner 0 → 1 runs along the closing line, 1 → 2 along a jaw."""
        from graspsim.rectangles import to_corners

        return to_corners(self.as_rect())[0]

    def as_rect(self) -> np.ndarray:
        """The (5,) rectangle row (u, v, angle, opening_px, jaw_px); see graspsim.rectangles."""
        return np.array([self.u, self.v, wrap_angle(self.angle), self.opening_px, self.jaw_px], dtype=np.float64)

    @classmethod
    def from_rect(cls, rect, score: float = 1.0) -> "ImageGrasp":
        u, v, angle, opening, jaw = (float(x) for x in np.asarray(rect, dtype=np.float64).reshape(5))
        return cls(u, v, wrap_angle(angle), opening, jaw, score)

    def as_action(self) -> np.ndarray:
        """The environment action (u, v, angle, opening_px), float32."""
        return np.array([self.u, self.v, wrap_angle(self.angle), self.opening_px], dtype=np.float32)

    @classmethod
    def from_action(cls, action, jaw_px: float = 0.0) -> "ImageGrasp":
        u, v, angle, opening = (float(a) for a in np.asarray(action, dtype=np.float64).reshape(4))
        return cls(u, v, wrap_angle(angle), opening, jaw_px)


@dataclass(frozen=True)
class TopDownGrasp:
    x: float
    y: float
    z: float
    yaw: float
    opening_m: float

    def as_array(self) -> np.ndarray:
        return np.array([self.x, self.y, self.z, self.yaw, self.opening_m], dtype=np.float64)

    def check(self) -> None:
        """Raise ValueError naming the field when the grasp cannot be executed."""
        for name in ("x", "y", "z", "yaw", "opening_m"):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise ValueError(f"grasp {name} must be finite, got {value!r}")
        if not (0.0 < self.opening_m):
            raise ValueError(f"grasp opening_m must be positive, got {self.opening_m!r}")


def surface_depth(depth: np.ndarray, u: float, v: float, radius: int = DEPTH_WINDOW_PX) -> float:
    """Smallest valid depth (the highest surface) in a disc around (u, v), metres."""
    h, w = depth.shape
    iu, iv = int(round(u)), int(round(v))
    u0, u1, v0, v1 = max(iu - radius, 0), min(iu + radius + 1, w), max(iv - radius, 0), min(iv + radius + 1, h)
    if u0 >= u1 or v0 >= v1:
        raise ValueError(f"grasp centre ({u}, {v}) lies outside the {w}x{h} image")
    patch = depth[v0:v1, u0:u1]
    yy, xx = np.ogrid[v0:v1, u0:u1]
    valid = ((xx - u) ** 2 + (yy - v) ** 2 <= (radius + 0.5) ** 2) & (patch > 0) & np.isfinite(patch)
    if not valid.any():
        raise ValueError(f"no valid depth around grasp centre ({u}, {v})")
    return float(patch[valid].min())


def tcp_height(surface_z: float) -> float:
    """World z (m) of the TCP for a grasp whose highest surface is at ``surface_z``."""
    return max(float(surface_z) - GRASP_DEPTH, MIN_TCP_Z)


def image_to_world(grasp: ImageGrasp, depth: np.ndarray, camera: Camera, gripper: GripperSpec | None = None
                   ) -> TopDownGrasp:
    """Lift an image grasp to a world top-down grasp using the depth image; the
    opening is clipped to the ``gripper``'s stroke (default gripper when None)."""
    d = surface_depth(depth, grasp.u, grasp.v)
    x, y, z_surface = camera.pixel_to_world(grasp.u, grasp.v, d)
    z = tcp_height(z_surface)
    opening = grasp.opening_px * float(camera.metres_per_pixel(camera.height_m - z))
    return TopDownGrasp(float(x), float(y), z, wrap_angle(grasp.angle), min(opening, get_gripper(gripper).max_opening_m))


def world_to_image(grasp: TopDownGrasp, camera: Camera, score: float = 1.0, gripper: GripperSpec | None = None
                   ) -> ImageGrasp:
    """Project a world grasp into the image (jaw: the ``gripper``'s finger width).

    The centre is the projection of the point ``GRASP_DEPTH`` above the TCP
    (the surface point that :func:`image_to_world` reads), so the two are
    inverse for grasps whose TCP was not clamped to ``MIN_TCP_Z``; opening
    and jaw are scaled at the TCP depth, as in :func:`image_to_world`.
    """
    u, v, _ = camera.world_to_pixel([grasp.x, grasp.y, grasp.z + GRASP_DEPTH])
    px_per_m = 1.0 / float(camera.metres_per_pixel(camera.height_m - grasp.z))
    return ImageGrasp(float(u), float(v), wrap_angle(grasp.yaw), grasp.opening_m * px_per_m,
                      get_gripper(gripper).finger_width_m * px_per_m, score)

"""Cheap geometric checks of a top-down grasp against what the camera sees.

Shared by the analytic policy, GraspSAM's grasp choice and the candidate
generator of the simulated-trial labeller, so all judge "will the fingers and
the palm fit" the same way, for the hand of a :class:`graspsim.grippers.GripperSpec`
(every function that needs the hand takes ``gripper``; None: the default gripper): :func:`height_map` turns a depth image into an
orthographic top-down height map (metres above the table, in world x, y),
and :func:`grasp_clear` tests an image grasp, lifted to the world as the
environment lifts it, against it. Image directions ``d`` (closing line) and
``n`` (jaw) are unit vectors in (u, v) pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from graspsim.grasp import surface_depth, tcp_height, wrap_angle
from graspsim.grippers import GripperSpec, get_gripper

MARGIN_M = 0.006  # free space a grasp leaves on each side of the object (policies and labels)
FINGER_TOLERANCE_M = 0.002  # a finger footprint may be this much higher than the fingertips
PALM_TOLERANCE_M = 0.003  # the palm must clear its footprint by this much
CELL_M = 0.0015  # height-map cell: about one image pixel on the table


def heights_above_table(depth: np.ndarray, intrinsics: np.ndarray, extrinsics: np.ndarray) -> np.ndarray:
    """World z (metres) of every pixel; NaN where depth is missing."""
    h, w = depth.shape
    k = np.asarray(intrinsics, np.float64)
    t = np.asarray(extrinsics, np.float64)
    ray_u = (np.arange(w) - k[0, 2]) / k[0, 0]
    ray_v = (np.arange(h) - k[1, 2]) / k[1, 1]
    z = depth.astype(np.float64) * (t[2, 0] * ray_u[None, :] + t[2, 1] * ray_v[:, None] + t[2, 2]) + t[2, 3]
    z[~(depth > 0)] = np.nan
    return z


def closing_axes(angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Unit closing direction d and jaw direction n in (u, v) for an image angle (radians)."""
    d = np.array([math.cos(angle), -math.sin(angle)])
    return d, np.array([-d[1], d[0]])


@dataclass(frozen=True)
class HeightMap:
    """Orthographic top-down height map of the surface the camera sees.

    heights: float32 (rows, cols), the highest seen surface point in each
    ``cell_m`` square, metres above the table (0: table, or nothing seen);
    row ``i``, column ``j`` is centred at world ``(x0 + j * cell_m, y0 + i * cell_m)``.
    Unlike the camera image, a point keeps its true (x, y) whatever its
    height, so a tall neighbour is tested where it stands (a footprint laid
    out in image pixels at the TCP depth misplaces tall points by the
    perspective, about 1.5 cm for 7 cm of height at 10 cm from the centre).
    """

    heights: np.ndarray
    x0: float
    y0: float
    cell_m: float

    def highest(self, x: np.ndarray, y: np.ndarray) -> float:
        """Highest surface (m above the table) over the cells holding world points (x, y)."""
        j = np.rint((np.asarray(x) - self.x0) / self.cell_m).astype(np.intp)
        i = np.rint((np.asarray(y) - self.y0) / self.cell_m).astype(np.intp)
        rows, cols = self.heights.shape
        inside = (i >= 0) & (i < rows) & (j >= 0) & (j < cols)
        return float(self.heights[i[inside], j[inside]].max()) if inside.any() else 0.0


def surface_points(depth: np.ndarray, intrinsics: np.ndarray, extrinsics: np.ndarray,
                   mask: np.ndarray | None = None) -> np.ndarray:
    """World (x, y, z) of every pixel with valid depth (within ``mask``, bool H×W,
    when given), (N, 3) metres."""
    vs, us = np.nonzero(depth > 0 if mask is None else (depth > 0) & mask)
    return _to_world(intrinsics, extrinsics, us, vs, depth[vs, us].astype(np.float64))


def _to_world(intrinsics: np.ndarray, extrinsics: np.ndarray, u, v, z) -> np.ndarray:
    """World points (..., 3) of pixels (u, v) at z-depth ``z`` (metres)."""
    k = np.asarray(intrinsics, np.float64)
    t = np.asarray(extrinsics, np.float64)
    camera = np.stack([(u - k[0, 2]) / k[0, 0] * z, (v - k[1, 2]) / k[1, 1] * z, z], axis=-1)
    return camera @ t[:3, :3].T + t[:3, 3]


def height_map(depth: np.ndarray, intrinsics: np.ndarray, extrinsics: np.ndarray, cell_m: float = CELL_M,
               heights: np.ndarray | None = None) -> HeightMap:
    """The :class:`HeightMap` of a depth image (missing depth: nothing seen);
    ``heights``: its :func:`heights_above_table` when the caller has them.

    Each cell keeps its highest point; a 3 × 3 maximum then closes the gaps
    between the projected pixels (and widens every object by one cell).
    """
    import cv2

    if heights is None:
        heights = heights_above_table(depth, intrinsics, extrinsics)
    above = np.nan_to_num(heights, nan=0.0) > 0.0
    points = surface_points(depth, intrinsics, extrinsics, above)  # the table's points would only write 0
    if len(points) == 0:
        return HeightMap(np.zeros((1, 1), np.float32), 0.0, 0.0, cell_m)
    x0, y0 = points[:, 0].min() - cell_m, points[:, 1].min() - cell_m
    j = np.rint((points[:, 0] - x0) / cell_m).astype(np.intp)
    i = np.rint((points[:, 1] - y0) / cell_m).astype(np.intp)
    grid = np.zeros((i.max() + 2, j.max() + 2), np.float32)
    np.maximum.at(grid, (i, j), np.maximum(points[:, 2], 0.0).astype(np.float32))
    grid = cv2.dilate(grid, np.ones((3, 3), np.uint8))
    return HeightMap(grid, float(x0), float(y0), cell_m)


def _box_points(n_along: int, n_across: int, along: tuple[float, float], across: tuple[float, float]):
    """A grid of (along, across) offsets (metres) covering a rectangle."""
    a = np.linspace(along[0], along[1], n_along)
    b = np.linspace(across[0], across[1], n_across)
    return np.repeat(a, len(b)), np.tile(b, len(a))


@lru_cache(maxsize=16)
def _footprints(gripper: GripperSpec):
    """(along, across) offset grids (metres) sampling a finger's footprint (every
    cell) and the palm's (every second cell)."""
    t, w = gripper.finger_thickness_m, gripper.finger_width_m
    px, py = gripper.palm_half_m[0], gripper.palm_half_m[1]
    finger = _box_points(int(t / CELL_M) + 2, int(w / CELL_M) + 2, (0.0, t), (-w / 2, w / 2))
    palm = _box_points(int(px / CELL_M) + 2, int(py / CELL_M) + 2, (-px, px), (-py, py))
    return finger, palm


def hand_margin(hmap: HeightMap, x: float, y: float, yaw: float, z_tcp: float, opening_m: float,
                gripper: GripperSpec | None = None) -> float:
    """How far (metres) a top-down hand at TCP (x, y, z_tcp), closing along world
    yaw with its fingers' inner faces ``opening_m`` apart, stays clear of the
    height map: the least of (fingertips + ``FINGER_TOLERANCE_M``) minus the highest
    point under either finger's footprint and (palm - ``PALM_TOLERANCE_M``) minus the
    highest point under the palm's. Negative: the hand would touch something on
    the way down.

    The palm is sampled every two cells: the height map's 3 × 3 maximum covers the
    cells between.
    """
    gripper = get_gripper(gripper)
    (along, across), palm_grid = _footprints(gripper)
    c, s = math.cos(yaw), math.sin(yaw)
    margin = math.inf
    for side in (-1.0, 1.0):
        a = side * (opening_m / 2 + along)
        margin = min(margin, z_tcp + FINGER_TOLERANCE_M - hmap.highest(x + a * c - across * s, y + a * s + across * c))
    along, across = palm_grid
    palm = z_tcp + gripper.finger_length_m - PALM_TOLERANCE_M - hmap.highest(x + along * c - across * s, y + along * s + across * c)
    return min(margin, palm)


def lift(depth: np.ndarray, intrinsics: np.ndarray, extrinsics: np.ndarray, u: float, v: float
         ) -> tuple[float, float, float, float]:
    """How the environment executes an image grasp centred at (u, v) (see
    :func:`graspsim.grasp.image_to_world`): world ``(x, y)`` of the highest surface
    near the centre, the TCP height ``z_tcp`` (all metres), and image pixels per
    metre at the TCP's depth (which scales the opening). Missing depth there: the
    table."""
    k = np.asarray(intrinsics, np.float64)
    t = np.asarray(extrinsics, np.float64)
    camera_height = float(t[2, 3])
    try:
        surface = surface_depth(depth, u, v)
    except ValueError:
        surface = camera_height
    z_tcp = tcp_height(camera_height - surface)
    x, y, _ = _to_world(k, t, np.float64(u), np.float64(v), np.float64(surface))
    return float(x), float(y), z_tcp, float(k[0, 0]) / (camera_height - z_tcp)


def _to_pixel(intrinsics: np.ndarray, extrinsics: np.ndarray, point: np.ndarray) -> tuple[float, float]:
    k = np.asarray(intrinsics, np.float64)
    t = np.asarray(extrinsics, np.float64)
    cam = t[:3, :3].T @ (np.asarray(point, np.float64) - t[:3, 3])
    return float(k[0, 0] * cam[0] / cam[2] + k[0, 2]), float(k[1, 1] * cam[1] / cam[2] + k[1, 2])


def fit_to_mask(mask: np.ndarray, depth: np.ndarray, intrinsics: np.ndarray, extrinsics: np.ndarray,
                u: float, v: float, angle: float, opening_px: float, gripper: GripperSpec | None = None
                ) -> tuple[float, float, float]:
    """Centre and opening of a grasp refitted to the object's mask (bool H×W).

    Measured in the world, not in the image (where an object's visible side
    wall and the perspective shift and stretch its extent): the mask's surface
    points (from ``depth``) that stand higher than the fingertips will reach and
    lie within a finger-wide band along the closing line through the grasp give
    the object's extent there (pixel centres, plus one pixel's size); the grasp is
    re-centred on it and opened to at least that extent plus ``MARGIN_M`` on each
    side, in pixels at the TCP depth the environment will use. Returns
    ``(u, v, opening_px)``, unchanged when the band holds no such point.
    """
    return fit_to_points(surface_points(depth, intrinsics, extrinsics, mask), mask.shape, depth, intrinsics,
                         extrinsics, u, v, angle, opening_px, gripper=gripper)


def fit_to_points(points: np.ndarray, shape: tuple[int, int], depth: np.ndarray, intrinsics: np.ndarray,
                  extrinsics: np.ndarray, u: float, v: float, angle: float, opening_px: float, lifted=None,
                  gripper: GripperSpec | None = None, margin_m: float = MARGIN_M) -> tuple[float, float, float]:
    """:func:`fit_to_mask` given the mask's :func:`surface_points` (N×3) and the
    image ``shape`` (H, W), for many grasps on one mask; ``lifted``: :func:`lift`
    of (u, v) when already known (many angles at one centre); the band is the
    ``gripper``'s finger width; ``margin_m`` the free space left on each side.
    This is the one jaw-band fit: policies and the labeller's candidates use it."""
    if len(points) == 0:
        return u, v, opening_px
    x, y, z_tcp, _ = lift(depth, intrinsics, extrinsics, u, v) if lifted is None else lifted
    yaw = wrap_angle(angle)
    d = np.array([math.cos(yaw), math.sin(yaw)])
    rel = points[:, :2] - (x, y)
    along = rel @ d
    band = (np.abs(rel @ (-d[1], d[0])) <= get_gripper(gripper).finger_width_m / 2) & (points[:, 2] > z_tcp)
    if not band.any():
        return u, v, opening_px
    lo, hi = float(along[band].min()), float(along[band].max())
    top = float(points[band, 2].max())
    pixel_m = (float(np.asarray(extrinsics)[2, 3]) - top) / float(np.asarray(intrinsics)[0, 0])
    centre = np.array([x, y, top])
    centre[:2] += d * (lo + hi) / 2
    h, w = shape
    cu, cv = _to_pixel(intrinsics, extrinsics, centre)
    cu, cv = float(np.clip(cu, 0, w - 1)), float(np.clip(cv, 0, h - 1))
    _, _, _, px_per_m = lift(depth, intrinsics, extrinsics, cu, cv)
    return cu, cv, max(float(opening_px), (hi - lo + pixel_m + 2 * margin_m) * px_per_m)


def grasp_margin(hmap: HeightMap, depth: np.ndarray, intrinsics: np.ndarray, extrinsics: np.ndarray,
                 u: float, v: float, angle: float, opening_px: float, lifted=None,
                 gripper: GripperSpec | None = None) -> float:
    """:func:`hand_margin` (metres; negative: a collision) of the image grasp (u, v,
    angle [rad], ``opening_px``) executed as the environment executes it (:func:`lift`;
    opened ``OPENING_CLEARANCE`` wider, at most the ``gripper``'s stroke), against the height
    map ``hmap`` of the same depth image (:func:`height_map`, built once per image
    for all the grasps tried on it); ``lifted``: :func:`lift` of (u, v) when
    already known."""
    from graspsim.sim.executor import OPENING_CLEARANCE

    gripper = get_gripper(gripper)
    x, y, z_tcp, px_per_m = lift(depth, intrinsics, extrinsics, u, v) if lifted is None else lifted
    opening_m = min(opening_px / px_per_m + OPENING_CLEARANCE, gripper.max_opening_m)
    return hand_margin(hmap, x, y, wrap_angle(angle), z_tcp, opening_m, gripper)


def grasp_clear(hmap: HeightMap, depth: np.ndarray, intrinsics: np.ndarray, extrinsics: np.ndarray,
                u: float, v: float, angle: float, opening_px: float, gripper: GripperSpec | None = None) -> bool:
    """Whether the image grasp clears the height map (:func:`grasp_margin` >= 0)."""
    return grasp_margin(hmap, depth, intrinsics, extrinsics, u, v, angle, opening_px, gripper=gripper) >= 0.0

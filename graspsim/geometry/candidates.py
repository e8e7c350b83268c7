"""Antipodal top-down grasp candidates of one object, from its mask and depth.

For each of ``N_ANGLES`` closing directions the object's visible mask is cut
into bands half a jaw apart across that direction; each band's line is
fitted to the object in the world by the one jaw-band fit,
:func:`graspsim.geometry.clearance.fit_to_points` (centre on the object's extent
along the closing line within a finger-wide band, opening = that extent plus
a margin on each side), and a wider variant opens ``WIDE_EXTRA_M`` more.
A candidate is *antipodal* when the mask's outward normals at both ends of
its centre line lie within ``FRICTION_CONE_DEG`` of the closing line. Cheap
facts recorded with each candidate, before any physics: the opening fits the
gripper's stroke, and the hand clears the height map
(:mod:`graspsim.geometry.clearance`, the checks the analytic policy uses).

Openings are image pixels of the rendered frame at the TCP depth the
environment will use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from graspsim.camera import Camera
from graspsim.geometry.clearance import MARGIN_M, HeightMap, closing_axes, fit_to_points, grasp_clear, height_map, lift, surface_points
from graspsim.grasp import ImageGrasp
from graspsim.grippers import GripperSpec, get_gripper

N_ANGLES = 12
WIDE_EXTRA_M = 0.015  # the wider variant opens this much more
FRICTION_CONE_DEG = 30.0
MIN_EXTENT_PX = 2.0


@dataclass(frozen=True)
class Candidate:
    """A candidate grasp and the facts the filters used."""

    grasp: ImageGrasp
    antipodal: bool
    fits: bool  # opening within the gripper's stroke
    clear: bool  # fingers and palm clear the height map

    @property
    def passes(self) -> bool:
        return self.antipodal and self.fits and self.clear


def _outward_normals(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit outward normal (nu, nv) of a smoothed mask, per pixel."""
    import cv2

    smooth = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 2.0)
    gv, gu = np.gradient(smooth)
    norm = np.hypot(gu, gv) + 1e-9
    return -gu / norm, -gv / norm


def object_candidates(
    mask: np.ndarray,
    depth: np.ndarray,
    camera: Camera,
    n_angles: int = N_ANGLES,
    hmap: HeightMap | None = None,
    gripper: GripperSpec | None = None,
) -> list[Candidate]:
    """All candidates of the object whose visible pixels are ``mask`` (bool H×W).

    ``depth`` is the z-depth image (all objects: the clearance test needs the
    neighbours), ``hmap`` its :func:`graspsim.geometry.clearance.height_map` (built
    when None), ``gripper`` the hand (default gripper when None).
    """
    vs, us = np.nonzero(mask)
    if len(us) == 0:
        return []
    gripper = get_gripper(gripper)
    h, w = mask.shape
    k, t = camera.intrinsics, camera.extrinsics
    hmap = height_map(depth, k, t) if hmap is None else hmap
    points = surface_points(depth, k, t, mask)
    # the band spacing: half a jaw at the object's top, in pixels
    top_px_per_m = lift(depth, k, t, float(us[0]), float(vs[0]))[3] if len(points) == 0 else \
        float(np.asarray(k)[0, 0]) / (float(np.asarray(t)[2, 3]) - float(points[:, 2].max()))
    step = gripper.finger_width_m * top_px_per_m / 2
    nu, nv = _outward_normals(mask)
    cos_cone = math.cos(math.radians(FRICTION_CONE_DEG))
    cu, cv = float(us.mean()), float(vs.mean())
    out: list[Candidate] = []
    for angle in np.linspace(-math.pi / 2, math.pi / 2, n_angles, endpoint=False) + math.pi / n_angles / 2:
        d, n = closing_axes(float(angle))
        across = (us - cu) * n[0] + (vs - cv) * n[1]
        for offset in np.arange(np.floor(across.min() / step), np.ceil(across.max() / step) + 1) * step:
            if np.count_nonzero(np.abs(across - offset) <= step) < 3:
                continue
            su, sv = cu + offset * n[0], cv + offset * n[1]
            if not (0 <= su <= w - 1 and 0 <= sv <= h - 1):
                continue
            gu, gv, opening = fit_to_points(points, mask.shape, depth, k, t, su, sv, float(angle), 0.0, gripper=gripper)
            px_per_m = lift(depth, k, t, gu, gv)[3]
            extent = opening - 2 * MARGIN_M * px_per_m
            if opening == 0.0 or extent < MIN_EXTENT_PX:
                continue
            antipodal = True
            for sign in (-1.0, 1.0):
                eu = int(np.clip(round(gu + sign * extent / 2 * d[0]), 0, w - 1))
                ev = int(np.clip(round(gv + sign * extent / 2 * d[1]), 0, h - 1))
                antipodal &= bool(sign * (nu[ev, eu] * d[0] + nv[ev, eu] * d[1]) >= cos_cone)
            max_px = gripper.max_opening_m * px_per_m
            for extra in (0.0, WIDE_EXTRA_M):
                wide = opening + extra * px_per_m
                grasp = ImageGrasp(gu, gv, float(angle), min(wide, max_px), gripper.finger_width_m * px_per_m)
                clear = grasp_clear(hmap, depth, k, t, gu, gv, float(angle), grasp.opening_px, gripper=gripper)
                out.append(Candidate(grasp, antipodal, bool(wide <= max_px), bool(clear)))
    return out


def spread_subset(grasps: list[ImageGrasp], k: int, angle_px: float = 20.0) -> list[int]:
    """Indices of up to ``k`` mutually distant grasps (farthest-point sampling in
    (u, v, angle) with a quarter turn counting as ``angle_px`` pixels), starting
    from the one nearest their mean centre. Deterministic."""
    if k <= 0 or not grasps:
        return []
    uv = np.array([[g.u, g.v] for g in grasps])
    ang = np.array([g.angle for g in grasps])

    def dist(j: int) -> np.ndarray:
        da = np.abs(np.mod(ang - ang[j] + math.pi / 2, math.pi) - math.pi / 2)
        return np.hypot(*(uv - uv[j]).T) + angle_px * da / (math.pi / 2)

    first = int(np.argmin(np.hypot(*(uv - uv.mean(0)).T)))
    chosen = [first]
    nearest = dist(first)
    while len(chosen) < min(k, len(grasps)):
        j = int(np.argmax(nearest))
        if nearest[j] <= 0:
            break
        chosen.append(j)
        nearest = np.minimum(nearest, dist(j))
    return chosen

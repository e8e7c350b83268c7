"""Antipodal top-down grasp candidates of one object, from its mask and depth.

For each of ``N_ANGLES`` closing directions the object's visible mask is cut
into jaw-wide bands across that direction; each band gives one candidate,
centred on the band's extent along the closing line, whose opening is that
extent plus a margin on each side (and a wider variant). A candidate is
*antipodal* when the mask's outward normals at both ends of its centre line
lie within ``FRICTION_CONE_DEG`` of the closing line. Cheap filters, before
any physics: the opening fits the gripper, both finger footprints lie below
the fingertips and the palm clears everything under it
(:mod:`graspsim.clearance`, the checks the analytic policy uses).

Everything is in image pixels of the rendered frame; openings are converted
with the camera's scale at the TCP depth the environment will use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from graspsim.camera import Camera
from graspsim.clearance import MARGIN_M, HeightMap, closing_axes, grasp_clear, height_map, lift
from graspsim.grasp import ImageGrasp, tcp_height
from graspsim.gripper import FINGER_WIDTH, MAX_OPENING

N_ANGLES = 12
WIDE_EXTRA_M = 0.015  # the wider variant opens this much more
FRICTION_CONE_DEG = 30.0
MIN_EXTENT_PX = 2.0


@dataclass(frozen=True)
class Candidate:
    """A candidate grasp and the facts the filters used."""

    grasp: ImageGrasp
    antipodal: bool
    fits: bool  # opening within the gripper's range
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
    heights: np.ndarray,
    depth: np.ndarray,
    camera: Camera,
    n_angles: int = N_ANGLES,
    hmap: HeightMap | None = None,
) -> list[Candidate]:
    """All candidates of the object whose visible pixels are ``mask`` (bool H×W).

    ``heights`` are metres above the table for every pixel (all objects: the
    clearance filters need the neighbours), ``depth`` the z-depth image,
    ``hmap`` its :func:`graspsim.clearance.height_map` (built when None).
    """
    vs, us = np.nonzero(mask)
    if len(us) == 0:
        return []
    h, w = mask.shape
    hz = np.nan_to_num(heights, nan=0.0)
    hmap = height_map(depth, camera.intrinsics, camera.extrinsics) if hmap is None else hmap
    cam_h = camera.height_m
    top_z = float(hz[mask].max())
    px_per_m = 1.0 / float(camera.metres_per_pixel(cam_h - tcp_height(top_z)))
    jaw_px = FINGER_WIDTH * px_per_m
    nu, nv = _outward_normals(mask)
    cos_cone = math.cos(math.radians(FRICTION_CONE_DEG))
    cu, cv = float(us.mean()), float(vs.mean())
    out: list[Candidate] = []
    for angle in np.linspace(-math.pi / 2, math.pi / 2, n_angles, endpoint=False) + math.pi / n_angles / 2:
        d, n = closing_axes(float(angle))
        along = (us - cu) * d[0] + (vs - cv) * d[1]
        across = (us - cu) * n[0] + (vs - cv) * n[1]
        step = jaw_px / 2
        for offset in np.arange(np.floor(across.min() / step), np.ceil(across.max() / step) + 1) * step:
            band = np.abs(across - offset) <= jaw_px / 2
            if band.sum() < 3:
                continue
            lo, hi = float(along[band].min()), float(along[band].max())
            if hi - lo < MIN_EXTENT_PX:
                continue
            mid = (lo + hi) / 2
            gu, gv = cu + offset * n[0] + mid * d[0], cv + offset * n[1] + mid * d[1]
            if not (0 <= gu <= w - 1 and 0 <= gv <= h - 1):
                continue
            antipodal = True
            for end, sign in ((lo, -1.0), (hi, 1.0)):
                eu = int(np.clip(round(cu + offset * n[0] + end * d[0]), 0, w - 1))
                ev = int(np.clip(round(cv + offset * n[1] + end * d[1]), 0, h - 1))
                antipodal &= bool(sign * (nu[ev, eu] * d[0] + nv[ev, eu] * d[1]) >= cos_cone)
            tcp_px_per_m = lift(depth, camera.intrinsics, camera.extrinsics, gu, gv)[3]
            for extra in (0.0, WIDE_EXTRA_M):
                opening = (hi - lo + 1) + 2 * (MARGIN_M + extra / 2) * tcp_px_per_m
                fits = opening <= MAX_OPENING * tcp_px_per_m
                clear = grasp_clear(hmap, depth, camera.intrinsics, camera.extrinsics, gu, gv, float(angle),
                                    min(opening, MAX_OPENING * tcp_px_per_m))
                grasp = ImageGrasp(gu, gv, float(angle), min(opening, MAX_OPENING * tcp_px_per_m), FINGER_WIDTH * tcp_px_per_m)
                out.append(Candidate(grasp, antipodal, bool(fits), bool(clear)))
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

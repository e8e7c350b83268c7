"""Grasp synthesis on an object region: the analytic choice among fitted candidates.

Candidates: the region's centroid and up to ``N_CENTRES`` well-inside points
(farthest-point samples of the region's thick part), each at ``N_ANGLES``
closing angles; each is fitted to the region in the world
(:func:`graspsim.geometry.clearance.fit_to_points`: centre and opening from the
region's extent along the closing line within a jaw-wide band). Among those
that fit the gripper's stroke and clear the scene's height map, the smallest
opening + 0.5 x distance to the centroid (pixels) wins; when none is, the one
that comes nearest to clearing the scene. Shared by the analytic policy and
GraspSAM's last-resort choice.
"""

from __future__ import annotations

import math

import numpy as np

from graspsim.geometry.clearance import fit_to_points, grasp_margin, height_map, lift, surface_points
from graspsim.grippers import GripperSpec, get_gripper

N_ANGLES = 24
N_CENTRES = 8


def region_grasp(region: np.ndarray, depth: np.ndarray, k: np.ndarray, t: np.ndarray, hmap=None,
                 gripper: GripperSpec | None = None) -> tuple[np.ndarray, float]:
    """The analytic grasp of an object region (bool H×W) and its clearance margin
    (metres, :func:`graspsim.geometry.clearance.grasp_margin`; negative: no candidate is
    clear). Candidates: the region's centroid and :func:`inner_points`, each at
    ``N_ANGLES`` angles, fitted to the region; among those that fit the opening
    and are clear, the smallest opening + 0.5 x distance to the centroid
    (pixels) wins; when none is, the one with the largest margin.
    ``hmap``: the depth image's height map (built when None); ``gripper``: the
    hand (default: :func:`graspsim.grippers.get_gripper`'s default)."""
    import cv2

    gripper = get_gripper(gripper)
    vs, us = np.nonzero(region)
    dist = cv2.distanceTransform(np.pad(region, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]
    centroid = (float(us.mean()), float(vs.mean()))
    centres = [centroid] + inner_points(dist)
    angles = np.linspace(-math.pi / 2, math.pi / 2, N_ANGLES, endpoint=False)
    hmap = height_map(depth, k, t) if hmap is None else hmap
    points = surface_points(depth, k, t, region)
    best, best_key = None, None
    for cu, cv in centres:
        centre = lift(depth, k, t, cu, cv)
        for a in angles:
            gu, gv, opening = fit_to_points(points, region.shape, depth, k, t, cu, cv, a, 0.0, lifted=centre, gripper=gripper)
            if opening == 0.0:
                continue
            lifted = lift(depth, k, t, gu, gv)
            max_open_px = gripper.max_opening_m * lifted[3]
            grasp = (gu, gv, float(a), min(opening, max_open_px))
            margin = grasp_margin(hmap, depth, k, t, *grasp, lifted=lifted, gripper=gripper)
            fits = opening <= max_open_px
            if fits and margin >= 0:
                key = (0, opening + 0.5 * math.hypot(gu - centroid[0], gv - centroid[1]))
            else:
                key = (1, not fits, -margin)
            if best_key is None or key < best_key:
                best_key, best = key, (grasp, margin)
    if best is None:
        cu, cv = centres[0]
        return np.array([cu, cv, 0.0, gripper.max_opening_m * lift(depth, k, t, cu, cv)[3]], np.float32), -math.inf
    return np.array(best[0], np.float32), float(best[1])


def inner_points(dist: np.ndarray) -> list[tuple[float, float]]:
    """Up to N_CENTRES spread-out points of the region's thicker half."""
    vs, us = np.nonzero(dist >= 0.5 * dist.max())
    if len(us) == 0:
        return []
    pts = np.stack([us, vs], 1).astype(float)
    chosen = [int(dist[vs, us].argmax())]
    d2 = ((pts - pts[chosen[0]]) ** 2).sum(1)
    while len(chosen) < min(N_CENTRES, len(pts)):
        j = int(d2.argmax())
        if d2[j] == 0:
            break
        chosen.append(j)
        d2 = np.minimum(d2, ((pts - pts[j]) ** 2).sum(1))
    return [(float(pts[j, 0]), float(pts[j, 1])) for j in chosen]

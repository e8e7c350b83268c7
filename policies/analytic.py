"""`analytic`: the strong non-learned baseline.

From the depth image and the prompt it segments the target region, then grasps
it across its narrow side:

1. Heights above the table from depth + camera matrices; foreground = higher
   than ``FOREGROUND_M``; depth edges (height jumps) split touching objects;
   connected components of foreground minus edges are the segments.
2. The target region: the prompt mask itself; for a box, the segment with
   most pixels inside the box (clipped to it); for points or a gaze point,
   the segment under the positive points (the nearest segment within
   ``SNAP_PX`` when a point falls beside every segment).
3. Candidate grasps at the region's centroid and at up to ``N_CENTRES``
   well-inside points (farthest-point samples of the region's thick part),
   over ``N_ANGLES`` angles: the region's span in the world along the
   closing line within a jaw-wide band gives the centre and width
   (:func:`graspsim.clearance.fit_to_mask`). A candidate is feasible when
   the width plus margins fits the 8 cm opening and the hand clears the
   scene's height map (:func:`graspsim.clearance.grasp_clear`: both finger
   footprints lower than the fingertips will reach, the palm's footprint
   lower than the palm). Among feasible candidates the one with the smallest
   opening + 0.5 x distance to the centroid (pixels) wins; when none is
   feasible, the one that comes nearest to clearing the scene
   (:func:`region_grasp`).

Text prompts need a grounder (a model that turns text into a box); this
policy has none and raises ValueError for them.
"""

from __future__ import annotations

import math

import numpy as np

from graspsim.clearance import fit_to_points, grasp_margin, height_map, heights_above_table, lift, surface_points
from graspsim.gripper import MAX_OPENING
from graspsim.prompts import Prompt

from .base import BasePolicy

FOREGROUND_M = 0.004
EDGE_M = 0.006  # height jump between neighbouring pixels that separates objects
SNAP_PX = 15
N_ANGLES = 24
N_CENTRES = 8


def segment(heights: np.ndarray) -> np.ndarray:
    """Label image of object segments (0 = table / edges)."""
    import cv2

    hz = np.nan_to_num(heights, nan=0.0).astype(np.float32)
    fg = hz > FOREGROUND_M
    # mark only the lower side of a jump as edge so thin tops survive
    lower = np.zeros_like(fg)
    dx = np.diff(hz, axis=1)
    dy = np.diff(hz, axis=0)
    lower[:, :-1] |= dx > EDGE_M
    lower[:, 1:] |= -dx > EDGE_M
    lower[:-1, :] |= dy > EDGE_M
    lower[1:, :] |= -dy > EDGE_M
    _, labels = cv2.connectedComponents((fg & ~lower).astype(np.uint8), connectivity=4)
    return labels


class AnalyticPolicy(BasePolicy):
    name = "analytic"

    def act(self, observation: dict) -> np.ndarray:
        depth = np.asarray(observation["depth"], np.float32)
        k = np.asarray(observation["intrinsics"], np.float64)
        heights = heights_above_table(depth, k, observation["extrinsics"])
        labels = segment(heights)
        prompt = Prompt.from_observation(observation["prompt"])
        region = prompt_region(prompt, labels, heights)
        self.last_maps = {"heights": heights.astype(np.float32), "segments": labels.astype(np.int32), "region": region}
        if not region.any():
            u, v = self._anchor(prompt, depth.shape)
            return np.array([u, v, 0.0, 1.0], np.float32)
        t = np.asarray(observation["extrinsics"], np.float64)
        return region_grasp(region, depth, k, t, height_map(depth, k, t, heights=heights))[0]

    # -- target region ------------------------------------------------------------------
    @staticmethod
    def _anchor(prompt: Prompt, shape) -> tuple[float, float]:
        if len(prompt.points):
            return float(prompt.points[0, 0]), float(prompt.points[0, 1])
        if prompt.box is not None:
            return float((prompt.box[0] + prompt.box[2]) / 2), float((prompt.box[1] + prompt.box[3]) / 2)
        if prompt.mask is not None and prompt.mask.any():
            vs, us = np.nonzero(prompt.mask)
            return float(us.mean()), float(vs.mean())
        return (shape[1] - 1) / 2, (shape[0] - 1) / 2


def prompt_region(prompt: Prompt, labels: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """The depth segment(s) a prompt designates (bool H×W; all False when none):
    a mask prompt's foreground, the segment with most pixels in a box, or the
    segment under most positive points (the nearest within ``SNAP_PX``).
    ``labels``: :func:`segment` of ``heights`` (metres above the table)."""
    h, w = labels.shape
    if prompt.kind == "text":
        raise ValueError("the analytic policy cannot ground text prompts (prompt kind 'text'); use a grounder")
    if prompt.kind == "mask":
        return prompt.mask.astype(bool) & (np.nan_to_num(heights) > FOREGROUND_M)
    if prompt.kind == "box":
        u0, v0, u1, v1 = (int(round(b)) for b in prompt.box)
        u0, v0, u1, v1 = max(u0, 0), max(v0, 0), min(u1, w - 1), min(v1, h - 1)
        inside = np.zeros_like(labels, bool)
        inside[v0 : v1 + 1, u0 : u1 + 1] = True
        counts = np.bincount(labels[inside].ravel(), minlength=labels.max() + 1)
        counts[0] = 0
        if counts.max() == 0:
            return np.zeros_like(inside)
        return (labels == counts.argmax()) & inside
    # point(s) and gaze
    hits = []
    fg_v, fg_u = np.nonzero(labels > 0)
    for (u, v), label in zip(prompt.points, prompt.labels):
        if label != 1:
            continue
        iu, iv = int(round(np.clip(u, 0, w - 1))), int(round(np.clip(v, 0, h - 1)))
        if labels[iv, iu] > 0:
            hits.append(labels[iv, iu])
        elif len(fg_u):
            d2 = (fg_u - u) ** 2 + (fg_v - v) ** 2
            j = int(d2.argmin())
            if d2[j] <= SNAP_PX**2:
                hits.append(labels[fg_v[j], fg_u[j]])
    if not hits:
        return np.zeros_like(labels, bool)
    values, counts = np.unique(hits, return_counts=True)
    return labels == values[counts.argmax()]


def region_grasp(region: np.ndarray, depth: np.ndarray, k: np.ndarray, t: np.ndarray, hmap=None
                 ) -> tuple[np.ndarray, float]:
    """The analytic grasp of an object region (bool H×W) and its clearance margin
    (metres, :func:`graspsim.clearance.grasp_margin`; negative: no candidate is
    clear). Candidates: the region's centroid and :func:`inner_points`, each at
    ``N_ANGLES`` angles, fitted to the region; among those that fit the opening
    and are clear, the smallest opening + 0.5 x distance to the centroid
    (pixels) wins; when none is, the one with the largest margin.
    ``hmap``: the depth image's height map (built when None)."""
    import cv2

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
            gu, gv, opening = fit_to_points(points, region.shape, depth, k, t, cu, cv, a, 0.0, lifted=centre)
            if opening == 0.0:
                continue
            lifted = lift(depth, k, t, gu, gv)
            max_open_px = MAX_OPENING * lifted[3]
            grasp = (gu, gv, float(a), min(opening, max_open_px))
            margin = grasp_margin(hmap, depth, k, t, *grasp, lifted=lifted)
            fits = opening <= max_open_px
            if fits and margin >= 0:
                key = (0, opening + 0.5 * math.hypot(gu - centroid[0], gv - centroid[1]))
            else:
                key = (1, not fits, -margin)
            if best_key is None or key < best_key:
                best_key, best = key, (grasp, margin)
    if best is None:
        cu, cv = centres[0]
        return np.array([cu, cv, 0.0, MAX_OPENING * lift(depth, k, t, cu, cv)[3]], np.float32), -math.inf
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

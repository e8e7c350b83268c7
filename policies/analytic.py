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
   over ``N_ANGLES`` angles: the region's span along the closing line within
   a jaw-wide band gives the centre and width. A candidate is feasible when
   the width plus margins fits the 8 cm opening, both finger footprints are
   lower than the fingertips will reach and the palm's footprint is lower
   than the palm. Among feasible candidates the one with the smallest
   opening + 0.5 x distance to the centroid (pixels) wins; when none is
   feasible, the same score picks among all.

Text prompts need a grounder (a model that turns text into a box); this
policy has none and raises ValueError for them.
"""

from __future__ import annotations

import math

import numpy as np

from graspsim.clearance import MARGIN_M, closing_axes, executed_tcp_z, fingers_clear, heights_above_table, palm_clear
from graspsim.executor import OPENING_CLEARANCE
from graspsim.grasp import tcp_height
from graspsim.gripper import FINGER_WIDTH, MAX_OPENING
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
        region = self.target_region(prompt, labels, heights)
        self.last_maps = {"heights": heights.astype(np.float32), "segments": labels.astype(np.int32), "region": region}
        if not region.any():
            u, v = self._anchor(prompt, depth.shape)
            return np.array([u, v, 0.0, 1.0], np.float32)
        return self.grasp_region(region, heights, depth, k)

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

    def target_region(self, prompt: Prompt, labels: np.ndarray, heights: np.ndarray) -> np.ndarray:
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

    # -- grasp synthesis ----------------------------------------------------------------
    def grasp_region(self, region: np.ndarray, heights: np.ndarray, depth: np.ndarray, k: np.ndarray) -> np.ndarray:
        import cv2

        vs, us = np.nonzero(region)
        dist = cv2.distanceTransform(np.pad(region, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]
        centroid = (float(us.mean()), float(vs.mean()))
        centres = [centroid] + self._inner_points(dist)
        top_z = float(np.nanmax(heights[region]))
        f = k[0, 0]
        cam_h = float(np.nanmax(heights + depth))  # camera height above the table
        px_per_m_tcp = f / (cam_h - tcp_height(top_z))
        max_open_px = MAX_OPENING * px_per_m_tcp
        margin_px = MARGIN_M * px_per_m_tcp
        jaw_px = FINGER_WIDTH * px_per_m_tcp

        angles = np.linspace(-math.pi / 2, math.pi / 2, N_ANGLES, endpoint=False)
        best, best_key = None, None
        hz = np.nan_to_num(heights, nan=0.0)
        h, w = hz.shape
        for cu, cv in centres:
            for a in angles:
                d, n = closing_axes(a)
                rel_u, rel_v = us - cu, vs - cv
                along = rel_u * d[0] + rel_v * d[1]
                across = rel_u * n[0] + rel_v * n[1]
                band = np.abs(across) <= jaw_px / 2
                if not band.any():
                    continue
                lo, hi = along[band].min(), along[band].max()
                width = hi - lo + 1
                mid = (lo + hi) / 2
                gu, gv = cu + d[0] * mid, cv + d[1] * mid
                if not (0 <= gu <= w - 1 and 0 <= gv <= h - 1):
                    continue
                opening = width + 2 * margin_px
                z_tcp = executed_tcp_z(depth, gu, gv, cam_h)
                executed = min(opening + OPENING_CLEARANCE * px_per_m_tcp, max_open_px)
                clear = fingers_clear(hz, gu, gv, d, n, executed, px_per_m_tcp, z_tcp)
                clear = clear and palm_clear(hz, gu, gv, d, n, px_per_m_tcp, z_tcp)
                score = opening + 0.5 * math.hypot(gu - centroid[0], gv - centroid[1])
                key = (not (opening <= max_open_px and clear), score)
                if best_key is None or key < best_key:
                    best_key, best = key, (gu, gv, a, min(opening, max_open_px))
        if best is None:
            cu, cv = centres[0]
            return np.array([cu, cv, 0.0, max_open_px], np.float32)
        return np.array(best, np.float32)

    @staticmethod
    def _inner_points(dist: np.ndarray) -> list[tuple[float, float]]:
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

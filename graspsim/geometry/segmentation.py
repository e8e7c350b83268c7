"""Depth segmentation and prompt regions: which pixels a prompt designates, from depth alone.

Shared by every policy that wants it (the analytic policy, GraspSAM's
optional depth refinement). Heights are metres above the table
(:func:`graspsim.geometry.clearance.heights_above_table`); the foreground
is higher than ``FOREGROUND_M``; height jumps larger than ``EDGE_M`` between
neighbouring pixels split touching objects; connected components of the
foreground minus those edges are the segments.
"""

from __future__ import annotations

import numpy as np

from graspsim.prompts import Prompt

FOREGROUND_M = 0.004
EDGE_M = 0.006  # height jump between neighbouring pixels that separates objects
SNAP_PX = 15


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

"""Cut a predicted mask that bleeds into a touching neighbour, by colour.

The ``tiny`` model's masks often spread from the prompted object onto a
neighbour it touches, and the best quality peak then sits on the neighbour
(the policy's ``wrong_object`` failures). The user's point is on the object,
so the object's colour is known there: :func:`colour_region` keeps the
mask's pixels whose colour matches the colour under each positive point and
that connect to that point.

Colours are compared by chromaticity, ``(r, g) = (R, G) / (R + G + B)``,
which does not change when a surface is lit more or less (the faces of one
object, a shaded sphere); pixels with little colour (saturation
``1 - min/max`` below :data:`GREY_SATURATION`: white, grey) and dark pixels
(brightest channel below :data:`DARK_LEVEL`: black, deep shadow, where
chromaticity is noise) count as grey and match each other only.
"""

from __future__ import annotations

import numpy as np

#: largest chromaticity distance (Euclidean in (r, g)) from the prompt's colour that a kept pixel may have
COLOUR_DISTANCE = 0.04
#: saturation below which a pixel counts as grey (no usable chromaticity)
GREY_SATURATION = 0.2
#: brightest channel (0-255) below which a pixel counts as grey (chromaticity is noise there)
DARK_LEVEL = 40
#: a cut keeping less than this fraction of the mask is not trusted and not made
MIN_KEPT_FRACTION = 0.25
#: the prompt's colour is the median over a (2 r + 1)² window around each positive point (pixels)
WINDOW_RADIUS = 2
#: a kept component must reach within this many pixels of a positive point
SEED_RADIUS = 3


def colour_region(mask: np.ndarray, rgb: np.ndarray, points, labels,
                  max_distance: float = COLOUR_DISTANCE) -> np.ndarray:
    """The part of ``mask`` (bool H×W) that has the prompted object's colour.

    Args:
        mask: the predicted object mask, bool (H, W).
        rgb: the image, uint8 (H, W, 3).
        points: (N, 2) prompt points (u, v) in pixels; labels: (N,) 1 for a
            positive point (others, negative or padding, are ignored).
        max_distance: see :data:`COLOUR_DISTANCE`.

    Returns a bool (H, W) mask: the union, over positive points, of the
    4-connected components of {mask pixels that match the colour under the
    point (module docstring; chromaticity within ``max_distance``)} that
    come within :data:`SEED_RADIUS` pixels of it. ``mask`` itself is
    returned (the same object) when there is no positive point, the mask is
    empty, or the cut would keep nothing or less than
    :data:`MIN_KEPT_FRACTION` of it.
    """
    import cv2

    mask = np.asarray(mask, bool)
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[:2] != mask.shape or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be uint8 (H, W, 3) matching the mask {mask.shape}, got {rgb.dtype} {rgb.shape}")
    if not np.isfinite(max_distance) or max_distance < 0:
        raise ValueError(f"max_distance must be a finite number >= 0, got {max_distance!r}")
    if points is None or not mask.any():
        return mask
    h, w = mask.shape
    points = np.asarray(points, float).reshape(-1, 2)
    labels = np.asarray(labels).reshape(-1)
    seeds = [(int(round(min(max(u, 0), w - 1))), int(round(min(max(v, 0), h - 1))))
             for (u, v), label in zip(points, labels) if label == 1]
    if not seeds:
        return mask
    # work inside the box holding the mask and the seeds: a small crop of the image
    bu, bv, bw, bh = cv2.boundingRect(mask.view(np.uint8))
    pad = SEED_RADIUS + 1
    u0, u1 = max(min(bu, *(u for u, _ in seeds)) - pad, 0), min(max(bu + bw - 1, *(u for u, _ in seeds)) + pad + 1, w)
    v0, v1 = max(min(bv, *(v for _, v in seeds)) - pad, 0), min(max(bv + bh - 1, *(v for _, v in seeds)) + pad + 1, h)
    crop = mask[v0:v1, u0:u1]
    f = rgb[v0:v1, u0:u1].astype(np.float32)
    brightest = f.max(axis=2)
    grey = (brightest < DARK_LEVEL) | ((brightest - f.min(axis=2)) < GREY_SATURATION * brightest)
    rg = f[..., :2] / np.maximum(f.sum(axis=2, keepdims=True), 1.0)
    kept = np.zeros_like(crop)
    r, s = WINDOW_RADIUS, SEED_RADIUS
    for u, v in seeds:
        u, v = u - u0, v - v0
        window = (slice(max(v - r, 0), v + r + 1), slice(max(u - r, 0), u + r + 1))
        if np.median(grey[window]):
            same = grey
        else:
            colour = np.median(rg[window][~grey[window]], axis=0)
            same = ~grey & (np.hypot(rg[..., 0] - colour[0], rg[..., 1] - colour[1]) <= max_distance)
        near = crop & same
        n, components = cv2.connectedComponents(near.view(np.uint8), connectivity=4)
        touching = np.zeros(n, bool)
        touching[components[max(v - s, 0):v + s + 1, max(u - s, 0):u + s + 1]] = True
        touching[0] = False  # the background
        kept |= touching[components]
    if not kept.any() or kept.sum() < MIN_KEPT_FRACTION * crop.sum():
        return mask
    out = np.zeros_like(mask)
    out[v0:v1, u0:u1] = kept
    return out

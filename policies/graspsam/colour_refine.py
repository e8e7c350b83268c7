"""Cut a predicted mask that bleeds into a touching neighbour, by colour.

The ``tiny`` model's masks often spread from the prompted object onto a
neighbour it touches, and the best quality peak then sits on the neighbour
(the policy's ``wrong_object`` failures). The user's point is on the object,
so the object's colour is known there (for a box prompt: in the box's
centre, where the boxed object lies): :func:`colour_region` keeps the mask's
pixels whose colour matches the colour there and that connect to that spot;
:func:`refine_prediction` cuts a prediction to it and decodes its grasps
again.

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
#: a box's colour is read in its central part, this fraction of its width and height
BOX_CORE = 0.5


def colour_region(mask: np.ndarray, rgb: np.ndarray, points=None, labels=None, box=None,
                  max_distance: float = COLOUR_DISTANCE) -> np.ndarray:
    """The part of ``mask`` (bool H×W) that has the prompted object's colour.

    Args:
        mask: the predicted object mask, bool (H, W).
        rgb: the image, uint8 (H, W, 3).
        points: (N, 2) prompt points (u, v) in pixels; labels: (N,) 1 for a
            positive point (others, negative or padding, are ignored).
        box: a box prompt (u0, v0, u1, v1) in pixels, used when there are no
            positive points: its colour is that of the mask's pixels in the
            box's central half (:data:`BOX_CORE`), where the boxed object is.
        max_distance: see :data:`COLOUR_DISTANCE`.

    Returns a bool (H, W) mask: the union, over positive points (or the
    box), of the 4-connected components of {mask pixels that match the
    colour there (module docstring; chromaticity within ``max_distance``)}
    that come within :data:`SEED_RADIUS` pixels of the point (into the box's
    central half). ``mask`` itself is returned (the same object) when there
    is no positive point and no box, the mask is empty, or the cut would
    keep nothing or less than :data:`MIN_KEPT_FRACTION` of it.
    """
    import cv2

    mask = np.asarray(mask, bool)
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[:2] != mask.shape or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be uint8 (H, W, 3) matching the mask {mask.shape}, got {rgb.dtype} {rgb.shape}")
    if not np.isfinite(max_distance) or max_distance < 0:
        raise ValueError(f"max_distance must be a finite number >= 0, got {max_distance!r}")
    if not mask.any():
        return mask
    h, w = mask.shape
    # seeds: (colour window, touch window, colour from the mask's pixels only), windows as
    # (row slice, column slice) in image pixels
    seeds = []
    if points is not None:
        r, s = WINDOW_RADIUS, SEED_RADIUS
        for (u, v), label in zip(np.asarray(points, float).reshape(-1, 2), np.asarray(labels).reshape(-1)):
            if label == 1:
                u, v = int(round(min(max(u, 0), w - 1))), int(round(min(max(v, 0), h - 1)))
                seeds.append(((slice(max(v - r, 0), v + r + 1), slice(max(u - r, 0), u + r + 1)),
                              (slice(max(v - s, 0), v + s + 1), slice(max(u - s, 0), u + s + 1)), False))
    if not seeds and box is not None:
        bu0, bv0, bu1, bv1 = (float(x) for x in np.asarray(box, float).reshape(4))
        du, dv = (bu1 - bu0) * (1 - BOX_CORE) / 2, (bv1 - bv0) * (1 - BOX_CORE) / 2
        core = (slice(int(np.clip(round(bv0 + dv), 0, h - 1)), int(np.clip(round(bv1 - dv), 0, h - 1)) + 1),
                slice(int(np.clip(round(bu0 + du), 0, w - 1)), int(np.clip(round(bu1 - du), 0, w - 1)) + 1))
        if mask[core].any():
            seeds.append((core, core, True))
    if not seeds:
        return mask
    # work inside the box holding the mask and the seeds' windows: a small crop of the image
    bu, bv, bw, bh = cv2.boundingRect(mask.view(np.uint8))
    v0 = min(bv, *(t[0].start for _, t, _ in seeds))
    v1 = max(bv + bh, *(t[0].stop for _, t, _ in seeds))
    u0 = min(bu, *(t[1].start for _, t, _ in seeds))
    u1 = max(bu + bw, *(t[1].stop for _, t, _ in seeds))
    crop = mask[v0:v1, u0:u1]
    f = rgb[v0:v1, u0:u1].astype(np.float32)
    brightest = f.max(axis=2)
    grey = (brightest < DARK_LEVEL) | ((brightest - f.min(axis=2)) < GREY_SATURATION * brightest)
    rg = f[..., :2] / np.maximum(f.sum(axis=2, keepdims=True), 1.0)
    kept = np.zeros_like(crop)

    def local(window):
        return slice(window[0].start - v0, window[0].stop - v0), slice(window[1].start - u0, window[1].stop - u0)

    for colour_window, touch_window, mask_only in seeds:
        cw, tw = local(colour_window), local(touch_window)
        sample = crop[cw] if mask_only else np.ones(crop[cw].shape, bool)
        if np.median(grey[cw][sample]):
            same = grey
        else:
            colour = np.median(rg[cw][sample & ~grey[cw]], axis=0)
            same = ~grey & (np.hypot(rg[..., 0] - colour[0], rg[..., 1] - colour[1]) <= max_distance)
        near = crop & same
        n, components = cv2.connectedComponents(near.view(np.uint8), connectivity=4)
        touching = np.zeros(n, bool)
        touching[components[tw]] = True
        touching[0] = False  # the background
        kept |= touching[components]
    if not kept.any() or kept.sum() < MIN_KEPT_FRACTION * crop.sum():
        return mask
    out = np.zeros_like(mask)
    out[v0:v1, u0:u1] = kept
    return out


def refine_prediction(model, pred, rgb: np.ndarray, prompt: dict, top_k: int, threshold: float,
                      jaw_px: float = 0.0) -> None:
    """Cut ``pred`` (an :class:`.inference.Prediction`) in place to :func:`colour_region`
    of its mask for ``prompt`` (``dict(points, labels, box)`` as
    :func:`.prompting.prompt_arrays` gives it) and decode its grasps again with their
    peaks inside the cut (:func:`.inference.cut_prediction`); unchanged when nothing
    is cut. Shared by the policy and ``graspsim eval graspsam --colour-refine``."""
    from .inference import cut_prediction

    region = colour_region(pred.mask, rgb, prompt.get("points"), prompt.get("labels"), prompt.get("box"))
    if region is not pred.mask:
        cut_prediction(model, pred, region, top_k, threshold, jaw_px)

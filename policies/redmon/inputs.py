"""Inputs of the Redmon & Angelova (2015) models: the RGD image, the crop window
around a prompt, and the maps between the image frame and the crop frame.

RGD (:func:`rgd`): the red and green channels of the RGB image and, in place
of blue, the depth normalised to 0–255 over the image's valid pixels (min–max;
missing depth, 0 in the data, stays 0), as uint8 (H, W, 3). The network input
(:func:`network_input`) is a crop of it, float32, with the paper's mean 144
subtracted and divided by :data:`RGD_SCALE` (a constant that only keeps the
numbers near unit size).

Crop window (:func:`prompt_window`): the models assume one object per image,
so in clutter they look at a square window around the prompt, resized to
:data:`INPUT_SIZE` (224) pixels:

- box (and mask: its tight box; text: the grounded box): a square centred on
  the box, side ``BOX_MARGIN`` × the box's longer side, at least
  ``MIN_WINDOW_FRACTION`` of the image's shorter side;
- point / points / gaze: a square of side ``POINT_WINDOW_FRACTION`` of the
  image's shorter side, centred on the mean of the positive points (0.4 ×
  320 = 128 px on our 320 × 320 sim images, which covers every object of the
  primitives set seen from a point on it: their longest side is at most 89
  px and a grasp centre lies at most ~37 px from the object's centroid).

Training, cross-validation and the policy all crop with :func:`prompt_window`
and :func:`crop`, so the train and test inputs match; training adds a random
shift, scale and rotation of the window (:func:`jitter_window`).

Frames and conventions (those of :mod:`graspsim.rectangles`): pixel (row i,
column j) is centred on (u, v) = (j, i); angles run from +u towards −v
(counter-clockwise on screen). A window is ``(cu, cv, side, rotation)``: its
centre in image pixels, its side in image pixels and the angle by which the
image content is turned (counter-clockwise on screen) in the crop. The crop
frame maps image point p to ``q = k R (p − c) + (S − 1) / 2`` with
``k = S / side``; a rectangle's angle gains ``rotation`` and its opening and
jaw are multiplied by ``k`` (:func:`rects_to_crop`, :func:`rects_from_crop`).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from graspsim.rectangles import as_rects, wrap_angles

INPUT_SIZE = 224
#: the paper's RGD mean, subtracted from every channel
RGD_MEAN = 144.0
#: divisor of the mean-subtracted input (keeps the numbers near unit size)
RGD_SCALE = 64.0
#: side of a point / gaze window, as a fraction of the image's shorter side
POINT_WINDOW_FRACTION = 0.4
#: side of a box window over the box's longer side
BOX_MARGIN = 1.5
#: smallest side of a box window, as a fraction of the image's shorter side
MIN_WINDOW_FRACTION = 0.2
#: training jitter: window shift (fraction of the side), log-scale range, rotation range (full turn)
SHIFT_FRACTION = 0.1
SCALE_JITTER = 0.1


def rgd(rgb, depth) -> np.ndarray:
    """uint8 (H, W, 3) RGD image: R, G and the normalised depth (module docstring)."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be (H, W, 3), got shape {rgb.shape}")
    out = np.ascontiguousarray(rgb[..., :3], dtype=np.uint8).copy()
    if depth is None:
        out[..., 2] = 0
        return out
    d = np.asarray(depth, np.float32)
    if d.shape != rgb.shape[:2]:
        raise ValueError(f"depth has shape {d.shape}, the rgb image is {rgb.shape[:2]}")
    valid = np.isfinite(d) & (d > 0)
    blue = np.zeros(d.shape, np.float32)
    if valid.any():
        lo, hi = float(d[valid].min()), float(d[valid].max())
        blue[valid] = 255.0 if hi <= lo else (d[valid] - lo) / (hi - lo) * 254.0 + 1.0  # valid depth in [1, 255]
    out[..., 2] = np.round(blue).astype(np.uint8)
    return out


def network_input(crops) -> np.ndarray:
    """float32 (B, 3, S, S) network input from uint8 RGD crops (B, S, S, 3)."""
    c = np.ascontiguousarray(np.asarray(crops).transpose(0, 3, 1, 2))  # transpose the small dtype, then convert
    out = c.astype(np.float32)
    out -= RGD_MEAN
    out *= 1.0 / RGD_SCALE
    return out


def _short_side(image_shape) -> int:
    h, w = int(image_shape[0]), int(image_shape[1])
    if h <= 0 or w <= 0:
        raise ValueError(f"image_shape must have positive sizes, got {tuple(image_shape)!r}")
    return min(h, w)


def box_window(box, image_shape) -> np.ndarray:
    """The window (cu, cv, side, 0) of a box (u0, v0, u1, v1), inclusive pixel indices."""
    b = np.asarray(box, np.float64).reshape(-1)
    if b.shape != (4,) or not np.isfinite(b).all() or b[2] < b[0] or b[3] < b[1]:
        raise ValueError(f"box must be 4 finite numbers (u0, v0, u1, v1) with u0 <= u1 and v0 <= v1, got {np.asarray(box).tolist()}")
    side = max(BOX_MARGIN * (max(b[2] - b[0], b[3] - b[1]) + 1.0), MIN_WINDOW_FRACTION * _short_side(image_shape))
    return np.array([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2, side, 0.0])


def prompt_window(arrays: dict, image_shape) -> np.ndarray:
    """The crop window (cu, cv, side, 0) of a prompt given as
    :func:`graspsim.policies.prompting.prompt_arrays` gives it."""
    if arrays.get("box") is not None:
        return box_window(arrays["box"], image_shape)
    if arrays.get("mask") is not None:
        vs, us = np.nonzero(arrays["mask"])
        if len(us) == 0:
            raise ValueError("prompt mask is empty (no pixel set)")
        return box_window([us.min(), vs.min(), us.max(), vs.max()], image_shape)
    if arrays.get("points") is not None and len(arrays["points"]):
        pts = np.asarray(arrays["points"], np.float64).reshape(-1, 2)
        labels = arrays.get("labels")
        if labels is not None and (np.asarray(labels) == 1).any():
            pts = pts[np.asarray(labels) == 1]
        cu, cv = pts.mean(0)
        return np.array([cu, cv, POINT_WINDOW_FRACTION * _short_side(image_shape), 0.0])
    raise ValueError("prompt arrays hold no box, mask or points to place the crop window")


def jitter_window(window, rng: np.random.Generator, rotate: bool = True) -> np.ndarray:
    """Training augmentation: shift by up to SHIFT_FRACTION of the side, scale by
    exp(±SCALE_JITTER), and (``rotate``) a uniform rotation in [-π, π)."""
    cu, cv, side, rot = np.asarray(window, np.float64)
    du, dv = rng.uniform(-SHIFT_FRACTION, SHIFT_FRACTION, 2) * side
    side = side * math.exp(rng.uniform(-SCALE_JITTER, SCALE_JITTER))
    rot = rot + (rng.uniform(-math.pi, math.pi) if rotate else 0.0)
    return np.array([cu + du, cv + dv, side, rot])


def crop_matrix(window, size: int = INPUT_SIZE) -> np.ndarray:
    """The 2 × 3 affine map from image pixels to crop pixels (module docstring)."""
    cu, cv, side, rot = (float(x) for x in window)
    if not side > 0:
        raise ValueError(f"window side must be positive, got {side!r}")
    k = size / side
    c, s = math.cos(rot), math.sin(rot)
    r = k * np.array([[c, s], [-s, c]])  # counter-clockwise on screen (v points down)
    t = np.array([(size - 1) / 2, (size - 1) / 2]) - r @ np.array([cu, cv])
    return np.hstack([r, t[:, None]])


def crop(image, window, size: int = INPUT_SIZE) -> np.ndarray:
    """The window of ``image`` (H, W, C) resampled to size × size (bilinear; outside: 0)."""
    m = crop_matrix(window, size)
    return cv2.warpAffine(np.asarray(image), m, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def rects_to_crop(rects, window, size: int = INPUT_SIZE) -> np.ndarray:
    """Rectangles (N, 5) from image pixels to crop pixels."""
    r = as_rects(rects).copy()
    m = crop_matrix(window, size)
    k = size / float(window[2])
    r[:, :2] = r[:, :2] @ m[:, :2].T + m[:, 2]
    r[:, 2] = wrap_angles(r[:, 2] + float(window[3]))
    r[:, 3:5] *= k
    return r


def rects_from_crop(rects, window, size: int = INPUT_SIZE) -> np.ndarray:
    """Rectangles (N, 5) or scored (N, 6) from crop pixels back to image pixels."""
    r = np.array(rects, np.float64).reshape(-1, np.shape(rects)[-1] if np.ndim(rects) else 5)
    if r.shape[1] not in (5, 6):
        raise ValueError(f"rects must be (N, 5) or (N, 6), got shape {r.shape}")
    if len(r) == 0:
        return r
    m = crop_matrix(window, size)
    a = m[:, :2]
    k = size / float(window[2])
    r[:, :2] = (r[:, :2] - m[:, 2]) @ np.linalg.inv(a).T
    r[:, 2] = wrap_angles(r[:, 2] - float(window[3]))
    r[:, 3:5] /= k
    return r


def window_box(window) -> np.ndarray:
    """The axis-aligned bounds (u0, v0, u1, v1) of an unrotated window, for figures."""
    cu, cv, side, _ = (float(x) for x in window)
    return np.array([cu - side / 2, cv - side / 2, cu + side / 2, cv + side / 2], np.float32)


__all__ = [
    "INPUT_SIZE", "POINT_WINDOW_FRACTION", "RGD_MEAN", "box_window", "crop", "crop_matrix", "jitter_window",
    "network_input", "prompt_window", "rects_from_crop", "rects_to_crop", "rgd", "window_box",
]

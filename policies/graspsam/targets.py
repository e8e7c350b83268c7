"""Dense grasp-map training targets from grasp rectangles (GraspSAM / GG-CNN style).

Rectangles follow :mod:`graspsim.rectangles`: float (N, 5) rows ``u, v, angle,
opening, jaw`` in pixels of the frame the maps are drawn in; ``angle`` is the
closing line (finger to finger) measured from +u towards -v, in (-π/2, π/2].

Pixel-centre convention (the one of OpenCV's ``resize`` and of
:func:`graspsim.rectangles.scale_rects`): pixel (row i, column j) is the unit
square centred on (u, v) = (j, i), so an H x W map covers
[-0.5, W - 0.5] x [-0.5, H - 0.5]. Resizing an image by ``f`` maps
``u' = (u + 0.5) * f - 0.5`` and multiplies opening and jaw by ``f``; use
:func:`resize_rects` to take rectangles from image pixels to map pixels.

The four maps (:func:`grasp_targets`), float32 H x W:

- ``quality``: 1 on the centre third of every positive rectangle, 0 elsewhere.
  The centre third is the rectangle shrunk to a third of its opening along
  the closing line, keeping the full jaw (GG-CNN's ``compact_polygon_coords``,
  which GraspSAM's data code reuses);
- ``cos2`` / ``sin2``: cos 2θ and sin 2θ of that rectangle's angle there, 0
  elsewhere (doubling the angle makes the symmetric grasp continuous);
- ``width``: ``opening / width_scale`` clipped to [0, 1] there, 0 elsewhere
  (``width_scale`` is in the same pixels as the rectangles; GraspSAM uses 512
  input pixels at its 1024 input size, i.e. 128 at its 256 x 256 outputs).

Overlaps: rectangles are drawn one after the other in the given order and a
later rectangle overwrites an earlier one wherever their centre thirds
overlap ("the later-drawn rectangle wins", as in GG-CNN's ``draw``), so the
three value maps at a pixel always come from one and the same rectangle.

Rasterisation: ``cv2.fillPoly`` on an int32 index map with 4 fractional bits
(1/16 pixel). OpenCV fills every pixel whose centre lies within about half a
pixel of the polygon, so each polygon is shrunk by half a pixel per side
before drawing (never below zero): the filled pixel count then matches the
polygon's area to within its boundary pixels, and a degenerate (zero-size)
centre third still fills a one-pixel line or dot, so no rectangle vanishes.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from graspsim.policies.prompting import check_hw
from graspsim.rectangles import as_rects, scale_rects, to_corners

#: fractional bits of the polygon coordinates given to cv2.fillPoly (1/16 pixel)
SHIFT_BITS = 4
#: a rectangle's quality support spans this fraction of its opening
CENTRE_FRACTION = 1.0 / 3.0
_COORD_LIMIT = float(1 << 20)  # pixels; keeps fixed-point coordinates inside int32


def resize_rects(rects, from_shape, to_shape) -> np.ndarray:
    """Rectangles of an image of ``from_shape`` (H, W) in the pixels of ``to_shape`` (H', W').

    Uses the pixel-centre convention of the module docstring
    (``u' = (u + 0.5) * f - 0.5``, opening and jaw times ``f``), i.e.
    :func:`graspsim.rectangles.scale_rects` with ``f = W' / W``. The resize
    must be isotropic (``H'/H == W'/W`` within 1e-6): an anisotropic resize
    shears a rotated rectangle into a parallelogram, so pad the image to the
    aspect ratio of the maps first (SAM pads the bottom and the right of its
    longest-side-resized input, which leaves coordinates unchanged: pass the
    padded shape as ``from_shape``). Returns a float64 (N, 5) copy.
    """
    h0, w0 = check_hw(from_shape)
    h1, w1 = check_hw(to_shape)
    fu, fv = w1 / w0, h1 / h0
    if abs(fu - fv) > 1e-6 * max(fu, fv):
        raise ValueError(
            f"resize_rects: resizing {h0}x{w0} to {h1}x{w1} is not isotropic (factors {fv:.6g} rows, "
            f"{fu:.6g} columns); pad the image to the maps' aspect ratio first"
        )
    return scale_rects(rects, fu)


def centre_third_corners(rects) -> np.ndarray:
    """(N, 4, 2) corners (u, v) of each rectangle's quality support: a third of
    the opening along the closing line, the full jaw, same centre and angle."""
    r = as_rects(rects)
    r[:, 3] *= CENTRE_FRACTION
    return to_corners(r)


def _support_index(r: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """int32 (H, W): 0 where no rectangle's centre third lies, i + 1 where rectangle i's
    does (later rectangles overwrite earlier ones; rasterisation as in the module docstring)."""
    index = np.zeros(shape, np.int32)
    if len(r):
        # support polygon, shrunk by half a pixel per side for OpenCV's inclusive fill
        support = r.copy()
        support[:, 3] = np.maximum(support[:, 3] * CENTRE_FRACTION - 1.0, 0.0)
        support[:, 4] = np.maximum(support[:, 4] - 1.0, 0.0)
        corners = np.clip(to_corners(support), -_COORD_LIMIT, _COORD_LIMIT)
        fixed = np.round(corners * (1 << SHIFT_BITS)).astype(np.int32)
        for i in range(len(r)):  # in order: later rectangles overwrite earlier ones
            cv2.fillPoly(index, [fixed[i]], int(i + 1), lineType=cv2.LINE_8, shift=SHIFT_BITS)
    return index


def support_map(rects, shape) -> np.ndarray:
    """float32 (H, W): 1 on the centre third of any of ``rects`` (drawn as the quality
    support of :func:`grasp_targets`), 0 elsewhere."""
    return (_support_index(as_rects(rects, "support_map"), check_hw(shape)) > 0).astype(np.float32)


def grasp_targets(rects, shape, width_scale: float) -> dict[str, np.ndarray]:
    """Training maps for the positive rectangles ``rects`` on an H x W grid.

    Args:
        rects: (N, 5) positive rectangles ``u, v, angle, opening, jaw`` in the
            pixels of this grid (see :func:`resize_rects`); N may be 0.
        shape: (H, W) of the maps (extra trailing entries are ignored).
        width_scale: pixels (same frame as ``rects``) that map to width 1.

    Returns:
        dict with float32 (H, W) maps ``quality`` (0/1), ``cos2``, ``sin2``
        (cos 2θ, sin 2θ on the support, else 0) and ``width``
        (opening / width_scale clipped to [0, 1] on the support, else 0).
        Overlaps: the later rectangle in ``rects`` wins (module docstring).
    """
    h, w = check_hw(shape)
    width_scale = float(width_scale)
    if not (math.isfinite(width_scale) and width_scale > 0):
        raise ValueError(f"width_scale must be a positive number of pixels, got {width_scale!r}")
    r = as_rects(rects, "grasp_targets")
    index = _support_index(r, (h, w))
    lut_cos = np.concatenate([[0.0], np.cos(2 * r[:, 2])]).astype(np.float32)
    lut_sin = np.concatenate([[0.0], np.sin(2 * r[:, 2])]).astype(np.float32)
    lut_width = np.concatenate([[0.0], np.clip(r[:, 3] / width_scale, 0.0, 1.0)]).astype(np.float32)
    return {
        "quality": (index > 0).astype(np.float32),
        "cos2": lut_cos[index],
        "sin2": lut_sin[index],
        "width": lut_width[index],
    }

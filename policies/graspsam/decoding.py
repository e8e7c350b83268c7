"""Grasp rectangles from dense grasp maps (GraspSAM / GR-ConvNet style decoding).

Input maps are H x W arrays in *map pixels* (GraspSAM predicts 256 x 256):
``quality`` (grasp confidence, ~[0, 1]), ``cos2`` / ``sin2`` (cos 2θ, sin 2θ
of the grasp angle θ) and ``width`` (opening / ``width_scale``). Torch tensors
are accepted (detached and moved to the CPU); leading size-1 dimensions,
e.g. (1, 1, H, W), are dropped.

Steps of :func:`decode_grasps`:

1. Blur (``blur=True``): Gaussian σ = 2 px on quality, on cos 2θ and on
   sin 2θ, σ = 1 px on width (``cv2.GaussianBlur``, kernel 2·ceil(4σ)+1,
   replicated border: scikit-image's ``gaussian`` defaults, which
   GR-ConvNet and GraspSAM use). The published code blurs the angle after
   ``atan2``; blurring cos/sin instead avoids the wrap-around at ±π/2.
2. Mask (optional): pixels where ``mask <= 0`` can be neither peaks nor
   suppress peaks (their quality is set to -inf before peak finding).
3. Peaks: pixels strictly above ``threshold`` that equal (within a relative
   1e-5, so float round-off makes no difference) the maximum of the
   (2d+1) x (2d+1) square around them (``cv2.dilate`` as a max filter), then
   greedy suppression by score: a peak is dropped when a higher-ranked kept
   peak lies within Chebyshev distance d (scikit-image's ``peak_local_max``
   with its default ``p_norm=inf``; unlike it, peaks next to the image border
   are kept). Ties in score go to the lower row-major pixel index.
   ``d = min_distance`` is given in map pixels at ``reference_size`` (256,
   GraspSAM's output size): for maps whose longest side is S it is scaled to
   ``max(1, round(min_distance * S / reference_size))``, so the same
   spacing relative to the image holds at any map size;
   ``reference_size=None`` uses ``min_distance`` as is. The blur σ are not
   scaled.
4. Grasps: centre (u = column, v = row, map pixels) = the peak pixel, or,
   when the peak is a flat top (several tied pixels within its window, as
   a blurred wide target gives), the mean of the tied pixels, which may be
   fractional; the maps are read at the rounded centre. angle =
   atan2(sin 2θ, cos 2θ) / 2 wrapped to (-π/2, π/2] (from +u towards -v, as
   in :mod:`graspsim.rectangles`), opening = width · ``width_scale`` (pixels
   of whatever frame ``width_scale`` is in; for map-pixel rectangles give
   it in map pixels), jaw = ``jaw``, score = the (blurred) quality at the
   peak.

Rows are ranked by score, best first. Empty maps, a mask with no pixel and
maps with nothing above the threshold give a (0, 6) array, never an error.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from graspsim.rectangles import wrap_angles

#: GraspSAM's output resolution: ``min_distance`` is expressed at this map size
REFERENCE_SIZE = 256
DECODE_COLUMNS = ("u", "v", "angle", "opening", "jaw", "score")
_LOW = np.float32(-np.inf)
_TIE_TOLERANCE = 1e-5  # relative: quality values this close count as equal (flat tops)


def _as_map(x, name: str) -> np.ndarray:
    if hasattr(x, "detach"):  # torch tensor
        x = x.detach().float().cpu().numpy()
    a = np.asarray(x)
    while a.ndim > 2 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 2:
        raise ValueError(f"decode_grasps: {name} must be a 2-D (H, W) map, got shape {np.shape(x)}")
    return a


def _blur(a: np.ndarray, sigma: float) -> np.ndarray:
    k = 2 * int(math.ceil(4.0 * sigma)) + 1
    return cv2.GaussianBlur(a, (k, k), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REPLICATE)


def effective_min_distance(min_distance: float, shape, reference_size: int | None = REFERENCE_SIZE) -> int:
    """The peak spacing in pixels used for maps of ``shape`` (see the module docstring)."""
    if reference_size is None:
        return max(1, int(round(min_distance)))
    return max(1, int(round(float(min_distance) * max(shape[0], shape[1]) / float(reference_size))))


def decode_grasps(
    quality,
    cos2,
    sin2,
    width,
    mask=None,
    *,
    width_scale: float,
    top_k: int = 5,
    min_distance: float = 20,
    threshold: float = 0.2,
    blur: bool = True,
    jaw: float = 0.0,
    reference_size: int | None = REFERENCE_SIZE,
    sigma_quality: float = 2.0,
    sigma_angle: float = 2.0,
    sigma_width: float = 1.0,
) -> np.ndarray:
    """Up to ``top_k`` grasps from the maps, as a float64 (K, 6) array.

    Columns ``u, v, angle, opening, jaw, score``: centre in map pixels,
    angle in radians (closing line from +u towards -v, in (-π/2, π/2]),
    opening = width · ``width_scale``, jaw = ``jaw``, score = quality at the
    peak; ranked by score, best first. ``mask`` (H, W): only pixels with
    ``mask > 0`` may hold a grasp. See the module docstring for the steps.
    """
    q = _as_map(quality, "quality").astype(np.float32)
    c = _as_map(cos2, "cos2").astype(np.float32)
    s = _as_map(sin2, "sin2").astype(np.float32)
    w = _as_map(width, "width").astype(np.float32)
    for name, a in (("cos2", c), ("sin2", s), ("width", w)):
        if a.shape != q.shape:
            raise ValueError(f"decode_grasps: {name} has shape {a.shape}, quality has {q.shape}")
    keep = None
    if mask is not None:
        keep = _as_map(mask, "mask") > 0
        if keep.shape != q.shape:
            raise ValueError(f"decode_grasps: mask has shape {keep.shape}, quality has {q.shape}")
    top_k = int(top_k)
    if top_k < 0:
        raise ValueError(f"decode_grasps: top_k must be >= 0, got {top_k}")
    width_scale = float(width_scale)
    if not math.isfinite(width_scale):
        raise ValueError(f"decode_grasps: width_scale must be finite, got {width_scale!r}")
    empty = np.zeros((0, 6), np.float64)
    if q.size == 0 or top_k == 0 or (keep is not None and not keep.any()):
        return empty

    # non-finite inputs never make a peak (and do not spread through the blur)
    q = np.where(np.isfinite(q), q, _LOW if not blur else 0.0).astype(np.float32)
    c, s, w = (np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0) for a in (c, s, w))
    if blur:
        q, c, s, w = _blur(q, sigma_quality), _blur(c, sigma_angle), _blur(s, sigma_angle), _blur(w, sigma_width)
    if keep is not None:
        q = np.where(keep, q, _LOW)

    d = effective_min_distance(min_distance, q.shape, reference_size)
    kernel = np.ones((2 * d + 1, 2 * d + 1), np.uint8)
    local_max = cv2.dilate(q, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=float(_LOW))
    finite_max = float(np.max(q)) if np.isfinite(np.max(q)) else 1.0
    tol = _TIE_TOLERANCE * max(1.0, abs(finite_max))
    cand = np.flatnonzero((q >= local_max - tol) & (q > threshold))
    if cand.size == 0:
        return empty
    scores = q.ravel()[cand]
    order = np.lexsort((cand, -scores))  # score descending, then pixel index ascending
    cand, scores = cand[order], scores[order]
    rows, cols = np.divmod(cand, q.shape[1])

    out = []
    alive = np.ones(cand.size, bool)
    while len(out) < top_k:
        idx = np.flatnonzero(alive)
        if idx.size == 0:
            break
        i = int(idx[0])
        near = alive & (np.abs(rows - rows[i]) <= d) & (np.abs(cols - cols[i]) <= d)
        # a flat top (ties within tol) is one peak at the centroid of its tied pixels
        ties = near & (scores >= scores[i] - tol)
        u, v = float(cols[ties].mean()), float(rows[ties].mean())
        ru, rv = int(round(u)), int(round(v))
        if not (keep is None or keep[rv, ru]) or q[rv, ru] < scores[i] - tol:
            ru, rv = int(cols[i]), int(rows[i])  # a non-convex flat top: use the peak pixel itself
            u, v = float(ru), float(rv)
        angle = 0.5 * math.atan2(float(s[rv, ru]), float(c[rv, ru]))
        out.append((u, v, angle, float(w[rv, ru]) * width_scale, float(jaw), float(scores[i])))
        alive &= ~near
    g = np.array(out, np.float64).reshape(-1, 6)
    g[:, 2] = wrap_angles(g[:, 2])
    return g

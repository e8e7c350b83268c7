"""The rectangle metric for grasp detection, vectorised in numpy.

Definition. A predicted grasp rectangle is *correct* when, for at least one
ground-truth rectangle of the object,

- the angle error ``|Δangle|``, taken mod π (a grasp is symmetric under a half
  turn), is at most ``angle_threshold_deg`` (30° by default), **and**
- the Jaccard index (IoU) of the two rectangles is strictly greater than
  ``iou_threshold`` (0.25 by default).

The angle test is inclusive: a prediction exactly 30° from a ground truth
passes it, as in the GG-CNN code (which rejects only ``|Δangle| > π/6``).
In code it is ``angle_error(pred, gt) <= radians(angle_threshold_deg) +
ANGLE_TOLERANCE_RAD`` with ``ANGLE_TOLERANCE_RAD = 1e-9`` rad (about
5.7e-8°), a round-off allowance so that angles meant to differ by exactly
30° (which float arithmetic may put a few 1e-16 rad over) still pass; an
error of 30.001° fails. The IoU test is strict (> 0.25).

Top-1 accuracy scores the best-ranked prediction of each sample; top-k counts a
sample as correct when any of its k best predictions is. This is the metric of
Redmon & Angelova 2015 and of the evaluation code of GG-CNN, GR-ConvNet and
GraspSAM (there a prediction's IoU with a ground truth counts as 0 when their
angles differ by more than the threshold, and the best such IoU must exceed
0.25: the ``iou`` field of :class:`MatchResult`).

Rectangles are float64 arrays of shape (N, 5) with columns ``u, v, angle,
opening, jaw`` (pixels, radians; see :mod:`graspsim.rectangles`).

Two IoUs, both in [0, 1]:

- :func:`iou_exact` — area of the exact polygon intersection of the two
  rotated rectangles over the area of their union (pixels² / pixels², float64).
  OpenCV's ``rotatedRectangleIntersection`` gives the same up to its float32
  arithmetic and its merging of intersection vertices closer than about
  1e-3 · √area. Continuous in the rectangle parameters, independent of the
  pixel grid and of image size: use it to compare methods among themselves
  and for anything small, thin or sub-pixel.
- :func:`iou_raster` — the pixel-counting IoU of the GG-CNN-style evaluation
  code (each polygon drawn with ``skimage.draw.polygon`` on a canvas; implemented
  here in numpy). Use it to reproduce published numbers. It differs from the
  exact IoU by pixel quantisation (most for small and thin rectangles; a few
  hundredths at most for rectangles tens of pixels across): see
  :func:`iou_raster_pairs` for exactly which pixels count. It is also much
  slower (it visits every pixel of each pair's bounding box).

:func:`match` scores predictions against one object's ground truth;
:func:`evaluate` scores a whole data set at once (all (prediction, ground
truth) pairs of all samples in flat arrays, reduced per prediction and per
sample), so 10 000 predictions against ~20 ground truths each take well under
a second with the exact IoU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from graspsim.rectangles import as_rects, to_corners

ANGLE_TOLERANCE_RAD = 1e-9  # round-off allowance on the angle threshold: the test is err <= threshold + this
_EXACT_CHUNK = 4096  # pairs per block in the exact IoU
_RASTER_BUDGET = 1 << 20  # padded pixels per block in the raster IoU
_IOU_METHODS = ("exact", "raster")


# -- thresholds -------------------------------------------------------------------------
def _check_thresholds(angle_threshold_deg, iou_threshold) -> tuple[float, float]:
    """Validate the thresholds; return (angle threshold in radians, IoU threshold)."""
    try:
        angle = float(angle_threshold_deg)
    except (TypeError, ValueError):
        angle = math.nan
    if not 0.0 <= angle <= 90.0:
        raise ValueError(f"angle_threshold_deg must be a number of degrees in [0, 90], got {angle_threshold_deg!r}")
    try:
        iou = float(iou_threshold)
    except (TypeError, ValueError):
        iou = math.nan
    if not 0.0 <= iou < 1.0:
        raise ValueError(f"iou_threshold must be a number in [0, 1), got {iou_threshold!r}")
    return math.radians(angle), iou


def _check_method(iou) -> str:
    if iou not in _IOU_METHODS:
        raise ValueError(f"iou must be one of {_IOU_METHODS}, got {iou!r}")
    return iou


# -- angles -----------------------------------------------------------------------------
def angle_error(a, b) -> np.ndarray:
    """Absolute difference of grasp angles ``a`` and ``b`` (radians, broadcast
    element-wise) taken mod π, in radians in [0, π/2]."""
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    return np.abs(np.mod(d + math.pi / 2, math.pi) - math.pi / 2)


# -- exact IoU --------------------------------------------------------------------------
# corners of a rectangle in its own frame (x along the closing line, y along the jaw),
# counter-clockwise: x = _SX * opening / 2, y = _SY * jaw / 2
_SX = np.array([-1.0, 1.0, 1.0, -1.0])
_SY = np.array([-1.0, -1.0, 1.0, 1.0])
_EX = np.array([2.0, 0.0, -2.0, 0.0])  # edge vectors (corner k to k + 1) in the same units
_EY = np.array([0.0, 2.0, 0.0, -2.0])


def _clip(x, y, ex, ey, hx, hy):
    """Parameter interval [t0, t1] of the part of each segment (x, y) + t (ex, ey),
    t in [0, 1], inside the box |x| <= hx, |y| <= hy (Liang–Barsky); empty when t1 <= t0."""
    t0 = np.zeros(x.shape)
    t1 = np.ones(x.shape)
    for p, e, h in ((x, ex, hx), (y, ey, hy)):
        with np.errstate(divide="ignore", invalid="ignore"):
            ta = (-h - p) / e
            tb = (h - p) / e
        flat = e == 0
        t0 = np.maximum(t0, np.where(flat, np.where(np.abs(p) <= h, -np.inf, np.inf), np.minimum(ta, tb)))
        t1 = np.minimum(t1, np.where(flat, np.inf, np.maximum(ta, tb)))
    return t0, t1


def _intersection_area(a, b) -> np.ndarray:
    """Exact area of the intersection of the rotated rectangles a[i] and b[i] (pixels²).

    By Green's theorem, the area of a ∩ b is ½ ∮ (x dy − y dx) along its
    boundary, which is made of the parts of a's edges inside b and of b's
    edges inside a (each found by clipping the edge against the other
    rectangle in that rectangle's frame). Edges shared by a and b must count
    once, so a's edges are clipped against b grown by a round-off tolerance
    and b's edges against a shrunk by it. Works in a's frame, relative to the
    mean of the pieces' end points (keeps round-off small and makes touching
    rectangles come out at 0)."""
    hax, hay, hbx, hby = a[:, 3:4] / 2, a[:, 4:5] / 2, b[:, 3:4] / 2, b[:, 4:5] / 2
    cos_a, sin_a = np.cos(a[:, 2:3]), np.sin(a[:, 2:3])
    du, dv = b[:, 0:1] - a[:, 0:1], b[:, 1:2] - a[:, 1:2]
    cx, cy = du * cos_a - dv * sin_a, du * sin_a + dv * cos_a  # b's centre in a's frame
    cos_p, sin_p = np.cos(b[:, 2:3] - a[:, 2:3]), np.sin(b[:, 2:3] - a[:, 2:3])
    tol = 1e-12 * (1.0 + np.abs(du) + np.abs(dv) + np.maximum(a[:, 3:5].max(1), b[:, 3:5].max(1))[:, None])

    # a's corners and edge vectors in a's frame and in b's frame
    ax, ay, eax, eay = _SX * hax, _SY * hay, _EX * hax, _EY * hay
    rx, ry = ax - cx, ay - cy
    ta0, ta1 = _clip(rx * cos_p - ry * sin_p, rx * sin_p + ry * cos_p,
                     eax * cos_p - eay * sin_p, eax * sin_p + eay * cos_p, hbx + tol, hby + tol)
    # b's corners and edge vectors in a's frame
    ox, oy, eox, eoy = _SX * hbx, _SY * hby, _EX * hbx, _EY * hby
    bx, by = cx + ox * cos_p + oy * sin_p, cy - ox * sin_p + oy * cos_p
    ebx, eby = eox * cos_p + eoy * sin_p, -eox * sin_p + eoy * cos_p
    tb0, tb1 = _clip(bx, by, ebx, eby, hax - tol, hay - tol)

    # the boundary pieces (P, 8): start + t * edge for t in [t0, t1], in a's frame
    x, y = np.concatenate([ax, bx], 1), np.concatenate([ay, by], 1)
    ex, ey = np.concatenate([eax, ebx], 1), np.concatenate([eay, eby], 1)
    t0, t1 = np.concatenate([ta0, tb0], 1), np.concatenate([ta1, tb1], 1)
    keep = t1 > t0
    t0, t1 = np.where(keep, t0, 0.0), np.where(keep, t1, 0.0)
    x0, y0, x1, y1 = x + t0 * ex, y + t0 * ey, x + t1 * ex, y + t1 * ey
    n = np.maximum(keep.sum(1, keepdims=True), 1)
    mx = (np.where(keep, x0 + x1, 0.0)).sum(1, keepdims=True) / (2 * n)
    my = (np.where(keep, y0 + y1, 0.0)).sum(1, keepdims=True) / (2 * n)
    return 0.5 * np.abs(((x0 - mx) * (y1 - my) - (y0 - my) * (x1 - mx)).sum(1))


def _checked(a, b, pairs: bool):
    """Validate two rectangle arrays; for element-wise use they must have the same length."""
    a, b = as_rects(a, "a"), as_rects(b, "b")
    if pairs and len(a) != len(b):
        raise ValueError(f"a and b must hold as many rectangles for element-wise IoU, got {len(a)} and {len(b)}")
    return a, b


def _all_pairs(a, b):
    """Every (a[i], b[j]) as two (N·M, 5) arrays, i major."""
    return np.repeat(a, len(b), axis=0), np.tile(b, (len(a), 1))


def _exact_pairs(a, b) -> np.ndarray:
    """Exact IoU of checked rectangles a[i], b[i] (see :func:`iou_exact_pairs`)."""
    area_a, area_b = a[:, 3] * a[:, 4], b[:, 3] * b[:, 4]
    # centres further apart than half the sum of the diagonals: no overlap
    reach = (np.hypot(a[:, 3], a[:, 4]) + np.hypot(b[:, 3], b[:, 4])) / 2
    near = np.hypot(a[:, 0] - b[:, 0], a[:, 1] - b[:, 1]) < reach
    candidates = np.flatnonzero((area_a > 0) & (area_b > 0) & near)
    inter = np.zeros(len(a))
    for start in range(0, len(candidates), _EXACT_CHUNK):
        idx = candidates[start:start + _EXACT_CHUNK]
        inter[idx] = _intersection_area(a[idx], b[idx])
    union = area_a + area_b - inter
    iou = np.divide(inter, union, out=np.zeros(len(a)), where=inter > 0)
    return np.clip(iou, 0.0, 1.0)


def iou_exact_pairs(a, b) -> np.ndarray:
    """Exact IoU of rectangles a[i] and b[i]: (N, 5), (N, 5) → (N,).

    IoU = area(a ∩ b) / area(a ∪ b) of the rotated rectangles as polygons
    (pixels² over pixels²), in [0, 1], float64 to about 1e-9 (measured: up to
    4e-10 for sides of 0.3–300 px sharing edges 5000 px from the origin; the
    round-off tolerance grows with the centres' distance and the sides). Rectangles
    with zero opening or jaw have IoU 0 with anything (no NaN); identical
    rectangles have IoU 1 (to round-off); touching or disjoint ones 0.
    Vectorised: no Python loop over pairs."""
    return _exact_pairs(*_checked(a, b, pairs=True))


def iou_exact(a, b) -> np.ndarray:
    """Exact IoU of every rectangle of a (N, 5) with every rectangle of b (M, 5) → (N, M).

    See :func:`iou_exact_pairs` for the definition."""
    a, b = _checked(a, b, pairs=False)
    return _exact_pairs(*_all_pairs(a, b)).reshape(len(a), len(b))


# -- raster IoU -------------------------------------------------------------------------
def _pixel_bounds(a, b):
    """Inclusive integer pixel ranges (u0, u1, v0, v1) covering both rectangles, from 0 up."""
    corners = np.concatenate([to_corners(a), to_corners(b)], axis=1)  # (P, 8, 2)
    lo = np.maximum(np.ceil(corners.min(1) - 1e-9), 0).astype(np.int64)
    hi = np.floor(corners.max(1) + 1e-9).astype(np.int64)
    return lo[:, 0], hi[:, 0], lo[:, 1], hi[:, 1]


def _covered(rects, u, v):
    """Which pixel positions (u: (C, 1, W), v: (C, H, 1)) lie in the closed rectangles (C, 5)."""
    r = rects[:, :, None, None]
    cos, sin = np.cos(r[:, 2]), np.sin(r[:, 2])
    du, dv = u - r[:, 0], v - r[:, 1]
    along = du * cos - dv * sin  # along the closing line
    across = du * sin + dv * cos  # along the jaw
    return (np.abs(along) <= r[:, 3] / 2 + 1e-9) & (np.abs(across) <= r[:, 4] / 2 + 1e-9)


def _raster_pairs(a, b) -> np.ndarray:
    """Rasterised IoU of checked rectangles a[i], b[i] (see :func:`iou_raster_pairs`)."""
    iou = np.zeros(len(a))
    u0, u1, v0, v1 = _pixel_bounds(a, b)
    width, height = np.maximum(u1 - u0 + 1, 0), np.maximum(v1 - v0 + 1, 0)
    side = np.maximum(width, height)
    todo = np.flatnonzero(side > 0)
    todo = todo[np.argsort(side[todo], kind="stable")]
    start = 0
    while start < len(todo):
        # side is non-decreasing along todo: a block of n pairs pads to at most n · side[last]²
        n = max(1, _RASTER_BUDGET // int(side[todo[start]]) ** 2)
        n = max(1, min(n, _RASTER_BUDGET // int(side[todo[min(start + n, len(todo)) - 1]]) ** 2))
        idx = todo[start:start + n]
        start += n
        u = (u0[idx, None] + np.arange(width[idx].max()))[:, None, :].astype(np.float64)
        v = (v0[idx, None] + np.arange(height[idx].max()))[:, :, None].astype(np.float64)
        in_a, in_b = _covered(a[idx], u, v), _covered(b[idx], u, v)
        inter = (in_a & in_b).sum((1, 2))
        union = (in_a | in_b).sum((1, 2))
        iou[idx] = np.divide(inter, union, out=np.zeros(len(idx)), where=union > 0)
    return iou


def iou_raster_pairs(a, b) -> np.ndarray:
    """Rasterised IoU of rectangles a[i] and b[i], as GG-CNN-style evaluation code
    computes it: (N, 5), (N, 5) → (N,).

    Which pixels count: a rectangle covers the integer pixel positions (u, v)
    (u = column, v = row; the pixel centres of an image indexed [v, u]) that
    lie in the closed rectangle, boundary included (to 1e-9 px), with u ≥ 0
    and v ≥ 0 (the canvas drops negative coordinates; there is no upper
    bound). IoU = (#positions covered by both) / (#positions covered by
    either), 0 when none is covered. This is what drawing the Cornell-order
    corners with ``skimage.draw.polygon`` on a canvas and counting its cells
    gives (recent scikit-image counts points on the boundary as inside; old
    releases used a half-open crossing rule, which differs only for pixel
    centres exactly on an edge).

    How it differs from :func:`iou_exact_pairs`: areas become pixel counts.
    Along each side, a rectangle of side w covers between w − 1 and w + 1
    pixel positions (w + 1 when both edges fall on pixel centres), so small
    rectangles are inflated or deflated; thin rectangles a few pixels wide
    differ most (even a zero-width one covers the pixel centres on its
    segment, so degenerate rectangles need not give 0); and sub-pixel shifts
    change it stepwise. For rectangles tens of pixels across the two agree
    to a few hundredths.

    Vectorised in blocks: pairs sorted by size, each block padded to its
    largest pixel box (about a million pixel positions per block)."""
    return _raster_pairs(*_checked(a, b, pairs=True))


def iou_raster(a, b) -> np.ndarray:
    """Rasterised IoU of every rectangle of a (N, 5) with every rectangle of b (M, 5) → (N, M).

    See :func:`iou_raster_pairs` for which pixels count."""
    a, b = _checked(a, b, pairs=False)
    return _raster_pairs(*_all_pairs(a, b)).reshape(len(a), len(b))


_PAIR_IOU = {"exact": _exact_pairs, "raster": _raster_pairs}


# -- matching ---------------------------------------------------------------------------
@dataclass(frozen=True)
class MatchResult:
    """The rectangle metric for one prediction against one object's ground truth.

    success: the prediction is correct (some ground truth within the angle
    threshold has IoU > the IoU threshold); iou: the best IoU among ground
    truths within the angle threshold (0.0 if none); angle_error_deg: the
    smallest angle error (degrees, mod 180°) to any ground truth (nan if there
    is none); best_iou_any: the best IoU over all ground truths, whatever the
    angle (0.0 if none). IoUs are "exact" or "raster" as asked of :func:`match`."""

    success: bool
    iou: float
    angle_error_deg: float
    best_iou_any: float


def _score(pred, pred_entry, gt, gt_start, gt_count, angle_rad, iou_threshold, method, best_any=True):
    """Score each prediction against the ground truths of its entry.

    pred (P, 5) with pred_entry (P,) the entry of each; gt (G, 5) where entry e
    owns gt[gt_start[e] : gt_start[e] + gt_count[e]]. All (prediction, ground
    truth) pairs go into flat arrays, one IoU call, then segment reductions
    per prediction. With best_any=False the IoU is computed only for pairs
    within the angle threshold (the rest cannot make a match) and the last
    result is None. Returns success, IoU within the angle threshold, smallest
    angle error (radians, nan without ground truth) and best IoU at any
    angle, each (P,)."""
    counts = gt_count[pred_entry]
    first = np.cumsum(counts) - counts  # first pair of each prediction
    pair_pred = np.repeat(np.arange(len(pred)), counts)
    pair_gt = np.repeat(gt_start[pred_entry] - first, counts) + np.arange(int(counts.sum()))
    err = angle_error(pred[pair_pred, 2], gt[pair_gt, 2])
    close = err <= angle_rad + ANGLE_TOLERANCE_RAD
    if best_any:
        iou = _PAIR_IOU[method](pred[pair_pred], gt[pair_gt])
        within = np.where(close, iou, 0.0)
    else:
        within = np.zeros(len(err))
        within[close] = _PAIR_IOU[method](pred[pair_pred[close]], gt[pair_gt[close]])

    has = counts > 0
    best_within = np.zeros(len(pred))
    best = np.zeros(len(pred)) if best_any else None
    min_err = np.full(len(pred), np.nan)
    if has.any():
        starts = first[has]
        best_within[has] = np.maximum.reduceat(within, starts)
        min_err[has] = np.minimum.reduceat(err, starts)
        if best_any:
            best[has] = np.maximum.reduceat(iou, starts)
    return best_within > iou_threshold, best_within, min_err, best


def match(prediction, ground_truth, angle_threshold_deg=30.0, iou_threshold=0.25, iou="exact"):
    """Apply the rectangle metric to predictions of one object.

    prediction: one rectangle (5,) → a :class:`MatchResult`, or (K, 5) → a list
    of K results; ground_truth: (M, 5) rectangles of the object (M may be 0:
    then nothing succeeds). angle_threshold_deg in degrees (mod 180°),
    inclusive: an angle error up to the threshold plus ``ANGLE_TOLERANCE_RAD``
    (1e-9 rad, a round-off allowance) passes, so exactly 30° does and 30.001°
    does not; iou_threshold strict (IoU must exceed it); iou: "exact" or
    "raster"."""
    angle_rad, iou_threshold = _check_thresholds(angle_threshold_deg, iou_threshold)
    method = _check_method(iou)
    single = np.ndim(prediction) == 1 and np.size(prediction) == 5
    pred = as_rects(prediction, "prediction")
    gt = as_rects(ground_truth, "ground_truth")
    success, best, err, best_any = _score(
        pred, np.zeros(len(pred), dtype=np.int64), gt, np.zeros(1, dtype=np.int64),
        np.array([len(gt)]), angle_rad, iou_threshold, method,
    )
    results = [
        MatchResult(bool(s), float(i), float(np.degrees(e)), float(b))
        for s, i, e, b in zip(success, best, err, best_any)
    ]
    return results[0] if single else results


# -- evaluation -------------------------------------------------------------------------
def _stack(entries, name, ncols):
    """A list of per-entry arrays → (concatenated rows, entry of each row, rows per entry)."""
    arrays = []
    for i, e in enumerate(entries):
        x = np.asarray(e, dtype=np.float64)
        if x.size == 0:
            x = x.reshape(0, ncols[0])
        elif x.ndim == 1:
            x = x[None]
        if x.ndim != 2 or x.shape[1] not in ncols:
            raise ValueError(f"{name}[{i}] must have shape (K, {' or '.join(map(str, ncols))}), got {np.shape(e)}")
        arrays.append(x)
    widths = {x.shape[1] for x in arrays if len(x)}
    if len(widths) > 1:
        raise ValueError(f"{name}: all entries must have the same number of columns, got {sorted(widths)}")
    width = widths.pop() if widths else ncols[0]
    counts = np.array([len(x) for x in arrays], dtype=np.int64)
    rows = np.concatenate([x for x in arrays if len(x)]) if counts.sum() else np.zeros((0, width))
    return rows, np.repeat(np.arange(len(arrays)), counts), counts


def _distribution(values, edges) -> dict:
    """Histogram and 10/50/90 percentiles of the finite values, JSON-friendly."""
    x = values[np.isfinite(values)]
    counts, _ = np.histogram(x, bins=edges)
    pct = {str(p): (float(np.percentile(x, p)) if len(x) else None) for p in (10, 50, 90)}
    return {"n": int(len(x)), "bin_edges": [float(e) for e in edges], "counts": counts.tolist(), "percentiles": pct}


def _number(x):
    return float(x) if math.isfinite(x) else None


@dataclass(frozen=True)
class RectMetricReport:
    """Results of :func:`evaluate`.

    n: number of entries (samples); top1: fraction whose best-ranked
    prediction is correct; topk: {k: fraction with a correct prediction among
    the k best}; per entry: top1_success, top1_iou (IoU of the top-1
    prediction with the best ground truth within the angle threshold, 0.0 if
    none, nan if the entry has no prediction) and top1_angle_error_deg (its
    smallest angle error in degrees, nan without prediction or ground truth).
    Accuracies are nan when n == 0. Also the settings used (angle threshold
    in degrees, IoU threshold, IoU method) and how many entries had no
    prediction or no ground truth."""

    n: int
    top1: float
    topk: dict
    top1_success: np.ndarray
    top1_iou: np.ndarray
    top1_angle_error_deg: np.ndarray
    angle_threshold_deg: float = 30.0
    iou_threshold: float = 0.25
    iou_method: str = "exact"
    n_without_prediction: int = 0
    n_without_ground_truth: int = 0

    def to_dict(self) -> dict:
        """JSON-friendly summary (plain floats, ints and lists; None for undefined
        numbers): accuracies, thresholds and the distributions of the top-1 IoU
        (bins of 0.05) and angle error (bins of 5°)."""
        return {
            "n": self.n,
            "top1": _number(self.top1),
            "topk": {str(k): _number(v) for k, v in self.topk.items()},
            "angle_threshold_deg": self.angle_threshold_deg,
            "iou_threshold": self.iou_threshold,
            "iou_method": self.iou_method,
            "n_without_prediction": self.n_without_prediction,
            "n_without_ground_truth": self.n_without_ground_truth,
            "top1_iou": _distribution(self.top1_iou, np.linspace(0.0, 1.0, 21)),
            "top1_angle_error_deg": _distribution(self.top1_angle_error_deg, np.linspace(0.0, 90.0, 19)),
        }


def _check_top_k(top_k) -> tuple[int, ...]:
    if isinstance(top_k, (int, np.integer)):
        ks = (top_k,)
    else:  # a sequence of them; anything else (a float, a string) is rejected below as empty
        ks = tuple(top_k) if isinstance(top_k, (tuple, list, np.ndarray)) else ()
    if not ks or not all(isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 1 for k in ks):
        raise ValueError(f"top_k must be positive integers (one, or a sequence), got {top_k!r}")
    return tuple(sorted({int(k) for k in ks}))


def evaluate(predictions, ground_truth, top_k=(1, 5), angle_threshold_deg=30.0, iou_threshold=0.25,
             iou="exact") -> RectMetricReport:
    """Rectangle-metric accuracy over a data set.

    predictions: a list with one entry per sample (image or object), each a
    (K_i, 5) array of rectangles already ranked best first, or (K_i, 6) with a
    score in column 5, then ranked by descending score (ties keep their
    order); all non-empty entries must have the same number of columns. An
    entry without predictions counts as a failure. ground_truth: a list of
    (M_i, 5) arrays, the same length; an entry without ground truth fails.
    top_k: the k of the top-k accuracies (top-1 is always reported);
    angle_threshold_deg in degrees, inclusive (to ``ANGLE_TOLERANCE_RAD``,
    1e-9 rad: exactly 30° passes); iou_threshold strict; iou "exact" or
    "raster" (see the module docstring).

    Only the max(top_k) best predictions of each entry are scored; all pairs
    of all entries are scored in flat arrays, with no Python loop per entry
    beyond reading the input lists."""
    angle_rad, iou_threshold = _check_thresholds(angle_threshold_deg, iou_threshold)
    method = _check_method(iou)
    ks = _check_top_k(top_k)
    if len(predictions) != len(ground_truth):
        raise ValueError(
            f"predictions and ground_truth must have one entry per sample, got {len(predictions)} and {len(ground_truth)}"
        )
    n = len(predictions)
    pred, pred_entry, pred_count = _stack(predictions, "predictions", (5, 6))
    gt, _, gt_count = _stack(ground_truth, "ground_truth", (5,))
    if pred.shape[1] == 6:  # rank by descending score within each entry
        order = np.lexsort((np.arange(len(pred)), -pred[:, 5], pred_entry))
        pred = pred[order, :5]
    pred = as_rects(pred, "predictions")
    gt = as_rects(gt, "ground_truth")

    first = np.cumsum(pred_count) - pred_count
    rank = np.arange(len(pred)) - first[pred_entry]
    keep = rank < max(ks)
    pred, pred_entry, rank = pred[keep], pred_entry[keep], rank[keep]
    success, best, err, _ = _score(pred, pred_entry, gt, np.cumsum(gt_count) - gt_count, gt_count,
                                   angle_rad, iou_threshold, method, best_any=False)

    top1 = rank == 0
    top1_success = np.zeros(n, dtype=bool)
    top1_iou = np.full(n, np.nan)
    top1_err = np.full(n, np.nan)
    top1_success[pred_entry[top1]] = success[top1]
    top1_iou[pred_entry[top1]] = best[top1]
    top1_err[pred_entry[top1]] = np.degrees(err[top1])
    topk = {}
    for k in ks:
        hit = np.bincount(pred_entry[success & (rank < k)], minlength=n) > 0
        topk[k] = float(hit.mean()) if n else math.nan
    return RectMetricReport(
        n=n,
        top1=float(top1_success.mean()) if n else math.nan,
        topk=topk,
        top1_success=top1_success,
        top1_iou=top1_iou,
        top1_angle_error_deg=top1_err,
        angle_threshold_deg=float(angle_threshold_deg),
        iou_threshold=iou_threshold,
        iou_method=method,
        n_without_prediction=int((pred_count == 0).sum()),
        n_without_ground_truth=int((gt_count == 0).sum()),
    )


#: a predicted object mask "picks" the object when its IoU with the object's mask is at least this
PICK_IOU = 0.5


def mask_iou(a, b) -> float:
    """IoU of two boolean (H, W) masks (0 when both are empty); the measure behind the
    pick rate of prompted segmentation (``>= PICK_IOU``), beside the rectangle metric."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    if a.shape != b.shape:
        raise ValueError(f"masks of shapes {a.shape} and {b.shape} cannot be compared")
    union = int((a | b).sum())
    return int((a & b).sum()) / union if union else 0.0

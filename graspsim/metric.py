"""The rectangle metric for grasp detection, vectorised in numpy.

Definition. A predicted grasp rectangle is *correct* when, for at least one
ground-truth rectangle of the object,

- the angle error ``|Δangle|``, taken mod π (a grasp is symmetric under a half
  turn), is at most ``angle_threshold_deg`` (30° by default; compared with a
  round-off tolerance of 1e-9 rad), **and**
- the Jaccard index (IoU) of the two rectangles is strictly greater than
  ``iou_threshold`` (0.25 by default).

Top-1 accuracy scores the best-ranked prediction of each sample; top-k counts a
sample as correct when any of its k best predictions is. This is the metric of
Redmon & Angelova 2015 (after Jiang et al. 2011) and of the evaluation code of
GG-CNN, GR-ConvNet and GraspSAM.

Rectangles are float64 arrays of shape (N, 5) with columns ``u, v, angle,
opening, jaw`` (pixels, radians; see :mod:`graspsim.rectangles`).

Two IoUs:

- :func:`iou_exact` — the area of the exact polygon intersection of the two
  rotated rectangles over the area of their union (agrees with OpenCV's
  ``rotatedRectangleIntersection``, to float32 precision). Continuous in the
  rectangle parameters and independent of the pixel grid: use it to compare
  methods among themselves.
- :func:`iou_raster` — the pixel-counting IoU of the GG-CNN-style evaluation
  code (each polygon drawn with ``skimage.draw.polygon`` on a canvas). Use it
  to reproduce published numbers. It differs from the exact IoU by pixel
  quantisation: see :func:`iou_raster_pairs` for exactly which pixels count.

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

ANGLE_TOLERANCE_RAD = 1e-9  # round-off allowance on the angle threshold
_EXACT_CHUNK = 16384  # pairs per block in the exact IoU
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
def _cross(p, q):
    return p[..., 0] * q[..., 1] - p[..., 1] * q[..., 0]


def _local(points, rects, origin):
    """Coordinates of ``points`` (P, K, 2), given relative to ``origin`` (P, 2), in
    the frame of ``rects`` (P, 5): along the closing line and along the jaw."""
    d = np.stack([np.cos(rects[:, 2]), -np.sin(rects[:, 2])], -1)[:, None, :]
    rel = points - (rects[:, :2] - origin)[:, None, :]
    return (rel * d).sum(-1), _cross(d, rel)


def _intersection_area(a, b) -> np.ndarray:
    """Exact area of the intersection of the rotated rectangles a[i] and b[i] (pixels²)."""
    origin = a[:, :2]  # work relative to a's centre, for precision
    ca = to_corners(a) - origin[:, None, :]
    cb = to_corners(b) - origin[:, None, :]
    tol = 1e-9 * (1.0 + np.maximum(a[:, 3:5].max(1), b[:, 3:5].max(1)))[:, None]

    def inside(points, rects):
        x, y = _local(points, rects, origin)
        return (np.abs(x) <= rects[:, 3:4] / 2 + tol) & (np.abs(y) <= rects[:, 4:5] / 2 + tol)

    # edge i of a (ca[i] -> ca[i+1]) against edge j of b: points ca[i] + t ea[i] = cb[j] + s eb[j]
    ea = np.roll(ca, -1, axis=1) - ca
    eb = np.roll(cb, -1, axis=1) - cb
    denom = _cross(ea[:, :, None, :], eb[:, None, :, :])  # (P, 4, 4)
    scale = np.linalg.norm(ea, axis=-1)[:, :, None] * np.linalg.norm(eb, axis=-1)[:, None, :]
    ok = np.abs(denom) > 1e-12 * scale
    denom = np.where(ok, denom, 1.0)
    qp = cb[:, None, :, :] - ca[:, :, None, :]
    t = _cross(qp, eb[:, None, :, :]) / denom
    s = _cross(qp, ea[:, :, None, :]) / denom
    ok &= (t >= -1e-9) & (t <= 1 + 1e-9) & (s >= -1e-9) & (s <= 1 + 1e-9)
    crossings = ca[:, :, None, :] + t[..., None] * ea[:, :, None, :]

    n = len(a)
    pts = np.concatenate([ca, cb, crossings.reshape(n, 16, 2)], axis=1)  # (P, 24, 2)
    valid = np.concatenate([inside(ca, b), inside(cb, a), ok.reshape(n, 16)], axis=1)

    count = valid.sum(1)
    mean = (pts * valid[..., None]).sum(1) / np.maximum(count, 1)[:, None]
    rel = pts - mean[:, None, :]
    key = np.where(valid, np.arctan2(rel[..., 1], rel[..., 0]), np.inf)
    order = np.argsort(key, axis=1)
    rel = np.take_along_axis(rel, order[..., None], axis=1)
    rel = np.where((np.arange(24) < count[:, None])[..., None], rel, rel[:, :1])  # pad with the first
    area = 0.5 * np.abs(_cross(rel, np.roll(rel, -1, axis=1)).sum(1))
    return np.where(count >= 3, area, 0.0)


def iou_exact_pairs(a, b) -> np.ndarray:
    """Exact IoU of rectangles a[i] and b[i]: (N, 5), (N, 5) → (N,).

    IoU = area(a ∩ b) / area(a ∪ b) of the rotated rectangles as polygons
    (pixels² over pixels²). Rectangles with zero opening or jaw have IoU 0
    with anything; identical rectangles have IoU 1 (to round-off); touching
    or disjoint ones 0. Vectorised: no Python loop over pairs."""
    a = as_rects(a, "a")
    b = as_rects(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"iou_exact_pairs needs as many rectangles in a as in b, got {len(a)} and {len(b)}")
    area_a = a[:, 3] * a[:, 4]
    area_b = b[:, 3] * b[:, 4]
    # pairs whose centres are further apart than half the sum of the diagonals cannot overlap
    reach = (np.hypot(a[:, 3], a[:, 4]) + np.hypot(b[:, 3], b[:, 4])) / 2
    candidates = np.flatnonzero((area_a > 0) & (area_b > 0) & (np.hypot(*(a[:, :2] - b[:, :2]).T) < reach))
    inter = np.zeros(len(a))
    for start in range(0, len(candidates), _EXACT_CHUNK):
        idx = candidates[start:start + _EXACT_CHUNK]
        inter[idx] = _intersection_area(a[idx], b[idx])
    union = area_a + area_b - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(inter > 0, inter / union, 0.0)
    return np.clip(iou, 0.0, 1.0)


def iou_exact(a, b) -> np.ndarray:
    """Exact IoU of every rectangle of a (N, 5) with every rectangle of b (M, 5) → (N, M).

    See :func:`iou_exact_pairs` for the definition."""
    a = as_rects(a, "a")
    b = as_rects(b, "b")
    return iou_exact_pairs(np.repeat(a, len(b), axis=0), np.tile(b, (len(a), 1))).reshape(len(a), len(b))


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


def iou_raster_pairs(a, b) -> np.ndarray:
    """Rasterised IoU of rectangles a[i] and b[i], as GG-CNN-style code computes it:
    (N, 5), (N, 5) → (N,).

    Which pixels count: a rectangle covers the integer pixel positions (u, v)
    (pixel centres, u = column, v = row) that lie in the closed rectangle,
    boundary included (to 1e-9 px), with u ≥ 0 and v ≥ 0 (the canvas drops
    negative coordinates; there is no upper bound). IoU = (#positions covered
    by both) / (#positions covered by either); 0 when no position is covered.
    This is what ``skimage.draw.polygon`` on the Cornell-order corners, then
    counting canvas cells, gives (recent scikit-image counts boundary points;
    very old releases used a half-open rule, which differs only for pixel
    centres exactly on an edge).

    How it differs from :func:`iou_exact`: areas are quantised to pixel
    counts, so small rectangles are inflated or deflated (a w × h rectangle
    covers about (w + 1)(h + 1) pixels when its edges fall on pixel centres
    and about (w - 1)(h - 1) when they fall between), thin rectangles a few
    pixels wide differ most (even a zero-width one covers the pixels on its
    segment), and sub-pixel shifts change it stepwise. For rectangles tens of
    pixels across the two agree to a few hundredths.

    Vectorised in blocks: pairs sorted by size, each block padded to its
    largest pixel box (about a million pixels per block)."""
    a = as_rects(a, "a")
    b = as_rects(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"iou_raster_pairs needs as many rectangles in a as in b, got {len(a)} and {len(b)}")
    iou = np.zeros(len(a))
    u0, u1, v0, v1 = _pixel_bounds(a, b)
    width, height = np.maximum(u1 - u0 + 1, 0), np.maximum(v1 - v0 + 1, 0)
    side = np.maximum(width, height)
    todo = np.flatnonzero(side > 0)
    todo = todo[np.argsort(side[todo], kind="stable")]
    start = 0
    while start < len(todo):
        # side is non-decreasing along todo, so this block's padded size is within budget
        n = max(1, _RASTER_BUDGET // int(side[todo[start]]) ** 2)
        n = max(1, min(n, _RASTER_BUDGET // int(side[todo[min(start + n, len(todo)) - 1]]) ** 2))
        idx = todo[start:start + n]
        start += n
        u = (u0[idx, None] + np.arange(width[idx].max()))[:, None, :].astype(np.float64)
        v = (v0[idx, None] + np.arange(height[idx].max()))[:, :, None].astype(np.float64)
        in_a = _covered(a[idx], u, v)
        in_b = _covered(b[idx], u, v)
        inter = (in_a & in_b).sum((1, 2))
        union = (in_a | in_b).sum((1, 2))
        iou[idx] = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    return iou


def iou_raster(a, b) -> np.ndarray:
    """Rasterised IoU of every rectangle of a (N, 5) with every rectangle of b (M, 5) → (N, M).

    See :func:`iou_raster_pairs` for which pixels count."""
    a = as_rects(a, "a")
    b = as_rects(b, "b")
    return iou_raster_pairs(np.repeat(a, len(b), axis=0), np.tile(b, (len(a), 1))).reshape(len(a), len(b))


_PAIR_IOU = {"exact": iou_exact_pairs, "raster": iou_raster_pairs}


# -- matching ---------------------------------------------------------------------------
@dataclass(frozen=True)
class MatchResult:
    """The rectangle metric for one prediction against one object's ground truth.

    success: the prediction is correct (some ground truth within the angle
    threshold has IoU > the IoU threshold); iou: the best IoU among ground
    truths within the angle threshold (0.0 if none); angle_error_deg: the
    smallest angle error (degrees, mod 180°) to any ground truth (nan if there
    is none); best_iou_any: the best IoU over all ground truths, whatever the
    angle (0.0 if none)."""

    success: bool
    iou: float
    angle_error_deg: float
    best_iou_any: float


def _score(pred, pred_entry, gt, gt_start, gt_count, angle_rad, iou_threshold, method):
    """Score each prediction against the ground truths of its entry.

    pred (P, 5) with pred_entry (P,) the entry of each; gt (G, 5) where entry e
    owns gt[gt_start[e] : gt_start[e] + gt_count[e]]. All (prediction, ground
    truth) pairs go through one IoU call, then segment reductions per
    prediction. Returns success, iou (within the angle threshold), angle error
    (radians, nan without ground truth) and best IoU at any angle, each (P,)."""
    counts = gt_count[pred_entry]
    first = np.cumsum(counts) - counts  # first pair of each prediction
    pair_pred = np.repeat(np.arange(len(pred)), counts)
    pair_gt = np.repeat(gt_start[pred_entry] - first, counts) + np.arange(int(counts.sum()))
    iou = _PAIR_IOU[method](pred[pair_pred], gt[pair_gt])
    err = angle_error(pred[pair_pred, 2], gt[pair_gt, 2])
    within = np.where(err <= angle_rad + ANGLE_TOLERANCE_RAD, iou, 0.0)

    has = counts > 0
    best_within, best_any = np.zeros(len(pred)), np.zeros(len(pred))
    min_err = np.full(len(pred), np.nan)
    if has.any():
        starts = first[has]
        best_within[has] = np.maximum.reduceat(within, starts)
        best_any[has] = np.maximum.reduceat(iou, starts)
        min_err[has] = np.minimum.reduceat(err, starts)
    return best_within > iou_threshold, best_within, min_err, best_any


def match(prediction, ground_truth, angle_threshold_deg=30.0, iou_threshold=0.25, iou="exact"):
    """Apply the rectangle metric to predictions of one object.

    prediction: one rectangle (5,) → a :class:`MatchResult`, or (K, 5) → a list
    of K results; ground_truth: (M, 5) rectangles of the object (M may be 0:
    then nothing succeeds). angle_threshold_deg in degrees (mod 180°),
    iou_threshold strict (IoU must exceed it); iou: "exact" or "raster"."""
    angle_rad, iou_threshold = _check_thresholds(angle_threshold_deg, iou_threshold)
    method = _check_method(iou)
    single = np.ndim(prediction) == 1
    pred = as_rects(prediction, "prediction")
    gt = as_rects(ground_truth, "ground_truth")
    success, best, err, best_any = _score(
        pred, np.zeros(len(pred), dtype=np.int64), gt, np.zeros(1, dtype=np.int64),
        np.array([len(gt)]), angle_rad, iou_threshold, method,
    )
    results = [
        MatchResult(bool(s), float(i), float(np.degrees(e)), float(b)) for s, i, e, b in zip(success, best, err, best_any)
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
    Accuracies are nan when n == 0."""

    n: int
    top1: float
    topk: dict
    top1_success: np.ndarray
    top1_iou: np.ndarray
    top1_angle_error_deg: np.ndarray
    angle_threshold_deg: float = 30.0
    iou_threshold: float = 0.25
    iou: str = "exact"
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
            "iou": self.iou,
            "n_without_prediction": self.n_without_prediction,
            "n_without_ground_truth": self.n_without_ground_truth,
            "top1_iou": _distribution(self.top1_iou, np.linspace(0.0, 1.0, 21)),
            "top1_angle_error_deg": _distribution(self.top1_angle_error_deg, np.linspace(0.0, 90.0, 19)),
        }


def _check_top_k(top_k) -> tuple[int, ...]:
    ks = (top_k,) if isinstance(top_k, (int, np.integer)) else tuple(top_k)
    if not ks or not all(isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 1 for k in ks):
        raise ValueError(f"top_k must be positive integers, got {top_k!r}")
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
    angle_threshold_deg in degrees; iou_threshold strict; iou "exact" or
    "raster" (see the module docstring).

    Only the max(top_k) best predictions of each entry are scored; all pairs
    of all entries are scored in flat arrays, with no Python loop per entry
    beyond reading the input lists."""
    angle_rad, iou_threshold = _check_thresholds(angle_threshold_deg, iou_threshold)
    method = _check_method(iou)
    ks = _check_top_k(top_k)
    if len(predictions) != len(ground_truth):
        raise ValueError(f"predictions and ground_truth must have one entry per sample, got {len(predictions)} and {len(ground_truth)}")
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
                                   angle_rad, iou_threshold, method)

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
        iou=method,
        n_without_prediction=int((pred_count == 0).sum()),
        n_without_ground_truth=int((gt_count == 0).sum()),
    )

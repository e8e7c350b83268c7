"""The rectangle metric: exact and raster IoU, matching, data-set evaluation."""

import json
import math

import numpy as np
import pytest

from graspsim.metric import (
    ANGLE_TOLERANCE_RAD,
    MatchResult,
    angle_error,
    evaluate,
    iou_exact,
    iou_exact_pairs,
    iou_raster,
    iou_raster_pairs,
    match,
)
from graspsim.rectangles import to_corners


def random_rects(rng, n, centre=(0.0, 0.0), spread=10.0, size=(2.0, 40.0)):
    return np.column_stack([
        rng.uniform(-spread, spread, n) + centre[0],
        rng.uniform(-spread, spread, n) + centre[1],
        rng.uniform(-math.pi / 2, math.pi / 2, n),
        rng.uniform(*size, n),
        rng.uniform(*size, n),
    ])


# -- independent references ---------------------------------------------------------------
def _signed_area(poly):
    return 0.5 * sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(poly, poly[1:] + poly[:1]))


def _ccw(rect):
    poly = [tuple(p) for p in to_corners(rect)[0]]
    return poly if _signed_area(poly) > 0 else poly[::-1]


def clipped_polygon(r, s):
    """Sutherland–Hodgman: the polygon r ∩ s, in float64, one pair at a time."""
    poly, clip = _ccw(r), _ccw(s)
    for a, b in zip(clip, clip[1:] + clip[:1]):
        if not poly:
            break
        side = [(b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]) for p in poly]
        out = []
        for i, p in enumerate(poly):
            j = (i + 1) % len(poly)
            if side[i] >= 0:
                out.append(p)
            if (side[i] >= 0) != (side[j] >= 0):
                t = side[i] / (side[i] - side[j])
                out.append((p[0] + t * (poly[j][0] - p[0]), p[1] + t * (poly[j][1] - p[1])))
        poly = out
    return poly


def reference_iou(r, s):
    poly = clipped_polygon(r, s)
    inter = abs(_signed_area(poly)) if len(poly) >= 3 else 0.0
    return inter / (r[3] * r[4] + s[3] * s[4] - inter)


def opencv_iou(r, s):
    import cv2

    def box(x):  # OpenCV's angle turns +x towards +y (clockwise on screen); ours the other way
        return (float(x[0]), float(x[1])), (float(x[3]), float(x[4])), -math.degrees(x[2])

    ret, region = cv2.rotatedRectangleIntersection(box(r), box(s))
    inter = 0.0 if ret == cv2.INTERSECT_NONE else float(cv2.contourArea(region))
    return inter / (r[3] * r[4] + s[3] * s[4] - inter)


def pixel_mask(rect, size=120):
    """Brute force: integer positions (u, v) in [0, size)² inside the closed rectangle,
    by the signs of cross products with its corners."""
    corners = to_corners(rect)[0]
    v, u = np.mgrid[0:size, 0:size].astype(float)
    sides = []
    for k in range(4):
        (x0, y0), (x1, y1) = corners[k], corners[(k + 1) % 4]
        sides.append((x1 - x0) * (v - y0) - (y1 - y0) * (u - x0))
    sides = np.array(sides)
    tol = 1e-9 * max(rect[3], rect[4], 1.0)
    return (sides >= -tol).all(0) | (sides <= tol).all(0)


def brute_raster_iou(r, s):
    a, b = pixel_mask(r), pixel_mask(s)
    union = (a | b).sum()
    return (a & b).sum() / union if union else 0.0


# -- exact IoU ----------------------------------------------------------------------------
def test_exact_iou_agrees_with_opencv():
    pytest.importorskip("cv2")
    rng = np.random.default_rng(0)
    a, b = random_rects(rng, 200, size=(5.0, 40.0)), random_rects(rng, 200, size=(5.0, 40.0))
    ours = iou_exact_pairs(a, b)
    ref = np.array([opencv_iou(r, s) for r, s in zip(a, b)])
    # OpenCV merges intersection vertices closer than sqrt(1e-6 · larger area) (and works in
    # float32); leave out the pairs where that happens, found with an independent clipper
    merged = []
    for r, s in zip(a, b):
        poly = np.array(clipped_polygon(r, s))
        gaps = np.linalg.norm(poly - np.roll(poly, 1, axis=0), axis=1) if len(poly) >= 3 else np.array([np.inf])
        merged.append(gaps.min() ** 2 <= 4e-6 * max(r[3] * r[4], s[3] * s[4]))
    keep = ~np.array(merged)
    assert keep.sum() >= 190 and (ref[keep] > 0).sum() >= 150
    np.testing.assert_allclose(ours[keep], ref[keep], rtol=1e-6, atol=1e-8)


def test_exact_iou_agrees_with_polygon_clipping():
    rng = np.random.default_rng(1)
    a = random_rects(rng, 400, centre=(300.0, 200.0), size=(0.5, 60.0))
    b = random_rects(rng, 400, centre=(300.0, 200.0), size=(0.5, 60.0))
    ref = np.array([reference_iou(r, s) for r, s in zip(a, b)])
    np.testing.assert_allclose(iou_exact_pairs(a, b), ref, rtol=0, atol=1e-9)


def test_exact_iou_special_cases():
    r = np.array([[100.0, 50.0, 0.4, 40.0, 20.0]])
    assert iou_exact_pairs(r, r)[0] == pytest.approx(1.0, abs=1e-12)
    far = r + [200.0, 0, 0, 0, 0]
    assert iou_exact_pairs(r, far)[0] == 0.0
    # containment: same centre and angle, half the size each way → area ratio 1/4
    inner = r * [1, 1, 1, 0.5, 0.5]
    assert iou_exact_pairs(r, inner)[0] == pytest.approx(0.25, abs=1e-12)
    # containment at another angle, fully inside
    inner_turned = np.array([[100.0, 50.0, -0.9, 8.0, 6.0]])
    assert iou_exact_pairs(r, inner_turned)[0] == pytest.approx(48.0 / 800.0, abs=1e-12)
    # touching along a whole edge (shifted by the opening along the closing line)
    d = np.array([math.cos(0.4), -math.sin(0.4)])
    touching = r.copy()
    touching[0, :2] += 40.0 * d
    assert iou_exact_pairs(r, touching)[0] == pytest.approx(0.0, abs=1e-9)
    # half overlap along the closing line: intersection 20 × 20 of union 1200
    half = r.copy()
    half[0, :2] += 20.0 * d
    assert iou_exact_pairs(r, half)[0] == pytest.approx(400.0 / 1200.0, abs=1e-12)


def test_exact_iou_symmetry_and_invariances():
    rng = np.random.default_rng(2)
    a, b = random_rects(rng, 100), random_rects(rng, 100)
    iou = iou_exact_pairs(a, b)
    assert (iou > 0).sum() > 50
    np.testing.assert_allclose(iou_exact_pairs(b, a), iou, atol=1e-12)
    turned = a + [0, 0, math.pi, 0, 0]
    np.testing.assert_allclose(iou_exact_pairs(turned, b), iou, atol=1e-12)
    shift = [517.25, -203.5, 0, 0, 0]
    np.testing.assert_allclose(iou_exact_pairs(a + shift, b + shift), iou, atol=1e-10)
    # swapping opening and jaw while turning by 90° is the same rectangle
    swapped = a[:, [0, 1, 2, 4, 3]] + [0, 0, math.pi / 2, 0, 0]
    np.testing.assert_allclose(iou_exact_pairs(swapped, b), iou, atol=1e-10)


def test_exact_iou_degenerate_rectangles():
    r = np.array([[10.0, 10.0, 0.3, 8.0, 4.0]])
    flat = np.array([[10.0, 10.0, 0.3, 8.0, 0.0], [10.0, 10.0, 0.3, 0.0, 4.0], [10.0, 10.0, 0.0, 0.0, 0.0]])
    out = np.concatenate([iou_exact_pairs(np.repeat(r, 3, 0), flat), iou_exact_pairs(flat, flat)])
    assert np.isfinite(out).all()
    assert (out == 0.0).all()


def test_exact_iou_matrix_matches_pairs():
    rng = np.random.default_rng(3)
    a, b = random_rects(rng, 7), random_rects(rng, 5)
    m = iou_exact(a, b)
    assert m.shape == (7, 5)
    np.testing.assert_allclose(m[3], iou_exact_pairs(np.repeat(a[3:4], 5, 0), b))
    assert iou_exact(a, np.zeros((0, 5))).shape == (7, 0)
    with pytest.raises(ValueError, match="as many rectangles"):
        iou_exact_pairs(a, b)


def test_angle_error_is_mod_pi():
    assert angle_error(0.1, 0.1 + math.pi) == pytest.approx(0.0, abs=1e-12)
    assert angle_error(math.pi / 2, -math.pi / 2 + 0.01) == pytest.approx(0.01, abs=1e-12)
    assert angle_error(0.0, math.pi / 2) == pytest.approx(math.pi / 2)
    e = angle_error(np.linspace(-10, 10, 101)[:, None], np.array([0.0, 1.0, -2.5]))
    assert e.shape == (101, 3)
    assert (e >= 0).all() and (e <= math.pi / 2 + 1e-12).all()


# -- raster IoU ---------------------------------------------------------------------------
def test_raster_iou_equals_brute_force_pixel_count():
    rects = np.array([
        [30.0, 40.0, 0.0, 20.0, 10.0],  # axis-aligned, edges on pixel centres
        [33.5, 41.0, 0.0, 20.0, 10.0],  # half-pixel shift
        [35.2, 38.7, 0.7, 25.3, 9.1],
        [31.0, 44.0, -1.2, 6.0, 2.5],  # thin
        [2.0, 3.0, 0.3, 12.0, 8.0],  # partly at negative coordinates (dropped)
        [5.0, 1.0, 1.5707963267948966, 9.0, 3.0],
    ])
    i, j = np.triu_indices(len(rects))
    ours = iou_raster_pairs(rects[i], rects[j])
    brute = np.array([brute_raster_iou(rects[p], rects[q]) for p, q in zip(i, j)])
    np.testing.assert_array_equal(ours, brute)
    assert (brute[i != j] > 0).sum() >= 5
    np.testing.assert_array_equal(iou_raster(rects, rects)[i, j], ours)


def test_raster_iou_quantises_small_rectangles():
    # 2 × 2 squares with edges on pixel centres, one pixel apart: 3 × 3 pixels each
    a = np.array([[5.0, 5.0, 0.0, 2.0, 2.0]])
    b = np.array([[6.0, 5.0, 0.0, 2.0, 2.0]])
    assert iou_exact_pairs(a, b)[0] == pytest.approx(2.0 / 6.0)
    assert iou_raster_pairs(a, b)[0] == pytest.approx(6.0 / 12.0)
    # a rectangle entirely at negative coordinates covers nothing
    assert iou_raster_pairs(a - [20, 20, 0, 0, 0], a - [20, 20, 0, 0, 0])[0] == 0.0


def test_raster_iou_close_to_exact_for_large_rectangles():
    rng = np.random.default_rng(4)
    a = random_rects(rng, 60, centre=(200.0, 150.0), spread=15.0, size=(40.0, 90.0))
    b = random_rects(rng, 60, centre=(200.0, 150.0), spread=15.0, size=(40.0, 90.0))
    exact, raster = iou_exact_pairs(a, b), iou_raster_pairs(a, b)
    assert (exact > 0.1).sum() > 30
    assert np.abs(exact - raster).max() < 0.03
    assert np.isfinite(iou_raster_pairs(np.array([[5.0, 5.0, 0.2, 0.0, 0.0]]), a[:1])).all()


# -- match --------------------------------------------------------------------------------
GT = np.array([[100.0, 100.0, 0.0, 40.0, 20.0]])


def shifted(s):
    """A 4 × 1 rectangle and its copy shifted by s along u: IoU (4 - s) / (4 + s), 0.25 at s = 2.4."""
    return np.array([10.0 + s, 10.0, 0.0, 4.0, 1.0]), np.array([[10.0, 10.0, 0.0, 4.0, 1.0]])


def test_match_angle_threshold_is_inclusive():
    at = match([100.0, 100.0, math.radians(30.0), 40.0, 20.0], GT)
    assert isinstance(at, MatchResult)
    assert at.success and at.angle_error_deg == pytest.approx(30.0)
    over = match([100.0, 100.0, math.radians(30.01), 40.0, 20.0], GT)
    assert not over.success and over.iou == 0.0
    assert over.best_iou_any > 0.25  # the IoU alone would pass
    assert match([100.0, 100.0, -math.radians(30.0), 40.0, 20.0], GT).success
    # exactly 30° away from other angles (round-off in the difference; 1.3 + 30° wraps past π/2)
    for g in (0.2, 1.3):
        gt = np.array([[100.0, 100.0, g, 40.0, 20.0]])
        assert match([100.0, 100.0, g + math.radians(30.0), 40.0, 20.0], gt).success
        assert not match([100.0, 100.0, g + math.radians(30.01), 40.0, 20.0], gt).success


@pytest.mark.parametrize("method", ["exact", "raster"])
def test_exactly_30_degrees_succeeds_and_30_001_fails(method):
    """The angle test is inclusive at 30° (to ANGLE_TOLERANCE_RAD), in match and in evaluate."""
    assert ANGLE_TOLERANCE_RAD == 1e-9
    for g in (0.0, 0.2, -0.7, 1.3, math.pi / 2):
        gt = np.array([[100.0, 100.0, g, 40.0, 20.0]])
        for sign in (1.0, -1.0):
            at = np.array([100.0, 100.0, g + sign * math.radians(30.0), 40.0, 20.0])
            beyond = np.array([100.0, 100.0, g + sign * math.radians(30.0 + 1e-3), 40.0, 20.0])
            r_at, r_beyond = match(at, gt, iou=method), match(beyond, gt, iou=method)
            assert r_at.best_iou_any > 0.4 and r_beyond.best_iou_any > 0.4  # the IoU clearly passes
            assert r_at.success and r_at.iou > 0.4
            assert r_at.angle_error_deg == pytest.approx(30.0, abs=1e-9)
            assert not r_beyond.success and r_beyond.iou == 0.0
            assert r_beyond.angle_error_deg == pytest.approx(30.001, abs=1e-9)
            report = evaluate([at[None], beyond[None]], [gt, gt], top_k=1, iou=method)
            assert report.top1_success.tolist() == [True, False]


def test_angle_tolerance_is_round_off_only():
    """Within the tolerance past 30° passes; ten times it does not."""
    limit = math.radians(30.0)
    assert match([100.0, 100.0, limit + 0.5 * ANGLE_TOLERANCE_RAD, 40.0, 20.0], GT).success
    assert not match([100.0, 100.0, limit + 10 * ANGLE_TOLERANCE_RAD, 40.0, 20.0], GT).success
    assert match([100.0, 100.0, math.radians(20.0), 40.0, 20.0], GT, angle_threshold_deg=20.0).success
    assert not match([100.0, 100.0, math.radians(20.001), 40.0, 20.0], GT, angle_threshold_deg=20.0).success


def test_match_iou_threshold_is_strict():
    above, gt = shifted(2.39)
    below, _ = shifted(2.41)
    assert match(above, gt).success and match(above, gt).iou > 0.25
    r = match(below, gt)
    assert not r.success and r.iou == pytest.approx((4 - 2.41) / (4 + 2.41))


def test_evaluate_defaults_are_iou_025_strict_and_30_degrees_inclusive():
    above, gt = shifted(2.39)
    below, _ = shifted(2.41)
    g = np.array([[100.0, 100.0, 0.0, 40.0, 20.0]])
    at30 = np.array([[100.0, 100.0, math.radians(30.0), 40.0, 20.0]])
    past30 = np.array([[100.0, 100.0, math.radians(30.01), 40.0, 20.0]])
    report = evaluate([above[None], below[None], at30, past30], [gt, gt, g, g])
    assert report.top1_success.tolist() == [True, False, True, False]
    assert report.top1 == 0.5


def test_match_thresholds_are_parameters():
    below, gt = shifted(2.41)
    assert match(below, gt, iou_threshold=0.2).success
    above, _ = shifted(2.39)
    assert not match(above, gt, iou_threshold=0.3).success
    turned = [100.0, 100.0, math.radians(40.0), 40.0, 20.0]
    assert not match(turned, GT).success
    assert match(turned, GT, angle_threshold_deg=45.0).success
    assert not match([100.0, 100.0, math.radians(20.0), 40.0, 20.0], GT, angle_threshold_deg=10.0).success


def test_match_angles_compared_mod_pi():
    gt = np.array([[50.0, 50.0, -math.pi / 2 + 0.01, 30.0, 10.0]])
    r = match([50.0, 50.0, math.pi / 2, 30.0, 10.0], gt)
    assert r.success
    assert r.angle_error_deg == pytest.approx(math.degrees(0.01))
    assert r.iou > 0.9


def test_match_many_predictions_and_empty_ground_truth():
    preds = np.array([[100.0, 100.0, 0.1, 40.0, 20.0], [300.0, 100.0, 0.1, 40.0, 20.0]])
    results = match(preds, np.vstack([GT, GT + [0, 0, 1.2, 0, 0]]))
    assert [r.success for r in results] == [True, False]
    assert results[1].best_iou_any == 0.0 and results[1].angle_error_deg == pytest.approx(math.degrees(0.1))
    empty = match(preds[0], np.zeros((0, 5)))
    assert not empty.success and empty.iou == 0.0 and empty.best_iou_any == 0.0
    assert math.isnan(empty.angle_error_deg)
    assert match(np.zeros((0, 5)), GT) == []
    assert match(preds[0], GT, iou="raster").success


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"angle_threshold_deg": -1.0}, "angle_threshold_deg"),
        ({"angle_threshold_deg": 91.0}, "angle_threshold_deg"),
        ({"angle_threshold_deg": float("nan")}, "angle_threshold_deg"),
        ({"iou_threshold": 1.0}, "iou_threshold"),
        ({"iou_threshold": -0.1}, "iou_threshold"),
        ({"iou_threshold": "high"}, "iou_threshold"),
        ({"iou": "pixels"}, "iou"),
    ],
)
def test_invalid_thresholds_are_rejected(kwargs, name):
    value = repr(next(iter(kwargs.values())))
    with pytest.raises(ValueError, match=rf"{name} must .*{value}"):
        match(GT[0], GT, **kwargs)
    with pytest.raises(ValueError, match=name):
        evaluate([GT], [GT], **kwargs)


# -- evaluate -----------------------------------------------------------------------------
GOOD = [100.0, 100.0, 0.0, 40.0, 20.0]
BAD = [300.0, 300.0, 0.0, 40.0, 20.0]


def test_evaluate_top1_and_topk():
    preds = [np.array([BAD, BAD, GOOD]), np.array([GOOD]), np.array([BAD] * 6 + [GOOD])]
    report = evaluate(preds, [GT] * 3, top_k=(1, 3, 5, 10))
    assert report.n == 3
    assert report.top1 == pytest.approx(1 / 3)
    assert report.topk == pytest.approx({1: 1 / 3, 3: 2 / 3, 5: 2 / 3, 10: 1.0})
    assert report.top1_success.tolist() == [False, True, False]
    assert report.top1_iou[1] == pytest.approx(1.0) and report.top1_iou[0] == 0.0
    np.testing.assert_allclose(report.top1_angle_error_deg, [0.0, 0.0, 0.0])


def test_evaluate_sorts_by_score_column():
    rows = np.array([BAD + [0.2], GOOD + [0.9], BAD + [0.5]])
    assert evaluate([rows], [GT], top_k=1).top1 == 1.0
    rows[1, 5] = 0.1
    assert evaluate([rows], [GT], top_k=(1, 2)).topk == {1: 0.0, 2: 0.0}
    ties = np.array([BAD + [0.5], GOOD + [0.5]])  # ties keep their order
    assert evaluate([ties], [GT], top_k=(1, 2)).topk == {1: 0.0, 2: 1.0}
    with pytest.raises(ValueError, match="same number of columns"):
        evaluate([rows, np.array([GOOD])], [GT, GT])


def test_evaluate_empty_entries():
    report = evaluate([np.zeros((0, 5)), [], np.array([GOOD]), np.array([GOOD])],
                      [GT, GT, np.zeros((0, 5)), GT])
    assert report.top1_success.tolist() == [False, False, False, True]
    assert report.top1 == 0.25 and report.topk[5] == 0.25
    assert report.n_without_prediction == 2 and report.n_without_ground_truth == 1
    assert math.isnan(report.top1_iou[0]) and report.top1_iou[2] == 0.0
    assert math.isnan(report.top1_angle_error_deg[2])
    nothing = evaluate([], [])
    assert nothing.n == 0 and math.isnan(nothing.top1)
    json.dumps(nothing.to_dict(), allow_nan=False)
    with pytest.raises(ValueError, match="one entry per sample"):
        evaluate([GT], [GT, GT])


def test_evaluate_agrees_with_match():
    rng = np.random.default_rng(5)
    preds, gts = [], []
    for i in range(40):
        centre = rng.uniform(50, 400, 2)
        preds.append(random_rects(rng, int(rng.integers(0, 4)), centre=centre, spread=15.0, size=(10.0, 50.0)))
        gts.append(random_rects(rng, int(rng.integers(0, 6)), centre=centre, spread=10.0, size=(10.0, 50.0)))
    for method in ("exact", "raster"):
        report = evaluate(preds, gts, top_k=(1, 3), iou=method)
        expected = [bool(len(p)) and match(p[0], g, iou=method).success for p, g in zip(preds, gts)]
        assert report.top1_success.tolist() == expected
        top3 = [any(r.success for r in match(p[:3], g, iou=method)) for p, g in zip(preds, gts)]
        assert report.topk[3] == pytest.approx(np.mean(top3))
        assert 0 < sum(expected) < len(expected)


def test_report_to_dict_is_json():
    rng = np.random.default_rng(6)
    gts = [random_rects(rng, 5, centre=(200.0, 200.0), size=(10.0, 50.0)) for _ in range(30)]
    preds = [g[:2] + rng.normal(0, 3, (2, 5)) * [1, 1, 0.1, 1, 1] for g in gts] + [np.zeros((0, 5))]
    d = evaluate(preds, gts + [GT]).to_dict()
    text = json.dumps(d, allow_nan=False)
    assert json.loads(text)["n"] == 31
    assert sum(d["top1_iou"]["counts"]) == d["top1_iou"]["n"] == 30
    assert len(d["top1_iou"]["bin_edges"]) == len(d["top1_iou"]["counts"]) + 1
    p = d["top1_angle_error_deg"]["percentiles"]
    assert 0 <= p["10"] <= p["50"] <= p["90"] <= 90
    assert set(d["topk"]) == {"1", "5"} and d["top1"] == d["topk"]["1"]


def test_bench_metric_reports_throughput():
    from graspsim.app.bench import bench_metric, format_bench_metric

    r = bench_metric(n_predictions=60, n_ground_truth=4, repeats=1)
    assert r["seconds"] > 0 and r["predictions_per_second"] > 0 and r["all_pairs_seconds"] > 0
    assert r["n_predictions"] == 60 and r["n_entries"] == 12
    assert "predictions/s" in format_bench_metric(r)


def test_bad_inputs_name_the_argument():
    """Every entry point names the argument that is wrong, so a user finds it."""
    good = np.array([[10.0, 10.0, 0.0, 20.0, 8.0]])
    with pytest.raises(ValueError, match=r"^prediction: rectangles must have shape"):
        match(np.zeros(4), good)
    with pytest.raises(ValueError, match=r"^ground_truth: rectangles must be finite"):
        match(good[0], np.array([[1.0, 2.0, np.nan, 3.0, 4.0]]))
    with pytest.raises(ValueError, match=r"^predictions\[1\] must have shape \(K, 5 or 6\)"):
        evaluate([good, np.zeros((2, 3))], [good, good])
    with pytest.raises(ValueError, match=r"^ground_truth\[0\] must have shape \(K, 5\)"):
        evaluate([good], [np.zeros((1, 6))])
    with pytest.raises(ValueError, match=r"^predictions: all entries must have the same number of columns"):
        evaluate([good, np.hstack([good, [[0.5]]])], [good, good])


def test_match_against_one_ground_truth_uses_it():
    """A single ground-truth rectangle (not a list of them) is compared as such."""
    gt = np.array([10.0, 10.0, 0.0, 20.0, 8.0])
    m = match(gt, gt)
    assert m.success and m.iou == pytest.approx(1.0) and m.angle_error_deg == pytest.approx(0.0)
    far = match(np.array([60.0, 60.0, 0.0, 20.0, 8.0]), gt)
    assert not far.success and far.iou == 0.0


def test_report_to_dict_holds_the_values():
    gt = np.array([[10.0, 10.0, 0.0, 20.0, 8.0]])
    good = np.array([[10.0, 10.0, 0.0, 20.0, 8.0, 0.9]])
    off = np.array([[10.0, 10.0, np.radians(50), 20.0, 8.0, 0.9]])
    d = evaluate([good, off, np.zeros((0, 6))], [gt, gt, gt], top_k=(1, 2)).to_dict()
    assert d["n"] == 3 and d["top1"] == pytest.approx(1 / 3) and d["topk"] == {"1": pytest.approx(1 / 3), "2": pytest.approx(1 / 3)}
    assert d["angle_threshold_deg"] == 30.0 and d["iou_threshold"] == 0.25 and d["iou_method"] == "exact"
    assert d["n_without_prediction"] == 1 and d["n_without_ground_truth"] == 0
    iou, ang = d["top1_iou"], d["top1_angle_error_deg"]
    assert iou["n"] == 2 and len(iou["bin_edges"]) == 21 and iou["bin_edges"][0] == 0.0 and iou["bin_edges"][-1] == 1.0
    assert sum(iou["counts"]) == 2 and iou["counts"][-1] == 1  # the perfect match in the last bin
    assert ang["n"] == 2 and len(ang["bin_edges"]) == 19 and ang["bin_edges"][-1] == 90.0
    assert ang["counts"][0] == 1 and sum(ang["counts"][9:11]) == 1 and sum(ang["counts"]) == 2  # 0° and 50°
    assert ang["percentiles"]["50"] == pytest.approx(25.0) and set(ang["percentiles"]) == {"10", "50", "90"}
    empty = evaluate([np.zeros((0, 6))], [gt]).to_dict()
    assert empty["top1"] == 0.0 and empty["top1_iou"]["percentiles"]["50"] is None

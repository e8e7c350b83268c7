"""The rectangle metric's rules case by case: threshold edges, exact values of
constructed rectangles, the raster IoU's pixel boxes, argument checks and the
messages that name the argument, `evaluate`'s report fields and `mask_iou`."""

import math
import warnings

import numpy as np
import pytest

from graspsim.metric import (
    PICK_IOU,
    evaluate,
    iou_exact,
    iou_exact_pairs,
    iou_raster,
    iou_raster_pairs,
    mask_iou,
    match,
)

R = np.array([[100.0, 50.0, 0.4, 40.0, 20.0]])  # 40 × 20, turned by 0.4 rad
CLOSING = np.array([math.cos(0.4), -math.sin(0.4)])  # unit vector along its closing line
JAW = np.array([math.sin(0.4), math.cos(0.4)])  # unit vector along its jaw
GOOD = [100.0, 100.0, 0.0, 40.0, 20.0]
BAD = [300.0, 300.0, 0.0, 40.0, 20.0]
GT = np.array([GOOD])


def moved(r, step):
    out = r.copy()
    out[0, :2] += step
    return out


def square(u, v, side=2.0):
    return np.array([[u, v, 0.0, side, side]])


# -- thresholds ---------------------------------------------------------------------------
def test_threshold_bounds_are_inclusive_where_documented():
    """angle_threshold_deg in [0, 90] (both ends accepted), iou_threshold in [0, 1)."""
    same = match(GOOD, GT, angle_threshold_deg=0.0)  # 0° still accepts an identical angle
    assert same.success and same.angle_error_deg == 0.0
    assert not match([100.0, 100.0, math.radians(0.5), 40.0, 20.0], GT, angle_threshold_deg=0.0).success
    assert match([100.0, 100.0, math.radians(0.4), 40.0, 20.0], GT, angle_threshold_deg=0.5).success
    # 90° accepts every angle: a rectangle turned by 90° about the same centre overlaps (20 × 20 of 1200)
    turned = match([100.0, 100.0, math.pi / 2, 40.0, 20.0], GT, angle_threshold_deg=90.0)
    assert turned.success and turned.iou == pytest.approx(400.0 / 1200.0, abs=1e-12)
    assert evaluate([GT], [GT], angle_threshold_deg=90).angle_threshold_deg == 90.0
    assert evaluate([GT], [GT], iou_threshold=0.0).iou_threshold == 0.0


def test_iou_threshold_zero_still_needs_some_overlap():
    """The IoU test is strict even at 0: disjoint rectangles fail, any overlap passes."""
    assert not match(BAD, GT, iou_threshold=0.0).success
    sliver = match([139.0, 100.0, 0.0, 40.0, 20.0], GT, iou_threshold=0.0)  # 1 × 20 of 1580
    assert sliver.success and sliver.iou == pytest.approx(20.0 / 1580.0, abs=1e-12)


def test_iou_threshold_is_strict_at_an_exact_raster_value():
    """Raster IoUs are ratios of pixel counts, so one can sit exactly on the threshold."""
    a, b = square(5.0, 5.0), square(6.0, 5.0)  # 3 × 3 pixels each, 6 shared of 12
    assert iou_raster_pairs(a, b)[0] == 0.5
    assert not match(a[0], b, iou="raster", iou_threshold=0.5).success
    assert match(a[0], b, iou="raster", iou_threshold=0.49).success
    assert evaluate([a], [b], iou="raster", iou_threshold=0.5).top1 == 0.0


@pytest.mark.parametrize("value", ["wide", None, [30.0]])
def test_non_numbers_as_thresholds_name_the_argument(value):
    with pytest.raises(ValueError, match=r"^angle_threshold_deg must be a number of degrees in \[0, 90\], got "):
        match(GOOD, GT, angle_threshold_deg=value)
    with pytest.raises(ValueError, match=r"^iou_threshold must be a number in \[0, 1\), got "):
        match(GOOD, GT, iou_threshold=value)


# -- exact IoU ----------------------------------------------------------------------------
def test_exact_iou_of_rectangles_smaller_than_a_pixel():
    """Areas below 1 px² are rectangles like any other."""
    tiny = np.array([[3.0, 4.0, 0.3, 0.5, 0.5]])
    assert iou_exact_pairs(tiny, tiny)[0] == pytest.approx(1.0, abs=1e-12)
    a = np.array([[0.0, 0.0, 0.0, 1.0, 0.5]])
    b = np.array([[0.5, 0.0, 0.0, 1.0, 0.5]])  # 0.5 × 0.5 shared, union 0.75
    assert iou_exact_pairs(a, b)[0] == pytest.approx(1.0 / 3.0, abs=1e-12)
    big = np.array([[0.25, 0.0, 0.0, 1.5, 1.0]])  # contains a: 0.5 of 1.5
    assert iou_exact_pairs(a, big)[0] == pytest.approx(1.0 / 3.0, abs=1e-12)
    assert iou_exact_pairs(big, a)[0] == pytest.approx(1.0 / 3.0, abs=1e-12)


def test_exact_iou_shifted_along_the_jaw():
    """Half a jaw apart: 40 × 10 shared of 1200; a whole jaw apart: touching, 0."""
    assert iou_exact_pairs(R, moved(R, 10.0 * JAW))[0] == pytest.approx(400.0 / 1200.0, abs=1e-12)
    assert iou_exact_pairs(moved(R, 10.0 * JAW), R)[0] == pytest.approx(400.0 / 1200.0, abs=1e-12)
    assert iou_exact_pairs(R, moved(R, 20.0 * JAW))[0] == pytest.approx(0.0, abs=1e-9)
    assert iou_exact_pairs(R, moved(R, -20.0 * JAW))[0] == pytest.approx(0.0, abs=1e-9)
    # a quarter along both: 30 × 15 shared of 1600 - 450
    both = moved(R, 10.0 * CLOSING + 5.0 * JAW)
    assert iou_exact_pairs(R, both)[0] == pytest.approx(450.0 / 1150.0, abs=1e-12)


def test_exact_iou_of_shared_edges_far_from_the_origin():
    """Edges shared in part or in whole count once, also thousands of pixels from the origin,
    at any angle, with others in the same batch: slid by f of the opening (1 - f) / (1 + f),
    a thinner one inside along an edge its area ratio, touching 0."""
    rng = np.random.default_rng(13)
    n = 2000
    a = np.column_stack([rng.uniform(0, 5000, n), rng.uniform(0, 5000, n), rng.uniform(-1.6, 1.6, n),
                         rng.uniform(0.3, 300, n), rng.uniform(0.3, 300, n)])
    closing = np.column_stack([np.cos(a[:, 2]), -np.sin(a[:, 2])])
    jaw = np.column_stack([np.sin(a[:, 2]), np.cos(a[:, 2])])
    f = rng.uniform(0.05, 0.95, (n, 1))
    slid = a.copy()
    slid[:, :2] += closing * a[:, 3:4] * f
    expected = ((1 - f) / (1 + f))[:, 0]
    np.testing.assert_allclose(iou_exact_pairs(a, slid), expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(iou_exact_pairs(slid, a), expected, rtol=0, atol=1e-9)
    slid = a.copy()
    slid[:, :2] += jaw * a[:, 4:5] * f
    np.testing.assert_allclose(iou_exact_pairs(a, slid), expected, rtol=0, atol=1e-9)
    inner = a.copy()
    inner[:, 4:5] *= f
    inner[:, :2] += jaw * (a[:, 4:5] - inner[:, 4:5]) / 2
    np.testing.assert_allclose(iou_exact_pairs(a, inner), f[:, 0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(iou_exact_pairs(inner, a), f[:, 0], rtol=0, atol=1e-9)
    touching = a.copy()
    touching[:, :2] += closing * a[:, 3:4]
    np.testing.assert_allclose(iou_exact_pairs(a, touching), 0.0, rtol=0, atol=1e-9)


def test_exact_iou_emits_no_warning_for_axis_parallel_edges():
    """Edges parallel to the other rectangle's sides divide by zero inside; nothing reaches the user."""
    a = np.array([[10.0, 10.0, 0.0, 8.0, 4.0], [10.0, 10.0, 0.0, 8.0, 4.0], [10.0, 10.0, 0.3, 8.0, 4.0]])
    b = np.array([[14.0, 10.0, 0.0, 8.0, 4.0], [10.0, 13.0, math.pi / 2, 8.0, 4.0], [12.0, 11.0, 0.3, 8.0, 4.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = iou_exact_pairs(a, b)
    np.testing.assert_allclose(out, [16.0 / 48.0, 12.0 / 52.0, iou_exact_pairs(a[2:], b[2:])[0]], atol=1e-12)


def test_exact_iou_of_a_batch_larger_than_two_blocks():
    """Every pair of a batch is computed (here 91 × 91 = 8281 pairs, more than two blocks of 4096)."""
    rng = np.random.default_rng(11)
    a = np.column_stack([rng.uniform(0, 3, 91), rng.uniform(0, 3, 91), rng.uniform(-1.5, 1.5, 91),
                         rng.uniform(10, 20, 91), rng.uniform(10, 20, 91)])
    m = iou_exact(a, a)
    assert m.shape == (91, 91) and (m > 0.1).all()
    np.testing.assert_allclose(np.diag(m), 1.0, atol=1e-12)
    np.testing.assert_allclose(m[-1], iou_exact_pairs(np.repeat(a[-1:], 91, 0), a), atol=1e-15)


def test_ious_name_the_bad_argument():
    good = np.array([[10.0, 10.0, 0.0, 20.0, 8.0]])
    nan = np.array([[10.0, np.nan, 0.0, 20.0, 8.0]])
    for f in (iou_exact_pairs, iou_exact, iou_raster_pairs, iou_raster):
        with pytest.raises(ValueError, match=r"^a: rectangles must have shape"):
            f(np.zeros(4), good)
        with pytest.raises(ValueError, match=r"^b: rectangles must be finite"):
            f(good, nan)
        with pytest.raises(ValueError, match=r"^a: rectangle opening and jaw must be non-negative"):
            f(good * [1, 1, 1, -1, 1], good)


# -- raster IoU ---------------------------------------------------------------------------
def test_raster_iou_counts_exact_pixels_both_ways():
    """2 × 2 squares (3 × 3 pixel positions) two pixels apart share one column or row: 3 of 15."""
    a = square(5.0, 5.0)
    assert iou_raster_pairs(a, square(7.0, 5.0))[0] == 3.0 / 15.0
    assert iou_raster_pairs(square(7.0, 5.0), a)[0] == 3.0 / 15.0
    assert iou_raster_pairs(a, square(5.0, 7.0))[0] == 3.0 / 15.0
    assert iou_raster_pairs(square(5.0, 7.0), a)[0] == 3.0 / 15.0
    assert iou_raster_pairs(a, square(8.0, 5.0))[0] == 0.0
    # a 4 × 2 rectangle (5 × 3 positions) and a 2 × 2 square inside it: 9 of 15
    assert iou_raster_pairs(np.array([[6.0, 5.0, 0.0, 4.0, 2.0]]), a)[0] == 9.0 / 15.0


def test_raster_iou_of_a_single_pixel():
    """A rectangle covering exactly one pixel position has IoU 1 with itself, 1/9 with a 3 × 3 one."""
    dot = np.array([[5.0, 5.0, 0.0, 0.5, 0.5]])
    assert iou_raster_pairs(dot, dot)[0] == 1.0
    assert iou_raster_pairs(dot, square(5.0, 5.0))[0] == 1.0 / 9.0
    assert iou_raster(dot, np.vstack([dot, square(5.0, 5.0)])).tolist() == [[1.0, 1.0 / 9.0]]


def test_raster_iou_is_zero_when_no_pixel_is_covered():
    """Thin diagonal rectangles whose boxes hold pixel positions but that cover none: 0, no NaN, no warning."""
    thin = np.array([[u, 5.5, math.pi / 4, 2.0, 0.01] for u in (5.3, 5.4, 5.6, 5.7, 5.8)])  # u + v off the integers
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = iou_raster_pairs(thin, thin)
    assert out.tolist() == [0.0] * 5


def test_raster_iou_over_several_blocks_equals_pair_by_pair():
    """A batch larger than one block of pixel positions gives each pair's own IoU."""
    rng = np.random.default_rng(14)
    n = 150
    a = np.column_stack([rng.uniform(80, 120, n), rng.uniform(80, 120, n), rng.uniform(-1.6, 1.6, n),
                         rng.uniform(20, 100, n), rng.uniform(20, 100, n)])
    b = a + rng.normal(0, 1, (n, 5)) * [8, 8, 0.3, 5, 5]
    b[:, 3:] = np.abs(b[:, 3:])
    together = iou_raster_pairs(a, b)
    one_by_one = np.array([iou_raster_pairs(a[i:i + 1], b[i:i + 1])[0] for i in range(n)])
    np.testing.assert_array_equal(together, one_by_one)
    assert (together > 0.3).sum() > n // 2


def test_raster_iou_lengths():
    rng = np.random.default_rng(12)
    a = np.abs(rng.normal(20, 3, (7, 5)))
    b = np.abs(rng.normal(20, 3, (5, 5)))
    with pytest.raises(ValueError, match="as many rectangles"):
        iou_raster_pairs(a, b)
    m = iou_raster(a, b)
    assert m.shape == (7, 5)
    np.testing.assert_array_equal(m[2], iou_raster_pairs(np.repeat(a[2:3], 5, 0), b))


# -- evaluate -----------------------------------------------------------------------------
@pytest.mark.parametrize("top_k", [0, -1, True, 1.5, (1.5,), "5", (), (1, 0), (2, None)])
def test_bad_top_k_is_rejected(top_k):
    with pytest.raises(ValueError, match=r"^top_k must be positive integers \(one, or a sequence\), got "):
        evaluate([GT], [GT], top_k=top_k)


def test_top_k_integers_of_any_kind_sorted_and_deduplicated():
    report = evaluate([GT], [GT], top_k=(np.int64(5), 1, 5))
    assert list(report.topk) == [1, 5] and report.topk == {1: 1.0, 5: 1.0}
    assert list(evaluate([GT], [GT], top_k=np.int32(3)).topk) == [3]


def test_evaluate_names_the_bad_argument_after_stacking():
    with pytest.raises(ValueError, match=r"^predictions: rectangles must be finite"):
        evaluate([np.array([GOOD]), np.array([[1.0, np.nan, 0.0, 2.0, 2.0]])], [GT, GT])
    with pytest.raises(ValueError, match=r"^ground_truth: rectangle opening and jaw must be non-negative"):
        evaluate([GT], [np.array([[1.0, 1.0, 0.0, 2.0, -2.0]])])
    with pytest.raises(ValueError, match=r"^predictions\[0\] must have shape \(K, 5 or 6\), got \(2, 3\)$"):
        evaluate([np.zeros((2, 3))], [GT])
    with pytest.raises(ValueError, match=r"^ground_truth\[1\] must have shape \(K, 5\), got \(1, 1, 5\)$"):
        evaluate([GT, GT], [GT, GT[None]])


def test_evaluate_accepts_single_rectangles_as_entries():
    """A (5,) or (6,) entry is one prediction or one ground truth."""
    report = evaluate([np.array(GOOD), np.array(BAD)], [np.array(GOOD), np.array(GOOD)])
    assert report.top1_success.tolist() == [True, False]
    assert evaluate([np.array(GOOD + [0.5])], [GT]).top1 == 1.0


def test_evaluate_ranks_unsigned_integer_scores():
    """Scores are ranked by value whatever their dtype: uint8 scores 0, 7 and 3 rank 7, 3, 0."""
    good, bad = [50, 50, 0, 40, 20], [200, 200, 0, 40, 20]
    rows = np.array([bad + [0], good + [7], bad + [3]], dtype=np.uint8)
    gt = np.array([good], dtype=float)
    report = evaluate([rows], [gt], top_k=(1, 2))
    assert report.top1 == 1.0 and report.top1_iou[0] == pytest.approx(1.0)
    rows[1, 5] = 0  # the good one ties at the bottom, after the first row (ties keep their order)
    report = evaluate([rows], [gt], top_k=(1, 2, 3))
    assert report.topk == {1: 0.0, 2: 0.0, 3: 1.0}


def test_report_holds_the_settings_and_boolean_successes():
    a, b = square(5.0, 5.0), square(6.0, 5.0)
    report = evaluate([a, np.zeros((0, 5))], [b, b], angle_threshold_deg=45, iou_threshold=0.4, iou="raster")
    assert report.angle_threshold_deg == 45.0 and isinstance(report.angle_threshold_deg, float)
    assert report.iou_threshold == 0.4 and report.iou_method == "raster"
    assert report.top1_success.dtype == np.bool_ and report.top1_success.tolist() == [True, False]
    assert report.top1_iou[0] == 0.5 and math.isnan(report.top1_iou[1])
    d = report.to_dict()
    assert (d["angle_threshold_deg"], d["iou_threshold"], d["iou_method"]) == (45.0, 0.4, "raster")


def test_empty_evaluation_gives_nan_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = evaluate([], [], top_k=(1, 3))
    assert report.n == 0 and math.isnan(report.top1)
    assert list(report.topk) == [1, 3] and all(math.isnan(v) for v in report.topk.values())
    assert report.top1_success.dtype == np.bool_ and report.top1_success.shape == (0,)


# -- mask IoU -----------------------------------------------------------------------------
def test_pick_threshold():
    assert PICK_IOU == 0.5


def test_mask_iou_values():
    a = np.zeros((4, 5), dtype=bool)
    b = np.zeros((4, 5), dtype=bool)
    a[0:2, 0:3] = True  # 6 pixels
    b[1:3, 1:4] = True  # 6 pixels, 2 shared
    assert mask_iou(a, b) == 2.0 / 10.0 and mask_iou(b, a) == 2.0 / 10.0
    assert mask_iou(a, a) == 1.0
    assert mask_iou(a, ~a) == 0.0
    assert mask_iou(a, np.zeros_like(a)) == 0.0
    assert isinstance(mask_iou(a, b), float)


def test_mask_iou_of_two_empty_masks_is_zero():
    assert mask_iou(np.zeros((3, 3), bool), np.zeros((3, 3), bool)) == 0.0


def test_mask_iou_reads_any_nonzero_value_as_inside():
    """Label images (any non-zero value) and 0/1 float masks count like boolean masks."""
    labels = np.array([[0, 2, 2], [0, 2, 0]])  # object id 2
    other = np.array([[0, 4, 0], [4, 4, 0]], dtype=np.uint8)  # object id 4
    floats = np.array([[0.0, 1.0, 1.0], [0.0, 1.0, 0.0]])
    assert mask_iou(labels, other) == 2.0 / 4.0
    assert mask_iou(other, labels) == 2.0 / 4.0
    assert mask_iou(labels, floats) == 1.0 and mask_iou(floats, labels) == 1.0
    assert mask_iou([[1, 0], [0, 0]], [[True, False], [False, True]]) == 0.5


def test_mask_iou_rejects_different_shapes():
    with pytest.raises(ValueError, match=r"^masks of shapes \(2, 3\) and \(3, 2\) cannot be compared$"):
        mask_iou(np.ones((2, 3)), np.ones((3, 2)))

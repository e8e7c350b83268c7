"""GraspSAM map decoding (policies/graspsam/decoding.py): each documented step checked on
constructed maps with known answers (written for the survivors of the module's mutation run,
docs/tests.md "Mutation testing")."""

from __future__ import annotations

import math

import numpy as np
import pytest

from graspsim.policies.graspsam.decoding import decode_grasps, effective_min_distance


def gaussian_reference(a, sigma):
    """A Gaussian blur written out in float64 numpy: kernel radius ceil(4σ) (the documented kernel
    2·ceil(4σ) + 1, which is scikit-image's ``gaussian`` truncation for σ = 1 and 2), border replicated
    (scikit-image's ``mode="nearest"``)."""
    r = int(math.ceil(4.0 * sigma))
    x = np.arange(-r, r + 1)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    k /= k.sum()
    p = np.pad(np.asarray(a, np.float64), r, mode="edge")
    rows = np.stack([np.convolve(row, k, mode="valid") for row in p])
    return np.stack([np.convolve(col, k, mode="valid") for col in rows.T]).T


def flat(shape=(24, 24)):
    """Plain maps: quality 0, angle 0 (cos 2θ = 1), width 0.5."""
    z = np.zeros(shape, np.float32)
    return z.copy(), np.ones(shape, np.float32), z.copy(), np.full(shape, 0.5, np.float32)


def plain(q, c=None, s=None, w=None, **kw):
    """Decode without blur and with the peak spacing in pixels (min_distance as given)."""
    _, c0, s0, w0 = flat(q.shape)
    kw.setdefault("width_scale", 1.0)
    kw.setdefault("blur", False)
    kw.setdefault("reference_size", None)
    return decode_grasps(q, c0 if c is None else c, s0 if s is None else s, w0 if w is None else w, **kw)


def random_maps(shape=(40, 40), seed=3):
    rng = np.random.default_rng(seed)
    q = (0.01 * rng.random(shape)).astype(np.float32)
    c = rng.uniform(-1, 1, shape).astype(np.float32)
    s = rng.uniform(-1, 1, shape).astype(np.float32)
    w = rng.random(shape).astype(np.float32)
    return q, c, s, w


# -- step 1: the blur ---------------------------------------------------------------------
@pytest.mark.parametrize("peak", [(20, 17), (0, 0)], ids=["inside", "corner"])
def test_blur_is_scikit_images_gaussian_with_a_replicated_border(peak):
    """Quality, cos 2θ, sin 2θ (σ = 2) and width (σ = 1) are blurred exactly as scikit-image's
    ``gaussian`` (truncated at 4σ, border replicated): the decoded row equals the one read off
    reference-blurred maps, for a peak inside the map and one on its corner (where the border
    rule decides the score)."""
    q, c, s, w = random_maps()
    q[peak] += 10.0
    g = decode_grasps(q, c, s, w, width_scale=80.0, top_k=1)
    rq, rc, rs, rw = gaussian_reference(q, 2.0), gaussian_reference(c, 2.0), gaussian_reference(s, 2.0), gaussian_reference(w, 1.0)
    row, col = np.unravel_index(int(np.argmax(rq)), rq.shape)
    assert (row, col) == peak
    assert g.shape == (1, 6)
    np.testing.assert_allclose(g[0, :2], [col, row])
    np.testing.assert_allclose(g[0, 2], 0.5 * math.atan2(rs[row, col], rc[row, col]), rtol=0, atol=2e-6)
    np.testing.assert_allclose(g[0, 3], 80.0 * rw[row, col], rtol=1e-6)
    assert g[0, 4] == 0.0  # jaw defaults to 0
    np.testing.assert_allclose(g[0, 5], rq[row, col], rtol=1e-6)


def test_blur_sigmas_are_parameters():
    """Other σ, with the same kernel rule (σ = 1.05: radius ceil(4.2) = 5, where OpenCV's own choice from σ
    alone would be 4)."""
    q, c, s, w = random_maps(seed=5)
    q[15, 22] += 10.0
    g = decode_grasps(q, c, s, w, width_scale=1.0, top_k=1, sigma_quality=1.05, sigma_angle=3.0, sigma_width=2.5)
    rq, rc, rs, rw = gaussian_reference(q, 1.05), gaussian_reference(c, 3.0), gaussian_reference(s, 3.0), gaussian_reference(w, 2.5)
    np.testing.assert_allclose(g[0, :2], [22, 15])
    np.testing.assert_allclose(g[0, 2], 0.5 * math.atan2(rs[15, 22], rc[15, 22]), atol=2e-6)
    np.testing.assert_allclose(g[0, 3], rw[15, 22], rtol=1e-6)
    np.testing.assert_allclose(g[0, 5], rq[15, 22], rtol=1e-6)


def test_decoding_is_float32_whatever_the_input_dtype():
    """The maps are decoded in float32 (the model's precision): a float64 map gives exactly the rows of
    its float32 cast, and the scores are float32 values of the blurred quality."""
    q, c, s, w = random_maps(seed=7)
    q[10, 12] += 20.0
    q[30, 31] += 15.0
    q64, c64, s64, w64 = (a.astype(np.float64) + 1e-9 for a in (q, c, s, w))
    g32 = decode_grasps(*(a.astype(np.float32) for a in (q64, c64, s64, w64)), width_scale=10.0)
    g64 = decode_grasps(q64, c64, s64, w64, width_scale=10.0)
    assert len(g32) == 2
    np.testing.assert_array_equal(g64, g32)
    assert all(float(np.float32(v)) == v for v in g64[:, 5])


# -- inputs: torch tensors, leading dimensions, errors --------------------------------------
def test_torch_tensors_with_gradients_and_half_precision_are_read():
    torch = pytest.importorskip("torch")
    q, c, s, w = random_maps(seed=9)
    q[8, 9] += 20.0
    ref = decode_grasps(q, c, s, w, width_scale=2.0)
    tensors = [torch.tensor(a, requires_grad=True) for a in (q, c, s, w)]
    np.testing.assert_array_equal(decode_grasps(*tensors, width_scale=2.0), ref)
    half = [torch.tensor(a).to(torch.bfloat16)[None, None] for a in (q, c, s, w)]
    g = decode_grasps(*half, width_scale=2.0)  # (1, 1, H, W) bfloat16: converted to float32
    assert len(g) == len(ref)
    np.testing.assert_allclose(g[:, :2], ref[:, :2])


def test_a_one_row_map_is_a_map_not_a_leading_dimension():
    q = np.zeros((1, 30), np.float32)
    q[0, 4], q[0, 20] = 0.9, 0.7
    c, s, w = np.ones_like(q), np.zeros_like(q), np.full_like(q, 0.25)
    g = decode_grasps(q, c, s, w, width_scale=4.0, blur=False, min_distance=3, reference_size=None)
    np.testing.assert_allclose(g, [[4, 0, 0, 1.0, 0, 0.9], [20, 0, 0, 1.0, 0, 0.7]], rtol=1e-6)


@pytest.mark.parametrize("bad", ["quality", "cos2", "sin2", "width", "mask"])
def test_a_map_that_is_not_2d_is_named_with_its_shape(bad):
    maps = dict(zip(("quality", "cos2", "sin2", "width"), flat()))
    maps["mask"] = np.ones((24, 24))
    maps[bad] = np.zeros((2, 24, 24), np.float32)
    with pytest.raises(ValueError, match=rf"decode_grasps: {bad} must be a 2-D \(H, W\) map, got shape \(2, 24, 24\)"):
        decode_grasps(**maps, width_scale=1.0)


@pytest.mark.parametrize("bad", ["cos2", "sin2", "width", "mask"])
def test_a_map_of_another_size_is_named(bad):
    maps = dict(zip(("quality", "cos2", "sin2", "width"), flat()))
    maps["mask"] = np.ones((24, 24))
    maps[bad] = np.zeros((24, 23), np.float32)
    with pytest.raises(ValueError, match=rf"decode_grasps: {bad} has shape \(24, 23\), quality has \(24, 24\)"):
        decode_grasps(**maps, width_scale=1.0)


def test_top_k_and_width_scale_errors_and_top_k_zero():
    q, c, s, w = flat()
    q[5, 5] = 1.0
    with pytest.raises(ValueError, match="decode_grasps: top_k must be >= 0, got -1"):
        decode_grasps(q, c, s, w, width_scale=1.0, top_k=-1)
    with pytest.raises(ValueError, match="decode_grasps: width_scale must be finite, got nan"):
        decode_grasps(q, c, s, w, width_scale=math.nan)
    g = decode_grasps(q, c, s, w, width_scale=1.0, top_k=0)
    assert g.shape == (0, 6) and g.dtype == np.float64


# -- defaults ------------------------------------------------------------------------------
def test_defaults_top_5_and_min_distance_20_at_256():
    """Default top_k is 5 and default min_distance 20 px at GraspSAM's 256 x 256 output."""
    q, c, s, w = flat((256, 256))
    for k in range(7):  # seven isolated peaks, 30 px apart
        q[20 + 30 * k, 30] = 25.0 - k
    assert len(decode_grasps(q, c, s, w, width_scale=1.0)) == 5
    q, c, s, w = flat((256, 256))
    q[100, 100], q[100, 121], q[200, 100], q[200, 120] = 25.0, 24.0, 25.0, 24.0
    g = decode_grasps(q, c, s, w, width_scale=1.0)
    # 21 px apart: two grasps; 20 px apart: the weaker one is within the spacing
    assert sorted(map(tuple, g[:, :2].astype(int).tolist())) == [(100, 100), (100, 200), (121, 100)]


def test_effective_min_distance_is_at_least_one_pixel():
    assert effective_min_distance(0.4, (256, 256)) == 1
    assert effective_min_distance(0.4, (256, 256), reference_size=None) == 1
    assert effective_min_distance(1.4, (64, 64), reference_size=None) == 1
    assert effective_min_distance(2.6, (64, 64), reference_size=None) == 3
    assert effective_min_distance(6, (64, 128)) == 3  # the longest side sets the scale
    # one-pixel spacing: peaks two pixels apart are both found
    q = np.zeros((9, 9), np.float32)
    q[4, 2], q[4, 4] = 0.9, 0.8
    assert len(plain(q, min_distance=0.4)) == 2


# -- step 2: non-finite values and the mask --------------------------------------------------
def test_non_finite_quality_is_never_a_peak_even_below_every_logit():
    """Without blur a NaN or infinite quality is never a grasp, even when the threshold is below every
    value (logit maps are negative)."""
    q = np.full((12, 12), -5.0, np.float32)
    q[3, 3], q[8, 8] = np.nan, np.inf
    q[3, 9] = -4.0
    g = plain(q, threshold=-100.0, min_distance=20)  # one window covers the map: its maximum
    np.testing.assert_array_equal(g, [[9, 3, 0, 0.5, 0, -4.0]])


def test_non_finite_quality_does_not_spread_through_the_blur():
    """With blur a NaN / ±inf quality counts as 0: the peak beside it keeps the score of the map with 0 there."""
    for bad in (np.nan, np.inf, -np.inf):
        q, c, s, w = flat((32, 32))
        q[16, 16] = 20.0
        q[16, 18] = bad
        g = decode_grasps(q, c, s, w, width_scale=1.0, top_k=1)
        zero = q.copy()
        zero[16, 18] = 0.0
        assert g.shape == (1, 6)
        np.testing.assert_allclose(g[0, [0, 1, 5]], [16, 16, gaussian_reference(zero, 2.0)[16, 16]], rtol=1e-6)


def test_non_finite_angle_and_width_read_as_zero():
    q, c, s, w = flat((12, 30))
    for k, bad in enumerate((np.nan, np.inf, -np.inf)):
        q[6, 5 + 10 * k] = 0.9 - 0.1 * k
        c[6, 5 + 10 * k] = bad
        s[6, 5 + 10 * k] = bad
        w[6, 5 + 10 * k] = bad
    g = plain(q, c, s, w, width_scale=10.0, min_distance=2)
    np.testing.assert_array_equal(g[:, :2], [[5, 6], [15, 6], [25, 6]])
    np.testing.assert_array_equal(g[:, 2:4], 0.0)  # atan2(0, 0) / 2 = 0, opening 0


# -- step 3: peaks -------------------------------------------------------------------------
DIRECTIONS = [(1, 0), (-1, 0), (0, 1), (0, -1)]


@pytest.mark.parametrize("dr, dc", DIRECTIONS)
def test_a_peak_must_be_the_maximum_of_its_2d_plus_1_window(dr, dc):
    """peak_local_max semantics, d = 3: a pixel with a higher one exactly d away is no peak, even when that
    higher one is itself no peak (so greedy suppression alone would keep the third of a descending chain);
    a pixel d + 1 away from a higher one is a peak of its own."""
    d = 3
    chain = np.zeros((25, 25), np.float32)
    for k, value in enumerate((0.9, 0.8, 0.7)):
        chain[12 + k * d * dr, 12 + k * d * dc] = value
    g = plain(chain, min_distance=d)
    np.testing.assert_array_equal(g[:, :2], [[12, 12]])
    apart = np.zeros((25, 25), np.float32)
    apart[12, 12], apart[12 + (d + 1) * dr, 12 + (d + 1) * dc] = 0.9, 0.8
    g = plain(apart, min_distance=d)
    np.testing.assert_array_equal(g[:, :2], [[12, 12], [12 + (d + 1) * dc, 12 + (d + 1) * dr]])


@pytest.mark.parametrize("dr, dc", [(3, 0), (0, 3), (3, 3), (3, -3)])
def test_equal_peaks_exactly_d_apart_are_one_grasp(dr, dc):
    """Two equal peaks (both window maxima) within Chebyshev distance d are one grasp; ties go to the lower
    row-major index. Their centroid lies on a lower pixel, so the grasp is the peak pixel itself."""
    q = np.zeros((20, 20), np.float32)
    q[8, 8], q[8 + dr, 8 + dc] = 0.6, 0.6
    g = plain(q, min_distance=3)
    first = min((8, 8), (8 + dr, 8 + dc))
    np.testing.assert_array_equal(g, [[first[1], first[0], 0, 0.5, 0, np.float32(0.6)]])


def test_equal_peaks_far_apart_are_two_grasps_at_their_own_pixels():
    q = np.zeros((20, 20), np.float32)
    q[4, 4], q[15, 13] = 0.6, 0.6
    g = plain(q, min_distance=3)
    np.testing.assert_array_equal(g[:, :2], [[4, 4], [13, 15]])


def test_threshold_is_strict():
    q = np.zeros((9, 9), np.float32)
    q[4, 4] = 0.5
    assert plain(q, threshold=0.5).shape == (0, 6)
    assert plain(q, threshold=0.4999).shape == (1, 6)


def test_tie_tolerance_is_relative_to_the_map_scale():
    """Values within a relative 1e-5 of the map's maximum are one flat top (here quality in the
    thousands: 4e-3 apart is a tie, 1.2e-2 apart is not)."""
    q = np.zeros((12, 12), np.float32)
    q[5, 5], q[5, 6] = 1000.0, 1000.004
    q[9, 2], q[9, 3] = 400.0, 400.012
    g = plain(q, min_distance=1, threshold=100.0)
    np.testing.assert_allclose(g[:, :2], [[5.5, 5], [3, 9]])


def test_small_values_tie_within_an_absolute_1e_5():
    """Below 1 the tolerance is 1e-5 absolute: 5e-6 apart is a tie, 1.5e-5 apart is not."""
    q = np.zeros((12, 12), np.float32)
    q[2, 5], q[2, 6] = 0.5, 0.5 + 5e-6
    q[8, 5], q[8, 6] = 0.5, 0.5 + 1.5e-5
    g = plain(q, min_distance=2)
    np.testing.assert_allclose(g[:, :2], [[6, 8], [5.5, 2]])


def test_the_tie_tolerance_is_inclusive():
    """A value exactly the tolerance below the maximum still ties: at 100000 the tolerance is exactly 1.0,
    so 99999 beside 100000 is one flat top, and its centre (rounded onto the 99999 pixel) is kept."""
    q = np.zeros((9, 12), np.float32)
    q[4, 5], q[4, 6] = 100000.0, 99999.0
    np.testing.assert_array_equal(plain(q, min_distance=3)[:, :2], [[5.5, 4]])
    q[4, 6] = 99998.0
    np.testing.assert_array_equal(plain(q, min_distance=3)[:, :2], [[5, 4]])


# -- step 4: grasps at flat tops -------------------------------------------------------------
def test_a_flat_top_is_one_grasp_at_its_centroid():
    """A plateau of tied pixels (as a wide blurred target gives) is one grasp at the mean of its pixels,
    read at the rounded centre; a separate peak elsewhere does not pull it."""
    q, c, s, w = flat((20, 20))
    q[4:6, 10:13] = 0.8  # 2 x 3 plateau: centre (u, v) = (11, 4.5)
    s[4, 11], c[4, 11] = 1.0, 0.0  # the angle read at round(4.5) = 4 (banker's rounding), column 11
    w[4, 11] = 0.3
    q[15, 3] = 0.8  # an equal peak far away
    g = plain(q, c, s, w, min_distance=3)
    np.testing.assert_allclose(g, [[11, 4.5, math.pi / 4, 0.3, 0, 0.8], [3, 15, 0, 0.5, 0, 0.8]], rtol=1e-6)


def test_a_non_convex_flat_top_falls_back_to_its_peak_pixel():
    """Two tied pixels with a lower one between them: the centroid is not on the plateau, so the grasp is
    at the first tied pixel."""
    q = np.zeros((11, 11), np.float32)
    q[5, 3], q[5, 4], q[5, 5] = 0.9, 0.5, 0.9
    g = plain(q, min_distance=3)
    np.testing.assert_array_equal(g[:, :2], [[3, 5]])


def test_a_flat_top_cut_by_the_mask_falls_back_to_its_peak_pixel():
    q = np.zeros((11, 11), np.float32)
    q[5, 3:6] = 0.9
    mask = np.ones((11, 11), bool)
    mask[5, 4] = False
    g = plain(q, mask=mask, min_distance=3)
    np.testing.assert_array_equal(g[:, :2], [[3, 5]])
    np.testing.assert_array_equal(plain(q, min_distance=3)[:, :2], [[4, 5]])

"""GraspSAM training targets (policies/graspsam/targets.py): the quality support's exact pixels, its
corners, the fixed-point limits and the resize rule on constructed rectangles (written for the
survivors of the module's mutation run, docs/tests.md "Mutation testing")."""

from __future__ import annotations

import math

import numpy as np
import pytest

from graspsim.policies.graspsam.targets import centre_third_corners, grasp_targets, resize_rects, support_map


def test_centre_third_corners_shrink_the_opening_only():
    """Closing along +u (angle 0): a third of the 30 px opening (10 px) by the full 6 px jaw, same centre;
    at angle π/2 the closing line is along -v."""
    corners = centre_third_corners([[10.0, 20.0, 0.0, 30.0, 6.0], [10.0, 20.0, math.pi / 2, 30.0, 6.0]])
    assert corners.shape == (2, 4, 2)
    assert sorted(map(tuple, np.round(corners[0], 9).tolist())) == [(5, 17), (5, 23), (15, 17), (15, 23)]
    assert sorted(map(tuple, np.round(corners[1], 9).tolist())) == [(7, 15), (7, 25), (13, 15), (13, 25)]
    with pytest.raises(ValueError, match="rectangles must have shape"):
        centre_third_corners([[1.0, 2.0, 3.0]])


@pytest.mark.parametrize("rect, pixels, box", [
    ([10, 10, 0.0, 15, 5], 25, (8, 8, 12, 12)),  # a 5 x 5 px centre third fills exactly 25 pixels
    ([10, 10, 0.0, 30, 3], 30, (9, 6, 11, 15)),  # 10 px along u by 3 px of jaw (OpenCV keeps the far edge)
    ([10, 10, math.pi / 2, 30, 3], 30, (6, 9, 15, 11)),  # the same turned a quarter
    ([10, 10, 0.0, 0, 0], 1, (10, 10, 10, 10)),  # zero-size: one pixel, never nothing
    ([10, 10, 0.0, 0, 9], 9, (6, 10, 14, 10)),  # zero opening: a one-pixel line along the jaw
    ([10, 10, 0.0, 9, 0], 3, (10, 9, 10, 11)),  # zero jaw: a one-pixel line along the closing line
])
def test_support_pixels_match_the_centre_thirds_area(rect, pixels, box):
    """The support polygon is shrunk by half a pixel per side for OpenCV's inclusive fill, so the filled
    pixel count is the centre third's area (box: first row, first column, last row, last column)."""
    m = support_map([rect], (21, 21))
    assert m.dtype == np.float32 and m.shape == (21, 21) and set(np.unique(m)) <= {0.0, 1.0}
    filled = np.argwhere(m > 0)
    assert len(filled) == pixels
    assert (*filled.min(0), *filled.max(0)) == box
    np.testing.assert_array_equal(grasp_targets([rect], (21, 21), 10.0)["quality"], m)


def test_support_map_of_no_rectangle_and_errors_name_the_caller():
    assert not support_map(np.zeros((0, 5)), (4, 6)).any() and support_map(np.zeros((0, 5)), (4, 6)).shape == (4, 6)
    with pytest.raises(ValueError, match="^support_map: rectangles must have shape"):
        support_map([[1.0, 2.0]], (4, 6))
    with pytest.raises(ValueError, match="^grasp_targets: rectangles must have shape"):
        grasp_targets([[1.0, 2.0]], (4, 6), 1.0)
    with pytest.raises(ValueError, match="^grasp_targets: rectangle opening and jaw must be non-negative"):
        grasp_targets([[1.0, 2.0, 0.0, -3.0, 1.0]], (4, 6), 1.0)


@pytest.mark.parametrize("angle", [0.0, math.pi / 2])
def test_a_rectangle_far_larger_than_int32_fixed_point_still_fills_its_band(angle):
    """Corners a billion pixels away are clipped before the 1/16-pixel fixed point (int32), so a huge
    opening still fills its whole 10 px band across the map, on both sides of the centre."""
    m = support_map([[32.0, 32.0, angle, 1e9, 10.0]], (64, 64))
    band = m if angle == 0.0 else m.T
    assert m.sum() == 64 * 10
    assert band[28:38].all() and not band[:28].any() and not band[38:].any()


def test_resize_tolerates_a_rounding_of_the_map_size_only():
    """Isotropic within a relative 1e-6 of the larger factor: a 4x upscale off by 2e-6 (relative 5e-7) is
    accepted, off by 8e-6 (relative 2e-6) is not."""
    r = resize_rects([[1.5, 2.5, 0.25, 4.0, 2.0]], (500000, 500000), (2000000, 2000001))
    np.testing.assert_allclose(r[0], [(1.5 + 0.5) * 4.000002 - 0.5, (2.5 + 0.5) * 4.000002 - 0.5, 0.25, 16.000008, 8.000004])
    with pytest.raises(ValueError, match="not isotropic"):
        resize_rects([[1.5, 2.5, 0.25, 4.0, 2.0]], (500000, 500000), (2000000, 2000004))

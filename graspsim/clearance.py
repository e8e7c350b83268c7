"""Cheap geometric checks of a top-down grasp against a height map.

Shared by the analytic policy and the candidate filter of the simulated-trial
labeller, so both judge "will the fingers and the palm fit" the same way.
Heights are metres above the table (NaN where depth is missing is treated as
the table); image directions ``d`` (closing line) and ``n`` (jaw) are unit
vectors in (u, v) pixels.
"""

from __future__ import annotations

import math

import numpy as np

from graspsim.grasp import MIN_TCP_Z, surface_depth, tcp_height
from graspsim.gripper import FINGER_LENGTH, FINGER_THICKNESS, FINGER_WIDTH, PALM_HALF

MARGIN_M = 0.006  # free space a grasp leaves on each side of the object (policies and labels)
FINGER_TOLERANCE_M = 0.002  # a finger footprint may be this much higher than the fingertips
PALM_TOLERANCE_M = 0.003  # the palm must clear its footprint by this much


def heights_above_table(depth: np.ndarray, intrinsics: np.ndarray, extrinsics: np.ndarray) -> np.ndarray:
    """World z (metres) of every pixel; NaN where depth is missing."""
    h, w = depth.shape
    k = np.asarray(intrinsics, np.float64)
    t = np.asarray(extrinsics, np.float64)
    ray_u = (np.arange(w) - k[0, 2]) / k[0, 0]
    ray_v = (np.arange(h) - k[1, 2]) / k[1, 1]
    z = depth.astype(np.float64) * (t[2, 0] * ray_u[None, :] + t[2, 1] * ray_v[:, None] + t[2, 2]) + t[2, 3]
    z[~(depth > 0)] = np.nan
    return z


def closing_axes(angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Unit closing direction d and jaw direction n in (u, v) for an image angle (radians)."""
    d = np.array([math.cos(angle), -math.sin(angle)])
    return d, np.array([-d[1], d[0]])


def footprint_max(hz: np.ndarray, u, v, d, n, along, across) -> float:
    """Highest height at the grid of points (u, v) + along * d + across * n (pixels)."""
    h, w = hz.shape
    pts_u = u + d[0] * along[:, None] + n[0] * across[None, :]
    pts_v = v + d[1] * along[:, None] + n[1] * across[None, :]
    iu = np.clip(np.round(pts_u).astype(int), 0, w - 1)
    iv = np.clip(np.round(pts_v).astype(int), 0, h - 1)
    return float(hz[iv, iu].max())


def palm_clear(hz, u, v, d, n, px_per_m: float, z_tcp: float) -> bool:
    """Everything under the palm's footprint is lower than the palm."""
    along = np.linspace(-PALM_HALF[0], PALM_HALF[0], 15) * px_per_m
    across = np.linspace(-PALM_HALF[1], PALM_HALF[1], 5) * px_per_m
    return footprint_max(hz, u, v, d, n, along, across) < z_tcp + FINGER_LENGTH - PALM_TOLERANCE_M


def fingers_clear(hz, u, v, d, n, opening_px: float, px_per_m: float, z_tcp: float) -> bool:
    """Both finger footprints (just outside ``opening_px``) lie below the fingertips."""
    finger_px, jaw_px = FINGER_THICKNESS * px_per_m, FINGER_WIDTH * px_per_m
    along = opening_px / 2 - 1 + np.linspace(0, finger_px, 4)
    across = np.linspace(-jaw_px / 2, jaw_px / 2, 5)
    return all(footprint_max(hz, u, v, d, n, side * along, across) <= z_tcp + FINGER_TOLERANCE_M for side in (-1, 1))


def executed_tcp_z(depth: np.ndarray, u: float, v: float, camera_height: float) -> float:
    """The TCP height the environment will use for a grasp centred at (u, v) (see graspsim.grasp)."""
    try:
        return tcp_height(camera_height - surface_depth(depth, u, v))
    except ValueError:
        return MIN_TCP_Z


def _tcp_scale(depth: np.ndarray, intrinsics, extrinsics, u: float, v: float) -> tuple[float, float]:
    """(TCP height the environment will use at (u, v), image pixels per metre at that depth)."""
    camera_height = float(np.asarray(extrinsics, np.float64)[2, 3])
    z_tcp = executed_tcp_z(depth, u, v, camera_height)
    return z_tcp, float(np.asarray(intrinsics, np.float64)[0, 0]) / (camera_height - z_tcp)


def fit_to_mask(mask: np.ndarray, depth: np.ndarray, intrinsics: np.ndarray, extrinsics: np.ndarray,
                u: float, v: float, angle: float, opening_px: float) -> tuple[float, float, float]:
    """Centre and opening of a grasp refitted to the object's mask (bool H×W).

    The mask pixels within a finger-wide band along the closing line through
    (u, v) give the object's extent there; the grasp is re-centred on it and
    opened to at least that extent plus ``MARGIN_M`` on each side (at the
    scale of the TCP depth the environment will use). Returns
    ``(u, v, opening_px)``, unchanged when the band holds no mask pixel.
    """
    vs, us = np.nonzero(mask)
    if len(us) == 0:
        return u, v, opening_px
    _, px_per_m = _tcp_scale(depth, intrinsics, extrinsics, u, v)
    d, n = closing_axes(angle)
    along = (us - u) * d[0] + (vs - v) * d[1]
    band = np.abs((us - u) * n[0] + (vs - v) * n[1]) <= FINGER_WIDTH * px_per_m / 2
    if not band.any():
        return u, v, opening_px
    lo, hi = float(along[band].min()), float(along[band].max())
    mid = (lo + hi) / 2
    h, w = mask.shape
    cu, cv = float(np.clip(u + d[0] * mid, 0, w - 1)), float(np.clip(v + d[1] * mid, 0, h - 1))
    return cu, cv, max(float(opening_px), (hi - lo + 1) + 2 * MARGIN_M * px_per_m)


def grasp_clear(heights: np.ndarray, depth: np.ndarray, intrinsics: np.ndarray, extrinsics: np.ndarray,
                u: float, v: float, angle: float, opening_px: float) -> bool:
    """Whether the fingers (opened as the executor opens them) and the palm clear the
    height map for a grasp centred at (u, v) with ``opening_px`` (image pixels).
    ``heights``: :func:`heights_above_table` of ``depth`` with missing depth (NaN) set
    to 0, the table (computed once per image, for all the grasps tried on it)."""
    from graspsim.executor import OPENING_CLEARANCE

    z_tcp, px_per_m = _tcp_scale(depth, intrinsics, extrinsics, u, v)
    d, n = closing_axes(angle)
    executed = opening_px + OPENING_CLEARANCE * px_per_m
    return (fingers_clear(heights, u, v, d, n, executed, px_per_m, z_tcp)
            and palm_clear(heights, u, v, d, n, px_per_m, z_tcp))

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

FINGER_TOLERANCE_M = 0.002  # a finger footprint may be this much higher than the fingertips
PALM_TOLERANCE_M = 0.003  # the palm must clear its footprint by this much


def heights_above_table(depth: np.ndarray, intrinsics: np.ndarray, extrinsics: np.ndarray) -> np.ndarray:
    """World z (metres) of every pixel; NaN where depth is missing."""
    h, w = depth.shape
    vs, us = np.mgrid[0:h, 0:w]
    k = np.asarray(intrinsics, np.float64)
    rays = np.stack([(us - k[0, 2]) / k[0, 0], (vs - k[1, 2]) / k[1, 1], np.ones_like(depth, float)], -1)
    t = np.asarray(extrinsics, np.float64)
    z = (rays * depth[..., None]) @ t[2, :3] + t[2, 3]
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

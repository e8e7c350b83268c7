"""Depth as GraspSAM sees it: height above the table (variants that use depth, ``tiny_rgbd``).

A depth-using variant takes, besides the RGB image, the **height of every
pixel's surface above the table in metres** (``B×H×W``, same frame and size as
the image; 0 where depth is missing). Heights rather than raw depth, because
heights do not change when the camera is raised or lowered (the randomised
appearance moves the camera per scene) or with the table's distance in other
data sets, while raw depth does: the same object at the same place gives the
same input. Inside the model (:meth:`.model.GraspSAM.preprocess_heights`)
they are divided by :data:`HEIGHT_SCALE_M` and clipped to
``[0, HEIGHT_CLIP]``, a fixed scale (no per-image statistics), so 1.0 is
10 cm above the table and anything above 40 cm (nothing on our tables) reads
as 4.

Where the heights come from:

* With the camera (our ``sim`` data sets: ``sample.meta["camera"]`` holds each
  scene's ``intrinsics`` and ``extrinsics``; the policy's observation holds
  ``depth``, ``intrinsics``, ``extrinsics``): exact, the world z of each pixel
  (:func:`graspsim.geometry.clearance.heights_above_table`; the table surface
  is z = 0), :func:`heights_from_camera`.
* Depth in metres without a camera (Jacquard, OCID-Grasp): an approximation,
  :func:`approximate_heights`: the table is taken as the dominant far plane
  of the depth image, fitted robustly in inverse depth (a plane is linear in
  1 / z over the pixel grid for any pinhole camera), and a pixel's height is
  its table depth minus its depth. Exact for a camera looking straight down
  (ours, Jacquard's); for a tilted camera (OCID) it measures along the optical
  axis, over-estimating heights by about 1 / cos(tilt).
* No depth, or depth in unknown units (Grasp-Anything; Cornell's depth is
  "as stored"): refused with a ValueError naming the sample
  (:func:`sample_heights`): a depth model trained on zeros would silently
  learn to ignore depth.
"""

from __future__ import annotations

import numpy as np

__all__ = ["HEIGHT_SCALE_M", "HEIGHT_CLIP", "normalise_heights", "heights_from_camera", "approximate_heights",
           "sample_heights"]

#: metres of height above the table that map to 1.0 in the model input
HEIGHT_SCALE_M = 0.1
#: normalised heights are clipped to [0, HEIGHT_CLIP] (0.4 m)
HEIGHT_CLIP = 4.0


def normalise_heights(heights_m):
    """Heights in metres (numpy or torch; NaN = missing) -> the model's scale:
    ``clip(h / HEIGHT_SCALE_M, 0, HEIGHT_CLIP)``, missing -> 0 (as the table)."""
    try:
        import torch

        if isinstance(heights_m, torch.Tensor):
            h = torch.nan_to_num(heights_m.float(), nan=0.0, posinf=0.0, neginf=0.0)
            return (h / HEIGHT_SCALE_M).clamp(0.0, HEIGHT_CLIP)
    except ImportError:  # pragma: no cover - torch is a dependency of the model
        pass
    h = np.nan_to_num(np.asarray(heights_m, np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    return np.clip(h / HEIGHT_SCALE_M, 0.0, HEIGHT_CLIP).astype(np.float32)


def heights_from_camera(depth: np.ndarray, intrinsics, extrinsics) -> np.ndarray:
    """Exact heights above the table (metres, float32 H×W, 0 where depth is missing)
    of a z-depth image (metres) and its camera (3×3 intrinsics, 4×4 world-from-camera
    extrinsics, table at world z = 0)."""
    from graspsim.geometry.clearance import heights_above_table

    z = heights_above_table(np.asarray(depth, np.float32), np.asarray(intrinsics), np.asarray(extrinsics))
    return np.nan_to_num(z, nan=0.0).astype(np.float32)


def approximate_heights(depth: np.ndarray, max_points: int = 20000, iterations: int = 4) -> np.ndarray:
    """Heights above the table (metres, float32 H×W, 0 where depth is missing) of a
    z-depth image in metres **without** its camera (module doc): a plane fitted to
    the table in inverse depth, ``1 / z_table(u, v) = a u + b v + c``, and
    ``height = z_table − z``.

    The fit starts from the farther half of the valid pixels (the table fills
    most of a grasping image's background) and is refined ``iterations`` times on
    the pixels within max(5 mm, 3 MADs) of the plane. An image with fewer than 3
    valid pixels gives all zeros.
    """
    d = np.asarray(depth, np.float64)
    valid = np.isfinite(d) & (d > 0)
    out = np.zeros(d.shape, np.float32)
    vs, us = np.nonzero(valid)
    if len(vs) < 3:
        return out
    if len(vs) > max_points:  # a fixed, evenly spread subset: deterministic
        pick = np.linspace(0, len(vs) - 1, max_points).astype(np.intp)
        vs, us = vs[pick], us[pick]
    z = d[vs, us]
    a = np.column_stack([us, vs, np.ones_like(z)]).astype(np.float64)
    keep = z >= np.median(z)
    coef = np.array([0.0, 0.0, 1.0 / np.median(z)])
    for _ in range(iterations):
        if keep.sum() < 3:
            break
        coef, *_ = np.linalg.lstsq(a[keep], 1.0 / z[keep], rcond=None)
        table = 1.0 / np.maximum(a @ coef, 1e-9)
        r = table - z
        mad = np.median(np.abs(r[keep] - np.median(r[keep])))
        keep = np.abs(r) < max(0.005, 3.0 * 1.4826 * mad)
    rows, cols = np.indices(d.shape)
    table = 1.0 / np.maximum(coef[0] * cols + coef[1] * rows + coef[2], 1e-9)
    out[valid] = (table - d)[valid]
    return out


def sample_heights(sample) -> np.ndarray:
    """Heights above the table (metres, float32 H×W, 0 where missing) of a
    :class:`graspsim.datasets.GraspSample`: exact from ``meta["camera"]``'s
    intrinsics / extrinsics when present (our sim data sets), else
    :func:`approximate_heights` for depth in metres; ValueError for a sample
    without depth or with depth in unknown units (module doc)."""
    if sample.depth is None:
        raise ValueError(
            f"sample {sample.id!r} has no depth image: a GraspSAM variant that uses depth (tiny_rgbd) cannot "
            "train or evaluate on it (use an RGB variant such as tiny, or a data set with depth)"
        )
    depth = np.asarray(sample.depth, np.float32)
    camera = (sample.meta or {}).get("camera")
    if isinstance(camera, dict) and camera.get("intrinsics") is not None and camera.get("extrinsics") is not None:
        return heights_from_camera(depth, camera["intrinsics"], camera["extrinsics"])
    units = (sample.meta or {}).get("depth_units")
    if units != "m":
        raise ValueError(
            f"sample {sample.id!r}: depth in units {units!r} and no camera, so heights above the table are unknown; "
            "a GraspSAM variant that uses depth (tiny_rgbd) needs depth in metres (sim, jacquard, ocid)"
        )
    return approximate_heights(depth)

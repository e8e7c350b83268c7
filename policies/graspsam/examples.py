"""Training examples: one (image, object) pair with its mask and positive rectangles,
and the augmentations and targets GraspSAM trains on.

Augmentation is exact (no resampling): quarter turns (square images only;
half turns otherwise, so a batch keeps one shape) and a horizontal flip,
applied to the image, its heights above the table (depth-using variants),
the mask and the rectangles alike. A quarter turn
counter-clockwise on screen maps (u, v) -> (v, W - 1 - u) and adds π/2 to
the angle (angles run from +u towards −v, i.e. counter-clockwise on
screen); a flip maps u -> W - 1 - u and negates the angle. The objects'
centres in ``facts`` move alike, so "leftmost" in a phrase drawn after the
augmentation means leftmost in the augmented image. Heights are
per-pixel values in metres, so turning or mirroring the image turns or
mirrors them unchanged (the table stays below; no resampling).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Optional

import numpy as np

from graspsim.rectangles import as_rects, scale_rects


@dataclass
class Example:
    """rgb uint8 (H, W, 3); mask bool (H, W); grasps (N, 5) positive rectangles in
    pixels of this image; jaw_px: the gripper's jaw size here (median of the
    labels, 0 when unknown); identity / name of the object; sample id;
    heights: (H, W) metres above the table of every pixel (0 where depth is
    missing; :func:`.depth.sample_heights`), or None (RGB variants);
    :func:`examples_from` stores them as float16 (half the memory of float32,
    since training holds every example in memory; steps of at most 0.25 mm
    below 0.5 m, far finer than the 0.1 m input scale needs); negatives: (M, 5)
    rectangles that failed in physics (sim data sets), or None when the data set has none;
    facts: the visible objects of the image as :class:`graspsim.phrases.ObjectFacts`
    (for text prompts; ``examples_from(..., facts=True)``), with ``index`` the object's
    own index among them, or None."""

    rgb: np.ndarray
    mask: np.ndarray
    grasps: np.ndarray
    jaw_px: float
    identity: str
    name: str
    sample_id: str
    heights: Optional[np.ndarray] = None
    negatives: Optional[np.ndarray] = None
    facts: Optional[tuple] = None
    index: Optional[int] = None


def examples_from(dataset, items, heights: bool = False, facts: bool = False) -> list[Example]:
    """Examples for ``items`` (graspsim.datasets.Item) of ``dataset``; objects without a
    mask are skipped (they cannot be prompted). Each sample is read once. With
    ``heights`` (depth-using variants) each example also holds its sample's heights
    above the table (:func:`.depth.sample_heights`: exact from the sample's camera,
    approximated for depth in metres without one; ValueError for a sample without
    usable depth). With ``facts`` (text prompts) each example also holds the facts of its
    sample's visible objects (:func:`graspsim.phrases.scene_facts`, from the scene spec a
    sim data set stores; ValueError for a sample without one)."""
    from .depth import sample_heights

    by_sample: dict[int, list[str]] = {}
    for it in items:
        by_sample.setdefault(it.sample, []).append(it.key)
    out = []
    for index in sorted(by_sample):
        sample = dataset[index]
        sample_h = None
        if heights:
            sample_h = sample_heights(sample).astype(np.float16)
            if sample_h.shape != sample.rgb.shape[:2]:
                raise ValueError(f"sample {sample.id!r}: depth {sample_h.shape} and image {sample.rgb.shape[:2]} differ in size")
        sample_facts = None
        if facts:
            from graspsim.phrases import scene_facts

            if "scene" not in sample.meta:
                raise ValueError(f"sample {sample.id!r} has no scene spec: text prompts train on sim data sets")
            sample_facts = tuple(scene_facts(sample.meta["scene"], {int(o.key): o.mask for o in sample.objects
                                                                     if o.mask is not None}))
        for key in by_sample[index]:
            obj = sample.object(key)
            if obj.mask is None or not obj.mask.any():
                continue
            grasps = as_rects(obj.grasps)
            jaw = float(np.median(grasps[:, 4])) if len(grasps) else 0.0
            negatives = None if obj.negatives is None else as_rects(obj.negatives)
            out.append(Example(sample.rgb, obj.mask.astype(bool), grasps, jaw, obj.identity, obj.name, sample.id,
                               sample_h, negatives, sample_facts, int(key) if facts else None))
    return out


def rotate_quarter(ex: Example) -> Example:
    """Turn an example a quarter turn counter-clockwise on screen."""
    w = ex.mask.shape[1]

    def turn(rects):
        g = rects.copy()
        g[:, 0], g[:, 1] = rects[:, 1], (w - 1) - rects[:, 0]
        g[:, 2] = g[:, 2] + math.pi / 2
        return as_rects(g)

    heights = None if ex.heights is None else np.ascontiguousarray(np.rot90(ex.heights))
    negatives = None if ex.negatives is None else turn(ex.negatives)
    facts = None if ex.facts is None else tuple(
        replace(f, centre_uv=(f.centre_uv[1], (w - 1) - f.centre_uv[0])) for f in ex.facts)
    return Example(np.ascontiguousarray(np.rot90(ex.rgb)), np.ascontiguousarray(np.rot90(ex.mask)), turn(ex.grasps),
                   ex.jaw_px, ex.identity, ex.name, ex.sample_id, heights, negatives, facts, ex.index)


def flip(ex: Example) -> Example:
    """Mirror an example left-right."""
    w = ex.mask.shape[1]

    def mirror(rects):
        g = rects.copy()
        g[:, 0] = (w - 1) - g[:, 0]
        g[:, 2] = -g[:, 2]
        return as_rects(g)

    heights = None if ex.heights is None else np.ascontiguousarray(ex.heights[:, ::-1])
    negatives = None if ex.negatives is None else mirror(ex.negatives)
    facts = None if ex.facts is None else tuple(
        replace(f, centre_uv=((w - 1) - f.centre_uv[0], f.centre_uv[1])) for f in ex.facts)
    return Example(np.ascontiguousarray(ex.rgb[:, ::-1]), np.ascontiguousarray(ex.mask[:, ::-1]), mirror(ex.grasps),
                   ex.jaw_px, ex.identity, ex.name, ex.sample_id, heights, negatives, facts, ex.index)


def augment(ex: Example, rng: np.random.Generator) -> Example:
    h, w = ex.mask.shape
    turns = int(rng.integers(4)) if h == w else 2 * int(rng.integers(2))
    for _ in range(turns):
        ex = rotate_quarter(ex)
    if rng.random() < 0.5:
        ex = flip(ex)
    return ex


def map_targets(ex: Example, size: int, width_scale: float) -> dict[str, np.ndarray]:
    """Targets in the model's S × S output frame (the image resized by S / max(H, W),
    padded bottom / right): mask, quality, cos2, sin2, width and tried (1 on the
    centre third of every physics-tried rectangle, positive or negative; float32 S × S)."""
    import cv2

    from .targets import grasp_targets, support_map

    h, w = ex.mask.shape
    f = size / max(h, w)
    rects = scale_rects(ex.grasps, f)
    maps = grasp_targets(rects, (size, size), width_scale=width_scale)
    tried = maps["quality"]
    if ex.negatives is not None and len(ex.negatives):
        tried = np.maximum(tried, support_map(scale_rects(ex.negatives, f), (size, size)))
    maps["tried"] = tried
    mh, mw = max(int(round(h * f)), 1), max(int(round(w * f)), 1)
    small = cv2.resize(ex.mask.astype(np.float32), (mw, mh), interpolation=cv2.INTER_AREA) >= 0.5
    mask = np.zeros((size, size), np.float32)
    mask[:mh, :mw] = small
    return {"mask": mask, **{k: v.astype(np.float32) for k, v in maps.items()}}

"""Simulated grasp trials: ground-truth labels of a scene's objects (Jacquard's SGT idea).

For each visible object of a scene, antipodal candidates are generated from
the rendered mask and depth (:mod:`graspsim.geometry.candidates`) and filtered by
cheap geometric checks; up to ``trials_per_object`` spread-out survivors are
tried in physics, each on an exact rebuild of the scene from its spec, by
the same :class:`~graspsim.sim.executor.Executor` the environments use, with
the world's gripper. Grasps that lift the object are its positive labels
(:class:`graspsim.labels.ObjectLabels`), the others its negatives. Values are
rounded to the micrometre / microradian *before* the trial, so a stored label
is exactly the grasp that was tried.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from graspsim.grasp import TopDownGrasp, image_to_world
from graspsim.labels import ObjectLabels

TRIALS_PER_OBJECT = 12
MIN_VISIBLE_PX = 40
ROUND_DECIMALS = 6


@dataclass
class LabelStats:
    """What labelling cost: trials run and their wall-clock seconds."""

    trials: int = 0
    trial_seconds: float = 0.0
    candidate_seconds: float = 0.0
    per_object: dict[int, int] = field(default_factory=dict)

    def add(self, other: "LabelStats") -> None:
        self.trials += other.trials
        self.trial_seconds += other.trial_seconds
        self.candidate_seconds += other.candidate_seconds


def _rounded(grasp: TopDownGrasp) -> TopDownGrasp:
    return TopDownGrasp(*(round(float(x), ROUND_DECIMALS) for x in grasp.as_array()))


def label_objects(world, spec, frame: dict, targets, trials_per_object: int = TRIALS_PER_OBJECT, object_set=None):
    """Label the object indices ``targets`` of the scene ``spec`` by trials in ``world``.

    ``frame`` is the scene's rendering (rgb, depth, segmentation) before any
    trial. The world is rebuilt from ``spec`` before every trial and once at
    the end, so it is left exactly as the spec describes. Returns
    ({index: ObjectLabels}, LabelStats).
    """
    from graspsim.geometry.candidates import object_candidates, spread_subset
    from graspsim.geometry.clearance import height_map
    from graspsim.objects import get_object_set
    from graspsim.sim.executor import Executor
    from graspsim.sim.scene_builder import build_scene

    if not (isinstance(trials_per_object, (int, np.integer)) and trials_per_object >= 1):
        raise ValueError(f"trials_per_object must be a positive integer, got {trials_per_object!r}")
    object_set = object_set or get_object_set(spec.object_set)
    camera = world.camera
    depth, seg = frame["depth"], frame["segmentation"]
    gripper = world.gripper_spec
    hmap = height_map(depth, camera.intrinsics, camera.extrinsics)
    executor = Executor(world)
    stats = LabelStats()
    labels: dict[int, ObjectLabels] = {}
    for index in targets:
        t0 = time.perf_counter()
        cands = object_candidates(seg == index + 1, depth, camera, hmap=hmap, gripper=gripper)
        passing = [c.grasp for c in cands if c.passes]
        chosen = [passing[j] for j in spread_subset(passing, trials_per_object)]
        stats.candidate_seconds += time.perf_counter() - t0
        positive, negative, modes = [], [], []
        t1 = time.perf_counter()
        for grasp in chosen:
            world_grasp = _rounded(image_to_world(grasp, depth, camera, gripper))
            build_scene(world, spec, object_set)
            outcome = executor.execute(world_grasp, index)
            if outcome.success:
                positive.append(world_grasp.as_array())
            else:
                negative.append(world_grasp.as_array())
                modes.append(outcome.failure_mode)
        stats.trial_seconds += time.perf_counter() - t1
        stats.trials += len(chosen)
        stats.per_object[index] = len(chosen)
        labels[index] = ObjectLabels(
            np.array(positive).reshape(-1, 5), np.array(negative).reshape(-1, 5), tuple(modes), len(cands), len(passing),
            gripper.name,
        )
    build_scene(world, spec, object_set)
    return labels, stats


def visible_objects(segmentation: np.ndarray, indices, min_visible_px: int = MIN_VISIBLE_PX) -> list[int]:
    """Object indices with at least ``min_visible_px`` pixels in the segmentation (index + 1)."""
    counts = np.bincount(segmentation.ravel().astype(np.int64), minlength=max(indices, default=-1) + 2)
    return [i for i in sorted(indices) if counts[i + 1] >= min_visible_px]


def label_scene(world, spec, trials_per_object: int = TRIALS_PER_OBJECT, min_visible_px: int = MIN_VISIBLE_PX, object_set=None):
    """Build ``spec`` in ``world``, render it without noise and label every visible object.

    Returns (frame, {index: ObjectLabels}, LabelStats); the world is left as the spec."""
    from graspsim.objects import get_object_set
    from graspsim.sim.scene_builder import build_scene

    object_set = object_set or get_object_set(spec.object_set)
    build_scene(world, spec, object_set)
    frame = world.render(None)
    targets = visible_objects(frame["segmentation"], world.objects, min_visible_px)
    labels, stats = label_objects(world, spec, frame, targets, trials_per_object, object_set)
    return frame, labels, stats

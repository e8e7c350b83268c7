"""Simulated grasp trials: dense ground-truth labels of a scene's objects (Jacquard's SGT idea).

For each visible object of a scene, candidates covering the object are
generated from the rendered mask and depth
(:func:`graspsim.geometry.candidates.object_candidates`: every jaw-wide band at
``N_ANGLES`` closing angles, two openings each). Before physics only what is
physically impossible is dropped: an opening wider than the gripper's stroke,
or fingers that would land on the object itself (its own height map under a
finger footprint). The policies' clearance test against the *neighbours* is
not a filter: the physics decides, so the ground truth does not lean toward
what the heuristic policies pick. Up to ``trials_per_object`` spread-out
survivors are tried, each on an exact rebuild of the scene from its spec,
by the :class:`~graspsim.sim.executor.Executor` with the world's gripper on
the labeller's :data:`~graspsim.sim.executor.FAST` schedule (its agreement with
the environments' full schedule: ``graspsim bench label --validate``). Grasps
that lift the object are its positive labels, the others its negatives with
their failure modes (:class:`graspsim.labels.ObjectLabels`). Values are rounded
to the micrometre / microradian *before* the trial, so a stored label is
exactly the grasp that was tried.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from graspsim.grasp import TopDownGrasp, image_to_world
from graspsim.labels import ObjectLabels

TRIALS_PER_OBJECT = 32
MIN_VISIBLE_PX = 40
ROUND_DECIMALS = 6


@dataclass
class LabelStats:
    """What labelling cost: trials run and their wall-clock seconds (candidate
    generation, scene rebuilds, and the attempts in physics)."""

    trials: int = 0
    trial_seconds: float = 0.0
    candidate_seconds: float = 0.0
    build_seconds: float = 0.0
    per_object: dict[int, int] = field(default_factory=dict)

    def add(self, other: "LabelStats") -> None:
        self.trials += other.trials
        self.trial_seconds += other.trial_seconds
        self.candidate_seconds += other.candidate_seconds
        self.build_seconds += other.build_seconds


def _rounded(grasp: TopDownGrasp) -> TopDownGrasp:
    return TopDownGrasp(*(round(float(x), ROUND_DECIMALS) for x in grasp.as_array()))


def trial_grasps(world, frame: dict, index: int, trials_per_object: int = TRIALS_PER_OBJECT):
    """The world grasps the labeller tries on object ``index`` of the rendered
    ``frame`` (depth, segmentation), and the counts (candidates, physically possible)."""
    from graspsim.geometry.candidates import object_candidates, spread_subset
    from graspsim.geometry.clearance import height_map

    camera, gripper = world.camera, world.gripper_spec
    depth, mask = frame["depth"], frame["segmentation"] == index + 1
    own = height_map(np.where(mask, depth, 0.0).astype(np.float32), camera.intrinsics, camera.extrinsics)
    cands = object_candidates(mask, depth, camera, hmap=own, gripper=gripper)
    possible = [c.grasp for c in cands if c.fits and c.clear]  # clear of the object itself
    chosen = [possible[j] for j in spread_subset(possible, trials_per_object)]
    return [_rounded(image_to_world(g, depth, camera, gripper)) for g in chosen], len(cands), len(possible)


def label_objects(world, spec, frame: dict, targets, trials_per_object: int = TRIALS_PER_OBJECT, object_set=None,
                  schedule=None):
    """Label the object indices ``targets`` of the scene ``spec`` by trials in ``world``.

    ``frame`` is the scene's rendering (rgb, depth, segmentation) before any
    trial; ``schedule``: the executor's (default: :data:`graspsim.sim.executor.FAST`).
    The world is rebuilt from ``spec`` before every trial and once at the end,
    so it is left exactly as the spec describes. Returns
    ({index: ObjectLabels}, LabelStats).
    """
    from graspsim.objects import get_object_set
    from graspsim.sim.executor import FAST, Executor
    from graspsim.sim.scene_builder import build_scene

    if not (isinstance(trials_per_object, (int, np.integer)) and trials_per_object >= 1):
        raise ValueError(f"trials_per_object must be a positive integer, got {trials_per_object!r}")
    object_set = object_set or get_object_set(spec.object_set)
    executor = Executor(world, schedule=FAST if schedule is None else schedule)
    stats = LabelStats()
    labels: dict[int, ObjectLabels] = {}
    for index in targets:
        t0 = time.perf_counter()
        grasps, n_candidates, n_possible = trial_grasps(world, frame, index, trials_per_object)
        stats.candidate_seconds += time.perf_counter() - t0
        positive, negative, modes = [], [], []
        for world_grasp in grasps:
            t1 = time.perf_counter()
            build_scene(world, spec, object_set)
            t2 = time.perf_counter()
            outcome = executor.execute(world_grasp, index)
            stats.build_seconds += t2 - t1
            stats.trial_seconds += time.perf_counter() - t1
            if outcome.success:
                positive.append(world_grasp.as_array())
            else:
                negative.append(world_grasp.as_array())
                modes.append(outcome.failure_mode)
        stats.trials += len(grasps)
        stats.per_object[index] = len(grasps)
        labels[index] = ObjectLabels(
            np.array(positive).reshape(-1, 5), np.array(negative).reshape(-1, 5), tuple(modes), n_candidates, n_possible,
            world.gripper_spec.name,
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

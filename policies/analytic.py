"""`analytic`: the strong non-learned baseline.

From the depth image and the prompt it segments the target region, then grasps
it across its narrow side:

1. Heights above the table from depth + camera matrices, cut into depth
   segments (:func:`graspsim.geometry.segmentation.segment`).
2. The target region (:func:`graspsim.geometry.segmentation.prompt_region`):
   the prompt mask itself; for a box, the segment with most pixels inside the
   box (clipped to it); for points or a gaze point, the segment under the
   positive points (the nearest segment within ``SNAP_PX``).
3. Candidate grasps (:func:`graspsim.geometry.selection.region_grasp`) at the region's centroid and at up to ``N_CENTRES``
   well-inside points (farthest-point samples of the region's thick part),
   over ``N_ANGLES`` angles: the region's span in the world along the
   closing line within a jaw-wide band gives the centre and width
   (:func:`graspsim.geometry.clearance.fit_to_mask`). A candidate is feasible when
   the width plus margins fits the gripper's stroke (the observation's
   ``gripper``, :func:`graspsim.grippers.gripper_from_observation`) and the hand clears the
   scene's height map (:func:`graspsim.geometry.clearance.grasp_clear`: both finger
   footprints lower than the fingertips will reach, the palm's footprint
   lower than the palm). Among feasible candidates the one with the smallest
   opening + 0.5 x distance to the centroid (pixels) wins; when none is
   feasible, the one that comes nearest to clearing the scene
   (:func:`region_grasp`).

Text prompts go through a grounder (``grounder=``: the simulator's
CatalogueGrounder by default, an oracle; or ``"owlvit:FOLDER"``), whose box
then designates the region as a box prompt does. The policy has no language
path of its own (``grounder="model"`` raises ValueError).
"""

from __future__ import annotations

import numpy as np

from graspsim.geometry.clearance import height_map, heights_above_table
from graspsim.geometry.segmentation import prompt_region, segment
from graspsim.geometry.selection import region_grasp
from graspsim.grippers import gripper_from_observation
from graspsim.prompts import Prompt

from .base import GroundedPolicy


class AnalyticPolicy(GroundedPolicy):
    name = "analytic"

    def __init__(self, grounder=None, seed: int | None = None):
        super().__init__(grounder, seed)

    def act(self, observation: dict) -> np.ndarray:
        depth = np.asarray(observation["depth"], np.float32)
        k = np.asarray(observation["intrinsics"], np.float64)
        heights = heights_above_table(depth, k, observation["extrinsics"])
        labels = segment(heights)
        prompt = Prompt.from_observation(observation["prompt"])
        if prompt.kind == "text":
            from graspsim.grounding import ground_prompt

            box = ground_prompt(prompt, self.grounder, np.asarray(observation["rgb"], np.uint8), self.context)
            prompt = Prompt("box", box=box)
        region = prompt_region(prompt, labels, heights)
        self.last_maps = {"heights": heights.astype(np.float32), "segments": labels.astype(np.int32), "region": region}
        if not region.any():
            u, v = self._anchor(prompt, depth.shape)
            return np.array([u, v, 0.0, 1.0], np.float32)
        t = np.asarray(observation["extrinsics"], np.float64)
        return region_grasp(region, depth, k, t, height_map(depth, k, t, heights=heights),
                            gripper_from_observation(observation))[0]

    # -- target region ------------------------------------------------------------------
    @staticmethod
    def _anchor(prompt: Prompt, shape) -> tuple[float, float]:
        if len(prompt.points):
            return float(prompt.points[0, 0]), float(prompt.points[0, 1])
        if prompt.box is not None:
            return float((prompt.box[0] + prompt.box[2]) / 2), float((prompt.box[1] + prompt.box[3]) / 2)
        if prompt.mask is not None and prompt.mask.any():
            vs, us = np.nonzero(prompt.mask)
            return float(us.mean()), float(vs.mean())
        return (shape[1] - 1) / 2, (shape[0] - 1) / 2

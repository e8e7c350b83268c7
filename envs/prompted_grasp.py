"""``graspsim/PromptedGrasp-v0``: one prompted grasp per episode.

Observation (Dict):
    rgb: uint8 (H, W, 3); depth: float32 (H, W), metres along the optical axis;
    intrinsics: float32 (3, 3); extrinsics: float32 (4, 4) world-from-camera
    (both of the episode's camera: with appearance="randomised" its height
    varies by up to +-3 cm per scene; it always looks straight down);
    prompt: Dict(kind: Discrete index into PROMPT_KINDS, points (10, 2) pixels
    padded with -1, labels (10,) 1/0/-1, box (4,) u0 v0 u1 v1 or -1, mask
    (H, W) uint8, text str); gripper: float32 (7,), the gripper's geometry in
    metres (stroke, finger length, thickness, width = jaw size, palm half-extents;
    GripperSpec.GEOMETRY_FIELDS, read it with graspsim.grippers.gripper_from_observation);
    segmentation (H, W) int32 object index + 1 when ``include_segmentation=True``.
Action: Box (u, v, angle, opening_px), float32; angle in [-π/2, π/2]
    (closing line from +u towards -v); the grasp depth comes from the depth
    image (see graspsim.grasp).
Reward: 1.0 when the target is lifted and held, else 0.0.
Termination: after the one grasp. Never truncated.
Info (reset): target_id, target_name, scene (the scene spec dict; with its
    "appearance" when the scene has one), prompt
    (summary), gripper (its name), labelled (whether the target has
    ground-truth rectangles).
Info (step): success, failure_mode ("" on success), grasp (x, y, z, yaw,
    opening_m of the executed world grasp), lifted_ids (a tuple of object
    indices: its length varies, so it is no array), target_id, target_name,
    and the entries of every per-grasp metric (graspsim.grasp_metrics): when
    the target is labelled rect_success (the rectangle metric of the executed
    grasp against the target's positive simulated-trial labels,
    graspsim.metric.match), rect_iou and rect_angle_error_deg.
Labels come from the scene spec (suites written by ``graspsim label`` and the
    shipped suites carry them) or, with ``label_targets=True``, from trials
    run on the fly at reset (``label_trials`` of them; slow: about a third of
    a second each).
    Wall-clock timings are in ``env.unwrapped.last_outcome.timings`` (kept out
    of info so that equal seeds give equal infos).
Prompt: a kind of PROMPT_KINDS, or a tuple of kinds (e.g. ("point", "box"))
    from which each episode's kind is drawn with the prompt stream.
Reset options: objects, layout, prompt, object_count, split, appearance,
    scene (a SceneSpec or its dict, to replay a saved scene, appearance
    included), target (object index).
Constructor: gripper ("franka" default, "robotiq-2f85", or a GripperSpec);
    appearance ("catalogue" default: catalogue colours, today's table, light
    and camera, and no extra random draws; "randomised": object colours and
    procedural textures, table colour/texture, light and camera height drawn
    from the scene stream with the env's split; see graspsim.appearance and
    graspsim.envs.scene_env); record_replay (False: True films each grasp from
    an oblique camera into ``env.unwrapped.last_replay``, graspsim.sim.replay);
    schedule ("full" default: the executor's full approach, lift and 1 s hold;
    "fast": the labeller's schedule, a kinematic approach test, a lift twice as
    fast and a quarter of the hold, grasps about 2.5 times faster; its
    agreement with "full" is measured by ``graspsim bench label --validate`` and
    in docs/results.md; outcomes are not those of "full").

Version history:
    v0: one grasp per episode. Later additions keep every seed's episode as it
    was: the ``gripper`` observation key and constructor keyword, the
    ``appearance`` keyword and reset option (default "catalogue"), the
    per-grasp metric hook (graspsim.grasp_metrics), ``record_replay``,
    ``schedule`` (default "full").
    ``label_targets`` labels densely since the labelling engine (32 trials per
    object on the labeller's FAST schedule instead of up to 12 filtered ones),
    which changes only rect_* entries of on-the-fly labelled episodes.
"""

from __future__ import annotations

import numpy as np

from graspsim.envs.scene_env import SceneEnv


class PromptedGraspEnv(SceneEnv):
    """One scene, one target, one prompt, one grasp (see the module docstring)."""

    def reset(self, *, seed=None, options=None):
        config = self._start_episode(seed, options)
        target = (options or {}).get("target")
        self._choose_target(config, target)
        tries = 0
        while self.target is None and (options or {}).get("scene") is None and tries < 10:
            # every object fell out of view: draw a new scene from the same stream
            self._new_scene(config)
            self._choose_target(config)
            tries += 1
        if self.target is None:
            raise RuntimeError("no visible object in the scene to prompt for")
        self._find_target_labels()
        self._done = False
        info = {
            **self._target_info(), "scene": self.spec_scene.with_labels(None).to_dict(), "prompt": self.prompt.to_dict(),
            "gripper": self.gripper.name,
            "labelled": self.target_labels is not None,
        }
        return self._observation(), info

    def step(self, action):
        if getattr(self, "_done", True):
            raise RuntimeError("the episode is over (one grasp per episode): call reset()")
        grasp, outcome, info = self._execute(action)
        self._done = True
        if self.render_after_grasp:
            self.frame = self.world.render(self._noise_rng)
        reward = 1.0 if outcome.success else 0.0
        return self._observation(), reward, True, False, info

"""Shared machinery of the graspsim environments: configuration, seeding,
scene building, prompting, observations, action checking and rendering.

Appearance (``appearance=`` constructor keyword and reset option):
"catalogue" (default) keeps every object's catalogue colour, today's table,
light and camera, and draws nothing extra from any random stream, so a seed
gives the same episode as before appearance existed; "randomised" draws a
:class:`graspsim.appearance.SceneAppearance` (object colours and textures,
table, light, camera height offset; the env's ``split`` applies the
held-out rule) from the scene stream after the scene is generated, and
stores it in the spec (``info["scene"]["appearance"]``), so replaying
``info["scene"]`` through ``reset(options={"scene": ...})`` is bit-exact. A
replayed scene keeps the appearance it carries; one without appearance gets
a drawn one in "randomised" mode. The episode's camera (``episode_camera``:
the base camera raised or lowered by the appearance, never tilted) gives the
observation's intrinsics/extrinsics and every pixel <-> world conversion.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from graspsim.appearance import check_mode
from graspsim.camera import Camera, DepthNoise
from graspsim.sim.executor import Executor, Outcome, schedule_named
from graspsim.figures import episode_figure
from graspsim.grasp import ImageGrasp, action_bounds, image_to_world
from graspsim.grippers import GripperSpec, get_gripper
from graspsim.labels import ObjectLabels
from graspsim.prompts import Prompt, check_kind, make_prompt, prompt_space
from graspsim.scene import LAYOUTS, SceneSpec, check_count_range
from graspsim.sim.scene_builder import build_scene, generate_scene, randomise_spec
from graspsim.sim.trials import TRIALS_PER_OBJECT, label_objects
from graspsim.sim.world import World

RESET_OPTIONS = ("objects", "layout", "prompt", "object_count", "split", "appearance", "phrasing", "scene", "target")
_CONFIG_OPTIONS = ("objects", "layout", "prompt", "object_count", "split", "appearance", "phrasing")
#: how a text prompt names its target: "name" (the catalogue name, e.g. "red cylinder") or a
#: referring phrase of graspsim.phrases in its "train" or "held_out" phrasing
TEXT_PHRASINGS = ("name", "train", "held_out")


@dataclass(frozen=True)
class EnvConfig:
    """Per-episode settings (defaults from the constructor, overridable per reset)."""

    objects: str
    layout: str
    prompt: str | tuple[str, ...]
    object_count: tuple[int, int] | None
    split: str
    appearance: str = "catalogue"
    phrasing: str = "name"

    def validated(self) -> "EnvConfig":
        from graspsim.objects import get_object_set
        from graspsim.objects.catalogue import SPLIT_CHOICES

        if not isinstance(self.objects, str):
            raise ValueError(f"objects must be an object-set name or folder path, got {self.objects!r}")
        get_object_set(self.objects)  # raises ValueError naming the value
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {self.layout!r}")
        prompt = self.prompt
        if isinstance(prompt, (list, tuple)):
            if not prompt or len(set(prompt)) != len(prompt):
                raise ValueError(f"prompt must be a kind or a non-empty tuple of distinct kinds, got {prompt!r}")
            prompt = tuple(check_kind(k) for k in prompt)
            if len(prompt) == 1:
                prompt = prompt[0]
        else:
            check_kind(prompt)
        if self.split not in SPLIT_CHOICES:
            raise ValueError(f"split must be one of {SPLIT_CHOICES}, got {self.split!r}")
        check_mode(self.appearance)
        if self.phrasing not in TEXT_PHRASINGS:
            raise ValueError(f"phrasing must be one of {TEXT_PHRASINGS}, got {self.phrasing!r}")
        count = None if self.object_count is None else check_count_range(self.object_count)
        return replace(self, object_count=count, prompt=prompt)


def check_seed(seed) -> None:
    if seed is None:
        return
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be None or a non-negative integer, got {seed!r}")


class SceneEnv(gym.Env):
    """Base class: subclasses implement ``step``."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 2}

    def __init__(
        self,
        objects: str = "primitives",
        layout: str = "pile",
        prompt: str = "point",
        object_count=None,
        split: str = "all",
        n_points: int = 3,
        gaze_noise_px: float = 8.0,
        width: int = 320,
        height: int = 320,
        fov_deg: float = 40.0,
        depth_noise: DepthNoise | dict | None = None,
        shake: bool = False,
        include_segmentation: bool = False,
        min_visible_px: int = 40,
        label_targets: bool = False,
        label_trials: int = TRIALS_PER_OBJECT,
        record_replay: bool = False,
        gripper: "str | GripperSpec" = "franka",
        appearance: str = "catalogue",
        render_mode: str | None = None,
        render_after_grasp: bool = True,
        phrasing: str = "name",
        schedule: str = "full",
    ):
        self.config = EnvConfig(objects, layout, prompt, object_count, split, appearance, phrasing).validated()
        if not (isinstance(n_points, (int, np.integer)) and 1 <= n_points <= 10):
            raise ValueError(f"n_points must be an integer in [1, 10], got {n_points!r}")
        if not (np.isfinite(gaze_noise_px) and gaze_noise_px >= 0):
            raise ValueError(f"gaze_noise_px must be a finite non-negative number, got {gaze_noise_px!r}")
        if not isinstance(label_targets, bool):
            raise ValueError(f"label_targets must be True or False, got {label_targets!r}")
        if not (isinstance(label_trials, (int, np.integer)) and label_trials >= 1):
            raise ValueError(f"label_trials must be a positive integer, got {label_trials!r}")
        schedule_named(schedule)  # ValueError naming the value, before any client exists
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        if isinstance(depth_noise, dict):
            depth_noise = DepthNoise(**depth_noise)
        self.camera = Camera(width=width, height=height, fov_deg=fov_deg, noise=depth_noise)
        self.n_points = int(n_points)
        self.gaze_noise_px = float(gaze_noise_px)
        self.include_segmentation = include_segmentation
        self.min_visible_px = min_visible_px
        self.label_targets = label_targets
        self.label_trials = int(label_trials)
        if not isinstance(record_replay, bool):
            raise ValueError(f"record_replay must be True or False, got {record_replay!r}")
        if not isinstance(render_after_grasp, bool):
            raise ValueError(f"render_after_grasp must be True or False, got {render_after_grasp!r}")
        #: PromptedGrasp-v0: render the scene after the grasp for the step's observation (True), or
        #: return the frame it acted on (False: a render less per episode, for loops that never read it)
        self.render_after_grasp = render_after_grasp
        #: film each grasp from an oblique camera into ``last_replay`` (graspsim.sim.replay)
        self.record_replay = record_replay
        #: (phase, rgb) frames of the last grasp when ``record_replay``, else []
        self.last_replay: list = []
        self.render_mode = render_mode
        self.gripper = get_gripper(gripper)
        self.world = World(self.camera, gripper=self.gripper)
        # the executor's timing, "full" (default) or "fast" (graspsim.sim.executor.SCHEDULES)
        self.executor = Executor(self.world, shake=shake, schedule=schedule_named(schedule))

        h, w = height, width
        obs = {
            "rgb": spaces.Box(0, 255, (h, w, 3), np.uint8),
            "depth": spaces.Box(0.0, self.camera.far, (h, w), np.float32),
            "intrinsics": spaces.Box(-1e5, 1e5, (3, 3), np.float32),
            "extrinsics": spaces.Box(-1e3, 1e3, (4, 4), np.float32),
            "prompt": prompt_space(h, w),
            "gripper": spaces.Box(0.0, 10.0, (len(GripperSpec.GEOMETRY_FIELDS),), np.float32),
        }
        if include_segmentation:
            obs["segmentation"] = spaces.Box(0, 255, (h, w), np.int32)
        self.observation_space = spaces.Dict(obs)
        low, high = action_bounds(w, h)
        self.action_space = spaces.Box(low=low, high=high, dtype=np.float32)
        self.spec_scene: SceneSpec | None = None
        self.target: int | None = None
        self.prompt: Prompt | None = None
        self.frame: dict | None = None
        self.last_grasp: ImageGrasp | None = None
        self.last_outcome: Outcome | None = None
        #: the target's simulated-trial labels (from the scene spec or labelled on the fly), or None
        self.target_labels: ObjectLabels | None = None
        #: wall-clock milliseconds of the last reset/step: build_ms (generate +
        #: settle + rebuild), render_ms, execute_ms
        self.timings: dict[str, float] = {}

    # -- reset -------------------------------------------------------------------------
    def _episode_config(self, options: dict) -> EnvConfig:
        unknown = sorted(set(options) - set(RESET_OPTIONS))
        if unknown:
            raise ValueError(f"unknown reset option(s) {unknown}; valid options are {RESET_OPTIONS}")
        fields = {k: options[k] for k in _CONFIG_OPTIONS if k in options}
        return replace(self.config, **fields).validated() if fields else self.config

    def _start_episode(self, seed, options) -> EnvConfig:
        """Validate, seed the streams, and build the scene (from options["scene"] or generated)."""
        check_seed(seed)
        options = dict(options or {})
        config = self._episode_config(options)
        scene = options.get("scene")
        if scene is not None and not isinstance(scene, SceneSpec):
            if not isinstance(scene, dict):
                raise ValueError(f"options['scene'] must be a SceneSpec or its dict, got {type(scene).__name__}")
            scene = SceneSpec.from_dict(scene)
        super().reset(seed=seed)
        streams = self.np_random.integers(0, 2**63 - 1, size=3)
        self._scene_rng, self._prompt_rng, self._noise_rng = (np.random.default_rng(int(s)) for s in streams)
        self._new_scene(config, scene)
        self.last_grasp = None
        self.last_outcome = None
        return config

    def _new_scene(self, config: EnvConfig, scene: SceneSpec | None = None) -> None:
        """Build ``scene``, or a new one generated from the scene stream."""
        from graspsim.objects import get_object_set

        object_set = get_object_set(scene.object_set if scene is not None else config.objects)
        t0 = time.perf_counter()
        if scene is None:
            scene = generate_scene(self.world, object_set, config.layout, config.object_count, config.split, self._scene_rng)
        if config.appearance == "randomised" and scene.appearance is None:
            scene = randomise_spec(scene, self._scene_rng, config.split)
        # Always rebuild from the spec: generated and loaded scenes start from identical states.
        build_scene(self.world, scene, object_set)
        self.timings = {"build_ms": (time.perf_counter() - t0) * 1e3}
        self.spec_scene = scene

    def _choose_target(self, config: EnvConfig, target: int | None = None) -> None:
        """Render, pick a visible target (or ``target``) and make its prompt."""
        t0 = time.perf_counter()
        self.frame = self.world.render(self._noise_rng)
        self.timings["render_ms"] = (time.perf_counter() - t0) * 1e3
        seg = self.frame["segmentation"]
        counts = np.bincount(seg.ravel(), minlength=max(self.world.objects, default=-1) + 2)
        visible = [i for i in sorted(self.world.objects) if counts[i + 1] >= self.min_visible_px]
        if target is not None:
            if target not in self.world.objects or counts[target + 1] == 0:
                raise ValueError(f"target {target!r} is not a visible object of the scene (visible: {visible})")
            self.target = target
        elif visible:
            self.target = int(visible[self._prompt_rng.integers(len(visible))])
        else:
            self.target = None
        kind = config.prompt
        if not isinstance(kind, str):  # a mixture: this episode's kind from the prompt stream
            kind = kind[int(self._prompt_rng.integers(len(kind)))]
        if self.target is None:
            self.prompt = Prompt(kind)
            return
        text = self.world.names[self.target]
        if kind == "text" and config.phrasing != "name":
            text = self._phrase(seg, visible, config.phrasing) or text
        self.prompt = make_prompt(kind, seg == self.target + 1, text, self._prompt_rng, self.n_points, self.gaze_noise_px)

    def _phrase(self, seg: np.ndarray, visible: list[int], phrasing: str) -> str | None:
        """A referring phrase for the target among the visible objects (graspsim.phrases),
        or None when no phrase singles it out (the catalogue name is used then)."""
        from graspsim.phrases import refer, scene_facts

        facts = scene_facts(self.spec_scene, {i: seg == i + 1 for i in visible})
        try:
            return refer(self.target, facts, self._prompt_rng, phrasing)
        except ValueError:
            return None

    def _find_target_labels(self) -> None:
        """The target's labels: from the scene spec, else by trials when ``label_targets``.

        Labelling runs trials in this env's world on rebuilds of the scene and
        rebuilds it once more at the end, so the episode continues from the
        same state (the trials draw no random numbers)."""
        labels = None
        if self.target is not None:
            labels = (self.spec_scene.labels or {}).get(self.target)
            if labels is None and self.label_targets:
                t0 = time.perf_counter()
                found, _ = label_objects(self.world, self.spec_scene, self.world.render(None), [self.target], self.label_trials)
                labels = found[self.target]
                self.timings["label_ms"] = (time.perf_counter() - t0) * 1e3
        self.target_labels = labels

    @property
    def episode_camera(self) -> Camera:
        """The camera of the current scene: the constructor's camera (``self.camera``)
        raised or lowered by the scene's appearance (always looking straight down)."""
        return self.world.camera

    def _metric_info(self, grasp: ImageGrasp | None, success: bool) -> dict:
        """The per-grasp metrics of the executed grasp (:mod:`graspsim.grasp_metrics`;
        the rectangle metric against the target's positive labels among them)."""
        from graspsim.grasp_metrics import GraspContext, measure

        return measure(GraspContext(grasp, success, self.target_labels, self.episode_camera))

    # -- observation -------------------------------------------------------------------
    def _observation(self) -> dict:
        f = self.frame
        camera = self.episode_camera
        obs = {
            "rgb": f["rgb"].copy(),
            "depth": f["depth"].copy(),
            "intrinsics": camera.intrinsics.astype(np.float32),
            "extrinsics": camera.extrinsics.astype(np.float32),
            "prompt": self.prompt.to_observation((self.camera.height, self.camera.width)),
            "gripper": self.gripper.geometry_vector(),
        }
        if self.include_segmentation:
            obs["segmentation"] = f["segmentation"].astype(np.int32)
        return obs

    def _target_info(self) -> dict:
        return {
            "target_id": -1 if self.target is None else int(self.target),
            "target_name": "" if self.target is None else self.world.names[self.target],
        }

    # -- step helpers ------------------------------------------------------------------
    def _check_action(self, action) -> ImageGrasp:
        a = np.asarray(action, dtype=np.float64)
        if a.shape != (4,):
            raise ValueError(f"action must have shape (4,) = (u, v, angle, opening_px), got shape {a.shape}")
        names = ("u", "v", "angle", "opening_px")
        for name, value, lo, hi in zip(names, a, self.action_space.low, self.action_space.high):
            if not np.isfinite(value):
                raise ValueError(f"action {name} must be finite, got {value!r}")
            if not (lo - 1e-6 <= value <= hi + 1e-6):
                raise ValueError(f"action {name} must be in [{lo:.4g}, {hi:.4g}], got {value!r}")
        return ImageGrasp.from_action(a)

    def _execute(self, action) -> tuple[ImageGrasp, Outcome, dict]:
        if self.frame is None:
            raise RuntimeError("call reset() before step()")
        grasp = self._check_action(action)
        if self.target is None:
            raise RuntimeError("the episode has no target left: call reset()")
        if grasp.opening_px <= 0:  # the policy found no grasp: nothing to execute
            self.last_grasp, self.last_outcome = None, Outcome(False, "no_grasp", self.target)
            self.timings["execute_ms"] = 0.0
            info = {
                "success": False, "failure_mode": "no_grasp", "grasp": np.full(5, np.nan),
                "lifted_ids": (), **self._target_info(), **self._metric_info(None, False),
            }
            return None, self.last_outcome, info
        camera = self.episode_camera
        world_grasp = image_to_world(grasp, self.frame["depth"], camera, self.gripper)
        grasp = replace(grasp, jaw_px=self.gripper.finger_width_m / float(camera.metres_per_pixel(camera.height_m - world_grasp.z)))
        if self.record_replay:
            from graspsim.sim.replay import ReplayRecorder

            self.executor.recorder = ReplayRecorder(self.world)
        try:
            outcome = self.executor.execute(world_grasp, self.target)
        finally:
            if self.executor.recorder is not None:
                self.last_replay, self.executor.recorder = self.executor.recorder.frames, None
        self.timings["execute_ms"] = outcome.timings["total"]
        self.last_grasp, self.last_outcome = grasp, outcome
        info = {
            "success": bool(outcome.success),
            "failure_mode": outcome.failure_mode or "",
            "grasp": world_grasp.as_array(),
            # a tuple, not an array: its length varies, and vector envs stack equal-shaped arrays only
            "lifted_ids": tuple(int(i) for i in outcome.lifted_ids),
            **self._target_info(),
            **self._metric_info(grasp, bool(outcome.success)),
        }
        return grasp, outcome, info

    # -- rendering ---------------------------------------------------------------------
    def render(self):
        """rgb_array: the top-down image with the prompt and the last grasp drawn on it."""
        if self.render_mode != "rgb_array" or self.frame is None:
            return None
        success = None if self.last_outcome is None else self.last_outcome.success
        return episode_figure(self.frame["rgb"], self.prompt, self.last_grasp, success)

    def close(self):
        if getattr(self, "world", None) is not None:
            self.world.close()
            self.world = None

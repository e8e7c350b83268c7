"""Wrappers that make the graspsim environments fit the RL libraries researchers use.

The base observation nests the prompt (a Dict) inside a Dict and holds arrays
no library policy treats as an image or a vector; the action is in pixels.
These wrappers compose with ``gym.make`` and ``gymnasium.make_vec``:

- :class:`FlatPrompt`: a one-level Dict of images and flat vectors, what
  Stable-Baselines3's ``MultiInputPolicy`` takes without warnings: ``rgb``
  (H×W×3 uint8); ``height`` (H×W×1 uint8: height above the table, 0 at the
  table, 255 at ``max_height_m``, from depth and the camera matrices);
  ``intrinsics`` (9,), ``extrinsics`` (16,) and ``gripper`` (7,) flattened;
  and the prompt as ``prompt_kind`` (Discrete over ``PROMPT_KINDS``),
  ``prompt_points`` (20,: u0, v0, u1, ...), ``prompt_labels``, ``prompt_box``,
  ``prompt_mask`` (H×W×1 uint8, 255 inside), ``prompt_text`` (the
  fixed-length ASCII code array). The ground-truth ``segmentation`` is not
  passed on.
- :class:`ImageObservation`: one channels-first uint8 image ``(5, S, S)`` for
  CNN policies, resized to ``size`` × ``size`` pixels: R, G, B; the height
  above the table from depth and the camera matrices, 0 at the table and 255
  at ``max_height_m`` (clipped; missing depth 0); and the prompt drawn as a
  channel: each positive point a Gaussian blob of ``point_sigma_px`` (in the
  full image's pixels, peak 255), a box filled with 255, a mask as is (255
  inside), a text prompt nothing (it has no place in the image; use
  ``FlatPrompt`` for text). ``view="anchor"`` crops the image first to the
  square of side 2 × ``view_radius_px`` (default :data:`VIEW_RADIUS`, twice
  the relative actions' reach: 80 px at 320) centred on the prompt's anchor
  pixel, zero outside the image: an egocentric view that puts the prompted
  object at the centre, so that with ``PromptRelativeAction`` the image and
  the action share one frame. The encoding is
  :func:`graspsim.geometry.image_stack.image_stack`, which the ``sb3-ppo`` /
  ``sb3-sac`` policies apply to run a trained agent.
- :class:`NormalisedAction`: actions in [-1, 1]^4 mapped linearly to the
  wrapped environment's action box (u, v, angle, opening_px): -1 is its low
  bound, +1 its high bound.
- :class:`PromptRelativeAction`: actions in [-1, 1]^4 whose (u, v) is an
  offset of up to ``radius_px`` pixels (default :data:`RELATIVE_RADIUS` of the
  image's longer side) from the pixel the prompt designates
  (:func:`graspsim.prompts.prompt_anchor`: the first positive point, the box's
  centre, the mask's centroid), clipped to the image; angle and opening as
  ``NormalisedAction`` maps them. A random action then lands near the prompted
  object, where an absolute one lands on it about once in a hundred (the PPO
  run in docs/results.md saw almost no reward). Text prompts have no anchor
  (ValueError).

Registered ids composing them (``import graspsim`` registers them):
``graspsim/PromptedGraspImage-v0`` = PromptedGrasp-v0 + ImageObservation +
NormalisedAction (CNN policies: PPO / SAC ``"CnnPolicy"``), and
``graspsim/PromptedGraspFlat-v0`` = PromptedGrasp-v0 + FlatPrompt +
NormalisedAction (``"MultiInputPolicy"``). Keyword arguments of ``gym.make``
go to the base environment, except ``image_size``, ``view`` and
``view_radius_px`` (image id), ``max_height_m`` and ``actions``
(``"absolute"``, the default: NormalisedAction; ``"relative"``:
PromptRelativeAction) with ``radius_px``. Same seed, same observations: the wrappers draw no random numbers.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from graspsim.grasp import relative_unit_to_action, unit_to_action
from graspsim.geometry.image_stack import (IMAGE_CHANNELS, MAX_HEIGHT_M, POINT_SIGMA_PX, height_image, image_stack,
                                           prompt_channel)


class FlatPrompt(gym.ObservationWrapper):
    """One-level Dict of images and flat vectors (see the module docstring)."""

    def __init__(self, env: gym.Env, max_height_m: float = MAX_HEIGHT_M):
        super().__init__(env)
        base = env.observation_space
        if not isinstance(base, spaces.Dict) or "prompt" not in base.spaces:
            raise ValueError("FlatPrompt wraps a graspsim environment (a Dict observation with a 'prompt')")
        if not (np.isfinite(max_height_m) and max_height_m > 0):
            raise ValueError(f"max_height_m must be a positive number, got {max_height_m!r}")
        self.max_height_m = float(max_height_m)
        h, w = base["rgb"].shape[:2]
        prompt = base["prompt"]

        def flat(space: spaces.Box) -> spaces.Box:
            return spaces.Box(space.low.reshape(-1), space.high.reshape(-1), (int(np.prod(space.shape)),), space.dtype)

        self.observation_space = spaces.Dict({
            "rgb": base["rgb"],
            "height": spaces.Box(0, 255, (h, w, 1), np.uint8),
            "intrinsics": flat(base["intrinsics"]),
            "extrinsics": flat(base["extrinsics"]),
            **({"gripper": base["gripper"]} if "gripper" in base.spaces else {}),
            "prompt_kind": prompt["kind"],
            "prompt_points": flat(prompt["points"]),
            "prompt_labels": prompt["labels"],
            "prompt_box": prompt["box"],
            "prompt_mask": spaces.Box(0, 255, (h, w, 1), np.uint8),
            "prompt_text": prompt["text"],
        })

    def observation(self, observation: dict) -> dict:
        p = observation["prompt"]
        out = {
            "rgb": observation["rgb"],
            "height": height_image(observation, self.max_height_m)[..., None],
            "intrinsics": np.asarray(observation["intrinsics"], np.float32).reshape(-1),
            "extrinsics": np.asarray(observation["extrinsics"], np.float32).reshape(-1),
            "prompt_kind": p["kind"],
            "prompt_points": np.asarray(p["points"], np.float32).reshape(-1),
            "prompt_labels": p["labels"],
            "prompt_box": p["box"],
            "prompt_mask": (np.asarray(p["mask"]) > 0).astype(np.uint8)[..., None] * np.uint8(255),
            "prompt_text": p["text"],
        }
        if "gripper" in self.observation_space.spaces:
            out["gripper"] = observation["gripper"]
        return out


#: default reach of a prompt-relative action: this fraction of the image's longer side (40 px at 320)
RELATIVE_RADIUS = 0.125
#: default half side of the anchor view: this fraction of the image's longer side (80 px at 320)
VIEW_RADIUS = 2 * RELATIVE_RADIUS
ACTION_MODES = ("absolute", "relative")
VIEWS = ("full", "anchor")


class ImageObservation(gym.ObservationWrapper):
    """Channels-first uint8 ``(5, size, size)`` image: RGB, height, prompt, of the whole
    image or (``view="anchor"``) of a square around the prompt's anchor (module docstring)."""

    def __init__(self, env: gym.Env, size: int = 84, max_height_m: float = MAX_HEIGHT_M, point_sigma_px: float = POINT_SIGMA_PX,
                 view: str = "full", view_radius_px: float | None = None):
        super().__init__(env)
        if view not in VIEWS:
            raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
        if view == "full" and view_radius_px is not None:
            raise ValueError("view_radius_px applies to view='anchor' only")
        if view == "anchor":
            if view_radius_px is None:
                h, w = env.observation_space["rgb"].shape[:2]
                view_radius_px = VIEW_RADIUS * max(h, w)
            if not (isinstance(view_radius_px, (int, float, np.integer, np.floating)) and np.isfinite(view_radius_px)
                    and view_radius_px >= 1):
                raise ValueError(f"view_radius_px must be a number >= 1, got {view_radius_px!r}")
            view_radius_px = float(view_radius_px)
        self.view = view
        self.view_radius_px = view_radius_px
        if not (isinstance(size, (int, np.integer)) and 16 <= size <= 1024):
            raise ValueError(f"image size must be an integer in [16, 1024], got {size!r}")
        if not (np.isfinite(max_height_m) and max_height_m > 0):
            raise ValueError(f"max_height_m must be a positive number, got {max_height_m!r}")
        if not (np.isfinite(point_sigma_px) and point_sigma_px > 0):
            raise ValueError(f"point_sigma_px must be a positive number, got {point_sigma_px!r}")
        self.size = int(size)
        self.max_height_m = float(max_height_m)
        self.point_sigma_px = float(point_sigma_px)
        self.observation_space = spaces.Box(0, 255, (len(IMAGE_CHANNELS), self.size, self.size), np.uint8)

    def observation(self, observation: dict) -> np.ndarray:
        return image_stack(observation, self.size, self.max_height_m, self.point_sigma_px, self.view_radius_px)


class NormalisedAction(gym.ActionWrapper):
    """Actions in [-1, 1]^4 mapped linearly onto the wrapped action box."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        box = env.action_space
        if not isinstance(box, spaces.Box) or not (np.isfinite(box.low).all() and np.isfinite(box.high).all()):
            raise ValueError(f"{type(self).__name__} wraps an environment with a bounded Box action space")
        self._low = box.low.astype(np.float64)
        self._high = box.high.astype(np.float64)
        self.action_space = spaces.Box(-1.0, 1.0, box.shape, np.float32)

    def action(self, action) -> np.ndarray:
        return unit_to_action(action, self._low, self._high)


class PromptRelativeAction(NormalisedAction):
    """Actions in [-1, 1]^4 as offsets from the prompt's anchor pixel (module docstring); the
    action box's checks and bounds are :class:`NormalisedAction`'s."""

    def __init__(self, env: gym.Env, radius_px: float | None = None):
        super().__init__(env)
        if radius_px is None:
            radius_px = RELATIVE_RADIUS * max(self._high[0] + 1, self._high[1] + 1)
        self.radius_px = float(radius_px)
        relative_unit_to_action(np.zeros(4), (0.0, 0.0), self.radius_px, self._low, self._high)  # validates it

    def action(self, action) -> np.ndarray:
        from graspsim.prompts import prompt_anchor

        prompt = getattr(self.env.unwrapped, "prompt", None)
        if prompt is None:
            raise ValueError("PromptRelativeAction needs the environment's current prompt: call reset() first")
        return relative_unit_to_action(action, prompt_anchor(prompt), self.radius_px, self._low, self._high)


def _action_wrapper(env: gym.Env, actions: str, radius_px: float | None) -> gym.Env:
    if actions not in ACTION_MODES:
        raise ValueError(f"actions must be one of {ACTION_MODES}, got {actions!r}")
    if actions == "relative":
        return PromptRelativeAction(env, radius_px)
    if radius_px is not None:
        raise ValueError("radius_px applies to actions='relative' only")
    return NormalisedAction(env)


def make_image_env(image_size: int = 84, max_height_m: float = MAX_HEIGHT_M, actions: str = "absolute",
                   radius_px: float | None = None, view: str = "full", view_radius_px: float | None = None,
                   **kwargs) -> gym.Env:
    """``graspsim/PromptedGraspImage-v0``: PromptedGrasp-v0 + ImageObservation (``view``)
    + NormalisedAction (or PromptRelativeAction with ``actions="relative"``)."""
    from graspsim.envs.prompted_grasp import PromptedGraspEnv

    image = ImageObservation(PromptedGraspEnv(**kwargs), image_size, max_height_m, view=view, view_radius_px=view_radius_px)
    return _action_wrapper(image, actions, radius_px)


def make_flat_env(max_height_m: float = MAX_HEIGHT_M, actions: str = "absolute", radius_px: float | None = None,
                  **kwargs) -> gym.Env:
    """``graspsim/PromptedGraspFlat-v0``: PromptedGrasp-v0 + FlatPrompt + NormalisedAction
    (or PromptRelativeAction with ``actions="relative"``)."""
    from graspsim.envs.prompted_grasp import PromptedGraspEnv

    return _action_wrapper(FlatPrompt(PromptedGraspEnv(**kwargs), max_height_m), actions, radius_px)


__all__ = ["ACTION_MODES", "FlatPrompt", "IMAGE_CHANNELS", "ImageObservation", "NormalisedAction", "PromptRelativeAction",
           "RELATIVE_RADIUS", "VIEWS", "VIEW_RADIUS", "make_flat_env", "make_image_env", "height_image", "prompt_channel"]

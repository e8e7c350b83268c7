"""``sb3-ppo`` / ``sb3-sac``: a Stable-Baselines3 agent trained on ``graspsim/PromptedGraspImage-v0``.

``make("sb3-ppo", checkpoint="runs/sb3-ppo-single/model.zip")`` (or
``--policy sb3-ppo@runs/.../model.zip``) loads an agent saved by
``examples/sb3_image.py`` (SB3's ``model.zip``) and runs it as a policy:
each observation is encoded exactly as the image environment encodes it
(:func:`graspsim.geometry.image_stack.image_stack`, at the agent's own
image size, with the wrapper's default height scale and point blob), the
agent's deterministic action in [-1, 1]^4 is mapped onto the observation's
action bounds (:func:`graspsim.grasp.unit_to_action`), as
``NormalisedAction`` does in training -- or, for an agent trained with
prompt-relative actions (``PromptRelativeAction``), as offsets from the prompt's
anchor pixel (:func:`graspsim.grasp.relative_unit_to_action`). Which mapping an
agent learned is read from ``model.json`` beside its ``model.zip`` (written by
the example: ``{"actions": "relative", "radius_px": 40.0}``); without that
file, absolute. An agent trained on the anchor view (``view="anchor"``) has
``"view_radius_px"`` there too, and sees the same crop around the prompt's
anchor. Needs the ``rl`` extra
(``pip install -e ".[rl]"``). It does not accept text prompts (the
benchmark refuses a text run before any episode): the image environment
draws no text, so the agent never saw one.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from graspsim.geometry.image_stack import IMAGE_CHANNELS, MAX_HEIGHT_M, POINT_SIGMA_PX, image_stack
from graspsim.grasp import action_bounds, relative_unit_to_action, unit_to_action

from .base import BasePolicy

ALGORITHMS = ("ppo", "sac")


class SB3Policy(BasePolicy):
    """A trained SB3 agent (``algo`` "ppo" or "sac") from its ``model.zip``."""

    accepts_text = False

    def __init__(self, checkpoint=None, algo: str = "ppo", max_height_m: float = MAX_HEIGHT_M,
                 point_sigma_px: float = POINT_SIGMA_PX, device: str = "cpu", seed: int | None = None):
        if algo not in ALGORITHMS:
            raise ValueError(f"algo must be one of {ALGORITHMS}, got {algo!r}")
        if checkpoint is None:
            raise ValueError(f"sb3-{algo} needs checkpoint= (an agent's model.zip from examples/sb3_image.py); "
                             "none ships with graspsim")
        path = Path(checkpoint)
        if not path.is_file():
            raise ValueError(f"SB3 checkpoint {str(path)!r} does not exist")
        try:
            import stable_baselines3 as sb3
        except ImportError as e:
            raise ImportError("the sb3 policies need Stable-Baselines3: pip install -e \".[rl]\"") from e
        try:
            self.agent = {"ppo": sb3.PPO, "sac": sb3.SAC}[algo].load(path, device=device)
        except Exception as e:  # SB3 raises assorted errors for a wrong or corrupt file
            raise ValueError(f"SB3 checkpoint {str(path)!r} is not a {algo.upper()} agent: {e}") from e
        shape = tuple(self.agent.observation_space.shape or ())
        if len(shape) != 3 or shape[0] != len(IMAGE_CHANNELS) or shape[1] != shape[2]:
            raise ValueError(f"SB3 checkpoint {str(path)!r} observes {shape}, not the image environment's "
                             f"({len(IMAGE_CHANNELS)}, S, S)")
        self.name = f"sb3-{algo}"
        self.actions, self.radius_px, self.view_radius_px = _action_mapping(path)
        self.size = int(shape[1])
        self.max_height_m = float(max_height_m)
        self.point_sigma_px = float(point_sigma_px)
        super().__init__(seed)

    def act(self, observation: dict) -> np.ndarray:
        image = image_stack(observation, self.size, self.max_height_m, self.point_sigma_px, self.view_radius_px)
        unit, _ = self.agent.predict(image, deterministic=True)
        h, w = np.asarray(observation["depth"]).shape[:2]
        self.last_maps = {"image": image}
        if self.actions == "relative":
            from graspsim.prompts import Prompt, prompt_anchor

            anchor = prompt_anchor(Prompt.from_observation(observation["prompt"]))
            return relative_unit_to_action(unit, anchor, self.radius_px, *action_bounds(w, h))
        return unit_to_action(unit, *action_bounds(w, h))


def _action_mapping(checkpoint: Path) -> tuple[str, float | None, float | None]:
    """(actions, radius_px, view_radius_px) from the ``model.json`` beside the agent:
    ("absolute", None, None) without one; radius_px for relative actions, view_radius_px
    for the anchor view (None for the whole image)."""
    meta_path = checkpoint.with_suffix(".json")
    if not meta_path.is_file():
        return "absolute", None, None
    try:
        meta = json.loads(meta_path.read_text())
    except ValueError as e:
        raise ValueError(f"{meta_path}: not JSON ({e})") from e
    actions = meta.get("actions", "absolute")
    if actions not in ("absolute", "relative"):
        raise ValueError(f"{meta_path}: actions must be 'absolute' or 'relative', got {actions!r}")
    view = meta.get("view", "full")
    if view not in ("full", "anchor"):
        raise ValueError(f"{meta_path}: view must be 'full' or 'anchor', got {view!r}")
    radius = _positive(meta, "radius_px", meta_path) if actions == "relative" else None
    view_radius = _positive(meta, "view_radius_px", meta_path) if view == "anchor" else None
    return actions, radius, view_radius


def _positive(meta: dict, key: str, meta_path: Path) -> float:
    value = meta.get(key)
    if not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{meta_path}: {key} must be a positive number, got {value!r}")
    return float(value)


__all__ = ["ALGORITHMS", "SB3Policy"]

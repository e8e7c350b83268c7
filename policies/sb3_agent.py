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
anchor. A checkpoint may also be the policy network alone (``.pth``, written by
:func:`export_policy` in half precision: about a sixth of ``model.zip``'s size, no
optimiser state). One ships: ``make("sb3-ppo")`` without a checkpoint runs
:data:`SHIPPED_AGENT` (PPO, prompt-relative actions, anchor view, trained on
single then pile scenes of primitives; see ``checkpoints/MODEL_CARD.md``). Needs the ``rl`` extra
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
#: the PPO agent that ships (policy network in half precision, with its model card)
SHIPPED_AGENT = Path(__file__).resolve().parent / "checkpoints" / "sb3_ppo_anchor_primitives.pth"


class SB3Policy(BasePolicy):
    """A trained SB3 agent (``algo`` "ppo" or "sac") from its ``model.zip``, or its policy
    network alone (``.pth`` from :func:`export_policy`); no checkpoint: :data:`SHIPPED_AGENT`."""

    accepts_text = False

    def __init__(self, checkpoint=None, algo: str = "ppo", max_height_m: float = MAX_HEIGHT_M,
                 point_sigma_px: float = POINT_SIGMA_PX, device: str = "cpu", seed: int | None = None):
        if algo not in ALGORITHMS:
            raise ValueError(f"algo must be one of {ALGORITHMS}, got {algo!r}")
        if checkpoint is None:
            if algo != "ppo":
                raise ValueError(f"sb3-{algo} needs checkpoint= (an agent's model.zip from examples/sb3_image.py); "
                                 "only a PPO agent ships with graspsim")
            checkpoint = SHIPPED_AGENT
        path = Path(checkpoint)
        if not path.is_file():
            raise ValueError(f"SB3 checkpoint {str(path)!r} does not exist")
        self.agent = _load_agent(path, algo, device)
        shape = tuple(self.agent.observation_space.shape or ())
        if len(shape) != 3 or shape[0] != len(IMAGE_CHANNELS) or shape[1] != shape[2]:
            raise ValueError(f"SB3 checkpoint {str(path)!r} observes {shape}, not the image environment's "
                             f"({len(IMAGE_CHANNELS)}, S, S)")
        self.name = f"sb3-{algo}"
        self.actions, self.radius_px, self.view_radius_px = _action_mapping(path.with_suffix(".json"))
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


def _sb3():
    try:
        import stable_baselines3 as sb3
    except ImportError as e:
        raise ImportError("the sb3 policies need Stable-Baselines3: pip install -e \".[rl]\"") from e
    return sb3


def _policy_class(algo: str):
    """SB3's CNN policy class of ``algo`` (what ``"CnnPolicy"`` names in training)."""
    _sb3()
    from stable_baselines3.common.policies import ActorCriticCnnPolicy
    from stable_baselines3.sac.policies import CnnPolicy as SACCnnPolicy

    return {"ppo": ActorCriticCnnPolicy, "sac": SACCnnPolicy}[algo]


def _load_agent(path: Path, algo: str, device: str):
    """A whole SB3 agent (``model.zip``) or its policy network alone (``.pth``); both predict."""
    sb3 = _sb3()
    try:
        if path.suffix == ".pth":
            return _policy_class(algo).load(str(path), device=device)
        return {"ppo": sb3.PPO, "sac": sb3.SAC}[algo].load(path, device=device)
    except Exception as e:  # SB3 and torch raise assorted errors for a wrong or corrupt file
        raise ValueError(f"SB3 checkpoint {str(path)!r} is not a {algo.upper()} agent: {e}") from e


def export_policy(model_zip, out, algo: str = "ppo", meta=None) -> Path:
    """Write the policy network of the agent in ``model_zip`` to ``out`` (``.pth``) in half
    precision, and its action mapping (``meta``, default the ``.json`` beside ``model_zip``)
    as ``out``'s ``.json``. :class:`SB3Policy` runs the result like the agent (the
    unit actions agree to about 1e-3). Returns ``out``."""
    import copy

    model_zip, out = Path(model_zip), Path(out)
    if out.suffix != ".pth":
        raise ValueError(f"export_policy writes a .pth file, got {str(out)!r}")
    actions, radius, view_radius = _action_mapping(Path(meta) if meta is not None else model_zip.with_suffix(".json"))
    agent = _load_agent(model_zip, algo, "cpu")
    out.parent.mkdir(parents=True, exist_ok=True)
    copy.deepcopy(agent.policy).half().save(str(out))
    out.with_suffix(".json").write_text(json.dumps(mapping_record(actions, radius, view_radius)))
    return out


def warm_start(model, checkpoint, algo: str, mapping: dict) -> None:
    """Copy the policy network of ``checkpoint`` (an agent's ``model.zip`` or an exported
    ``.pth``) into ``model.policy``, the network of a new agent about to train, in float32.
    ``mapping`` is the new agent's :func:`mapping_record`; the checkpoint's own record (its
    ``.json``) must equal it, and the observation spaces must agree. Optimiser state, step
    counts and the replay buffer are not carried over. ValueError naming the file otherwise."""
    path = Path(checkpoint)
    if not path.is_file():
        raise ValueError(f"SB3 checkpoint {str(path)!r} does not exist")
    own = mapping_record(*_action_mapping(path.with_suffix(".json")))  # no .json: absolute, as SB3Policy reads it
    if own != mapping:
        raise ValueError(f"SB3 checkpoint {str(path)!r} maps actions and image as {own}, not as this run: {mapping}")
    source = _load_agent(path, algo, "cpu")
    source_policy = getattr(source, "policy", source)
    if source_policy.observation_space != model.observation_space:
        raise ValueError(f"SB3 checkpoint {str(path)!r} observes {source_policy.observation_space}, "
                         f"not this run's {model.observation_space}")
    model.policy.load_state_dict({k: v.float() for k, v in source_policy.state_dict().items()})


def mapping_record(actions: str, radius_px: float | None = None, view_radius_px: float | None = None) -> dict:
    """The ``model.json`` record of how an agent's actions and image map (what
    :class:`SB3Policy` reads back): ``actions``, with ``radius_px`` for relative actions,
    and ``view``/``view_radius_px`` for the anchor view."""
    record = {"actions": actions}
    if radius_px is not None:
        record["radius_px"] = float(radius_px)
    if view_radius_px is not None:
        record.update(view="anchor", view_radius_px=float(view_radius_px))
    return record


def _action_mapping(meta_path: Path) -> tuple[str, float | None, float | None]:
    """(actions, radius_px, view_radius_px) from an agent's ``model.json``:
    ("absolute", None, None) without one; radius_px for relative actions, view_radius_px
    for the anchor view (None for the whole image)."""
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


__all__ = ["ALGORITHMS", "SHIPPED_AGENT", "SB3Policy", "export_policy", "mapping_record", "warm_start"]

"""One benchmark episode as a self-contained task, and the worker-side code that runs it.

An :class:`EpisodeTask` names everything an episode depends on (policy and
its arguments, environment and its arguments, prompt kind, seed, and the
scene for suite episodes), so :func:`run_episode` gives the same record in
any process: the environment is reset with ``seed`` (or the suite scene),
the policy with ``seed``, and policies run with one torch thread. Workers
cache one environment and their policies between tasks.

An episode record (one JSON line of ``episodes.jsonl``) holds: ``key``
(``policy/prompt/episode``), ``policy``, ``prompt_kind``, ``episode``,
``seed``, ``scene_id``, ``suite``, ``objects``, ``layout``, ``gripper`` (its name), ``target_id``,
``target_name``, ``target_category``, ``target_appearance`` (the target's colour group,
:func:`graspsim.appearance.target_colour_group`: "achromatic-light",
"achromatic-dark", "chromatic" or "textured", from the scene's appearance or
else the catalogue colour), ``prompt`` (the prompt's dict),
``action`` (u, v, angle, opening_px), ``grasp`` (executed world grasp x, y,
z [m], yaw [rad], opening [m], or null), ``success``, ``failure_mode``,
``lifted_ids``, the entries of every per-grasp metric
(:mod:`graspsim.grasp_metrics`; the rectangle metric's ``rect_success`` /
``rect_iou`` / ``rect_angle_error_deg``, null when the target is unlabelled), ``timings_ms`` (environment parts and
``policy_ms``), ``target_mask_iou`` (when the policy predicts a mask of the
prompted object, ``last_maps["mask"]``: its IoU with the target's visible
mask in the observation; a mask IoU of at least 0.5 counts as picking the
target), ``grounder`` (text prompts: who read the phrase), ``error`` (null, or the text of a crash), ``scene`` (the
scene spec without labels) and, for ``Declutter-v0`` (where the attempt
fields above are those of the round's first grasp), ``attempts``,
``successes``, ``objects_presented``, ``objects_removed``,
``grasp_success_rate``, ``declutter_rate`` and ``steps`` (per attempt:
target, action, success, failure mode).
"""

from __future__ import annotations

import json
import re
import sys
import time
from dataclasses import dataclass

import numpy as np

from graspsim.grasp_metrics import active_metrics

ENVS = {"prompted": "graspsim/PromptedGrasp-v0", "declutter": "graspsim/Declutter-v0"}


@dataclass(frozen=True)
class EpisodeTask:
    """Everything one episode depends on (picklable; JSON fields keep it hashable).

    policy: a registered policy name or ``"module:attribute"`` (a factory).
    label: the policy's name in the results (the same policy with other
        arguments needs another label).
    env: ``"prompted"`` or ``"declutter"``; env_kwargs: JSON object of the
        environment's constructor arguments (the prompt kind goes to reset).
    scene: a suite scene's dict (episode ``episode`` replays it) or None
        (the scene is generated from ``seed``). figure: a PNG path or None.
    video: an MP4 path for a replay of the (first) grasp from an oblique camera,
        or None; video_mode: ``"all"`` or ``"failures"`` (only failed grasps).
    """

    policy: str
    policy_kwargs: str
    label: str
    env: str
    env_kwargs: str
    prompt: str
    episode: int
    seed: int
    scene_id: str
    suite: str | None = None
    scene: dict | None = None
    figure: str | None = None
    video: str | None = None
    video_mode: str = "all"

    @property
    def key(self) -> str:
        return episode_key(self.label, self.prompt, self.episode)


def episode_key(label: str, prompt: str, episode: int) -> str:
    return f"{label}/{prompt}/{episode}"


def safe_name(label: str) -> str:
    """A policy label as a file or folder name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("_") or "policy"


_ENV: dict = {}
_POLICIES: dict = {}


def preload_policy(task_policy: str, policy_kwargs: str, instance) -> tuple:
    """Use ``instance`` for tasks with these policy fields (in-process runs only); returns its key."""
    _POLICIES[(task_policy, policy_kwargs)] = instance
    return (task_policy, policy_kwargs)


def forget_policy(key: tuple) -> None:
    _POLICIES.pop(key, None)


def set_torch_threads(n: int | None) -> int | None:
    """Set torch's CPU threads when torch is loaded; returns the previous count (None
    without torch). Policies act with one thread so that results do not depend on
    how episodes are spread over processes."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    previous = torch.get_num_threads()
    if n is not None and n != previous:
        torch.set_num_threads(n)
    return previous


def _environment(task: EpisodeTask):
    import gymnasium as gym

    import graspsim  # noqa: F401  (registers the environments)

    key = (task.env, task.env_kwargs)
    if _ENV.get("key") != key:
        if "env" in _ENV:
            _ENV.pop("env").close()
        _ENV["env"] = gym.make(ENVS[task.env], render_mode="rgb_array", **json.loads(task.env_kwargs)).unwrapped
        _ENV["key"] = key
    return _ENV["env"]


def _policy(task: EpisodeTask):
    from graspsim import policies

    key = (task.policy, task.policy_kwargs)
    if key not in _POLICIES:
        _POLICIES[key] = policies.make(task.policy, **json.loads(task.policy_kwargs))
    return _POLICIES[key]


def _grounding_context(env) -> dict:
    """What the simulator's grounder may know of the scene: the segmentation of the
    current frame and the catalogue names, categories and colours of its objects."""
    from graspsim.grounding import catalogue_context
    from graspsim.objects import get_object_set

    return catalogue_context(env.frame["segmentation"], env.world.names, get_object_set(env.spec_scene.object_set),
                             scene=env.spec_scene)


def _category(object_set: str, name: str) -> str:
    from graspsim.objects import get_object_set

    try:
        return get_object_set(object_set).get(name).category
    except (KeyError, ValueError):
        return ""


def _target_appearance(scene: dict, target_id: int, target_name: str) -> str:
    from graspsim.appearance import target_colour_group

    colour = None
    if scene.get("appearance") is None and target_id >= 0:
        from graspsim.objects import get_object_set

        try:
            colour = get_object_set(scene["object_set"]).get(target_name).colour
        except (KeyError, ValueError):
            return ""
    return target_colour_group(scene, target_id, colour)


def _act(env, policy, obs, prompt_kind: str):
    if prompt_kind == "text" and hasattr(policy, "set_context"):
        policy.set_context(_grounding_context(env))
    set_torch_threads(1)
    t0 = time.perf_counter()
    action = policy.act(obs)
    return np.asarray(action, np.float32), (time.perf_counter() - t0) * 1e3


def _target_mask_iou(policy, env) -> float | None:
    """IoU of the policy's predicted mask (``last_maps["mask"]``) with the target's visible
    mask in the frame the policy acted on; None when the policy predicts no mask."""
    from graspsim.metric import mask_iou

    mask = (getattr(policy, "last_maps", None) or {}).get("mask")
    if mask is None or env.target is None:
        return None
    target = env.frame["segmentation"] == env.target + 1
    if np.shape(mask) != target.shape:
        return None
    return round(mask_iou(mask, target), 4)


def _attempt_fields(info: dict) -> dict:
    return {
        "grasp": None if np.isnan(info["grasp"]).any() else np.round(info["grasp"], 5).tolist(),
        "success": bool(info["success"]),
        "failure_mode": info["failure_mode"] or None,
        "lifted_ids": [int(i) for i in info["lifted_ids"]],
        **{k: v for metric in active_metrics() for k, v in metric.record_fields(info).items()},
    }


def run_episode(task: EpisodeTask) -> dict:
    """Run one episode and return its record (see the module docstring)."""
    started = time.perf_counter()
    env = _environment(task)
    policy = _policy(task)
    options = {"prompt": task.prompt}
    if task.scene is not None:
        options["scene"] = task.scene
    obs, reset_info = env.reset(seed=task.seed, options=options)
    policy.reset(task.seed)
    scene = {k: v for k, v in reset_info["scene"].items() if k != "labels"}
    record = {
        "key": task.key, "policy": task.label, "prompt_kind": task.prompt, "episode": task.episode,
        "seed": task.seed, "scene_id": task.scene_id, "suite": task.suite,
        "objects": scene["object_set"], "layout": scene["layout"], "gripper": reset_info["gripper"],
        "target_id": reset_info["target_id"], "target_name": reset_info["target_name"],
        "target_category": _category(scene["object_set"], reset_info["target_name"]),
        "target_appearance": _target_appearance(scene, reset_info["target_id"], reset_info["target_name"]),
        "prompt": reset_info["prompt"],
    }
    if task.prompt == "text":  # who read the phrase: "catalogue" is an oracle (graspsim.grounding)
        record["grounder"] = getattr(policy, "grounder_name", None)
    first_obs, first_prompt = obs, env.prompt
    env.record_replay = task.video is not None
    action, policy_ms = _act(env, policy, obs, task.prompt)
    iou = _target_mask_iou(policy, env)
    obs, _, terminated, truncated, info = env.step(action)
    record.update(action=np.round(action.astype(float), 4).tolist(), **_attempt_fields(info))
    if iou is not None:
        record["target_mask_iou"] = iou
    if task.video is not None:
        env.record_replay = False
        if env.last_replay and (task.video_mode == "all" or not info["success"]):
            from graspsim.figures import write_video

            outcome = "lifted" if info["success"] else (info["failure_mode"] or "failed")
            write_video(task.video, env.last_replay,
                        [f"{task.label} / {task.prompt}: {record['target_name']}", f"{task.scene_id}: {outcome}"])
            record["video"] = task.video
    timings = {**{k: round(float(v), 2) for k, v in env.timings.items()}, "policy_ms": round(policy_ms, 2)}
    figure_args = (first_obs["rgb"], first_prompt, dict(getattr(policy, "last_maps", {}) or {}), env.last_grasp, info["success"])
    if task.env == "declutter":
        steps = [{"target_id": record["target_id"], "action": record["action"], "success": record["success"],
                  "failure_mode": record["failure_mode"]}]
        latencies = [policy_ms]
        while not (terminated or truncated):
            target = int(info["next_target_id"])
            action, ms = _act(env, policy, obs, task.prompt)
            latencies.append(ms)
            obs, _, terminated, truncated, info = env.step(action)
            steps.append({"target_id": target, "action": np.round(action.astype(float), 4).tolist(),
                          "success": bool(info["success"]), "failure_mode": info["failure_mode"] or None})
        record.update({k: info[k] for k in ("attempts", "successes", "objects_presented", "objects_removed",
                                             "grasp_success_rate", "declutter_rate")})
        record["steps"] = steps
        timings["policy_ms"] = round(float(np.median(latencies)), 2)
    if task.figure is not None:
        _save_figure(task.figure, *figure_args)
    timings["episode_ms"] = round((time.perf_counter() - started) * 1e3, 2)
    record["timings_ms"] = timings
    record["error"] = None
    record["scene"] = scene
    return record


def _save_figure(path: str, rgb, prompt, maps: dict, grasp, success) -> None:
    from pathlib import Path

    from graspsim.figures import episode_figure, model_figure, save_png

    if "mask" in maps and "quality" in maps:  # a model's figure: RGB | prompt | mask | grasp | quality
        fig = model_figure(rgb, prompt, maps["mask"], grasp, maps["quality"], success)
    else:
        fig = episode_figure(rgb, prompt, grasp, success)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_png(path, fig)


def error_record(task: EpisodeTask, error: str) -> dict:
    """The record of an episode that did not finish (its worker crashed, timed out or raised)."""
    return {
        "key": task.key, "policy": task.label, "prompt_kind": task.prompt, "episode": task.episode,
        "seed": task.seed, "scene_id": task.scene_id, "suite": task.suite, "success": None,
        "failure_mode": None, **{m.rate_key: None for m in active_metrics() if m.rate_key}, "error": error,
    }

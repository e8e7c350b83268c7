"""``graspsim/Declutter-v0``: grasp objects one at a time until the scene is clear.

Each step prompts for one visible object (a new target after every attempt)
and executes the action as in PromptedGrasp-v0. Every object lifted by a
grasp is removed from the scene, the rest settles, and a new observation is
rendered. As in VGN's clutter-removal protocol the round ends when the scene
is cleared or after two failed grasps in a row (terminated), or after
``max_attempts`` grasps (truncated; default 2 x the number of objects).

Observation and action: as PromptedGrasp-v0 (the default layout is a pile
of 5 objects); so are the constructor keywords and reset options, ``appearance``
("catalogue" or "randomised") among them. Reward: 1.0 per successful grasp of the prompted target.
Info (step): the PromptedGrasp-v0 step keys for the attempt, plus attempts,
successes, objects_presented, objects_removed, grasp_success_rate
(successes / attempts) and declutter_rate (objects removed by grasps /
objects presented), as VGN defines them.
"""

from __future__ import annotations

from graspsim.envs.scene_env import SceneEnv


class DeclutterEnv(SceneEnv):
    """Clutter removal with prompted grasps (see the module docstring)."""

    def __init__(self, layout: str = "pile", object_count=5, max_attempts: int | None = None, **kwargs):
        super().__init__(layout=layout, object_count=object_count, **kwargs)
        if max_attempts is not None and not (isinstance(max_attempts, int) and max_attempts >= 1):
            raise ValueError(f"max_attempts must be None or a positive integer, got {max_attempts!r}")
        self.max_attempts = max_attempts

    def reset(self, *, seed=None, options=None):
        config = self._start_episode(seed, options)
        self._config = config
        self._choose_target(config, (options or {}).get("target"))
        self.presented = len(self.world.objects)
        self.removed = 0
        self.attempts = 0
        self.successes = 0
        self.failures_in_a_row = 0
        self._done = self.target is None
        info = {**self._target_info(), "scene": self.spec_scene.to_dict(), "prompt": self.prompt.to_dict(),
                "gripper": self.gripper.name}
        return self._observation(), info

    def _stats(self) -> dict:
        return {
            "attempts": self.attempts,
            "successes": self.successes,
            "objects_presented": self.presented,
            "objects_removed": self.removed,
            "grasp_success_rate": self.successes / self.attempts if self.attempts else 0.0,
            "declutter_rate": self.removed / self.presented if self.presented else 0.0,
        }

    def step(self, action):
        if getattr(self, "_done", True):
            raise RuntimeError("the round is over: call reset()")
        grasp, outcome, info = self._execute(action)
        self.attempts += 1
        if outcome.success:
            self.successes += 1
            self.failures_in_a_row = 0
        else:
            self.failures_in_a_row += 1
        for index in outcome.lifted_ids:
            self.world.remove_object(index)
            self.removed += 1
        self.world.settle(max_time=1.5)
        for index in self.world.out_of_workspace():
            self.world.remove_object(index)
        self._choose_target(self._config)
        cap = self.max_attempts or 2 * self.presented
        terminated = self.target is None or self.failures_in_a_row >= 2
        truncated = not terminated and self.attempts >= cap
        self._done = terminated or truncated
        info.update(self._stats())
        info["next_target_id"] = -1 if self.target is None else int(self.target)
        reward = 1.0 if outcome.success else 0.0
        return self._observation(), reward, terminated, truncated, info

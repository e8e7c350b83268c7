"""``graspsim/Declutter-v0`` bookkeeping (envs/declutter.py): the VGN clutter-removal rules and the
round's counters, with the executor scripted so each rule is hit exactly (the scene, its rendering
and the target choice are real). Written for the survivors of the module's mutation run
(docs/tests.md, "Mutation testing"); tests/test_envs.py runs rounds with real grasps."""

from __future__ import annotations

import numpy as np
import pytest

from graspsim.envs.declutter import DeclutterEnv
from graspsim.sim.executor import Outcome

ACTION = np.array([160.0, 160.0, 0.0, 30.0], np.float32)


def scripted_env(script, **kwargs):
    """A packed 3-object round whose attempts end as ``script`` says: (success, lifted: "target" | "all" |
    "none"), in order; the grasp itself is not simulated."""
    env = DeclutterEnv(prompt="point", object_count=3, layout="packed", **kwargs)
    steps = iter(script)

    def execute(grasp, target):
        success, lifted = next(steps)
        ids = {"target": [target], "all": sorted(env.world.objects), "none": []}[lifted]
        return Outcome(success, None if success else "slipped", target, lifted_ids=ids, timings={"total": 1.0})

    env.executor.execute = execute
    return env


def test_defaults_and_max_attempts_check():
    env = DeclutterEnv()
    assert env.config.layout == "pile" and env.config.object_count == (5, 5) and env.max_attempts is None
    env.close()
    assert DeclutterEnv(max_attempts=1, object_count=2).max_attempts == 1
    env = DeclutterEnv(layout="packed", object_count=2, prompt="mask", width=160, height=120)
    assert (env.config.layout, env.config.object_count, env.config.prompt) == ("packed", (2, 2), "mask")
    assert env.observation_space["rgb"].shape[:2] == (120, 160)
    env.close()
    for bad in (0, -1, 2.0, "3"):
        with pytest.raises(ValueError, match=f"max_attempts must be None or a positive integer, got {bad!r}"):
            DeclutterEnv(max_attempts=bad, object_count=2)


def test_a_round_counts_attempts_successes_and_removed_objects():
    env = scripted_env([(True, "target"), (False, "none"), (True, "all")])
    _, info = env.reset(seed=3)
    assert env.presented == 3
    assert set(info) >= {"target_id", "target_name", "scene", "prompt", "gripper"}
    assert info["target_id"] in env.world.objects and info["gripper"] == "franka"
    first = info["target_id"]
    _, reward, term, trunc, info = env.step(ACTION)
    assert (reward, term, trunc) == (1.0, False, False)
    assert first not in env.world.objects and len(env.world.objects) == 2
    assert {k: info[k] for k in ("attempts", "successes", "objects_presented", "objects_removed",
                                 "grasp_success_rate", "declutter_rate")} == {
        "attempts": 1, "successes": 1, "objects_presented": 3, "objects_removed": 1,
        "grasp_success_rate": 1.0, "declutter_rate": pytest.approx(1 / 3)}
    assert info["next_target_id"] == env.target and env.target in env.world.objects
    _, reward, term, trunc, info = env.step(ACTION)
    assert (reward, term, trunc) == (0.0, False, False)  # one failure does not end the round
    assert (info["attempts"], info["successes"], info["objects_removed"]) == (2, 1, 1)
    assert info["grasp_success_rate"] == 0.5
    _, reward, term, trunc, info = env.step(ACTION)  # lifts both objects left: the scene is clear
    assert (reward, term, trunc) == (1.0, True, False)
    assert (info["attempts"], info["successes"], info["objects_removed"]) == (3, 2, 3)
    assert info["grasp_success_rate"] == pytest.approx(2 / 3) and info["declutter_rate"] == 1.0
    assert info["next_target_id"] == -1 and env.target is None
    with pytest.raises(RuntimeError, match=r"^the round is over: call reset\(\)$"):
        env.step(ACTION)
    env.close()


def test_two_failures_in_a_row_end_the_round_a_success_between_them_does_not():
    env = scripted_env([(False, "none"), (True, "none"), (False, "none"), (False, "none")])
    env.reset(seed=3)
    results = [env.step(ACTION)[2:4] for _ in range(4)]
    assert results == [(False, False), (False, False), (False, False), (True, False)]
    assert env.failures_in_a_row == 2 and env.attempts == 4 and env.successes == 1
    env.close()


def test_the_default_cap_is_twice_the_objects_presented():
    """Attempts that never fail twice in a row and remove nothing: truncated at 2 x 3 attempts exactly."""
    env = scripted_env([(True, "none")] * 6)
    env.reset(seed=3)
    flags = [env.step(ACTION)[2:4] for _ in range(6)]
    assert flags == [(False, False)] * 5 + [(False, True)]
    env.close()
    env = scripted_env([(True, "none")] * 2, max_attempts=2)
    env.reset(seed=3)
    assert [env.step(ACTION)[2:4] for _ in range(2)] == [(False, False), (False, True)]
    env.close()


def test_the_round_ending_on_the_cap_and_a_failure_pair_together_is_terminated():
    env = scripted_env([(False, "none"), (False, "none")], max_attempts=2)
    env.reset(seed=3)
    env.step(ACTION)
    assert env.step(ACTION)[2:4] == (True, False)
    env.close()


def test_reset_starts_a_new_round():
    env = scripted_env([(True, "target"), (False, "none"), (False, "none")])
    env.reset(seed=3)
    env.step(ACTION)
    env.step(ACTION)
    env.reset(seed=4)
    assert (env.attempts, env.successes, env.removed, env.failures_in_a_row, env.presented) == (0, 0, 0, 0, 3)
    _, _, term, trunc, info = env.step(ACTION)  # one failure after the reset: the count restarted
    assert not (term or trunc) and info["attempts"] == 1 and info["objects_removed"] == 0
    env.close()


def test_an_object_knocked_out_of_the_workspace_is_removed_but_not_counted():
    env = scripted_env([(False, "none")])
    env.reset(seed=3)
    import pybullet as p

    def knock_off(grasp, target):
        other = next(i for i in sorted(env.world.objects) if i != target)
        p.resetBasePositionAndOrientation(env.world.objects[other], [0.6, 0.0, 0.05], [0, 0, 0, 1],
                                          physicsClientId=env.world.client)
        return Outcome(False, "missed_target", target, timings={"total": 1.0})

    env.executor.execute = knock_off
    _, _, _, _, info = env.step(ACTION)
    assert len(env.world.objects) == 2 and info["objects_removed"] == 0 and info["objects_presented"] == 3
    env.close()


def test_stepping_before_reset_is_refused():
    env = DeclutterEnv(object_count=2)
    with pytest.raises(RuntimeError, match=r"^the round is over: call reset\(\)$"):
        env.step(ACTION)
    env.close()


def test_reset_options_choose_the_scene_and_the_target():
    from graspsim.scene import SceneSpec

    env = scripted_env([])
    _, info = env.reset(seed=3)
    spec = env.spec_scene
    others = sorted(i for i in env.world.objects if i != info["target_id"])
    _, info = env.reset(seed=8, options={"scene": spec.to_dict(), "target": others[0]})
    assert env.spec_scene == spec and info["target_id"] == env.target == others[0]
    # a scene with nothing to grasp: the round is over at once
    _, info = env.reset(seed=8, options={"scene": SceneSpec("primitives", "packed", None, ())})
    assert info["target_id"] == -1 and env.presented == 0
    with pytest.raises(RuntimeError, match=r"^the round is over: call reset\(\)$"):
        env.step(ACTION)
    env.close()


def test_after_an_attempt_the_rest_settles_for_at_most_one_and_a_half_seconds(monkeypatch):
    from graspsim.sim.world import World

    env = scripted_env([(True, "target")])
    env.reset(seed=3)
    times = []
    real = World.settle
    monkeypatch.setattr(World, "settle", lambda self, max_time=4.0, **k: times.append(max_time) or real(self, max_time, **k))
    env.step(ACTION)
    assert times == [1.5]
    env.close()

import hashlib
import multiprocessing as mp

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import graspsim  # noqa: F401
from graspsim import policies
from graspsim.prompts import PROMPT_KINDS, Prompt, decode_text

ENV_IDS = ("graspsim/PromptedGrasp-v0", "graspsim/Declutter-v0")


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_check_env(env_id):
    env = gym.make(env_id, render_mode="rgb_array", object_count=3)
    check_env(env.unwrapped)
    env.close()


def test_import_graspsim_stays_light():
    import subprocess
    import sys

    code = "import sys, graspsim; print('torch' in sys.modules, 'pybullet' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


@pytest.mark.parametrize("vector_cls", [gym.vector.SyncVectorEnv, gym.vector.AsyncVectorEnv])
def test_vector_envs(vector_cls):
    venv = vector_cls([lambda: gym.make("graspsim/PromptedGrasp-v0", prompt="text", object_count=2) for _ in range(2)])
    obs, info = venv.reset(seed=[11, 12])
    texts = [decode_text(t) for t in obs["prompt"]["text"]]
    assert texts == list(info["target_name"])
    obs, reward, term, trunc, info = venv.step(venv.action_space.sample())
    assert term.all() and reward.shape == (2,)
    venv.close()


def test_vector_env_batches_infos_of_different_outcomes():
    """One sub-env lifts its target, the other executes no grasp: ``lifted_ids`` of
    different lengths must still batch (an array of varying shape broke the vector env)."""
    venv = gym.vector.SyncVectorEnv([lambda: gym.make("graspsim/PromptedGrasp-v0", layout="single") for _ in range(2)])
    obs, _ = venv.reset(seed=[3, 4])
    analytic = policies.make("analytic")
    grasp = analytic.act({k: (v[0] if not isinstance(v, dict) else {kk: vv[0] for kk, vv in v.items()})
                          for k, v in obs.items()})
    no_grasp = np.zeros(4, np.float32)
    _, reward, _, _, info = venv.step(np.stack([grasp, no_grasp]))
    venv.close()
    assert list(reward) == [1.0, 0.0]
    assert [tuple(ids) for ids in info["lifted_ids"]] == [(int(info["target_id"][0]),), ()]


def _episode_digest(seed, prompt="box"):
    env = gym.make("graspsim/PromptedGrasp-v0", prompt=prompt, object_count=(3, 4))
    obs, info = env.reset(seed=seed)
    action = policies.make("analytic").act(obs)
    obs2, reward, _, _, info2 = env.step(action)
    h = hashlib.sha256()
    for a in (obs["rgb"], obs["depth"], obs["prompt"]["mask"], obs["prompt"]["box"], action, obs2["depth"], info2["grasp"]):
        h.update(np.ascontiguousarray(a).tobytes())
    h.update(repr((reward, info2["failure_mode"], list(info2["lifted_ids"]), info["scene"])).encode())
    env.close()
    return h.hexdigest()


def test_same_seed_is_bit_identical_across_processes():
    here = [_episode_digest(s) for s in (0, 1)]
    assert here == [_episode_digest(s) for s in (0, 1)]
    with mp.get_context("spawn").Pool(2) as pool:
        there = pool.map(_episode_digest, [0, 1])
    assert there == here
    assert here[0] != here[1]


SETS_AND_LAYOUTS = [(objects, layout) for objects in ("primitives", "random-urdfs", "household", "procedural")
                    for layout in ("single", "pile", "packed")]


def _set_layout_digest(case):
    """Digest of one episode (observation, the grasp at the prompt box's centre, its outcome) of a set and layout."""
    objects, layout = case
    env = gym.make("graspsim/PromptedGrasp-v0", objects=objects, layout=layout, prompt="box", width=160, height=160)
    obs, info = env.reset(seed=11)
    u0, v0, u1, v1 = obs["prompt"]["box"]
    obs2, reward, _, _, info2 = env.step(np.array([(u0 + u1) / 2, (v0 + v1) / 2, 0.4, 30.0], np.float32))
    h = hashlib.sha256()
    for a in (obs["rgb"], obs["depth"], obs["prompt"]["mask"], obs2["rgb"], obs2["depth"], info2["grasp"]):
        h.update(np.ascontiguousarray(a).tobytes())
    h.update(repr((reward, info2["failure_mode"], list(info2["lifted_ids"]), info["scene"])).encode())
    env.close()
    return h.hexdigest()


def test_every_object_set_and_layout_is_bit_identical_in_this_process_and_across_processes():
    here = [_set_layout_digest(case) for case in SETS_AND_LAYOUTS]
    assert _set_layout_digest(SETS_AND_LAYOUTS[-1]) == here[-1]  # again, after eleven other episodes
    with mp.get_context("spawn").Pool(2) as pool:
        there = pool.map(_set_layout_digest, SETS_AND_LAYOUTS)
    assert there == here
    assert len(set(here)) == len(here)


def test_replaying_a_scene_spec_gives_the_same_observation():
    env = gym.make("graspsim/PromptedGrasp-v0").unwrapped
    obs, info = env.reset(seed=5)
    obs2, info2 = env.reset(seed=99, options={"scene": info["scene"], "target": info["target_id"]})
    np.testing.assert_array_equal(obs["depth"], obs2["depth"])
    np.testing.assert_array_equal(obs["rgb"], obs2["rgb"])
    assert info2["target_name"] == info["target_name"]


def test_a_prompt_mixture_draws_each_episode_s_kind_from_the_prompt_stream():
    env = gym.make("graspsim/PromptedGrasp-v0", layout="single", prompt=("point", "box"), width=96, height=96).unwrapped
    kinds = [env.reset(seed=s)[1]["prompt"]["kind"] for s in range(12)]
    assert set(kinds) == {"point", "box"}
    assert kinds == [env.reset(seed=s)[1]["prompt"]["kind"] for s in range(12)]  # same seeds, same kinds
    _, info = env.reset(seed=0, options={"prompt": "mask"})
    assert info["prompt"]["kind"] == "mask"
    env.close()
    single = gym.make("graspsim/PromptedGrasp-v0", layout="single", prompt=("box",), width=96, height=96).unwrapped
    plain = gym.make("graspsim/PromptedGrasp-v0", layout="single", prompt="box", width=96, height=96).unwrapped
    assert single.config.prompt == "box"  # a one-kind tuple is that kind: no extra draw
    np.testing.assert_array_equal(single.reset(seed=4)[0]["prompt"]["box"], plain.reset(seed=4)[0]["prompt"]["box"])
    single.close()
    plain.close()
    for bad in ((), ("point", "point"), ("point", "wave")):
        with pytest.raises(ValueError, match="prompt must be"):
            gym.make("graspsim/PromptedGrasp-v0", prompt=bad)


@pytest.mark.parametrize("kind", PROMPT_KINDS)
def test_every_prompt_kind(kind):
    env = gym.make("graspsim/PromptedGrasp-v0", prompt=kind, include_segmentation=True).unwrapped
    obs, info = env.reset(seed=3)
    prompt = Prompt.from_observation(obs["prompt"])
    target_mask = obs["segmentation"] == info["target_id"] + 1
    assert prompt.kind == kind
    if kind in ("point", "points"):
        assert len(prompt.points) == (1 if kind == "point" else 3)
        assert all(target_mask[int(v), int(u)] for u, v in prompt.points)
    elif kind == "box":
        vs, us = np.nonzero(target_mask)
        np.testing.assert_array_equal(prompt.box, [us.min(), vs.min(), us.max(), vs.max()])
    elif kind == "mask":
        np.testing.assert_array_equal(prompt.mask, target_mask)
    elif kind == "text":
        assert prompt.text == info["target_name"]
    else:
        assert len(prompt.points) == 1


def test_declutter_reports_vgn_metrics():
    env = gym.make("graspsim/Declutter-v0", prompt="mask", object_count=3)
    policy = policies.make("analytic")
    obs, info = env.reset(seed=2)
    done, steps = False, 0
    while not done:
        obs, reward, term, trunc, info = env.step(policy.act(obs))
        done, steps = term or trunc, steps + 1
    assert info["attempts"] == steps
    assert info["grasp_success_rate"] == pytest.approx(info["successes"] / info["attempts"])
    assert info["declutter_rate"] == pytest.approx(info["objects_removed"] / info["objects_presented"])
    assert info["objects_removed"] >= info["successes"]


def test_declutter_truncates_at_the_attempt_cap():
    """max_attempts caps a round (truncated, not terminated) before the two-failures rule can end it."""
    env = gym.make("graspsim/Declutter-v0", prompt="point", object_count=3, layout="packed", max_attempts=1)
    env.reset(seed=3)
    _, _, term, trunc, info = env.step(np.array([2.0, 2.0, 0.0, 20.0], np.float32))
    assert trunc and not term and info["attempts"] == 1
    with pytest.raises(ValueError, match="max_attempts must be None or a positive integer, got 0"):
        gym.make("graspsim/Declutter-v0", max_attempts=0)


def test_declutter_stops_after_two_failures_in_a_row():
    """VGN's stop rule: two consecutive failed grasps end the round (not one, not three)."""
    env = gym.make("graspsim/Declutter-v0", prompt="point", object_count=3, layout="packed")
    env.reset(seed=3)
    far = np.array([2.0, 2.0, 0.0, 20.0], np.float32)  # a grasp in the image corner, far from every object
    _, _, term, trunc, info = env.step(far)
    assert not (term or trunc) and not info["success"]
    _, _, term, trunc, info = env.step(far)
    assert term and not trunc and info["attempts"] == 2 and info["successes"] == 0


def test_analytic_policy_with_mask_prompts_succeeds_on_a_clear_majority():
    env = gym.make("graspsim/PromptedGrasp-v0", objects="primitives", layout="pile", prompt="mask")
    policy = policies.make("analytic")
    successes = 0
    for seed in range(12):
        obs, _ = env.reset(seed=seed)
        successes += env.step(policy.act(obs))[1]
    assert successes >= 8, successes


# -- bad input -----------------------------------------------------------------------------
@pytest.fixture
def env():
    e = gym.make("graspsim/PromptedGrasp-v0", object_count=2).unwrapped
    yield e
    e.close()


def _still_usable(env):
    obs, _ = env.reset(seed=1)
    _, _, term, _, info = env.step(np.array([160, 160, 0.0, 40], np.float32))
    assert term and info["failure_mode"] in ("", "no_contact", "collision_on_approach", "missed_target", "wrong_object", "slipped")


@pytest.mark.parametrize(
    "action, field",
    [
        *[([bad if i == j else good for j, good in enumerate((10, 10, 0, 30))], f"action {name} must be finite")
          for i, name in enumerate(("u", "v", "angle", "opening_px")) for bad in (np.nan, np.inf, -np.inf)],
        ([10, 10, 3.0, 30], "action angle must be in"),
        ([10, 10, 0, -5], "action opening_px must be in"),
        ([10, 10, 0, 5000], "action opening_px must be in"),
        ([400, 10, 0, 30], "action u must be in"),
        ([1, 2, 3], "action must have shape"),
    ],
)
def test_bad_actions_raise_and_env_survives(env, action, field):
    env.reset(seed=0)
    with pytest.raises(ValueError, match=field):
        env.step(np.asarray(action, np.float32))
    _, _, term, _, info = env.step(np.array([160, 160, 0.0, 40], np.float32))  # same episode still usable
    assert term
    _still_usable(env)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"objects": "nonsense-set"}, "nonsense-set"),
        ({"prompt": "telepathy"}, "telepathy"),
        ({"layout": "heap"}, "heap"),
        ({"object_count": (0, 3)}, "object_count"),
        ({"split": "validation"}, "validation"),
    ],
)
def test_bad_options_raise_naming_the_value(env, kwargs, field):
    with pytest.raises(ValueError, match=field):
        gym.make("graspsim/PromptedGrasp-v0", **kwargs)
    with pytest.raises(ValueError, match=field):
        env.reset(seed=0, options=kwargs)
    _still_usable(env)


@pytest.mark.parametrize("seed", [-1, 1.5, "7", True])
def test_bad_seed(env, seed):
    with pytest.raises(ValueError, match="seed"):
        env.reset(seed=seed)
    _still_usable(env)


def test_malformed_custom_object_folder(env, tmp_path):
    (tmp_path / "broken.obj").write_text("this is not a mesh\n")
    with pytest.raises(ValueError, match="broken.obj"):
        env.reset(seed=0, options={"objects": str(tmp_path)})
    _still_usable(env)


def test_unknown_reset_option(env):
    with pytest.raises(ValueError, match="colour"):
        env.reset(seed=0, options={"colour": "red"})
    _still_usable(env)


def test_observations_never_alias_the_environments_state():
    env = gym.make("graspsim/PromptedGrasp-v0", prompt="box", layout="single")
    obs, _ = env.reset(seed=4)
    box = env.unwrapped.prompt.box.copy()
    obs["prompt"]["box"][:] = 0
    obs["prompt"]["mask"][:] = 1
    obs["rgb"][:] = 0
    assert np.array_equal(env.unwrapped.prompt.box, box)
    again = env.unwrapped._observation()
    assert np.array_equal(again["prompt"]["box"], box) and again["rgb"].any() and not again["prompt"]["mask"].all()
    env.close()


def test_render_after_grasp_false_changes_only_the_step_observation():
    exact = gym.make("graspsim/PromptedGrasp-v0", object_count=3).unwrapped
    fast = gym.make("graspsim/PromptedGrasp-v0", object_count=3, render_after_grasp=False).unwrapped
    for seed in (0, 1):
        obs_a, info_a = exact.reset(seed=seed)
        obs_b, info_b = fast.reset(seed=seed)
        np.testing.assert_array_equal(obs_a["depth"], obs_b["depth"])
        action = policies.make("analytic").act(obs_a)
        after_a, r_a, _, _, step_a = exact.step(action)
        after_b, r_b, _, _, step_b = fast.step(action)
        assert r_a == r_b and step_a["failure_mode"] == step_b["failure_mode"]
        np.testing.assert_array_equal(step_a["grasp"], step_b["grasp"])
        np.testing.assert_array_equal(after_b["rgb"], obs_b["rgb"])  # the frame the policy acted on
        assert not np.array_equal(after_a["depth"], obs_a["depth"])  # the scene after the grasp
    with pytest.raises(ValueError, match="render_after_grasp must be True or False, got 'no'"):
        gym.make("graspsim/PromptedGrasp-v0", render_after_grasp="no")
    exact.close()
    fast.close()


def test_the_fast_schedule_is_opt_in_and_changes_only_the_grasp_timing():
    from graspsim.sim.executor import FAST, FULL

    full = gym.make("graspsim/PromptedGrasp-v0", layout="single").unwrapped
    fast = gym.make("graspsim/PromptedGrasp-v0", layout="single", schedule="fast").unwrapped
    assert full.executor.schedule is FULL and fast.executor.schedule is FAST
    obs_a, _ = full.reset(seed=2)
    obs_b, _ = fast.reset(seed=2)
    np.testing.assert_array_equal(obs_a["depth"], obs_b["depth"])  # same scene and frame
    action = policies.make("analytic").act(obs_a)
    steps = {"full": 0, "fast": 0}
    for name, env in (("full", full), ("fast", fast)):
        env.world.step_hook = lambda name=name: steps.__setitem__(name, steps[name] + 1)  # physics steps of the grasp
    _, r_a, _, _, info_a = full.step(action)
    _, r_b, _, _, info_b = fast.step(action)
    np.testing.assert_array_equal(info_a["grasp"], info_b["grasp"])
    assert r_a == r_b == 1.0  # a clean single-object grasp is lifted on both schedules
    assert steps["fast"] < steps["full"] / 2  # no approach steps, half the lift's, a quarter of the hold's
    with pytest.raises(ValueError, match="schedule must be one of .* got 'quick'"):
        gym.make("graspsim/PromptedGrasp-v0", schedule="quick")
    full.close()
    fast.close()

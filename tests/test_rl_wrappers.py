"""RL-library wrappers: spaces, conventions, determinism, vector envs, and SB3 out of the box."""

import warnings

import gymnasium as gym
import numpy as np
import pytest

import graspsim  # noqa: F401 - registers the environments
from graspsim.envs.wrappers import FlatPrompt, ImageObservation, NormalisedAction, prompt_channel
from graspsim.prompts import Prompt

SMALL = dict(layout="single", width=64, height=64)


def test_image_env_spaces_and_channels():
    env = gym.make("graspsim/PromptedGraspImage-v0", prompt="point", image_size=48, **SMALL)
    obs, info = env.reset(seed=2)
    assert env.observation_space.shape == (5, 48, 48) and obs.dtype == np.uint8 and obs.shape == (5, 48, 48)
    assert env.action_space.low.tolist() == [-1] * 4 and env.action_space.high.tolist() == [1] * 4
    base = env.unwrapped
    u, v = base.prompt.points[0]
    peak = np.unravel_index(np.argmax(obs[4]), obs[4].shape)  # the prompt channel peaks at the point
    assert abs(peak[0] - v * 48 / 64) <= 1.5 and abs(peak[1] - u * 48 / 64) <= 1.5
    assert obs[3].max() > 0 and obs[3].min() == 0  # the object stands above the table
    env.close()


def test_prompt_channel_draws_each_kind():
    mask = np.zeros((20, 30), bool)
    mask[5:9, 10:14] = True
    box = prompt_channel(Prompt("box", box=np.array([2, 3, 6, 4], np.float32)), (20, 30), 2.0)
    assert box[3:5, 2:7].min() == 255 and box.sum() == 255 * 10
    assert prompt_channel(Prompt("mask", mask=mask), (20, 30), 2.0).sum() == 255 * 16
    assert prompt_channel(Prompt("text", text="red box"), (20, 30), 2.0).sum() == 0
    pt = prompt_channel(Prompt("point", points=np.array([[7.0, 4.0]], np.float32), labels=np.array([1])), (20, 30), 2.0)
    assert pt[4, 7] == pytest.approx(255) and pt[4, 11] == pytest.approx(255 * np.exp(-2), rel=1e-4)  # 4 px at sigma 2


def test_normalised_action_maps_onto_the_pixel_box():
    env = NormalisedAction(gym.make("graspsim/PromptedGrasp-v0", **SMALL))
    low, high = env.env.action_space.low, env.env.action_space.high
    np.testing.assert_allclose(env.action(np.full(4, -1.0)), low)
    np.testing.assert_allclose(env.action(np.full(4, 1.0)), high)
    np.testing.assert_allclose(env.action(np.zeros(4)), (low + high) / 2, rtol=1e-6)
    with pytest.raises(ValueError, match="normalised action must be finite"):
        env.action(np.array([0, np.nan, 0, 0]))
    with pytest.raises(ValueError, match="normalised action must have shape"):
        env.action(np.zeros(3))
    env.close()


def test_flat_prompt_is_one_level_and_matches_the_base_observation():
    base = gym.make("graspsim/PromptedGrasp-v0", prompt="box", **SMALL)
    flat = FlatPrompt(gym.make("graspsim/PromptedGrasp-v0", prompt="box", **SMALL))
    o1, _ = base.reset(seed=5)
    o2, _ = flat.reset(seed=5)
    assert not any(isinstance(s, gym.spaces.Dict) for s in flat.observation_space.spaces.values())
    assert flat.observation_space.contains(o2)
    np.testing.assert_array_equal(o2["prompt_box"], o1["prompt"]["box"])
    np.testing.assert_array_equal(o2["rgb"], o1["rgb"])
    assert o2["prompt_kind"] == o1["prompt"]["kind"] and o2["extrinsics"].shape == (16,)
    base.close(), flat.close()


@pytest.mark.parametrize("env_id", ["graspsim/PromptedGraspImage-v0", "graspsim/PromptedGraspFlat-v0"])
def test_wrapped_envs_pass_checkers_and_are_deterministic(env_id):
    from gymnasium.utils.env_checker import check_env as gym_check
    from stable_baselines3.common.env_checker import check_env as sb3_check

    env = gym.make(env_id, **SMALL)
    gym_check(env, skip_render_check=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sb3_check(env, warn=True)
    messages = [str(w.message) for w in caught if "stable_baselines3" in (w.filename or "") or "observation" in str(w.message)]
    assert not [m for m in messages if "nest" in m.lower() or "unconventional" in m.lower()], messages
    a, _ = env.reset(seed=11)
    b, _ = env.reset(seed=11)
    flat = (lambda o: np.concatenate([np.asarray(v, np.float64).ravel() for _, v in sorted(o.items())])) \
        if isinstance(a, dict) else (lambda o: np.asarray(o, np.float64).ravel())
    np.testing.assert_array_equal(flat(a), flat(b))
    r1 = env.step(np.array([0.0, 0.0, 0.0, -0.8], np.float32))
    env.reset(seed=11)
    r2 = env.step(np.array([0.0, 0.0, 0.0, -0.8], np.float32))
    assert r1[1] == r2[1] and r1[4]["failure_mode"] == r2[4]["failure_mode"]
    env.close()


def test_image_env_runs_under_async_vector_env():
    envs = gym.make_vec("graspsim/PromptedGraspImage-v0", num_envs=2, vectorization_mode="async", image_size=32, **SMALL)
    obs, _ = envs.reset(seed=[1, 2])
    assert obs.shape == (2, 5, 32, 32)
    obs, reward, terminated, truncated, _ = envs.step(np.zeros((2, 4), np.float32))
    assert reward.shape == (2,) and terminated.all()
    envs.close()


@pytest.mark.parametrize("algo", ["PPO", "SAC"])
def test_stable_baselines3_learns_on_the_image_env_out_of_the_box(algo, tmp_path):
    import stable_baselines3 as sb3

    env = gym.make("graspsim/PromptedGraspImage-v0", image_size=48, **SMALL)
    kwargs = dict(n_steps=128, batch_size=32, n_epochs=1) if algo == "PPO" else dict(buffer_size=300, learning_starts=32, batch_size=16)
    model = getattr(sb3, algo)("CnnPolicy", env, seed=0, verbose=0, **kwargs)
    model.learn(256 if algo == "PPO" else 128)
    assert model.num_timesteps >= (256 if algo == "PPO" else 128)
    action, _ = model.predict(env.reset(seed=0)[0], deterministic=True)
    assert env.action_space.contains(np.asarray(action, np.float32))
    env.close()

    # the saved agent runs as a policy: the action it takes on the base observation is the one
    # the agent chose on the wrapped observation, mapped as NormalisedAction maps it
    from graspsim import policies
    from graspsim.app.cli import main

    model.save(tmp_path / "model.zip")
    policy = policies.make(f"sb3-{algo.lower()}", checkpoint=str(tmp_path / "model.zip"))
    assert policy.name == f"sb3-{algo.lower()}" and policy.size == 48 and not policy.accepts_text
    base = gym.make("graspsim/PromptedGrasp-v0", **SMALL)
    obs, _ = base.reset(seed=3)
    wrapped = gym.make("graspsim/PromptedGraspImage-v0", image_size=48, **SMALL)
    wrapped_obs, _ = wrapped.reset(seed=3)
    wrapped.close()
    chosen, _ = model.predict(wrapped_obs, deterministic=True)
    expected = NormalisedAction(gym.make("graspsim/PromptedGrasp-v0", **SMALL)).action(chosen)
    np.testing.assert_array_equal(policy.act(obs), expected)
    np.testing.assert_array_equal(policy.last_maps["image"], wrapped_obs)
    base.close()
    out = tmp_path / "run"
    assert main(["run", "--policy", f"sb3-{algo.lower()}@{tmp_path / 'model.zip'}", "--layout", "single",
                 "--episodes", "2", "--out", str(out), "--quiet", "--no-figures"]) == 0
    with pytest.raises(ValueError, match="is not a PPO agent|observes"):
        policies.make("sb3-ppo", checkpoint=str(tmp_path / "model.zip")) if algo == "SAC" else \
            policies.make("sb3-ppo", checkpoint=str(_write(tmp_path / "bad.zip", b"not a zip")))
    with pytest.raises(ValueError, match="needs checkpoint="):
        policies.make("sb3-sac")  # only a PPO agent ships
    # the policy network alone, in half precision, acts as the agent does
    from graspsim.policies.sb3_agent import export_policy

    pth = export_policy(tmp_path / "model.zip", tmp_path / "export" / "agent.pth", algo.lower())
    alone = policies.make(f"sb3-{algo.lower()}", checkpoint=str(pth))
    assert (alone.actions, alone.radius_px, alone.view_radius_px, alone.size) == ("absolute", None, None, 48)
    np.testing.assert_allclose(alone.act(obs), policy.act(obs), atol=0.05)
    assert pth.stat().st_size < (tmp_path / "model.zip").stat().st_size / 2
    with pytest.raises(ValueError, match="writes a .pth file"):
        export_policy(tmp_path / "model.zip", tmp_path / "agent.zip", algo.lower())
    # the agent never saw a text prompt: a text run stops before any episode
    assert main(["run", "--policy", f"sb3-{algo.lower()}@{tmp_path / 'model.zip'}", "--prompt", "text",
                 "--episodes", "1", "--out", str(tmp_path / "text"), "--quiet", "--no-figures"]) == 2


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def test_prompt_anchor_of_each_kind():
    from graspsim.prompts import prompt_anchor

    points = Prompt("points", points=np.array([[3.0, 4.0], [7.0, 9.0]], np.float32), labels=np.array([0, 1]))
    assert prompt_anchor(points) == (7.0, 9.0)  # the first *positive* point
    assert prompt_anchor(Prompt("box", box=np.array([2, 4, 10, 6], np.float32))) == (6.0, 5.0)
    mask = np.zeros((10, 10), bool)
    mask[2:4, 6:9] = True
    assert prompt_anchor(Prompt("mask", mask=mask)) == (7.0, 2.5)
    with pytest.raises(ValueError, match="text prompt designates no pixel"):
        prompt_anchor(Prompt("text", text="the red box"))
    with pytest.raises(ValueError, match="without a positive point"):
        prompt_anchor(Prompt("point", points=np.array([[1.0, 1.0]], np.float32), labels=np.array([0])))
    with pytest.raises(ValueError, match="mask prompt with no pixel"):
        prompt_anchor(Prompt("mask", mask=np.zeros((4, 4), bool)))


def test_relative_actions_are_offsets_from_the_prompt_clipped_to_the_image():
    from graspsim.grasp import relative_unit_to_action, unit_to_action
    from graspsim.envs.wrappers import PromptRelativeAction

    low, high = np.array([0, 0, -np.pi / 2, 0.0]), np.array([63, 63, np.pi / 2, 64.0])
    a = relative_unit_to_action([0.5, -1.0, 0.2, 0.4], (30.0, 10.0), 8.0, low, high)
    np.testing.assert_allclose(a[:2], [34.0, 2.0])
    np.testing.assert_allclose(a[2:], unit_to_action([0.5, -1.0, 0.2, 0.4], low, high)[2:])  # angle, opening as absolute
    np.testing.assert_allclose(relative_unit_to_action([1, 1, 0, 0], (60.0, 62.0), 8.0, low, high)[:2], [63, 63])
    np.testing.assert_allclose(relative_unit_to_action([5, -5, 0, 0], (30.0, 30.0), 8.0, low, high)[:2], [38, 22])
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="radius_px must be a positive number"):
            relative_unit_to_action(np.zeros(4), (0, 0), bad, low, high)

    env = gym.make("graspsim/PromptedGraspImage-v0", image_size=48, actions="relative", **SMALL)
    chain, e = [], env
    while hasattr(e, "env"):
        chain.append(type(e))
        e = e.env
    assert PromptRelativeAction in chain
    assert env.get_wrapper_attr("radius_px") == pytest.approx(0.125 * 64)
    env.reset(seed=4)
    u, v = env.unwrapped.prompt.points[0]
    np.testing.assert_allclose(env.get_wrapper_attr("action")(np.zeros(4))[:2], [u, v], atol=1e-4)
    _, _, terminated, _, info = env.step(np.zeros(4, np.float32))
    assert terminated and np.isfinite(info["grasp"]).all()
    env.close()
    with pytest.raises(ValueError, match="actions must be one of"):
        gym.make("graspsim/PromptedGraspImage-v0", actions="polar", **SMALL)
    with pytest.raises(ValueError, match="radius_px applies to actions='relative' only"):
        gym.make("graspsim/PromptedGraspImage-v0", radius_px=10.0, **SMALL)
    # same seed, same episode through the wrapper
    outs = []
    for _ in range(2):
        e = gym.make("graspsim/PromptedGraspImage-v0", image_size=48, actions="relative", radius_px=12.0, **SMALL)
        obs, _ = e.reset(seed=9)
        outs.append((obs, e.step(np.array([0.3, -0.2, 0.1, 0.5], np.float32))[4]["grasp"]))
        e.close()
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])


def test_crop_around_is_the_square_at_the_anchor_with_zeros_outside_the_image():
    from graspsim.geometry.image_stack import crop_around

    channels = np.arange(2 * 6 * 8, dtype=np.float32).reshape(2, 6, 8) + 1
    inside = crop_around(channels, (4.2, 2.6), 2)  # nearest pixel (4, 3): rows 1..4, cols 2..5
    np.testing.assert_array_equal(inside, channels[:, 1:5, 2:6])
    corner = crop_around(channels, (0.0, 0.0), 2)
    assert corner.shape == (2, 4, 4) and (corner[:, :2, :] == 0).all() and (corner[:, :, :2] == 0).all()
    np.testing.assert_array_equal(corner[:, 2:, 2:], channels[:, :2, :2])
    assert not crop_around(channels, (100.0, 100.0), 2).any()
    with pytest.raises(ValueError, match="view radius_px must be a number >= 1"):
        crop_around(channels, (0, 0), 0.2)


def test_anchor_view_centres_the_image_on_the_prompt():
    from graspsim.geometry.image_stack import image_stack

    env = gym.make("graspsim/PromptedGraspImage-v0", image_size=32, actions="relative", view="anchor", **SMALL)
    assert env.get_wrapper_attr("view_radius_px") == pytest.approx(0.25 * 64)
    obs, _ = env.reset(seed=2)
    peak = np.unravel_index(np.argmax(obs[4]), obs[4].shape)
    assert abs(peak[0] - 15.5) <= 1 and abs(peak[1] - 15.5) <= 1  # the point prompt's blob sits at the centre
    full = image_stack(env.unwrapped._observation(), 32)
    assert not np.array_equal(obs, full)
    obs2, _ = env.reset(seed=2)
    np.testing.assert_array_equal(obs, obs2)  # same seed, same view
    env.close()
    for kwargs, message in ((dict(view="side"), "view must be one of"), (dict(view_radius_px=10.0), "applies to view='anchor'"),
                            (dict(view="anchor", view_radius_px=0.5), "view_radius_px must be a number >= 1")):
        with pytest.raises(ValueError, match=message):
            gym.make("graspsim/PromptedGraspImage-v0", **kwargs, **SMALL)
    text = gym.make("graspsim/PromptedGraspImage-v0", view="anchor", prompt="text", **SMALL)
    with pytest.raises(ValueError, match="text prompt designates no pixel"):
        text.reset(seed=0)
    text.close()


def test_an_agent_trained_with_relative_actions_runs_as_a_policy_with_them(tmp_path):
    import json

    import stable_baselines3 as sb3

    from graspsim import policies

    env = gym.make("graspsim/PromptedGraspImage-v0", image_size=48, actions="relative", radius_px=12.0, **SMALL)
    model = sb3.PPO("CnnPolicy", env, seed=0, verbose=0, n_steps=64, batch_size=32, n_epochs=1)
    model.save(tmp_path / "model.zip")
    (tmp_path / "model.json").write_text(json.dumps({"actions": "relative", "radius_px": 12.0}))
    policy = policies.make("sb3-ppo", checkpoint=str(tmp_path / "model.zip"))
    assert (policy.actions, policy.radius_px) == ("relative", 12.0)
    base = gym.make("graspsim/PromptedGrasp-v0", **SMALL)
    obs, _ = base.reset(seed=3)
    wrapped_obs, _ = env.reset(seed=3)
    chosen, _ = model.predict(wrapped_obs, deterministic=True)
    np.testing.assert_array_equal(policy.act(obs), env.get_wrapper_attr("action")(chosen))
    base.close()
    env.close()
    # an agent trained on the anchor view sees the same crop as a policy
    anchor_env = gym.make("graspsim/PromptedGraspImage-v0", image_size=48, actions="relative", radius_px=12.0,
                          view="anchor", view_radius_px=20.0, **SMALL)
    model.set_env(anchor_env)
    model.save(tmp_path / "model.zip")
    (tmp_path / "model.json").write_text(json.dumps({"actions": "relative", "radius_px": 12.0, "view": "anchor",
                                                     "view_radius_px": 20.0}))
    policy = policies.make("sb3-ppo", checkpoint=str(tmp_path / "model.zip"))
    assert policy.view_radius_px == 20.0
    base = gym.make("graspsim/PromptedGrasp-v0", **SMALL)
    obs, _ = base.reset(seed=5)
    wrapped_obs, _ = anchor_env.reset(seed=5)
    chosen, _ = model.predict(wrapped_obs, deterministic=True)
    np.testing.assert_array_equal(policy.act(obs), anchor_env.get_wrapper_attr("action")(chosen))
    np.testing.assert_array_equal(policy.last_maps["image"], wrapped_obs)
    base.close()
    anchor_env.close()
    for bad, message in (({"actions": "polar"}, "actions must be"), ({"actions": "relative"}, "radius_px must be"),
                         ({"actions": "relative", "radius_px": 12.0, "view": "side"}, "view must be"),
                         ({"actions": "relative", "radius_px": 12.0, "view": "anchor"}, "view_radius_px must be"),
                         ("not json", "not JSON")):
        (tmp_path / "model.json").write_text(bad if isinstance(bad, str) else json.dumps(bad))
        with pytest.raises(ValueError, match=message):
            policies.make("sb3-ppo", checkpoint=str(tmp_path / "model.zip"))


def test_the_sb3_example_trains_saves_and_resumes(tmp_path):
    import csv
    import importlib.util
    import json
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("sb3_image", Path(__file__).parents[1] / "examples" / "sb3_image.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    out = tmp_path / "agent"
    args = ["--algo", "ppo", "--actions", "relative", "--view", "anchor", "--prompt", "point,box", "--camera-px", "64",
            "--n-steps", "16", "--save-every", "16", "--out", str(out)]
    example.main(args + ["--steps", "32"])
    assert json.loads((out / "model.json").read_text()) == {"actions": "relative", "radius_px": 8.0, "view": "anchor",
                                                            "view_radius_px": 16.0}
    example.main(args + ["--steps", "64"])  # continues from model.zip
    rows = [r for r in csv.reader(open(out / "progress.csv")) if r]
    assert [int(r[0]) for r in rows] == [16, 32, 48, 64]
    assert [int(r[1]) for r in rows] == [16, 32, 48, 64]  # single scenes: one episode per step, counted across runs
    assert (out / "curve.png").is_file() and not (out / "model.partial.zip").exists()
    with pytest.raises(SystemExit, match="records"):
        example.main(["--actions", "absolute", "--camera-px", "64", "--out", str(out), "--steps", "64"])


def test_the_shipped_agent_runs_as_sb3_ppo():
    from graspsim import policies
    from graspsim.policies.sb3_agent import SHIPPED_AGENT

    policy = policies.make("sb3-ppo")
    assert SHIPPED_AGENT.is_file() and SHIPPED_AGENT.stat().st_size < 5e6
    assert (policy.actions, policy.radius_px, policy.view_radius_px, policy.size) == ("relative", 40.0, 80.0, 84)
    env = gym.make("graspsim/PromptedGrasp-v0", layout="single")
    obs, _ = env.reset(seed=1)
    action = policy.act(obs)
    assert env.action_space.contains(action)
    anchor = env.unwrapped.prompt.points[0]
    assert np.hypot(*(action[:2] - anchor)) <= 40.0 * np.sqrt(2) + 1e-3  # within the relative reach of the prompt
    env.close()


def test_warm_start_copies_an_exported_policy_network_into_a_new_agent(tmp_path):
    import json

    import stable_baselines3 as sb3
    import torch

    from graspsim.policies.sb3_agent import export_policy, mapping_record, warm_start

    env = gym.make("graspsim/PromptedGraspImage-v0", image_size=48, actions="relative", radius_px=12.0, **SMALL)
    mapping = mapping_record("relative", 12.0)
    source = sb3.PPO("CnnPolicy", env, seed=0, verbose=0, n_steps=64, batch_size=32)
    source.save(tmp_path / "model.zip")
    (tmp_path / "model.json").write_text(json.dumps(mapping))
    exported = export_policy(tmp_path / "model.zip", tmp_path / "agent.pth")
    fresh = sb3.PPO("CnnPolicy", env, seed=1, verbose=0, n_steps=64, batch_size=32)
    key = "action_net.weight"
    assert not torch.equal(fresh.policy.state_dict()[key], source.policy.state_dict()[key])
    warm_start(fresh, exported, "ppo", mapping)
    for name, value in fresh.policy.state_dict().items():  # the half-precision copy, back in float32
        assert value.dtype == source.policy.state_dict()[name].dtype
        torch.testing.assert_close(value, source.policy.state_dict()[name].half().float())
    warm_start(fresh, tmp_path / "model.zip", "ppo", mapping)  # an agent's model.zip works too
    assert torch.equal(fresh.policy.state_dict()[key], source.policy.state_dict()[key])
    with pytest.raises(ValueError, match="maps actions and image as"):
        warm_start(fresh, exported, "ppo", mapping_record("absolute"))
    with pytest.raises(ValueError, match="does not exist"):
        warm_start(fresh, tmp_path / "missing.pth", "ppo", mapping)
    env.close()

"""Appearance as part of the scene: randomised colours, textures, table, light and camera height."""

import hashlib
import json
import multiprocessing as mp

import gymnasium as gym
import numpy as np
import pytest

import graspsim  # noqa: F401  (registers the environments)
from graspsim import policies
from graspsim.appearance import (COLOUR_GROUPS, TEST_ONLY_PATTERNS, Lighting, ObjectAppearance, SceneAppearance,
                                 TableAppearance, TextureSpec, colour_group, held_out_parts, rgba_colour_group)
from graspsim.appearance_sampling import draw_appearance
from graspsim.textures import texture_file, texture_image
from graspsim.scene import SceneSpec

ENV = "graspsim/PromptedGrasp-v0"


def _digest(obs, info=None, extra=()) -> str:
    h = hashlib.sha256()

    def add(o):
        for k in sorted(o):
            v = o[k]
            add(v) if isinstance(v, dict) else h.update(np.ascontiguousarray(v).tobytes())

    add(obs)
    if info is not None:
        h.update(json.dumps(info["scene"], sort_keys=True).encode())
        h.update(repr((info["target_id"], info["prompt"])).encode())
    for x in extra:
        h.update(repr(x).encode())
    return h.hexdigest()


def _randomised_episode(seed: int, objects: str = "primitives") -> str:
    env = gym.make(ENV, objects=objects, appearance="randomised", split="train", object_count=(2, 3)).unwrapped
    obs, info = env.reset(seed=seed)
    action = policies.make("analytic").act(obs)
    obs2, reward, _, _, info2 = env.step(action)
    env.close()
    return _digest(obs, info, (reward, info2["failure_mode"], list(info2["lifted_ids"]),
                               np.round(info2["grasp"], 9).tolist(), _digest(obs2)))


# -- determinism and replay -------------------------------------------------------------
def test_same_seed_same_randomised_episode_also_in_a_fresh_process():
    here = _randomised_episode(4)
    assert here == _randomised_episode(4)
    assert here != _randomised_episode(5)
    with mp.get_context("spawn").Pool(1) as pool:
        assert pool.map(_randomised_episode, [4]) == [here]


def test_replaying_info_scene_gives_identical_observations():
    env = gym.make(ENV, objects="random-urdfs", appearance="randomised", prompt="box", object_count=3).unwrapped
    obs, info = env.reset(seed=8)
    scene = info["scene"]
    assert "appearance" in scene and SceneSpec.from_dict(json.loads(json.dumps(scene))).to_dict() == scene
    # a catalogue-mode env replays the scene with the appearance it carries
    other = gym.make(ENV, objects="random-urdfs", prompt="box", object_count=3).unwrapped
    obs2, info2 = other.reset(seed=8, options={"scene": json.loads(json.dumps(scene))})
    assert _digest(obs) == _digest(obs2) and info2["scene"] == scene
    env.close()
    other.close()


def test_catalogue_mode_is_the_default_and_unchanged_after_randomised_episodes():
    plain = gym.make(ENV, object_count=(2, 3)).unwrapped
    cat = gym.make(ENV, object_count=(2, 3), appearance="catalogue").unwrapped
    obs, info = plain.reset(seed=2)
    assert "appearance" not in info["scene"]
    assert _digest(obs, info) == _digest(*cat.reset(seed=2))
    # the same env after a randomised episode (PyBullet keeps a client's last light)
    randomised, _ = cat.reset(seed=2, options={"appearance": "randomised"})
    assert _digest(randomised) != _digest(obs)
    assert _digest(obs, info) == _digest(*cat.reset(seed=2))
    plain.close()
    cat.close()


def test_episode_camera_is_exact_for_the_height_offset():
    env = gym.make(ENV, appearance="randomised", include_segmentation=True, object_count=2).unwrapped
    obs, info = env.reset(seed=1)
    offset = info["scene"]["appearance"]["camera_height_offset_m"]
    assert offset != 0.0 and abs(offset) <= 0.03
    cam = env.episode_camera
    assert cam.height_m == pytest.approx(env.camera.height_m + offset)
    np.testing.assert_array_equal(obs["extrinsics"], cam.extrinsics.astype(np.float32))
    np.testing.assert_array_equal(obs["extrinsics"][:3, :3], np.diag([1, -1, -1]).astype(np.float32))  # not tilted
    table = np.argwhere(obs["segmentation"] == 0)[::500]
    points = cam.pixel_to_world(table[:, 1], table[:, 0], obs["depth"][table[:, 0], table[:, 1]])
    np.testing.assert_allclose(points[:, 2], 0.0, atol=2e-4)  # the table lies at z = 0 through the episode's camera
    env.close()


# -- the data ---------------------------------------------------------------------------
def test_appearance_dict_round_trip_and_errors_name_the_field():
    look = draw_appearance(np.random.default_rng(3), 4, "all")
    d = json.loads(json.dumps(look.to_dict()))
    assert SceneAppearance.from_dict(d) == look

    def broken(path, value):
        bad = json.loads(json.dumps(d))
        node = bad
        for key in path[:-1]:
            node = node[key]
        if value is KeyError:
            del node[path[-1]]
        else:
            node[path[-1]] = value
        return bad

    d["objects"][1]["texture"] = {"pattern": "stripes", "colours": [[1, 0, 0], [0, 0, 1]], "period": 0.2, "seed": 3}
    assert SceneAppearance.from_dict(d).objects[1].texture.pattern == "stripes"
    cases = [
        (("objects", 1, "texture", "pattern"), "zigzag", r"objects\[1\]\.texture\.pattern.*zigzag"),
        (("objects", 1, "texture", "period"), 0.0, r"objects\[1\]\.texture\.period.*0\.0"),
        (("objects", 1, "texture", "colours"), [[1, 0, 0]], r"objects\[1\]\.texture\.colours"),
        (("objects", 0, "rgba"), [1.5, 0, 0, 1], r"objects\[0\]\.rgba.*1\.5"),
        (("objects", 0, "specular"), "shiny", r"objects\[0\]\.specular.*shiny"),
        (("table", "texture"), {"pattern": "dots", "colours": [[1, 0, 0], [0, 0, 1]], "period": 0.2, "seed": 3},
         r"table\.texture\.pattern.*dots"),
        (("lighting", "shadows"), KeyError, r"lighting\.shadows is missing"),
        (("lighting", "direction"), [0, 0, -1], r"lighting\.direction"),
        (("camera_height_offset_m",), 0.5, r"camera_height_offset_m.*0\.5"),
    ]
    for path, value, message in cases:
        with pytest.raises(ValueError, match=message):
            SceneAppearance.from_dict(broken(path, value))
    spec = SceneSpec("primitives", "pile", 0, ())
    with pytest.raises(ValueError, match="appearance has 4 object"):
        spec.with_appearance(look)
    with pytest.raises(ValueError, match=r"scene spec appearance\.objects\[0\]\.rgba"):
        SceneSpec.from_dict({**spec.to_dict(), "appearance": broken(("objects", 0, "rgba"), [2, 0, 0, 1])})
    with pytest.raises(ValueError, match="appearance must be one of .*'fancy'"):
        gym.make(ENV, appearance="fancy")
    from graspsim.app.benchmark import BenchmarkConfig

    with pytest.raises(ValueError, match="appearance must be one of .*'fancy'"):
        BenchmarkConfig(appearance="fancy").check()


def test_held_out_parts_stay_out_of_train():
    rng = np.random.default_rng(0)
    found = {split: set() for split in ("train", "test", "all")}
    groups = {split: set() for split in found}
    for split in found:
        for _ in range(300):
            look = draw_appearance(rng, 4, split)
            found[split].update(held_out_parts(look))
            groups[split].update(colour_group(o) for o in look.objects)
    assert found["train"] == set()
    expected = {"hue", "table:patterned"} | {f"pattern:{p}" for p in TEST_ONLY_PATTERNS}
    assert found["test"] == expected and found["all"] == expected
    for split in found:  # achromatic objects (and every other group) in every split
        assert groups[split] == set(COLOUR_GROUPS)


def test_colour_groups():
    assert rgba_colour_group((1.0, 1.0, 1.0, 1.0)) == "achromatic-light"
    assert rgba_colour_group((0.7, 0.7, 0.68, 1.0)) == "achromatic-light"
    assert rgba_colour_group((0.3, 0.3, 0.3, 1.0)) == "achromatic-dark"
    assert rgba_colour_group((0.06, 0.02, 0.02, 1.0)) == "achromatic-dark"  # black with a tint
    assert rgba_colour_group((0.85, 0.1, 0.1, 1.0)) == "chromatic"
    assert rgba_colour_group(None) == "textured"  # a catalogue asset with its own texture
    striped = ObjectAppearance((1, 1, 1, 1), 0.2, TextureSpec("stripes", ((1, 0, 0), (1, 1, 1)), 0.2, 1))
    assert colour_group(striped) == "textured" and colour_group(ObjectAppearance((0, 0, 0, 1))) == "achromatic-dark"


def test_texture_images_are_deterministic_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("GRASPSIM_CACHE", str(tmp_path))
    spec = TextureSpec("dots", ((0.9, 0.9, 0.9), (0.8, 0.1, 0.1), (0.1, 0.1, 0.8)), 0.2, 7)
    img = texture_image(spec, 64)
    assert img.shape == (64, 64, 3) and img.dtype == np.uint8 and len(np.unique(img.reshape(-1, 3), axis=0)) == 3
    np.testing.assert_array_equal(img, texture_image(spec, 64))
    path = texture_file(spec, 64)
    assert path.parent == tmp_path / "textures" and texture_file(spec, 64) == path
    assert texture_file(TextureSpec("dots", spec.colours, 0.2, 8), 64) != path


# -- rendering ----------------------------------------------------------------------------
def _look(n, texture=None, lighting=None, table=None):
    obj = ObjectAppearance((1, 1, 1, 1), 0.0, texture) if texture else ObjectAppearance((0.8, 0.8, 0.8, 1))
    return SceneAppearance((obj,) * n, table or TableAppearance((0.5, 0.5, 0.5, 1)), lighting or Lighting(), 0.0)


@pytest.fixture(scope="module")
def scenes():
    from graspsim.objects import get_object_set
    from graspsim.sim.scene_builder import generate_scene
    from graspsim.sim.world import World

    world = World()
    specs = {name: generate_scene(world, get_object_set(name), "packed", 2, seed=3) for name in ("primitives", "random-urdfs")}
    yield world, specs
    world.close()


@pytest.mark.parametrize("objects", ["primitives", "random-urdfs"])
def test_a_textured_object_renders_its_texture(scenes, objects):
    from graspsim.sim.scene_builder import build_scene

    world, specs = scenes
    spec = specs[objects]
    checks = TextureSpec("checks", ((0.9, 0.1, 0.1), (0.1, 0.1, 0.9)), 0.2, 1)
    build_scene(world, spec.with_appearance(_look(len(spec.objects), checks)))
    frame = world.render()
    pixels = frame["rgb"][frame["segmentation"] == 1].astype(int)
    reddish = (pixels[:, 0] > pixels[:, 2] + 40).mean()
    bluish = (pixels[:, 2] > pixels[:, 0] + 40).mean()
    assert reddish > 0.1 and bluish > 0.1, (reddish, bluish)  # both colours of the checks on one object
    build_scene(world, spec.with_appearance(_look(len(spec.objects))))
    flat = world.render()
    assert len(np.unique(flat["rgb"][flat["segmentation"] == 1] // 64, axis=0)) <= 3
    np.testing.assert_array_equal(frame["depth"], flat["depth"])  # appearance changes no geometry


def test_table_texture_and_lighting_change_the_image_not_the_geometry(scenes):
    from graspsim.sim.scene_builder import build_scene

    world, specs = scenes
    spec = specs["primitives"]
    n = len(spec.objects)
    frames = []
    for look in (_look(n), _look(n, lighting=Lighting((0.6, -0.3, 1.0), (1.0, 0.8, 0.6), 0.4, 0.6, 0.1, True)),
                 _look(n, table=TableAppearance((1, 1, 1, 1), TextureSpec("wood", ((0.7, 0.5, 0.3), (0.4, 0.25, 0.1)),
                                                                          0.1, 2)))):
        build_scene(world, spec.with_appearance(look))
        frames.append(world.render())
    base, lit, wood = frames
    for other in (lit, wood):
        assert (np.abs(other["rgb"].astype(int) - base["rgb"]).max(axis=-1) > 10).mean() > 0.2
        np.testing.assert_array_equal(other["depth"], base["depth"])
        np.testing.assert_array_equal(other["segmentation"], base["segmentation"])
    table = base["segmentation"] == 0
    assert len(np.unique(base["rgb"][table], axis=0)) <= 3 < len(np.unique(wood["rgb"][table], axis=0))


def test_appearance_changes_nothing_in_the_physics(scenes):
    from graspsim.grasp import TopDownGrasp
    from graspsim.sim.executor import Executor
    from graspsim.sim.scene_builder import build_scene

    world, specs = scenes
    spec = specs["random-urdfs"]  # textured random URDFs load visual meshes with generated UVs
    textured = spec.with_appearance(_look(len(spec.objects), TextureSpec("stripes", ((1, 0, 0), (0, 0, 1)), 0.2, 1)))
    results = []
    for s in (spec, textured):
        build_scene(world, s)
        (x, y, z), _ = world.pose(0)
        outcome = Executor(world).execute(TopDownGrasp(x, y, z, 0.0, 0.07), 0)
        results.append((outcome.success, outcome.failure_mode, [world.pose(i) for i in sorted(world.objects)]))
    assert results[0] == results[1]


# -- benchmark ----------------------------------------------------------------------------
def test_benchmark_records_target_appearance_and_summary_per_appearance(tmp_path):
    from graspsim.app.benchmark import BenchmarkConfig, run_benchmark

    config = BenchmarkConfig(policies=["analytic"], prompts=["point"], episodes=2, object_count=(2, 3), seed=5,
                             appearance="randomised", split="test", figures=False)
    summary = run_benchmark(config, tmp_path / "b", workers=1, backend="serial", progress=False)
    records = [json.loads(line) for line in (tmp_path / "b" / "episodes.jsonl").read_text().splitlines()]
    assert all(r["target_appearance"] in COLOUR_GROUPS and "appearance" in r["scene"] for r in records)
    group = summary["groups"]["analytic/point"]
    assert sum(v["episodes"] for v in group["per_appearance"].values()) == 2
    assert summary["config"]["appearance"] == "randomised"
    assert "## Success by appearance" in (tmp_path / "b" / "report.md").read_text()
    # the same episode replayed alone from its record's scene
    from graspsim.appearance import target_colour_group

    r = records[0]
    looks = SceneSpec.from_dict(r["scene"]).appearance
    assert target_colour_group(r["scene"], r["target_id"]) == colour_group(looks.objects[r["target_id"]])

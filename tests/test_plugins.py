"""Grippers as data, one registry style, the per-grasp metric hook, and the layers."""

import dataclasses
import json
import math
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import graspsim  # noqa: F401 - registers the environments
from graspsim import grasp_metrics, policies
from graspsim.grippers import FRANKA, ROBOTIQ_2F85, GripperSpec, available_grippers, get_gripper, gripper_from_observation
from graspsim.plugins import Registry

HERE = Path(__file__).resolve().parent
PLUGINS = HERE / "plugins_for_tests.py"
NARROW = f"{PLUGINS}:NARROW"


# -- grippers ----------------------------------------------------------------------------
def test_shipped_grippers_and_lookup():
    assert {"franka", "robotiq-2f85"} <= set(available_grippers())
    assert get_gripper() is FRANKA and get_gripper("robotiq-2f85") is ROBOTIQ_2F85
    assert ROBOTIQ_2F85.max_opening_m == pytest.approx(0.085) and ROBOTIQ_2F85.finger_width_m == pytest.approx(0.022)
    narrow = get_gripper(NARROW)
    assert narrow.name == "test-narrow" and narrow.max_opening_m == 0.05
    with pytest.raises(ValueError, match="unknown gripper 'nope'.*franka"):
        get_gripper("nope")
    with pytest.raises(ValueError, match="no attribute 'MISSING'"):
        get_gripper(f"{PLUGINS}:MISSING")


@pytest.mark.parametrize("field, value, message", [
    ("max_opening_m", -0.01, "max_opening_m must be a positive finite number"),
    ("finger_force_n", float("nan"), "finger_force_n must be a positive finite number"),
    ("palm_half_m", (0.1, 0.03), "palm_half_m must have 3 values"),
    ("palm_half_m", (0.03, 0.03, 0.03), "palm_half_m\\[0\\].*must cover half the stroke"),
    ("name", "", "gripper name must be a non-empty string"),
])
def test_bad_gripper_specs_name_the_field(field, value, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(FRANKA, **{field: value})


def test_gripper_round_trips_through_dict_and_observation():
    assert GripperSpec.from_dict(ROBOTIQ_2F85.to_dict()) == ROBOTIQ_2F85
    assert gripper_from_observation({"gripper": ROBOTIQ_2F85.geometry_vector()}) is ROBOTIQ_2F85
    assert gripper_from_observation({}) is FRANKA
    custom = dataclasses.replace(FRANKA, name="x", max_opening_m=0.06)
    seen = gripper_from_observation({"gripper": custom.geometry_vector()})
    assert seen.name == "observed" and seen.max_opening_m == pytest.approx(0.06)
    with pytest.raises(ValueError, match="observation gripper must have 7 values"):
        gripper_from_observation({"gripper": np.zeros(3)})


def test_a_third_gripper_runs_end_to_end_in_the_environment_and_the_benchmark(tmp_path):
    """A test-only GripperSpec, given by 'file.py:name', reaches the body, the observation,
    the policy's geometry, the executed grasp and the benchmark records."""
    from graspsim.app.benchmark import BenchmarkConfig, run_benchmark

    env = gym.make("graspsim/PromptedGrasp-v0", objects="primitives", layout="single", gripper=NARROW)
    obs, info = env.reset(seed=3)
    assert info["gripper"] == "test-narrow"
    np.testing.assert_array_equal(obs["gripper"], get_gripper(NARROW).geometry_vector())
    action = policies.make("analytic").act(obs)
    obs, _, _, _, info = env.step(action)
    assert info["grasp"][4] <= 0.05 + 1e-9  # the executed opening is within the narrow stroke
    body = env.unwrapped.world.gripper
    assert body.spec.name == "test-narrow"
    env.close()

    summary = run_benchmark(BenchmarkConfig(policies=["analytic"], prompts=["point"], layout="single", episodes=2,
                                            gripper=NARROW, figures=False),
                            out=tmp_path / "b", workers=1, backend="serial", progress=False)
    records = [json.loads(line) for line in (tmp_path / "b" / "episodes.jsonl").read_text().splitlines()]
    assert [r["gripper"] for r in records] == ["test-narrow"] * 2
    assert summary["groups"]["analytic/point"]["gripper"] == "test-narrow"


def test_the_gripper_changes_what_the_geometry_allows():
    """The stroke and the finger width come from the spec: an opening the Franka hand
    takes is clipped by a narrower gripper, and the jaw of a projected grasp is the spec's."""
    from graspsim.camera import Camera
    from graspsim.grasp import ImageGrasp, TopDownGrasp, image_to_world, world_to_image

    cam = Camera()
    depth = np.full((cam.height, cam.width), cam.height_m, np.float32)
    wide = ImageGrasp(160, 160, 0.0, 500.0)
    assert image_to_world(wide, depth, cam).opening_m == pytest.approx(FRANKA.max_opening_m)
    assert image_to_world(wide, depth, cam, get_gripper(NARROW)).opening_m == pytest.approx(0.05)
    g = TopDownGrasp(0.0, 0.0, 0.02, 0.0, 0.04)
    ratio = world_to_image(g, cam, gripper=get_gripper(NARROW)).jaw_px / world_to_image(g, cam).jaw_px
    assert ratio == pytest.approx(0.015 / 0.022)


def test_robotiq_lifts_a_single_object():
    env = gym.make("graspsim/PromptedGrasp-v0", objects="primitives", layout="single", gripper="robotiq-2f85")
    policy = policies.make("analytic")
    successes = 0
    for seed in range(4):
        obs, _ = env.reset(seed=seed)
        successes += env.step(policy.act(obs))[4]["success"]
    env.close()
    assert successes >= 3


def test_default_gripper_label_files_stay_as_they_were():
    from graspsim.labels import ObjectLabels

    lab = ObjectLabels(np.zeros((1, 5)), np.zeros((0, 5)))
    assert "gripper" not in lab.to_dict()
    other = ObjectLabels(np.zeros((1, 5)), np.zeros((0, 5)), gripper="robotiq-2f85")
    assert ObjectLabels.from_dict(other.to_dict()).gripper == "robotiq-2f85"


# -- one registry style ----------------------------------------------------------------
def test_registry_register_make_and_errors():
    reg = Registry("widget")
    reg.register("one", lambda x=1: ("one", x))
    assert reg.make("one", x=2) == ("one", 2) and reg.available() == ("one",) and list(reg) == ["one"]
    assert reg.make("math:hypot", 3, 4) == 5.0  # module:factory
    with pytest.raises(ValueError, match="unknown widget 'two'; available: one"):
        reg.make("two")
    with pytest.raises(ValueError, match="widget 'no_such_module_xyz:f': cannot import"):
        reg.make("no_such_module_xyz:f")
    with pytest.raises(ValueError, match="widget name must be a non-empty string without ':'"):
        reg.register("a:b", print)
    with pytest.raises(ValueError, match="file .* does not exist"):
        reg.make("/nonexistent/file.py:f")
    reg.unregister("one")
    assert reg.available() == ()


def test_user_object_set_loader_and_policy_plug_in_by_module_factory(tmp_path):
    from graspsim.datasets import open_dataset
    from graspsim.objects import available, get_object_set, register

    object_set = get_object_set(f"{PLUGINS}:primitives_subset")
    assert object_set.objects("all")
    register("my-prims", lambda: object_set)
    assert "my-prims" in available() and get_object_set("my-prims") is object_set
    env = gym.make("graspsim/PromptedGrasp-v0", objects="my-prims", layout="single")
    obs, info = env.reset(seed=0)
    env.close()
    assert info["target_name"] in {o.name for o in object_set.objects("all")}

    with pytest.raises(ValueError, match="data set format must be one of"):
        open_dataset("nope", tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError):  # the user's loader runs (and refuses an empty folder)
        open_dataset(f"{PLUGINS}:jacquard_loader", tmp_path / "empty")

    policy_file = tmp_path / "mypolicy.py"
    policy_file.write_text("import numpy as np\nclass P:\n    def reset(self, seed=None): pass\n"
                           "    def act(self, obs): return np.array([1, 2, 0, 3], np.float32)\n"
                           "def make(**kw): return P()\n")
    assert policies.make(f"{policy_file}:make").act(None).tolist() == [1, 2, 0, 3]


# -- the per-grasp metric hook -------------------------------------------------------------
def test_a_registered_grasp_metric_reaches_info_records_summary_and_report(tmp_path):
    from graspsim.app.benchmark import BenchmarkConfig, run_benchmark

    def compute(ctx):
        return None if ctx.grasp is None else {"tilted": abs(ctx.grasp.angle) > math.radians(20)}

    grasp_metrics.register("tilt", lambda: grasp_metrics.GraspMetric("tilt", ("tilted",), compute, rate_key="tilted",
                                                                      title="tilted grasps"))
    try:
        env = gym.make("graspsim/PromptedGrasp-v0", layout="single")
        obs, _ = env.reset(seed=1)
        info = env.step(np.array([160, 160, 0.6, 30], np.float32))[4]
        env.close()
        assert info["tilted"] is True
        summary = run_benchmark(BenchmarkConfig(policies=["random"], prompts=["point"], layout="single", episodes=3,
                                                figures=False),
                                out=tmp_path / "b", workers=1, backend="serial", progress=False)
        records = [json.loads(line) for line in (tmp_path / "b" / "episodes.jsonl").read_text().splitlines()]
        tilted = [r["tilted"] for r in records]
        assert all(isinstance(t, bool) for t in tilted)
        tilt = summary["groups"]["random/point"]["metrics"]["tilt"]
        assert tilt["episodes"] == 3 and tilt["accuracy"] == pytest.approx(sum(tilted) / 3)
        report = (tmp_path / "b" / "report.md").read_text()
        assert "tilted grasps" in report and "tilt correct" in report
    finally:
        grasp_metrics.unregister("tilt")
    assert "tilt" not in grasp_metrics.available()


# -- layers ------------------------------------------------------------------------------
def test_no_import_cycles_and_no_policy_imports_another():
    tool = HERE.parent.parent / "shared" / "tools" / "import_cycles.py"
    if tool.is_file():
        out = subprocess.run([sys.executable, str(tool), str(HERE.parent)], capture_output=True, text=True)
        assert "0 import cycle(s)" in out.stdout, out.stdout
    policy_files = {"analytic.py": "analytic", "random_policy.py": "random_policy", "graspsam": "graspsam",
                    "redmon": "redmon"}
    root = HERE.parent / "policies"
    for name in policy_files:
        files = [root / name] if name.endswith(".py") else sorted((root / name).glob("*.py"))
        others = [m for n, m in policy_files.items() if n != name]
        for f in files:
            text = f.read_text()
            for other in others:
                assert f"graspsim.policies.{other}" not in text and f"from .{other}" not in text, (f, other)


def test_core_geometry_does_not_import_gripper_constants():
    root = HERE.parent / "graspsim"
    for f in root.rglob("*.py"):
        text = f.read_text()
        assert "MAX_OPENING" not in text and "FINGER_WIDTH" not in text, f

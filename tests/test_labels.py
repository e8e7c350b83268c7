"""Simulated-trial labels, the sim data set format, the labelled env and runner."""

import json
import shutil

import gymnasium as gym
import numpy as np
import pytest

import graspsim  # noqa: F401
from graspsim.geometry.candidates import object_candidates, spread_subset
from graspsim.datasets import open_dataset, split
from graspsim.app.labelling import LabelConfig, label_dataset
from graspsim.labels import ObjectLabels
from graspsim.sim.trials import label_scene
from graspsim.objects import get_object_set
from graspsim.scene import SceneSpec, load_suite, save_suite
from graspsim.sim.scene_builder import build_scene, generate_scene
from graspsim.sim.world import World

TINY = LabelConfig(objects="primitives", layout="single", scenes=2, seed=3, split="train", trials_per_object=3)


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim") / "ds"
    summary = label_dataset(TINY, out, workers=1, progress=False)
    return out, summary


@pytest.fixture(scope="module")
def pile_scene():
    objects = get_object_set("primitives")
    with World() as world:
        spec = generate_scene(world, objects, "pile", (3, 3), "test", seed=7)
        frame, labels, stats = label_scene(world, spec, trials_per_object=3, object_set=objects)
        poses_after = [world.pose(i) for i in sorted(world.objects)]
        build_scene(world, spec, objects)
        poses_fresh = [world.pose(i) for i in sorted(world.objects)]
    return spec, frame, labels, stats, poses_after, poses_fresh


def test_candidates_are_antipodal_and_filtered():
    objects = get_object_set("primitives")
    with World() as world:
        spec = generate_scene(world, objects, "single", None, "train", seed=1)
        build_scene(world, spec, objects)
        frame = world.render(None)
        cam = world.camera
        cands = object_candidates(frame["segmentation"] == 1, frame["depth"], cam)
    assert cands and any(c.passes for c in cands)
    assert not all(c.antipodal for c in cands)  # the antipodal test rejects some lines
    chosen = spread_subset([c.grasp for c in cands if c.passes], 4)
    assert len(set(chosen)) == len(chosen) <= 4


def test_label_scene_labels_visible_objects_and_restores_world(pile_scene):
    spec, frame, labels, stats, poses_after, poses_fresh = pile_scene
    assert labels and set(labels) <= set(range(len(spec.objects)))
    assert stats.trials == sum(len(l.positive) + len(l.negative) for l in labels.values())
    assert sum(len(l.positive) for l in labels.values()) > 0
    for lab in labels.values():
        assert len(lab.negative_modes) == len(lab.negative)
        assert lab.filtered <= lab.candidates
    assert poses_after == poses_fresh  # trials leave the world exactly as the spec


def test_labels_round_trip_through_scene_spec(tmp_path, pile_scene):
    spec, _, labels, _, _, _ = pile_scene
    labelled = spec.with_labels(labels)
    save_suite(tmp_path / "s.jsonl", [labelled])
    (back,) = load_suite(tmp_path / "s.jsonl")
    assert back == spec and set(back.labels) == set(labels)
    for i, lab in labels.items():
        np.testing.assert_array_equal(back.labels[i].positive, lab.positive)
        np.testing.assert_array_equal(back.labels[i].negative, lab.negative)
    bad = labelled.to_dict()
    bad["labels"] = {"9": {"positive": [], "negative": []}}
    with pytest.raises(ValueError, match="labels for object index"):
        SceneSpec.from_dict(bad)
    with pytest.raises(ValueError, match="malformed grasp labels"):
        ObjectLabels.from_dict({"positive": [[1, 2, 3]], "negative": []})


def test_label_dataset_layout_and_loader(tiny_dataset):
    out, summary = tiny_dataset
    assert summary["scenes_this_run"] == 2 and summary["trials"] > 0
    assert summary["trials_per_second_per_core"] > 0
    scene = out / "scenes" / "000000"
    for name in ("rgb.png", "depth.tiff", "mask.png", "camera.json", "scene.json", "grasps.json"):
        assert (scene / name).is_file(), name
    grasps = json.loads((scene / "grasps.json").read_text())
    obj = grasps["objects"][0]
    jacquard = (scene / f"000000_{obj['index']}_grasps.txt").read_text().splitlines()
    assert len(jacquard) == len(obj["positive"])

    ds = open_dataset("sim", out)
    assert len(ds) == 2 and ds.ids == ["000000", "000001"]
    sample = ds[0]
    assert sample.rgb.shape == (320, 320, 3) and sample.rgb.dtype == np.uint8
    assert sample.depth.dtype == np.float32 and 0.3 < float(sample.depth.max()) < 0.61
    o = sample.objects[0]
    np.testing.assert_allclose(o.grasps, np.array(obj["positive"]).reshape(-1, 5))
    assert o.mask.sum() == obj["visible_px"] and o.identity == obj["name"]
    # the rectangles are the projections of the world labels stored in scene.json
    spec = SceneSpec.from_json((scene / "scene.json").read_text())
    from graspsim.camera import Camera

    pos, _ = spec.labels[obj["index"]].rects(Camera())
    np.testing.assert_allclose(o.grasps, pos, atol=1e-4)
    assert (out / "suite.jsonl").is_file() and len(load_suite(out / "suite.jsonl")) == 2
    train, val = split(ds.items(), val_fraction=0.5, by="image", seed=0)
    assert len(train) + len(val) == len(ds.items())


def test_label_dataset_resumes_and_refuses_other_configs(tiny_dataset, tmp_path):
    out, _ = tiny_dataset
    copy = tmp_path / "ds"
    shutil.copytree(out, copy)
    shutil.rmtree(copy / "scenes" / "000001")
    (copy / "scenes" / ".000001.tmp-1").mkdir()  # debris of an interrupted write
    summary = label_dataset(TINY, copy, workers=1, progress=False)
    assert summary["scenes_this_run"] == 1 and summary["scenes_skipped"] == 1
    for name in ("grasps.json", "scene.json"):
        assert (copy / "scenes" / "000001" / name).read_text() == (out / "scenes" / "000001" / name).read_text()
    with pytest.raises(ValueError, match="different data set"):
        label_dataset(LabelConfig(**{**TINY.__dict__, "seed": 4}), copy, workers=1, progress=False)


def test_label_dataset_same_with_two_workers(tiny_dataset, tmp_path):
    out, _ = tiny_dataset
    summary = label_dataset(TINY, tmp_path / "w2", workers=2, progress=False)
    assert summary["scenes_this_run"] == 2
    for scene in ("000000", "000001"):
        for name in ("grasps.json", "scene.json"):
            assert (tmp_path / "w2" / "scenes" / scene / name).read_text() == (out / "scenes" / scene / name).read_text()
        a = open_dataset("sim", out)[int(scene)]
        b = open_dataset("sim", tmp_path / "w2")[int(scene)]
        np.testing.assert_array_equal(a.rgb, b.rgb)
        np.testing.assert_array_equal(a.depth, b.depth)


def test_label_config_errors(tmp_path):
    for field, value in [("scenes", 0), ("layout", "heap"), ("trials_per_object", -1), ("objects", "nothing-here")]:
        with pytest.raises(ValueError, match=field if field != "objects" else "objects"):
            label_dataset(LabelConfig(**{**TINY.__dict__, field: value}), tmp_path / field, progress=False)
    with pytest.raises(ValueError, match="workers"):
        label_dataset(TINY, tmp_path / "w", workers=0, progress=False)


def test_missing_sim_dataset_shows_layout(tmp_path):
    with pytest.raises(ValueError, match="dataset.json"):
        open_dataset("sim", tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="scenes/<scene>"):
        open_dataset("sim", tmp_path / "empty")


def test_env_reports_rect_metric_for_labelled_scenes(tiny_dataset):
    out, _ = tiny_dataset
    (spec,) = load_suite(out / "suite.jsonl")[:1]
    env = gym.make("graspsim/PromptedGrasp-v0").unwrapped
    obs, info = env.reset(seed=0, options={"scene": spec})
    assert info["labelled"] and "labels" not in info["scene"]
    positives, _ = spec.labels[info["target_id"]].rects(env.camera)
    u, v, angle, opening, _ = positives[0]
    _, reward, _, _, step_info = env.step(np.array([u, v, angle, opening], np.float32))
    assert step_info["rect_success"] is True and step_info["rect_iou"] > 0.9
    assert step_info["rect_angle_error_deg"] < 1e-3
    assert reward == 1.0  # a positive label replayed in the same scene lifts the object again
    env.reset(seed=0, options={"scene": spec})
    far_u = u + 90 if u < 160 else u - 90  # far from every positive of the single object
    assert np.abs(positives[:, 0] - far_u).min() > 60
    _, _, _, _, step_info = env.step(np.array([far_u, v, angle, opening], np.float32))
    assert step_info["rect_success"] is False and step_info["rect_iou"] == 0.0
    # a scene without labels gives no rectangle metric
    obs, info = env.reset(seed=0, options={"scene": spec.with_labels(None)})
    assert not info["labelled"]
    _, _, _, _, step_info = env.step(np.array([u, v, angle, opening], np.float32))
    assert "rect_success" not in step_info
    env.close()


def test_env_rect_metric_flips_at_the_iou_and_angle_thresholds(tiny_dataset):
    """Near each threshold the environment's rect_success is graspsim.metric.match's decision and flips there."""
    from dataclasses import replace

    from graspsim.grasp import ImageGrasp
    from graspsim.metric import match

    out, _ = tiny_dataset
    (spec,) = load_suite(out / "suite.jsonl")[:1]
    env = gym.make("graspsim/PromptedGrasp-v0").unwrapped
    _, info = env.reset(seed=0, options={"scene": spec})
    target = info["target_id"]
    one = replace(spec.labels[target], positive=spec.labels[target].positive[:1])
    scene = spec.with_labels({**spec.labels, target: one})
    (gt,) = one.rects(env.camera)[0]
    u, v, angle, opening, jaw = gt
    closing = np.array([np.cos(angle), -np.sin(angle)])  # angles run from +u towards -v

    def rect(shift_px=0.0, turn_deg=0.0):
        return np.array([u + shift_px * closing[0], v + shift_px * closing[1], angle + np.radians(turn_deg), opening, jaw])

    shifts = np.linspace(0.0, opening, 400)  # the IoU falls as the rectangle slides along its closing line
    edge = shifts[np.argmax([not match(rect(s), gt[None]).success for s in shifts])]
    cases = [rect(edge - 1.0), rect(edge + 1.0), rect(turn_deg=29.5), rect(turn_deg=30.5)]
    decisions = []
    for r in cases:
        env.reset(seed=0, options={"scene": scene})
        _, _, _, _, step_info = env.step(ImageGrasp.from_rect(r).as_action())
        assert step_info["rect_success"] == match(r, gt[None]).success
        decisions.append(step_info["rect_success"])
    assert decisions == [True, False, True, False]
    env.close()


def test_env_labels_on_the_fly_without_changing_the_episode():
    kwargs = dict(layout="single", objects="primitives")
    plain = gym.make("graspsim/PromptedGrasp-v0", **kwargs).unwrapped
    labelling = gym.make("graspsim/PromptedGrasp-v0", label_targets=True, label_trials=2, **kwargs).unwrapped
    obs_a, _ = plain.reset(seed=5)
    obs_b, info_b = labelling.reset(seed=5)
    assert info_b["labelled"] and labelling.target_labels is not None
    np.testing.assert_array_equal(obs_a["depth"], obs_b["depth"])
    action = np.array([160.0, 160.0, 0.3, 40.0], np.float32)
    res_a = plain.step(action)
    res_b = labelling.step(action)
    np.testing.assert_array_equal(res_a[0]["depth"], res_b[0]["depth"])
    assert res_a[4]["success"] == res_b[4]["success"]
    np.testing.assert_array_equal(res_a[4]["grasp"], res_b[4]["grasp"])
    assert "rect_success" in res_b[4] and "rect_success" not in res_a[4]
    with pytest.raises(ValueError, match="label_trials"):
        gym.make("graspsim/PromptedGrasp-v0", label_trials=0)
    plain.close()
    labelling.close()


def test_run_on_a_suite_prints_agreement(tiny_dataset, tmp_path, capsys):
    from graspsim.app.cli import main

    out, _ = tiny_dataset
    rc = main(["run", "--policy", "analytic", "--suite", str(out / "suite.jsonl"), "--out", str(tmp_path / "r"),
               "--no-figures", "--quiet"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "rectangle-metric accuracy" in text and "rect correct" in text
    group = json.loads((tmp_path / "r" / "summary.json").read_text())["groups"]["analytic/point"]
    assert group["episodes"] == 2 and group["labelled_episodes"] == 2
    assert sum(group["agreement"].values()) == 2
    records = [json.loads(l) for l in (tmp_path / "r" / "episodes.jsonl").read_text().splitlines()]
    assert all(r["rect_success"] in (True, False) for r in records)
    assert main(["run", "--suite", "no-such-suite", "--out", str(tmp_path / "x")]) == 2


def test_export_sim_dataset_to_jacquard(tiny_dataset, tmp_path, capsys):
    from graspsim.app.cli import main
    from graspsim.rectangles import scale_rects

    out, _ = tiny_dataset
    rc = main(["export", "--format", "jacquard", "--data", str(out), "--out", str(tmp_path / "j"), "--image-size", "128", "--quiet"])
    assert rc == 0 and "exported" in capsys.readouterr().out
    sim = open_dataset("sim", out)
    jac = open_dataset("jacquard", tmp_path / "j")
    assert len(jac) == sum(1 for s in sim for o in s.objects if len(o.grasps))
    by_id = {jac.ids[i]: jac[i] for i in range(len(jac))}
    for s in sim:
        for o in s.objects:
            if not len(o.grasps):
                continue
            j = by_id[f"{s.id}_{o.key}"]
            assert j.rgb.shape == (128, 128, 3) and j.depth.dtype == np.float32
            np.testing.assert_allclose(j.objects[0].grasps, scale_rects(o.grasps, 128 / 320), atol=2e-3)
            assert j.objects[0].mask.any()
    assert main(["export", "--format", "jacquard", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "k")]) == 2


@pytest.mark.parametrize("name", ["primitives-test", "random-urdfs-test", "appearance-test", "procedural-test", "text-test"])
def test_shipped_suites_are_densely_labelled_test_split_scenes(name):
    from graspsim import suites
    from graspsim.appearance import held_out_parts

    scenes = suites.load(name)
    assert len(scenes) == 100
    for spec in scenes:
        test_names = {o.name for o in get_object_set(spec.object_set).objects("test")}
        assert spec.layout == "pile" and spec.labels
        assert {o.name for o in spec.objects} <= test_names
        assert all(0 <= i < len(spec.objects) for i in spec.labels)
    labels = [lab for s in scenes for lab in s.labels.values()]
    assert sum(len(lab.positive) for lab in labels) > 0 and sum(len(lab.negative) for lab in labels) > 0
    assert np.mean([len(lab.positive) + len(lab.negative) for lab in labels]) >= 25  # dense: ~32 trials per object
    if name in ("appearance-test", "procedural-test", "text-test"):
        assert all(s.appearance is not None for s in scenes)
        assert any(held_out_parts(s.appearance) for s in scenes)  # appearance the train split never shows
    if name == "appearance-test":
        assert {s.object_set for s in scenes} == {"primitives", "random-urdfs"}
    if name == "text-test":  # every scene asks for language (checked on a few: each needs a render)
        from graspsim.phrases import needs_language, scene_facts
        from graspsim.sim.scene_builder import build_scene
        from graspsim.sim.world import World

        assert {s.object_set for s in scenes} == {"primitives", "procedural"}
        with World() as world:
            for spec in scenes[:5]:
                build_scene(world, spec.with_labels(None))
                seg = world.render(None)["segmentation"]
                assert needs_language(scene_facts(spec, {i: seg == i + 1 for i in spec.labels}))
    with pytest.raises(ValueError, match="suite must be one of"):
        suites.load("no-such-suite")


def test_dense_labels_try_many_candidates_including_ones_a_policy_would_reject():
    """The labeller tries >= 30 candidates of an object, and does not drop those whose
    hand would touch a neighbour (the physics decides, not the policies' clearance test)."""
    from graspsim.geometry.clearance import grasp_clear, height_map
    from graspsim.grasp import world_to_image
    from graspsim.sim.trials import trial_grasps

    objects = get_object_set("primitives")
    with World() as world:
        world.add_object(objects, "red box", 1.0, [0.0, 0.0, 0.0201], [0, 0, 0, 1])
        world.add_object(objects, "yellow cylinder", 1.0, [0.035, 0.0, 0.0251], [0, 0, 0, 1])  # a close neighbour
        world.settle()
        frame = world.render(None)
        grasps, n_candidates, n_possible = trial_grasps(world, frame, 0, 32)
        cam = world.camera
        full = height_map(frame["depth"], cam.intrinsics, cam.extrinsics)
        clear = [grasp_clear(full, frame["depth"], cam.intrinsics, cam.extrinsics,
                             *world_to_image(g, cam).as_rect()[:4]) for g in grasps]
    assert len(grasps) == 32 and n_candidates >= n_possible >= 32
    assert not all(clear)  # some tried grasps would touch the cylinder: kept for the physics to judge
    assert all(g.opening_m <= world.gripper_spec.max_opening_m + 1e-9 for g in grasps)


def test_label_over_several_object_sets_with_randomised_appearance(tmp_path):
    """`graspsim label --objects A,B --appearance randomised`: scene n uses set n mod 2 and carries its
    appearance (drawn with the run's split), so the written suite replays what was labelled."""
    from graspsim.app.labelling import LabelConfig, label_dataset
    from graspsim.scene import load_suite

    config = LabelConfig(objects="primitives,procedural", layout="single", scenes=2, seed=5, split="train",
                         trials_per_object=2, appearance="randomised")
    summary = label_dataset(config, tmp_path / "ds", workers=1, progress=False)
    assert summary["scenes_total"] == 2 and not summary["failed"]
    specs = load_suite(tmp_path / "ds" / "suite.jsonl")
    assert [s.object_set for s in specs] == ["primitives", "procedural"]
    assert all(s.appearance is not None for s in specs)
    with pytest.raises(ValueError, match="appearance must be one of"):
        LabelConfig(appearance="fancy").check()
    with pytest.raises(ValueError, match="object set 'nope'|unknown object set 'nope'"):
        LabelConfig(objects="primitives,nope").check()


def test_label_a_suite_again_keeps_its_scenes(tmp_path):
    """`graspsim label --suite NAME` labels the suite's own scenes (poses as stored), not regenerated ones."""
    from graspsim import suites
    from graspsim.app.labelling import LabelConfig, label_dataset
    from graspsim.scene import load_suite

    summary = label_dataset(LabelConfig(suite="primitives-test", scenes=2, trials_per_object=2), tmp_path / "re",
                            workers=1, progress=False)
    assert summary["scenes_total"] == 2
    relabelled = load_suite(tmp_path / "re" / "suite.jsonl")
    assert relabelled == suites.load("primitives-test")[:2]  # equality ignores labels
    assert all(lab.gripper == "franka" for s in relabelled for lab in s.labels.values())
    with pytest.raises(ValueError, match="exceeds the 100 scenes"):
        LabelConfig(suite="primitives-test", scenes=101).check()


def test_text_scenes_ask_for_language(tmp_path):
    """--text-scenes keeps only scenes where every visible object needs more than one word to be told apart."""
    from graspsim.phrases import needs_language, scene_facts
    from graspsim.sim.world import World

    config = LabelConfig(objects="primitives", layout="pile", scenes=1, seed=500000, split="test",
                         trials_per_object=1, appearance="randomised", text_scenes=True)
    label_dataset(config, tmp_path / "t", progress=False)
    (spec,) = load_suite(tmp_path / "t" / "suite.jsonl")
    with World() as world:
        from graspsim.sim.scene_builder import build_scene

        build_scene(world, spec.with_labels(None))
        seg = world.render(None)["segmentation"]
    facts = scene_facts(spec, {i: seg == i + 1 for i in spec.labels})
    assert needs_language(facts) and len(facts) >= 2
    with pytest.raises(ValueError, match="text_scenes draws new scenes"):
        LabelConfig(suite="primitives-test", text_scenes=True).check()

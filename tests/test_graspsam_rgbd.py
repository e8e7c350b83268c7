"""GraspSAM ``tiny_rgbd``: depth (heights above the table) as an extra input.

Shapes, the depth stem's effect and its zero start (a ``tiny`` checkpoint gives
exactly ``tiny``'s outputs), heights that do not depend on the camera's height,
augmentation keeping rgb / heights / mask aligned, and the whole chain on a tiny
labelled data set: training (also from a ``tiny`` checkpoint), the eval command
and the policy in the environment.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("segment_anything")

from graspsim.policies.graspsam import build_graspsam, is_graspsam_addition, save_graspsam_checkpoint  # noqa: E402
from graspsim.policies.graspsam.build import VARIANTS, init_from_checkpoint  # noqa: E402
from graspsim.policies.graspsam.depth import (  # noqa: E402
    HEIGHT_CLIP,
    HEIGHT_SCALE_M,
    approximate_heights,
    heights_from_camera,
    normalise_heights,
    sample_heights,
)
from graspsim.policies.graspsam.examples import Example, augment, flip, rotate_quarter  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).integers(0, 256, size=(2, 160, 200, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def heights():
    h = np.zeros((2, 160, 200), np.float32)
    h[0, 40:90, 60:120] = 0.05  # a 5 cm box
    h[1, 100:150, 20:60] = 0.12
    h[1, 0:5, 0:5] = np.nan  # missing depth
    return h


def _rgbd_from(tiny_model, tmp_path):
    torch.manual_seed(1)
    model = build_graspsam("tiny_rgbd")
    path = save_graspsam_checkpoint(tiny_model, tmp_path / "tiny.pt")
    report, _ = init_from_checkpoint(model, path)
    return model, report


def test_variant_shapes_keys_and_additions(tiny, images, heights):
    model = build_graspsam("tiny_rgbd")
    assert model.uses_depth and not tiny.uses_depth and VARIANTS["tiny_rgbd"].uses_depth
    assert VARIANTS["tiny_rgbd"].rgb_variant == "tiny" and not VARIANTS["tiny"].uses_depth
    new = set(model.state_dict()) - set(tiny.state_dict())
    assert set(tiny.state_dict()) <= set(model.state_dict())
    assert new and all(k.startswith("image_encoder.depth_stem.") and is_graspsam_addition(k) for k in new)
    assert not any("depth_stem" in k for k in tiny.state_dict())  # the RGB variant keeps its keys
    with torch.no_grad():
        emb = model.encode(images, heights=heights)
        out = model.decode(emb, points=[[[100.0, 60.0]], [[40.0, 120.0]]])
    assert emb.image_embedding.shape == (2, 128, 16, 16) and emb.early_feature.shape == (2, 160, 16, 16)
    assert out.grasp_maps.shape == (2, 4, 64, 64) and out.mask_logits.shape == (2, 1, 64, 64)
    assert torch.isfinite(out.grasp_maps).all()
    # freezing SAM leaves the stem trainable (a GraspSAM addition)
    model.freeze_sam(True)
    assert all(p.requires_grad for n, p in model.named_parameters() if "depth_stem" in n)
    assert not model.image_encoder.patch_embed.proj.weight.requires_grad


def test_preprocess_heights_normalises_resizes_and_pads_like_the_image(tiny, heights):
    model = build_graspsam("tiny_rgbd")
    h, original, resized = model.preprocess_heights(heights)
    _, o2, r2 = model.preprocess(np.zeros((2, 160, 200, 3), np.uint8))
    assert h.shape == (2, 1, 256, 256) and (original, resized) == (o2, r2) == ((160, 200), (205, 256))
    assert torch.all(h[:, :, 205:] == 0)  # zero padding below the image: the table
    assert float(h[0, 0, 51 + 10, 77 + 10]) == pytest.approx(0.05 / HEIGHT_SCALE_M, abs=1e-5)  # inside the box
    assert float(h[1, 0, 0, 0]) == 0.0  # missing depth reads as the table
    assert float(h.max()) <= HEIGHT_CLIP
    np.testing.assert_allclose(normalise_heights(np.array([-0.1, np.nan, 0.05, 1.0])), [0, 0, 0.5, HEIGHT_CLIP])


def test_zero_initialised_stem_gives_exactly_the_rgb_model(tiny, images, heights, tmp_path):
    model, report = _rgbd_from(tiny, tmp_path)
    assert report.skipped and all(k.startswith("image_encoder.depth_stem.") for k in report.skipped)
    pts = [[[100.0, 60.0]], [[40.0, 120.0]]]
    with torch.no_grad():
        a = tiny(images, points=pts)
        b = model(images, heights=heights, points=pts)
        ea, eb = tiny.encode(images), model.encode(images, heights=heights)
    assert torch.equal(ea.image_embedding, eb.image_embedding) and torch.equal(ea.early_feature, eb.early_feature)
    assert torch.equal(a.grasp_maps, b.grasp_maps) and torch.equal(a.mask_logits, b.mask_logits)
    # another variant is refused, naming both
    with pytest.raises(ValueError, match="'tiny_rgbd'.*'tiny'"):
        init_from_checkpoint(build_graspsam("tiny"), save_graspsam_checkpoint(model, tmp_path / "rgbd.pt"))


def test_depth_changes_the_embedding_while_rgb_is_fixed(tiny, images, heights, tmp_path):
    model, _ = _rgbd_from(tiny, tmp_path)
    with torch.no_grad():
        model.image_encoder.depth_stem.proj.weight.normal_(std=0.05)  # as after some training
        e1 = model.encode(images, heights=heights).image_embedding
        e1_again = model.encode(images, heights=heights).image_embedding
        e2 = model.encode(images, heights=heights + 0.03).image_embedding
        e0 = model.encode(images, heights=np.zeros_like(heights)).image_embedding
    assert torch.equal(e1, e1_again)
    assert not torch.allclose(e1, e2, atol=1e-4) and not torch.allclose(e1, e0, atol=1e-4)
    # image 0 is unchanged where heights are: only the changed image's embedding moves
    h = heights.copy()
    h[1] += 0.02
    with torch.no_grad():
        e3 = model.encode(images, heights=h).image_embedding
    assert torch.equal(e3[0], e1[0]) and not torch.allclose(e3[1], e1[1], atol=1e-4)


def test_encode_without_heights_raises_and_rgb_models_ignore_them(tiny, images, heights):
    model = build_graspsam("tiny_rgbd")
    with pytest.raises(ValueError, match="needs heights"):
        model.encode(images)
    with pytest.raises(ValueError, match="needs heights"):
        model(images, points=[[[10.0, 10.0]], [[20.0, 20.0]]])
    with pytest.raises(ValueError, match="do not match"):
        model.encode(images, heights=heights[:, :100])
    with pytest.raises(ValueError, match="B×H×W"):
        model.encode(images, heights=heights[0])
    with torch.no_grad():  # an RGB model does not read heights
        assert torch.equal(tiny.encode(images, heights=heights).image_embedding, tiny.encode(images).image_embedding)
    with pytest.raises(ValueError, match="no depth stem"):  # at the encoder level a mismatch is a bug
        tiny.image_encoder(torch.zeros(1, 3, 256, 256), heights=torch.zeros(1, 1, 256, 256))


def test_heights_do_not_depend_on_the_camera_height():
    """The same scene seen from 0.5 m and 0.75 m: raw depth differs by 25 cm, the
    normalised heights agree at the table and on the objects' tops."""
    from graspsim.camera import Camera
    from graspsim.objects import get_object_set
    from graspsim.sim.world import World

    objects = get_object_set("primitives")
    with World() as world:
        box = world.add_object(objects, "red box", 1.0, [0.03, -0.02, 0.05], [0, 0, 0, 1])
        cyl = world.add_object(objects, "blue cylinder", 1.0, [-0.08, 0.06, 0.05], [0, 0, 0, 1])
        bodies = {box: world.objects[box], cyl: world.objects[cyl]}
        frames = []
        for height in (0.5, 0.75):
            camera = Camera(height_m=height)
            frame = camera.render(world.client)
            h = normalise_heights(heights_from_camera(frame["depth"], camera.intrinsics, camera.extrinsics))
            frames.append((frame, h))
    (f1, h1), (f2, h2) = frames
    assert abs(float(np.median(f1["depth"])) - float(np.median(f2["depth"]))) > 0.2  # depth itself moves
    for frame, h in frames:
        table = ~np.isin(frame["segmentation"], list(bodies.values()))
        assert np.abs(h[table]).max() < 0.01  # the table: 0 (within 1 mm)
    for body in bodies.values():
        top1 = np.percentile(h1[f1["segmentation"] == body], 90)
        top2 = np.percentile(h2[f2["segmentation"] == body], 90)
        assert top1 > 0.3 and abs(top1 - top2) < 0.02  # an object's top: the same height within 2 mm
    top = np.percentile(h1[f1["segmentation"] == bodies[box]], 90)
    assert top == pytest.approx(0.07 / HEIGHT_SCALE_M, abs=0.02)  # the box's top at 7 cm
    # without the camera (Jacquard, OCID): the plane-fit approximation, exact for a camera looking down
    approx = normalise_heights(approximate_heights(f1["depth"]))
    assert abs(np.percentile(approx[f1["segmentation"] == bodies[box]], 90) - top) < 0.02


def _near(mask, r=3):
    import cv2

    return cv2.dilate(mask.astype(np.uint8), np.ones((2 * r + 1, 2 * r + 1), np.uint8)) > 0


def test_sample_heights_refuse_samples_without_usable_depth():
    from graspsim.datasets.sample import GraspSample

    rgb = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="no depth"):
        sample_heights(GraspSample("a", rgb, None, []))
    with pytest.raises(ValueError, match="units"):
        sample_heights(GraspSample("b", rgb, np.ones((8, 8), np.float32), [], {"depth_units": "as stored"}))
    flat = sample_heights(GraspSample("c", rgb, np.full((8, 8), 0.6, np.float32), [], {"depth_units": "m"}))
    np.testing.assert_allclose(flat, 0.0, atol=1e-6)


def test_augmentation_keeps_rgb_heights_and_mask_aligned():
    rng = np.random.default_rng(0)
    heights = rng.uniform(0, 0.25, (12, 12)).astype(np.float32)
    rgb = np.repeat((heights * 1000).astype(np.uint8)[..., None], 3, axis=2)  # rgb encodes the heights
    mask = heights > 0.15
    v, u = np.argwhere(mask)[0]
    ex = Example(rgb, mask, np.array([[float(u), float(v), 0.3, 4.0, 2.0]]), 2.0, "a", "a", "s", heights)
    seen = set()
    for seed in range(64):
        for out in (augment(ex, np.random.default_rng(seed)), rotate_quarter(ex), flip(ex)):
            assert out.heights.shape == out.mask.shape == out.rgb.shape[:2]
            np.testing.assert_array_equal(out.rgb[..., 0], (out.heights * 1000).astype(np.uint8))
            np.testing.assert_array_equal(out.mask, out.heights > 0.15)
            gu, gv = out.grasps[0, :2]
            assert out.mask[int(round(gv)), int(round(gu))]  # the grasp centre stays on its pixel
            seen.add(out.heights.tobytes())
    assert len(seen) == 8  # all four turns, with and without the flip
    plain = Example(rgb, mask, ex.grasps, 2.0, "a", "a", "s")  # RGB examples keep no heights
    assert augment(plain, np.random.default_rng(1)).heights is None


# ----------------------------------------------------------------- the chain on a tiny data set
@pytest.fixture(scope="module")
def data(labelled_dataset):
    return labelled_dataset(3)


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    torch.manual_seed(3)
    model = build_graspsam("tiny")
    with torch.no_grad():
        model.mask_decoder.grasp_head.bias.copy_(torch.tensor([0.3, 0.0, 0.0, 0.2]))
    return save_graspsam_checkpoint(model, tmp_path_factory.mktemp("rgbd") / "tiny.pt")


@pytest.fixture(scope="module")
def trained(data, tiny_checkpoint, tmp_path_factory):
    """A 2-step tiny_rgbd training started from a tiny checkpoint, through the command line."""
    from graspsim.app.cli import main

    out = tmp_path_factory.mktemp("rgbd") / "run"
    assert main(["train", "graspsam", "--variant", "tiny_rgbd", "--init-from", str(tiny_checkpoint),
                 "--data", str(data), "--val", str(data), "--out", str(out), "--epochs", "1", "--batch-size", "2",
                 "--quiet"]) == 0
    return out


def test_examples_of_a_sim_data_set_carry_exact_heights(data):
    from graspsim.datasets import open_dataset
    from graspsim.policies.graspsam.examples import examples_from

    ds = open_dataset("sim", data)
    with_h = examples_from(ds, ds.items(), heights=True)
    assert with_h and all(e.heights is not None and e.heights.shape == e.mask.shape for e in with_h)
    assert examples_from(ds, ds.items()[:1])[0].heights is None  # RGB variants: none
    e = with_h[0]
    assert np.median(e.heights[~_near(e.mask, 5)]) == pytest.approx(0.0, abs=0.003)  # the table
    assert 0.01 < np.percentile(e.heights[e.mask], 90) < 0.3  # the object stands on it


def test_training_from_a_tiny_checkpoint_and_the_policy(data, tiny_checkpoint, trained, monkeypatch):
    import gymnasium as gym

    import graspsim  # noqa: F401
    from graspsim import policies
    from graspsim.policies.graspsam.build import load_graspsam_checkpoint

    model, meta = load_graspsam_checkpoint(trained / "best.pt")
    assert model.variant == "tiny_rgbd" and model.uses_depth and meta["config"]["variant"] == "tiny_rgbd"
    start, _ = load_graspsam_checkpoint(tiny_checkpoint)
    moved = [k for k, v in start.state_dict().items() if not torch.equal(v, model.state_dict()[k])]
    assert moved  # it trained
    assert model.image_encoder.depth_stem.proj.weight.abs().sum() > 0  # the stem left zero

    policy = policies.make("graspsam", checkpoint=str(trained / "best.pt"))
    assert policy.model.variant == "tiny_rgbd"
    env = gym.make("graspsim/PromptedGrasp-v0", layout="single").unwrapped
    obs, _ = env.reset(seed=2)
    calls = []
    encode = policy.model.encode
    monkeypatch.setattr(policy.model, "encode", lambda x, heights=None: calls.append(heights) or encode(x, heights))
    a1 = policy.act(obs)
    a2 = policy.act(obs)
    assert len(calls) == 1 and calls[0] is not None and calls[0].shape == (1, *obs["depth"].shape)
    np.testing.assert_array_equal(a1, a2)
    assert a1.shape == (4,) and a1.dtype == np.float32 and np.isfinite(a1).all()
    moved_depth = dict(obs, depth=np.asarray(obs["depth"]) - 0.01)  # same rgb, new depth: encoded again
    policy.act(moved_depth)
    assert len(calls) == 2
    info = env.step(a1)[4]
    assert "failure_mode" in info
    no_depth = {k: v for k, v in obs.items() if k != "depth"}
    fresh = policies.make("graspsam", checkpoint=str(trained / "best.pt"))
    with pytest.raises(ValueError, match="depth"):
        fresh.act(no_depth)
    with pytest.raises(ValueError, match="variant"):
        policies.make("graspsam", checkpoint=str(trained / "best.pt"), variant="tiny")
    env.close()


def test_init_from_tiny_starts_from_exactly_the_tiny_model(data, tiny_checkpoint, tmp_path):
    from graspsim.datasets import open_dataset
    from graspsim.policies.graspsam.build import load_graspsam_checkpoint
    from graspsim.policies.graspsam.examples import examples_from
    from graspsim.policies.graspsam.train import TrainConfig, train_graspsam

    config = TrainConfig(data=str(data), val=str(data), out=str(tmp_path / "lr0"), variant="tiny_rgbd", epochs=1,
                         batch_size=2, lr=0.0, weight_decay=0.0, max_examples=2, init=str(tiny_checkpoint))
    train_graspsam(config, progress=False)
    rgbd, _ = load_graspsam_checkpoint(tmp_path / "lr0" / "best.pt")
    rgb, _ = load_graspsam_checkpoint(tiny_checkpoint)
    ds = open_dataset("sim", data)
    e = examples_from(ds, ds.items()[:1], heights=True)[0]
    with torch.no_grad():
        a = rgb(e.rgb[None], points=[[[60.0, 80.0]]])
        b = rgbd(e.rgb[None], heights=e.heights[None], points=[[[60.0, 80.0]]])
    assert torch.equal(a.grasp_maps, b.grasp_maps) and torch.equal(a.mask_logits, b.mask_logits)
    with pytest.raises(ValueError, match="variant"):  # tiny cannot start from a tiny_rgbd checkpoint
        train_graspsam(TrainConfig(**{**config.__dict__, "variant": "tiny", "out": str(tmp_path / "x"),
                                      "init": str(tmp_path / "lr0" / "best.pt")}), progress=False)


def test_eval_cli_with_a_tiny_rgbd_checkpoint(data, trained, capsys):
    from graspsim.app.cli import main

    assert main(["eval", "graspsam", "--variant", "tiny_rgbd", "--checkpoint", str(trained / "best.pt"),
                 "--data", str(data), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "(tiny_rgbd)" in text and "point: top-1" in text and "box: top-1" in text
    assert main(["eval", "graspsam", "--variant", "tiny", "--checkpoint", str(trained / "best.pt"),
                 "--data", str(data), "--quiet"]) == 2  # the checkpoint holds another variant


def test_tiny_rgbd_refuses_data_without_usable_depth(data, tmp_path):
    """Jacquard's layout has depth in metres but no camera: heights are approximated;
    a data set without depth is refused by name."""
    import os

    from graspsim.datasets import open_dataset
    from graspsim.datasets.jacquard import write_jacquard
    from graspsim.policies.graspsam.examples import examples_from

    write_jacquard(open_dataset("sim", data), tmp_path / "jq", image_size=96, progress=False)
    jq = open_dataset("jacquard", tmp_path / "jq")
    examples = examples_from(jq, jq.items(), heights=True)
    assert examples and all(e.heights.shape == e.mask.shape for e in examples)
    assert max(np.percentile(e.heights[e.mask], 90) for e in examples) > 0.01
    for path in (tmp_path / "jq").rglob("*_perfect_depth.tiff"):
        os.remove(path)
    no_depth = open_dataset("jacquard", tmp_path / "jq")
    with pytest.raises(ValueError, match="no depth image.*tiny_rgbd"):
        examples_from(no_depth, no_depth.items(), heights=True)


def test_shipped_checkpoints_hold_their_variants():
    """The default is tiny_rgbd with a language path and a grounding head; the earlier RGB tiny file is unchanged."""
    from graspsim.policies.graspsam.build import load_graspsam_checkpoint
    from graspsim.policies.graspsam.policy import SHIPPED_CHECKPOINT, TINY_RGB_CHECKPOINT

    model, meta = load_graspsam_checkpoint(SHIPPED_CHECKPOINT)
    assert model.variant == "tiny_rgbd" and model.uses_depth
    assert model.has_text and model.text_encoder.grounding
    assert meta["grounding"]["val"]["text"]["n"] > 0 and meta["source_checkpoint"]
    tiny, _ = load_graspsam_checkpoint(TINY_RGB_CHECKPOINT)
    assert tiny.variant == "tiny" and not tiny.uses_depth
    assert set(tiny.state_dict()) == set(build_graspsam("tiny").state_dict())


def test_the_default_policy_runs_the_shipped_model_with_the_steps_validation_chose():
    """depth_refine on (it helped on validation scenes), colour_refine off (a uniform-colour heuristic);
    graspsam-model switches every step off."""
    from graspsim import policies

    policy = policies.make("graspsam")
    assert policy.model.variant == "tiny_rgbd" and policy.model.text_encoder.grounding
    assert (policy.fit_opening, policy.collision_check, policy.fallback, policy.depth_refine) == (True,) * 4
    assert policy.colour_refine is False
    alone = policies.make("graspsam-model")
    assert not any((alone.fit_opening, alone.collision_check, alone.fallback, alone.depth_refine, alone.colour_refine))

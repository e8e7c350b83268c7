"""Redmon & Angelova 2015 baselines: RGD input, crop frame, heads, targets, k-fold CLI, policy."""

import math

import gymnasium as gym
import numpy as np
import pytest
import torch

import graspsim  # noqa: F401
from graspsim import policies
from graspsim.policies.redmon.inputs import (
    INPUT_SIZE, POINT_WINDOW_FRACTION, RGD_MEAN, box_window, crop, jitter_window, network_input, prompt_window,
    rects_from_crop, rects_to_crop, rgd,
)
from graspsim.policies.redmon.model import (
    MODELS, RedmonNet, decode_grasp, decode_grid, encode_grasp, encode_grid, load_checkpoint, loss_fn, save_checkpoint,
)
from graspsim.policies.redmon.train import RedmonConfig, catalogue_categories, run, training_batch, load_examples
from graspsim.rectangles import to_corners

pytestmark = pytest.mark.usefixtures("torch_one_thread")
TINY = {"width": 0.05, "hidden": 16}


@pytest.fixture(scope="module")
def data(labelled_dataset):
    return labelled_dataset(4)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rm") / "ckpt"
    classes = catalogue_categories()
    for m in MODELS:
        torch.manual_seed(0)
        save_checkpoint(RedmonNet(m, classes=classes, **TINY), folder / f"{m}.pt", metadata={"test": True})
    return folder


def test_rgd_replaces_blue_with_normalised_depth():
    rgb = np.full((4, 5, 3), 7, np.uint8)
    rgb[..., 2] = 200
    depth = np.array([[0.5, 0.6, 0.7, 0.0, 0.55]] * 4, np.float32)
    x = rgd(rgb, depth)
    assert x.dtype == np.uint8 and x.shape == (4, 5, 3)
    np.testing.assert_array_equal(x[..., :2], rgb[..., :2])
    assert x[0, 0, 2] == 1 and x[0, 2, 2] == 255 and x[0, 3, 2] == 0  # nearest, farthest, missing
    assert 1 < x[0, 1, 2] < 255
    assert (rgd(rgb, None)[..., 2] == 0).all()
    net_in = network_input(x[None])
    assert net_in.shape == (1, 3, 4, 5) and net_in.dtype == np.float32
    assert net_in[0, 0, 0, 0] == pytest.approx((7 - RGD_MEAN) / 64)
    with pytest.raises(ValueError, match="depth"):
        rgd(rgb, depth[:2])


def test_crop_round_trip_and_frame_consistency():
    rng = np.random.default_rng(0)
    rects = np.array([[100.0, 80.0, 0.3, 40.0, 16.0], [130.0, 120.0, -1.2, 30.0, 10.0]])
    for _ in range(5):
        window = jitter_window(box_window([80, 60, 150, 140], (320, 320)), rng)
        in_crop = rects_to_crop(rects, window)
        back = rects_from_crop(in_crop, window)
        np.testing.assert_allclose(back, rects, atol=1e-9)
        # the rectangle's corners map by the same affine map as the image pixels
        from graspsim.policies.redmon.inputs import crop_matrix

        m = crop_matrix(window)
        corners = to_corners(rects) @ m[:, :2].T + m[:, 2]
        got = to_corners(in_crop)
        # same polygon (corners may start at the opposite corner after a half turn)
        for a, b in zip(corners, got):
            assert min(np.abs(a - b).max(), np.abs(a - np.roll(b, 2, 0)).max()) < 1e-6
    # a pixel lands where its crop-frame centre says
    img = np.zeros((320, 320, 3), np.uint8)
    img[80, 100] = 255
    window = np.array([110.0, 90.0, INPUT_SIZE, 0.7])  # scale 1, so the pixel stays one pixel wide
    u, v = rects_to_crop([[100, 80, 0, 1, 1]], window)[0, :2]
    c = crop(img, window)
    assert c[int(round(v)), int(round(u)), 0] > 100
    scored = np.hstack([rects, [[0.9], [0.1]]])
    np.testing.assert_allclose(rects_from_crop(rects_to_crop(rects, window), window), rects, atol=1e-9)
    assert rects_from_crop(np.hstack([rects_to_crop(rects, window), scored[:, 5:]]), window).shape == (2, 6)


def test_prompt_windows():
    side = POINT_WINDOW_FRACTION * 320
    w = prompt_window({"points": np.array([[10.0, 20.0], [30.0, 40.0], [300.0, 300.0]]), "labels": np.array([1, 1, 0])}, (320, 320))
    np.testing.assert_allclose(w, [20, 30, side, 0])
    w = prompt_window({"box": np.array([100, 100, 159, 129], np.float32)}, (320, 320))
    np.testing.assert_allclose(w, [129.5, 114.5, 90, 0])  # 1.5 x the longer side
    mask = np.zeros((320, 320), bool)
    mask[100:130, 100:160] = True
    np.testing.assert_allclose(prompt_window({"mask": mask}, (320, 320)), w)
    assert prompt_window({"box": np.array([5, 5, 6, 6])}, (320, 320))[2] == pytest.approx(64)  # minimum side
    with pytest.raises(ValueError, match="box"):
        prompt_window({"box": np.array([10, 10, 5, 5])}, (320, 320))
    with pytest.raises(ValueError, match="no box, mask or points"):
        prompt_window({"points": None, "box": None, "mask": None}, (320, 320))


def test_models_output_shapes_and_losses():
    x = torch.randn(2, 3, INPUT_SIZE, INPUT_SIZE)
    classes = ("a", "b", "c")
    for m in MODELS:
        net = RedmonNet(m, classes=classes, **TINY)
        out = net(x)
        if m == "multigrasp":
            assert out["grid"].shape == (2, 7, 7, 7)
            targets = {"grid": torch.from_numpy(np.stack([encode_grid([[50, 60, 0.2, 40, 16]])] * 2))}
        else:
            assert out["grasp"].shape == (2, 6)
            assert ("logits" in out) == (m == "classify")
            targets = {"grasp": torch.zeros(2, 6), "label": torch.tensor([0, -1])}
        if m == "classify":
            assert out["logits"].shape == (2, 3)
        loss, parts = loss_fn(m, out, targets)
        assert loss.ndim == 0 and torch.isfinite(loss) and parts["loss"] > 0
        loss.backward()
        assert all(p.grad is not None for p in net.parameters())
    with pytest.raises(ValueError, match="input"):
        RedmonNet("direct", **TINY)(torch.zeros(1, 3, 100, 100))
    with pytest.raises(ValueError, match="model"):
        RedmonNet("alexnet")
    with pytest.raises(ValueError, match="classes"):
        RedmonNet("classify", **TINY)
    # the multigrasp loss trains the coordinates only in cells holding a grasp
    out = {"grid": torch.zeros(1, 7, 7, 7, requires_grad=True)}
    loss, _ = loss_fn("multigrasp", out, {"grid": torch.from_numpy(encode_grid([[50, 60, 0.2, 40, 16]])[None])})
    loss.backward()
    g = out["grid"].grad[0]
    assert (g[0] != 0).all() and (g[1:] != 0).sum(dim=(1, 2)).max() == 1


def test_grasp_and_grid_encodings_round_trip():
    rects = np.array([[20.0, 30.0, 0.4, 50.0, 16.0], [150.0, 100.0, -1.0, 30.0, 12.0], [200.0, 210.0, math.pi / 2, 44.0, 18.0]])
    np.testing.assert_allclose(decode_grasp(encode_grasp(rects)), rects, atol=1e-4)
    grid = encode_grid(rects)
    assert grid.shape == (7, 7, 7) and grid[0].sum() == 3
    decoded = decode_grid(grid, logits=False)
    assert decoded.shape == (49, 6) and (decoded[:3, 5] == 1).all()
    got = decoded[:3, :5]
    for r in rects:
        d = np.abs(got - r)
        d[:, 2] = np.minimum(d[:, 2], math.pi - d[:, 2])
        assert (d.max(1) < 1e-3).any()
    assert encode_grid([[-40.0, 10.0, 0.0, 10.0, 5.0]])[0].sum() == 0  # centre outside the crop: dropped


def test_training_batch_targets_lie_in_the_crop(data):
    from graspsim.datasets import open_dataset

    ds = open_dataset("sim", data)
    examples = load_examples(ds, ds.items(), classes=catalogue_categories())
    assert examples and all(len(e.grasps) for e in examples)
    rng = np.random.default_rng(0)
    x, t = training_batch("direct", examples[:3], rng)
    assert x.shape == (3, 3, INPUT_SIZE, INPUT_SIZE) and t["grasp"].shape == (3, 6) and t["label"].shape == (3,)
    assert ((t["grasp"][:, :2] > -0.01) & (t["grasp"][:, :2] < 1.01)).all()
    x, t = training_batch("multigrasp", examples[:3], rng)
    assert t["grid"].shape == (3, 7, 7, 7) and (t["grid"][:, 0].sum(dim=(1, 2)) >= 1).all()


def test_kfold_cli_prints_per_fold_and_mean(data, tmp_path, capsys):
    from graspsim.app.cli import main

    args = ["train", "redmon", "--model", "classify", "--data", str(data), "--folds", "2", "--split", "object",
            "--epochs", "1", "--batch-size", "4", "--width", "0.05", "--hidden", "16", "--out", str(tmp_path / "cv"), "--quiet"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "fold 1/2 (object-wise): top-1" in text and "fold 2/2" in text
    assert "mean top-1" in text and "class accuracy" in text
    assert (tmp_path / "cv" / "summary.json").is_file()
    assert main(args) == 0  # finished folds are read back, not retrained
    assert "fold 2/2" in capsys.readouterr().out
    assert main(args[:-1] + ["--lr", "0.5", "--quiet"]) == 2  # another configuration
    assert "different configuration" in capsys.readouterr().err
    full = ["train", "redmon", "--model", "direct", "--data", str(data), "--folds", "0", "--epochs", "1",
            "--width", "0.05", "--hidden", "16", "--out", str(tmp_path / "full"), "--quiet"]
    assert main(full) == 0
    net, meta = load_checkpoint(tmp_path / "full" / "redmon_direct.pt", model="direct")
    assert meta["examples"] > 0 and net.kind == "direct"
    from graspsim.policies.redmon.train import evaluate_checkpoint

    r = evaluate_checkpoint(tmp_path / "full" / "redmon_direct.pt", data, model="direct")
    assert r["examples"] == meta["examples"] and 0 <= r["point"]["top1"] <= 1 and 0 <= r["box"]["top5"] <= 1
    for bad, field in ((["--folds", "1"], "folds"), (["--epochs", "0"], "epochs"), (["--width", "2"], "width")):
        assert main(full[:-1] + bad + ["--quiet"]) == 2
        assert field in capsys.readouterr().err
    assert main(["train", "redmon", "--model", "direct", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "x"), "--quiet"]) == 2


def test_policy_acts_in_the_env(checkpoints):
    env = gym.make("graspsim/PromptedGrasp-v0", layout="pile", prompt="point").unwrapped
    obs, _ = env.reset(seed=3)
    for m in MODELS:
        policy = policies.make(f"redmon-{m}", checkpoint=checkpoints / f"{m}.pt")
        a = policy.act(obs)
        assert a.shape == (4,) and a.dtype == np.float32 and np.isfinite(a).all()
        assert 0 <= a[0] <= 319 and 0 <= a[1] <= 319 and a[3] >= 0
        rects = policy.last_maps["rects"]
        assert rects.ndim == 2 and rects.shape[1] == 6 and len(rects) == (5 if m == "multigrasp" else 1)
        np.testing.assert_allclose(a[:3], rects[0, :3], atol=1e-4)
        box = policy.last_maps["crop_box"]
        assert box[2] - box[0] == pytest.approx(POINT_WINDOW_FRACTION * 320)
        np.testing.assert_array_equal(policy.act(obs), a)  # deterministic
    assert "heatmap" in policy.last_maps
    _, reward, _, _, info = env.step(a)
    assert "success" in info
    env.close()


def test_policy_prompts_and_bad_inputs(checkpoints):
    from graspsim.prompts import Prompt

    policy = policies.make("redmon-classify", checkpoint=checkpoints / "classify.pt")
    rgb = np.zeros((320, 320, 3), np.uint8)
    depth = np.full((320, 320), 0.6, np.float32)
    box = Prompt(kind="box", box=np.array([100, 100, 159, 129], np.float32))
    policy.act({"rgb": rgb, "depth": depth, "prompt": box.to_observation((320, 320))})
    assert policy.last_maps["category"] in catalogue_categories()
    np.testing.assert_allclose(policy.last_maps["crop_box"], [84.5, 69.5, 174.5, 159.5])
    bad_point = Prompt(kind="point", points=np.array([[400.0, 10.0]], np.float32), labels=np.ones(1, np.int64))
    with pytest.raises(ValueError, match="points"):
        policy.act({"rgb": rgb, "depth": depth, "prompt": bad_point.to_observation((320, 320))})
    with pytest.raises(ValueError, match="holds a 'classify' model, not 'direct'"):
        policies.make("redmon-direct", checkpoint=checkpoints / "classify.pt")
    with pytest.raises(ValueError, match="does not exist"):
        policies.make("redmon-direct", checkpoint=checkpoints / "none.pt")
    with pytest.raises(ValueError, match="top_k"):
        policies.make("redmon-direct", checkpoint=checkpoints / "direct.pt", top_k=0)


def test_objects_without_mask_crop_around_their_rectangles():
    """Cornell-style objects (no mask): the window is placed on the box around the rectangles."""
    from graspsim.policies.redmon.train import RedmonExample, example_prompt

    grasps = np.array([[200.0, 150.0, 0.3, 60.0, 20.0]])
    ex = RedmonExample(np.zeros((240, 320, 3), np.uint8), None, grasps, -1, "", "a", "s")
    rng = np.random.default_rng(0)
    box = example_prompt(ex, "box", rng)["box"]
    assert box[0] < 200 < box[2] and box[1] < 150 < box[3]
    np.testing.assert_allclose(example_prompt(ex, "point", rng)["points"][0], [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
    x, t = training_batch("classify", [ex, ex], rng)
    assert x.shape == (2, 3, INPUT_SIZE, INPUT_SIZE) and (t["label"] == -1).all()
    net = RedmonNet("classify", classes=("a",), **TINY)
    loss, parts = loss_fn("classify", net(torch.from_numpy(x)), t)
    assert torch.isfinite(loss) and "ce" not in parts  # unknown categories add no class loss

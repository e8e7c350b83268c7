"""GraspSAM training (smoke, resume), offline evaluation, the policy in the env, no-grasp."""

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

import graspsim  # noqa: F401
from graspsim import policies
from graspsim.policies.graspsam.examples import Example, augment, flip, map_targets, rotate_quarter
from graspsim.policies.graspsam.train import TrainConfig, train_graspsam


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def data(labelled_dataset):
    return labelled_dataset(3)


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("gs") / "run"
    config = TrainConfig(data=str(data), out=str(out), epochs=1, batch_size=2, val_fraction=0.34, seed=0)
    return config, train_graspsam(config, progress=False)


def test_augmentations_move_rectangles_with_the_image():
    rgb = np.zeros((8, 8, 3), np.uint8)
    mask = np.zeros((8, 8), bool)
    mask[1, 5] = True  # the pixel under the grasp centre
    ex = Example(rgb, mask, np.array([[5.0, 1.0, 0.2, 4.0, 2.0]]), 2.0, "a", "a", "s")
    for turned in (rotate_quarter(ex), flip(ex)):
        u, v = turned.grasps[0, :2]
        assert turned.mask[int(v), int(u)]  # the centre still lies on the same pixel
    assert rotate_quarter(ex).grasps[0, 2] == pytest.approx(0.2 + np.pi / 2 - np.pi)  # wrapped to (-pi/2, pi/2]
    assert flip(ex).grasps[0, 2] == pytest.approx(-0.2)
    four = rotate_quarter(rotate_quarter(rotate_quarter(rotate_quarter(ex))))
    np.testing.assert_allclose(four.grasps, ex.grasps, atol=1e-12)
    a, b = augment(ex, np.random.default_rng(3)), augment(ex, np.random.default_rng(3))
    np.testing.assert_array_equal(a.grasps, b.grasps)
    t = map_targets(ex, 4, width_scale=2.0)
    assert set(t) == {"mask", "quality", "cos2", "sin2", "width", "tried"} and t["mask"].shape == (4, 4)
    np.testing.assert_array_equal(t["tried"], t["quality"])  # no negatives: tried = the positives' support


def test_negatives_travel_with_augmentation_and_mark_tried_pixels():
    from graspsim.policies.graspsam.train import grasp_loss

    mask = np.zeros((16, 16), bool)
    mask[2:14, 2:14] = True
    positive = np.array([[4.0, 4.0, 0.0, 3.0, 2.0]])
    negative = np.array([[11.0, 11.0, 0.3, 3.0, 2.0]])
    ex = Example(np.zeros((16, 16, 3), np.uint8), mask, positive, 2.0, "a", "a", "s", negatives=negative)
    t = map_targets(ex, 16, width_scale=8.0)
    assert t["quality"][11, 11] == 0 and t["tried"][11, 11] == 1 and t["tried"][4, 4] == 1 and t["tried"][8, 4] == 0
    for moved in (rotate_quarter(ex), flip(ex), augment(ex, np.random.default_rng(1))):
        # the negative keeps its place relative to the positive (both move as the image does)
        np.testing.assert_allclose(np.hypot(*(moved.negatives[0, :2] - moved.grasps[0, :2])), np.hypot(7, 7))
    assert flip(ex).negatives[0, 2] == pytest.approx(-0.3)

    class Out:  # a prediction of quality 1 everywhere
        grasp_maps = torch.ones(1, 4, 16, 16)
        mask_logits = torch.zeros(1, 1, 16, 16)
        grounding_logits = None  # no language path

    targets = {k: torch.from_numpy(v)[None] for k, v in t.items()}
    published, _ = grasp_loss(Out, targets)
    same, _ = grasp_loss(Out, targets, untried_weight=1.0)
    lowered, _ = grasp_loss(Out, targets, untried_weight=0.0)
    assert float(same) == float(published)
    # quality error 1 on every untried object pixel, weight 1 -> 0: the loss drops by 2 x their share of the map
    untried = int((mask & (t["tried"] < 0.5)).sum())
    assert float(published - lowered) == pytest.approx(2.0 * untried / 256, rel=1e-5)


def test_training_writes_checkpoints_and_resumes(data, trained, tmp_path, monkeypatch):
    from pathlib import Path

    import graspsim.policies.graspsam.train as train_module

    config, summary = trained
    for name in ("best.pt", "last.pt", "summary.json"):
        assert (Path(config.out) / name).is_file(), name
    val = summary["history"][0]["val"]
    assert len(summary["history"]) == 1 and summary["best"]["epoch"] == 0
    assert summary["best"]["top1"] == (val["point"]["top1"] + val["box"]["top1"]) / 2
    assert np.isfinite(summary["history"][0]["loss"])
    assert len(train_graspsam(config, progress=False)["history"]) == 1  # finished: re-running trains nothing
    with pytest.raises(ValueError, match="epochs"):
        train_graspsam(TrainConfig(**{**config.__dict__, "epochs": 2}), progress=False)
    with pytest.raises(ValueError, match="different training configuration"):
        train_graspsam(TrainConfig(**{**config.__dict__, "lr": 0.5}), progress=False)

    # a 2-epoch run interrupted after its first epoch and resumed ends with the weights of an uninterrupted one
    whole = TrainConfig(**{**config.__dict__, "out": str(tmp_path / "whole"), "epochs": 2, "batch_size": 1})
    train_graspsam(whole, progress=False)
    parts = TrainConfig(**{**whole.__dict__, "out": str(tmp_path / "parts")})
    _interrupt_then_resume(parts, monkeypatch, train_module, "validate", stop_at_call=2)
    a = torch.load(tmp_path / "whole" / "last.pt", weights_only=False)["model"]
    b = torch.load(tmp_path / "parts" / "last.pt", weights_only=False)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)

    # interrupted in the middle of the second epoch, just after a mid-epoch save: the same weights again
    mid = TrainConfig(**{**whole.__dict__, "out": str(tmp_path / "mid"), "save_every_steps": 1})
    per_epoch = -(-len(train_module.load_examples(mid)[0]) // mid.batch_size)
    assert per_epoch >= 2, "the fixture needs two steps per epoch to stop between them"
    # the second step of the second epoch, after the save of its first
    saved = _interrupt_then_resume(mid, monkeypatch, train_module, "grasp_loss", stop_at_call=per_epoch + 2)
    assert saved["partial"]["epoch"] == 1 and saved["partial"]["step"] == 1
    c = torch.load(tmp_path / "mid" / "last.pt", weights_only=False)["model"]
    assert all(torch.equal(a[k], c[k]) for k in a)


def _interrupt_then_resume(config, monkeypatch, module, function: str, stop_at_call: int) -> dict:
    """Train with ``module.function`` raising KeyboardInterrupt at its ``stop_at_call``-th call, then
    resume to the end; returns the last.pt the interruption left."""
    real = getattr(module, function)
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == stop_at_call:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(module, function, interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_graspsam(config, progress=False)
    monkeypatch.setattr(module, function, real)
    left = torch.load(Path(config.out) / "last.pt", weights_only=False)
    assert len(train_graspsam(config, progress=False)["history"]) == config.epochs
    return left


def test_eval_cli_prints_per_prompt_accuracy(data, trained, capsys):
    from graspsim.app.cli import main

    config, _ = trained
    assert main(["eval", "graspsam", "--checkpoint", f"{config.out}/best.pt", "--data", str(data), "--quiet"]) == 0
    text = capsys.readouterr().out
    from graspsim.policies.graspsam.train import evaluate_checkpoint

    r = evaluate_checkpoint(f"{config.out}/best.pt", str(data), progress=False)
    for kind in ("point", "box"):  # the printed figures are the evaluation's
        assert f"{kind}: top-1 {r[kind]['top1']:.3f}, top-5 {r[kind]['top5']:.3f}" in text
    assert main(["eval", "graspsam", "--checkpoint", f"{config.out}/best.pt", "--data", str(data), "--quiet",
                 "--colour-refine"]) == 0
    assert "after colour refinement" in capsys.readouterr().out
    assert main(["eval", "graspsam", "--checkpoint", f"{config.out}/missing.pt", "--data", str(data)]) == 2


def test_policy_in_env_reuses_the_embedding_and_handles_no_grasp(trained, monkeypatch):
    config, _ = trained
    policy = policies.make("graspsam", checkpoint=f"{config.out}/best.pt")
    env = gym.make("graspsim/PromptedGrasp-v0", layout="single").unwrapped
    obs, _ = env.reset(seed=2)
    calls = []
    encode = policy.model.encode
    monkeypatch.setattr(policy.model, "encode", lambda x: calls.append(1) or encode(x))
    a1 = policy.act(obs)
    a2 = policy.act(obs)
    assert len(calls) == 1 and a1.shape == (4,) and a1.dtype == np.float32
    np.testing.assert_array_equal(a1, a2)
    assert policy.last_maps["mask"].shape == obs["depth"].shape and policy.last_maps["quality"].ndim == 2
    if a1[3] > 0:  # a grasp: clear of the scene unless the policy says none could be
        from graspsim.geometry.clearance import grasp_clear, height_map

        choice = policy.last_maps["choice"]
        depth, k, t = obs["depth"], obs["intrinsics"], obs["extrinsics"]
        assert choice in ("decoded", "turned", "region", "nearest")
        assert choice == "nearest" or grasp_clear(height_map(depth, k, t), depth, k, t, *map(float, a1))
    else:
        assert policy.last_maps["choice"] is None
    # colour_refine (opt-in): the policy decodes again inside the region colour_region gives
    from graspsim.policies.graspsam import colour_refine

    plain = policies.make("graspsam", checkpoint=f"{config.out}/best.pt", colour_refine=False)
    plain.act(obs)
    cut = plain.last_maps["mask"].copy()
    cut[:, : int(np.median(np.nonzero(cut)[1])) if cut.any() else 0] = False  # keep the mask's right half
    monkeypatch.setattr(colour_refine, "colour_region", lambda mask, rgb, points, labels, box: cut)
    coloured = policies.make("graspsam", checkpoint=f"{config.out}/best.pt", colour_refine=True)
    coloured.act(obs)
    if cut.any() and not np.array_equal(cut, plain.last_maps["mask"]):
        assert np.array_equal(coloured.last_maps["mask"], cut)
        rects = coloured.last_maps["rects"]
        assert len(rects) and all(cut[int(round(v)), int(round(u))] or cut[max(int(v) - 3, 0):int(v) + 4,
                                  max(int(u) - 3, 0):int(u) + 4].any() for u, v in rects[:, :2])
    refining = policies.make("graspsam", checkpoint=f"{config.out}/best.pt", depth_refine=True)
    refining.act(obs)
    assert not (refining.last_maps["mask"] & ~policy.last_maps["mask"]).any()  # only ever cut
    _, reward, _, _, info = env.step(np.array([160, 160, 0.0, 0.0], np.float32))  # opening 0: no grasp
    assert info["failure_mode"] == "no_grasp" and reward == 0.0 and np.isnan(info["grasp"]).all()
    with pytest.raises(ValueError, match="does not exist"):
        policies.make("graspsam", checkpoint="nowhere.pt")
    with pytest.raises(ValueError, match="variant"):
        policies.make("graspsam", checkpoint=f"{config.out}/best.pt", variant="vit_b")
    env.close()


def test_run_saves_the_model_figure(trained, tmp_path):
    import cv2

    from graspsim.app.cli import main

    config, _ = trained
    out = tmp_path / "r"
    assert main(["run", "--policy", "graspsam", "--checkpoint", f"{config.out}/best.pt", "--layout", "single",
                 "--episodes", "1", "--out", str(out), "--quiet"]) == 0
    fig = cv2.imread(str(out / "figures" / "episodes" / "graspsam" / "point" / "episode_0000.png"))
    assert fig.shape[0] == 320 and fig.shape[1] == 5 * 320 + 4 * 4  # RGB | prompt | mask | grasp | quality
    # the record measures the predicted mask against the target's: the same IoU recomputed here
    (record,) = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    env = gym.make("graspsim/PromptedGrasp-v0", layout="single").unwrapped
    obs, _ = env.reset(seed=record["seed"], options={"prompt": "point"})
    policy = policies.make("graspsam", checkpoint=f"{config.out}/best.pt")
    policy.reset(record["seed"])
    policy.act(obs)
    mask, target = policy.last_maps["mask"], env.frame["segmentation"] == env.target + 1
    assert record["target_mask_iou"] == round((mask & target).sum() / (mask | target).sum(), 4)
    group = json.loads((out / "summary.json").read_text())["groups"]["graspsam/point"]
    assert group["pick_rate"] == float(record["target_mask_iou"] >= 0.5)
    env.close()


def test_text_prompts_are_grounded_by_the_catalogue(trained, tmp_path):
    from graspsim.app.cli import main

    config, _ = trained
    out = tmp_path / "t"
    assert main(["run", "--policy", "graspsam", "--checkpoint", f"{config.out}/best.pt", "--layout", "pile",
                 "--prompt", "text", "--episodes", "2", "--out", str(out), "--no-figures", "--quiet"]) == 0
    records = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    assert [r["prompt"]["kind"] for r in records] == ["text", "text"]
    for r in records:  # the phrase names the target, whose catalogue name grounds it
        assert r["target_name"] in r["prompt"]["text"], (r["target_name"], r["prompt"]["text"])



def test_training_reads_other_loaders_formats(data, tmp_path):
    """Training takes any loader's data set: here our sim set exported to Jacquard's layout."""
    from graspsim.datasets import open_dataset
    from graspsim.datasets.jacquard import write_jacquard

    write_jacquard(open_dataset("sim", data), tmp_path / "jacquard", image_size=128, progress=False)
    config = TrainConfig(data=str(tmp_path / "jacquard"), data_format="jacquard", out=str(tmp_path / "run"),
                         epochs=1, batch_size=2, val_fraction=0.34)
    summary = train_graspsam(config, progress=False)
    assert summary["train_examples"] >= 1 and summary["val_examples"] >= 1


def test_fine_tuning_from_a_checkpoint_on_pooled_data_sets(data, trained, tmp_path):
    from graspsim.policies.graspsam.build import load_graspsam_checkpoint

    config, first = trained
    start, _ = load_graspsam_checkpoint(f"{config.out}/best.pt")
    tuned = TrainConfig(data=f"{data},{data}", out=str(tmp_path / "ft"), epochs=1, batch_size=2, val_fraction=0.34,
                        seed=0, lr=0.0, weight_decay=0.0, init=f"{config.out}/best.pt")
    summary = train_graspsam(tuned, progress=False)
    assert summary["train_examples"] == 2 * first["train_examples"]  # both folders pooled
    model, _ = load_graspsam_checkpoint(tmp_path / "ft" / "best.pt")
    for (name, a), b in zip(start.state_dict().items(), model.state_dict().values()):
        assert torch.equal(a, b), name  # learning rate 0: the initial weights come through unchanged
    with pytest.raises(ValueError, match="variant"):
        train_graspsam(TrainConfig(data=str(data), out=str(tmp_path / "x"), epochs=1, variant="vit_b",
                                   init=f"{config.out}/best.pt"), progress=False)


@pytest.mark.parametrize("field, value, match", [
    ("untried_weight", 1.5, "untried_weight must be a number in \\[0, 1\\], got 1.5"),
    ("prompt_kinds", ("point", "gaze"), "prompt_kinds must be a non-empty choice"),
    ("prompt_kinds", (), "prompt_kinds must be a non-empty choice"),
])
def test_training_options_are_checked(field, value, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(data="d", out="o", **{field: value}).check()


def test_graspsam_model_is_the_same_model_with_every_selection_step_off(trained):
    config, summary = trained
    full = policies.make("graspsam", checkpoint=summary["best_checkpoint"])
    alone = policies.make("graspsam-model", checkpoint=summary["best_checkpoint"])
    assert alone.name == "graspsam-model" and full.name == "graspsam"
    assert (full.fit_opening, full.collision_check, full.fallback) == (True, True, True)
    assert not any((alone.fit_opening, alone.collision_check, alone.fallback, alone.depth_refine, alone.colour_refine))
    for a, b in zip(full.model.state_dict().values(), alone.model.state_dict().values()):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="cannot turn on collision_check, fit_opening"):
        policies.make("graspsam-model", checkpoint=summary["best_checkpoint"], fit_opening=True, collision_check=True)


def test_a_few_training_epochs_lower_the_loss(data, tmp_path):
    config = TrainConfig(data=str(data), out=str(tmp_path / "fit"), epochs=4, batch_size=2, val_fraction=0.34,
                         seed=0, max_examples=4, lr=3e-3)
    losses = [h["loss"] for h in train_graspsam(config, progress=False)["history"]]
    assert losses[-1] < 0.8 * losses[0], losses


def test_validation_scores_a_constructed_prediction_exactly(data, monkeypatch):
    """Ground truth as the prediction for every other example, a far-off grasp for the rest: top-1 is their share."""
    import graspsim.policies.graspsam.inference as inference
    from graspsim.datasets import open_dataset
    from graspsim.policies.graspsam.build import build_graspsam
    from graspsim.policies.graspsam.examples import examples_from
    from graspsim.policies.graspsam.train import validate

    ds = open_dataset("sim", data)
    examples = [e for e in examples_from(ds, ds.items()) if len(e.grasps)]

    class Constructed:
        def __init__(self, rects, mask):
            self.rects, self.mask = rects, mask

    def predict(model, embedding, prompt, shape, jaw_px=0.0):
        i = predict.calls // 2  # two prompt kinds per example
        predict.calls += 1
        g = examples[i].grasps[:1].copy()
        mask = examples[i].mask.copy()
        if i % 2:
            g[:, 0] += 1000.0  # nowhere near the object
            mask[:] = False
        return Constructed(np.concatenate([g, [[1.0]]], axis=1), mask)

    predict.calls = 0
    monkeypatch.setattr(inference, "predict", predict)
    result = validate(build_graspsam("tiny"), examples)
    expected = sum(1 for i in range(len(examples)) if i % 2 == 0) / len(examples)
    assert predict.calls == 2 * len(examples) and 0 < expected < 1
    assert result["point"]["top1"] == result["box"]["top1"] == result["top1"] == pytest.approx(expected)
    assert result["point"]["pick"] == result["box"]["pick"] == pytest.approx(expected)  # the object's own mask, or none


def test_text_training_and_the_models_own_language_path(data, trained, tmp_path, capsys):
    """--text gives the model a language path trained on referring phrases; the policy reads phrases with it."""
    from graspsim.app.cli import main
    from graspsim.policies.graspsam.train import text_prompt

    config = TrainConfig(data=str(data), out=str(tmp_path / "text"), epochs=1, batch_size=2, val_fraction=0.34,
                         seed=0, text=True, prompt_kinds=("text", "box"))
    summary = train_graspsam(config, progress=False)
    val = summary["history"][0]["val"]
    assert set(val) >= {"point", "box", "text"} and val["text"]["n"] > 0
    assert summary["best"]["top1"] == pytest.approx((val["point"]["top1"] + val["box"]["top1"]) / 2)  # text beside it
    with pytest.raises(ValueError, match="text prompts need text=True"):
        TrainConfig(data="d", out="o", prompt_kinds=("text",)).check()

    best = summary["best_checkpoint"]
    policy = policies.make("graspsam", checkpoint=best, grounder="model")
    assert policy.grounder_name == "model" and policy.model.has_text
    env = gym.make("graspsim/PromptedGrasp-v0", prompt="text", phrasing="train", layout="pile").unwrapped
    obs, info = env.reset(seed=1)
    assert info["prompt"]["text"] != info["target_name"]  # a referring phrase, not the catalogue name
    action = policy.act(obs)
    assert policy.last_maps["prompt_box"] is None  # no grounder ran: the phrase prompted the decoder
    assert action.shape == (4,) and np.isfinite(action).all()
    env.close()

    # the eval CLI reports both phrasings with their pick rates
    assert main(["eval", "graspsam", "--checkpoint", best, "--data", str(data), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert " text: top-1" in printed and "text_held_out: top-1" in printed and "pick " in printed

    # --text-grounding fine-tunes that language path with its grounding map (new keys, the rest loaded)
    from graspsim.policies.graspsam.build import load_graspsam_checkpoint

    grounded = TrainConfig(data=str(data), out=str(tmp_path / "ground"), epochs=1, batch_size=2, val_fraction=0.34,
                           seed=0, text=True, text_grounding=True, prompt_kinds=("text",), init=best)
    g_summary = train_graspsam(grounded, progress=False)
    assert g_summary["history"][0]["ground"] > 0
    tuned, _ = load_graspsam_checkpoint(g_summary["best_checkpoint"])
    assert tuned.text_encoder.grounding and tuned.text_encoder.vocabulary == policy.model.text_encoder.vocabulary

    # graspsim train grounding: the grasp model frozen, the text encoder and a new grounding head trained
    ground_out = tmp_path / "grounding"
    args = ["train", "grounding", "--checkpoint", best, "--data", str(data), "--val", str(data), "--out",
            str(ground_out), "--batch-size", "4", "--quiet"]
    assert main(args + ["--epochs", "1"]) == 0
    assert "validation text pick" in capsys.readouterr().out
    assert main(args + ["--epochs", "2"]) == 0  # resumes: one more epoch
    summary = json.loads((ground_out / "summary.json").read_text())
    assert [h["epoch"] for h in summary["history"]] == [0, 1]
    assert set(summary["history"][1]["val"]) == {"text", "text_held_out"}
    g_model, g_meta = load_graspsam_checkpoint(ground_out / "best.pt")
    assert g_model.text_encoder.grounding and g_meta["source_checkpoint"] == best
    source, _ = load_graspsam_checkpoint(best)
    for name, value in source.state_dict().items():  # the grasp model did not move
        if not name.startswith("text_encoder."):
            assert torch.equal(value, g_model.state_dict()[name]), name
    capsys.readouterr()
    assert main(args[:-1] + ["--epochs", "2", "--lr", "0.01", "--quiet"]) == 2
    assert "different grounding configuration" in capsys.readouterr().err
    assert main(["train", "grounding", "--checkpoint", trained[1]["best_checkpoint"], "--data", str(data), "--val",
                 str(data), "--out", str(tmp_path / "g2"), "--quiet"]) == 2
    assert "has no language path" in capsys.readouterr().err
    # the policy reads a phrase through the map: its arg-max becomes the point prompt
    policy = policies.make("graspsam", checkpoint=str(ground_out / "best.pt"), grounder="model")
    env = gym.make("graspsim/PromptedGrasp-v0", prompt="text", phrasing="train", layout="pile").unwrapped
    obs, info = env.reset(seed=1)
    action = policy.act(obs)
    point = policy.last_maps["grounded_point"]
    assert policy.last_maps["prompt_box"] is None and point is not None
    assert 0 <= point[0] <= obs["rgb"].shape[1] - 1 and 0 <= point[1] <= obs["rgb"].shape[0] - 1
    assert action.shape == (4,) and np.isfinite(action).all()
    env.close()

    # phrases follow augmentation: "leftmost" before a flip is "rightmost" after it
    from graspsim.datasets import open_dataset
    from graspsim.policies.graspsam.examples import examples_from

    ds = open_dataset("sim", data)
    ex = examples_from(ds, ds.items(), facts=True)[0]
    mine = next(f for f in ex.facts if f.index == ex.index)
    flipped = next(f for f in flip(ex).facts if f.index == ex.index)
    assert flipped.centre_uv[0] == pytest.approx(ex.mask.shape[1] - 1 - mine.centre_uv[0])
    from graspsim.phrases import resolve

    phrased = [(e, text_prompt(e, np.random.default_rng(0))) for e in examples_from(ds, ds.items(), facts=True)]
    assert sum(p is not None for _, p in phrased) >= len(phrased) // 2
    assert all(resolve(p, list(e.facts)) == e.index for e, p in phrased if p is not None)

"""GraspSAM helpers: targets, decoding, grounding, prompt arrays (numpy / cv2; OWL-ViT optional)."""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest

from graspsim.objects.catalogue import ObjectInfo
from graspsim.policies.graspsam.decoding import decode_grasps, effective_min_distance
from graspsim.grounding import (
    CatalogueGrounder,
    Grounder,
    catalogue_context,
    ground_prompt,
)
from graspsim.policies.prompting import prompt_arrays, sample_training_prompt
from graspsim.policies.graspsam.targets import grasp_targets, resize_rects
from graspsim.prompts import Prompt


def _local_axes(shape, rect):
    """Coordinates of every pixel centre along the closing line (a) and the jaw (b) of rect."""
    vv, uu = np.mgrid[: shape[0], : shape[1]].astype(np.float64)
    u, v, angle = rect[:3]
    d = np.array([math.cos(angle), -math.sin(angle)])
    a = (uu - u) * d[0] + (vv - v) * d[1]
    b = -(uu - u) * d[1] + (vv - v) * d[0]
    return a, b


# -- targets ----------------------------------------------------------------------------
def test_single_rectangle_targets():
    rect = np.array([40.3, 30.6, math.pi / 6, 30.0, 12.0])
    maps = grasp_targets(rect[None], (64, 80), width_scale=60.0)
    assert set(maps) == {"quality", "cos2", "sin2", "width"}
    for m in maps.values():
        assert m.shape == (64, 80) and m.dtype == np.float32
    q = maps["quality"] > 0
    a, b = _local_axes(q.shape, rect)
    # support = centre third along the closing line (|a| <= 5), full jaw (|b| <= 6), to a pixel
    assert (np.abs(a[q]) <= 5 + 1).all() and (np.abs(b[q]) <= 6 + 1).all()
    assert q[(np.abs(a) <= 5 - 1) & (np.abs(b) <= 6 - 1)].all()
    assert abs(q.sum() - 10 * 12) <= 0.25 * 120
    assert set(np.unique(maps["quality"])) == {0.0, 1.0}
    np.testing.assert_allclose(maps["cos2"][q], math.cos(math.pi / 3), atol=1e-6)
    np.testing.assert_allclose(maps["sin2"][q], math.sin(math.pi / 3), atol=1e-6)
    np.testing.assert_allclose(maps["width"][q], 0.5, atol=1e-6)
    for k in ("cos2", "sin2", "width"):
        assert (maps[k][~q] == 0).all()
    # width is clipped to 1; no rectangle -> all zero
    assert grasp_targets([[40, 30, 0.0, 200.0, 12.0]], (64, 80), 60.0)["width"].max() == 1.0
    empty = grasp_targets(np.zeros((0, 5)), (8, 9), 1.0)
    assert all(m.shape == (8, 9) and not m.any() for m in empty.values())
    with pytest.raises(ValueError, match="width_scale"):
        grasp_targets(rect[None], (64, 80), 0.0)


def test_overlap_later_rectangle_wins():
    r1 = [32.0, 32.0, 0.0, 30.0, 20.0]
    r2 = [32.0, 32.0, math.pi / 2, 60.0, 20.0]
    m12 = grasp_targets([r1, r2], (64, 64), 100.0)
    m21 = grasp_targets([r2, r1], (64, 64), 100.0)
    assert m12["cos2"][32, 32] == pytest.approx(-1.0) and m12["width"][32, 32] == pytest.approx(0.6)
    assert m21["cos2"][32, 32] == pytest.approx(1.0) and m21["width"][32, 32] == pytest.approx(0.3)
    np.testing.assert_array_equal(m12["quality"], m21["quality"])  # the union either way


def test_resize_rects_pixel_centres():
    r = resize_rects([[10.0, 20.0, 0.3, 8.0, 4.0]], (100, 200), (50, 100))
    np.testing.assert_allclose(r[0], [(10.5 * 0.5) - 0.5, (20.5 * 0.5) - 0.5, 0.3, 4.0, 2.0])
    with pytest.raises(ValueError, match="isotropic"):
        resize_rects(r, (100, 200), (100, 100))


# -- decoding ---------------------------------------------------------------------------
RECTS = np.array([[60.4, 50.7, 0.4, 45.0, 15.0], [170.0, 140.0, -1.1, 60.0, 20.0]])


def test_decode_round_trip():
    maps = grasp_targets(RECTS, (256, 256), width_scale=128.0)
    g = decode_grasps(**maps, width_scale=128.0, jaw=7.0)
    assert g.shape == (2, 6) and g.dtype == np.float64
    for rect in RECTS:
        i = int(np.argmin(np.hypot(g[:, 0] - rect[0], g[:, 1] - rect[1])))
        assert np.hypot(g[i, 0] - rect[0], g[i, 1] - rect[1]) <= 2.0
        dang = (g[i, 2] - rect[2] + math.pi / 2) % math.pi - math.pi / 2
        assert abs(math.degrees(dang)) <= 3.0
        assert g[i, 3] == pytest.approx(rect[3], rel=0.05)
    assert (g[:, 4] == 7.0).all() and (np.diff(g[:, 5]) <= 0).all() and (g[:, 5] > 0.2).all()
    assert ((-math.pi / 2 < g[:, 2]) & (g[:, 2] <= math.pi / 2)).all()


def test_decode_mask_threshold_ranking_and_empty():
    maps = grasp_targets(RECTS, (256, 256), width_scale=128.0)
    mask = np.zeros((256, 256), np.uint8)
    mask[100:, 100:] = 1
    g = decode_grasps(**maps, mask=mask, width_scale=128.0)
    assert len(g) == 1 and abs(g[0, 0] - 170) <= 2 and abs(g[0, 1] - 140) <= 2
    # ranking and top_k: scale the second rectangle's quality down
    q = maps["quality"].copy()
    q[100:, 100:] *= 0.5
    g = decode_grasps(q, maps["cos2"], maps["sin2"], maps["width"], width_scale=128.0)
    assert len(g) == 2 and abs(g[0, 0] - 60.4) <= 2 and g[0, 5] > g[1, 5] == pytest.approx(0.5, abs=0.01)
    assert len(decode_grasps(q, maps["cos2"], maps["sin2"], maps["width"], width_scale=128.0, top_k=1)) == 1
    # threshold: strictly above
    assert len(decode_grasps(q, maps["cos2"], maps["sin2"], maps["width"], width_scale=128.0, threshold=0.6)) == 1
    # empty results, never an exception
    z = np.zeros((32, 32), np.float32)
    assert decode_grasps(z, z, z, z, width_scale=1.0).shape == (0, 6)
    low = np.full((32, 32), 0.15, np.float32)
    assert decode_grasps(low, z, z, z, width_scale=1.0).shape == (0, 6)
    e = np.zeros((0, 0), np.float32)
    assert decode_grasps(e, e, e, e, width_scale=1.0).shape == (0, 6)
    assert decode_grasps(**maps, mask=np.zeros((256, 256)), width_scale=1.0).shape == (0, 6)
    nan = np.full((32, 32), np.nan, np.float32)
    assert decode_grasps(nan, z, z, z, width_scale=1.0).shape == (0, 6)
    # (1, 1, H, W) maps are accepted
    g4 = decode_grasps(*(maps[k][None, None] for k in ("quality", "cos2", "sin2", "width")), width_scale=128.0)
    assert len(g4) == 2


def test_decode_min_distance_scales_with_map_size():
    assert effective_min_distance(20, (128, 128)) == 10 and effective_min_distance(20, (512, 300)) == 40
    rects = [[40.0, 64.0, 0.0, 12.0, 6.0], [56.0, 64.0, 0.0, 12.0, 6.0]]  # 16 px apart on a 128 map
    maps = grasp_targets(rects, (128, 128), 64.0)
    assert len(decode_grasps(**maps, width_scale=64.0)) == 2  # d = 10 at 128
    assert len(decode_grasps(**maps, width_scale=64.0, reference_size=None)) == 1  # d = 20


# -- catalogue grounder -----------------------------------------------------------------
def _scene():
    seg = np.zeros((40, 60), np.int32)
    seg[5:15, 3:10] = 1  # 0: red cylinder
    seg[20:30, 20:35] = 2  # 1: blue box
    seg[2:8, 40:55] = 3  # 2: red box
    names = {0: "red cylinder", 1: "blue box", 2: "red box", 3: "green sphere"}  # 3 is not visible
    infos = {
        n: ObjectInfo(n, n.split()[1], "train", (0.05, 0.05, 0.05), 0.1, colour_name=n.split()[0]) for n in names.values()
    }

    class _Set:
        def get(self, name):
            if name not in infos:
                raise ValueError(name)
            return infos[name]

    return seg, catalogue_context(seg, names, _Set())


def test_catalogue_grounder():
    seg, ctx = _scene()
    assert ctx["categories"][1] == "box" and ctx["colour_names"][0] == "red"
    g = CatalogueGrounder()
    assert isinstance(g, Grounder)
    rgb = np.zeros((40, 60, 3), np.uint8)
    np.testing.assert_array_equal(g.ground("red cylinder", rgb, ctx), [3, 5, 9, 14])
    assert g.ground("the cylinder", rgb, ctx)[0] == 3
    assert g.ground("pick up something blue", rgb, ctx)[0] == 20
    assert g.ground("Red Box", rgb, ctx)[0] == 40  # exact name beats single-word overlaps
    assert g.ground("something red", rgb, ctx)[0] == 3  # tie (0 and 2): lowest index
    assert g.ground("boxes", rgb, ctx)[0] == 20  # plural; tie (1 and 2): lowest index
    assert g.ground("green sphere", rgb, ctx) is None  # not visible
    assert g.ground("purple elephant", rgb, ctx) is None
    for bad in ("", "   "):
        with pytest.raises(ValueError, match="non-empty phrase"):
            g.ground(bad, rgb, ctx)
    with pytest.raises(ValueError, match="segmentation"):
        g.ground("red box", rgb, None)
    np.testing.assert_array_equal(ground_prompt(Prompt("text", text="blue box"), g, rgb, ctx), [20, 20, 34, 29])
    with pytest.raises(ValueError, match="could not be grounded"):
        ground_prompt("purple elephant", g, rgb, ctx)
    with pytest.raises(ValueError, match="text prompt"):
        ground_prompt(Prompt("box", box=np.array([0, 0, 1, 1])), g, rgb, ctx)


# -- prompt arrays ----------------------------------------------------------------------
def test_prompt_arrays_every_kind():
    seg, ctx = _scene()
    shape = (40, 60)
    p = prompt_arrays(Prompt("point", np.array([[10.0, 5.0]], np.float32), np.array([1])), shape)
    assert p["points"].dtype == np.float32 and p["points"].shape == (1, 2) and p["labels"].tolist() == [1]
    assert p["box"] is None and p["mask"] is None
    pts = np.array([[1, 2], [3, 4], [-1, -1]], np.float32)
    p = prompt_arrays(Prompt("points", pts, np.array([1, 0, -1])), shape)  # padding dropped
    assert p["points"].tolist() == [[1, 2], [3, 4]] and p["labels"].tolist() == [1, 0]
    p = prompt_arrays(Prompt("gaze", np.array([[59.4, 39.4]], np.float32), np.array([1])), shape)
    assert p["labels"].tolist() == [1] and p["box"] is None
    p = prompt_arrays(Prompt("box", box=np.array([-3, 2, 70, 30])), shape)
    assert p["box"].dtype == np.float32 and p["box"].tolist() == [0, 2, 59, 30] and p["points"] is None
    assert prompt_arrays(Prompt("box", box=np.array([5, 5, 5, 9])), shape)["box"][2] == 5  # one pixel wide
    p = prompt_arrays(Prompt("mask", mask=seg == 1), shape + (3,))
    assert p["mask"].dtype == bool and p["mask"].sum() == 70 and p["box"] is None
    p = prompt_arrays(Prompt("text", text="blue box"), shape, CatalogueGrounder(), ctx)
    assert p["box"].tolist() == [20, 20, 34, 29] and p["points"] is None


@pytest.mark.parametrize(
    "prompt, match",
    [
        (Prompt("point", np.array([[60.0, 5.0]], np.float32), np.array([1])), r"points\[0\].*outside"),
        (Prompt("points", np.array([[1, 1], [3, -2]], np.float32), np.array([1, 1])), r"points\[1\]"),
        (Prompt("point", np.array([[np.nan, 1]], np.float32), np.array([1])), r"points\[0\]"),
        (Prompt("points", np.array([[1, 1]], np.float32), np.array([2])), r"labels\[0\]"),
        (Prompt("point"), "no point"),
        (Prompt("gaze"), "exactly one point"),
        (Prompt("box", box=np.array([10, 5, 9, 20])), r"box = \[10.0, 5.0, 9.0, 20.0\] is empty"),
        (Prompt("box", box=np.array([10, 25, 20, 20])), "box .* is empty"),
        (Prompt("box", box=np.array([61, 5, 70, 20])), "entirely outside"),
        (Prompt("box"), "no box"),
        (Prompt("mask", mask=np.zeros((40, 60), bool)), "mask is empty"),
        (Prompt("mask", mask=np.ones((4, 6), bool)), "shape"),
        (Prompt("text", text="red box"), "needs a grounder"),
        (Prompt("text", text="purple elephant"), "could not be grounded"),
    ],
)
def test_prompt_arrays_errors(prompt, match):
    seg, ctx = _scene()
    grounder = None if "needs" in match else CatalogueGrounder()
    with pytest.raises(ValueError, match=match):
        prompt_arrays(prompt, (40, 60), grounder, ctx)


def test_sample_training_prompt():
    mask = np.zeros((40, 60), bool)
    mask[10:20, 15:40] = True
    a = sample_training_prompt(mask, np.random.default_rng(3), "points")
    b = sample_training_prompt(mask, np.random.default_rng(3), "points")
    c = sample_training_prompt(mask, np.random.default_rng(4), "points")
    np.testing.assert_array_equal(a["points"], b["points"])
    assert not np.array_equal(a["points"], c["points"])
    assert a["points"].shape == (10, 2) and a["labels"].tolist() == [1] * 10 and a["box"] is None
    assert mask[a["points"][:, 1].astype(int), a["points"][:, 0].astype(int)].all()
    assert sample_training_prompt(mask, np.random.default_rng(0), "point")["points"].shape == (1, 2)
    boxes = [sample_training_prompt(mask, np.random.default_rng(s), "box")["box"] for s in (1, 1, 2)]
    np.testing.assert_array_equal(boxes[0], boxes[1])
    assert not np.array_equal(boxes[0], boxes[2])
    assert np.abs(boxes[0] - [15, 10, 39, 19]).max() <= 4.0 and boxes[0].dtype == np.float32
    with pytest.raises(ValueError, match="kind"):
        sample_training_prompt(mask, np.random.default_rng(0), "text")
    with pytest.raises(ValueError, match="empty"):
        sample_training_prompt(np.zeros((4, 4), bool), np.random.default_rng(0), "box")


# -- OWL-ViT grounder (optional transformers) -------------------------------------------
@pytest.fixture(scope="module")
def tiny_owlvit(tmp_path_factory):
    """A randomly initialised 2-layer OWL-ViT (32x32 input, 2x2 patches) and a
    character-level CLIP tokenizer, written to a folder: no download.

    The box head's last layer is zeroed, so every predicted box is its patch's
    bias box: centre ((i + 1) / 2, (j + 1) / 2), size 1/2 of the image."""
    pytest.importorskip("transformers")
    import torch
    from transformers import CLIPTokenizer, OwlViTConfig, OwlViTForObjectDetection, OwlViTImageProcessor, OwlViTProcessor

    root = tmp_path_factory.mktemp("owlvit")
    vocab = {"!": 0}
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab.update({ch: len(vocab) + i for i, ch in enumerate(letters)})
    vocab.update({ch + "</w>": len(vocab) + i for i, ch in enumerate(letters)})
    vocab["<|startoftext|>"] = len(vocab)  # OWL-ViT treats a query starting with id 0 as padding
    vocab["<|endoftext|>"] = len(vocab)
    (root / "vocab.json").write_text(json.dumps(vocab))
    (root / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(root / "vocab.json"), str(root / "merges.txt"), pad_token="!")
    processor = OwlViTProcessor(
        image_processor=OwlViTImageProcessor(size={"height": 32, "width": 32}, crop_size={"height": 32, "width": 32}),
        tokenizer=tokenizer,
    )
    text = dict(
        vocab_size=len(vocab), hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
        max_position_embeddings=16, bos_token_id=vocab["<|startoftext|>"], eos_token_id=vocab["<|endoftext|>"],
        pad_token_id=0,
    )
    vision = dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4, image_size=32, patch_size=16)
    torch.manual_seed(0)
    model = OwlViTForObjectDetection(OwlViTConfig(text_config=text, vision_config=vision, projection_dim=32)).eval()
    with torch.no_grad():
        model.box_head.dense2.weight.zero_()
        model.box_head.dense2.bias.zero_()
    folder = root / "model"
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def test_owlvit_grounder_tiny_local_model(tiny_owlvit, monkeypatch):
    from graspsim.grounding import OwlVitGrounder

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    grounder = OwlVitGrounder(tiny_owlvit, threshold=0.0, device="cpu")
    assert isinstance(grounder, Grounder)
    for h, w in ((48, 64), (30, 90)):
        rgb = np.full((h, w, 3), 120, np.uint8)
        rgb[h // 3 :, : w // 2] = (200, 30, 30)
        box = grounder.ground("the red cylinder", rgb)
        assert box.shape == (4,) and np.isfinite(box).all()
        assert 0 <= box[0] <= box[2] <= w - 1 and 0 <= box[1] <= box[3] <= h - 1
        # the box is one of the four patch boxes, in this image's pixels
        expected = [
            np.clip([(cx - 0.25) * w, (cy - 0.25) * h, (cx + 0.25) * w - 1, (cy + 0.25) * h - 1], 0, [w - 1, h - 1] * 2)
            for cy in (0.5, 1.0)
            for cx in (0.5, 1.0)
        ]
        assert min(np.abs(box - e).max() for e in expected) < 0.05
        # a phrase longer than the text model's 16 positions is truncated, not an error
        assert grounder.ground("a very long phrase about a red cylinder on the table", rgb) is not None
    assert OwlVitGrounder(tiny_owlvit, threshold=1.0, device="cpu").ground("red", rgb) is None
    with pytest.raises(ValueError, match="local folder"):
        OwlVitGrounder("google/owlvit-base-patch32")
    with pytest.raises(ValueError, match="non-empty"):
        grounder.ground(" ", rgb)
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(ImportError, match="pip install transformers"):
        OwlVitGrounder(tiny_owlvit)


def _top_down_observation(heights):
    """Depth, intrinsics and extrinsics of the default camera looking at a height map (metres)."""
    from graspsim.camera import Camera

    cam = Camera()
    depth = (cam.height_m - heights).astype(np.float32)
    return depth, cam.intrinsics, cam.extrinsics


def test_fit_to_mask_recentres_and_opens_to_the_object():
    from graspsim.geometry.clearance import MARGIN_M, fit_to_mask

    mask = np.zeros((320, 320), bool)
    mask[150:170, 100:160] = True  # a 60 px long bar along u
    heights = np.where(mask, 0.03, 0.0)
    depth, k, t = _top_down_observation(heights)
    u, v, opening = fit_to_mask(mask, depth, k, t, 125.0, 160.0, 0.0, 20.0)  # closing along u, off-centre, too narrow
    assert u == pytest.approx(129.5) and v == pytest.approx(160.0)
    # measured in the world: 60 pixels at the bar's depth (0.57 m), scaled to the TCP's (0.595 m)
    assert opening == pytest.approx((60 * 0.57 / k[0, 0] + 2 * MARGIN_M) * k[0, 0] / 0.595)
    # a wide enough opening is kept; an empty mask changes nothing
    assert fit_to_mask(mask, depth, k, t, 129.5, 160.0, 0.0, 150.0)[2] == 150.0
    assert fit_to_mask(np.zeros_like(mask), depth, k, t, 10.0, 20.0, 0.3, 5.0) == (10.0, 20.0, 5.0)


def test_grasp_clear_sees_a_neighbour_under_a_finger():
    from graspsim.geometry.clearance import grasp_clear, height_map

    heights = np.zeros((320, 320))
    heights[150:170, 150:170] = 0.03  # the object
    depth, k, t = _top_down_observation(heights)
    assert grasp_clear(height_map(depth, k, t), depth, k, t, 159.5, 159.5, 0.0, 40.0)
    heights[140:180, 190:205] = 0.08  # a tall neighbour where the right finger goes down, clear of the palm
    depth, k, t = _top_down_observation(heights)
    hmap = height_map(depth, k, t)
    assert not grasp_clear(hmap, depth, k, t, 159.5, 159.5, 0.0, 40.0)
    assert grasp_clear(hmap, depth, k, t, 159.5, 159.5, np.pi / 2, 40.0)  # closing along v misses it


def test_grasp_clear_tests_a_tall_neighbour_where_it_stands():
    """Off the image centre a tall object's pixels lie farther out than its base: its
    inner edge (image u = 244, 5 cm high) stands at world x = 0.1057 m, under the right
    finger of a 4 cm grasp at x = 0.0655 m (finger from 0.0905 to 0.1085 m), though at the
    grasp's scale the finger covers only image u 228 to 242."""
    from graspsim.geometry.clearance import grasp_clear, height_map

    heights = np.zeros((320, 320))
    heights[150:170, 205:216] = 0.03  # the object, centred at u = 210
    heights[130:190, 244:257] = 0.05  # the tall neighbour
    depth, k, t = _top_down_observation(heights)
    hmap = height_map(depth, k, t)
    assert hmap.highest(np.array([0.1075]), np.array([0.0])) == pytest.approx(0.05, abs=1e-6)
    assert hmap.highest(np.array([0.1005]), np.array([0.0])) == 0.0
    px_per_m_tcp = k[0, 0] / (0.6 - 0.005)
    assert not grasp_clear(hmap, depth, k, t, 210.0, 159.5, 0.0, 0.04 * px_per_m_tcp)
    assert grasp_clear(hmap, depth, k, t, 210.0, 159.5, 0.0, 0.02 * px_per_m_tcp)


def test_region_grasp_takes_the_grasp_nearest_to_clear_when_none_is():
    from graspsim.geometry.clearance import grasp_margin, height_map
    from graspsim.geometry.selection import region_grasp

    heights = np.zeros((320, 320))
    heights[150:170, 140:180] = 0.03  # a 40 x 20 px bar along u
    region = heights > 0
    depth, k, t = _top_down_observation(heights)
    action, margin = region_grasp(region, depth, k, t)
    assert margin >= 0  # alone on the table: clear, closing across the bar's narrow side
    assert abs(np.sin(action[2])) > 0.9 and 140 <= action[0] <= 180 and 150 <= action[1] <= 170
    heights[100:220, 100:220] = np.where(region[100:220, 100:220], 0.03, 0.12)  # walled in by a tall block
    heights[130:190, 120:200] = np.where(region[130:190, 120:200], 0.03, 0.0)  # a pit too narrow for the hand
    depth, k, t = _top_down_observation(heights)
    hmap = height_map(depth, k, t)
    action, margin = region_grasp(region, depth, k, t, hmap)
    assert margin < 0
    assert margin == pytest.approx(grasp_margin(hmap, depth, k, t, *map(float, action)), abs=1e-6)


def test_decode_in_mask_finds_the_peak_inside_a_new_mask():
    """The best peak lies outside the new mask: decoding again within it finds the
    weaker peak inside, scaled to the original frame (320 px over a 64-cell map)."""
    from graspsim.policies.graspsam.build import build_graspsam
    from graspsim.policies.graspsam.inference import Prediction, decode_in_mask

    model = build_graspsam("tiny")
    s = model.output_size
    maps = np.zeros((4, s, s), np.float32)
    yy, xx = np.mgrid[0:s, 0:s]
    maps[0] = 0.9 * np.exp(-((xx - 40) ** 2 + (yy - 20) ** 2) / 8.0) + 0.5 * np.exp(-((xx - 12) ** 2 + (yy - 30) ** 2) / 8.0)
    maps[1], maps[3] = 1.0, 0.1  # angle 0, some width
    pred = Prediction(np.zeros((0, 6)), np.ones((320, 320), bool), maps)
    mask = np.zeros((320, 320), bool)
    mask[120:190, 20:110] = True  # covers map cell (12, 30) only: original (62.5, 152.5)
    rects = decode_in_mask(model, pred, mask, top_k=5, threshold=0.2)
    assert len(rects) == 1
    assert rects[0, 0] == pytest.approx(12 * 5 + 2.0, abs=3) and rects[0, 1] == pytest.approx(30 * 5 + 2.0, abs=3)
    everywhere = decode_in_mask(model, pred, np.ones_like(mask), top_k=5, threshold=0.2)
    assert everywhere[0, 0] == pytest.approx(40 * 5 + 2.0, abs=3) and everywhere[0, 5] > rects[0, 5]
    assert len(decode_in_mask(model, pred, np.zeros_like(mask), top_k=5)) == 0


def test_prediction_decodes_its_rectangles_once_and_only_when_read():
    from graspsim.policies.graspsam.inference import Prediction

    calls = []
    decoded = np.ones((1, 6))
    pred = Prediction(None, np.ones((4, 4), bool), np.zeros((4, 2, 2), np.float32),
                      decode=lambda: calls.append(1) or decoded)
    assert not calls
    assert pred.rects is decoded and pred.rects is decoded and len(calls) == 1
    cut = Prediction(None, np.ones((4, 4), bool), np.zeros((4, 2, 2), np.float32), decode=lambda: calls.append(1))
    cut.rects = np.zeros((0, 6))  # a caller that decodes a cut mask itself: the pending decoding never runs
    assert cut.rects.shape == (0, 6) and len(calls) == 1
    with pytest.raises(ValueError, match="rects or a decode"):
        Prediction(None, np.ones((4, 4), bool), np.zeros((4, 2, 2), np.float32))


# -- colour refinement of a bleeding mask ----------------------------------------------
def _two_blocks(right_rgb=(40, 60, 200)):
    """A red block and a touching block of another colour; the mask covers both."""
    rgb = np.full((40, 60, 3), 170, np.uint8)
    rgb[10:30, 10:30] = (200, 40, 40)
    rgb[10:30, 30:50] = right_rgb
    mask = np.zeros((40, 60), bool)
    mask[10:30, 10:50] = True
    return rgb, mask


def test_colour_region_cuts_a_mask_at_the_neighbours_colour():
    from graspsim.policies.graspsam.colour_refine import colour_region

    rgb, mask = _two_blocks()
    region = colour_region(mask, rgb, [[15, 20], [-1, -1]], [1, -1])
    expected = np.zeros_like(mask)
    expected[10:30, 10:30] = True
    assert np.array_equal(region, expected)
    # a face of the same object lit half as much stays with it
    rgb[10:30, 20:30] = (100, 20, 20)
    assert np.array_equal(colour_region(mask, rgb, [[15, 20]], [1]), expected)
    # a black-and-white object (grey: no colour to tell) is not cut from a grey neighbour...
    rgb[10:30, 10:30] = (240, 240, 240)
    rgb[10:30, 10:20] = (20, 20, 20)
    rgb[10:30, 30:50] = (128, 128, 128)
    assert np.array_equal(colour_region(mask, rgb, [[25, 20]], [1]), mask)
    # ...but from a coloured one
    rgb[10:30, 30:50] = (40, 60, 200)
    assert np.array_equal(colour_region(mask, rgb, [[25, 20]], [1]), expected)


def test_colour_region_reads_a_box_prompts_colour_in_its_centre():
    from graspsim.policies.graspsam.colour_refine import colour_region

    rgb, mask = _two_blocks()
    expected = np.zeros_like(mask)
    expected[10:30, 10:30] = True
    # the box of the red block, a little loose; the blue block reaches into its edge
    assert np.array_equal(colour_region(mask, rgb, box=[8, 8, 33, 31]), expected)
    # points win over the box
    assert np.array_equal(colour_region(mask, rgb, [[40, 20]], [1], box=[8, 8, 33, 31]), mask & ~expected)
    # a box whose centre misses the mask tells no colour
    assert colour_region(mask, rgb, box=[0, 0, 8, 8]) is mask


def test_colour_region_keeps_the_mask_when_it_cannot_cut():
    from graspsim.policies.graspsam.colour_refine import colour_region

    rgb, mask = _two_blocks(right_rgb=(200, 40, 40))  # one colour: nothing to cut
    assert np.array_equal(colour_region(mask, rgb, [[15, 20]], [1]), mask)
    rgb, mask = _two_blocks()
    assert colour_region(mask, rgb, [[15, 20]], [0]) is mask  # no positive point
    assert colour_region(mask, rgb, None, None) is mask
    rgb[18:22, 18:22] = (30, 200, 30)  # a small green spot under the point: too small a cut to trust
    assert colour_region(mask, rgb, [[20, 20]], [1]) is mask
    with pytest.raises(ValueError, match="rgb"):
        colour_region(mask, rgb[..., :2], [[15, 20]], [1])
    with pytest.raises(ValueError, match="max_distance"):
        colour_region(mask, rgb, [[15, 20]], [1], max_distance=float("nan"))


def test_public_angle_decoding_halves_the_doubled_angle():
    import torch

    from graspsim.policies.graspsam.model import decode_angle

    theta = np.array([-1.5, -0.7, 0.0, 0.3, 1.2, np.pi / 2])
    np.testing.assert_allclose(decode_angle(np.cos(2 * theta), np.sin(2 * theta)), theta, atol=1e-12)
    t = torch.tensor(theta[:-1])
    np.testing.assert_allclose(decode_angle(torch.cos(2 * t), torch.sin(2 * t)).numpy(), theta[:-1], atol=1e-6)

"""Loaders of the public grasp data sets, on tiny fixtures written in their on-disk formats."""

from __future__ import annotations

import math
import pickle
import warnings

import cv2
import numpy as np
import pytest

from graspsim.datasets import GraspDataset, GraspObject, GraspSample, open_dataset, split
from graspsim.datasets.cornell import CornellDataset
from graspsim.datasets.grasp_anything import GraspAnythingDataset
from graspsim.datasets.jacquard import JacquardDataset, write_jacquard
from graspsim.datasets.ocid import OcidGraspDataset
from graspsim.rectangles import format_cornell, scale_rects

W, H = 64, 48
# Cornell corner blocks and the rectangles they are: edge 0->1 along +u (angle 0),
# then edge 0->1 along +v, i.e. down the screen (angle -pi/2, wrapped to +pi/2).
CORNELL_TEXT = "10 20\n30 20\n30 25\n10 25\n20 10\n20 30\n15 30\n15 10\n"
CORNELL_RECTS = np.array([[20, 22.5, 0, 20, 5], [17.5, 20, math.pi / 2, 20, 5]])
NAN_BLOCK = "NaN NaN\n1 2\n3 4\n5 6\n"


def rgb_image(seed: int, w: int = W, h: int = H) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def write_rgb(path, rgb) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def assert_splits(items) -> None:
    """Image-wise splits never share an image, object-wise splits never share an identity."""
    for by, group in (("image", lambda it: it.sample), ("object", lambda it: it.identity)):
        train, val = split(items, 0.5, by=by, seed=1)
        assert train and val and len(train) + len(val) == len(items)
        assert not {group(it) for it in train} & {group(it) for it in val}


# -- Cornell ----------------------------------------------------------------------------
@pytest.fixture
def cornell_root(tmp_path):
    root = tmp_path / "cornell"
    for folder, num in (("01", 100), ("02", 200), ("02", 201)):
        d = root / folder
        write_rgb(d / f"pcd{num:04d}r.png", rgb_image(num))
        (d / f"pcd{num:04d}cpos.txt").write_text(CORNELL_TEXT + NAN_BLOCK)
    cv2.imwrite(str(root / "01" / "pcd0100d.tiff"), np.full((H, W), 1.25, np.float32))
    (root / "01" / "pcd0100cneg.txt").write_text(format_cornell([[30, 30, 0.3, 12, 4]]))
    return root


def test_cornell_reads_rectangles_depth_and_z(cornell_root):
    (cornell_root / "z.txt").write_text("100 1 mug 0\n0200 2 bowl 0\n201 2 bowl 0\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every image is listed: no identity warning
        ds = open_dataset("cornell", cornell_root)
    assert ds.ids == ["pcd0100", "pcd0200", "pcd0201"]
    s = ds[0]
    assert s.rgb.shape == (H, W, 3) and s.rgb.dtype == np.uint8
    assert np.array_equal(s.rgb, rgb_image(100))
    assert s.depth.dtype == np.float32 and np.allclose(s.depth, 1.25) and s.meta["depth_units"] == "as stored"
    (obj,) = s.objects
    assert (obj.key, obj.identity, obj.name, obj.category, obj.mask) == ("0", "1", "mug", "mug", None)
    np.testing.assert_allclose(obj.grasps, CORNELL_RECTS, atol=1e-9)  # the NaN block is skipped
    np.testing.assert_allclose(obj.negatives, [[30, 30, 0.3, 12, 4]], atol=1e-3)
    s1 = ds[1]
    assert s1.depth is None and s1.objects[0].negatives is None and s1.objects[0].name == "bowl"
    assert [tuple(it) for it in ds.items()] == [(0, "0", "1"), (1, "0", "2"), (2, "0", "2")]
    train, val = split(ds.items(), 0.5, by="object")
    assert {it.sample for it in val} in ({0}, {1, 2})  # images 200 and 201 show the same object
    assert_splits(ds.items())


def test_cornell_without_z_warns_and_uses_image_ids(cornell_root):
    with pytest.warns(UserWarning, match="image-wise"):
        ds = CornellDataset(cornell_root)
    assert [it.identity for it in ds.items()] == ds.ids
    assert ds[2].objects[0].name == ""


def test_cornell_errors(cornell_root, tmp_path):
    with pytest.raises(ValueError, match="pcd0100cpos.txt"):
        CornellDataset(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="pcd0100cpos.txt"):
        CornellDataset(tmp_path / "empty")
    (cornell_root / "01" / "pcd0100cpos.txt").write_text("1 2\n3 4\n5 six\n7 8\n")
    (cornell_root / "02" / "pcd0200r.png").unlink()
    with pytest.warns(UserWarning):
        ds = CornellDataset(cornell_root)
    with pytest.raises(ValueError, match=r"pcd0100cpos\.txt:3"):
        ds[0]
    with pytest.raises(ValueError, match="pcd0200r.png"):
        ds[1]


FRACTIONAL_TEXT = "10.4 20.6\n30.5 20.2\n29.6 25.5\n10.2 24.7\n20.5 9.5\n21.49 30.51\n15.5 29.6\n14.6 10.4\n"
FRACTIONAL = np.array([[[10.4, 20.6], [30.5, 20.2], [29.6, 25.5], [10.2, 24.7]],
                       [[20.5, 9.5], [21.49, 30.51], [15.5, 29.6], [14.6, 10.4]]])
# int(round(float(x))) of each coordinate, as GG-CNN / GR-ConvNet read them (halves to even)
ROUNDED = np.array([[[10, 21], [30, 20], [30, 26], [10, 25]],
                    [[20, 10], [21, 31], [16, 30], [15, 10]]], float)


def test_cornell_integer_corners(tmp_path):
    from graspsim.rectangles import from_corners

    assert np.array_equal([[[int(round(float(c))) for c in xy] for xy in r] for r in FRACTIONAL], ROUNDED)
    d = tmp_path / "cornell" / "01"
    write_rgb(d / "pcd0100r.png", rgb_image(100))
    (d / "pcd0100cpos.txt").write_text(FRACTIONAL_TEXT + NAN_BLOCK)
    (d / "pcd0100cneg.txt").write_text(FRACTIONAL_TEXT[: FRACTIONAL_TEXT.index("20.5 9.5")])
    root = tmp_path / "cornell"
    with pytest.warns(UserWarning):
        rounded = open_dataset("cornell", root, integer_corners=True)[0].objects[0]
    with pytest.warns(UserWarning):
        default = open_dataset("cornell", root)[0].objects[0]
    assert not np.allclose(from_corners(ROUNDED), from_corners(FRACTIONAL), atol=1e-3)  # the fixture tells them apart
    np.testing.assert_allclose(rounded.grasps, from_corners(ROUNDED), atol=1e-12)  # NaN block still skipped
    np.testing.assert_allclose(rounded.negatives, from_corners(ROUNDED[:1]), atol=1e-12)
    np.testing.assert_allclose(default.grasps, from_corners(FRACTIONAL), atol=1e-12)
    np.testing.assert_allclose(default.negatives, from_corners(FRACTIONAL[:1]), atol=1e-12)
    with pytest.warns(UserWarning):
        assert not CornellDataset(root).integer_corners
    # malformed lines are still reported with their line numbers
    (d / "pcd0100cpos.txt").write_text("1.5 2\n3 4\n5 six\n7 8\n")
    with pytest.warns(UserWarning):
        ds = CornellDataset(root, integer_corners=True)
    with pytest.raises(ValueError, match=r"pcd0100cpos\.txt:3"):
        ds[0]


# -- Jacquard ---------------------------------------------------------------------------
def write_jacquard_files(folder, sid, rgb, grasps_text, depth=None, depth_kind="perfect", mask=None):
    write_rgb(folder / f"{sid}_RGB.png", rgb)
    (folder / f"{sid}_grasps.txt").write_text(grasps_text)
    if depth is not None:
        assert cv2.imwrite(str(folder / f"{sid}_{depth_kind}_depth.tiff"), depth.astype(np.float32))
    if mask is not None:
        assert cv2.imwrite(str(folder / f"{sid}_mask.png"), mask.astype(np.uint8) * 255)


@pytest.fixture
def jacquard_root(tmp_path):
    root = tmp_path / "jacquard"
    mask = np.zeros((H, W), bool)
    mask[10:30, 15:40] = True
    depth = np.linspace(0.5, 0.7, H * W, dtype=np.float32).reshape(H, W)
    write_jacquard_files(root / "1a2b3c", "0_1a2b3c", rgb_image(0), "20;30;30;10;5\n25.5;12;-90;8;3\n",
                         depth=depth, mask=mask)
    write_jacquard_files(root / "1a2b3c", "1_1a2b3c", rgb_image(1), "20;30;0;10;5\n", depth=depth,
                         depth_kind="stereo", mask=mask)
    write_jacquard_files(root / "sub" / "ffee00", "0_ffee00", rgb_image(2), "\n32;24;45;16;4\n")
    return root, mask, depth


def test_jacquard_reads_angles_masks_depth(jacquard_root):
    root, mask, depth = jacquard_root
    ds = open_dataset("jacquard", root)
    assert ds.ids == ["0_1a2b3c", "0_ffee00", "1_1a2b3c"]
    assert [(it.key, it.identity) for it in ds.items()] == [("0", "1a2b3c"), ("0", "ffee00"), ("0", "1a2b3c")]
    s = ds[0]
    # θ = +30° (clockwise on screen) is angle -π/6; θ = -90° is π/2 after wrapping
    np.testing.assert_allclose(s.objects[0].grasps, [[20, 30, -math.pi / 6, 10, 5], [25.5, 12, math.pi / 2, 8, 3]])
    assert np.array_equal(s.objects[0].mask, mask) and s.objects[0].negatives is None
    assert s.depth.dtype == np.float32 and np.array_equal(s.depth, depth)
    assert s.meta["depth_type"] == "perfect" and s.meta["depth_units"] == "m"
    assert ds[2].meta["depth_type"] == "stereo" and np.array_equal(ds[2].depth, depth)
    s1 = ds[1]
    assert s1.depth is None and s1.objects[0].mask is None
    np.testing.assert_allclose(s1.objects[0].grasps, [[32, 24, -math.pi / 4, 16, 4]])
    assert_splits(ds.items())


def test_jacquard_errors(jacquard_root, tmp_path):
    root, _, _ = jacquard_root
    with pytest.raises(ValueError, match="_grasps.txt"):
        JacquardDataset(tmp_path / "nowhere")
    (root / "1a2b3c" / "0_1a2b3c_grasps.txt").write_text("1;2;3;4;5\n1;2;3;4\n")
    (root / "sub" / "ffee00" / "0_ffee00_RGB.png").unlink()
    ds = JacquardDataset(root)
    with pytest.raises(ValueError, match=r"0_1a2b3c_grasps\.txt:2"):
        ds[0]
    with pytest.raises(ValueError, match="0_ffee00_RGB.png"):
        ds[1]


class MemoryDataset(GraspDataset):
    """A tiny in-memory data set with masks, to export."""

    format = "memory"

    def __init__(self, samples):
        self.root, self.samples = None, samples
        self.ids = [s.id for s in samples]
        self._objects = [[(o.key, o.identity) for o in s.objects] for s in samples]

    def load(self, i):
        return self.samples[i]


def test_write_jacquard_round_trip(tmp_path):
    n = 64
    m0, m1 = np.zeros((n, n), bool), np.zeros((n, n), bool)
    m0[5:20, 5:30], m1[30:60, 20:50] = True, True
    g0 = np.array([[12.0, 10.0, 0.4, 20.0, 6.0], [15.0, 14.0, -1.2, 10.0, 4.0]])
    g1 = np.array([[35.0, 45.0, math.pi / 2, 14.0, 5.0]])
    depth = np.full((n, n), 0.6, np.float32)
    samples = [
        GraspSample("scene/0", rgb_image(3, n, n), depth, [
            GraspObject("0", "mug", g0, mask=m0),
            GraspObject("1", "bowl #2", g1, mask=m1),
            GraspObject("2", "no-mask", g1),  # skipped: no mask
            GraspObject("3", "no-grasps", np.zeros((0, 5)), mask=m1),  # skipped: no grasps
        ]),
        GraspSample("scene1", rgb_image(4, n, n), None, [GraspObject("0", "mug", g1, mask=m1)]),
    ]
    out = tmp_path / "export"
    assert write_jacquard(MemoryDataset(samples), out, image_size=128, progress=False) == 3
    assert not list(out.rglob("*.tmp*"))
    ds = JacquardDataset(out)
    assert ds.ids == ["scene1_0", "scene_0_0", "scene_0_1"]
    assert [it.identity for it in ds.items()] == ["mug", "mug", "bowl_2"]
    for sid, grasps, mask, d in (("scene_0_0", g0, m0, 0.6), ("scene_0_1", g1, m1, 0.6), ("scene1_0", g1, m1, 0.0)):
        s = ds[ds.ids.index(sid)]
        assert s.rgb.shape == (128, 128, 3)
        np.testing.assert_allclose(s.objects[0].grasps, scale_rects(grasps, 128 / n), atol=1e-3)
        assert np.array_equal(s.objects[0].mask, cv2.resize(mask.astype(np.uint8), (128, 128),
                                                             interpolation=cv2.INTER_NEAREST) > 0)
        assert s.depth.dtype == np.float32 and np.allclose(s.depth, d)
    # writing again overwrites in place
    assert write_jacquard(MemoryDataset(samples), out, image_size=128, progress=False) == 3
    wide = [GraspSample("wide", rgb_image(5, 64, 32), None, [GraspObject("0", "x", g1, mask=np.ones((32, 64), bool))])]
    with pytest.raises(ValueError, match="wide"):
        write_jacquard(MemoryDataset(wide), tmp_path / "wide", progress=False)


# -- Grasp-Anything ---------------------------------------------------------------------
@pytest.fixture
def ga_root(tmp_path):
    import torch

    root = tmp_path / "ga"
    for d in ("image", "mask", "grasp_label_positive", "grasp_label_negative", "scene_description",
              "part_mask", "grasp_instructions"):
        (root / d).mkdir(parents=True)
    n = 48
    write_rgb(root / "image" / "abc123.jpg", rgb_image(6, n, n))
    write_rgb(root / "image" / "def456.jpg", rgb_image(7, n, n))
    m = np.zeros((n, n), bool)
    m[5:20, 5:25] = True
    np.save(root / "mask" / "abc123_0.npy", m)
    np.save(root / "mask" / "abc123_1.npy", (~m).astype(np.uint8))
    torch.save(torch.tensor([[0.0, 20, 30, 10, 5, 30], [1.0, 12, 8, 6, 2, -45]]),
               root / "grasp_label_positive" / "abc123_0.pt")
    torch.save(np.array([[0.0, 30, 30, 8, 4, 0]]), root / "grasp_label_positive" / "abc123_1.pt")
    torch.save(torch.tensor([[0.0, 10, 10, 4, 2, 90]]), root / "grasp_label_negative" / "abc123_0.pt")
    torch.save(torch.tensor([[0.0, 24, 24, 12, 3, 0]]), root / "grasp_label_positive" / "def456_0.pt")
    with open(root / "scene_description" / "abc123.pkl", "wb") as f:
        pickle.dump({"description": "a mug next to a plate", "objects": ["mug", "plate"]}, f)
    with open(root / "scene_description" / "def456.pkl", "wb") as f:
        pickle.dump(["a lone spoon", ["spoon"]], f)
    handle = np.zeros((n, n), bool)
    handle[5:10, 20:25] = True
    np.save(root / "part_mask" / "abc123_0_handle.npy", handle)
    with open(root / "grasp_instructions" / "abc123_0_handle.pkl", "wb") as f:
        pickle.dump("grasp the mug by its handle", f)
    return root, m, handle


def test_grasp_anything(ga_root):
    root, m, handle = ga_root
    ds = open_dataset("grasp-anything", root)
    assert ds.ids == ["abc123", "def456"]
    assert [tuple(it) for it in ds.items()] == [(0, "0", "abc123_0"), (0, "1", "abc123_1"), (1, "0", "def456_0")]
    s = ds[0]
    assert s.depth is None and s.rgb.shape == (48, 48, 3)
    assert s.meta["description"] == "a mug next to a plate"
    o0, o1 = s.objects
    np.testing.assert_allclose(o0.grasps, [[20, 30, -math.pi / 6, 10, 5], [12, 8, math.pi / 4, 6, 2]], atol=1e-12)
    np.testing.assert_allclose(o0.negatives, [[10, 10, math.pi / 2, 4, 2]], atol=1e-12)
    assert np.array_equal(o0.mask, m) and np.array_equal(o1.mask, ~m) and o1.mask.dtype == bool
    assert list(o0.parts) == ["handle"] and np.array_equal(o0.parts["handle"], handle)
    assert o0.instructions == ["grasp the mug by its handle"]
    assert o1.negatives is None and o1.parts == {} and o1.instructions == []
    np.testing.assert_allclose(o1.grasps, [[30, 30, 0, 8, 4]])
    assert ds[1].meta["description"] == "a lone spoon"
    assert_splits(ds.items())


def test_grasp_anything_errors(ga_root, tmp_path):
    import torch

    root, _, _ = ga_root
    with pytest.raises(ValueError, match="grasp_label_positive"):
        GraspAnythingDataset(tmp_path / "nowhere")
    torch.save(torch.zeros(2, 5), root / "grasp_label_positive" / "def456_0.pt")
    with pytest.raises(ValueError, match="def456_0.pt"):
        GraspAnythingDataset(root)[1]


# -- OCID-Grasp -------------------------------------------------------------------------
def write_ocid_sequence(d, names, instances, classes, text, depth=True, seed=10):
    """One OCID-Grasp sequence: the same annotation, instance and class images for each name."""
    for sub in ("Annotations", "rgb", "depth", "label", "seg_mask_labeled_combi"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    for k, name in enumerate(names):
        (d / "Annotations" / f"{name}.txt").write_text(text)
        write_rgb(d / "rgb" / f"{name}.png", rgb_image(seed + k, *instances.shape[::-1]))
        assert cv2.imwrite(str(d / "label" / f"{name}.png"), instances.astype(np.uint16))  # 16-bit, as OCID's
        assert cv2.imwrite(str(d / "seg_mask_labeled_combi" / f"{name}.png"), classes.astype(np.uint8))
        if depth:
            assert cv2.imwrite(str(d / "depth" / f"{name}.png"), np.full(instances.shape, 750, np.uint16))


@pytest.fixture
def ocid_root(tmp_path):
    root = tmp_path / "ocid"
    instances = np.zeros((H, W), np.uint16)
    instances[40:, :] = 1  # the supporting surface: never an object
    instances[5:40, 5:30] = 2
    instances[5:40, 35:60] = 3
    classes = np.zeros((H, W), np.uint8)
    classes[instances == 2] = 7
    classes[instances == 3] = 9
    rects = {2: [[15, 20, 0.2, 10, 4], [20, 30, -0.5, 8, 3]], 3: [[45, 20, 1.0, 12, 5]]}
    background = [[32, 44, 0.0, 6, 2]]  # centre on instance 1
    text = format_cornell(rects[2] + rects[3][:1] + background)
    write_ocid_sequence(root / "ARID20/table/top/seq01", ("result_a", "result_b"), instances, classes, text)
    write_ocid_sequence(root / "YCB10/floor/seq02", ("result_c",), instances, classes, text, depth=False)
    return root, instances, rects


def test_ocid(ocid_root):
    root, instances, rects = ocid_root
    ds = open_dataset("ocid", root)
    seq1 = "ARID20/table/top/seq01"
    assert ds.ids == [f"{seq1}/result_a", f"{seq1}/result_b", "YCB10/floor/seq02/result_c"]
    items = ds.items()
    assert [tuple(it) for it in items] == [
        (0, "2", "ARID20/table/top/seq01:2"), (0, "3", "ARID20/table/top/seq01:3"),
        (1, "2", "ARID20/table/top/seq01:2"), (1, "3", "ARID20/table/top/seq01:3"),
        (2, "2", "YCB10/floor/seq02:2"), (2, "3", "YCB10/floor/seq02:3"),
    ]
    s = ds[0]
    assert s.meta["unassigned_grasps"] == 1 and s.meta["depth_units"] == "m"
    assert s.meta["classes"] == {2: 7, 3: 9} and s.meta["label"].endswith("label/result_a.png")
    assert s.depth.dtype == np.float32 and np.allclose(s.depth, 0.75)
    assert [(o.key, o.name, o.category) for o in s.objects] == [("2", "7", "7"), ("3", "9", "9")]
    for obj in s.objects:
        np.testing.assert_allclose(obj.grasps, rects[int(obj.key)], atol=1e-3)  # format_cornell writes 6 digits
        assert np.array_equal(obj.mask, instances == int(obj.key)) and obj.negatives is None
    assert ds[2].depth is None
    assert_splits(items)
    for seed in range(3):  # object-wise: both images of seq01 fall on the same side
        train, val = split(items, 0.5, by="object", seed=seed)
        assert {it.sample for it in val if it.identity.endswith("seq01:2")} in (set(), {0, 1})


def test_ocid_two_objects_of_one_class_are_two_objects(tmp_path):
    """Objects come from the instance image: two mugs of one class stay apart, each with its own grasps."""
    root = tmp_path / "ocid"
    h, w = 60, 80
    instances = np.zeros((h, w), np.uint16)
    instances[50:, :] = 1  # floor
    instances[30:50, :] = 2  # the table: an instance, but background (class 0) to OCID-Grasp
    instances[5:25, 5:25] = 300  # mug one (16-bit ids above 255)
    instances[5:25, 40:60] = 301  # mug two, same class
    instances[5:25, 65:78] = 4  # a box whose class mask misses a third of it
    classes = np.zeros((h, w), np.uint8)
    classes[instances == 300] = 5
    classes[instances == 301] = 5
    classes[5:25, 65:74] = 12  # 9 of its 13 columns: class 12 wins the vote over 0
    mug_one = [[15, 15, 0.3, 10, 4], [10, 20, -0.2, 8, 3]]
    mug_two = [[50, 12, 1.1, 12, 5]]
    box = [[76, 15, 0.0, 6, 2]]  # centre where the class image says background, but on instance 4
    table, floor = [[40, 40, 0.0, 10, 3]], [[40, 55, 0.0, 10, 3]]
    write_ocid_sequence(root / "ARID10/table/top/mugs/seq05", ("result_0",), instances, classes,
                        format_cornell(mug_two + mug_one + table + box + floor))
    ds = OcidGraspDataset(root)
    assert [tuple(it) for it in ds.items()] == [
        (0, "4", "ARID10/table/top/mugs/seq05:4"),
        (0, "300", "ARID10/table/top/mugs/seq05:300"),
        (0, "301", "ARID10/table/top/mugs/seq05:301"),
    ]
    s = ds[0]
    box_obj, one, two = s.objects
    assert (one.name, one.category, two.name, two.category) == ("5", "5", "5", "5")
    assert (box_obj.name, box_obj.category) == ("12", "12")
    assert np.array_equal(one.mask, instances == 300) and np.array_equal(two.mask, instances == 301)
    assert np.array_equal(box_obj.mask, instances == 4)
    assert not (one.mask & two.mask).any()
    np.testing.assert_allclose(one.grasps, mug_one, atol=1e-3)
    np.testing.assert_allclose(two.grasps, mug_two, atol=1e-3)
    np.testing.assert_allclose(box_obj.grasps, box, atol=1e-3)
    assert s.meta["unassigned_grasps"] == 2  # on the table and on the floor
    assert s.meta["classes"] == {4: 12, 300: 5, 301: 5}


def test_ocid_without_label_folder_is_refused(ocid_root):
    root, _, _ = ocid_root
    seq = root / "YCB10" / "floor" / "seq02"
    for f in (seq / "label").iterdir():
        f.unlink()
    (seq / "label").rmdir()
    with pytest.raises(ValueError, match=r"seq02[/\\]label"):
        OcidGraspDataset(root)


def test_ocid_errors(ocid_root, tmp_path):
    root, _, _ = ocid_root
    with pytest.raises(ValueError, match="seg_mask_labeled_combi"):
        OcidGraspDataset(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="Annotations"):
        OcidGraspDataset(tmp_path / "empty")
    seq = root / "YCB10" / "floor" / "seq02"
    (seq / "Annotations" / "result_c.txt").write_text("1 2\n3 4\nx 5\n")
    seq1 = root / "ARID20" / "table" / "top" / "seq01"
    (seq1 / "rgb" / "result_b.png").unlink()
    (seq1 / "label" / "result_a.png").unlink()
    ds = OcidGraspDataset(root)
    with pytest.raises(ValueError, match=r"result_c\.txt:3"):
        ds[2]
    with pytest.raises(ValueError, match="result_b.png"):
        ds[1]
    with pytest.raises(ValueError, match=r"label[/\\]result_a\.png"):
        ds[0]

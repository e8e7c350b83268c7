"""Tests for graspsim.objects: the built-in object sets and user mesh folders."""

from __future__ import annotations

import random

import numpy as np
import pytest

from graspsim.objects import OBJECT_SETS, ObjectInfo, ObjectSet, get_object_set
from graspsim.objects.measure import body_bounds
from graspsim.objects.mesh_folder import MeshFolderSet, cache_dir, object_name, split_of
from graspsim.objects.random_urdfs import split_of as random_split_of

#: Tolerance between the catalogue size and the loaded body's measured extents (metres).
SIZE_TOL = 0.005
#: PyBullet pads the AABB of convex meshes by its collision margin (3-4 mm per side).
AABB_PAD = 0.006
FAST_VHACD = {"resolution": 50_000}


@pytest.fixture(scope="module")
def client():
    import pybullet as p

    cid = p.connect(p.DIRECT)
    yield cid
    p.disconnect(physicsClientId=cid)


def assert_loads_with_size(object_set: ObjectSet, info: ObjectInfo, client: int) -> None:
    import pybullet as p

    body = object_set.load(client, info.name)
    try:
        lo, hi = body_bounds(client, body)
        measured = hi - lo
        assert np.allclose(measured, info.size, atol=SIZE_TOL), (info.name, measured, info.size)
        # Independent of our measurement code: PyBullet's own (padded) AABB.
        alo, ahi = (np.asarray(v) for v in p.getAABB(body, physicsClientId=client))
        assert np.all(alo <= lo + 1e-6) and np.all(ahi >= hi - 1e-6), info.name
        assert np.all((ahi - alo) - np.asarray(info.size) <= 2 * AABB_PAD + SIZE_TOL), (info.name, ahi - alo)
        assert p.getDynamicsInfo(body, -1, physicsClientId=client)[0] == pytest.approx(info.mass, rel=1e-6)
    finally:
        p.removeBody(body, physicsClientId=client)


# ---------------------------------------------------------------- built-in sets


@pytest.mark.parametrize("name", OBJECT_SETS)
def test_builtin_set_has_both_splits_and_unique_names(name):
    object_set = get_object_set(name)
    assert isinstance(object_set, ObjectSet) and object_set.name == name
    objects = object_set.objects()
    names = [o.name for o in objects]
    assert len(names) == len(set(names)) and names == sorted(names)
    train, test = object_set.objects("train"), object_set.objects("test")
    assert train and test and len(train) + len(test) == len(objects)
    for info in objects:
        assert all(0.0 < e < 0.3 for e in info.size), info
        assert 0.0 < info.mass <= 0.4 and info.scale > 0, info
    assert get_object_set(name) is object_set  # cached


def test_primitives_load_with_catalogue_size(client):
    object_set = get_object_set("primitives")
    for info in object_set.objects():
        assert_loads_with_size(object_set, info, client)


def test_random_urdf_sample_loads_with_measured_size(client):
    object_set = get_object_set("random-urdfs")
    objects = object_set.objects()
    assert len(objects) >= 990  # a handful of broken assets are left out
    for info in random.Random(0).sample(objects, 20):
        assert_loads_with_size(object_set, info, client)
        middle = sorted(np.asarray(info.extra["raw_size"]))[1]
        assert info.scale == pytest.approx(min(0.6, 0.065 / middle), abs=1e-4)


def test_random_urdf_split_rule():
    object_set = get_object_set("random-urdfs")
    for info in object_set.objects():
        index = int(info.name.split()[-1])
        assert info.name == f"object {index:03d}" and info.category == "procedural"
        assert info.split == ("test" if index % 10 == 0 else "train") == random_split_of(index)
        assert info.colour is not None and len(info.colour) == 4 and info.colour_name is None
    assert object_set.get("object 010").split == "test"
    assert object_set.get("object 011").split == "train"


def test_household_objects_load_with_measured_size(client):
    object_set = get_object_set("household")
    names = {o.name for o in object_set.objects()}
    assert {"duck", "teddy bear", "mug", "lego brick", "domino"} <= names
    assert {o.name for o in object_set.objects("test")} == {"teddy bear", "lego brick", "domino"}
    for info in object_set.objects():
        assert 0.03 <= info.mass <= 0.3
        assert min(info.size[:2]) <= 0.065, info
        assert_loads_with_size(object_set, info, client)
    assert object_set.get("mug").mass == pytest.approx(0.3)  # the URDF says 1 kg


def test_unknown_set_name_raises():
    with pytest.raises(ValueError, match="no-such-set") as err:
        get_object_set("no-such-set")
    message = str(err.value)
    assert all(name in message for name in OBJECT_SETS) and "folder" in message


# ---------------------------------------------------------------- mesh folders


@pytest.fixture
def vhacd_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRASPSIM_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "vhacd"


def make_mesh_folder(root):
    import trimesh

    root.mkdir()
    trimesh.creation.box((0.12, 0.06, 0.04)).apply_translation((0.5, 0.2, 0.1)).export(root / "big_box.obj")
    trimesh.creation.cylinder(radius=0.01, height=0.03).export(root / "small-can.stl")
    return root


def test_mesh_folder_set_loads_scaled_and_reuses_vhacd_cache(tmp_path, vhacd_cache, client, monkeypatch):
    import graspsim.objects.mesh_folder as mesh_folder

    folder = make_mesh_folder(tmp_path / "meshes")
    object_set = MeshFolderSet(folder, size_range=(0.04, 0.08), vhacd_params=FAST_VHACD)
    assert cache_dir() == vhacd_cache
    objects = object_set.objects()
    assert [o.name for o in objects] == ["big box", "small can"]
    for info in objects:
        assert info.category == "mesh" and info.mass == pytest.approx(0.1)
        assert 0.04 - 1e-6 <= max(info.size) <= 0.08 + 1e-6
        assert info.split == split_of(info.name, 0.2)
        assert_loads_with_size(object_set, info, client)
    assert max(object_set.get("big box").size) == pytest.approx(0.08)  # shrunk from 12 cm
    assert max(object_set.get("small can").size) == pytest.approx(0.04)  # grown from 3 cm

    cached = sorted(vhacd_cache.glob("*.obj"))
    assert len(cached) == 2 and not list(vhacd_cache.glob(".tmp*"))
    mtimes = [f.stat().st_mtime_ns for f in cached]
    calls = []
    real = mesh_folder._run_vhacd
    monkeypatch.setattr(mesh_folder, "_run_vhacd", lambda *a: (calls.append(a), real(*a)))
    again = MeshFolderSet(folder, size_range=(0.04, 0.08), vhacd_params=FAST_VHACD)
    assert again.objects() == objects
    assert calls == [] and [f.stat().st_mtime_ns for f in cached] == mtimes

    # different V-HACD parameters are a different cache entry
    MeshFolderSet(folder, vhacd_params={"resolution": 60_000})
    assert len(calls) == 2 and len(list(vhacd_cache.glob("*.obj"))) == 4


def test_mesh_folder_categories_urdfs_and_unscaled(tmp_path, vhacd_cache, client):
    import trimesh

    root = tmp_path / "objs"
    (root / "mugs").mkdir(parents=True)
    (root / "meshes").mkdir()
    trimesh.creation.box((0.03, 0.03, 0.05)).export(root / "mugs" / "tall_mug.obj")
    trimesh.creation.box((0.02, 0.04, 0.02)).export(root / "meshes" / "part.stl")
    (root / "thing.urdf").write_text(
        '<robot name="thing"><link name="base"><inertial><mass value="0.05"/>'
        '<inertia ixx="1e-5" iyy="1e-5" izz="1e-5" ixy="0" ixz="0" iyz="0"/></inertial>'
        '<collision><geometry><mesh filename="meshes/part.stl"/></geometry></collision></link></robot>'
    )
    object_set = MeshFolderSet(root, size_range=None, test_fraction=0.0, vhacd_params=FAST_VHACD)
    by_name = {o.name: o for o in object_set.objects()}
    assert set(by_name) == {"tall mug", "thing"}  # part.stl is the URDF's mesh, not an object
    assert by_name["tall mug"].category == "mugs" and by_name["thing"].category == "mesh"
    assert by_name["thing"].mass == pytest.approx(0.05) and by_name["thing"].scale == 1.0
    assert np.allclose(by_name["tall mug"].size, (0.03, 0.03, 0.05))
    assert not object_set.objects("test")
    for info in object_set.objects():
        assert_loads_with_size(object_set, info, client)
    assert get_object_set(str(root)).name == str(root.resolve())


def test_mesh_folder_split_is_deterministic():
    names = [f"object {i}" for i in range(200)]
    assert [split_of(n, 0.2) for n in names] == [split_of(n, 0.2) for n in names]
    share = sum(split_of(n, 0.2) == "test" for n in names) / len(names)
    assert 0.1 < share < 0.3
    assert all(split_of(n, 0.0) == "train" for n in names) and all(split_of(n, 1.0) == "test" for n in names)
    assert object_name("blue_coffee-mug.obj") == "blue coffee mug"


@pytest.mark.parametrize(
    "filename, content, problem",
    [
        ("junk.obj", "this is not a mesh\nhello 1 2 3\n", "no vertices"),
        ("flat.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", "flat"),
        ("broken.urdf", "<robot><link name='a'>", "malformed URDF"),
        ("lost.urdf", "<robot name='r'><link name='a'><visual><geometry><mesh filename='gone.obj'/></geometry></visual></link></robot>", "does not exist"),
    ],
)
def test_malformed_files_raise_naming_the_file(tmp_path, vhacd_cache, filename, content, problem):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / filename).write_text(content)
    with pytest.raises(ValueError, match=problem) as err:
        MeshFolderSet(folder, vhacd_params=FAST_VHACD)
    assert str(folder / filename) in str(err.value)


def test_missing_and_empty_folders_raise(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(ValueError) as err:
        get_object_set(str(missing))
    assert str(missing) in str(err.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no meshes here")
    with pytest.raises(ValueError, match="no .urdf") as err:
        MeshFolderSet(empty)
    assert str(empty) in str(err.value)

"""Scene generation, step by step (graspsim/sim/scene_builder.py): what each layout does before the
scene settles (drop heights, temporary walls, spacing, resting height, orientations), how many
objects a scene draws, and the spec it returns. World.settle is spied on, so the poses each layout
places are read before physics moves them. Written for the survivors of the module's mutation run
(docs/tests.md, "Mutation testing"); tests/test_scene.py checks the settled results and replay."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pybullet as p
import pytest

from graspsim.objects import get_object_set
from graspsim.sim import scene_builder
from graspsim.sim.scene_builder import build_scene, generate_scene, randomise_spec
from graspsim.sim.world import WORKSPACE_HALF, World

PRIMS = get_object_set("primitives")


@pytest.fixture
def settles(monkeypatch):
    """Every World.settle call of the test: max_time, the objects' (name, position, orientation, aabb) and
    the number of bodies in the world just before it ran."""
    calls = []
    real = World.settle

    def spy(self, max_time=4.0, *args, **kwargs):
        objects = [(self.names[i], *self.pose(i), *self.aabb(i)) for i in sorted(self.objects)]
        calls.append(SimpleNamespace(max_time=max_time, objects=objects,
                                     bodies=p.getNumBodies(physicsClientId=self.client)))
        return real(self, max_time, *args, **kwargs)

    monkeypatch.setattr(World, "settle", spy)
    return calls


def footprint_radius(name):
    size = PRIMS.get(name).size
    return 0.5 * math.hypot(size[0], size[1])


# -- helpers ---------------------------------------------------------------------------------
def test_random_quaternion_is_a_normalised_gaussian_4_vector():
    q = scene_builder._random_quaternion(np.random.default_rng(5))
    g = np.random.default_rng(5).standard_normal(4)
    assert isinstance(q, list) and all(type(v) is float for v in q)
    np.testing.assert_allclose(q, g / np.linalg.norm(g), rtol=0, atol=1e-15)


@pytest.mark.parametrize("yaw", [0.0, 0.7, -2.5, math.pi])
def test_yaw_quaternion_turns_about_z(yaw):
    np.testing.assert_allclose(scene_builder._yaw_quaternion(yaw), p.getQuaternionFromEuler([0, 0, yaw]), atol=1e-12)


def test_rest_on_table_puts_the_lowest_point_2_mm_above_the_table():
    with World() as other, World() as w:  # not physics client 0: the move must go to the object's own world
        assert w.client != other.client
        i = w.add_object(PRIMS, "red box", 1.0, [0.03, -0.02, 0.5], p.getQuaternionFromEuler([0.3, 0.2, 0.1]))
        scene_builder._rest_on_table(w, i)
        (x, y, _), orn = w.pose(i)
        assert w.aabb(i)[0][2] == pytest.approx(0.002, abs=1e-9)
        assert (x, y) == pytest.approx((0.03, -0.02), abs=1e-12)
        np.testing.assert_allclose(orn, p.getQuaternionFromEuler([0.3, 0.2, 0.1]), atol=1e-9)
        scene_builder._rest_on_table(w, i, clearance=0.01)
        assert w.aabb(i)[0][2] == pytest.approx(0.01, abs=1e-9)


def test_temporary_walls_enclose_the_square_from_the_table_up():
    """Four 2 cm thick, 25 cm tall walls whose inner faces are at ±half, each 2 cm longer than the square."""
    with World() as w:
        walls = scene_builder._add_walls(w, half=0.11)
        boxes = sorted((tuple(np.round(lo, 3)), tuple(np.round(hi, 3)))
                       for lo, hi in (p.getAABB(b, physicsClientId=w.client) for b in walls))
        w.step(240)  # fixed in place: a second of physics does not move them
        after = sorted((tuple(np.round(lo, 3)), tuple(np.round(hi, 3)))
                       for lo, hi in (p.getAABB(b, physicsClientId=w.client) for b in walls))
    assert len(walls) == 4 and after == boxes
    expected = sorted([
        ((-0.13, -0.12, 0.0), (-0.11, 0.12, 0.25)), ((0.11, -0.12, 0.0), (0.13, 0.12, 0.25)),
        ((-0.12, -0.13, 0.0), (0.12, -0.11, 0.25)), ((-0.12, 0.11, 0.0), (0.12, 0.13, 0.25)),
    ])
    for (lo, hi), (elo, ehi) in zip(boxes, expected):
        np.testing.assert_allclose(lo, elo, atol=2e-3)  # PyBullet pads AABBs by its contact margin
        np.testing.assert_allclose(hi, ehi, atol=2e-3)


# -- layouts -----------------------------------------------------------------------------------
def test_pile_objects_are_dropped_stacked_inside_walls_that_are_removed(settles):
    """Pile: each object starts 2 cm above the previous one's top (the first 5 cm above the table) at a
    random x, y within ±7 cm, inside walls at ±11 cm; the pile settles (3 s at most), the walls go, it
    settles again (3 s at most)."""
    with World() as w:
        spec = generate_scene(w, PRIMS, "pile", object_count=4, seed=5)
        assert p.getNumBodies(physicsClientId=w.client) == settles[1].bodies
    assert [c.max_time for c in settles] == [3.0, 3.0]
    dropped = settles[0].objects
    assert len(dropped) == 4 and settles[0].bodies == settles[1].bodies + 4
    z = 0.05
    for name, pos, orn, lo, hi in dropped:
        assert lo[2] == pytest.approx(z, abs=1e-9)
        assert abs(pos[0]) <= 0.07 and abs(pos[1]) <= 0.07
        assert abs(np.linalg.norm(orn) - 1) < 1e-9
        z = hi[2] + 0.02
    assert max(abs(o[2][0]) + abs(o[2][1]) for o in dropped) > 0.1  # tumbled, not upright
    assert [o.name for o in spec.objects] == [o[0] for o in dropped]


def test_packed_objects_stand_apart_upright_on_the_table(settles):
    """Packed: footprints (half the x-y diagonal) 1 cm apart at least and inside the workspace, upright
    with a random yaw, 2 mm above the table; one settle of 2 s at most."""
    with World() as w:
        generate_scene(w, PRIMS, "packed", object_count=5, seed=2)
    assert [c.max_time for c in settles] == [2.0]
    placed = settles[0].objects
    assert len(placed) == 5
    yaws = []
    for k, (name, pos, orn, lo, hi) in enumerate(placed):
        r = footprint_radius(name)
        assert abs(pos[0]) <= WORKSPACE_HALF - r and abs(pos[1]) <= WORKSPACE_HALF - r
        assert lo[2] == pytest.approx(0.002, abs=1e-9)
        assert hi[2] - lo[2] == pytest.approx(PRIMS.get(name).size[2], abs=3e-3)  # at the catalogue scale
        assert orn[0] == pytest.approx(0, abs=1e-12) and orn[1] == pytest.approx(0, abs=1e-12)
        yaws.append(2 * math.atan2(orn[2], orn[3]))
        for other, opos, *_ in placed[:k]:
            assert math.hypot(pos[0] - opos[0], pos[1] - opos[1]) > r + footprint_radius(other) + 0.01
    assert np.ptp(yaws) > 0.5


def test_a_full_packed_scene_holds_fewer_objects():
    with World() as w:
        spec = generate_scene(w, PRIMS, "packed", object_count=20, seed=1)
    assert 5 < len(spec.objects) < 20


def test_single_object_upright_near_the_centre(settles):
    with World() as w:
        spec = generate_scene(w, PRIMS, "single", object_count=3, seed=4)
    assert len(spec.objects) == 1 and [c.max_time for c in settles] == [2.0]
    (name, pos, orn, lo, hi), = settles[0].objects
    assert abs(pos[0]) <= 0.05 and abs(pos[1]) <= 0.05
    assert lo[2] == pytest.approx(0.002, abs=1e-9)
    assert hi[2] - lo[2] == pytest.approx(PRIMS.get(name).size[2], abs=3e-3)  # at the catalogue scale
    assert orn[0] == pytest.approx(0, abs=1e-12) and orn[1] == pytest.approx(0, abs=1e-12)


# -- what generate_scene draws and returns (layouts stubbed: no physics) ------------------------
@pytest.fixture
def stub_layouts(monkeypatch):
    """Replace the three layouts by one that adds the drawn names in a row along x (recorded)."""
    drawn = []

    def place(world, object_set, names, rng):
        drawn.append(list(names))
        for k, name in enumerate(names):
            world.add_object(object_set, name, 1.0, [-0.12 + 0.03 * k, 0.0, 0.05], [0, 0, 0, 1])

    for name in ("_place_single", "_place_pile", "_place_packed"):
        monkeypatch.setattr(scene_builder, name, place)
    return drawn


def test_object_counts_per_layout(stub_layouts):
    with World() as w:
        pile = {len(generate_scene(w, PRIMS, "pile", seed=s).objects) for s in range(40)}
        packed = {len(generate_scene(w, PRIMS, "packed", seed=s).objects) for s in range(40)}
        single = {len(generate_scene(w, PRIMS, "single", object_count=(2, 4), seed=s).objects) for s in range(5)}
        two = {len(generate_scene(w, PRIMS, "pile", object_count=2, seed=s).objects) for s in range(5)}
    assert pile == packed == {3, 4, 5} and single == {1} and two == {2}
    assert all(len(set(names)) == len(names) for names in stub_layouts)  # drawn without replacement


def test_the_default_layout_is_a_pile_and_a_catalogue_of_n_gives_n_distinct_objects(stub_layouts):
    two = SimpleNamespace(name="two", objects=lambda split="all": PRIMS.objects()[:2], get=PRIMS.get, load=PRIMS.load)
    with World() as w:
        assert generate_scene(w, PRIMS, seed=0).layout == "pile"
        for seed in range(8):
            assert len({o.name for o in generate_scene(w, two, "packed", object_count=2, seed=seed).objects}) == 2


def test_the_spec_records_the_scene(stub_layouts):
    with World() as w:
        spec = generate_scene(w, PRIMS, "packed", object_count=3, seed=9)
        assert spec.object_set == "primitives" and spec.layout == "packed" and spec.seed == 9
        assert [o.name for o in spec.objects] == stub_layouts[0]
        for i, o in enumerate(spec.objects):
            assert o.scale == 1.0 and (o.position, o.orientation) == w.pose(i)
        names = {o.name for o in PRIMS.objects("test")}
        from_rng = generate_scene(w, PRIMS, "pile", object_count=3, split="test", rng=np.random.default_rng(9))
        assert from_rng.seed is None and {o.name for o in from_rng.objects} <= names
        again = generate_scene(w, PRIMS, "pile", object_count=3, split="test", seed=9)
        assert [o.name for o in again.objects] == [o.name for o in from_rng.objects]


def test_objects_that_left_the_workspace_are_dropped_from_the_spec(monkeypatch):
    def place(world, object_set, names, rng):
        for k, name in enumerate(names):
            world.add_object(object_set, name, 1.0, [0.5 if k == 1 else 0.03 * k, 0.0, 0.05], [0, 0, 0, 1])

    monkeypatch.setattr(scene_builder, "_place_packed", place)
    with World() as w:
        spec = generate_scene(w, PRIMS, "packed", object_count=3, seed=0)
        assert len(spec.objects) == 2 and sorted(w.objects) == [0, 2]
        assert [o.position[0] for o in spec.objects] == [0.0, 0.06]


def test_more_objects_than_the_catalogue_repeat_names_and_an_empty_split_is_named(stub_layouts):
    tiny = SimpleNamespace(name="two", objects=lambda split="all": PRIMS.objects()[:2] if split == "all" else [],
                           get=PRIMS.get, load=PRIMS.load)
    with World() as w:
        spec = generate_scene(w, tiny, "packed", object_count=3, seed=0)
        assert len(spec.objects) == 3 and len({o.name for o in spec.objects}) <= 2
        with pytest.raises(ValueError, match="object set 'two' has no objects in split 'test'"):
            generate_scene(w, tiny, "packed", split="test", seed=0)
        with pytest.raises(ValueError, match=r"layout must be one of \('single', 'pile', 'packed'\), got 'heap'"):
            generate_scene(w, PRIMS, "heap", seed=0)


# -- appearance ----------------------------------------------------------------------------------
def test_randomise_spec_draws_the_appearance_from_the_generator():
    from graspsim.appearance_sampling import draw_appearance

    with World() as w:
        spec = generate_scene(w, PRIMS, "packed", object_count=3, seed=6)
    for split in ("all", "test"):
        out = randomise_spec(spec, np.random.default_rng(2), split)
        assert out == spec.with_appearance(draw_appearance(np.random.default_rng(2), len(spec.objects), split))
    assert randomise_spec(spec, np.random.default_rng(2)) == randomise_spec(spec, np.random.default_rng(2), "all")
    assert randomise_spec(spec, np.random.default_rng(2)).objects == spec.objects


def test_build_scene_gives_textured_objects_uv_visuals_and_applies_the_appearance(monkeypatch):
    with World() as w:
        spec = generate_scene(w, PRIMS, "packed", object_count=3, seed=6)
        rng = np.random.default_rng(0)
        while True:  # an appearance with a textured and an untextured object
            looks = randomise_spec(spec, rng)
            textured = [o.texture is not None for o in looks.appearance.objects]
            if any(textured) and not all(textured):
                break
        calls, applied, tables = [], [], []
        real_add, real_apply, real_reset = World.add_object, World.apply_appearance, World.reset
        monkeypatch.setattr(World, "reset", lambda self, **k: tables.append(k.get("table")) or real_reset(self, **k))
        monkeypatch.setattr(World, "add_object", lambda self, *a, **k: calls.append(k.get("uv_visuals")) or real_add(self, *a, **k))
        monkeypatch.setattr(World, "apply_appearance", lambda self, a: applied.append(a) or real_apply(self, a))
        build_scene(w, looks)
        assert calls == textured and applied == [looks.appearance] and tables == [looks.appearance.table]
        calls.clear()
        build_scene(w, spec)  # no appearance: catalogue look, no uv visuals
        assert calls == [False, False, False] and applied == [looks.appearance] and tables[1:] == [None]


# -- the seed's scene ------------------------------------------------------------------------------
# A deliberate regression test: every generated scene of a seed (``--objects ... --layout ...`` runs
# and the suites built from them) depends on these draws, so a change to a range, the number of draws
# or their order must fail here rather than change the scenes silently. Update the values only on
# purpose, and say so in the changelog.
PILE_5 = [  # name, drop x, y, orientation (x, y, z, w)
    ("purple capsule", -0.062449701667, -0.01632835669, (-0.271139055962, -0.385027841046, 0.367348603511, 0.802054971589)),
    ("blue bowl", 0.021331675622, -0.037168571766, (0.375291786021, -0.626626134573, -0.079456201706, 0.6783675072)),
    ("red cylinder", -0.015063346993, -0.000976777378, (0.522740102821, 0.405379057135, 0.592538630159, -0.459683126411)),
    ("red capsule", 0.053151164267, -0.061009978776, (-0.215244407955, -0.436047900551, 0.86332748078, 0.134898977758)),
]
PACKED_2 = [  # name, x, y, yaw
    ("green mug", 0.047257030264, -0.064529377085, 3.488089132189 - 2 * math.pi),
    ("blue cylinder", -0.051597121035, 0.036097709223, 0.391226697524),
    ("red box", 0.033296099819, 0.116858988123, 1.150230201797),
    ("green capsule", -0.084277585187, -0.084849119292, -1.872970745863),
    ("orange capsule", 0.082487507588, 0.038580340442, 2.194316537268),
]
SINGLE_4 = [("red box", 0.001132755281, 0.047624370571, 3.649500371221 - 2 * math.pi)]


def _yaw(orn):
    return (2 * math.atan2(orn[2], orn[3]) + math.pi) % (2 * math.pi) - math.pi


def test_the_draws_of_a_seed_are_fixed(settles):
    with World() as w:
        generate_scene(w, PRIMS, "pile", object_count=4, seed=5)
        generate_scene(w, PRIMS, "packed", object_count=5, seed=2)
        generate_scene(w, PRIMS, "single", seed=4)
        full = generate_scene(w, PRIMS, "packed", object_count=20, seed=1)
    pile, packed, single = settles[0].objects, settles[2].objects, settles[3].objects
    assert [o[0] for o in pile] == [e[0] for e in PILE_5]
    for (name, pos, orn, *_), (_, x, y, q) in zip(pile, PILE_5):
        assert pos[:2] == pytest.approx((x, y), abs=1e-9) and orn == pytest.approx(q, abs=1e-9)
    for placed, expected in ((packed, PACKED_2), (single, SINGLE_4)):
        assert [o[0] for o in placed] == [e[0] for e in expected]
        for (name, pos, orn, *_), (_, x, y, yaw) in zip(placed, expected):
            assert pos[:2] == pytest.approx((x, y), abs=1e-9) and _yaw(orn) == pytest.approx(yaw, abs=1e-9)
    assert len(full.objects) == 9  # 20 drawn, 9 found a free spot

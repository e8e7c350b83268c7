"""The scene builder: seeded generation of cluttered layouts, and rebuilding a spec.

Generation (:func:`generate_scene`) drops or places objects, settles them,
removes those that left the workspace, and records the result as a
:class:`graspsim.scene.SceneSpec`; :func:`build_scene` resets a world and puts
a spec's objects at their recorded poses (bit-exact replay), with the spec's
appearance when it carries one; :func:`randomise_spec` draws an appearance
for a spec (:func:`graspsim.appearance_sampling.draw_appearance`).

Layouts:
- ``single``: one object dropped upright with a random yaw near the centre.
- ``pile``: objects dropped with uniformly random orientations inside a
  temporary box over the 30 x 30 cm workspace; the box is removed and the
  pile settles (as VGN builds its pile scenes).
- ``packed``: objects standing upright with random yaw at non-overlapping
  positions.
"""

from __future__ import annotations

import math

import numpy as np

from graspsim.appearance_sampling import draw_appearance
from graspsim.scene import DEFAULT_OBJECT_COUNT, LAYOUTS, ObjectPlacement, SceneSpec, check_count_range
from graspsim.sim.world import WORKSPACE_HALF, World


def _random_quaternion(rng: np.random.Generator) -> list[float]:
    q = rng.standard_normal(4)
    q /= np.linalg.norm(q)
    return [float(v) for v in q]


def _yaw_quaternion(yaw: float) -> list[float]:
    return [0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)]


def _rest_on_table(world: World, index: int, clearance: float = 0.002) -> None:
    """Shift an object vertically so that its lowest point is ``clearance`` above the table."""
    import pybullet as p

    lo, _ = world.aabb(index)
    pos, orn = world.pose(index)
    p.resetBasePositionAndOrientation(
        world.objects[index], [pos[0], pos[1], pos[2] - lo[2] + clearance], orn, physicsClientId=world.client
    )


def _add_walls(world: World, half: float, height: float = 0.25) -> list[int]:
    import pybullet as p

    c = world.client
    walls = []
    for axis in (0, 1):
        for sign in (-1, 1):
            ext = [0.01, half + 0.01, height / 2] if axis == 0 else [half + 0.01, 0.01, height / 2]
            pos = [sign * (half + 0.01), 0.0, height / 2] if axis == 0 else [0.0, sign * (half + 0.01), height / 2]
            shape = p.createCollisionShape(p.GEOM_BOX, halfExtents=ext, physicsClientId=c)
            walls.append(p.createMultiBody(0, shape, -1, pos, physicsClientId=c))
    return walls


def _place_pile(world, object_set, names, rng):
    import pybullet as p

    walls = _add_walls(world, half=0.11)
    z = 0.05
    for name in names:
        xy = rng.uniform(-0.07, 0.07, size=2)
        index = world.add_object(object_set, name, 1.0, [xy[0], xy[1], 0.0], _random_quaternion(rng))
        lo, hi = world.aabb(index)
        pos, orn = world.pose(index)
        p.resetBasePositionAndOrientation(
            world.objects[index], [pos[0], pos[1], pos[2] - lo[2] + z], orn, physicsClientId=world.client
        )
        z += (hi[2] - lo[2]) + 0.02
    world.settle(max_time=3.0)
    for wall in walls:
        p.removeBody(wall, physicsClientId=world.client)
    world.settle(max_time=3.0)


def _place_packed(world, object_set, names, rng):
    placed: list[tuple[float, float, float]] = []  # x, y, footprint radius
    for name in names:
        info = object_set.get(name)
        radius = 0.5 * math.hypot(info.size[0], info.size[1])
        for _ in range(200):
            limit = max(WORKSPACE_HALF - radius, 0.0)
            x, y = rng.uniform(-limit, limit, size=2)
            if all(math.hypot(x - px, y - py) > radius + pr + 0.01 for px, py, pr in placed):
                break
        else:
            continue  # no free spot: the scene simply holds fewer objects
        yaw = rng.uniform(-math.pi, math.pi)
        index = world.add_object(object_set, name, 1.0, [x, y, 0.0], _yaw_quaternion(yaw))
        _rest_on_table(world, index)
        placed.append((x, y, radius))
    world.settle(max_time=2.0)


def _place_single(world, object_set, names, rng):
    x, y = rng.uniform(-0.05, 0.05, size=2)
    index = world.add_object(object_set, names[0], 1.0, [x, y, 0.0], _yaw_quaternion(rng.uniform(-math.pi, math.pi)))
    _rest_on_table(world, index)
    world.settle(max_time=2.0)


def generate_scene(
    world: World,
    object_set,
    layout: str = "pile",
    object_count=None,
    split: str = "all",
    rng: np.random.Generator | None = None,
    seed: int | None = None,
) -> SceneSpec:
    """Generate a scene in ``world`` and return its spec.

    ``object_set`` is an ObjectSet; ``object_count`` an int or (min, max)
    range (default per layout); objects are drawn without replacement from
    the ``split`` of the set, so names are unique within a scene. All random
    draws come from ``rng`` (or ``np.random.default_rng(seed)``).
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    lo, hi = check_count_range(DEFAULT_OBJECT_COUNT[layout] if object_count is None else object_count)
    if layout == "single":
        lo = hi = 1
    if rng is None:
        rng = np.random.default_rng(seed)
    catalogue = object_set.objects(split)
    if not catalogue:
        raise ValueError(f"object set {object_set.name!r} has no objects in split {split!r}")
    count = int(rng.integers(lo, hi + 1))
    picks = rng.choice(len(catalogue), size=count, replace=count > len(catalogue))
    names = [catalogue[i].name for i in picks]

    world.reset()
    {"single": _place_single, "pile": _place_pile, "packed": _place_packed}[layout](world, object_set, names, rng)
    for index in world.out_of_workspace():
        world.remove_object(index)
    placements = tuple(
        ObjectPlacement(world.names[i], 1.0, *world.pose(i)) for i in sorted(world.objects)
    )
    return SceneSpec(object_set.name, layout, seed, placements)


def build_scene(world: World, spec: SceneSpec, object_set=None) -> None:
    """Reset ``world`` and put the objects of ``spec`` at their recorded poses.

    Object indices follow the order of ``spec.objects``. When ``spec.appearance``
    is set, the table, the objects' colours and textures, the light
    (``world.lighting``) and the camera (``world.camera``: the base camera
    with the appearance's height offset) follow it; otherwise the world has
    the catalogue look. Appearance changes nothing in the physics.
    """
    if object_set is None:
        from graspsim.objects import get_object_set

        object_set = get_object_set(spec.object_set)
    appearance = spec.appearance
    world.reset(table=None if appearance is None else appearance.table)
    for i, placement in enumerate(spec.objects):
        textured = appearance is not None and appearance.objects[i].texture is not None
        world.add_object(object_set, placement.name, placement.scale, placement.position, placement.orientation,
                         uv_visuals=textured)
    if appearance is not None:
        world.apply_appearance(appearance)


def randomise_spec(spec: SceneSpec, rng: np.random.Generator, split: str = "all") -> SceneSpec:
    """``spec`` with a randomised appearance drawn from ``rng`` for its objects
    (:func:`graspsim.appearance_sampling.draw_appearance`; ``split`` "all", "train" or
    "test" applies the held-out rule). Labels are kept: appearance does not
    change the physics."""
    return spec.with_appearance(draw_appearance(rng, len(spec.objects), split))

"""Scenes: seeded generation of cluttered layouts and their serialisable specs.

A :class:`SceneSpec` lists the objects of a scene with their settled poses.
:func:`build_scene` puts exactly those poses into a world, so a scene saved to
a file (a *suite*) rebuilds the same world for everyone. Generation
(:func:`generate_scene`) drops or places objects, settles them, removes those
that left the workspace, and records the result as a spec.

Layouts:
- ``single``: one object dropped upright with a random yaw near the centre.
- ``pile``: objects dropped with uniformly random orientations inside a
  temporary box over the 30 x 30 cm workspace; the box is removed and the
  pile settles (as VGN builds its pile scenes).
- ``packed``: objects standing upright with random yaw at non-overlapping
  positions.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from graspsim.world import WORKSPACE_HALF, World

LAYOUTS = ("single", "pile", "packed")
DEFAULT_OBJECT_COUNT = {"single": (1, 1), "pile": (3, 5), "packed": (3, 5)}
SPEC_VERSION = 1


@dataclass(frozen=True)
class ObjectPlacement:
    """One object of a scene: catalogue name, scale factor, settled centre-of-mass
    position (m) and quaternion (x, y, z, w)."""

    name: str
    scale: float
    position: tuple[float, float, float]
    orientation: tuple[float, float, float, float]


@dataclass(frozen=True)
class SceneSpec:
    """Everything needed to rebuild a scene bit for bit.

    ``labels`` (optional, not part of equality) maps object index to its
    simulated-trial ground truth (:class:`graspsim.labels.ObjectLabels`);
    suites written by ``graspsim label`` carry them.
    """

    object_set: str
    layout: str
    seed: int | None
    objects: tuple[ObjectPlacement, ...] = field(default_factory=tuple)
    labels: dict | None = field(default=None, compare=False)

    def to_dict(self) -> dict:
        d = {k: v for k, v in asdict(replace(self, labels=None)).items() if k != "labels"}
        d["version"] = SPEC_VERSION
        if self.labels is not None:
            d["labels"] = {str(i): lab.to_dict() for i, lab in sorted(self.labels.items())}
        return d

    def with_labels(self, labels: dict | None) -> "SceneSpec":
        return replace(self, labels=labels)

    @classmethod
    def from_dict(cls, d: dict) -> "SceneSpec":
        try:
            version = d.get("version", SPEC_VERSION)
            if version != SPEC_VERSION:
                raise ValueError(f"scene spec version {version!r} is not supported (expected {SPEC_VERSION})")
            objects = tuple(
                ObjectPlacement(o["name"], float(o["scale"]), tuple(map(float, o["position"])), tuple(map(float, o["orientation"])))
                for o in d["objects"]
            )
            labels = None
            if d.get("labels") is not None:
                from graspsim.labels import ObjectLabels

                labels = {int(i): ObjectLabels.from_dict(lab) for i, lab in d["labels"].items()}
                bad = [i for i in labels if not 0 <= i < len(objects)]
                if bad:
                    raise ValueError(f"malformed scene spec: labels for object index(es) {bad} not in the scene")
            spec = cls(d["object_set"], d["layout"], d.get("seed"), objects, labels)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed scene spec: missing or bad field {exc}") from None
        for o in spec.objects:
            if len(o.position) != 3 or len(o.orientation) != 4 or not all(map(math.isfinite, o.position + o.orientation)):
                raise ValueError(f"malformed scene spec: bad pose for object {o.name!r}")
        return spec

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> "SceneSpec":
        return cls.from_dict(json.loads(text))


def save_suite(path: str | os.PathLike, specs: list[SceneSpec]) -> None:
    """Write scenes to a JSON-lines suite file (atomically: temp file + rename)."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w") as f:
        for spec in specs:
            f.write(spec.to_json() + "\n")
    os.replace(tmp, path)


def load_suite(path: str | os.PathLike) -> list[SceneSpec]:
    """Read a suite file written by :func:`save_suite`."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"suite file {str(path)!r} does not exist")
    specs = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            if line.strip():
                try:
                    specs.append(SceneSpec.from_json(line))
                except (ValueError, json.JSONDecodeError) as exc:
                    raise ValueError(f"{path}:{lineno}: {exc}") from None
    return specs


def check_count_range(object_count) -> tuple[int, int]:
    """Validate an object-count range given as an int or a (min, max) pair."""
    if isinstance(object_count, (int, np.integer)) and not isinstance(object_count, bool):
        lo = hi = int(object_count)
    else:
        try:
            lo, hi = (int(v) for v in object_count)
        except (TypeError, ValueError):
            raise ValueError(f"object_count must be an int or a (min, max) pair, got {object_count!r}") from None
    if not (1 <= lo <= hi <= 20):
        raise ValueError(f"object_count must satisfy 1 <= min <= max <= 20, got {object_count!r}")
    return lo, hi


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

    Object indices follow the order of ``spec.objects``.
    """
    if object_set is None:
        from graspsim.objects import get_object_set

        object_set = get_object_set(spec.object_set)
    world.reset()
    for placement in spec.objects:
        world.add_object(object_set, placement.name, placement.scale, placement.position, placement.orientation)

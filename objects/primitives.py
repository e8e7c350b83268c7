"""`primitives`: procedurally generated boxes, cylinders, spheres, capsules and
non-convex shapes (mug, bowl, L-bracket, T-bar), all sized for a parallel-jaw
gripper that opens 8 cm.

Each object is "<colour> <shape>" (for example "red cylinder"), a name that
works as a text prompt. Sizes cycle through three presets per shape so that the
set holds small, medium and large objects. The split is fixed: for every shape
a third of its colours (chosen by index) are test objects, the rest train.

Bodies are built from PyBullet primitive shapes (compound shapes for the
non-convex objects), so nothing is read from disk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .catalogue import ObjectInfo, ObjectSet

COLOURS: dict[str, tuple[float, float, float, float]] = {
    "red": (0.85, 0.12, 0.10, 1.0),
    "green": (0.15, 0.65, 0.20, 1.0),
    "blue": (0.12, 0.30, 0.85, 1.0),
    "yellow": (0.95, 0.85, 0.15, 1.0),
    "orange": (0.95, 0.50, 0.10, 1.0),
    "purple": (0.55, 0.20, 0.70, 1.0),
}

#: Density used to derive masses from volumes (kg/m^3), roughly wood / plastic.
DENSITY = 500.0
MIN_MASS, MAX_MASS = 0.03, 0.4


@dataclass(frozen=True)
class Part:
    """One primitive piece of a body, in the body frame (metres).

    kind: "box" (dims = half extents), "cylinder" (dims = radius, length),
    "sphere" (dims = radius,), "capsule" (dims = radius, length of the axis).
    Cylinders and capsules are along z unless ``rpy`` rotates them.
    """

    kind: str
    dims: tuple[float, ...]
    xyz: tuple[float, float, float] = (0.0, 0.0, 0.0)
    rpy: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def volume(self) -> float:
        if self.kind == "box":
            hx, hy, hz = self.dims
            return 8 * hx * hy * hz
        if self.kind == "cylinder":
            r, length = self.dims
            return math.pi * r * r * length
        if self.kind == "sphere":
            return 4 / 3 * math.pi * self.dims[0] ** 3
        if self.kind == "capsule":
            r, length = self.dims
            return math.pi * r * r * length + 4 / 3 * math.pi * r**3
        raise ValueError(f"unknown part kind {self.kind!r}")

    def scaled(self, s: float) -> "Part":
        return Part(self.kind, tuple(d * s for d in self.dims), tuple(c * s for c in self.xyz), self.rpy)


def _box(sx, sy, sz):
    return [Part("box", (sx / 2, sy / 2, sz / 2))]


def _cylinder(diameter, height):
    return [Part("cylinder", (diameter / 2, height))]


def _sphere(diameter):
    return [Part("sphere", (diameter / 2,))]


def _capsule(diameter, length):
    # Lying along x: a capsule standing upright would not stay upright.
    return [Part("capsule", (diameter / 2, length - diameter), rpy=(0.0, math.pi / 2, 0.0))]


def _ring(radius, height, wall, segments, z0=0.0, tilt=0.0):
    """A cylindrical (or, with ``tilt``, conical) wall made of box segments."""
    parts = []
    chord = 2 * radius * math.tan(math.pi / segments) + wall
    for k in range(segments):
        a = 2 * math.pi * k / segments
        r = radius + math.sin(tilt) * height / 2
        parts.append(
            Part(
                "box",
                (wall / 2, chord / 2, height / 2 / math.cos(tilt)),
                (r * math.cos(a), r * math.sin(a), z0 + height / 2),
                (0.0, -tilt, a),
            )
        )
    return parts


def _mug(diameter, height):
    wall = 0.005
    r = diameter / 2 - wall / 2
    parts = _ring(r, height, wall, 12, z0=-height / 2)
    parts.append(Part("cylinder", (diameter / 2, wall), (0.0, 0.0, -height / 2 + wall / 2)))
    # handle: two spokes and a grip on the +x side
    hx = diameter / 2 + 0.012
    parts.append(Part("box", (0.006, 0.005, height * 0.3), (hx, 0.0, 0.0)))
    parts.append(Part("box", (0.008, 0.005, 0.004), (diameter / 2 + 0.005, 0.0, height * 0.28)))
    parts.append(Part("box", (0.008, 0.005, 0.004), (diameter / 2 + 0.005, 0.0, -height * 0.28)))
    return parts


def _bowl(diameter, height):
    wall = 0.005
    base_r = diameter * 0.3
    tilt = math.atan2(diameter / 2 - base_r, height)
    parts = _ring(base_r, height, wall, 14, z0=-height / 2, tilt=tilt)
    parts.append(Part("cylinder", (base_r + wall, wall), (0.0, 0.0, -height / 2 + wall / 2)))
    return parts


def _l_bracket(long, short, thick):
    w = 0.024
    return [
        Part("box", (long / 2, w / 2, thick / 2), (0.0, 0.0, 0.0)),
        Part("box", (w / 2, (short - w) / 2, thick / 2), (-long / 2 + w / 2, (short - w) / 2 + w / 2, 0.0)),
    ]


def _t_bar(long, stem, thick):
    w = 0.022
    return [
        Part("box", (long / 2, w / 2, thick / 2), (0.0, 0.0, 0.0)),
        Part("box", (w / 2, (stem - w) / 2, thick / 2), (0.0, -(stem - w) / 2 - w / 2, 0.0)),
    ]


# shape -> (category, builder, three size presets: small, medium, large)
SHAPES = {
    "box": ("box", _box, [(0.03, 0.04, 0.04), (0.04, 0.06, 0.05), (0.05, 0.08, 0.06)]),
    "cylinder": ("cylinder", _cylinder, [(0.03, 0.05), (0.04, 0.07), (0.05, 0.09)]),
    "sphere": ("sphere", _sphere, [(0.04,), (0.05,), (0.06,)]),
    "capsule": ("capsule", _capsule, [(0.025, 0.06), (0.03, 0.08), (0.035, 0.10)]),
    "mug": ("mug", _mug, [(0.055, 0.07), (0.06, 0.08), (0.065, 0.09)]),
    "bowl": ("bowl", _bowl, [(0.08, 0.035), (0.09, 0.04), (0.10, 0.045)]),
    "L-bracket": ("L-bracket", _l_bracket, [(0.08, 0.06, 0.025), (0.09, 0.06, 0.025), (0.10, 0.07, 0.03)]),
    "T-bar": ("T-bar", _t_bar, [(0.09, 0.06, 0.025), (0.10, 0.07, 0.025), (0.11, 0.07, 0.03)]),
}
CONVEX = ("box", "cylinder", "sphere", "capsule")


def _parts_extent(parts: list[Part]) -> tuple[float, float, float]:
    """Axis-aligned extents of a list of parts, from sampled surface points."""
    pts = []
    for part in parts:
        if part.kind == "box":
            hx, hy, hz = part.dims
            corners = np.array([[sx * hx, sy * hy, sz * hz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
        else:
            r = part.dims[0]
            half = part.dims[1] / 2 if part.kind == "cylinder" else (part.dims[1] / 2 + r if part.kind == "capsule" else r)
            ang = np.linspace(0, 2 * np.pi, 32, endpoint=False)
            ring = np.stack([r * np.cos(ang), r * np.sin(ang)], 1)
            zs = (-half, half) if part.kind != "sphere" else (0.0,)
            corners = np.concatenate([np.column_stack([ring, np.full(len(ring), z)]) for z in zs])
            if part.kind in ("sphere", "capsule"):
                corners = np.concatenate([corners, [[0, 0, half], [0, 0, -half]]])
        rot = _rpy_matrix(part.rpy)
        pts.append(corners @ rot.T + np.asarray(part.xyz))
    pts = np.concatenate(pts)
    ext = pts.max(0) - pts.min(0)
    return tuple(float(round(e, 5)) for e in ext)


def _rpy_matrix(rpy):
    r, p, y = rpy
    cr, sr, cp, sp, cy, sy = math.cos(r), math.sin(r), math.cos(p), math.sin(p), math.cos(y), math.sin(y)
    return np.array(
        [
            [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
            [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
            [-sp, cp * sr, cp * cr],
        ]
    )


class PrimitiveSet(ObjectSet):
    """The `primitives` object set (see the module docstring)."""

    name = "primitives"

    def __init__(self):
        self._parts: dict[str, list[Part]] = {}

    def _catalogue(self) -> list[ObjectInfo]:
        infos = []
        colours = list(COLOURS)
        for s_idx, (shape, (category, builder, presets)) in enumerate(SHAPES.items()):
            # convex shapes come in every colour, non-convex ones in two
            shape_colours = colours if shape in CONVEX else colours[s_idx % 3 :: 3]
            for c_idx, colour in enumerate(shape_colours):
                dims = presets[c_idx % len(presets)]
                parts = builder(*dims)
                name = f"{colour} {shape}"
                self._parts[name] = parts
                volume = sum(p.volume() for p in parts)
                mass = float(np.clip(DENSITY * volume, MIN_MASS, MAX_MASS))
                if shape in CONVEX:
                    split = "test" if (s_idx + c_idx) % 3 == 0 else "train"
                else:
                    split = "test" if c_idx == 0 else "train"
                infos.append(
                    ObjectInfo(
                        name=name,
                        category=category,
                        split=split,
                        size=_parts_extent(parts),
                        mass=round(mass, 4),
                        colour=COLOURS[colour],
                        colour_name=colour,
                    )
                )
        return infos

    def parts(self, name: str) -> list[Part]:
        """The primitive parts of object ``name`` at scale 1 (body frame)."""
        self.get(name)
        return self._parts[name]

    def _load(self, info: ObjectInfo, client: int, scale: float) -> int:
        import pybullet as p

        parts = [part.scaled(scale) for part in self._parts[info.name]]
        types = {"box": p.GEOM_BOX, "cylinder": p.GEOM_CYLINDER, "sphere": p.GEOM_SPHERE, "capsule": p.GEOM_CAPSULE}
        kw = dict(
            shapeTypes=[types[q.kind] for q in parts],
            radii=[q.dims[0] if q.kind != "box" else 0.0 for q in parts],
            halfExtents=[list(q.dims) if q.kind == "box" else [0.0, 0.0, 0.0] for q in parts],
            lengths=[q.dims[1] if q.kind in ("cylinder", "capsule") else 0.0 for q in parts],
        )
        frames = dict(
            collisionFramePositions=[list(q.xyz) for q in parts],
            collisionFrameOrientations=[list(p.getQuaternionFromEuler(q.rpy)) for q in parts],
        )
        col = p.createCollisionShapeArray(**kw, **frames, physicsClientId=client)
        vis = p.createVisualShapeArray(
            **kw,
            visualFramePositions=frames["collisionFramePositions"],
            visualFrameOrientations=frames["collisionFrameOrientations"],
            physicsClientId=client,
        )
        mass = info.mass * scale**3
        body = p.createMultiBody(
            baseMass=mass, baseCollisionShapeIndex=col, baseVisualShapeIndex=vis, physicsClientId=client
        )
        p.changeVisualShape(body, -1, rgbaColor=info.colour, physicsClientId=client)
        return body

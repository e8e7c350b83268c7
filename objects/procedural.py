"""`procedural`: seeded families of generated shapes, split into train and test
by their parameters.

Six families (the ``category`` of each object), 24-28 objects each, drawn once
from the fixed seed :data:`SEED` (one numpy Generator per family, so a family's
objects do not depend on the others):

- ``prism``: a random star-shaped polygon with 3-8 vertices extruded 2-6 cm,
  lying flat; "notched" ones (every other block of six) have every other
  corner pulled in, so they are non-convex. Names "red prism 07".
- ``superquadric``: superellipsoids with convex exponents e1 (vertical profile)
  and e2 (horizontal section) in [0.2, 1.5] (0.2: box-like, 1: ellipsoid,
  1.5: diamond-like), 4-8 x 3.5-6.5 cm across, 3-7 cm tall.
- ``compound``: bars joined into an "L-shape", "T-shape", "U-shape",
  "H-shape", "dumbbell" (hexagonal end weights on an octagonal bar), "cross"
  or "Z-shape" (the arrangement cycles with the index), lying flat.
- ``ring``: "torus" (flat ring), "tube" (short open pipe, standing), "cup"
  (tube with a bottom) and "mug" (cup with a handle).
- ``plate``: flat plates (1.5-2 cm thick) whose outline is a superellipse
  |x/a|^n + |y/b|^n = 1 with n in [1.5, 6] (n = 2: ellipse, large n: rounded
  rectangle), 6-12 cm long.
- ``rod``: rods 8-13 cm long lying along x, whose section is a regular polygon
  with 3, 4, 5, 6, 8 or 24 sides (24: round), 2.2-3.2 cm across its corners.

Names are "<colour> <kind> <NN>" ("blue mug 03", "green L-shape 12"): the
colour from :data:`graspsim.objects.primitives.COLOURS` (each colour about
equally often within a family, shuffled by a stream of its own), NN the
index in the family, so that every name is unique and works as a text prompt.

Every object rests on a flat face (or its bottom) in its catalogue
orientation, fits the Franka hand: at least one horizontal extent <= 6.5 cm,
at most 12 cm tall, no extent under 1.5 cm; its mass is its volume times a
density drawn in [400, 800] kg/m^3, clipped to [0.05, 0.4] kg.

Split (by family parameters, never by random object; :func:`split_of`):

======================  ==================================================
family                  held out for "test"
======================  ==================================================
prism                   polygons with 7 or 8 vertices (train: 3-6)
superquadric            vertical exponent e1 in the band [0.8, 1.1)
compound                the arrangements "cross" and "Z-shape"
ring                    rings with a handle (the mugs)
plate                   outline exponent n in the band [3, 4)
rod                     sections with 5 or 6 sides (pentagonal, hexagonal)
======================  ==================================================

Geometry: every object is a union of convex pieces that meet face to face
(extruded convex polygons, lofts between two convex sections such as the
segments of a torus, or one superquadric hull; only a mug's handle reaches
2 mm into its wall), so the collision shape is an exact compound of convex
hulls and no V-HACD is needed. Volume, centre of mass and inertia come from
the pieces' closed meshes; the body frame is the centre of mass and the body
gets the diagonal of the inertia tensor (PyBullet's own estimate for a
compound is its bounding box). A non-convex prism is cut into convex pieces
by merging the triangles of a fan from a point of its kernel.

Files: on first load an object writes two OBJ files under
``mesh_folder.cache_dir()/procedural`` (``$GRASPSIM_CACHE/vhacd/procedural``),
named by a hash of its family, parameters and :data:`GEOMETRY_VERSION`:
``<key>_collision.obj`` (one ``o`` group per convex piece) and
``<key>_visual.obj`` (with ``vt`` texture coordinates from a box projection
and smoothed ``vn`` normals). Later loads reuse them; writes are atomic. No
randomness at load: the same object loads bit-identically every time.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from .catalogue import ObjectInfo, ObjectSet
from .mesh_geometry import (
    along_x, arc_segments, box, convex_pieces, flat_bottom_phase, mass_properties, prism, regular, superellipse, superquadric,
)
from .obj_files import collision_obj, visual_obj, write_atomic
from .primitives import COLOURS

#: The seed of the catalogue (one Generator per family: ``default_rng([SEED, family index])``).
SEED = 13
#: Bumped whenever the geometry generated from the same parameters changes (part of the cache key).
GEOMETRY_VERSION = 1
FAMILIES = ("compound", "plate", "prism", "ring", "rod", "superquadric")
COUNTS = {"compound": 28, "plate": 24, "prism": 24, "ring": 24, "rod": 24, "superquadric": 24}
DENSITY_RANGE = (400.0, 800.0)
MIN_MASS, MAX_MASS = 0.05, 0.4

COMPOUND_ARRANGEMENTS = ("L-shape", "T-shape", "U-shape", "H-shape", "dumbbell", "cross", "Z-shape")
RING_KINDS = ("torus", "tube", "cup", "mug")
ROD_SIDES = (3, 4, 5, 6, 8, 24)

#: The held-out regions, as text (the code is :func:`split_of`).
TEST_RULES = {
    "prism": "polygons with 7 or 8 vertices",
    "superquadric": "vertical exponent e1 in [0.8, 1.1)",
    "compound": "arrangements 'cross' and 'Z-shape'",
    "ring": "rings with a handle (mugs)",
    "plate": "outline exponent n in [3, 4)",
    "rod": "sections with 5 or 6 sides",
}


def split_of(family: str, params: dict) -> str:
    """The split of an object of ``family`` with ``params`` (see the module docstring)."""
    if family == "prism":
        test = params["vertices"] >= 7
    elif family == "superquadric":
        test = 0.8 <= params["e1"] < 1.1
    elif family == "compound":
        test = params["arrangement"] in ("cross", "Z-shape")
    elif family == "ring":
        test = bool(params["handle"])
    elif family == "plate":
        test = 3.0 <= params["exponent"] < 4.0
    elif family == "rod":
        test = params["sides"] in (5, 6)
    else:
        raise ValueError(f"unknown procedural family {family!r}; expected one of {FAMILIES}")
    return "test" if test else "train"


# ---------------------------------------------------------------- families: drawing parameters


def _u(rng, lo, hi, digits=4):
    return round(float(rng.uniform(lo, hi)), digits)


def _draw_prism(rng, i):
    n = 3 + i % 6
    base = 2 * np.pi * np.arange(n) / n
    angles = base + rng.uniform(-0.3, 0.3, n) * 2 * np.pi / n + rng.uniform(0, 2 * np.pi)
    notched = (i // 6) % 2 == 1 and n >= 4  # alternate corners pulled in: non-convex
    radii = rng.uniform(0.8, 1.0, n)
    if notched:
        radii[1::2] = rng.uniform(0.35, 0.6, n // 2)
    poly = radii[:, None] * np.column_stack([np.cos(angles), np.sin(angles)])
    sx, sy, h = rng.uniform(0.04, 0.09), rng.uniform(0.03, 0.065), rng.uniform(0.02, 0.06)
    lo, hi = poly.min(0), poly.max(0)
    s = np.array([sx, sy]) / (hi - lo)
    centre = (lo + hi) / 2
    poly = np.round((poly - centre) * s, 4)
    kernel = np.round(-centre * s, 4)
    return "prism", {
        "vertices": n,
        "notched": bool(notched),
        "polygon": poly.tolist(),
        "kernel": kernel.tolist(),
        "height": round(float(h), 4),
    }


def _draw_superquadric(rng, i):
    return "superquadric", {
        "a": [_u(rng, 0.02, 0.04), _u(rng, 0.0175, 0.0325), _u(rng, 0.015, 0.035)],
        "e1": _u(rng, 0.2, 1.5, 3),
        "e2": _u(rng, 0.2, 1.5, 3),
    }


def _draw_compound(rng, i):
    arrangement = COMPOUND_ARRANGEMENTS[i % len(COMPOUND_ARRANGEMENTS)]
    params = {"arrangement": arrangement, "width": _u(rng, 0.02, 0.026), "thickness": _u(rng, 0.018, 0.03)}
    if arrangement in ("L-shape", "T-shape", "cross", "Z-shape"):
        params.update(length=_u(rng, 0.07, 0.10), span=_u(rng, 0.045, 0.065))
    elif arrangement == "U-shape":
        params.update(length=_u(rng, 0.058, 0.065), span=_u(rng, 0.05, 0.09))
    elif arrangement == "H-shape":
        params.update(length=_u(rng, 0.058, 0.065), span=_u(rng, 0.06, 0.10))
    else:  # dumbbell
        params = {
            "arrangement": arrangement,
            "bar_radius": _u(rng, 0.008, 0.011),
            "bar_length": _u(rng, 0.04, 0.07),
            "end_radius": _u(rng, 0.019, 0.028),
            "end_thickness": _u(rng, 0.015, 0.025),
        }
    return arrangement, params


def _draw_ring(rng, i):
    kind = RING_KINDS[i % len(RING_KINDS)]
    if kind == "torus":
        outer = _u(rng, 0.025, 0.0325)
        tube = _u(rng, 0.008, min(0.013, (outer - 0.006) / 2))
        return kind, {"kind": kind, "handle": False, "outer_radius": outer, "tube_radius": tube}
    params = {
        "kind": kind,
        "handle": kind == "mug",
        "outer_radius": _u(rng, 0.02, 0.0325),
        "wall": _u(rng, 0.005, 0.008),
        "height": _u(rng, 0.03, 0.08) if kind == "tube" else _u(rng, 0.055, 0.10),
        "bottom": kind != "tube",
    }
    if kind == "mug":
        params["handle_radius"] = _u(rng, 0.012, min(0.02, params["height"] / 2 - 0.012))
    return kind, params


def _draw_plate(rng, i):
    b = _u(rng, 0.0175, 0.0325)
    return "plate", {
        "half_length": _u(rng, max(b, 0.03), 0.06),
        "half_width": b,
        "thickness": _u(rng, 0.015, 0.02),
        "exponent": _u(rng, 1.5, 6.0, 3),
    }


def _draw_rod(rng, i):
    return "rod", {
        "sides": ROD_SIDES[i % len(ROD_SIDES)],
        "diameter": _u(rng, 0.022, 0.032),
        "length": _u(rng, 0.08, 0.13),
    }


DRAW = {
    "compound": _draw_compound,
    "plate": _draw_plate,
    "prism": _draw_prism,
    "ring": _draw_ring,
    "rod": _draw_rod,
    "superquadric": _draw_superquadric,
}

# ---------------------------------------------------------------- families: building pieces


def _build_prism(p):
    poly = np.asarray(p["polygon"], float)
    return [prism(piece, 0.0, p["height"]) for piece in convex_pieces(poly, p["kernel"])]


def _build_superquadric(p):
    return [superquadric(*p["a"], p["e1"], p["e2"])]


def _build_compound(p):
    kind = p["arrangement"]
    if kind == "dumbbell":
        r, half, big, t = p["bar_radius"], p["bar_length"] / 2, p["end_radius"], p["end_thickness"]
        bar = regular(8, r, flat_bottom_phase(8))
        end = regular(6, big, flat_bottom_phase(6))
        return [
            along_x(prism(bar, -half, half)),
            along_x(prism(end, half, half + t)),
            along_x(prism(end, -half - t, -half)),
        ]
    w, t, a, b = p["width"], p["thickness"], p["length"], p["span"]
    if kind == "L-shape":  # a bar along x, an arm along +y at its left end
        return [box(-a / 2, a / 2, 0, w, 0, t), box(-a / 2, -a / 2 + w, w, b, 0, t)]
    if kind == "T-shape":
        return [box(-a / 2, a / 2, b - w, b, 0, t), box(-w / 2, w / 2, 0, b - w, 0, t)]
    if kind == "cross":
        c = b / 2
        return [
            box(-a / 2, a / 2, c - w / 2, c + w / 2, 0, t),
            box(-w / 2, w / 2, 0, c - w / 2, 0, t),
            box(-w / 2, w / 2, c + w / 2, b, 0, t),
        ]
    if kind == "U-shape":  # base along x, two prongs along +y
        return [
            box(-a / 2, a / 2, 0, w, 0, t),
            box(-a / 2, -a / 2 + w, w, b, 0, t),
            box(a / 2 - w, a / 2, w, b, 0, t),
        ]
    if kind == "H-shape":  # two posts along y, a crossbar along x in the middle
        return [
            box(-a / 2, -a / 2 + w, 0, b, 0, t),
            box(a / 2 - w, a / 2, 0, b, 0, t),
            box(-a / 2 + w, a / 2 - w, b / 2 - w / 2, b / 2 + w / 2, 0, t),
        ]
    if kind == "Z-shape":  # two bars along x, offset, and a connector along y
        reach = 0.6 * a
        return [
            box(-a / 2, -a / 2 + reach, b - w, b, 0, t),
            box(a / 2 - reach, a / 2, 0, w, 0, t),
            box(-w / 2, w / 2, w, b - w, 0, t),
        ]
    raise ValueError(f"unknown compound arrangement {kind!r}")


def _build_ring(p):
    if p["kind"] == "torus":
        outer, r = p["outer_radius"], p["tube_radius"]
        section = r * regular(12, 1.0)
        angles = 2 * np.pi * np.arange(21) / 20
        return arc_segments((0, 0, 0), outer - r, section, angles, plane="xy")
    ro, wall, h = p["outer_radius"], p["wall"], p["height"]
    z0 = wall if p["bottom"] else 0.0
    section = np.array([[-wall, 0.0], [0.0, 0.0], [0.0, h - z0], [-wall, h - z0]])
    angles = 2 * np.pi * np.arange(17) / 16
    pieces = arc_segments((0, 0, z0), ro, section, angles, plane="xy")
    if p["bottom"]:
        pieces.append(prism(regular(16, ro), 0.0, wall))
    if p["handle"]:
        rh, ht, hw = p["handle_radius"], 0.004, 0.006
        section = np.array([[-ht, -hw], [ht, -hw], [ht, hw], [-ht, hw]])
        angles = np.linspace(-np.pi / 2, np.pi / 2, 9)
        pieces += arc_segments((ro - 0.002, 0, h / 2), rh, section, angles, plane="xz")
    return pieces


def _build_plate(p):
    outline = superellipse(p["half_length"], p["half_width"], p["exponent"])
    return [prism(outline, 0.0, p["thickness"])]


def _build_rod(p):
    k = p["sides"]
    section = regular(k, p["diameter"] / 2, flat_bottom_phase(k))
    return [along_x(prism(section, -p["length"] / 2, p["length"] / 2))]


BUILD = {
    "compound": _build_compound,
    "plate": _build_plate,
    "prism": _build_prism,
    "ring": _build_ring,
    "rod": _build_rod,
    "superquadric": _build_superquadric,
}


def geometry(family: str, params: dict) -> dict:
    """The pieces of an object, shifted so that its centre of mass is the origin,
    with its volume, inertia per unit density and extents."""
    pieces = BUILD[family](params)
    volume, centre, inertia = mass_properties(pieces)
    if not volume > 0:
        raise ValueError(f"procedural {family} {params}: non-positive volume")
    pieces = [(v - centre, f) for v, f in pieces]
    allv = np.concatenate([v for v, _ in pieces])
    return {
        "pieces": pieces,
        "volume": volume,
        "inertia": inertia,
        "lower": allv.min(0),
        "upper": allv.max(0),
    }


def cache_key(family: str, params: dict) -> str:
    text = json.dumps({"family": family, "params": params, "v": GEOMETRY_VERSION}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def procedural_cache_dir() -> Path:
    """Where the OBJ files go: ``mesh_folder.cache_dir() / "procedural"``."""
    from .mesh_folder import cache_dir

    return cache_dir() / "procedural"


def mesh_files(family: str, params: dict) -> tuple[Path, Path]:
    """The (collision, visual) OBJ files of an object, written on first use."""
    folder = procedural_cache_dir()
    key = cache_key(family, params)
    collision, visual = folder / f"{key}_collision.obj", folder / f"{key}_visual.obj"
    if not (collision.is_file() and visual.is_file()):
        folder.mkdir(parents=True, exist_ok=True)
        pieces = geometry(family, params)["pieces"]
        write_atomic(collision, collision_obj(pieces))
        write_atomic(visual, visual_obj(pieces))
    return collision, visual


# ---------------------------------------------------------------- the set


class ProceduralSet(ObjectSet):
    """The `procedural` object set (see the module docstring)."""

    name = "procedural"

    def __init__(self, seed: int = SEED):
        self.seed = seed

    def _catalogue(self) -> list[ObjectInfo]:
        colours = list(COLOURS)
        infos = []
        for f_idx, family in enumerate(FAMILIES):
            rng = np.random.default_rng([self.seed, f_idx])
            # colours: a separate stream, every colour about equally often, shuffled
            palette = np.random.default_rng([self.seed, f_idx, 1]).permutation(
                np.resize(np.arange(len(colours)), COUNTS[family])
            )
            for i in range(COUNTS[family]):
                kind, params = DRAW[family](rng, i)
                colour = colours[int(palette[i])]
                density = round(float(rng.uniform(*DENSITY_RANGE)), 1)
                geo = geometry(family, params)
                mass = round(float(np.clip(density * geo["volume"], MIN_MASS, MAX_MASS)), 5)
                extents = geo["upper"] - geo["lower"]
                infos.append(
                    ObjectInfo(
                        name=f"{colour} {kind} {i:02d}",
                        category=family,
                        split=split_of(family, params),
                        size=tuple(float(round(e, 5)) for e in extents),
                        mass=mass,
                        colour=COLOURS[colour],
                        colour_name=colour,
                        source="procedural",
                        extra={
                            "family": family,
                            "kind": kind,
                            "index": i,
                            "params": params,
                            "density": density,
                            "volume": float(geo["volume"]),
                            "pieces": len(geo["pieces"]),
                            # inertia about the centre of mass, per kg, body axes (diagonal)
                            "inertia_per_kg": tuple(float(x) for x in np.diag(geo["inertia"]) / geo["volume"]),
                        },
                    )
                )
        return infos

    def mesh_files(self, name: str) -> tuple[Path, Path]:
        """The (collision, visual) OBJ files of object ``name`` (written on first use)."""
        info = self.get(name)
        return mesh_files(info.extra["family"], info.extra["params"])

    def _load(self, info: ObjectInfo, client: int, scale: float) -> int:
        import pybullet as p

        collision, visual = mesh_files(info.extra["family"], info.extra["params"])
        s = [scale] * 3
        col = p.createCollisionShape(p.GEOM_MESH, fileName=str(collision), meshScale=s, physicsClientId=client)
        if col < 0:
            raise ValueError(f"{collision}: pybullet cannot create a collision shape for {info.name!r}")
        vis = p.createVisualShape(
            p.GEOM_MESH, fileName=str(visual), meshScale=s, rgbaColor=info.colour, physicsClientId=client
        )
        mass = info.mass * scale**3
        body = p.createMultiBody(
            baseMass=mass, baseCollisionShapeIndex=col, baseVisualShapeIndex=vis, physicsClientId=client
        )
        inertia = [mass * scale**2 * x for x in info.extra["inertia_per_kg"]]
        p.changeDynamics(body, -1, localInertiaDiagonal=inertia, physicsClientId=client)
        p.changeVisualShape(body, -1, rgbaColor=info.colour, physicsClientId=client)
        return body

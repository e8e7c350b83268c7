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
import math
import os
import tempfile
from pathlib import Path

import numpy as np

from .catalogue import ObjectInfo, ObjectSet
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


# ---------------------------------------------------------------- convex pieces
# A piece is (vertices (n, 3), faces (m, 3) int), a closed convex polyhedron with
# outward-facing triangles.


def _orient_outward(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Flip the triangles of a convex piece that face its centroid."""
    tri = verts[faces]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    inward = np.einsum("ij,ij->i", normal, tri.mean(1) - verts.mean(0)) < 0
    faces = faces.copy()
    faces[inward] = faces[inward][:, ::-1]
    return faces


def _loft(a: np.ndarray, b: np.ndarray):
    """The convex piece between two convex sections ``a`` and ``b`` (n x 3 each, vertex i to vertex i)."""
    n = len(a)
    i = np.arange(n)
    j = (i + 1) % n
    fan = np.stack([np.zeros(n - 2, int), np.arange(1, n - 1), np.arange(2, n)], 1)
    sides = np.concatenate([np.stack([i, j, n + j], 1), np.stack([i, n + j, n + i], 1)])
    verts = np.concatenate([a, b]).astype(float)
    faces = np.concatenate([fan, fan[:, ::-1] + n, sides])
    return verts, _orient_outward(verts, faces)


def _prism(poly: np.ndarray, z0: float, z1: float):
    """A convex polygon (n x 2, x-y) extruded from z0 to z1."""
    poly = np.asarray(poly, float)
    return _loft(np.column_stack([poly, np.full(len(poly), z0)]), np.column_stack([poly, np.full(len(poly), z1)]))


def _box(x0, x1, y0, y1, z0, z1):
    return _prism(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]), z0, z1)


def _along_x(piece, x0: float = 0.0):
    """Turn a piece built along z (section in x-y) to lie along x: (x, y, z) -> (z + x0, x, y)."""
    verts, faces = piece
    return np.column_stack([verts[:, 2] + x0, verts[:, 0], verts[:, 1]]), faces


def _regular(k: int, radius: float, phase: float = 0.0) -> np.ndarray:
    a = phase + 2 * np.pi * np.arange(k) / k
    return radius * np.column_stack([np.cos(a), np.sin(a)])


def _flat_bottom_phase(k: int) -> float:
    """The phase that puts an edge of a regular k-gon at the bottom (-y side)."""
    return -np.pi / 2 + np.pi / k


def _spow(x, e):
    return np.sign(x) * np.abs(x) ** e


def _superquadric(a1, a2, a3, e1, e2, n_lat: int = 12, n_lon: int = 24):
    eta = -np.pi / 2 + np.pi * np.arange(1, n_lat) / n_lat
    omega = -np.pi + 2 * np.pi * np.arange(n_lon) / n_lon
    ce, se = np.cos(eta)[:, None], np.sin(eta)[:, None]
    co, so = np.cos(omega)[None, :], np.sin(omega)[None, :]
    x = a1 * _spow(ce, e1) * _spow(co, e2)
    y = a2 * _spow(ce, e1) * _spow(so, e2)
    z = a3 * _spow(se, e1) * np.ones_like(co)
    rings = np.stack([x, y, z], -1).reshape(-1, 3)
    verts = np.concatenate([rings, [[0.0, 0.0, -a3], [0.0, 0.0, a3]]])
    bottom, top = len(rings), len(rings) + 1
    faces = []
    for r in range(n_lat - 2):
        for k in range(n_lon):
            p, q = r * n_lon + k, r * n_lon + (k + 1) % n_lon
            faces += [(p, q, q + n_lon), (p, q + n_lon, p + n_lon)]
    last = (n_lat - 2) * n_lon
    for k in range(n_lon):
        faces += [(bottom, (k + 1) % n_lon, k), (top, last + k, last + (k + 1) % n_lon)]
    faces = np.asarray(faces, int)
    return verts, _orient_outward(verts, faces)


def _arc_segments(centre, radius, section, angles, plane="xy"):
    """Convex lofts along a circular arc: ``section`` (k x 2: radial offset, axial offset)
    swept around ``centre`` at ``angles``. plane "xy": a ring lying flat (axis z);
    "xz": an arc standing in the x-z plane (axis y), as a mug handle."""
    centre = np.asarray(centre, float)
    rings = []
    for a in angles:
        radial = radius + section[:, 0]
        if plane == "xy":
            pts = np.column_stack([radial * math.cos(a), radial * math.sin(a), section[:, 1]])
        else:
            pts = np.column_stack([radial * math.cos(a), section[:, 1], radial * math.sin(a)])
        rings.append(pts + centre)
    return [_loft(rings[i], rings[i + 1]) for i in range(len(rings) - 1)]


# ---------------------------------------------------------------- polygons


def _is_convex(poly: np.ndarray, eps: float = 1e-9) -> bool:
    """True when the counter-clockwise polygon has no reflex or straight corner."""
    e = np.roll(poly, -1, 0) - poly
    cross = e[:, 0] * np.roll(e, -1, 0)[:, 1] - e[:, 1] * np.roll(e, -1, 0)[:, 0]
    return bool((cross > eps).all())


def convex_pieces(poly: np.ndarray, kernel) -> list[np.ndarray]:
    """Cut a counter-clockwise star-shaped polygon into convex polygons.

    ``kernel`` is a point from which the whole polygon is visible. The fan of
    triangles (kernel, p_i, p_i+1) is merged greedily, starting at a reflex
    corner, while the merged polygon stays convex (Hertel-Mehlhorn style).
    """
    poly = np.asarray(poly, float)
    if _is_convex(poly):
        return [poly]
    n = len(poly)
    e_in = poly - np.roll(poly, 1, 0)
    e_out = np.roll(poly, -1, 0) - poly
    reflex = np.flatnonzero(e_in[:, 0] * e_out[:, 1] - e_in[:, 1] * e_out[:, 0] <= 0)
    ring = np.roll(poly, -int(reflex[0]), 0)
    ring = np.concatenate([ring, ring[:1]])  # p_0 .. p_n (= p_0)
    kernel = np.asarray(kernel, float)[None, :]
    pieces, start, end = [], 0, 1
    while end < n:
        candidate = np.concatenate([kernel, ring[start : end + 2]])
        if _is_convex(candidate):
            end += 1
        else:
            pieces.append(np.concatenate([kernel, ring[start : end + 1]]))
            start = end
            end += 1
    pieces.append(np.concatenate([kernel, ring[start : n + 1]]))
    return pieces


def _superellipse(a: float, b: float, n: float, m: int = 48) -> np.ndarray:
    t = 2 * np.pi * np.arange(m) / m
    return np.column_stack([a * _spow(np.cos(t), 2 / n), b * _spow(np.sin(t), 2 / n)])


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
    return [_prism(piece, 0.0, p["height"]) for piece in convex_pieces(poly, p["kernel"])]


def _build_superquadric(p):
    return [_superquadric(*p["a"], p["e1"], p["e2"])]


def _build_compound(p):
    kind = p["arrangement"]
    if kind == "dumbbell":
        r, half, big, t = p["bar_radius"], p["bar_length"] / 2, p["end_radius"], p["end_thickness"]
        bar = _regular(8, r, _flat_bottom_phase(8))
        end = _regular(6, big, _flat_bottom_phase(6))
        return [
            _along_x(_prism(bar, -half, half)),
            _along_x(_prism(end, half, half + t)),
            _along_x(_prism(end, -half - t, -half)),
        ]
    w, t, a, b = p["width"], p["thickness"], p["length"], p["span"]
    if kind == "L-shape":  # a bar along x, an arm along +y at its left end
        return [_box(-a / 2, a / 2, 0, w, 0, t), _box(-a / 2, -a / 2 + w, w, b, 0, t)]
    if kind == "T-shape":
        return [_box(-a / 2, a / 2, b - w, b, 0, t), _box(-w / 2, w / 2, 0, b - w, 0, t)]
    if kind == "cross":
        c = b / 2
        return [
            _box(-a / 2, a / 2, c - w / 2, c + w / 2, 0, t),
            _box(-w / 2, w / 2, 0, c - w / 2, 0, t),
            _box(-w / 2, w / 2, c + w / 2, b, 0, t),
        ]
    if kind == "U-shape":  # base along x, two prongs along +y
        return [
            _box(-a / 2, a / 2, 0, w, 0, t),
            _box(-a / 2, -a / 2 + w, w, b, 0, t),
            _box(a / 2 - w, a / 2, w, b, 0, t),
        ]
    if kind == "H-shape":  # two posts along y, a crossbar along x in the middle
        return [
            _box(-a / 2, -a / 2 + w, 0, b, 0, t),
            _box(a / 2 - w, a / 2, 0, b, 0, t),
            _box(-a / 2 + w, a / 2 - w, b / 2 - w / 2, b / 2 + w / 2, 0, t),
        ]
    if kind == "Z-shape":  # two bars along x, offset, and a connector along y
        reach = 0.6 * a
        return [
            _box(-a / 2, -a / 2 + reach, b - w, b, 0, t),
            _box(a / 2 - reach, a / 2, 0, w, 0, t),
            _box(-w / 2, w / 2, w, b - w, 0, t),
        ]
    raise ValueError(f"unknown compound arrangement {kind!r}")


def _build_ring(p):
    if p["kind"] == "torus":
        outer, r = p["outer_radius"], p["tube_radius"]
        section = r * _regular(12, 1.0)
        angles = 2 * np.pi * np.arange(21) / 20
        return _arc_segments((0, 0, 0), outer - r, section, angles, plane="xy")
    ro, wall, h = p["outer_radius"], p["wall"], p["height"]
    z0 = wall if p["bottom"] else 0.0
    section = np.array([[-wall, 0.0], [0.0, 0.0], [0.0, h - z0], [-wall, h - z0]])
    angles = 2 * np.pi * np.arange(17) / 16
    pieces = _arc_segments((0, 0, z0), ro, section, angles, plane="xy")
    if p["bottom"]:
        pieces.append(_prism(_regular(16, ro), 0.0, wall))
    if p["handle"]:
        rh, ht, hw = p["handle_radius"], 0.004, 0.006
        section = np.array([[-ht, -hw], [ht, -hw], [ht, hw], [-ht, hw]])
        angles = np.linspace(-np.pi / 2, np.pi / 2, 9)
        pieces += _arc_segments((ro - 0.002, 0, h / 2), rh, section, angles, plane="xz")
    return pieces


def _build_plate(p):
    outline = _superellipse(p["half_length"], p["half_width"], p["exponent"])
    return [_prism(outline, 0.0, p["thickness"])]


def _build_rod(p):
    k = p["sides"]
    section = _regular(k, p["diameter"] / 2, _flat_bottom_phase(k))
    return [_along_x(_prism(section, -p["length"] / 2, p["length"] / 2))]


BUILD = {
    "compound": _build_compound,
    "plate": _build_plate,
    "prism": _build_prism,
    "ring": _build_ring,
    "rod": _build_rod,
    "superquadric": _build_superquadric,
}


# ---------------------------------------------------------------- geometry of one object


def mass_properties(pieces) -> tuple[float, np.ndarray, np.ndarray]:
    """Volume (m^3), centre of mass and inertia tensor per unit density (about the
    centre of mass) of the union of closed, outward-oriented, non-overlapping pieces."""
    tri = np.concatenate([v[f] for v, f in pieces])
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    vol = np.einsum("ij,ij->i", a, np.cross(b, c)) / 6.0  # signed tetrahedra from the origin
    volume = float(vol.sum())
    centre = (vol[:, None] * (a + b + c)).sum(0) / (4.0 * volume)
    s = a + b + c
    second = np.einsum("i,ij,ik->jk", vol, a, a) + np.einsum("i,ij,ik->jk", vol, b, b)
    second += np.einsum("i,ij,ik->jk", vol, c, c) + np.einsum("i,ij,ik->jk", vol, s, s)
    second /= 20.0  # integral of x x^T over the solid
    second -= volume * np.outer(centre, centre)
    inertia = np.trace(second) * np.eye(3) - second
    return volume, centre, inertia


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


# ---------------------------------------------------------------- OBJ files


def _fmt(rows: np.ndarray, prefix: str, fmt: str) -> str:
    line = prefix + " " + " ".join([fmt] * rows.shape[1])
    return "\n".join(line % tuple(r) for r in rows.tolist())


def collision_obj(pieces) -> str:
    """One ``o`` group per convex piece (PyBullet makes one convex hull of each)."""
    out, offset = ["# graspsim procedural collision: one convex piece per group"], 1
    for k, (v, f) in enumerate(pieces):
        out.append(f"o piece_{k}")
        out.append(_fmt(np.asarray(v), "v", "%.6f"))
        out.append(_fmt(np.asarray(f) + offset, "f", "%d"))
        offset += len(v)
    return "\n".join(out) + "\n"


def visual_obj(pieces, smooth_angle_deg: float = 40.0) -> str:
    """One mesh with smoothed normals (``vn``, split at creases sharper than
    ``smooth_angle_deg``) and box-projected texture coordinates (``vt``)."""
    verts = np.concatenate([v for v, _ in pieces])
    offsets = np.cumsum([0] + [len(v) for v, _ in pieces[:-1]])
    faces = np.concatenate([f + o for (_, f), o in zip(pieces, offsets)])
    tri = verts[faces]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    length = np.linalg.norm(normal, axis=1)
    keep = length > 1e-12
    faces, normal, length = faces[keep], normal[keep], length[keep]
    unit = normal / length[:, None]
    # merged positions
    keys = np.round(verts * 1e6).astype(np.int64)
    uniq, first, vid = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    vid = vid.reshape(-1)
    positions = verts[first]
    corner_vid = vid[faces].reshape(-1)
    corner_face = np.repeat(np.arange(len(faces)), 3)
    # smoothed normal per corner: area-weighted normals of the faces around the same
    # position whose normal is within the crease angle of this face's
    order = np.argsort(corner_vid, kind="stable")
    sv = corner_vid[order]
    starts = np.flatnonzero(np.r_[True, sv[1:] != sv[:-1]])
    sizes = np.diff(np.r_[starts, len(sv)])
    group = np.repeat(np.arange(len(starts)), sizes)
    count = sizes[group]
    i_sorted = np.repeat(np.arange(len(sv)), count)
    within = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    j_sorted = starts[group][i_sorted] + within
    ci, cj = order[i_sorted], order[j_sorted]
    fi, fj = corner_face[ci], corner_face[cj]
    ok = np.einsum("ij,ij->i", unit[fi], unit[fj]) > math.cos(math.radians(smooth_angle_deg))
    acc = np.zeros((len(corner_face), 3))
    np.add.at(acc, ci[ok], normal[fj[ok]])
    corner_normal = acc / np.linalg.norm(acc, axis=1, keepdims=True)
    # box projection: the two axes across the face's dominant normal axis, in [0, 1]
    lo = positions.min(0)
    span = float((positions.max(0) - lo).max())
    dominant = np.abs(unit).argmax(1)[corner_face]
    axes = np.array([[1, 2], [0, 2], [0, 1]])[dominant]
    corner_pos = (verts[faces].reshape(-1, 3) - lo) / span
    uv = np.take_along_axis(corner_pos, axes, 1)
    uv_u, vt_id = np.unique(np.round(uv, 5), axis=0, return_inverse=True)
    vn_u, vn_id = np.unique(np.round(corner_normal, 4), axis=0, return_inverse=True)
    idx = np.stack([corner_vid + 1, vt_id.reshape(-1) + 1, vn_id.reshape(-1) + 1], 1).reshape(-1, 9)
    face_lines = "\n".join("f %d/%d/%d %d/%d/%d %d/%d/%d" % tuple(r) for r in idx.tolist())
    return "\n".join(
        [
            "# graspsim procedural visual mesh",
            _fmt(positions, "v", "%.6f"),
            _fmt(uv_u, "vt", "%.5f"),
            _fmt(vn_u + 0.0, "vn", "%.4f"),
            face_lines,
        ]
    ) + "\n"


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".obj")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def mesh_files(family: str, params: dict) -> tuple[Path, Path]:
    """The (collision, visual) OBJ files of an object, written on first use."""
    folder = procedural_cache_dir()
    key = cache_key(family, params)
    collision, visual = folder / f"{key}_collision.obj", folder / f"{key}_visual.obj"
    if not (collision.is_file() and visual.is_file()):
        folder.mkdir(parents=True, exist_ok=True)
        pieces = geometry(family, params)["pieces"]
        _write_atomic(collision, collision_obj(pieces))
        _write_atomic(visual, visual_obj(pieces))
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

"""Convex pieces of procedural shapes, and the mass properties of a union of them.

A *piece* is a convex polyhedron ``(vertices (V, 3), triangles (F, 3))`` in
metres with outward-facing triangles; shapes are unions of pieces that meet
face to face (:mod:`.procedural`). Polygons are (N, 2) counter-clockwise.
"""

from __future__ import annotations

import math

import numpy as np


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


def prism(poly: np.ndarray, z0: float, z1: float):
    """A convex polygon (n x 2, x-y) extruded from z0 to z1."""
    poly = np.asarray(poly, float)
    return _loft(np.column_stack([poly, np.full(len(poly), z0)]), np.column_stack([poly, np.full(len(poly), z1)]))


def box(x0, x1, y0, y1, z0, z1):
    return prism(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]), z0, z1)


def along_x(piece, x0: float = 0.0):
    """Turn a piece built along z (section in x-y) to lie along x: (x, y, z) -> (z + x0, x, y)."""
    verts, faces = piece
    return np.column_stack([verts[:, 2] + x0, verts[:, 0], verts[:, 1]]), faces


def regular(k: int, radius: float, phase: float = 0.0) -> np.ndarray:
    a = phase + 2 * np.pi * np.arange(k) / k
    return radius * np.column_stack([np.cos(a), np.sin(a)])


def flat_bottom_phase(k: int) -> float:
    """The phase that puts an edge of a regular k-gon at the bottom (-y side)."""
    return -np.pi / 2 + np.pi / k


def _spow(x, e):
    return np.sign(x) * np.abs(x) ** e


def superquadric(a1, a2, a3, e1, e2, n_lat: int = 12, n_lon: int = 24):
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


def arc_segments(centre, radius, section, angles, plane="xy"):
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


def superellipse(a: float, b: float, n: float, m: int = 48) -> np.ndarray:
    t = 2 * np.pi * np.arange(m) / m
    return np.column_stack([a * _spow(np.cos(t), 2 / n), b * _spow(np.sin(t), 2 / n)])



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



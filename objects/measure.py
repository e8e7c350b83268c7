"""Measurement and catalogue-file helpers shared by the object sets.

The sizes in ``objects/data/*.json`` are never written by hand: the sets'
``build_catalogue`` functions load every asset into a DIRECT PyBullet client,
measure its collision geometry with these helpers and write the JSON files
that :mod:`.random_urdfs` and :mod:`.household` read at run time
(``python -m graspsim.objects.build_catalogues`` runs them).

Measurement: ``size`` is the extent of the collision geometry itself (mesh
vertices, analytic primitives), in metres. PyBullet's ``getAABB`` pads convex
meshes by a collision margin (3-4 mm per side, independent of scale), so it is
slightly larger than ``size``; the padding is not part of the object.
"""

from __future__ import annotations

import contextlib
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "data"


@contextlib.contextmanager
def direct_client():
    """A temporary DIRECT PyBullet client (yields its id)."""
    import pybullet as p

    client = p.connect(p.DIRECT)
    try:
        yield client
    finally:
        p.disconnect(physicsClientId=client)


def _rotation(quaternion) -> np.ndarray:
    x, y, z, w = quaternion
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def _primitive_half_extents(geom_type: int, dims, rot: np.ndarray) -> np.ndarray:
    """World-axis half extents of a primitive with local rotation ``rot`` (metres)."""
    import pybullet as p

    if geom_type == p.GEOM_BOX:  # dims: full extents
        return np.abs(rot) @ (np.asarray(dims[:3]) / 2)
    if geom_type == p.GEOM_SPHERE:  # dims[0]: radius
        return np.full(3, dims[0])
    axis = rot[:, 2]  # cylinders and capsules lie along their local z
    length, radius = dims[0], dims[1]
    if geom_type == p.GEOM_CAPSULE:  # length excludes the caps
        return np.abs(axis) * length / 2 + radius
    if geom_type == p.GEOM_CYLINDER:
        return np.abs(axis) * length / 2 + radius * np.sqrt(np.clip(1 - axis**2, 0.0, 1.0))
    raise ValueError(f"cannot measure collision geometry of type {geom_type}")


def body_bounds(client: int, body: int) -> tuple[np.ndarray, np.ndarray]:
    """World-frame (lower, upper) corners of a body's collision geometry (metres).

    The base link is measured exactly (mesh vertices from ``getMeshData``,
    primitives analytically); further links of articulated bodies fall back on
    PyBullet's padded ``getAABB``. Raises ValueError when the body has no
    collision geometry.
    """
    import pybullet as p

    base_pos, base_orn = p.getBasePositionAndOrientation(body, physicsClientId=client)
    base_rot, base_pos = _rotation(base_orn), np.asarray(base_pos)
    shapes = p.getCollisionShapeData(body, -1, physicsClientId=client)
    los, his = [], []
    for index, shape in enumerate(shapes):
        geom_type, dims, pos, orn = shape[2], shape[3], shape[5], shape[6]
        if geom_type == p.GEOM_MESH:
            # Vertices come in the base (centre-of-mass) frame, shape frame applied.
            # A single shape may be a compound of hulls: index -1 returns them all.
            _, verts = p.getMeshData(body, -1, -1 if len(shapes) == 1 else index, physicsClientId=client)
            verts = np.asarray(verts, dtype=float).reshape(-1, 3)
            if len(verts) < 4 or not np.isfinite(verts).all() or np.abs(verts).max() > 1e6:
                raise ValueError(f"degenerate collision mesh {Path(shape[4].decode(errors='replace')).name!r} (NaN or too few vertices)")
            world = verts @ base_rot.T + base_pos
            los.append(world.min(0))
            his.append(world.max(0))
        elif geom_type == p.GEOM_PLANE:
            raise ValueError("a plane has no finite extent")
        else:
            rot = base_rot @ _rotation(orn)
            centre = base_rot @ np.asarray(pos) + base_pos
            half = _primitive_half_extents(geom_type, dims, rot)
            los.append(centre - half)
            his.append(centre + half)
    for link in range(p.getNumJoints(body, physicsClientId=client)):
        if p.getCollisionShapeData(body, link, physicsClientId=client):
            lo, hi = p.getAABB(body, link, physicsClientId=client)
            los.append(np.asarray(lo))
            his.append(np.asarray(hi))
    if not los:
        raise ValueError("the body has no collision geometry")
    lo, hi = np.min(los, axis=0), np.max(his, axis=0)
    if (hi - lo).min() <= 1e-6:
        raise ValueError(f"the collision geometry is flat or empty (extents {(hi - lo).tolist()} m)")
    return lo, hi


def body_extents(client: int, body: int) -> tuple[float, float, float]:
    """Axis-aligned extents (x, y, z) of a body's collision geometry (metres)."""
    lo, hi = body_bounds(client, body)
    return tuple(float(e) for e in hi - lo)


def urdf_colour(path: str | Path) -> tuple[float, float, float, float] | None:
    """The first ``<color rgba=...>`` of a URDF, or None when it has none."""
    root = ET.parse(path).getroot()
    for colour in root.iter("color"):
        rgba = colour.get("rgba")
        if rgba:
            values = tuple(float(v) for v in rgba.split())
            if len(values) == 4:
                return values
    return None


def urdf_mass(path: str | Path) -> float | None:
    """The mass (kg) the URDF declares for its root link, or None when it declares none."""
    root = ET.parse(path).getroot()
    children = {joint.find("child").get("link") for joint in root.iter("joint") if joint.find("child") is not None}
    for link in root.iter("link"):
        if link.get("name") in children:
            continue
        mass = link.find("inertial/mass")
        if mass is not None and mass.get("value") is not None:
            return float(mass.get("value"))
        return None
    return None


def rounded(values, digits: int = 5) -> list[float]:
    """Values rounded for the JSON catalogues (5 digits: 0.01 mm)."""
    return [round(float(v), digits) for v in values]


def write_catalogue(path: str | Path, meta: dict, entries: list[dict]) -> Path:
    """Write a catalogue JSON: sorted keys, compact, one entry per line."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dump = lambda obj: json.dumps(obj, sort_keys=True, separators=(",", ":"))  # noqa: E731
    lines = ",\n".join(dump(e) for e in entries)
    text = '{"meta":' + dump(meta) + ',\n"objects":[\n' + lines + "\n]}\n"
    json.loads(text)  # never write something unreadable
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return path


def read_catalogue(path: str | Path) -> tuple[dict, list[dict]]:
    """Read a catalogue JSON written by :func:`write_catalogue`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"object catalogue {path} is missing; build it with `python -m graspsim.objects.build_catalogues`"
        )
    data = json.loads(path.read_text())
    return data["meta"], data["objects"]

"""Wavefront OBJ text for meshes of convex pieces, and atomic file writes.

:func:`collision_obj` writes one ``o`` group per convex piece (PyBullet makes
one convex hull of each group); :func:`visual_obj` one smoothed mesh with
``vt`` texture coordinates from a box projection. Shared by the procedural set
and the UV'd copies of mesh assets (:mod:`.uv_meshes`).
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import numpy as np


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


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename,
    so a reader never sees a half-written file (the folder is created when missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise



"""Texture coordinates for visual meshes that have none, so procedural textures show on them.

PyBullet's TinyRenderer samples a texture at each vertex's UV coordinate; an
OBJ without ``vt`` lines (pybullet_data's random URDFs, many user meshes)
samples one texel everywhere and a texture looks like a flat colour.
:func:`uv_visual_source` returns, for an object's source file, a copy whose
*visual* meshes carry box-projected UVs (per face: the two coordinates across
its dominant normal axis, divided by the mesh's largest extent, so the texture
spans the object about once); a URDF copy points its visual meshes at those
copies and its collision meshes (and every other file) at the original files,
so loading the copy gives the same physics. Files that already have UVs, and
sources that are not ``.urdf`` / ``.obj`` / ``.stl``, are returned unchanged.
Copies are cached under ``$GRASPSIM_CACHE/uv_meshes`` (default
``~/.cache/graspsim/uv_meshes``), content-addressed and written atomically.
"""

from __future__ import annotations

import hashlib
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from .obj_files import write_atomic

#: Bumped when the UV projection or the copy layout changes (part of the cache key).
UV_VERSION = 1


def uv_cache_dir() -> Path:
    """``$GRASPSIM_CACHE/uv_meshes`` (default ``~/.cache/graspsim/uv_meshes``): the root of
    :func:`graspsim.objects.mesh_folder.cache_dir` (not imported: mesh_folder imports the catalogue)."""
    root = os.environ.get("GRASPSIM_CACHE")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "graspsim"
    return base / "uv_meshes"


def _key(*parts: bytes) -> str:
    h = hashlib.sha256(f"uv{UV_VERSION}".encode())
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()[:20]


def _obj_with_uvs(text: str) -> str | None:
    """The OBJ ``text`` with box-projected ``vt`` per face corner, or None when it already has UVs."""
    lines = text.splitlines()
    if any(line.startswith("vt ") for line in lines):
        return None
    verts = []
    for line in lines:
        if line.startswith("v "):
            verts.append([float(x) for x in line.split()[1:4]])
    if not verts:
        return None
    v = np.asarray(verts)
    lo, span = v.min(axis=0), float(np.ptp(v, axis=0).max()) or 1.0
    out, uvs = [], []
    for line in lines:
        if line.startswith(("vt ", "mtllib", "usemtl")):
            continue
        if not line.startswith("f "):
            out.append(line)
            continue
        corners = []
        for token in line.split()[1:]:
            parts = token.split("/")
            vi = int(parts[0])
            vi = vi - 1 if vi > 0 else len(verts) + vi
            vn = parts[2] if len(parts) > 2 else ""
            corners.append((vi, vn))
        p = v[[c[0] for c in corners]]
        normal = np.cross(p[1] - p[0], p[2] - p[0]) if len(p) >= 3 else np.zeros(3)
        axis = int(np.argmax(np.abs(normal)))
        a, b = [(1, 2), (0, 2), (0, 1)][axis]
        tokens = []
        for (vi, vn), q in zip(corners, p):
            uvs.append(((q[a] - lo[a]) / span, (q[b] - lo[b]) / span))
            tokens.append(f"{vi + 1}/{len(uvs)}" + (f"/{vn}" if vn else ""))
        out.append("f " + " ".join(tokens))
    vt = [f"vt {u:.6f} {w:.6f}" for u, w in uvs]
    return "\n".join(vt + out) + "\n"


def uv_obj(path: str | os.PathLike) -> Path:
    """An OBJ (or STL, converted) with texture coordinates: ``path`` itself when it has them."""
    path = Path(path)
    data = path.read_bytes()
    if path.suffix.lower() == ".stl":
        import trimesh

        mesh = trimesh.load(str(path), force="mesh", process=False)
        text = "".join(f"v {x:.9g} {y:.9g} {z:.9g}\n" for x, y, z in mesh.vertices)
        text += "".join(f"f {a + 1} {b + 1} {c + 1}\n" for a, b, c in mesh.faces)
    else:
        text = data.decode("utf-8", errors="replace")
    target = uv_cache_dir() / _key(data, path.suffix.encode()) / f"{path.stem}.obj"
    if target.is_file():
        return target
    converted = _obj_with_uvs(text)
    if converted is None:
        if path.suffix.lower() == ".obj":
            return path
        converted = text
    write_atomic(target, converted)
    return target


def uv_urdf(path: str | os.PathLike) -> Path:
    """A copy of the URDF whose visual meshes have UVs (see the module docstring), or
    ``path`` itself when they all have them already."""
    path = Path(path).resolve()
    data = path.read_bytes()
    target = uv_cache_dir() / _key(data, str(path).encode()) / path.name
    if target.is_file():
        return target
    tree = ET.ElementTree(ET.fromstring(data))
    changed = False
    for element in tree.iter():
        filename = element.get("filename")
        if filename is None or filename.startswith("package://"):
            continue
        original = (path.parent / filename).resolve()
        element.set("filename", str(original))
        if element.tag == "mesh" and _is_visual_mesh(tree, element) and original.suffix.lower() in (".obj", ".stl"):
            copy = uv_obj(original)
            if copy != original:
                element.set("filename", str(copy))
                changed = True
    if not changed:
        return path
    write_atomic(target, ET.tostring(tree.getroot(), encoding="unicode"))
    return target


def _is_visual_mesh(tree: ET.ElementTree, mesh: ET.Element) -> bool:
    for visual in tree.iter("visual"):
        if any(e is mesh for e in visual.iter("mesh")):
            return True
    return False


def uv_visual_source(source: str) -> str:
    """For an object's ``source`` file: the same file, or a copy whose visual meshes
    carry UVs (``.urdf``, ``.obj``, ``.stl``); anything else is returned unchanged."""
    suffix = Path(source).suffix.lower()
    if suffix == ".urdf":
        return str(uv_urdf(source))
    if suffix in (".obj", ".stl") and Path(source).is_file():
        return str(uv_obj(source))
    return source

"""A user's folder of ``.urdf``, ``.obj`` or ``.stl`` files as an object set.

``get_object_set("/path/to/folder")`` builds a :class:`MeshFolderSet`.

Layout: files directly in the folder get the category "mesh"; files one
level down, in sub-folders per category (``folder/mugs/blue_mug.obj``), get
the sub-folder's name as category. Deeper files are ignored, and so are meshes
that a URDF of the folder references. An object's name is its file stem with
``_`` and ``-`` replaced by spaces ("blue_mug.obj" -> "blue mug").

Units: mesh coordinates are read as metres; with ``size_range`` (default
4-8 cm) each object gets a catalogue scale that brings its largest extent into
the range, which also rescues meshes authored in millimetres.

Meshes get a convex decomposition (``pybullet.vhacd``) for collisions, cached
on disk under ``$GRASPSIM_CACHE/vhacd`` (default ``~/.cache/graspsim/vhacd``),
keyed by the file's sha256 and the V-HACD parameters. Their body frame is the
centre of their bounding box, their mass ``mass`` (kg, default 0.1). URDFs are
loaded as they are, with their own mass (``mass`` when they declare none).

Every file is read, measured and decomposed when the set is built, so a broken
file raises ValueError (naming the file) at once rather than mid-run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from .catalogue import ObjectInfo, ObjectSet

MESH_SUFFIXES = (".obj", ".stl")
URDF_SUFFIX = ".urdf"
#: V-HACD settings (see ``pybullet.vhacd``); callers may override any of them.
DEFAULT_VHACD_PARAMS = {"resolution": 100_000, "concavity": 0.0025, "maxNumVerticesPerCH": 64}
#: Bumped when the cache layout or the mesh normalisation changes.
CACHE_VERSION = 1


def cache_dir() -> Path:
    """The V-HACD cache folder: ``$GRASPSIM_CACHE/vhacd`` or ``~/.cache/graspsim/vhacd``."""
    root = os.environ.get("GRASPSIM_CACHE")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "graspsim"
    return base / "vhacd"


def object_name(path: str | Path) -> str:
    """The object name for a file: its stem with ``_`` and ``-`` replaced by spaces."""
    return " ".join(Path(path).stem.replace("_", " ").replace("-", " ").split())


def split_of(name: str, test_fraction: float) -> str:
    """Deterministic split: "test" when sha256(name) mod 100 < 100 * test_fraction."""
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()
    return "test" if int(digest, 16) % 100 < test_fraction * 100 else "train"


def fit_scale(extents, size_range: tuple[float, float] | None) -> float:
    """The scale that brings the largest extent into ``size_range`` (1.0 when inside it or None)."""
    if size_range is None:
        return 1.0
    lo, hi = size_range
    largest = max(extents)
    if largest > hi:
        return hi / largest
    if largest < lo:
        return lo / largest
    return 1.0


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def _quiet_stdout():
    """Silence C-level writes to stdout (V-HACD prints its progress there)."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no real stdout
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def _run_vhacd(obj_in: str, obj_out: str, log: str, params: dict) -> None:
    """Run ``pybullet.vhacd`` quietly (a separate function so tests can count calls)."""
    import pybullet as p

    with _quiet_stdout():
        p.vhacd(obj_in, obj_out, log, **params)


def load_mesh(path: str | Path):
    """Read a mesh with trimesh and check it; raises ValueError naming ``path``."""
    import numpy as np
    import trimesh

    try:
        mesh = trimesh.load(str(path), force="mesh")
    except Exception as exc:
        raise ValueError(f"{path}: cannot read mesh ({type(exc).__name__}: {exc})") from exc
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.vertices) == 0 or len(mesh.faces) == 0:
        raise ValueError(f"{path}: not a usable mesh (no vertices or faces)")
    if not np.isfinite(mesh.vertices).all():
        raise ValueError(f"{path}: mesh has non-finite vertex coordinates")
    if mesh.extents.min() <= 1e-6:
        raise ValueError(f"{path}: mesh is flat or degenerate (extents {mesh.extents.tolist()} m)")
    return mesh


def vhacd_cached(path: str | Path, params: dict | None = None, mesh=None) -> Path:
    """The convex decomposition of mesh file ``path`` (an .obj in the cache).

    Computed once per (file content, parameters) and then reused. ``mesh`` is
    the file already read by :func:`load_mesh`, to avoid reading it twice.
    Writes are atomic (temporary file, then ``os.replace``).
    """
    params = {**DEFAULT_VHACD_PARAMS, **(params or {})}
    key_text = json.dumps({"sha256": file_sha256(path), "vhacd": params, "v": CACHE_VERSION}, sort_keys=True)
    key = hashlib.sha256(key_text.encode()).hexdigest()
    folder = cache_dir()
    target = folder / f"{key}.obj"
    if target.is_file() and target.stat().st_size > 0:
        return target
    folder.mkdir(parents=True, exist_ok=True)
    if mesh is None:
        mesh = load_mesh(path)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".tmp-") as tmp:
        # V-HACD reads OBJ only: hand it the mesh as trimesh read it (also for .stl).
        mesh_in, mesh_out = os.path.join(tmp, "in.obj"), os.path.join(tmp, "out.obj")
        mesh.export(mesh_in, file_type="obj", include_normals=False, include_texture=False)
        _run_vhacd(mesh_in, mesh_out, os.path.join(tmp, "vhacd.log"), params)
        if not os.path.isfile(mesh_out) or os.path.getsize(mesh_out) == 0:
            raise ValueError(f"{path}: V-HACD convex decomposition failed")
        os.replace(mesh_out, target)
    return target


def _urdf_meshes(urdf: Path) -> set[Path]:
    """The mesh files a URDF references (resolved; ``package://`` paths skipped).

    Raises ValueError for unparsable XML, a missing <robot>/<link> or a
    referenced mesh file that does not exist.
    """
    try:
        root = ET.parse(urdf).getroot()
    except (ET.ParseError, OSError) as exc:
        raise ValueError(f"{urdf}: malformed URDF ({exc})") from exc
    if root.tag != "robot" or root.find("link") is None:
        raise ValueError(f"{urdf}: malformed URDF (expected a <robot> with at least one <link>)")
    meshes = set()
    for mesh in root.iter("mesh"):
        name = mesh.get("filename", "")
        if name and "://" not in name:
            mesh_path = (urdf.parent / name).resolve()
            if not mesh_path.is_file():
                raise ValueError(f"{urdf}: malformed URDF (mesh file {name!r} does not exist)")
            meshes.add(mesh_path)
    return meshes


def discover(folder: str | Path) -> list[tuple[Path, str]]:
    """The object files of ``folder`` with their categories, sorted by path.

    Raises ValueError when the folder is missing or holds no supported file.
    """
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise ValueError(f"{folder}: mesh folder does not exist (or is not a folder)")
    supported = (URDF_SUFFIX, *MESH_SUFFIXES)

    def files_in(d: Path) -> list[Path]:
        return sorted(f for f in d.iterdir() if f.is_file() and f.suffix.lower() in supported and not f.name.startswith("."))

    found = [(f, "mesh") for f in files_in(root)]
    for sub in sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")):
        found += [(f, object_name(sub)) for f in files_in(sub)]
    referenced = set()
    for f, _ in found:
        if f.suffix.lower() == URDF_SUFFIX:
            referenced |= _urdf_meshes(f)
    found = [(f, c) for f, c in found if f.suffix.lower() == URDF_SUFFIX or f.resolve() not in referenced]
    if not found:
        raise ValueError(
            f"{folder}: mesh folder holds no {', '.join(supported)} files (looked in it and its sub-folders)"
        )
    return found


class MeshFolderSet(ObjectSet):
    """A folder of meshes / URDFs as an object set (see the module docstring).

    path: the folder. size_range: (min, max) metres for the largest extent, or
    None to keep the files' own scale. mass: kg for meshes (and URDFs that
    declare no mass). test_fraction: the share of test objects (by name hash).
    vhacd_params: overrides of :data:`DEFAULT_VHACD_PARAMS`.
    """

    def __init__(
        self,
        path: str | Path,
        size_range: tuple[float, float] | None = (0.04, 0.08),
        mass: float = 0.1,
        test_fraction: float = 0.2,
        vhacd_params: dict | None = None,
    ):
        if size_range is not None and not (0 < size_range[0] <= size_range[1]):
            raise ValueError(f"size_range must be (min, max) with 0 < min <= max, got {size_range!r}")
        if not mass > 0:
            raise ValueError(f"mass must be positive, got {mass!r}")
        if not 0.0 <= test_fraction <= 1.0:
            raise ValueError(f"test_fraction must be in [0, 1], got {test_fraction!r}")
        self.path = Path(path).expanduser()
        if self.path.exists():
            self.path = self.path.resolve()
        self.name = str(self.path)
        self.size_range = tuple(size_range) if size_range is not None else None
        self.mass = mass
        self.test_fraction = test_fraction
        self.vhacd_params = {**DEFAULT_VHACD_PARAMS, **(vhacd_params or {})}
        self.objects()  # validate every file now

    def _catalogue(self) -> list[ObjectInfo]:
        files = discover(self.path)
        names: dict[str, Path] = {}
        for f, _ in files:
            name = object_name(f)
            if not name:
                raise ValueError(f"{f}: file name gives an empty object name")
            if name in names:
                raise ValueError(f"{f}: object name {name!r} is also used by {names[name]}")
            names[name] = f
        urdfs = [f for f, _ in files if f.suffix.lower() == URDF_SUFFIX]
        measured = self._measure_urdfs(urdfs) if urdfs else {}
        infos = []
        for f, category in files:
            name = object_name(f)
            if f.suffix.lower() == URDF_SUFFIX:
                raw, mass, colour, extra = measured[f]
            else:
                raw, mass, colour, extra = self._measure_mesh(f)
            scale = round(fit_scale(raw, self.size_range), 6)
            infos.append(
                ObjectInfo(
                    name=name,
                    category=category,
                    split=split_of(name, self.test_fraction),
                    size=tuple(round(e * scale, 6) for e in raw),
                    mass=mass,
                    scale=scale,
                    colour=colour,
                    source=str(f),
                    extra={**extra, "raw_size": tuple(round(e, 7) for e in raw)},
                )
            )
        return sorted(infos, key=lambda o: o.name)

    def _measure_mesh(self, path: Path):
        mesh = load_mesh(path)
        collision = vhacd_cached(path, self.vhacd_params, mesh)
        lo, hi = mesh.bounds
        centre = (lo + hi) / 2
        com = mesh.center_mass if mesh.is_watertight and mesh.volume > 0 else centre
        extra = {"kind": "mesh", "collision": str(collision), "centre": tuple(centre.tolist()), "com": tuple(com.tolist())}
        return tuple(float(e) for e in mesh.extents), self.mass, None, extra

    def _measure_urdfs(self, urdfs: list[Path]) -> dict:
        import pybullet as p

        from .measure import body_extents, direct_client, urdf_colour, urdf_mass

        out = {}
        with direct_client() as client:
            for urdf in urdfs:
                try:
                    with _quiet_stdout():
                        body = p.loadURDF(str(urdf), physicsClientId=client)
                except p.error as exc:
                    raise ValueError(f"{urdf}: malformed URDF, pybullet cannot load it ({exc})") from exc
                try:
                    raw = body_extents(client, body)
                except ValueError as exc:
                    raise ValueError(f"{urdf}: unusable URDF ({exc})") from exc
                p.removeBody(body, physicsClientId=client)
                if min(raw) <= 1e-6:
                    raise ValueError(f"{urdf}: URDF collision geometry is flat or degenerate (extents {list(raw)} m)")
                declared = urdf_mass(urdf)
                mass = declared if declared and declared > 0 else self.mass
                out[urdf] = (raw, mass, urdf_colour(urdf), {"kind": "urdf"})
        return out

    def _load(self, info: ObjectInfo, client: int, scale: float) -> int:
        import pybullet as p

        s = info.scale * scale
        if info.extra["kind"] == "urdf":
            body = p.loadURDF(info.source, globalScaling=s, physicsClientId=client)
            mass = info.mass * scale**3
            if abs(p.getDynamicsInfo(body, -1, physicsClientId=client)[0] - mass) > 1e-9:
                p.changeDynamics(body, -1, mass=mass, physicsClientId=client)
            return body
        centre = [-c * s for c in info.extra["centre"]]
        com = [(m - c) * s for m, c in zip(info.extra["com"], info.extra["centre"])]
        col = p.createCollisionShape(
            p.GEOM_MESH,
            fileName=info.extra["collision"],
            meshScale=[s, s, s],
            collisionFramePosition=centre,
            physicsClientId=client,
        )
        vis = p.createVisualShape(
            p.GEOM_MESH, fileName=info.source, meshScale=[s, s, s], visualFramePosition=centre, physicsClientId=client
        )
        if col < 0:
            raise ValueError(f"{info.source}: pybullet cannot create a collision shape from {info.extra['collision']}")
        return p.createMultiBody(
            baseMass=info.mass * scale**3,
            baseCollisionShapeIndex=col,
            baseVisualShapeIndex=vis,
            baseInertialFramePosition=com,
            physicsClientId=client,
        )

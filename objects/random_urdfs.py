"""`random-urdfs`: the 1000 procedural objects of ``pybullet_data/random_urdfs``.

Each object ``NNN`` is ``random_urdfs/NNN/NNN.urdf``: a random blob of about
10 cm, 0.1 kg, one flat colour. Its name is "object NNN" and its category
"procedural". The split is fixed: ids whose last digit is 0 are test objects,
the others train. A few assets are unusable (one OBJ has only NaN vertices,
four are sub-centimetre flakes thinner than 1 mm at the catalogue scale): the
catalogue builder leaves them out and lists them under "skipped" in the JSON,
so the set holds slightly fewer than 1000 objects.

The catalogue scale is min(0.6, 6.5 cm / middle of the three raw extents), so
that a gripper opening 8 cm can span each object (most objects get 0.6). Sizes and scales come from ``data/random_urdfs.json``, measured by
:func:`build_catalogue` (``python -m graspsim.objects.build_catalogues``).
"""

from __future__ import annotations

from pathlib import Path

from .catalogue import ObjectInfo, ObjectSet

N_OBJECTS = 1000
#: The middle extent (metres) that the catalogue scale aims for.
TARGET_MIDDLE_EXTENT = 0.065
MAX_SCALE = 0.6
#: Objects thinner than this at the catalogue scale (metres) are left out.
MIN_EXTENT = 0.001
DATA_FILE = Path(__file__).resolve().parent / "data" / "random_urdfs.json"


def object_id(index: int) -> str:
    """The three-digit id of object ``index`` (0 <= index < 1000)."""
    if not 0 <= index < N_OBJECTS:
        raise ValueError(f"random URDF index must be in [0, {N_OBJECTS}), got {index!r}")
    return f"{index:03d}"


def relative_path(index: int) -> str:
    """Path of object ``index``'s URDF inside pybullet_data."""
    oid = object_id(index)
    return f"random_urdfs/{oid}/{oid}.urdf"


def split_of(index: int) -> str:
    """The fixed split: "test" when the id's last digit is 0, else "train"."""
    return "test" if index % 10 == 0 else "train"


def catalogue_scale(raw_extents) -> float:
    """min(0.6, 0.065 m / middle raw extent), rounded to 4 decimals."""
    middle = sorted(raw_extents)[1]
    return round(min(MAX_SCALE, TARGET_MIDDLE_EXTENT / middle), 4)


def build_catalogue(out_path: str | Path | None = None) -> Path:
    """Load every random URDF, measure it and write the catalogue JSON.

    Returns the path written (``data/random_urdfs.json`` by default).
    """
    import pybullet as p
    import pybullet_data

    from .measure import body_extents, direct_client, rounded, urdf_colour, write_catalogue

    root = Path(pybullet_data.getDataPath())
    entries, skipped = [], {}
    with direct_client() as client:
        for index in range(N_OBJECTS):
            path = root / relative_path(index)
            try:
                body = p.loadURDF(str(path), physicsClientId=client)
            except p.error as exc:
                skipped[object_id(index)] = f"does not load: {exc}"
                continue
            try:
                raw = body_extents(client, body)
            except ValueError as exc:  # e.g. an OBJ whose vertices are all NaN
                skipped[object_id(index)] = str(exc)
                raw = None
            mass = p.getDynamicsInfo(body, -1, physicsClientId=client)[0]
            p.removeBody(body, physicsClientId=client)
            if raw is None:
                continue
            scale = catalogue_scale(raw)
            if min(raw) * scale < MIN_EXTENT:
                skipped[object_id(index)] = f"a flake: extents {rounded(raw)} m at scale 1"
                continue
            colour = urdf_colour(path)
            entries.append(
                {
                    "id": object_id(index),
                    "file": relative_path(index),
                    "raw_size": rounded(raw),
                    "scale": scale,
                    "size": rounded(e * scale for e in raw),
                    "mass": round(mass, 5),
                    "colour": rounded(colour, 4) if colour else None,
                }
            )
    meta = {
        "set": "random-urdfs",
        "units": "metres, kilograms",
        "size": "collision-geometry extents at the catalogue scale",
        "generator": "python -m graspsim.objects.build_catalogues",
        "skipped": skipped,
    }
    return write_catalogue(out_path or DATA_FILE, meta, entries)


class RandomUrdfSet(ObjectSet):
    """The `random-urdfs` object set (see the module docstring)."""

    name = "random-urdfs"

    def __init__(self, data_file: str | Path | None = None):
        self._data_file = Path(data_file) if data_file else DATA_FILE

    def _catalogue(self) -> list[ObjectInfo]:
        import pybullet_data

        from .measure import read_catalogue

        root = Path(pybullet_data.getDataPath())
        _, entries = read_catalogue(self._data_file)
        infos = []
        for entry in entries:
            index = int(entry["id"])
            infos.append(
                ObjectInfo(
                    name=f"object {entry['id']}",
                    category="procedural",
                    split=split_of(index),
                    size=tuple(entry["size"]),
                    mass=entry["mass"],
                    scale=entry["scale"],
                    colour=tuple(entry["colour"]) if entry["colour"] else None,
                    colour_name=None,
                    source=str(root / entry["file"]),
                    extra={"id": entry["id"], "raw_size": tuple(entry["raw_size"])},
                )
            )
        return infos

    def _load(self, info: ObjectInfo, client: int, scale: float) -> int:
        import pybullet as p

        body = p.loadURDF(info.source, globalScaling=info.scale * scale, physicsClientId=client)
        # globalScaling keeps the URDF mass: scale it with the volume, and only
        # when needed since changeDynamics drops the URDF's <inertia_scaling>.
        mass = info.mass * scale**3
        if abs(p.getDynamicsInfo(body, -1, physicsClientId=client)[0] - mass) > 1e-9:
            p.changeDynamics(body, -1, mass=mass, physicsClientId=client)
        return body

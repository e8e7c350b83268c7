"""`household`: named pybullet_data assets that a parallel-jaw gripper can pick.

The table :data:`ASSETS` is the whole hand-written part of the set: the name
(a text prompt), the URDF inside pybullet_data, the category, the catalogue
scale (chosen so that the smallest horizontal extent is at most about 6 cm),
the split, and a colour word for untextured assets. Sizes, URDF masses and
colours are measured by :func:`build_catalogue` into ``data/household.json``
(``python -m graspsim.objects.build_catalogues``).

Masses are the URDF masses clamped to [0.03, 0.3] kg, so that a force-limited
gripper can hold every object (the mug URDF says 1 kg).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from .catalogue import ObjectInfo, ObjectSet

MIN_MASS, MAX_MASS = 0.03, 0.3
DATA_FILE = Path(__file__).resolve().parent / "data" / "household.json"


class Asset(NamedTuple):
    """One row of :data:`ASSETS`. ``colour_name`` is None for textured assets."""

    name: str
    file: str
    category: str
    scale: float
    split: str
    colour_name: str | None


# Sizes at these scales (x, y, z in cm, see data/household.json): duck 5.8 x 5.4 x 4.1,
# teddy bear 4.9 x 6.1 x 4.1, mug 4.9 x 7.3 x 6.0, lego brick 4.0 x 4.0 x 2.9,
# jenga block 15 x 5 x 3, small cube 5 x 5 x 5, small sphere 4.8, domino 1.0 x 3.8 x 7.6,
# wooden bar 10 x 1.8 x 1.8.
ASSETS: tuple[Asset, ...] = (  # fmt: skip
    #     name            file                  category  scale  split    colour_name
    Asset("duck",          "duck_vhacd.urdf",    "toy",    0.7,   "train", None),
    Asset("teddy bear",    "teddy_vhacd.urdf",   "toy",    0.65,  "test",  "pink"),
    Asset("mug",           "objects/mug.urdf",   "mug",    0.6,   "train", "red"),
    Asset("lego brick",    "lego/lego.urdf",     "toy",    1.25,  "test",  "yellow"),
    Asset("jenga block",   "jenga/jenga.urdf",   "block",  1.0,   "train", None),
    Asset("small cube",    "cube_small.urdf",    "block",  1.0,   "train", "white"),
    Asset("small sphere",  "sphere_small.urdf",  "ball",   0.8,   "train", None),
    Asset("domino",        "domino/domino.urdf", "block",  1.5,   "test",  None),
    Asset("wooden bar",    "block.urdf",         "block",  1.0,   "train", "green"),
)


def clamp_mass(mass: float) -> float:
    """The catalogue mass (kg) for a URDF mass: clamped to [0.03, 0.3]."""
    return round(min(MAX_MASS, max(MIN_MASS, mass)), 5)


def build_catalogue(out_path: str | Path | None = None) -> Path:
    """Load every asset of :data:`ASSETS`, measure it and write the catalogue JSON.

    Raises ValueError naming the asset when one fails to load. Returns the path
    written (``data/household.json`` by default).
    """
    import pybullet as p
    import pybullet_data

    from .measure import body_extents, direct_client, rounded, urdf_colour, write_catalogue

    root = Path(pybullet_data.getDataPath())
    entries = []
    with direct_client() as client:
        for asset in ASSETS:
            path = root / asset.file
            try:
                body = p.loadURDF(str(path), physicsClientId=client)
                raw = body_extents(client, body)
            except Exception as exc:  # pybullet.error or a body without collision geometry
                raise ValueError(f"household asset {asset.name!r} ({path}) does not load: {exc}") from exc
            mass = p.getDynamicsInfo(body, -1, physicsClientId=client)[0]
            p.removeBody(body, physicsClientId=client)
            colour = urdf_colour(path)
            entries.append(
                {
                    "name": asset.name,
                    "file": asset.file,
                    "raw_size": rounded(raw),
                    "scale": asset.scale,
                    "size": rounded(e * asset.scale for e in raw),
                    "urdf_mass": round(mass, 5),
                    "colour": rounded(colour, 4) if colour else None,
                }
            )
    meta = {
        "set": "household",
        "units": "metres, kilograms",
        "size": "collision-geometry extents at the catalogue scale",
        "generator": "python -m graspsim.objects.build_catalogues",
    }
    return write_catalogue(out_path or DATA_FILE, meta, entries)


class HouseholdSet(ObjectSet):
    """The `household` object set (see the module docstring)."""

    name = "household"

    def __init__(self, data_file: str | Path | None = None):
        self._data_file = Path(data_file) if data_file else DATA_FILE

    def _catalogue(self) -> list[ObjectInfo]:
        import pybullet_data

        from .measure import read_catalogue

        root = Path(pybullet_data.getDataPath())
        _, entries = read_catalogue(self._data_file)
        measured = {e["name"]: e for e in entries}
        infos = []
        for asset in ASSETS:
            entry = measured.get(asset.name)
            if entry is None or entry["file"] != asset.file or entry["scale"] != asset.scale:
                raise RuntimeError(
                    f"{self._data_file} is out of date for {asset.name!r}; rebuild it with "
                    "`python -m graspsim.objects.build_catalogues --only household`"
                )
            infos.append(
                ObjectInfo(
                    name=asset.name,
                    category=asset.category,
                    split=asset.split,
                    size=tuple(entry["size"]),
                    mass=clamp_mass(entry["urdf_mass"]),
                    scale=asset.scale,
                    colour=tuple(entry["colour"]) if asset.colour_name and entry["colour"] else None,
                    colour_name=asset.colour_name,
                    source=str(root / asset.file),
                    extra={"urdf_mass": entry["urdf_mass"], "raw_size": tuple(entry["raw_size"])},
                )
            )
        return infos

    def _load(self, info: ObjectInfo, client: int, scale: float) -> int:
        import pybullet as p

        body = p.loadURDF(info.source, globalScaling=info.scale * scale, physicsClientId=client)
        mass = info.mass * scale**3
        # Only when needed: changeDynamics recomputes the inertia and so drops
        # the URDF's <inertia_scaling>.
        if abs(p.getDynamicsInfo(body, -1, physicsClientId=client)[0] - mass) > 1e-9:
            p.changeDynamics(body, -1, mass=mass, physicsClientId=client)
        return body

"""Object sets for graspsim scenes.

``get_object_set(name_or_path)`` returns one of the built-in sets
("primitives", "random-urdfs", "household") or, for a folder path, a
:class:`~graspsim.objects.mesh_folder.MeshFolderSet` of the meshes in it.
Every set lists :class:`ObjectInfo` records (metres, kilograms) and loads
objects into a PyBullet client. Importing this package does not import
pybullet.
"""

from __future__ import annotations

import os
from pathlib import Path

from .catalogue import ObjectInfo, ObjectSet

#: The built-in object set names.
OBJECT_SETS = ("primitives", "random-urdfs", "household")

_CACHE: dict[str, ObjectSet] = {}


def _builtin(name: str) -> ObjectSet:
    if name == "primitives":
        from .primitives import PrimitiveSet

        return PrimitiveSet()
    if name == "random-urdfs":
        from .random_urdfs import RandomUrdfSet

        return RandomUrdfSet()
    from .household import HouseholdSet

    return HouseholdSet()


def _looks_like_path(value: str) -> bool:
    return os.sep in value or "/" in value or value.startswith(("~", ".")) or os.path.isdir(value)


def get_object_set(name_or_path: str) -> ObjectSet:
    """The object set called ``name_or_path`` (see :data:`OBJECT_SETS`), or a
    :class:`MeshFolderSet` when it is a folder path. Sets are built once and cached.

    Raises ValueError for an unknown name, and (from MeshFolderSet) for a
    missing or empty folder or a broken file in it.
    """
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise ValueError(f"object set must be a name or a folder path, got {name_or_path!r}")
    value = os.fspath(name_or_path)
    if value in OBJECT_SETS:
        key = value
    elif _looks_like_path(value):
        key = str(Path(value).expanduser().resolve())
    else:
        raise ValueError(
            f"unknown object set {value!r}: expected one of {', '.join(OBJECT_SETS)}, "
            "or the path of a folder of .urdf/.obj/.stl files"
        )
    if key not in _CACHE:
        if key in OBJECT_SETS:
            _CACHE[key] = _builtin(key)
        else:
            from .mesh_folder import MeshFolderSet

            _CACHE[key] = MeshFolderSet(value)
    return _CACHE[key]


__all__ = ["OBJECT_SETS", "ObjectInfo", "ObjectSet", "get_object_set"]

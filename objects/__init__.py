"""Object sets for graspsim scenes.

``get_object_set(name_or_path)`` returns a registered set (built in:
"primitives", "random-urdfs", "household"; ``register(name, factory)`` adds
one), for a folder path a :class:`~graspsim.objects.mesh_folder.MeshFolderSet`
of the meshes in it, or for ``"module:factory"`` a user's own set.
Every set lists :class:`ObjectInfo` records (metres, kilograms) and loads
objects into a PyBullet client. Importing this package does not import
pybullet.
"""

from __future__ import annotations

import os
from pathlib import Path

from typing import Callable

from graspsim.plugins import Registry

from .catalogue import ObjectInfo, ObjectSet

REGISTRY = Registry("object set")
_CACHE: dict[str, ObjectSet] = {}


def register(name: str, factory: Callable[[], ObjectSet]) -> None:
    """Register an object set: ``factory()`` returns the :class:`ObjectSet` called ``name``."""
    REGISTRY.register(name, factory)
    _CACHE.pop(name, None)


def available() -> tuple[str, ...]:
    """Names of the registered object sets, sorted."""
    return REGISTRY.available()


def _primitives() -> ObjectSet:
    from .primitives import PrimitiveSet

    return PrimitiveSet()


def _random_urdfs() -> ObjectSet:
    from .random_urdfs import RandomUrdfSet

    return RandomUrdfSet()


def _household() -> ObjectSet:
    from .household import HouseholdSet

    return HouseholdSet()


def _procedural() -> ObjectSet:
    from .procedural import ProceduralSet

    return ProceduralSet()


register("primitives", _primitives)
register("random-urdfs", _random_urdfs)
register("household", _household)
register("procedural", _procedural)
#: The built-in object set names.
OBJECT_SETS = ("primitives", "random-urdfs", "household", "procedural")


def _looks_like_path(value: str) -> bool:
    return (os.sep in value or "/" in value or value.startswith(("~", ".")) or os.path.isdir(value)) and ":" not in value


def get_object_set(name_or_path: str) -> ObjectSet:
    """The object set called ``name_or_path`` (a registered name, see :func:`available`),
    a :class:`MeshFolderSet` when it is a folder path, or ``"package.module:factory"`` /
    ``"file.py:factory"`` returning an :class:`ObjectSet`. Sets are built once and cached.

    Raises ValueError for an unknown name, and (from MeshFolderSet) for a
    missing or empty folder or a broken file in it.
    """
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise ValueError(f"object set must be a name or a folder path, got {name_or_path!r}")
    value = os.fspath(name_or_path)
    folder = False
    if value in REGISTRY or ":" in value:
        key = value
    elif _looks_like_path(value):
        key, folder = str(Path(value).expanduser().resolve()), True
    else:
        raise ValueError(
            f"unknown object set {value!r}: expected one of {', '.join(available())}, "
            "the path of a folder of .urdf/.obj/.stl files, or module:factory"
        )
    if key not in _CACHE:
        if not folder:
            built = REGISTRY.make(value)
            if not isinstance(built, ObjectSet):
                raise ValueError(f"object set {value!r}: the factory returned a {type(built).__name__}, not an ObjectSet")
            _CACHE[key] = built
        else:
            from .mesh_folder import MeshFolderSet

            _CACHE[key] = MeshFolderSet(value)
    return _CACHE[key]


__all__ = ["OBJECT_SETS", "REGISTRY", "ObjectInfo", "ObjectSet", "available", "get_object_set", "register"]

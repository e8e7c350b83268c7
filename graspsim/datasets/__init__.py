"""Grasp data sets: one sample type, loaders for public formats and our own.

>>> from graspsim.datasets import open_dataset
>>> ds = open_dataset("jacquard", "/data/Jacquard")
>>> sample = ds[0]            # GraspSample: rgb, depth, objects (rectangles, masks)

Formats (``DATASET_FORMATS``): cornell, jacquard, grasp-anything, ocid, sim
(the folders written by ``graspsim label``). Loaders are imported on first
use; ``register(fmt, loader)`` adds a format, ``"module:loader"`` names a
user's loader without registering it.
"""

from __future__ import annotations

import importlib
from typing import Callable

from graspsim.plugins import Registry

from graspsim.datasets.sample import GraspDataset, GraspObject, GraspSample, Item
from graspsim.datasets.splits import SPLIT_KINDS, kfold, split

REGISTRY = Registry("data set format")


def register(fmt: str, loader: Callable[..., GraspDataset]) -> None:
    """Register a data-set loader: ``loader(root, **kwargs)`` returns a :class:`GraspDataset`."""
    REGISTRY.register(fmt, loader)


def _lazy(module: str, name: str) -> Callable[..., GraspDataset]:
    def load(root, **kwargs) -> GraspDataset:
        return getattr(importlib.import_module(module), name)(root, **kwargs)

    load.__qualname__ = name
    return load


register("cornell", _lazy("graspsim.datasets.cornell", "CornellDataset"))
register("jacquard", _lazy("graspsim.datasets.jacquard", "JacquardDataset"))
register("grasp-anything", _lazy("graspsim.datasets.grasp_anything", "GraspAnythingDataset"))
register("ocid", _lazy("graspsim.datasets.ocid", "OcidGraspDataset"))
register("sim", _lazy("graspsim.datasets.sim", "SimDataset"))
#: The built-in formats.
DATASET_FORMATS = ("cornell", "jacquard", "grasp-anything", "ocid", "sim")


def open_dataset(fmt: str, root, **kwargs) -> GraspDataset:
    """Open the data set at ``root`` written in format ``fmt`` (a registered format,
    or ``"module:loader"`` / ``"file.py:loader"``)."""
    if not isinstance(fmt, str) or (fmt not in REGISTRY and ":" not in fmt):
        raise ValueError(f"data set format must be one of {REGISTRY.available()} or module:loader, got {fmt!r}")
    return REGISTRY.make(fmt, root, **kwargs)


__all__ = [
    "DATASET_FORMATS", "REGISTRY", "SPLIT_KINDS", "GraspDataset", "GraspObject", "GraspSample", "Item",
    "kfold", "open_dataset", "register", "split",
]

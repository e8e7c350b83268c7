"""Grasp data sets: one sample type, loaders for public formats and our own.

>>> from graspsim.datasets import open_dataset
>>> ds = open_dataset("jacquard", "/data/Jacquard")
>>> sample = ds[0]            # GraspSample: rgb, depth, objects (rectangles, masks)

Formats (``DATASET_FORMATS``): cornell, jacquard, grasp-anything, ocid, sim
(the folders written by ``graspsim label``). Loaders are imported on first
use.
"""

from __future__ import annotations

import importlib

from graspsim.datasets.sample import GraspDataset, GraspObject, GraspSample, Item
from graspsim.datasets.splits import SPLIT_KINDS, kfold, split

_LOADERS = {
    "cornell": "graspsim.datasets.cornell:CornellDataset",
    "jacquard": "graspsim.datasets.jacquard:JacquardDataset",
    "grasp-anything": "graspsim.datasets.grasp_anything:GraspAnythingDataset",
    "ocid": "graspsim.datasets.ocid:OcidGraspDataset",
    "sim": "graspsim.datasets.sim:SimDataset",
}
DATASET_FORMATS = tuple(_LOADERS)


def loader_class(fmt: str) -> type[GraspDataset]:
    if fmt not in _LOADERS:
        raise ValueError(f"data set format must be one of {DATASET_FORMATS}, got {fmt!r}")
    module, name = _LOADERS[fmt].split(":")
    return getattr(importlib.import_module(module), name)


def open_dataset(fmt: str, root, **kwargs) -> GraspDataset:
    """Open the data set at ``root`` written in format ``fmt``."""
    return loader_class(fmt)(root, **kwargs)


__all__ = [
    "DATASET_FORMATS", "SPLIT_KINDS", "GraspDataset", "GraspObject", "GraspSample", "Item",
    "kfold", "loader_class", "open_dataset", "split",
]

"""The one sample type every loader returns, and the dataset base class.

A :class:`GraspSample` is one image (RGB, optional depth) with its objects;
each :class:`GraspObject` carries its positive grasp rectangles (and
negatives, a mask, names, part masks and instructions where the data set
has them). Rectangles follow :mod:`graspsim.rectangles`: float64 (N, 5)
rows ``u, v, angle, opening, jaw`` in pixels of *this* image.

A :class:`GraspDataset` is a lazy sequence of samples: listing the files is
done when it is created (so a missing folder fails at once, with the
expected layout in the message), images are read in ``__getitem__``.
Splits work on *items*, (sample index, object key, object identity)
triples, so that image-wise and object-wise splits are the same code for
single-object and cluttered data sets (see :mod:`graspsim.datasets.splits`).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np


@dataclass
class GraspObject:
    """One object of a sample.

    key: unique within the sample (for example the mask index).
    identity: the object's identity across the data set, used by object-wise
        splits (Cornell object id, Jacquard object folder, catalogue name).
    grasps: (N, 5) positive rectangles; negatives: (M, 5) or None when the
        data set has none. mask: bool (H, W) or None.
    name / category: words for text prompts and classification ("" if unknown).
    parts: part name -> bool (H, W) mask (Grasp-Anything++).
    instructions: grasp instructions in words (Grasp-Anything++).
    """

    key: str
    identity: str
    grasps: np.ndarray
    negatives: np.ndarray | None = None
    mask: np.ndarray | None = None
    name: str = ""
    category: str = ""
    parts: dict[str, np.ndarray] = field(default_factory=dict)
    instructions: list[str] = field(default_factory=list)


@dataclass
class GraspSample:
    """One image and its objects.

    rgb: uint8 (H, W, 3). depth: float32 (H, W) in metres, or None; missing
    depth is 0. meta: loader-specific facts (source files, camera, ...).
    """

    id: str
    rgb: np.ndarray
    depth: np.ndarray | None
    objects: list[GraspObject]
    meta: dict = field(default_factory=dict)

    def object(self, key: str) -> GraspObject:
        for o in self.objects:
            if o.key == key:
                return o
        raise KeyError(f"sample {self.id!r} has no object {key!r} (objects: {[o.key for o in self.objects]})")


class Item(NamedTuple):
    """One (image, object) pair of a data set: the unit of splits and training."""

    sample: int
    key: str
    identity: str


class GraspDataset(abc.ABC):
    """Base class of the loaders: subclasses fill ``self.ids`` and
    ``self._objects`` (per sample: list of (key, identity)) in ``__init__``
    and implement ``load(i)``."""

    format: str = ""
    #: the folder layout, shown when the root does not match it
    layout: str = ""

    def __init__(self, root):
        self.root = Path(root)
        if not self.root.is_dir():
            raise ValueError(self.layout_error(f"data set folder {str(self.root)!r} does not exist"))
        self.ids: list[str] = []
        self._objects: list[list[tuple[str, str]]] = []

    def layout_error(self, problem: str) -> str:
        return f"{problem}; a {self.format} data set is laid out as:\n{self.layout.rstrip()}"

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> GraspSample:
        if not isinstance(i, (int, np.integer)):
            raise TypeError(f"sample index must be an integer, got {type(i).__name__}")
        if not -len(self) <= i < len(self):
            raise IndexError(f"sample index {i} out of range for a data set of {len(self)} samples")
        return self.load(int(i) % len(self))

    def __iter__(self):
        for i in range(len(self)):
            yield self.load(i)

    @abc.abstractmethod
    def load(self, i: int) -> GraspSample:
        """Read sample ``i`` (0 <= i < len) from disk."""

    def items(self) -> list[Item]:
        """Every (sample, object) pair, in order."""
        return [Item(i, key, ident) for i, objs in enumerate(self._objects) for key, ident in objs]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.root)!r}, samples={len(self)})"

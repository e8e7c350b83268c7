"""The object catalogue: what an object set offers and how its objects are loaded.

Every object set (procedural primitives, pybullet_data's random URDFs and
household meshes, a user's folder of meshes) exposes the same interface:
a sorted list of :class:`ObjectInfo` records and a ``load`` method that puts
one object into a PyBullet client.

Conventions: lengths in metres, masses in kilograms, colours as RGBA in [0, 1].
``size`` is the axis-aligned extent (x, y, z) of the object in its rest
orientation at its catalogue ``scale``; loading with ``scale=s`` multiplies the
catalogue scale by ``s``.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

SPLITS = ("train", "test")
SPLIT_CHOICES = ("all", "train", "test")

#: Surface properties shared by every object, chosen so that a force-limited
#: parallel-jaw gripper holds a light object (see graspsim.sim.gripper).
LATERAL_FRICTION = 1.0
SPINNING_FRICTION = 0.002
ROLLING_FRICTION = 0.0005


@dataclass(frozen=True)
class ObjectInfo:
    """One catalogue entry.

    name: unique within its set and usable as a text prompt ("red cylinder").
    category: coarse class ("cylinder", "mug", "procedural", ...).
    split: "train" or "test".
    size: extents (x, y, z) in metres at the catalogue scale, rest orientation.
    mass: kilograms.
    scale: the scale at which the source asset is loaded by default.
    colour: RGBA in [0, 1], or None when the asset is textured.
    colour_name: a word for the colour ("red"), or None.
    source: where the asset comes from (a file path or "procedural").
    """

    name: str
    category: str
    split: str
    size: tuple[float, float, float]
    mass: float
    scale: float = 1.0
    colour: tuple[float, float, float, float] | None = None
    colour_name: str | None = None
    source: str = "procedural"
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self):
        if self.split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {self.split!r} for object {self.name!r}")
        if self.mass <= 0:
            raise ValueError(f"mass must be positive, got {self.mass!r} for object {self.name!r}")


class ObjectSet(abc.ABC):
    """A named collection of objects that can be loaded into PyBullet."""

    name: str

    @abc.abstractmethod
    def _catalogue(self) -> list[ObjectInfo]:
        """All objects of the set (any order; :meth:`objects` sorts them)."""

    @abc.abstractmethod
    def _load(self, info: ObjectInfo, client: int, scale: float) -> int:
        """Create the body for ``info`` at the origin and return its body id."""

    def objects(self, split: str = "all") -> list[ObjectInfo]:
        """The objects of ``split`` ("all", "train" or "test"), sorted by name."""
        if split not in SPLIT_CHOICES:
            raise ValueError(f"split must be one of {SPLIT_CHOICES}, got {split!r}")
        if not hasattr(self, "_sorted_cache"):
            self._sorted_cache = sorted(self._catalogue(), key=lambda o: o.name)
            self._by_name = {o.name: o for o in self._sorted_cache}
        return [o for o in self._sorted_cache if split == "all" or o.split == split]

    def get(self, name: str) -> ObjectInfo:
        """The catalogue entry called ``name``."""
        self.objects()
        try:
            return self._by_name[name]
        except KeyError:
            raise ValueError(f"object {name!r} is not in object set {self.name!r}") from None

    def load(self, client: int, name: str, scale: float = 1.0, uv_visuals: bool = False) -> int:
        """Load object ``name`` into PyBullet client ``client`` at the origin.

        ``scale`` multiplies the catalogue scale. Returns the body id. The body
        gets the shared friction settings. ``uv_visuals``: load visual meshes
        that lack texture coordinates from a copy that has them
        (:mod:`graspsim.objects.uv_meshes`; the physics is the same), so that a
        procedural texture shows; for sources that are not .urdf/.obj/.stl
        files it changes nothing.
        """
        import pybullet as p

        if not (scale > 0):
            raise ValueError(f"scale must be positive, got {scale!r}")
        info = self.get(name)
        if uv_visuals:
            from dataclasses import replace

            from .uv_meshes import uv_visual_source

            source = uv_visual_source(info.source)
            if source != info.source:
                info = replace(info, source=source)
        body = self._load(info, client, scale)
        p.changeDynamics(
            body,
            -1,
            lateralFriction=LATERAL_FRICTION,
            spinningFriction=SPINNING_FRICTION,
            rollingFriction=ROLLING_FRICTION,
            physicsClientId=client,
        )
        return body

    def __repr__(self) -> str:
        return f"<ObjectSet {self.name!r}: {len(self.objects())} objects>"

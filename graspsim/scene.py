"""Scene specs: the serialisable description of a scene, and suite files.

A :class:`SceneSpec` lists the objects of a scene with their settled poses;
:func:`graspsim.sim.scene_builder.build_scene` puts exactly those poses into a
world, so a scene saved to a file (a *suite*) rebuilds the same world for
everyone; :func:`graspsim.sim.scene_builder.generate_scene` makes new ones.
A spec may carry an :class:`graspsim.appearance.SceneAppearance`
(``appearance``: object colours and textures, table, light, camera height);
``None`` is the catalogue appearance, and such specs serialise exactly as
before appearance existed. This module is data only (no physics).
Layouts (``LAYOUTS``): ``single``, ``pile``, ``packed`` (see the scene builder).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from graspsim.appearance import SceneAppearance
from graspsim.labels import ObjectLabels

LAYOUTS = ("single", "pile", "packed")
DEFAULT_OBJECT_COUNT = {"single": (1, 1), "pile": (3, 5), "packed": (3, 5)}
SPEC_VERSION = 1


@dataclass(frozen=True)
class ObjectPlacement:
    """One object of a scene: catalogue name, scale factor, settled centre-of-mass
    position (m) and quaternion (x, y, z, w)."""

    name: str
    scale: float
    position: tuple[float, float, float]
    orientation: tuple[float, float, float, float]


@dataclass(frozen=True)
class SceneSpec:
    """Everything needed to rebuild a scene bit for bit.

    ``labels`` (optional, not part of equality) maps object index to its
    simulated-trial ground truth (:class:`graspsim.labels.ObjectLabels`);
    suites written by ``graspsim label`` carry them.
    ``appearance`` (optional, part of equality): a
    :class:`graspsim.appearance.SceneAppearance` with one entry per object
    (same order), or None for the catalogue appearance (catalogue colours,
    today's table, light and camera). ``to_dict`` writes the key only when
    it is not None, so catalogue specs and suite files are unchanged.
    """

    object_set: str
    layout: str
    seed: int | None
    objects: tuple[ObjectPlacement, ...] = field(default_factory=tuple)
    labels: dict | None = field(default=None, compare=False)
    appearance: SceneAppearance | None = None

    def __post_init__(self):
        if self.appearance is not None:
            if not isinstance(self.appearance, SceneAppearance):
                raise ValueError(f"scene spec appearance must be a SceneAppearance or None, got {self.appearance!r}")
            if len(self.appearance.objects) != len(self.objects):
                raise ValueError(f"scene spec appearance has {len(self.appearance.objects)} object(s) for "
                                 f"{len(self.objects)} object(s) in the scene")

    def to_dict(self) -> dict:
        d = {k: v for k, v in asdict(replace(self, labels=None, appearance=None)).items()
             if k not in ("labels", "appearance")}
        d["version"] = SPEC_VERSION
        if self.appearance is not None:
            d["appearance"] = self.appearance.to_dict()
        if self.labels is not None:
            d["labels"] = {str(i): lab.to_dict() for i, lab in sorted(self.labels.items())}
        return d

    def with_labels(self, labels: dict | None) -> "SceneSpec":
        return replace(self, labels=labels)

    def with_appearance(self, appearance: SceneAppearance | None) -> "SceneSpec":
        return replace(self, appearance=appearance)

    @classmethod
    def from_dict(cls, d: dict) -> "SceneSpec":
        try:
            version = d.get("version", SPEC_VERSION)
            if version != SPEC_VERSION:
                raise ValueError(f"scene spec version {version!r} is not supported (expected {SPEC_VERSION})")
            objects = tuple(
                ObjectPlacement(o["name"], float(o["scale"]), tuple(map(float, o["position"])), tuple(map(float, o["orientation"])))
                for o in d["objects"]
            )
            labels = None
            if d.get("labels") is not None:
                labels = {int(i): ObjectLabels.from_dict(lab) for i, lab in d["labels"].items()}
                bad = [i for i in labels if not 0 <= i < len(objects)]
                if bad:
                    raise ValueError(f"malformed scene spec: labels for object index(es) {bad} not in the scene")
            appearance = None
            if d.get("appearance") is not None:
                appearance = SceneAppearance.from_dict(d["appearance"], "scene spec appearance")
            spec = cls(d["object_set"], d["layout"], d.get("seed"), objects, labels, appearance)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed scene spec: missing or bad field {exc}") from None
        for o in spec.objects:
            if len(o.position) != 3 or len(o.orientation) != 4 or not all(map(math.isfinite, o.position + o.orientation)):
                raise ValueError(f"malformed scene spec: bad pose for object {o.name!r}")
        return spec

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> "SceneSpec":
        return cls.from_dict(json.loads(text))


def save_suite(path: str | os.PathLike, specs: list[SceneSpec]) -> None:
    """Write scenes to a JSON-lines suite file (atomically: temp file + rename)."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w") as f:
        for spec in specs:
            f.write(spec.to_json() + "\n")
    os.replace(tmp, path)


def load_suite(path: str | os.PathLike) -> list[SceneSpec]:
    """Read a suite file written by :func:`save_suite`."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"suite file {str(path)!r} does not exist")
    specs = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            if line.strip():
                try:
                    specs.append(SceneSpec.from_json(line))
                except (ValueError, json.JSONDecodeError) as exc:
                    raise ValueError(f"{path}:{lineno}: {exc}") from None
    return specs


def check_count_range(object_count) -> tuple[int, int]:
    """Validate an object-count range given as an int or a (min, max) pair."""
    if isinstance(object_count, (int, np.integer)) and not isinstance(object_count, bool):
        lo = hi = int(object_count)
    else:
        try:
            lo, hi = (int(v) for v in object_count)
        except (TypeError, ValueError):
            raise ValueError(f"object_count must be an int or a (min, max) pair, got {object_count!r}") from None
    if not (1 <= lo <= hi <= 20):
        raise ValueError(f"object_count must satisfy 1 <= min <= max <= 20, got {object_count!r}")
    return lo, hi

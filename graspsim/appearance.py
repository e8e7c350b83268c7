"""Scene appearance as data: object colours and textures, the table, the light and the camera height.

A :class:`SceneAppearance` is an optional part of a
:class:`graspsim.scene.SceneSpec` (``spec.appearance``; ``None`` is the
*catalogue* appearance: every object keeps its catalogue colour, the table its
grey-beige colour, today's light and camera).
:func:`graspsim.appearance_sampling.draw_appearance` draws a randomised one from a
numpy Generator (the texture images: :mod:`graspsim.textures`); :func:`graspsim.sim.scene_builder.build_scene`
applies it (textures through ``pybullet.loadTexture`` + ``changeVisualShape``,
the light through ``getCameraImage``'s light arguments, the camera height
through the episode's :class:`graspsim.camera.Camera`). This module is data
only: numpy, no pybullet.

Conventions
-----------
- Colours are RGB(A) floats in [0, 1]; hues in degrees [0, 360).
- Textures are procedural (:func:`graspsim.textures.texture_image`): a pattern name, 2-3
  colours, a ``period`` in texture (UV) units (1.0 = the whole texture side)
  and a ``seed``; the image is a pure function of the spec, written once as a
  PNG into a content-addressed cache (:func:`graspsim.textures.texture_file`). Every pattern
  tiles (repeats seamlessly). On objects the mesh's own UV coordinates decide
  where the texture lands (PyBullet's boxes put a quarter of the texture on
  each face); on the table one texture repeat spans :data:`TABLE_TEXTURE_M`
  metres.
- An object's ``rgba`` multiplies its texture (textured objects are drawn
  with a white ``rgba``). ``specular`` becomes PyBullet's ``specularColor``
  (s, s, s); PyBullet's TinyRenderer (the renderer of this project's camera)
  ignores per-object specular colour (measured), so shininess varies per scene
  through :class:`Lighting`'s ``specular`` coefficient; ``specular`` takes
  effect with OpenGL rendering.
- :class:`Lighting` ``direction`` points from the scene towards the light
  (world frame, z up; PyBullet's ``lightDirection``); shadows use a light
  :data:`SHADOW_LIGHT_DISTANCE_M` away (TinyRenderer draws none at PyBullet's
  default distance). PyBullet keeps a client's last light settings for later
  ``getCameraImage`` calls (even across ``resetSimulation``), so once a world
  has rendered with a light it renders catalogue scenes with ``Lighting()``,
  PyBullet's default light passed explicitly (bit-identical to passing none).
- ``camera_height_offset_m`` moves the camera up (+) or down (-) from its
  base height. The camera stays looking straight down: the project's grasp
  convention (image angle = world yaw, depth along -z, top-down grasps) relies
  on it, so appearance never tilts or shifts the camera sideways.

Held-out parts (``split``)
--------------------------
Some appearance is reserved for the test split, as some objects are:
the object patterns :data:`TEST_ONLY_PATTERNS` ("dots", "label"), chromatic
colours whose hue lies in :data:`TEST_HUE_BAND_DEG` (150-210°, greens-cyans;
a colour is chromatic when its chroma max-min >= :data:`CHROMA_MIN`), and the
table texture "patterned" (:data:`TEST_ONLY_TABLE_TEXTURES`). ``"train"``
never draws them; ``"test"`` draws from everything and favours them (half of
the chromatic hues from the band, half of the textured objects with a held-out
pattern, the table "patterned" 40 % of the time plus its share of the other
draws); ``"all"`` draws uniformly from everything. Achromatic objects (white,
light and dark greys, black) and objects coloured like the table appear in
every split.
"""

from __future__ import annotations

import colorsys
import hashlib
import json
import math
from dataclasses import dataclass, field

import numpy as np

#: Environment/benchmark modes: "catalogue" (``SceneSpec.appearance is None``) or "randomised".
APPEARANCE_MODES = ("catalogue", "randomised")
SPLITS = ("all", "train", "test")

#: Procedural patterns of object textures.
OBJECT_PATTERNS = ("stripes", "checks", "dots", "noise", "halves", "label")
#: Procedural patterns of table textures (a table without texture is "plain").
TABLE_PATTERNS = ("wood", "cloth", "patterned")
PATTERNS = OBJECT_PATTERNS + TABLE_PATTERNS
TABLE_TEXTURES = ("plain",) + TABLE_PATTERNS

#: Held out of the train split (see the module docstring).
TEST_ONLY_PATTERNS = ("dots", "label")
TEST_ONLY_TABLE_TEXTURES = ("patterned",)
TEST_HUE_BAND_DEG = (150.0, 210.0)
#: A colour is chromatic when max(rgb) - min(rgb) >= CHROMA_MIN (and has a meaningful hue).
CHROMA_MIN = 0.12

#: Colour groups of targets (records, summary ``per_appearance``).
COLOUR_GROUPS = ("achromatic-light", "achromatic-dark", "chromatic", "textured")

#: Texture image sides in pixels.
OBJECT_TEXTURE_PX = 256
TABLE_TEXTURE_PX = 512
#: Metres of table covered by one repeat of a table texture.
TABLE_TEXTURE_M = 0.5
#: Light distance (m) passed to PyBullet when shadows are on (PyBullet's default, 2 m,
#: otherwise: the distance only matters for shadows).
SHADOW_LIGHT_DISTANCE_M = 1.0
PYBULLET_LIGHT_DISTANCE_M = 2.0
#: Largest accepted camera height offset (m); draws stay within +-CAMERA_JITTER_M.
MAX_CAMERA_OFFSET_M = 0.05
CAMERA_JITTER_M = 0.03
#: Bumped when texture_image's output for a spec changes (part of the cache key).
TEXTURE_VERSION = 1

#: PyBullet's TinyRenderer light when getCameraImage gets no light arguments.
DEFAULT_LIGHT_DIRECTION = (-50.0, 30.0, 100.0)


# -- validation helpers ---------------------------------------------------------------------
def _floats(value, n: int, where: str, lo: float | None = 0.0, hi: float | None = 1.0) -> tuple[float, ...]:
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{where} must be {n} numbers, got {value!r}") from None
    if len(out) != n or not all(math.isfinite(v) for v in out):
        raise ValueError(f"{where} must be {n} finite numbers, got {value!r}")
    if (lo is not None and min(out) < lo) or (hi is not None and max(out) > hi):
        raise ValueError(f"{where} must lie in [{lo}, {hi}], got {value!r}")
    return out


def _number(value, where: str, lo: float, hi: float, lo_open: bool = False) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{where} must be a number, got {value!r}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where} must be a number, got {value!r}") from None
    if not math.isfinite(x) or x > hi or x < lo or (lo_open and x == lo):
        raise ValueError(f"{where} must be in {'(' if lo_open else '['}{lo}, {hi}], got {value!r}")
    return x


def _field(d, key: str, where: str):
    if not isinstance(d, dict):
        raise ValueError(f"{where} must be a dict, got {d!r}")
    if key not in d:
        raise ValueError(f"{where}.{key} is missing")
    return d[key]


def _unknown(d: dict, keys: tuple, where: str) -> None:
    extra = sorted(set(d) - set(keys))
    if extra:
        raise ValueError(f"{where} has unknown field(s) {extra}; expected {list(keys)}")


# -- the data -------------------------------------------------------------------------------
@dataclass(frozen=True)
class TextureSpec:
    """A procedural texture: ``pattern`` (one of :data:`PATTERNS`), 2-3 RGB
    ``colours`` in [0, 1], ``period`` (pattern repeat in texture units,
    (0, 1]; 1 = the texture side; for "halves" unused, for "label" the patch
    height) and ``seed`` (non-negative int: jitter, noise, orientation)."""

    pattern: str
    colours: tuple[tuple[float, float, float], ...]
    period: float
    seed: int

    def __post_init__(self):
        if isinstance(self.colours, list):
            object.__setattr__(self, "colours", tuple(self.colours))
        if isinstance(self.colours, tuple):
            object.__setattr__(self, "colours", tuple(_floats(c, 3, f"texture.colours[{i}]")
                                                      for i, c in enumerate(self.colours)))
        self.validate("texture")

    def validate(self, where: str) -> None:
        if self.pattern not in PATTERNS:
            raise ValueError(f"{where}.pattern must be one of {PATTERNS}, got {self.pattern!r}")
        if not isinstance(self.colours, tuple) or not 2 <= len(self.colours) <= 3:
            raise ValueError(f"{where}.colours must be 2 or 3 RGB colours, got {self.colours!r}")
        for i, c in enumerate(self.colours):
            _floats(c, 3, f"{where}.colours[{i}]")
        _number(self.period, f"{where}.period", 0.0, 1.0, lo_open=True)
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or not 0 <= self.seed < 2**63:
            raise ValueError(f"{where}.seed must be a non-negative integer, got {self.seed!r}")

    def to_dict(self) -> dict:
        return {"pattern": self.pattern, "colours": [list(c) for c in self.colours], "period": self.period,
                "seed": int(self.seed)}

    @classmethod
    def from_dict(cls, d: dict, where: str = "texture") -> "TextureSpec":
        keys = ("pattern", "colours", "period", "seed")
        values = {k: _field(d, k, where) for k in keys}
        _unknown(d, keys, where)
        colours = values["colours"]
        if not isinstance(colours, (list, tuple)) or not 2 <= len(colours) <= 3:
            raise ValueError(f"{where}.colours must be 2 or 3 RGB colours, got {colours!r}")
        colours = tuple(_floats(c, 3, f"{where}.colours[{i}]") for i, c in enumerate(colours))
        seed = values["seed"]
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"{where}.seed must be a non-negative integer, got {seed!r}")
        try:
            return cls(values["pattern"], colours, _number(values["period"], f"{where}.period", 0.0, 1.0, True), seed)
        except ValueError as exc:
            raise ValueError(str(exc).replace("texture.", f"{where}.", 1)) from None

    def key(self) -> str:
        """A content hash of the spec (and :data:`TEXTURE_VERSION`): the texture's cache name."""
        text = json.dumps({**self.to_dict(), "version": TEXTURE_VERSION}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class ObjectAppearance:
    """One object's look: ``rgba`` in [0, 1] (multiplies the texture; white
    for textured objects), ``specular`` in [0, 1] (PyBullet specularColor
    (s, s, s); see the module docstring) and an optional object ``texture``."""

    rgba: tuple[float, float, float, float]
    specular: float = 0.0
    texture: TextureSpec | None = None

    def __post_init__(self):
        object.__setattr__(self, "rgba", _floats(self.rgba, 4, "object.rgba"))
        self.validate("object")

    def validate(self, where: str) -> None:
        _floats(self.rgba, 4, f"{where}.rgba")
        _number(self.specular, f"{where}.specular", 0.0, 1.0)
        if self.texture is not None:
            if not isinstance(self.texture, TextureSpec):
                raise ValueError(f"{where}.texture must be a TextureSpec or None, got {self.texture!r}")
            if self.texture.pattern not in OBJECT_PATTERNS:
                raise ValueError(f"{where}.texture.pattern must be one of {OBJECT_PATTERNS}, got {self.texture.pattern!r}")

    def to_dict(self) -> dict:
        return {"rgba": list(self.rgba), "specular": self.specular,
                "texture": None if self.texture is None else self.texture.to_dict()}

    @classmethod
    def from_dict(cls, d: dict, where: str = "object") -> "ObjectAppearance":
        keys = ("rgba", "specular", "texture")
        rgba = _floats(_field(d, "rgba", where), 4, f"{where}.rgba")
        specular = _number(_field(d, "specular", where), f"{where}.specular", 0.0, 1.0)
        texture = d.get("texture")
        _unknown(d, keys, where)
        texture = None if texture is None else TextureSpec.from_dict(texture, f"{where}.texture")
        if texture is not None and texture.pattern not in OBJECT_PATTERNS:
            raise ValueError(f"{where}.texture.pattern must be one of {OBJECT_PATTERNS}, got {texture.pattern!r}")
        return cls(rgba, specular, texture)


@dataclass(frozen=True)
class TableAppearance:
    """The table's ``rgba`` colour and optional ``texture`` (pattern "wood",
    "cloth" or "patterned"; None: "plain"). One texture repeat spans
    :data:`TABLE_TEXTURE_M` metres of table; ``rgba`` multiplies it."""

    rgba: tuple[float, float, float, float]
    texture: TextureSpec | None = None

    def __post_init__(self):
        object.__setattr__(self, "rgba", _floats(self.rgba, 4, "table.rgba"))
        self.validate("table")

    @property
    def kind(self) -> str:
        """"plain", "wood", "cloth" or "patterned"."""
        return "plain" if self.texture is None else self.texture.pattern

    def validate(self, where: str) -> None:
        _floats(self.rgba, 4, f"{where}.rgba")
        if self.texture is not None:
            if not isinstance(self.texture, TextureSpec):
                raise ValueError(f"{where}.texture must be a TextureSpec or None, got {self.texture!r}")
            if self.texture.pattern not in TABLE_PATTERNS:
                raise ValueError(f"{where}.texture.pattern must be one of {TABLE_PATTERNS}, got {self.texture.pattern!r}")

    def to_dict(self) -> dict:
        return {"rgba": list(self.rgba), "texture": None if self.texture is None else self.texture.to_dict()}

    @classmethod
    def from_dict(cls, d: dict, where: str = "table") -> "TableAppearance":
        rgba = _floats(_field(d, "rgba", where), 4, f"{where}.rgba")
        texture = d.get("texture")
        _unknown(d, ("rgba", "texture"), where)
        texture = None if texture is None else TextureSpec.from_dict(texture, f"{where}.texture")
        if texture is not None and texture.pattern not in TABLE_PATTERNS:
            raise ValueError(f"{where}.texture.pattern must be one of {TABLE_PATTERNS}, got {texture.pattern!r}")
        return cls(rgba, texture)


def _default_direction() -> tuple[float, float, float]:
    n = math.sqrt(sum(v * v for v in DEFAULT_LIGHT_DIRECTION))
    return tuple(v / n for v in DEFAULT_LIGHT_DIRECTION)


@dataclass(frozen=True)
class Lighting:
    """The light of the TinyRenderer (``getCameraImage``'s light arguments).

    direction: from the scene towards the light, world frame (need not be unit;
        z > 0: from above). colour: RGB in [0, 1]. ambient, diffuse, specular:
        the coefficients in [0, 1] (PyBullet's defaults 0.6, 0.35, 0.05).
    shadows: cast shadows (light at :data:`SHADOW_LIGHT_DISTANCE_M`).
    ``Lighting()`` is PyBullet's default light (direction (-50, 30, 100)
    normalised); a scene without appearance passes no light arguments at all.
    """

    direction: tuple[float, float, float] = field(default_factory=_default_direction)
    colour: tuple[float, float, float] = (1.0, 1.0, 1.0)
    ambient: float = 0.6
    diffuse: float = 0.35
    specular: float = 0.05
    shadows: bool = False

    def __post_init__(self):
        object.__setattr__(self, "direction", _floats(self.direction, 3, "lighting.direction", None, None))
        object.__setattr__(self, "colour", _floats(self.colour, 3, "lighting.colour"))
        self.validate("lighting")

    def validate(self, where: str) -> None:
        d = _floats(self.direction, 3, f"{where}.direction", None, None)
        if d[2] <= 0:
            raise ValueError(f"{where}.direction must point upwards (z > 0), got {self.direction!r}")
        _floats(self.colour, 3, f"{where}.colour")
        for name in ("ambient", "diffuse", "specular"):
            _number(getattr(self, name), f"{where}.{name}", 0.0, 1.0)
        if not isinstance(self.shadows, bool):
            raise ValueError(f"{where}.shadows must be true or false, got {self.shadows!r}")

    def pybullet_kwargs(self) -> dict:
        """Keyword arguments for ``pybullet.getCameraImage``."""
        kw = {
            "lightDirection": list(self.direction), "lightColor": list(self.colour),
            "lightAmbientCoeff": self.ambient, "lightDiffuseCoeff": self.diffuse,
            "lightSpecularCoeff": self.specular, "shadow": int(self.shadows),
            "lightDistance": SHADOW_LIGHT_DISTANCE_M if self.shadows else PYBULLET_LIGHT_DISTANCE_M,
        }
        return kw

    def to_dict(self) -> dict:
        return {"direction": list(self.direction), "colour": list(self.colour), "ambient": self.ambient,
                "diffuse": self.diffuse, "specular": self.specular, "shadows": self.shadows}

    @classmethod
    def from_dict(cls, d: dict, where: str = "lighting") -> "Lighting":
        keys = ("direction", "colour", "ambient", "diffuse", "specular", "shadows")
        values = {k: _field(d, k, where) for k in keys}
        _unknown(d, keys, where)
        try:
            return cls(_floats(values["direction"], 3, f"{where}.direction", None, None),
                       _floats(values["colour"], 3, f"{where}.colour"),
                       *(_number(values[k], f"{where}.{k}", 0.0, 1.0) for k in ("ambient", "diffuse", "specular")),
                       values["shadows"])
        except ValueError as exc:
            raise ValueError(str(exc).replace("lighting.", f"{where}.", 1)) from None


@dataclass(frozen=True)
class SceneAppearance:
    """The appearance of a scene: one :class:`ObjectAppearance` per object of
    the spec (same order), the table, the light and the camera's height
    offset (metres, |offset| <= :data:`MAX_CAMERA_OFFSET_M`; the camera stays
    looking straight down)."""

    objects: tuple[ObjectAppearance, ...]
    table: TableAppearance
    lighting: Lighting
    camera_height_offset_m: float = 0.0

    def __post_init__(self):
        if isinstance(self.objects, list):
            object.__setattr__(self, "objects", tuple(self.objects))
        if not isinstance(self.objects, tuple) or not all(isinstance(o, ObjectAppearance) for o in self.objects):
            raise ValueError(f"appearance.objects must be a tuple of ObjectAppearance, got {self.objects!r}")
        if not isinstance(self.table, TableAppearance):
            raise ValueError(f"appearance.table must be a TableAppearance, got {self.table!r}")
        if not isinstance(self.lighting, Lighting):
            raise ValueError(f"appearance.lighting must be a Lighting, got {self.lighting!r}")
        _number(self.camera_height_offset_m, "appearance.camera_height_offset_m", -MAX_CAMERA_OFFSET_M,
                MAX_CAMERA_OFFSET_M)

    def to_dict(self) -> dict:
        return {"objects": [o.to_dict() for o in self.objects], "table": self.table.to_dict(),
                "lighting": self.lighting.to_dict(), "camera_height_offset_m": self.camera_height_offset_m}

    @classmethod
    def from_dict(cls, d: dict, where: str = "appearance") -> "SceneAppearance":
        keys = ("objects", "table", "lighting", "camera_height_offset_m")
        values = {k: _field(d, k, where) for k in keys}
        _unknown(d, keys, where)
        if not isinstance(values["objects"], (list, tuple)):
            raise ValueError(f"{where}.objects must be a list, got {values['objects']!r}")
        objects = tuple(ObjectAppearance.from_dict(o, f"{where}.objects[{i}]") for i, o in enumerate(values["objects"]))
        offset = _number(values["camera_height_offset_m"], f"{where}.camera_height_offset_m", -MAX_CAMERA_OFFSET_M,
                         MAX_CAMERA_OFFSET_M)
        return cls(objects, TableAppearance.from_dict(values["table"], f"{where}.table"),
                   Lighting.from_dict(values["lighting"], f"{where}.lighting"), offset)


def check_mode(mode) -> str:
    """Validate an appearance mode ("catalogue" or "randomised")."""
    if mode not in APPEARANCE_MODES:
        raise ValueError(f"appearance must be one of {APPEARANCE_MODES}, got {mode!r}")
    return mode


# -- colour groups --------------------------------------------------------------------------
def _hue_deg(rgb) -> float:
    return colorsys.rgb_to_hsv(*rgb[:3])[0] * 360.0


def is_chromatic(rgb) -> bool:
    """Whether a colour has a hue: chroma max - min >= :data:`CHROMA_MIN`."""
    return max(rgb[:3]) - min(rgb[:3]) >= CHROMA_MIN


def in_test_hue_band(rgb) -> bool:
    """Whether a colour is chromatic with its hue in :data:`TEST_HUE_BAND_DEG` (held out of train)."""
    lo, hi = TEST_HUE_BAND_DEG
    return is_chromatic(rgb) and lo <= _hue_deg(rgb) < hi


def rgba_colour_group(rgba) -> str:
    """The colour group of a flat colour (e.g. a catalogue colour): "chromatic" when
    chroma >= :data:`CHROMA_MIN`, else "achromatic-light" (Rec. 709 luminance >= 0.5) or
    "achromatic-dark". ``None`` (a catalogue asset with its own texture) is "textured"."""
    if rgba is None:
        return "textured"
    r, g, b = (float(v) for v in rgba[:3])
    if is_chromatic((r, g, b)):
        return "chromatic"
    return "achromatic-light" if 0.2126 * r + 0.7152 * g + 0.0722 * b >= 0.5 else "achromatic-dark"


def colour_group(appearance: ObjectAppearance) -> str:
    """The colour group of an object's appearance: "textured" when it has a texture,
    else :func:`rgba_colour_group` of its colour."""
    return "textured" if appearance.texture is not None else rgba_colour_group(appearance.rgba)


def target_colour_group(scene: dict, target_id: int, catalogue_colour=None) -> str:
    """The colour group of object ``target_id`` of a scene-spec dict: from the
    scene's appearance when it has one, else from ``catalogue_colour`` (the
    object's catalogue RGBA, None for a textured asset). "" for no target."""
    if target_id is None or target_id < 0:
        return ""
    appearance = scene.get("appearance")
    if appearance is not None:
        return colour_group(ObjectAppearance.from_dict(appearance["objects"][target_id]))
    return rgba_colour_group(catalogue_colour)


def held_out_parts(appearance: SceneAppearance) -> list[str]:
    """The test-only parts an appearance uses ("pattern:dots", "hue", "table:patterned", ...)."""
    found = []
    if appearance.table.kind in TEST_ONLY_TABLE_TEXTURES:
        found.append(f"table:{appearance.table.kind}")
    colours = [appearance.table.rgba[:3]] + ([*appearance.table.texture.colours] if appearance.table.texture else [])
    for o in appearance.objects:
        colours.append(o.rgba[:3])
        if o.texture is not None:
            colours += list(o.texture.colours)
            if o.texture.pattern in TEST_ONLY_PATTERNS:
                found.append(f"pattern:{o.texture.pattern}")
    if any(in_test_hue_band(c) for c in colours):
        found.append("hue")
    return found


__all__ = [
    "APPEARANCE_MODES", "COLOUR_GROUPS", "Lighting", "OBJECT_PATTERNS", "ObjectAppearance", "PATTERNS",
    "SceneAppearance", "TABLE_PATTERNS", "TABLE_TEXTURES", "TEST_HUE_BAND_DEG", "TEST_ONLY_PATTERNS",
    "TEST_ONLY_TABLE_TEXTURES", "TableAppearance", "TextureSpec", "check_mode", "colour_group", "held_out_parts",
    "in_test_hue_band", "rgba_colour_group", "target_colour_group",
]

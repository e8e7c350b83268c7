"""Randomised scene appearance: :func:`draw_appearance` draws a
:class:`graspsim.appearance.SceneAppearance` from a numpy Generator, applying the
split's held-out rule (see :mod:`graspsim.appearance`, "Held-out parts")."""

from __future__ import annotations

import colorsys
import math

import numpy as np

from graspsim.appearance import (
    CAMERA_JITTER_M, OBJECT_PATTERNS, SPLITS, TABLE_PATTERNS, TEST_HUE_BAND_DEG, TEST_ONLY_PATTERNS,
    TEST_ONLY_TABLE_TEXTURES, Lighting, ObjectAppearance, SceneAppearance, TableAppearance, TextureSpec,
    in_test_hue_band,
)


# -- drawing --------------------------------------------------------------------------------
def _r(x: float) -> float:
    """Values are rounded to 1e-6 when drawn, so the spec holds exactly what is rendered."""
    return round(float(x), 6)


def _rgb(rgb) -> tuple[float, float, float]:
    return tuple(_r(min(max(v, 0.0), 1.0)) for v in rgb)


def _hue(rng: np.random.Generator, split: str) -> float:
    lo, hi = TEST_HUE_BAND_DEG
    if split == "train":  # the circle without the band
        h = rng.uniform(0.0, 360.0 - (hi - lo))
        return h if h < lo else h + (hi - lo)
    if split == "test" and rng.random() < 0.5:
        return rng.uniform(lo, hi)
    return rng.uniform(0.0, 360.0)


def _allowed(rgb, split: str) -> bool:
    return split != "train" or not in_test_hue_band(rgb)


def _chromatic(rng, split, s=(0.4, 1.0), v=(0.35, 1.0)) -> tuple[float, float, float]:
    while True:
        h = _hue(rng, split)
        rgb = _rgb(colorsys.hsv_to_rgb(h / 360.0, rng.uniform(*s), rng.uniform(*v)))
        if _allowed(rgb, split):  # rounding could nudge a colour across the band's edge
            return rgb


_ACHROMATIC = {"white": (0.9, 1.0), "light-grey": (0.6, 0.85), "dark-grey": (0.2, 0.45), "black": (0.02, 0.12)}


def _achromatic(rng) -> tuple[float, float, float]:
    lo, hi = list(_ACHROMATIC.values())[int(rng.integers(len(_ACHROMATIC)))]
    v = _r(rng.uniform(lo, hi))
    return (v, v, v)


def _near(rng, rgb, split, spread=0.06) -> tuple[float, float, float]:
    while True:
        out = _rgb(np.asarray(rgb[:3]) + rng.uniform(-spread, spread, 3))
        if _allowed(out, split):
            return out


def _any_colour(rng, split) -> tuple[float, float, float]:
    return _achromatic(rng) if rng.random() < 0.35 else _chromatic(rng, split)


_PERIODS = {"stripes": (0.1, 0.35), "checks": (0.1, 0.3), "dots": (0.12, 0.3), "noise": (0.15, 0.5),
            "halves": (0.5, 0.5), "label": (0.3, 0.5), "wood": (0.05, 0.15), "cloth": (0.01, 0.02),
            "patterned": (0.05, 0.15)}


def _texture(rng, pattern: str, colours) -> TextureSpec:
    lo, hi = _PERIODS[pattern]
    return TextureSpec(pattern, tuple(colours), _r(rng.uniform(lo, hi)), int(rng.integers(0, 2**31)))


def _draw_table(rng, split) -> TableAppearance:
    textured = tuple(k for k in TABLE_PATTERNS if split != "train" or k not in TEST_ONLY_TABLE_TEXTURES)
    if split == "test" and rng.random() < 0.4:
        kind = TEST_ONLY_TABLE_TEXTURES[int(rng.integers(len(TEST_ONLY_TABLE_TEXTURES)))]
    elif rng.random() < 0.4:
        kind = "plain"
    else:
        kind = textured[int(rng.integers(len(textured)))]
    style = int(rng.integers(4))
    if style == 0:  # wood tones
        base = _rgb(colorsys.hsv_to_rgb(rng.uniform(20, 42) / 360, rng.uniform(0.3, 0.65), rng.uniform(0.45, 0.9)))
    elif style == 1:  # greys from near white to near black
        base = (_r(rng.uniform(0.15, 0.95)),) * 3
    elif style == 2:  # today's grey-beige, perturbed
        base = _near(rng, (0.72, 0.70, 0.66), split, 0.08)
    else:  # a coloured mat
        base = _chromatic(rng, split, s=(0.2, 0.6), v=(0.3, 0.8))
    texture = None
    if kind == "wood":
        dark = _rgb(np.asarray(base) * rng.uniform(0.55, 0.8))
        texture = _texture(rng, "wood", (base, dark))
    elif kind == "cloth":
        other = _rgb(np.asarray(base) * rng.uniform(0.75, 0.9))
        texture = _texture(rng, "cloth", (base, other))
    elif kind == "patterned":
        texture = _texture(rng, "patterned", (base, _any_colour(rng, split)))
    rgba = (1.0, 1.0, 1.0, 1.0) if texture is not None else base + (1.0,)
    return TableAppearance(rgba, texture)


def _draw_object(rng, split, table: TableAppearance) -> ObjectAppearance:
    specular = _r(rng.uniform(0.0, 1.0))
    kind = rng.random()
    if kind < 0.25:
        return ObjectAppearance(_achromatic(rng) + (1.0,), specular)
    if kind < 0.35:  # coloured like the table (hard to segment by colour)
        table_rgb = table.texture.colours[0] if table.texture is not None else table.rgba[:3]
        return ObjectAppearance(_near(rng, table_rgb, split) + (1.0,), specular)
    if kind < 0.75:
        return ObjectAppearance(_chromatic(rng, split) + (1.0,), specular)
    patterns = OBJECT_PATTERNS if split != "train" else tuple(p for p in OBJECT_PATTERNS if p not in TEST_ONLY_PATTERNS)
    if split == "test" and rng.random() < 0.5:
        pattern = TEST_ONLY_PATTERNS[int(rng.integers(len(TEST_ONLY_PATTERNS)))]
    else:
        pattern = patterns[int(rng.integers(len(patterns)))]
    n = 2 if pattern == "halves" else int(rng.integers(2, 4))
    colours = [_any_colour(rng, split) for _ in range(n)]
    return ObjectAppearance((1.0, 1.0, 1.0, 1.0), specular, _texture(rng, pattern, colours))


def _draw_lighting(rng) -> Lighting:
    elevation = math.radians(rng.uniform(50.0, 88.0))
    azimuth = rng.uniform(-math.pi, math.pi)
    direction = tuple(_r(v) for v in (math.cos(elevation) * math.cos(azimuth), math.cos(elevation) * math.sin(azimuth),
                                      math.sin(elevation)))
    t = rng.uniform(0.0, 1.0)  # warm (t = 0) to cool (t = 1) white
    colour = _rgb(np.array([1.0, 0.86, 0.72]) * (1 - t) + np.array([0.82, 0.9, 1.0]) * t)
    return Lighting(direction, colour, _r(rng.uniform(0.4, 0.75)), _r(rng.uniform(0.2, 0.5)),
                    _r(rng.uniform(0.0, 0.12)), bool(rng.random() < 0.5))


def draw_appearance(rng: np.random.Generator, n_objects: int, split: str = "all") -> SceneAppearance:
    """Draw a randomised appearance for ``n_objects`` objects from ``rng``.

    In order: the table (40 % "plain", else "wood", "cloth" or "patterned" alike;
    a wood tone, a grey, the catalogue grey-beige perturbed, or a coloured mat),
    each object (25 % achromatic: white, light grey, dark grey or black; 10 %
    close to the table's colour; 40 % a chromatic colour; 25 % a procedural
    texture of 2-3 colours: stripes, checks, dots, noise, two-tone halves or a
    printed label; a specular coefficient in [0, 1] each), the light
    (elevation 50-88°, any azimuth, warm to cool white, ambient 0.4-0.75,
    diffuse 0.2-0.5, specular 0-0.12, shadows half of the time) and the
    camera height offset (uniform in +-:data:`CAMERA_JITTER_M`). ``split``
    ("all", "train", "test") applies the held-out rule of the module
    docstring. Every value is rounded to 1e-6.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if isinstance(n_objects, bool) or not isinstance(n_objects, (int, np.integer)) or n_objects < 0:
        raise ValueError(f"n_objects must be a non-negative integer, got {n_objects!r}")
    table = _draw_table(rng, split)
    objects = tuple(_draw_object(rng, split, table) for _ in range(int(n_objects)))
    lighting = _draw_lighting(rng)
    offset = _r(rng.uniform(-CAMERA_JITTER_M, CAMERA_JITTER_M))
    return SceneAppearance(objects, table, lighting, offset)



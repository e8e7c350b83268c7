"""Procedural texture images of :class:`graspsim.appearance.TextureSpec`, and their PNG cache.

:func:`texture_image` is a pure function of the spec (NumPy); :func:`texture_file`
writes it once under a content-hashed name in :func:`texture_cache_dir`
(``$GRASPSIM_CACHE/textures``) for ``pybullet.loadTexture``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from graspsim.appearance import OBJECT_TEXTURE_PX, PATTERNS, TextureSpec


# -- texture images -------------------------------------------------------------------------
def _periodic_noise(rng: np.random.Generator, size: int, cells: int, octaves: int = 3) -> np.ndarray:
    """Smooth value noise in [0, 1] that tiles: random values on a ``cells`` grid
    (doubling per octave), smoothstep-interpolated with wrap-around."""
    t = np.arange(size) / size
    out = np.zeros((size, size))
    weight, total = 1.0, 0.0
    for k in range(octaves):
        n = cells * 2**k
        grid = rng.random((n, n))
        x = t * n
        i0 = np.floor(x).astype(int) % n
        i1 = (i0 + 1) % n
        f = x - np.floor(x)
        f = f * f * (3 - 2 * f)
        rows = grid[i0, :] * (1 - f)[:, None] + grid[i1, :] * f[:, None]  # (size, n): interpolated along v
        layer = rows[:, i0] * (1 - f)[None, :] + rows[:, i1] * f[None, :]
        out += weight * layer
        total += weight
        weight *= 0.5
    out /= total
    lo, hi = out.min(), out.max()
    return (out - lo) / (hi - lo) if hi > lo else np.zeros_like(out)


def _ramp(values: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] linearly through the colours (k, 3)."""
    k = len(colours)
    x = np.clip(values, 0, 1) * (k - 1)
    i = np.minimum(np.floor(x).astype(int), k - 2)
    f = (x - i)[..., None]
    return colours[i] * (1 - f) + colours[i + 1] * f


def texture_image(spec: TextureSpec, size: int = OBJECT_TEXTURE_PX) -> np.ndarray:
    """The texture of ``spec`` as an RGB uint8 image (size, size, 3); row 0 is the top
    (texture v = 0). Deterministic: a pure function of the spec and ``size``."""
    rng = np.random.default_rng(spec.seed)
    c = np.asarray(spec.colours, dtype=np.float64)
    k = len(c)
    y, x = np.mgrid[0:size, 0:size] / size  # texture coordinates in [0, 1)
    n = max(1, int(round(1.0 / spec.period)))  # repeats per texture side (integer: the pattern tiles)
    pattern = spec.pattern
    if pattern == "stripes":
        a, b = [(1, 0), (0, 1), (1, 1), (1, -1)][spec.seed % 4]
        phase = (a * x + b * y) * n
        img = c[(np.floor((phase % 1.0) * k).astype(int)) % k]
    elif pattern == "checks":
        img = c[(np.floor(n * x).astype(int) + np.floor(n * y).astype(int)) % k]
    elif pattern == "dots":
        img = np.broadcast_to(c[0], (size, size, 3)).copy()
        centre = 0.5 + rng.uniform(-0.12, 0.12, size=(n, n, 2))
        radius = rng.uniform(0.22, 0.34)
        gx, gy = n * x, n * y
        i, j = np.floor(gy).astype(int) % n, np.floor(gx).astype(int) % n
        fx, fy = gx % 1.0, gy % 1.0
        inside = (fx - centre[i, j, 0]) ** 2 + (fy - centre[i, j, 1]) ** 2 < radius**2
        dot_colour = c[1 + (i + j) % (k - 1)]
        img[inside] = dot_colour[inside]
    elif pattern == "noise":
        img = _ramp(_periodic_noise(rng, size, n), c)
    elif pattern == "halves":
        coord = [x, y, (x + y) / 2][spec.seed % 3]
        img = c[(coord >= 0.5).astype(int)]
        if k == 3:  # a seam of the third colour between the halves
            img[np.abs(coord - 0.5) < 0.03] = c[2]
    elif pattern == "label":
        img = np.broadcast_to(c[0], (size, size, 3)).copy()
        h = min(max(spec.period, 0.2), 0.8)
        top, bottom = 0.5 - h / 2, 0.5 + h / 2
        patch = (y >= top) & (y < bottom)
        img[patch] = c[1]
        ink = c[2] if k == 3 else c[0]
        lines = int(rng.integers(2, 5))
        for line in range(lines):
            y0 = top + h * (0.15 + 0.7 * line / lines)
            x0, x1 = 0.1 + rng.uniform(0, 0.1), rng.uniform(0.45, 0.9)
            img[(y >= y0) & (y < y0 + h * 0.1) & (x >= x0) & (x < x1)] = ink
    elif pattern == "wood":
        warp = _periodic_noise(rng, size, 2, octaves=2)
        grain = (n * y + 1.5 * warp) % 1.0
        profile = grain**3
        fibre = _periodic_noise(rng, size, 32, octaves=2)
        img = _ramp(np.clip(0.75 * profile + 0.25 * fibre, 0, 1), c[:2])
    elif pattern == "cloth":
        threads = n
        warp_on = (np.floor(threads * x).astype(int) + np.floor(threads * y).astype(int)) % 2 == 0
        shade = np.where(warp_on, np.abs(np.sin(np.pi * threads * y)), np.abs(np.sin(np.pi * threads * x)))
        thread_tone = rng.random(threads)
        tone = np.where(warp_on, thread_tone[np.floor(threads * x).astype(int) % threads],
                        thread_tone[np.floor(threads * y).astype(int) % threads])
        img = _ramp(np.clip(0.55 * (1 - shade) + 0.45 * tone, 0, 1), c[:2])
    elif pattern == "patterned":  # gingham: bands of the second colour across both axes
        a = (n * x) % 1.0 < 0.5
        b = (n * y) % 1.0 < 0.5
        weight = (a.astype(float) + b.astype(float)) / 2.0
        img = c[0] * (1 - weight[..., None]) + c[1] * weight[..., None]
        if k == 3:
            img[((n * x) % 1.0 < 0.04) | ((n * y) % 1.0 < 0.04)] = c[2]
    else:  # pragma: no cover (TextureSpec validates the pattern)
        raise ValueError(f"texture.pattern must be one of {PATTERNS}, got {pattern!r}")
    return np.ascontiguousarray(np.clip(np.round(np.asarray(img) * 255.0), 0, 255).astype(np.uint8))


def texture_cache_dir() -> Path:
    """Where texture PNGs are cached: ``$GRASPSIM_CACHE/textures`` (default
    ``~/.cache/graspsim/textures``), next to the V-HACD cache."""
    from graspsim.objects.mesh_folder import cache_dir

    return cache_dir().parent / "textures"


def texture_file(spec: TextureSpec, size: int = OBJECT_TEXTURE_PX) -> Path:
    """The PNG of ``spec`` at ``size`` pixels, written once (atomically) into
    :func:`texture_cache_dir` under a content-hashed name."""
    folder = texture_cache_dir()
    path = folder / f"{spec.key()}_{size}.png"
    if not path.is_file():
        import cv2

        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{path.stem}.{os.getpid()}.tmp.png"
        if not cv2.imwrite(str(tmp), cv2.cvtColor(texture_image(spec, size), cv2.COLOR_RGB2BGR)):
            raise ValueError(f"could not write texture {str(tmp)!r}")
        os.replace(tmp, path)
    return path


__all__ = ["texture_cache_dir", "texture_file", "texture_image"]

"""Grasp rectangles as arrays, and their file formats.

The one rectangle convention (the array form of :class:`graspsim.grasp.ImageGrasp`):
a float64 array of shape (N, 5) with columns

    u, v, angle, opening, jaw

- ``u, v``: the centre in pixels (u = column, right; v = row, down);
- ``angle``: radians of the closing line (finger to finger) measured from +u
  towards -v (counter-clockwise on screen), wrapped to (-π/2, π/2];
- ``opening``: the side along the closing line in pixels (gripper opening,
  Jacquard's ``w``); ``jaw``: the other side (finger width, Jacquard's ``h``).

Corner order (4-corner polygons, Cornell blocks): corner 0 → 1 runs along the
closing line (its length is the opening), corner 1 → 2 along the jaw, as in
the Cornell data and the GG-CNN code that reads it.

File formats (text parsers take a ``source`` name used in error messages):

- Cornell / OCID-Grasp: blocks of 4 lines ``x y`` (the corners, in order).
  Rectangles holding NaN coordinates (present in the published Cornell
  files) are skipped, as GG-CNN skips them.
- Jacquard: one line ``x;y;θ;w;h`` per grasp, θ in degrees measured from +u
  towards +v (clockwise on screen), so ``angle = -radians(θ)``.
- Grasp-Anything: an (N, 6) tensor of rows ``_, x, y, w, h, θ`` with θ in
  degrees and Jacquard's sign; the first column is not used.
"""

from __future__ import annotations

import math

import numpy as np

RECT_COLUMNS = ("u", "v", "angle", "opening", "jaw")


def wrap_angles(angles) -> np.ndarray:
    """Wrap angles (radians) to (-π/2, π/2], element-wise."""
    a = np.asarray(angles, dtype=np.float64)
    w = np.mod(a + math.pi / 2, math.pi) - math.pi / 2  # [-π/2, π/2)
    return np.where(w <= -math.pi / 2 + 1e-15, w + math.pi, w)


def as_rects(rects, source: str = "rectangles") -> np.ndarray:
    """Check and return rectangles as a float64 (N, 5) array (a copy)."""
    r = np.array(rects, dtype=np.float64)
    if r.size == 0:
        return np.zeros((0, 5))
    if r.ndim == 1 and r.shape[0] == 5:
        r = r[None]
    if r.ndim != 2 or r.shape[1] != 5:
        raise ValueError(f"{source}: rectangles must have shape (N, 5) = (u, v, angle, opening, jaw), got {r.shape}")
    if not np.isfinite(r).all():
        raise ValueError(f"{source}: rectangles must be finite")
    if (r[:, 3:5] < 0).any():
        raise ValueError(f"{source}: rectangle opening and jaw must be non-negative")
    r[:, 2] = wrap_angles(r[:, 2])
    return r


def to_corners(rects) -> np.ndarray:
    """(N, 5) rectangles → (N, 4, 2) corners (u, v) in Cornell order."""
    r = as_rects(rects)
    d = np.stack([np.cos(r[:, 2]), -np.sin(r[:, 2])], -1)  # closing direction in (u, v)
    n = np.stack([-d[:, 1], d[:, 0]], -1)  # jaw direction
    c = r[:, None, :2]
    ho = (r[:, 3] / 2)[:, None, None]
    hj = (r[:, 4] / 2)[:, None, None]
    signs_d = np.array([-1.0, 1.0, 1.0, -1.0])[None, :, None]
    signs_n = np.array([-1.0, -1.0, 1.0, 1.0])[None, :, None]
    return c + signs_d * ho * d[:, None, :] + signs_n * hj * n[:, None, :]


def from_corners(corners) -> np.ndarray:
    """(N, 4, 2) corners (u, v) in Cornell order → (N, 5) rectangles.

    The centre is the mean of the corners, the angle and opening come from
    edge 0 → 1, the jaw from edge 1 → 2 (GG-CNN's reading of Cornell)."""
    c = np.asarray(corners, dtype=np.float64)
    if c.size == 0:
        return np.zeros((0, 5))
    if c.ndim == 2:
        c = c[None]
    if c.ndim != 3 or c.shape[1:] != (4, 2):
        raise ValueError(f"corners must have shape (N, 4, 2), got {c.shape}")
    e1 = c[:, 1] - c[:, 0]
    e2 = c[:, 2] - c[:, 1]
    centre = c.mean(axis=1)
    angle = wrap_angles(np.arctan2(-e1[:, 1], e1[:, 0]))
    return np.column_stack([centre, angle, np.hypot(*e1.T), np.hypot(*e2.T)])


# -- Cornell / OCID-Grasp ---------------------------------------------------------------
def parse_cornell(text: str, source: str = "<text>") -> np.ndarray:
    """Parse Cornell 4-line blocks into (N, 5) rectangles."""
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        try:
            if len(parts) != 2:
                raise ValueError
            rows.append((lineno, float(parts[0]), float(parts[1])))
        except ValueError:
            raise ValueError(f"{source}:{lineno}: expected a corner 'x y', got {line.strip()!r}") from None
    if len(rows) % 4:
        raise ValueError(
            f"{source}:{rows[-1][0]}: {len(rows)} corner lines is not a multiple of 4 (a rectangle is 4 lines)"
        )
    pts = np.array([r[1:] for r in rows], dtype=np.float64).reshape(-1, 4, 2)
    keep = np.isfinite(pts).all(axis=(1, 2))
    return from_corners(pts[keep])


def format_cornell(rects) -> str:
    """(N, 5) rectangles → Cornell text (4 lines ``x y`` per rectangle)."""
    lines = [f"{x:.6g} {y:.6g}" for x, y in to_corners(rects).reshape(-1, 2)]
    return "".join(line + "\n" for line in lines)


# -- Jacquard ---------------------------------------------------------------------------
def parse_jacquard(text: str, source: str = "<text>") -> np.ndarray:
    """Parse Jacquard ``x;y;θ;w;h`` lines into (N, 5) rectangles."""
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.strip().split(";")
        try:
            if len(parts) != 5:
                raise ValueError
            x, y, theta, w, h = (float(p) for p in parts)
            if not all(map(math.isfinite, (x, y, theta, w, h))) or w < 0 or h < 0:
                raise ValueError
        except ValueError:
            raise ValueError(
                f"{source}:{lineno}: expected 'x;y;theta;w;h' (finite numbers, w and h >= 0), got {line.strip()!r}"
            ) from None
        rows.append((x, y, -math.radians(theta), w, h))
    return as_rects(np.array(rows).reshape(-1, 5), source)


def format_jacquard(rects) -> str:
    """(N, 5) rectangles → Jacquard lines ``x;y;θ;w;h`` (θ in degrees)."""
    r = as_rects(rects)
    return "".join(
        f"{u:.4f};{v:.4f};{-math.degrees(a):.4f};{o:.4f};{j:.4f}\n" for u, v, a, o, j in r
    )


# -- Grasp-Anything ---------------------------------------------------------------------
def from_grasp_anything_rows(rows, source: str = "<rows>") -> np.ndarray:
    """An (N, 6) array of Grasp-Anything rows ``_, x, y, w, h, θ°`` → (N, 5) rectangles."""
    a = np.asarray(rows, dtype=np.float64)
    if a.size == 0:
        return np.zeros((0, 5))
    if a.ndim == 1:
        a = a[None]
    if a.ndim != 2 or a.shape[1] != 6:
        raise ValueError(f"{source}: Grasp-Anything labels must have shape (N, 6) = (_, x, y, w, h, theta), got {a.shape}")
    bad = ~np.isfinite(a[:, 1:]).all(axis=1) | (a[:, 3:5] < 0).any(axis=1)
    if bad.any():
        raise ValueError(f"{source}: row {int(np.argmax(bad))} is not a valid grasp: {a[int(np.argmax(bad))].tolist()}")
    return as_rects(np.column_stack([a[:, 1], a[:, 2], -np.radians(a[:, 5]), a[:, 3], a[:, 4]]), source)


def to_grasp_anything_rows(rects, first_column: float = 0.0) -> np.ndarray:
    """(N, 5) rectangles → (N, 6) Grasp-Anything rows ``_, x, y, w, h, θ°``."""
    r = as_rects(rects)
    return np.column_stack([np.full(len(r), first_column), r[:, 0], r[:, 1], r[:, 3], r[:, 4], -np.degrees(r[:, 2])])


# -- scaling ----------------------------------------------------------------------------
def scale_rects(rects, factor: float) -> np.ndarray:
    """Rectangles of an image resized by ``factor`` (pixel centres follow OpenCV's resize:
    u' = (u + 0.5) * factor - 0.5)."""
    r = as_rects(rects)
    r[:, 0:2] = (r[:, 0:2] + 0.5) * factor - 0.5
    r[:, 3:5] *= factor
    return r

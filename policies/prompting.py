"""From graspsim prompts to the arrays a learned model takes, and training prompts
(shared by the GraspSAM and Redmon policies and their training).

Conventions (those of :mod:`graspsim.prompts`): points are (u, v) pixels,
u = column (right), v = row (down), pixel (row i, column j) centred on
(u, v) = (j, i), so an H x W image covers [-0.5, W - 0.5] x [-0.5, H - 0.5];
labels are 1 (positive) and 0 (negative), -1 marks padding and is dropped;
a box is (u0, v0, u1, v1), pixel indices of the first and last covered
column / row (inclusive, as SAM's ``batched_mask_to_box`` and
``make_prompt`` give it), so u0 == u1 is a one-pixel-wide box; masks are
bool (H, W). All coordinates are in pixels of the image of ``image_shape``.

:func:`prompt_arrays` returns ``dict(points, labels, box, mask)``:

- point / points: ``points`` float32 (N, 2), ``labels`` int64 (N,) 0/1;
- gaze: one positive point (the gaze point);
- box: ``box`` float32 (4,), clipped to the image;
- mask: ``mask`` bool (H, W);
- text: ``box`` from ``grounder.ground(text, rgb, context)``
  (:mod:`graspsim.grounding`), validated and clipped like a box prompt.

Fields a kind does not use are None. Invalid prompts raise ValueError naming
the field and the value: a point outside the image (or not finite), labels
other than 0/1, an empty box (u1 < u0 or v1 < v0), a box entirely outside
the image, a mask of the wrong shape or with no pixel, a text prompt without
a grounder or that the grounder cannot ground.
"""

from __future__ import annotations

import numpy as np

from graspsim.prompts import PROMPT_KINDS, Prompt


TRAINING_PROMPT_KINDS = ("points", "point", "box")
#: positive points of a "points" training prompt (GraspSAM trains with 10)
TRAINING_POINTS = 10
#: largest jitter (pixels) added to each side of a training box
BOX_JITTER_PX = 4.0


def check_hw(shape, field: str = "shape") -> tuple[int, int]:
    """(H, W) from a shape (H, W) or (H, W, C); ValueError naming ``field`` otherwise."""
    try:
        h, w = (int(s) for s in tuple(shape)[:2])
    except (TypeError, ValueError):
        raise ValueError(f"{field} must be (H, W) or (H, W, C), got {shape!r}") from None
    if h <= 0 or w <= 0:
        raise ValueError(f"{field} must have positive sizes, got {shape!r}")
    return h, w


def _empty() -> dict:
    return {"points": None, "labels": None, "box": None, "mask": None}


def text_prompt_arrays(text: str) -> dict:
    """The prompt arrays of a phrase read by a model's own language path: no points, box or
    mask, only ``text`` (:func:`.graspsam.inference.predict` passes it to the model)."""
    return {**_empty(), "text": text}


def check_points(points, labels, image_shape) -> tuple[np.ndarray, np.ndarray]:
    """Validated (N, 2) float32 points and (N,) int64 labels; padding (label -1) dropped."""
    h, w = check_hw(image_shape, "image_shape")
    p = np.asarray(points, np.float64).reshape(-1, 2) if np.size(points) else np.zeros((0, 2))
    lab = np.asarray(labels, np.int64).reshape(-1) if np.size(labels) else np.zeros((0,), np.int64)
    if len(lab) != len(p):
        raise ValueError(f"prompt labels: {len(lab)} labels for {len(p)} points")
    keep = lab != -1
    p, lab = p[keep], lab[keep]
    if len(p) == 0:
        raise ValueError("prompt points: the prompt has no point")
    bad = np.flatnonzero(~np.isin(lab, (0, 1)))
    if bad.size:
        raise ValueError(f"prompt labels[{bad[0]}] must be 1 (positive) or 0 (negative), got {int(lab[bad[0]])}")
    inside = np.isfinite(p).all(1) & (p[:, 0] >= -0.5) & (p[:, 0] <= w - 0.5) & (p[:, 1] >= -0.5) & (p[:, 1] <= h - 0.5)
    if not inside.all():
        i = int(np.flatnonzero(~inside)[0])
        raise ValueError(
            f"prompt points[{i}] = ({p[i, 0]:g}, {p[i, 1]:g}) lies outside the {w}x{h} image "
            f"(u in [-0.5, {w - 0.5:g}], v in [-0.5, {h - 0.5:g}])"
        )
    return p.astype(np.float32), lab


def check_box(box, image_shape, field: str = "box") -> np.ndarray:
    """A validated float32 (4,) box (u0, v0, u1, v1), clipped to [0, W-1] x [0, H-1]."""
    h, w = check_hw(image_shape, "image_shape")
    if box is None:
        raise ValueError(f"prompt {field}: the prompt has no box")
    b = np.asarray(box, np.float64).reshape(-1)
    if b.shape != (4,) or not np.isfinite(b).all():
        raise ValueError(f"prompt {field} must be 4 finite numbers (u0, v0, u1, v1), got {np.asarray(box).tolist()}")
    u0, v0, u1, v1 = b
    if u1 < u0 or v1 < v0:
        raise ValueError(f"prompt {field} = {b.tolist()} is empty (needs u0 <= u1 and v0 <= v1)")
    if u1 < -0.5 or v1 < -0.5 or u0 > w - 0.5 or v0 > h - 0.5:
        raise ValueError(f"prompt {field} = {b.tolist()} lies entirely outside the {w}x{h} image")
    return np.clip(b, 0.0, [w - 1, h - 1, w - 1, h - 1]).astype(np.float32)


def check_mask(mask, image_shape) -> np.ndarray:
    """A validated bool (H, W) mask with at least one pixel."""
    h, w = check_hw(image_shape, "image_shape")
    if mask is None:
        raise ValueError("prompt mask: the prompt has no mask")
    m = np.asarray(mask)
    if m.shape != (h, w):
        raise ValueError(f"prompt mask has shape {m.shape}, the image is {(h, w)}")
    m = m > 0 if m.dtype != bool else m.copy()
    if not m.any():
        raise ValueError("prompt mask is empty (no pixel set)")
    return m


def prompt_arrays(
    prompt: Prompt,
    image_shape,
    grounder=None,
    context: dict | None = None,
    rgb: np.ndarray | None = None,
) -> dict:
    """Model prompt arrays for ``prompt`` on an image of ``image_shape`` (module docstring).

    ``grounder`` (a :class:`graspsim.grounding.Grounder`), ``context`` and ``rgb`` are
    used by text prompts only: the box is ``grounder.ground(prompt.text, rgb,
    context)``.
    """
    if not isinstance(prompt, Prompt):
        raise TypeError(f"prompt must be a graspsim.prompts.Prompt, got {type(prompt).__name__}")
    kind = prompt.kind
    if kind not in PROMPT_KINDS:
        raise ValueError(f"prompt kind must be one of {PROMPT_KINDS}, got {kind!r}")
    out = _empty()
    if kind in ("point", "points"):
        out["points"], out["labels"] = check_points(prompt.points, prompt.labels, image_shape)
    elif kind == "gaze":
        pts = np.asarray(prompt.points, np.float64).reshape(-1, 2) if np.size(prompt.points) else np.zeros((0, 2))
        if len(pts) != 1:
            raise ValueError(f"prompt points: a gaze prompt has exactly one point, got {len(pts)}")
        out["points"], out["labels"] = check_points(pts, np.ones(1, np.int64), image_shape)
    elif kind == "box":
        out["box"] = check_box(prompt.box, image_shape)
    elif kind == "mask":
        out["mask"] = check_mask(prompt.mask, image_shape)
    else:  # text
        from graspsim.grounding import ground_prompt

        out["box"] = check_box(ground_prompt(prompt, grounder, rgb, context), image_shape, field="box (grounded text)")
    return out


def sample_training_prompt(
    mask,
    rng: np.random.Generator,
    kind: str = "points",
    n_points: int = TRAINING_POINTS,
    box_jitter_px: float = BOX_JITTER_PX,
) -> dict:
    """A random prompt for training on the object ``mask`` (bool (H, W)), deterministic given ``rng``.

    kind "points": ``n_points`` positive points at pixels of the mask (drawn
    without replacement when the mask has enough pixels); "point": one;
    "box": the mask's tight box (inclusive pixel indices) with each side
    moved by a uniform offset in [-box_jitter_px, box_jitter_px], clipped to
    the image and kept non-empty. Returns the :func:`prompt_arrays` dict.
    """
    if kind not in TRAINING_PROMPT_KINDS:
        raise ValueError(f"training prompt kind must be one of {TRAINING_PROMPT_KINDS}, got {kind!r}")
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"mask must be (H, W), got shape {m.shape}")
    vs, us = np.nonzero(m)
    if len(us) == 0:
        raise ValueError("sample_training_prompt: the object mask is empty")
    h, w = m.shape
    out = _empty()
    if kind in ("points", "point"):
        n = 1 if kind == "point" else int(n_points)
        if n < 1:
            raise ValueError(f"n_points must be >= 1, got {n_points!r}")
        picks = rng.choice(len(us), size=n, replace=n > len(us))
        out["points"] = np.stack([us[picks], vs[picks]], 1).astype(np.float32)
        out["labels"] = np.ones(n, np.int64)
        return out
    box = np.array([us.min(), vs.min(), us.max(), vs.max()], np.float64)
    if box_jitter_px > 0:
        box += rng.uniform(-box_jitter_px, box_jitter_px, size=4)
    box = np.clip(box, 0.0, [w - 1, h - 1, w - 1, h - 1])
    box[2] = max(box[2], box[0])
    box[3] = max(box[3], box[1])
    out["box"] = box.astype(np.float32)
    return out

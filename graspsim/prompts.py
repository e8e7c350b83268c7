"""Prompts: how the user tells a policy which object to grasp.

Kinds (``PROMPT_KINDS``):

- ``point``: one positive point inside the target's visible mask.
- ``points``: ``n_points`` positive points inside the mask.
- ``box``: the tight box (u0, v0, u1, v1) of the visible mask, pixels, inclusive.
- ``mask``: the visible mask itself (H x W, uint8 0/1).
- ``text``: the target's catalogue name, e.g. "red cylinder".
- ``gaze``: one point at the mask's centroid plus Gaussian noise of
  ``gaze_noise_px`` pixels, so it may fall beside the object.

Points are (u, v) pixel coordinates; labels are 1 (positive), 0 (negative)
and -1 for padding, as in Segment Anything. In observations the text is a
fixed-length uint8 array of ASCII codes padded with zeros (``encode_text`` /
``decode_text``): unlike a Gymnasium Text space it survives AsyncVectorEnv's
shared memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PROMPT_KINDS = ("point", "points", "box", "mask", "text", "gaze")
MAX_POINTS = 10
TEXT_MAX_LENGTH = 64
#: Characters allowed in text prompts (the Gymnasium Text space's charset).
TEXT_CHARSET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_'.,()"


def encode_text(text: str) -> np.ndarray:
    """ASCII codes of ``text`` in a zero-padded uint8 array of TEXT_MAX_LENGTH."""
    bad = sorted(set(text) - set(TEXT_CHARSET))
    if bad or len(text) > TEXT_MAX_LENGTH:
        raise ValueError(
            f"text prompt {text!r} must have at most {TEXT_MAX_LENGTH} characters from {TEXT_CHARSET!r}"
        )
    out = np.zeros(TEXT_MAX_LENGTH, np.uint8)
    out[: len(text)] = np.frombuffer(text.encode("ascii"), np.uint8)
    return out


def decode_text(codes) -> str:
    """Inverse of :func:`encode_text`."""
    codes = np.asarray(codes, np.uint8)
    return codes[codes > 0].tobytes().decode("ascii")


def check_kind(kind: str) -> str:
    if kind not in PROMPT_KINDS:
        raise ValueError(f"prompt must be one of {PROMPT_KINDS}, got {kind!r}")
    return kind


@dataclass
class Prompt:
    """A prompt of one kind; fields of the other kinds stay empty."""

    kind: str
    points: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))
    labels: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.int64))
    box: np.ndarray | None = None
    mask: np.ndarray | None = None
    text: str = ""

    def to_observation(self, shape: tuple[int, int]) -> dict:
        """The fixed-size observation form (see ``prompt_space``)."""
        points = np.full((MAX_POINTS, 2), -1.0, np.float32)
        labels = np.full((MAX_POINTS,), -1, np.int64)
        n = len(self.points)
        points[:n] = self.points
        labels[:n] = self.labels
        # copies: changing an observation must never change the environment's prompt
        box = np.full(4, -1.0, np.float32) if self.box is None else np.array(self.box, np.float32, copy=True)
        mask = np.zeros(shape, np.uint8) if self.mask is None else self.mask.astype(np.uint8, copy=True)
        return {
            "kind": np.int64(PROMPT_KINDS.index(self.kind)),
            "points": points,
            "labels": labels,
            "box": box,
            "mask": mask,
            "text": encode_text(self.text),
        }

    @classmethod
    def from_observation(cls, obs: dict) -> "Prompt":
        kind = PROMPT_KINDS[int(obs["kind"])]
        labels = np.asarray(obs["labels"])
        keep = labels >= 0
        box = np.asarray(obs["box"], np.float32)
        return cls(
            kind,
            np.asarray(obs["points"], np.float32)[keep],
            labels[keep].astype(np.int64),
            None if kind != "box" else box,
            None if kind != "mask" else np.asarray(obs["mask"]).astype(bool),
            decode_text(obs["text"]),
        )

    def to_dict(self) -> dict:
        """JSON-friendly summary (the mask as its pixel count)."""
        d = {"kind": self.kind}
        if len(self.points):
            d["points"] = self.points.round(2).tolist()
            d["labels"] = self.labels.tolist()
        if self.box is not None:
            d["box"] = [float(b) for b in self.box]
        if self.mask is not None:
            d["mask_pixels"] = int(self.mask.sum())
        if self.text:
            d["text"] = self.text
        return d


def prompt_anchor(prompt: Prompt) -> tuple[float, float]:
    """The pixel (u, v) a prompt designates: its first positive point (point, points,
    gaze), its box's centre, or its mask's centroid. ValueError for a text prompt (a
    phrase designates no pixel until it is grounded) or a prompt with nothing to anchor."""
    if prompt.kind == "text":
        raise ValueError("a text prompt designates no pixel: ground it to a box or point first")
    if prompt.kind == "box":
        if prompt.box is None:
            raise ValueError("box prompt without a box")
        u0, v0, u1, v1 = (float(x) for x in prompt.box)
        return (u0 + u1) / 2, (v0 + v1) / 2
    if prompt.kind == "mask":
        if prompt.mask is None or not np.asarray(prompt.mask).any():
            raise ValueError("mask prompt with no pixel")
        rows, cols = np.nonzero(prompt.mask)
        return float(cols.mean()), float(rows.mean())
    positive = np.flatnonzero(np.asarray(prompt.labels) == 1)
    if not len(positive):
        raise ValueError(f"{prompt.kind} prompt without a positive point")
    u, v = (float(x) for x in prompt.points[positive[0]])
    return u, v


def prompt_space(height: int, width: int):
    """The Gymnasium Dict space of a prompt observation."""
    from gymnasium import spaces

    hi = float(max(height, width))
    return spaces.Dict(
        {
            "kind": spaces.Discrete(len(PROMPT_KINDS)),
            "points": spaces.Box(-1.0, hi, (MAX_POINTS, 2), np.float32),
            "labels": spaces.Box(-1, 1, (MAX_POINTS,), np.int64),
            "box": spaces.Box(-1.0, hi, (4,), np.float32),
            "mask": spaces.Box(0, 1, (height, width), np.uint8),
            "text": spaces.Box(0, 127, (TEXT_MAX_LENGTH,), np.uint8),
        }
    )


def make_prompt(
    kind: str,
    target_mask: np.ndarray,
    text: str,
    rng: np.random.Generator,
    n_points: int = 3,
    gaze_noise_px: float = 8.0,
) -> Prompt:
    """Make a prompt of ``kind`` for the target whose visible mask is ``target_mask``."""
    check_kind(kind)
    mask = np.asarray(target_mask, bool)
    vs, us = np.nonzero(mask)
    if len(us) == 0:
        raise ValueError("make_prompt: the target is not visible (empty mask)")
    h, w = mask.shape
    if kind in ("point", "points"):
        n = 1 if kind == "point" else n_points
        if not (1 <= n <= MAX_POINTS):
            raise ValueError(f"n_points must be in [1, {MAX_POINTS}], got {n!r}")
        picks = rng.choice(len(us), size=n, replace=n > len(us))
        pts = np.stack([us[picks], vs[picks]], 1).astype(np.float32)
        return Prompt(kind, pts, np.ones(n, np.int64))
    if kind == "box":
        return Prompt(kind, box=np.array([us.min(), vs.min(), us.max(), vs.max()], np.float32))
    if kind == "mask":
        return Prompt(kind, mask=mask.copy())
    if kind == "text":
        encode_text(text)  # validates
        return Prompt(kind, text=text)
    # gaze
    centre = np.array([us.mean(), vs.mean()]) + rng.normal(0.0, gaze_noise_px, size=2)
    centre = np.clip(centre, 0, [w - 1, h - 1]).astype(np.float32)
    return Prompt(kind, centre[None, :], np.ones(1, np.int64))

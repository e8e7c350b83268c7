"""The Redmon & Angelova (2015) networks: one AlexNet-like backbone, three heads.

Backbone: five convolutions (11×11/4, 5×5, 3×3, 3×3, 3×3; max pooling after
the first, second and fifth; ReLU) and three fully connected layers (two
hidden, dropout 0.5, then the head's outputs), on a 3 × 224 × 224 RGD input
(:mod:`.inputs`). ``width`` scales AlexNet's channels (96, 256, 384, 384, 256)
and ``hidden`` sets the two hidden layers (AlexNet: 4096) so that the model
trains on a CPU; batch normalisation follows each convolution (AlexNet had
local response normalisation) because it lets the small model train in few
epochs without ImageNet pre-training.

Heads (``MODELS``), all in the crop frame of S = 224 pixels:

- ``direct``: 6 numbers ``(u/S, v/S, sin 2θ, cos 2θ, jaw/S, opening/S)``
  (the paper's x, y, sin 2θ, cos 2θ, h, w), one grasp per image; loss: sum of
  the squared errors, averaged over the batch.
- ``classify``: the same plus one logit per object category; loss: the direct
  loss + ``class_weight`` (``CLASS_WEIGHT``, 1) × cross entropy (objects without a known category
  add no class loss).
- ``multigrasp``: a G × G grid (7 × 7) × 7 channels: a grasp-likelihood logit
  and per cell ``(x, y, sin 2θ, cos 2θ, jaw/S, opening/S)``, x, y the centre's
  offset within the cell in [0, 1); loss: binary cross entropy of the
  likelihood over every cell + squared errors of the 6 values in the cells
  that hold a ground-truth grasp (averaged over those cells). Targets from up
  to ``MAX_GRASPS`` (5) ground-truth grasps (:func:`encode_grid`); a later
  grasp in an already used cell replaces the earlier one.

Angles: θ = atan2(sin 2θ, cos 2θ) / 2, the rectangle convention of
:mod:`graspsim.rectangles` (closing line from +u towards −v).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .inputs import INPUT_SIZE

MODELS = ("direct", "classify", "multigrasp")
ALEXNET_CHANNELS = (96, 256, 384, 384, 256)
DEFAULT_WIDTH = 0.125
DEFAULT_HIDDEN = 256
GRID = 7
MAX_GRASPS = 5
CLASS_WEIGHT = 1.0
CHECKPOINT_FORMAT = "graspsim-redmon"
CHECKPOINT_VERSION = 1


def check_model(model: str) -> str:
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    return model


class RedmonNet(nn.Module):
    """Backbone + the head of ``model`` (module docstring). ``classes``: category names
    (``classify`` only)."""

    def __init__(self, model: str = "direct", width: float = DEFAULT_WIDTH, hidden: int = DEFAULT_HIDDEN,
                 classes: tuple[str, ...] = (), grid: int = GRID):
        super().__init__()
        self.kind = check_model(model)
        if not (isinstance(width, (int, float)) and 0 < width <= 1):
            raise ValueError(f"width must be a number in (0, 1], got {width!r}")
        if not (isinstance(hidden, int) and hidden >= 1):
            raise ValueError(f"hidden must be a positive integer, got {hidden!r}")
        if not (isinstance(grid, int) and grid >= 1):
            raise ValueError(f"grid must be a positive integer, got {grid!r}")
        self.classes = tuple(classes) if model == "classify" else ()
        if model == "classify" and not self.classes:
            raise ValueError("the classify model needs at least one class (classes=())")
        self.width, self.hidden, self.grid = float(width), int(hidden), int(grid)
        c = [max(4, int(round(ch * width))) for ch in ALEXNET_CHANNELS]

        def conv(cin, cout, k, s, p):
            return [nn.Conv2d(cin, cout, k, s, p, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        self.features = nn.Sequential(
            *conv(3, c[0], 11, 4, 2), nn.MaxPool2d(3, 2),
            *conv(c[0], c[1], 5, 1, 2), nn.MaxPool2d(3, 2),
            *conv(c[1], c[2], 3, 1, 1), *conv(c[2], c[3], 3, 1, 1), *conv(c[3], c[4], 3, 1, 1), nn.MaxPool2d(3, 2),
        )
        self.outputs = 6 + len(self.classes) if model != "multigrasp" else 7 * grid * grid
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.5), nn.Linear(c[4] * 6 * 6, hidden), nn.ReLU(inplace=True),
            nn.Dropout(0.5), nn.Linear(hidden, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, self.outputs),
        )

    def config(self) -> dict:
        return {"model": self.kind, "width": self.width, "hidden": self.hidden, "classes": list(self.classes), "grid": self.grid}

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """x: (B, 3, 224, 224) -> {"grasp": (B, 6)} (+ "logits" (B, C)) or {"grid": (B, 7, G, G)}."""
        if x.ndim != 4 or tuple(x.shape[1:]) != (3, INPUT_SIZE, INPUT_SIZE):
            raise ValueError(f"input must be (B, 3, {INPUT_SIZE}, {INPUT_SIZE}), got {tuple(x.shape)}")
        y = self.head(self.features(x))
        if self.kind == "multigrasp":
            return {"grid": y.view(-1, 7, self.grid, self.grid)}
        out = {"grasp": y[:, :6]}
        if self.kind == "classify":
            out["logits"] = y[:, 6:]
        return out


# -- grasp encodings ---------------------------------------------------------------------
def encode_grasp(rects, size: int = INPUT_SIZE) -> np.ndarray:
    """(N, 5) crop-frame rectangles -> (N, 6) values (u/S, v/S, sin 2θ, cos 2θ, jaw/S, opening/S)."""
    r = np.asarray(rects, np.float64).reshape(-1, 5)
    return np.stack([r[:, 0] / size, r[:, 1] / size, np.sin(2 * r[:, 2]), np.cos(2 * r[:, 2]),
                     r[:, 4] / size, r[:, 3] / size], 1).astype(np.float32)


def decode_grasp(values, size: int = INPUT_SIZE) -> np.ndarray:
    """(N, 6) values -> (N, 5) crop-frame rectangles (u, v, angle, opening, jaw)."""
    g = np.asarray(values, np.float64).reshape(-1, 6)
    angle = np.arctan2(g[:, 2], g[:, 3]) / 2
    angle = np.where(angle <= -math.pi / 2, angle + math.pi, angle)
    return np.stack([g[:, 0] * size, g[:, 1] * size, angle, np.maximum(g[:, 5], 0) * size,
                     np.maximum(g[:, 4], 0) * size], 1)


def encode_grid(rects, grid: int = GRID, size: int = INPUT_SIZE) -> np.ndarray:
    """(N, 5) crop-frame rectangles (N <= MAX_GRASPS is the caller's choice) -> (7, G, G)
    targets: channel 0 is 1 in the cells holding a grasp centre; channels 1–6 there hold
    (x offset, y offset, sin 2θ, cos 2θ, jaw/S, opening/S). Centres outside the crop are dropped."""
    r = np.asarray(rects, np.float64).reshape(-1, 5)
    out = np.zeros((7, grid, grid), np.float32)
    cell = size / grid
    values = encode_grasp(r, size)
    for k in range(len(r)):
        x, y = (r[k, 0] + 0.5) / cell, (r[k, 1] + 0.5) / cell
        j, i = int(math.floor(x)), int(math.floor(y))
        if not (0 <= i < grid and 0 <= j < grid):
            continue
        out[:, i, j] = [1.0, x - j, y - i, *values[k, 2:]]
    return out


def decode_grid(grid_values, size: int = INPUT_SIZE, logits: bool = True) -> np.ndarray:
    """(7, G, G) grid -> (G·G, 6) crop-frame rectangles with their score (the likelihood,
    sigmoid of the logit when ``logits``), ranked best first."""
    g = np.asarray(grid_values, np.float64)
    n = g.shape[1]
    cell = size / n
    ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    score = 1 / (1 + np.exp(-g[0])) if logits else g[0]
    values = np.stack([(jj + g[1]) * cell - 0.5, (ii + g[2]) * cell - 0.5, g[3], g[4], g[5], g[6]], -1).reshape(-1, 6)
    values[:, :2] /= size
    rects = decode_grasp(values, size)
    s = score.reshape(-1)
    order = np.argsort(-s, kind="stable")
    return np.hstack([rects, s[:, None]])[order]


def predictions(output: dict[str, torch.Tensor], size: int = INPUT_SIZE) -> list[np.ndarray]:
    """Per image of the batch: the ranked crop-frame rectangles (K, 6) with scores
    (direct / classify: K = 1, score 1)."""
    if "grid" in output:
        return [decode_grid(g) for g in output["grid"].detach().float().cpu().numpy()]
    g = output["grasp"].detach().float().cpu().numpy()
    return [np.hstack([decode_grasp(row, size), np.ones((1, 1))]) for row in g]


# -- losses ------------------------------------------------------------------------------
def loss_fn(kind: str, output: dict, targets: dict, class_weight: float = CLASS_WEIGHT) -> tuple[torch.Tensor, dict]:
    """The loss of ``kind`` (module docstring). targets: "grasp" (B, 6) and "label" (B,)
    int64 (-1: unknown) for direct / classify; "grid" (B, 7, G, G) for multigrasp."""
    check_model(kind)
    if kind == "multigrasp":
        pred, tgt = output["grid"], targets["grid"]
        heat = F.binary_cross_entropy_with_logits(pred[:, 0], tgt[:, 0])
        cells = tgt[:, 0] > 0.5
        n = cells.sum().clamp(min=1)
        coord = ((pred[:, 1:] - tgt[:, 1:]) ** 2).sum(1)[cells].sum() / n
        loss = heat + coord
        return loss, {"loss": float(loss.detach()), "heat": float(heat.detach()), "coord": float(coord.detach())}
    coord = ((output["grasp"] - targets["grasp"]) ** 2).sum(1).mean()
    parts = {"coord": float(coord.detach())}
    loss = coord
    if kind == "classify":
        label = targets["label"]
        if (label >= 0).any():
            ce = F.cross_entropy(output["logits"], label, ignore_index=-1)
            loss = loss + class_weight * ce
            parts["ce"] = float(ce.detach())
    parts["loss"] = float(loss.detach())
    return loss, parts


# -- checkpoints -------------------------------------------------------------------------
def save_checkpoint(model: RedmonNet, path, metadata: dict | None = None) -> None:
    """Write ``model`` (weights in float16) with its configuration and ``metadata``."""
    import os
    from pathlib import Path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: (v.half() if v.is_floating_point() else v).cpu().clone() for k, v in model.state_dict().items()}
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "config": model.config(),
                "state_dict": state, "metadata": metadata or {}}, tmp)
    os.replace(tmp, path)


def load_checkpoint(path, model: str | None = None, device="cpu") -> tuple[RedmonNet, dict]:
    """(network in eval mode, metadata) from a checkpoint; ``model`` given: refuse another head."""
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"Redmon checkpoint {str(path)!r} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - any unreadable file
        raise ValueError(f"{str(path)!r} is not a readable checkpoint ({exc})") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{str(path)!r} is not a Redmon checkpoint (format {CHECKPOINT_FORMAT!r})")
    cfg = state["config"]
    if model is not None and cfg["model"] != check_model(model):
        raise ValueError(f"checkpoint {str(path)!r} holds a {cfg['model']!r} model, not {model!r}")
    net = RedmonNet(cfg["model"], cfg["width"], cfg["hidden"], tuple(cfg["classes"]), cfg["grid"])
    net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state["state_dict"].items()})
    return net.to(device).eval(), state.get("metadata", {})


__all__ = [
    "MODELS", "RedmonNet", "decode_grasp", "decode_grid", "encode_grasp", "encode_grid", "load_checkpoint",
    "loss_fn", "predictions", "save_checkpoint",
]

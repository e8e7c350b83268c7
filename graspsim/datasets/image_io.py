"""Image readers shared by the loaders: clear errors for missing or unreadable files."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def read_rgb(path: Path, sample_id: str) -> np.ndarray:
    """Read a colour image as uint8 (H, W, 3) RGB; a missing or unreadable file raises ValueError."""
    if not path.is_file():
        raise ValueError(f"sample {sample_id!r}: image file {str(path)!r} is missing")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"sample {sample_id!r}: cannot read image file {str(path)!r}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def read_depth_tiff(path: Path) -> np.ndarray:
    """Read a float depth TIFF as float32 (H, W), values as stored; NaN/inf become 0 (missing)."""
    d = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if d is None:
        raise ValueError(f"cannot read depth image {str(path)!r}")
    if d.ndim == 3:
        d = d[..., 0]
    return np.nan_to_num(d.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)


def check_unique(ids: list[str], paths: list[Path], what: str) -> None:
    """Raise ValueError when two files give the same sample id."""
    seen: dict[str, Path] = {}
    for i, p in zip(ids, paths):
        if i in seen:
            raise ValueError(f"{what}: sample id {i!r} appears twice: {str(seen[i])!r} and {str(p)!r}")
        seen[i] = p


def read_image_unchanged(path: Path, what: str) -> np.ndarray:
    """Read an image as stored (label images, 16-bit depth); a missing or unreadable file raises ValueError."""
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError(f"{what}: image file {str(path)!r} is missing or unreadable")
    return img

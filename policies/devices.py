"""Device choice shared by the learned policies (needs torch)."""

from __future__ import annotations

import torch


def pick_device(device: str | None) -> torch.device:
    """``device`` if given, else CUDA when available, else the CPU."""
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


__all__ = ["pick_device"]

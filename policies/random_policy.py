"""`random`: a uniformly random grasp anywhere in the image (the floor of every table)."""

from __future__ import annotations

import math

import numpy as np

from .base import BasePolicy


class RandomPolicy(BasePolicy):
    """Centre uniform over the image, angle uniform in [-π/2, π/2), opening
    uniform between ``min_opening_px`` and ``max_opening_px``."""

    name = "random"
    accepts_text = True  # it ignores every prompt

    def __init__(self, seed: int | None = None, min_opening_px: float = 10.0, max_opening_px: float = 60.0,
                 grounder=None):
        """``grounder`` is accepted and ignored (the policy reads no prompt), so that
        ``--grounder`` applies to every policy of a benchmark."""
        if not (0 <= min_opening_px <= max_opening_px):
            raise ValueError(f"need 0 <= min_opening_px <= max_opening_px, got {min_opening_px!r}, {max_opening_px!r}")
        self.min_opening_px, self.max_opening_px = min_opening_px, max_opening_px
        super().__init__(seed)

    def act(self, observation: dict) -> np.ndarray:
        h, w = observation["depth"].shape
        u, v = self.rng.uniform(0, w - 1), self.rng.uniform(0, h - 1)
        angle = self.rng.uniform(-math.pi / 2, math.pi / 2)
        opening = self.rng.uniform(self.min_opening_px, self.max_opening_px)
        return np.array([u, v, angle, opening], np.float32)

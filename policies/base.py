"""The Policy protocol: observation (with a prompt) -> action.

An action is the environment's image-frame grasp: a float32 array
(u, v, angle, opening_px) (see graspsim.grasp.ImageGrasp). Policies draw any
randomness from their own generator, seeded by ``reset(seed)``. ``last_maps``
holds intermediate images (masks, quality maps) of the last call, for figures.
"""

from __future__ import annotations

import abc
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Policy(Protocol):
    name: str
    last_maps: dict[str, np.ndarray]

    def reset(self, seed: int | None = None) -> None:
        """Start a new episode; seeds the policy's random stream."""

    def act(self, observation: dict) -> np.ndarray:
        """Return the action (u, v, angle, opening_px) for ``observation``."""


class BasePolicy(abc.ABC):
    """Convenience base: a seeded generator and an empty ``last_maps``."""

    name = "base"

    def __init__(self, seed: int | None = None):
        self.last_maps: dict[str, np.ndarray] = {}
        self.reset(seed)

    def reset(self, seed: int | None = None) -> None:
        self.rng = np.random.default_rng(seed)

    @abc.abstractmethod
    def act(self, observation: dict) -> np.ndarray:
        """Return the action (u, v, angle, opening_px) for ``observation``."""

    def __call__(self, observation: dict) -> np.ndarray:
        return self.act(observation)

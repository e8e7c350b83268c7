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
    """Convenience base: a seeded generator and an empty ``last_maps``.

    ``accepts_text``: whether the policy can act on a text prompt (it has a
    language path, e.g. a grounder); the benchmark refuses a text run of a
    policy that says False before any episode.
    """

    name = "base"
    accepts_text = False

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


class GroundedPolicy(BasePolicy):
    """A policy that grounds text prompts to boxes with a grounder
    (:mod:`graspsim.grounding`; default: the simulator's CatalogueGrounder, which
    needs the scene's segmentation and names through :meth:`set_context`)."""

    accepts_text = True

    def __init__(self, grounder=None, seed: int | None = None):
        if grounder is None:
            from graspsim.grounding import CatalogueGrounder

            grounder = CatalogueGrounder()
        self.grounder = grounder
        self.context: dict | None = None
        super().__init__(seed)

    def set_context(self, context: dict | None) -> None:
        """Context for the grounder (for CatalogueGrounder: segmentation and names)."""
        self.context = context

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
    needs the scene's segmentation and names through :meth:`set_context`).

    ``grounder``: a Grounder object, ``"catalogue"`` (the default; an oracle: it
    reads the simulator's ground truth), ``"owlvit:FOLDER"``, or ``"model"`` --
    the policy's own learned language path, for policies that have one
    (:meth:`_use_own_language_path`; the others raise ValueError).
    ``grounder_name`` names the choice in records."""

    accepts_text = True

    def __init__(self, grounder=None, seed: int | None = None):
        from graspsim.grounding import grounder_name, make_grounder

        self.context: dict | None = None
        if grounder == "model":
            self._use_own_language_path()
            self.grounder, self.grounder_name = None, "model"
        else:
            self.grounder = make_grounder(grounder)
            self.grounder_name = grounder_name(self.grounder)
        super().__init__(seed)

    def _use_own_language_path(self) -> None:
        """Check that the policy can read text itself (grounder "model"); ValueError if not."""
        raise ValueError(f"policy {self.name!r} has no language path of its own: grounder 'model' needs "
                         "a GraspSAM checkpoint trained with text prompts (graspsim train graspsam --text)")

    def set_context(self, context: dict | None) -> None:
        """Context for the grounder (for CatalogueGrounder: segmentation and names)."""
        self.context = context

"""Ground-truth grasps from simulated trials, as data (the trials themselves:
:mod:`graspsim.sim.trials`).

Labels are *world* top-down grasps (x, y, z, yaw, opening_m), so they do not
depend on the camera: :meth:`ObjectLabels.rects` projects them into any
camera's image as rectangles (jaw = the finger width of the gripper the
trials used, ``gripper``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from graspsim.camera import Camera
from graspsim.grasp import TopDownGrasp, world_to_image
from graspsim.grippers import DEFAULT_GRIPPER, get_gripper


@dataclass(frozen=True)
class ObjectLabels:
    """Simulated-trial labels of one object.

    positive / negative: (N, 5) float64 world grasps (x, y, z, yaw, opening_m).
    negative_modes: the executor's failure mode of each negative.
    candidates: how many candidates were generated; filtered: how many passed
    the cheap filters (the trials are a spread-out subset of those).
    gripper: name of the gripper the trials used (:mod:`graspsim.grippers`).
    """

    positive: np.ndarray
    negative: np.ndarray
    negative_modes: tuple[str, ...] = ()
    candidates: int = 0
    filtered: int = 0
    gripper: str = DEFAULT_GRIPPER

    def rects(self, camera: Camera) -> tuple[np.ndarray, np.ndarray]:
        """Positive and negative rectangles (N, 5) in ``camera``'s image."""

        gripper = get_gripper(self.gripper)

        def project(rows: np.ndarray) -> np.ndarray:
            return np.array([world_to_image(TopDownGrasp(*r), camera, gripper=gripper).as_rect() for r in rows]).reshape(-1, 5)

        return project(self.positive), project(self.negative)

    def to_dict(self) -> dict:
        return {
            "positive": self.positive.tolist(),
            "negative": self.negative.tolist(),
            "negative_modes": list(self.negative_modes),
            "candidates": self.candidates,
            "filtered": self.filtered,
            **({} if self.gripper == DEFAULT_GRIPPER else {"gripper": self.gripper}),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "ObjectLabels":
        try:
            pos = np.asarray(d["positive"], dtype=np.float64).reshape(-1, 5)
            neg = np.asarray(d["negative"], dtype=np.float64).reshape(-1, 5)
            modes = tuple(str(m) for m in d.get("negative_modes", ()))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed grasp labels: {exc}") from None
        if not (np.isfinite(pos).all() and np.isfinite(neg).all()):
            raise ValueError("malformed grasp labels: non-finite values")
        if modes and len(modes) != len(neg):
            raise ValueError(f"malformed grasp labels: {len(modes)} failure modes for {len(neg)} negatives")
        gripper = str(d.get("gripper", DEFAULT_GRIPPER))
        return cls(pos, neg, modes, int(d.get("candidates", 0)), int(d.get("filtered", 0)), gripper)

"""Replay frames of a grasp attempt, seen from an oblique camera.

A top-down still cannot show *why* a grasp slipped or hit a neighbour. A
:class:`ReplayRecorder` attached to an :class:`~graspsim.sim.executor.Executor`
renders the scene every ``every_steps`` physics steps (12: 20 frames per
simulated second at 240 Hz) from a camera ``EYE_OFFSET_M`` beside and above
the grasp point, looking at it, through every phase that steps physics
(approach, close, lift, hold). Rendering reads the simulation and changes
nothing in it: outcomes are the same with and without a recorder.
"""

from __future__ import annotations

import numpy as np

#: camera position relative to the grasp point (metres): in front, to the side and above
EYE_OFFSET_M = (0.30, -0.42, 0.30)
#: the camera looks this far above the grasp point, so the lift stays in the frame
LOOK_ABOVE_M = 0.07
FOV_DEG = 50.0


class ReplayRecorder:
    """Collects ``(phase, rgb uint8 H×W×3)`` frames of one attempt in ``frames``."""

    def __init__(self, world, width: int = 320, height: int = 240, every_steps: int = 12):
        if not (isinstance(every_steps, int) and every_steps >= 1):
            raise ValueError(f"every_steps must be a positive integer, got {every_steps!r}")
        if not (isinstance(width, int) and isinstance(height, int) and 16 <= width <= 1920 and 16 <= height <= 1080):
            raise ValueError(f"replay frame size must be integers in [16, 1920] x [16, 1080], got {width}x{height}")
        self.world = world
        self.width, self.height, self.every_steps = width, height, every_steps
        self.frames: list[tuple[str, np.ndarray]] = []
        self.phase = ""
        self._target = np.zeros(3)
        self._steps = 0

    def start(self, target) -> None:
        """Begin recording an attempt aimed at world point ``target`` (m)."""
        self._target = np.asarray(target, np.float64)
        self._steps = 0
        self.world.step_hook = self._on_step
        self.capture()

    def stop(self) -> None:
        self.capture()
        self.world.step_hook = None

    def set_phase(self, phase: str) -> None:
        self.phase = phase

    def _on_step(self) -> None:
        self._steps += 1
        if self._steps % self.every_steps == 0:
            self.capture()

    def capture(self) -> None:
        import pybullet as p

        look = self._target + (0.0, 0.0, LOOK_ABOVE_M)
        view = p.computeViewMatrix((look + EYE_OFFSET_M).tolist(), look.tolist(), [0, 0, 1])
        projection = p.computeProjectionMatrixFOV(FOV_DEG, self.width / self.height, 0.05, 3.0)
        _, _, rgba, _, _ = p.getCameraImage(
            self.width, self.height, view, projection, renderer=p.ER_TINY_RENDERER,
            flags=p.ER_NO_SEGMENTATION_MASK, physicsClientId=self.world.client,
        )
        rgb = np.asarray(rgba, np.uint8).reshape(self.height, self.width, 4)[..., :3]
        self.frames.append((self.phase, rgb.copy()))

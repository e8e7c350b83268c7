"""Executes a top-down grasp in physics and says what happened.

Sequence (physics at 240 Hz): the open hand appears ``PREGRASP_HEIGHT`` above
the grasp; it descends to the grasp pose, aborting on any contact; the fingers
close under their force limit until they stop; the hand lifts
``LIFT_HEIGHT``; it holds for ``HOLD_TIME`` seconds (optionally shaking).

Failure modes (``Outcome.failure_mode``; None on success):

- ``collision_on_approach``: the hand touched something before reaching the grasp pose.
- ``no_contact``: the fingers closed without touching any object.
- ``missed_target``: the fingers touched only other objects, and nothing was held at the end.
- ``wrong_object``: another object, not the target, was held at the end.
- ``slipped``: the fingers touched the target when closing, but it was not held at the end.
- ``no_grasp``: the policy found no grasp (an action with ``opening_px = 0``); nothing is executed
  (recorded by the environments, never by :meth:`Executor.execute`).

Success means the *target* is held: raised at least ``LIFT_SUCCESS`` above
its pose at closing time and touching both fingers at the end of the hold.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from graspsim.grasp import TopDownGrasp
from graspsim.sim.gripper import Gripper
from graspsim.sim.world import TIME_STEP, World

FAILURE_MODES = ("collision_on_approach", "no_contact", "missed_target", "wrong_object", "slipped", "no_grasp")
PREGRASP_HEIGHT = 0.10  # m above the grasp
APPROACH_SPEED = 0.25  # m/s
OPENING_CLEARANCE = 0.01  # m added to the requested opening before the approach
CLOSE_TIMEOUT = 1.0  # s
LIFT_HEIGHT = 0.15  # m
LIFT_SPEED = 0.25  # m/s
HOLD_TIME = 1.0  # s
LIFT_SUCCESS = 0.10  # m an object must rise to count as lifted


@dataclass
class Outcome:
    """The result of one grasp attempt.

    success: the target was held at the end.
    failure_mode: one of FAILURE_MODES, or None on success.
    lifted_ids: object indices raised by at least LIFT_SUCCESS at the end.
    touched_ids: object indices the fingers touched when closed.
    held_ids: lifted objects touching both fingers at the end.
    timings: wall-clock milliseconds per phase ("approach", "close", "lift", "hold", "total").
    """

    success: bool
    failure_mode: str | None
    target: int
    lifted_ids: list[int] = field(default_factory=list)
    touched_ids: list[int] = field(default_factory=list)
    held_ids: list[int] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "success": self.success,
            "failure_mode": self.failure_mode,
            "target": self.target,
            "lifted_ids": self.lifted_ids,
            "touched_ids": self.touched_ids,
            "held_ids": self.held_ids,
            "timings_ms": self.timings,
        }


class Executor:
    """Runs grasps in a :class:`World` with the world's gripper
    (``world.gripper_spec``), whose body is created on first use."""

    def __init__(self, world: World, shake: bool = False):
        self.world = world
        self.shake = shake

    def _gripper(self) -> Gripper:
        if self.world.gripper is None:
            self.world.gripper = Gripper(self.world.client, self.world.gripper_spec)
        return self.world.gripper

    def _objects_touched(self, gripper: Gripper) -> tuple[set[int], set[int]]:
        """Object indices touching the left and the right finger."""
        body_to_index = {b: i for i, b in self.world.objects.items()}
        left, right = set(), set()
        for link, body in gripper.contacts():
            if body in body_to_index:
                (left if link == 0 else right if link == 1 else set()).add(body_to_index[body])
        return left, right

    def _hand_collides(self, gripper: Gripper) -> bool:
        return bool(gripper.contacts())

    def execute(self, grasp: TopDownGrasp, target: int) -> Outcome:
        """Try ``grasp``; success is judged for object index ``target``."""
        grasp.check()
        if target not in self.world.objects:
            raise ValueError(f"target object index {target!r} is not in the scene")
        w = self.world
        g = self._gripper()
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        opening = min(grasp.opening_m + OPENING_CLEARANCE, w.gripper_spec.max_opening_m)
        grasp_pos = np.array([grasp.x, grasp.y, grasp.z])
        start = grasp_pos + [0, 0, PREGRASP_HEIGHT]

        def finish(outcome: Outcome) -> Outcome:
            timings["total"] = (time.perf_counter() - t0) * 1e3
            outcome.timings = {k: round(v, 3) for k, v in timings.items()}
            g.park()
            return outcome

        # approach
        g.teleport(start, grasp.yaw, opening)
        w.step(1)
        collided = self._hand_collides(g)
        steps = max(int(math.ceil(PREGRASP_HEIGHT / (APPROACH_SPEED * TIME_STEP))), 1)
        for k in range(1, steps + 1):
            if collided:
                break
            g.move_to(start + (grasp_pos - start) * k / steps, grasp.yaw)
            w.step(1)
            collided = self._hand_collides(g)
        for _ in range(24):  # let the hand converge on the final pose
            if collided:
                break
            w.step(1)
            collided = self._hand_collides(g)
        timings["approach"] = (time.perf_counter() - t0) * 1e3
        if collided:
            return finish(Outcome(False, "collision_on_approach", target))

        # close
        t1 = time.perf_counter()
        z_at_close = {i: w.pose(i)[0][2] for i in w.objects}
        g.set_opening(0.0)
        still = 0
        for _ in range(int(CLOSE_TIMEOUT / TIME_STEP)):
            w.step(1)
            still = still + 1 if g.finger_speed() < 1e-3 else 0
            if still >= 10:
                break
        left, right = self._objects_touched(g)
        touched = sorted(left | right)
        timings["close"] = (time.perf_counter() - t1) * 1e3
        if not touched:
            return finish(Outcome(False, "no_contact", target, timings=timings))

        # lift
        t2 = time.perf_counter()
        steps = int(math.ceil(LIFT_HEIGHT / (LIFT_SPEED * TIME_STEP)))
        for k in range(1, steps + 1):
            g.move_to(grasp_pos + [0, 0, LIFT_HEIGHT * k / steps], grasp.yaw)
            w.step(1)
        timings["lift"] = (time.perf_counter() - t2) * 1e3

        # hold (optionally shake: ±0.3 rad yaw at 2 Hz and ±2 cm sideways)
        t3 = time.perf_counter()
        top = grasp_pos + [0, 0, LIFT_HEIGHT]
        for k in range(int(HOLD_TIME / TIME_STEP)):
            if self.shake:
                phase = 2 * math.pi * 2.0 * k * TIME_STEP
                g.move_to(top + [0.02 * math.sin(phase), 0, 0], grasp.yaw + 0.3 * math.sin(phase))
            w.step(1)
        if self.shake:
            g.move_to(top, grasp.yaw)
            w.step(24)
        timings["hold"] = (time.perf_counter() - t3) * 1e3

        lifted = sorted(i for i in w.objects if w.pose(i)[0][2] - z_at_close[i] >= LIFT_SUCCESS)
        left, right = self._objects_touched(g)
        held = sorted(i for i in lifted if i in left and i in right)
        outcome = Outcome(target in held, None, target, lifted, touched, held)
        if not outcome.success:
            if held:
                outcome.failure_mode = "wrong_object"
            elif target in touched:
                outcome.failure_mode = "slipped"
            else:
                outcome.failure_mode = "missed_target"
        return finish(outcome)

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

A :class:`Schedule` sets the timing. :data:`FULL` (the environments' and the
benchmark's) is the sequence above. :data:`FAST` (the labeller's) tests the
approach kinematically: the open hand is placed at
``APPROACH_CHECKS`` heights along its path and any contact there is a
``collision_on_approach`` (the settled scene does not move while the hand
descends, and the full approach aborts at the first contact, so the test
asks the same question without stepping physics); it then lifts twice as fast
and holds a quarter of the time. Its agreement with :data:`FULL` is measured by
``graspsim bench label --validate`` (fewer solver iterations were tried too:
at 60 instead of 150 the agreement fell from 0.98 to 0.93 on 200 trials).
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
APPROACH_CHECKS = 21  # hand placements of a kinematic approach test (5 mm apart over PREGRASP_HEIGHT)


@dataclass(frozen=True)
class Schedule:
    """How a grasp is executed in time.

    approach: ``"physical"`` (descend under the holding constraint, abort on
    contact) or ``"swept"`` (kinematic contact test of the path, no physics
    steps); lift_speed in m/s; hold_time in s; solver_iterations: the physics
    solver's iterations during the attempt (None: the world's).
    """

    approach: str = "physical"
    lift_speed: float = LIFT_SPEED
    hold_time: float = HOLD_TIME
    solver_iterations: int | None = None

    def __post_init__(self):
        if self.approach not in ("physical", "swept"):
            raise ValueError(f"schedule approach must be 'physical' or 'swept', got {self.approach!r}")
        for name in ("lift_speed", "hold_time"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"schedule {name} must be a positive number, got {value!r}")
        if self.solver_iterations is not None and not (isinstance(self.solver_iterations, int) and self.solver_iterations >= 1):
            raise ValueError(f"schedule solver_iterations must be a positive integer or None, got {self.solver_iterations!r}")


#: the environments' schedule
FULL = Schedule()
#: the labeller's schedule (agreement with FULL: ``graspsim bench label --validate``)
FAST = Schedule(approach="swept", lift_speed=0.5, hold_time=0.25)
#: the schedules by the names the environments, the benchmark and the CLI take
SCHEDULES = {"full": FULL, "fast": FAST}


def schedule_named(name: str) -> Schedule:
    """The :class:`Schedule` called ``name`` in :data:`SCHEDULES`; ValueError naming the value otherwise."""
    if not isinstance(name, str) or name not in SCHEDULES:
        raise ValueError(f"schedule must be one of {tuple(SCHEDULES)}, got {name!r}")
    return SCHEDULES[name]


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
    (``world.gripper_spec``), whose body is created on first use, on a
    :class:`Schedule` (default :data:`FULL`)."""

    def __init__(self, world: World, shake: bool = False, schedule: Schedule = FULL):
        if not isinstance(schedule, Schedule):
            raise ValueError(f"schedule must be a Schedule, got {type(schedule).__name__}")
        self.world = world
        self.shake = shake
        self.schedule = schedule
        #: a :class:`graspsim.sim.replay.ReplayRecorder` filming the next attempts, or None
        self.recorder = None

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

    def _swept_collides(self, gripper: Gripper, start: np.ndarray, end: np.ndarray, yaw: float, opening: float) -> bool:
        """Whether the open hand touches anything at any of APPROACH_CHECKS placements
        from ``start`` to ``end`` (collision detection only; nothing moves)."""
        import pybullet as p

        for k in range(APPROACH_CHECKS):
            gripper.teleport(start + (end - start) * k / (APPROACH_CHECKS - 1), yaw, opening)
            p.performCollisionDetection(physicsClientId=self.world.client)
            if self._hand_collides(gripper):
                return True
        return False

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

        sched = self.schedule
        if sched.solver_iterations is not None:
            import pybullet as p

            p.setPhysicsEngineParameter(numSolverIterations=sched.solver_iterations, physicsClientId=w.client)

        rec = self.recorder
        if rec is not None:
            rec.set_phase("approach")
            rec.start(grasp_pos)

        def finish(outcome: Outcome) -> Outcome:
            if rec is not None:
                rec.set_phase(outcome.failure_mode or "held")
                rec.stop()
            timings["total"] = (time.perf_counter() - t0) * 1e3
            outcome.timings = {k: round(v, 3) for k, v in timings.items()}
            g.park()
            if sched.solver_iterations is not None:
                p.setPhysicsEngineParameter(numSolverIterations=w.solver_iterations, physicsClientId=w.client)
            return outcome

        # approach
        if sched.approach == "swept":
            collided = self._swept_collides(g, start, grasp_pos, grasp.yaw, opening)
        else:
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
        if rec is not None:
            rec.set_phase("close")
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
        if rec is not None:
            rec.set_phase("lift")
        t2 = time.perf_counter()
        steps = int(math.ceil(LIFT_HEIGHT / (sched.lift_speed * TIME_STEP)))
        for k in range(1, steps + 1):
            g.move_to(grasp_pos + [0, 0, LIFT_HEIGHT * k / steps], grasp.yaw)
            w.step(1)
        timings["lift"] = (time.perf_counter() - t2) * 1e3

        # hold (optionally shake: ±0.3 rad yaw at 2 Hz and ±2 cm sideways)
        if rec is not None:
            rec.set_phase("hold")
        t3 = time.perf_counter()
        top = grasp_pos + [0, 0, LIFT_HEIGHT]
        for k in range(int(round(sched.hold_time / TIME_STEP))):
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

"""The executor's protocol, step by step (graspsim/sim/executor.py).

tests/test_executor.py checks each outcome; these tests check *how* an attempt runs: the hand's
path, the number of physics steps of every phase, when the close and the approach stop, the
recorder's phases, the solver setting, the timing record and the decision rules. The protocol
decides every published success rate, so a change to any of its constants (approach speed,
convergence steps, lift speed, hold time, shake amplitude and frequency) must fail a test
rather than move the numbers silently. Written for the survivors of the module's mutation run
(docs/tests.md, "Mutation testing").
"""

from __future__ import annotations

import math
import time

import numpy as np
import pybullet as p
import pytest

from graspsim.grasp import TopDownGrasp
from graspsim.objects import get_object_set
from graspsim.sim.executor import FAST, FULL, Executor, Outcome, Schedule
from graspsim.sim.world import World

BOX = "red box"  # 3 x 4 x 4 cm
GRASP = TopDownGrasp(0.0, 0.0, 0.015, 0.0, 0.04)  # across the box's 3 cm side
DT = 1.0 / 240.0


class Trace:
    """A recorder (the executor's ``recorder`` interface) that logs the attempt instead of filming it:
    the phases, the physics steps in each, the finger speed, whether the hand touches anything and
    the solver iterations after each step, and every hand target (teleport / move_to) per phase."""

    def __init__(self, world, gripper):
        self.world, self.gripper = world, gripper
        self.phase, self.phases, self.target, self.recording = "", [], None, False
        self.steps: dict[str, int] = {}
        self.speeds: dict[str, list[float]] = {}
        self.touching: dict[str, list[bool]] = {}
        self.solver: list[int] = []
        self.moves: list[tuple[str, np.ndarray, float]] = []
        self.teleports: list[tuple[str, np.ndarray, float, float]] = []
        move_to, teleport = gripper.move_to, gripper.teleport
        self._finger_speed = gripper.finger_speed  # the real reading, even when a test stubs it

        def traced_move_to(position, yaw):
            if self.recording and not self._in_teleport:
                self.moves.append((self.phase, np.array(position, np.float64), float(yaw)))
            move_to(position, yaw)

        def traced_teleport(position, yaw, opening):
            if self.recording:
                self.teleports.append((self.phase, np.array(position, np.float64), float(yaw), float(opening)))
            self._in_teleport = True
            try:
                teleport(position, yaw, opening)
            finally:
                self._in_teleport = False

        self._in_teleport = False
        gripper.move_to, gripper.teleport = traced_move_to, traced_teleport

    def start(self, target):
        self.target = np.array(target, np.float64)
        self.recording = True
        self.world.step_hook = self._on_step

    def set_phase(self, phase):
        self.phase = phase
        self.phases.append(phase)

    def stop(self):
        self.world.step_hook = None
        self.recording = False

    def _on_step(self):
        ph = self.phase
        self.steps[ph] = self.steps.get(ph, 0) + 1
        self.speeds.setdefault(ph, []).append(self._finger_speed())
        self.touching.setdefault(ph, []).append(bool(self.gripper.contacts()))
        self.solver.append(p.getPhysicsEngineParameters(physicsClientId=self.world.client)["numSolverIterations"])


def box_world(mass=None, static=False):
    w = World()
    w.add_object(get_object_set("primitives"), BOX, 1.0, [0.0, 0.0, 0.0201], [0, 0, 0, 1])
    if mass is not None or static:
        p.changeDynamics(w.objects[0], -1, mass=0.0 if static else mass, physicsClientId=w.client)
    w.settle()
    return w


def traced(world, **kwargs):
    ex = Executor(world, **kwargs)
    trace = Trace(world, ex._gripper())
    ex.recorder = trace
    return ex, trace


def moves_in(trace, phase):
    return [(pos, yaw) for ph, pos, yaw in trace.moves if ph == phase]


# -- the full schedule, step by step ---------------------------------------------------------
def test_full_attempt_phases_steps_and_hand_path():
    """A successful FULL attempt: the open hand appears 10 cm above the grasp (opening + 1 cm), descends
    to it in 96 steps (0.25 m/s at 240 Hz) after one settling step, converges for 24 steps, closes, lifts
    15 cm in 144 steps (0.25 m/s), holds 240 steps (1 s) at the top; the recorder sees each phase in
    order, aimed at the grasp point, and ends on "held"."""
    with box_world() as w:
        ex, trace = traced(w)
        out = ex.execute(GRASP, target=0)
    grasp = np.array([GRASP.x, GRASP.y, GRASP.z])
    assert out.success and out.target == 0
    assert trace.phases == ["approach", "close", "lift", "hold", "held"]
    np.testing.assert_array_equal(trace.target, grasp)
    # approach: teleport to the pre-grasp pose, then 96 targets along the straight path down
    assert len(trace.teleports) == 1
    phase, pos, yaw, opening = trace.teleports[0]
    assert phase == "approach" and yaw == 0.0 and opening == pytest.approx(0.05)
    np.testing.assert_allclose(pos, grasp + [0, 0, 0.10], atol=1e-12)
    down = moves_in(trace, "approach")
    assert len(down) == 96
    for k, (target, _) in enumerate(down, start=1):
        np.testing.assert_allclose(target, grasp + [0, 0, 0.10 * (1 - k / 96)], atol=1e-12)
    assert trace.steps["approach"] == 1 + 96 + 24
    # lift: 144 targets, 15 cm up
    up = moves_in(trace, "lift")
    assert len(up) == 144 and trace.steps["lift"] == 144
    for k, (target, yaw) in enumerate(up, start=1):
        np.testing.assert_allclose(target, grasp + [0, 0, 0.15 * k / 144], atol=1e-12)
        assert yaw == 0.0
    # hold: no hand motion without shake, 240 steps
    assert moves_in(trace, "hold") == [] and trace.steps["hold"] == 240
    assert out.timings.keys() == {"approach", "close", "lift", "hold", "total"}


def test_the_close_stops_after_ten_still_steps():
    """The fingers close until their speed has been below 1 mm/s for ten steps in a row, and no longer."""
    with box_world() as w:
        ex, trace = traced(w)
        ex.execute(GRASP, target=0)
    speeds = trace.speeds["close"]
    still, stop = 0, None
    for n, v in enumerate(speeds, start=1):
        still = still + 1 if v < 1e-3 else 0
        if still == 10:
            stop = n
            break
    assert stop == len(speeds) == trace.steps["close"] < 240
    # the fingers moved first (so the count restarted when they did)
    assert max(speeds[:5]) > 1e-3


@pytest.mark.parametrize("speeds, steps", [
    ([0.0], 10),  # still from the start: ten steps
    ([0.0] * 5 + [0.01] + [0.0], 5 + 1 + 10),  # a moving step restarts the count from zero
    ([1e-3], 240),  # 1 mm/s is not "below 1 mm/s": the close times out after one second
    ([1.0], 240),
])
def test_the_close_counts_still_steps_from_the_finger_speed(speeds, steps):
    """The finger speed read after each close step (stubbed here; the last value repeats) decides when the
    close ends."""
    with box_world() as w:
        ex, trace = traced(w)
        readings = iter(speeds)
        ex._gripper().finger_speed = lambda: next(readings, speeds[-1])
        ex.execute(GRASP, target=0)
    assert trace.steps["close"] == steps


@pytest.mark.parametrize("mass, shake", [(None, True), (7.0, False)])
def test_the_shake_moves_the_hand_2_cm_and_0_3_rad_at_2_hz(mass, shake):
    """With shake the hold moves the hand ±2 cm along x and turns it ±0.3 rad, in phase, at 2 Hz for 1 s, then
    returns it to the top and waits 24 steps; the default (no shake) holds still. (A 7 kg box in the 40 N
    fingers survives the plain hold: the default is the plain hold.)"""
    with box_world(mass=mass) as w:
        ex, trace = traced(w, **({"shake": True} if shake else {}))
        out = ex.execute(GRASP, target=0)
    assert out.success
    top = np.array([GRASP.x, GRASP.y, GRASP.z + 0.15])
    hold = moves_in(trace, "hold")
    if not shake:
        assert hold == [] and trace.steps["hold"] == 240
        return
    assert len(hold) == 241 and trace.steps["hold"] == 240 + 24
    for k, (target, yaw) in enumerate(hold[:240]):
        s = math.sin(2 * math.pi * 2.0 * k * DT)
        np.testing.assert_allclose(target, top + [0.02 * s, 0, 0], atol=1e-12)
        assert yaw == pytest.approx(0.3 * s, abs=1e-12)
    np.testing.assert_allclose(hold[240][0], top, atol=1e-12)
    assert hold[240][1] == 0.0
    assert max(abs(y) for _, y in hold) == pytest.approx(0.3, abs=1e-3)


def test_fast_schedule_tests_the_path_kinematically():
    """FAST: no physics during the approach; the open hand is placed at 21 heights 5 mm apart from 10 cm above
    the grasp down to the grasp itself; it lifts twice as fast (72 steps) and holds a quarter of a second."""
    with box_world() as w:
        ex, trace = traced(w, schedule=FAST)
        out = ex.execute(GRASP, target=0)
    assert out.success
    assert trace.steps.get("approach", 0) == 0
    grasp = np.array([GRASP.x, GRASP.y, GRASP.z])
    placements = [pos for ph, pos, _, _ in trace.teleports if ph == "approach"]
    assert len(placements) == 21
    for k, pos in enumerate(placements):
        np.testing.assert_allclose(pos, grasp + [0, 0, 0.10 - 0.005 * k], atol=1e-12)
    assert trace.steps["lift"] == 72 and trace.steps["hold"] == 60
    assert trace.phases == ["approach", "close", "lift", "hold", "held"]


# -- the approach stops at the first contact ---------------------------------------------------
@pytest.mark.parametrize("case", ["at_pregrasp", "on_the_way", "fast"])
def test_the_approach_stops_at_the_first_step_with_contact(case):
    """The approach aborts after the first physics step that leaves the hand touching anything (a box
    right under the pre-grasp pose: after the settling step; fingers too narrow for the box: on the way
    down); FAST aborts at the first touching placement."""
    with box_world() as w:
        if case == "at_pregrasp":  # a fixed box where the open hand appears
            index = w.add_object(get_object_set("primitives"), BOX, 1.0, [0.0, 0.0, 0.17], [0, 0, 0, 1])  # in the palm
            p.changeDynamics(w.objects[index], -1, mass=0, physicsClientId=w.client)
        grasp = GRASP if case == "at_pregrasp" else TopDownGrasp(0.0, 0.0, 0.015, 0.0, 0.01)
        ex, trace = traced(w, **({"schedule": FAST} if case == "fast" else {}))
        out = ex.execute(grasp, target=0)
    assert out.failure_mode == "collision_on_approach" and not out.success and out.target == 0
    assert trace.phases == ["approach", "collision_on_approach"]
    assert out.timings.keys() == {"approach", "total"}
    if case == "fast":
        assert trace.steps == {} and 1 < len(trace.teleports) < 21
        return
    touching = trace.touching["approach"]
    assert touching[-1] and not any(touching[:-1])
    if case == "at_pregrasp":
        assert len(touching) == 1
    else:
        assert 1 < len(touching) < 1 + 96


def test_a_late_touch_during_the_convergence_stops_the_approach():
    """Fingertips that reach the table only as the hand converges on the grasp pose (grasp 1 mm under the
    table top) abort the approach at that step."""
    with box_world() as w:
        ex, trace = traced(w)
        out = ex.execute(TopDownGrasp(0.1, 0.1, -0.001, 0.0, 0.04), target=0)
    touching = trace.touching["approach"]
    assert out.failure_mode == "collision_on_approach"
    assert touching[-1] and not any(touching[:-1]) and len(touching) > 1 + 96


# -- solver iterations, timings ----------------------------------------------------------------
def test_schedule_solver_iterations_apply_to_the_attempt_in_its_own_world_only():
    """A schedule's solver iterations hold for every step of the attempt, in the executor's world (not in
    another client), and the world's own setting comes back afterwards."""
    with World() as other, box_world() as w:
        assert w.client != other.client
        ex, trace = traced(w, schedule=Schedule(solver_iterations=40))
        ex.execute(GRASP, target=0)
        assert set(trace.solver) == {40}
        assert p.getPhysicsEngineParameters(physicsClientId=w.client)["numSolverIterations"] == w.solver_iterations
        assert p.getPhysicsEngineParameters(physicsClientId=other.client)["numSolverIterations"] == other.solver_iterations


def test_timings_are_wall_clock_milliseconds_rounded_to_microseconds():
    with box_world() as w:
        ex = Executor(w)
        t = time.perf_counter()
        out = ex.execute(GRASP, target=0)
        wall_ms = (time.perf_counter() - t) * 1e3
    tm = out.timings
    assert 0.5 * wall_ms < tm["total"] <= wall_ms
    assert 0 < tm["approach"] < tm["total"]
    assert tm["approach"] + tm["close"] + tm["lift"] + tm["hold"] <= tm["total"] + 0.005
    assert all(0 < v and v == round(v, 3) for v in tm.values())
    assert any(v != round(v) for v in tm.values())


# -- decision rules and records ----------------------------------------------------------------
def test_touching_one_finger_counts_as_touched():
    """A fixed box reached by one finger only (the gear stops the other): the target was touched, so the
    failure is "slipped", not "no_contact"."""
    with box_world(static=True) as w:
        ex, _ = traced(w)
        out = ex.execute(TopDownGrasp(0.012, 0.0, 0.015, 0.0, 0.06), target=0)
        assert out.failure_mode == "slipped" and out.touched_ids == [0] and out.target == 0


def test_held_means_touching_both_fingers_at_the_end(monkeypatch):
    """A lifted target that touches only one finger at the end of the hold is not held (read with the
    contacts stubbed at the end: the rule, not the physics)."""
    with box_world() as w:
        ex = Executor(w)
        real = ex._objects_touched
        calls = []

        def touched(gripper):
            calls.append(1)
            left, right = real(gripper)
            return (left, set()) if len(calls) == 2 else (left, right)

        monkeypatch.setattr(ex, "_objects_touched", touched)
        out = ex.execute(GRASP, target=0)
    assert out.lifted_ids == [0] and out.held_ids == [] and not out.success and out.failure_mode == "slipped"


def test_contacts_of_links_other_than_the_fingers_count_for_neither():
    """Left finger = link 0, right finger = link 1; the palm (-1) and unknown bodies touch no finger."""
    with box_world() as w:
        w.add_object(get_object_set("primitives"), BOX, 1.0, [0.1, 0.0, 0.0201], [0, 0, 0, 1])
        ex = Executor(w)

        class FakeGripper:
            def contacts(self):
                return [(-1, w.objects[0]), (0, w.objects[1]), (1, w.objects[0]), (2, w.objects[1]), (0, 999)]

        left, right = ex._objects_touched(FakeGripper())
    assert left == {1} and right == {0}


def test_every_failure_record_names_its_target():
    """Outcome records of every branch carry the target index (here 1, not 0) and the record fields."""
    with box_world() as w:
        w.add_object(get_object_set("primitives"), BOX, 1.0, [0.1, 0.0, 0.0201], [0, 0, 0, 1])
        w.settle()
        ex = Executor(w)
        collision = ex.execute(TopDownGrasp(0.1, 0.0, 0.015, 0.0, 0.01), target=1)
        no_contact = ex.execute(TopDownGrasp(-0.1, 0.1, 0.01, 0.0, 0.04), target=1)
        wrong = ex.execute(GRASP, target=1)
    assert [o.target for o in (collision, no_contact, wrong)] == [1, 1, 1]
    assert [o.failure_mode for o in (collision, no_contact, wrong)] == ["collision_on_approach", "no_contact", "wrong_object"]
    assert no_contact.timings.keys() == {"approach", "close", "total"}
    d = wrong.to_dict()
    assert d == {"success": False, "failure_mode": "wrong_object", "target": 1, "lifted_ids": [0], "touched_ids": [0],
                 "held_ids": [0], "timings_ms": wrong.timings}


def test_outcome_record_fields():
    out = Outcome(True, None, 3, [3], [2, 3], [3], {"total": 1.5})
    assert out.to_dict() == {"success": True, "failure_mode": None, "target": 3, "lifted_ids": [3],
                             "touched_ids": [2, 3], "held_ids": [3], "timings_ms": {"total": 1.5}}


# -- schedules and construction ----------------------------------------------------------------
def test_valid_schedules():
    assert FULL == Schedule() and FULL.approach == "physical" and FULL.solver_iterations is None
    assert Schedule(approach="swept").approach == "swept"
    assert Schedule(solver_iterations=1).solver_iterations == 1
    assert Schedule(solver_iterations=None, lift_speed=0.1, hold_time=0.5).hold_time == 0.5


def test_executor_rejects_a_schedule_that_is_not_one():
    with World() as w:
        with pytest.raises(ValueError, match="schedule must be a Schedule, got str"):
            Executor(w, schedule="fast")

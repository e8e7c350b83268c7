"""Each failure mode (and success) produced by a constructed case."""

import math

import pybullet as p
import pytest

from graspsim.sim.executor import Executor
from graspsim.grasp import TopDownGrasp
from graspsim.objects import get_object_set

# "red box" is 3 x 4 x 4 cm; "yellow cylinder" is 3 cm across and 5 cm tall
BOX, CYL = "red box", "yellow cylinder"


@pytest.fixture
def world():
    from graspsim.sim.world import World

    with World() as w:
        prims = get_object_set("primitives")
        w.add_object(prims, BOX, 1.0, [0.0, 0.0, 0.0201], [0, 0, 0, 1])  # index 0
        w.add_object(prims, CYL, 1.0, [0.08, 0.0, 0.0251], [0, 0, 0, 1])  # index 1
        w.settle()
        yield w


def box_grasp(opening=0.04):
    # close along x, across the 3 cm side of the box
    return TopDownGrasp(0.0, 0.0, 0.015, 0.0, opening)


def cyl_grasp():
    return TopDownGrasp(0.08, 0.0, 0.025, 0.0, 0.04)


def make_heavy(world, index):
    p.changeDynamics(world.objects[index], -1, mass=20.0, physicsClientId=world.client)


def test_success(world):
    out = Executor(world).execute(box_grasp(), target=0)
    assert out.success and out.failure_mode is None
    assert out.lifted_ids == [0] and out.held_ids == [0]
    assert set(out.timings) >= {"approach", "close", "lift", "hold", "total"}


def test_success_with_shake(world):
    assert Executor(world, shake=True).execute(box_grasp(), target=0).success


def test_collision_on_approach(world):
    out = Executor(world).execute(box_grasp(opening=0.01), target=0)  # fingers land on the box
    assert out.failure_mode == "collision_on_approach" and not out.success


def test_no_contact(world):
    out = Executor(world).execute(TopDownGrasp(-0.08, 0.08, 0.01, 0.3, 0.04), target=0)
    assert out.failure_mode == "no_contact"


def test_wrong_object(world):
    out = Executor(world).execute(cyl_grasp(), target=0)
    assert out.failure_mode == "wrong_object" and out.held_ids == [1]


def test_missed_target(world):
    make_heavy(world, 1)  # the force-limited fingers cannot lift 20 kg
    out = Executor(world).execute(cyl_grasp(), target=0)
    assert out.failure_mode == "missed_target" and out.touched_ids == [1] and not out.lifted_ids


def test_slipped(world):
    make_heavy(world, 0)
    out = Executor(world).execute(box_grasp(), target=0)
    assert out.failure_mode == "slipped" and 0 in out.touched_ids


def test_bad_grasp_and_target_raise(world):
    with pytest.raises(ValueError, match="yaw"):
        Executor(world).execute(TopDownGrasp(0, 0, 0.01, math.nan, 0.04), target=0)
    with pytest.raises(ValueError, match="opening_m"):
        Executor(world).execute(TopDownGrasp(0, 0, 0.01, 0.0, -0.01), target=0)
    with pytest.raises(ValueError, match="target"):
        Executor(world).execute(box_grasp(), target=9)


@pytest.mark.parametrize("case, mode", [
    ("success", None), ("collision", "collision_on_approach"), ("no_contact", "no_contact"),
    ("wrong_object", "wrong_object"), ("slipped", "slipped"),
])
def test_fast_schedule_gives_the_full_schedules_outcome(world, case, mode):
    """The labeller's FAST schedule (kinematic approach test, quicker lift and hold,
    fewer solver iterations) reaches the same outcome as FULL on each constructed case."""
    from graspsim.sim.executor import FAST

    if case == "slipped":
        make_heavy(world, 0)
    grasp = {"success": box_grasp(), "collision": box_grasp(opening=0.01), "slipped": box_grasp(),
             "no_contact": TopDownGrasp(-0.08, 0.08, 0.01, 0.3, 0.04), "wrong_object": cyl_grasp()}[case]
    out = Executor(world, schedule=FAST).execute(grasp, target=0)
    assert out.failure_mode == mode and out.success == (mode is None)
    assert p.getPhysicsEngineParameters(physicsClientId=world.client)["numSolverIterations"] == world.solver_iterations


def test_fast_schedule_sees_an_obstacle_above_the_grasp(world):
    """An object the hand would meet on its way down (not at the grasp pose) stops the FAST attempt."""
    from graspsim.sim.executor import FAST

    prims = get_object_set("primitives")
    # a box floating (fixed in place) 6 cm above the grasp, in the descending palm's path
    index = world.add_object(prims, BOX, 1.0, [0.0, 0.0, 0.11], [0, 0, 0, 1])
    p.changeDynamics(world.objects[index], -1, mass=0, physicsClientId=world.client)
    out = Executor(world, schedule=FAST).execute(box_grasp(), target=0)
    assert out.failure_mode == "collision_on_approach"


@pytest.mark.parametrize("kwargs, field", [({"approach": "teleport"}, "approach"), ({"hold_time": 0.0}, "hold_time"),
                                           ({"lift_speed": math.inf}, "lift_speed"),
                                           ({"solver_iterations": 0}, "solver_iterations")])
def test_bad_schedules_name_the_field(kwargs, field):
    from graspsim.sim.executor import Schedule

    with pytest.raises(ValueError, match=f"schedule {field}"):
        Schedule(**kwargs)


@pytest.mark.parametrize("shake", [False, True])
def test_the_shake_has_an_effect(shake):
    """An object held loosely enough (7 kg in the 40 N fingers) survives the plain hold but not the shake."""
    from graspsim.sim.world import World

    with World() as w:
        w.add_object(get_object_set("primitives"), BOX, 1.0, [0.0, 0.0, 0.0201], [0, 0, 0, 1])
        p.changeDynamics(w.objects[0], -1, mass=7.0, physicsClientId=w.client)
        w.settle()
        out = Executor(w, shake=shake).execute(box_grasp(), target=0)
    assert out.success is not shake and out.failure_mode == ("slipped" if shake else None)


def test_lift_success_threshold_at_its_edge(monkeypatch):
    """An object counts as lifted when it rose at least LIFT_SUCCESS: just below its rise it is, just above it is not."""
    import graspsim.sim.executor as executor_module
    from graspsim.sim.world import World

    def attempt():
        with World() as w:
            w.add_object(get_object_set("primitives"), BOX, 1.0, [0.0, 0.0, 0.0201], [0, 0, 0, 1])
            w.settle()
            z0 = w.pose(0)[0][2]
            out = Executor(w).execute(box_grasp(), target=0)
            return out, w.pose(0)[0][2] - z0

    out, rise = attempt()
    assert out.success and 0.1 < rise < 0.16  # carried up the 15 cm lift
    monkeypatch.setattr(executor_module, "LIFT_SUCCESS", rise - 0.003)
    assert attempt()[0].success
    monkeypatch.setattr(executor_module, "LIFT_SUCCESS", rise + 0.003)
    out, _ = attempt()
    assert not out.success and out.lifted_ids == [] and out.failure_mode == "slipped"

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

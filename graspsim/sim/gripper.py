"""The gripper's body in a PyBullet world, built from a :class:`~graspsim.grippers.GripperSpec`.

Frame: the gripper frame's origin is the tool centre point (TCP), midway
between the fingertips at their lowest point; its z axis points up (away from
the fingers) and its x axis is the closing direction. A top-down grasp with
yaw ψ therefore puts the gripper frame at (x, y, z) rotated by ψ about world z.

The palm is a box on top of two box fingers on prismatic joints (position =
half the opening), coupled by a gear constraint and driven with the spec's
force limit; the hand is held by a fixed constraint with a force limit.
"""

from __future__ import annotations

import numpy as np

from graspsim.grippers import GripperSpec

CONTACT_DISTANCE = 0.0  # m: touching or penetrating


class Gripper:
    """The gripper body in a world; created on demand, parked out of view."""

    PARK = (0.0, 0.0, 3.0)

    def __init__(self, client: int, spec: GripperSpec):
        import pybullet as p

        self.client = client
        self.spec = spec
        c = client
        length, thickness, width, palm = spec.finger_length_m, spec.finger_thickness_m, spec.finger_width_m, spec.palm_half_m
        palm_col = p.createCollisionShape(
            p.GEOM_BOX, halfExtents=palm, collisionFramePosition=[0, 0, length + palm[2]], physicsClientId=c
        )
        palm_vis = p.createVisualShape(
            p.GEOM_BOX, halfExtents=palm, visualFramePosition=[0, 0, length + palm[2]],
            rgbaColor=[0.9, 0.9, 0.92, 1], physicsClientId=c,
        )
        fhalf = [thickness / 2, width / 2, length / 2]
        fingers_col, fingers_vis = [], []
        for sign in (-1, 1):
            offset = [sign * thickness / 2, 0, 0]
            fingers_col.append(p.createCollisionShape(p.GEOM_BOX, halfExtents=fhalf, collisionFramePosition=offset, physicsClientId=c))
            fingers_vis.append(
                p.createVisualShape(p.GEOM_BOX, halfExtents=fhalf, visualFramePosition=offset, rgbaColor=[0.25, 0.25, 0.28, 1], physicsClientId=c)
            )
        self.body = p.createMultiBody(
            baseMass=spec.palm_mass_kg,
            baseCollisionShapeIndex=palm_col,
            baseVisualShapeIndex=palm_vis,
            basePosition=self.PARK,
            linkMasses=[spec.finger_mass_kg] * 2,
            linkCollisionShapeIndices=fingers_col,
            linkVisualShapeIndices=fingers_vis,
            linkPositions=[[0, 0, length / 2]] * 2,
            linkOrientations=[[0, 0, 0, 1]] * 2,
            linkInertialFramePositions=[[0, 0, 0]] * 2,
            linkInertialFrameOrientations=[[0, 0, 0, 1]] * 2,
            linkParentIndices=[0, 0],
            linkJointTypes=[p.JOINT_PRISMATIC] * 2,
            linkJointAxis=[[-1, 0, 0], [1, 0, 0]],
            physicsClientId=c,
        )
        for link in (-1, 0, 1):
            p.changeDynamics(self.body, link, lateralFriction=spec.lateral_friction, spinningFriction=spec.spinning_friction, physicsClientId=c)
        for joint in (0, 1):
            p.changeDynamics(self.body, joint, jointLowerLimit=0.0, jointUpperLimit=spec.max_opening_m / 2, physicsClientId=c)
        gear = p.createConstraint(self.body, 0, self.body, 1, p.JOINT_GEAR, [1, 0, 0], [0, 0, 0], [0, 0, 0], physicsClientId=c)
        p.changeConstraint(gear, gearRatio=-1, erp=0.1, maxForce=2 * spec.finger_force_n, physicsClientId=c)
        self.anchor = p.createConstraint(
            self.body, -1, -1, -1, p.JOINT_FIXED, [0, 0, 0], [0, 0, 0], self.PARK, physicsClientId=c
        )
        p.changeConstraint(self.anchor, self.PARK, maxForce=self.spec.hold_force_n, physicsClientId=c)

    # -- hand ------------------------------------------------------------------------
    def teleport(self, position, yaw: float, opening: float) -> None:
        """Put the hand at ``position`` with ``yaw`` and the fingers at ``opening``,
        at rest, and hold it there."""
        import pybullet as p

        orn = p.getQuaternionFromEuler([0, 0, yaw])
        p.resetBasePositionAndOrientation(self.body, list(position), orn, physicsClientId=self.client)
        p.resetBaseVelocity(self.body, [0, 0, 0], [0, 0, 0], physicsClientId=self.client)
        for joint in (0, 1):
            p.resetJointState(self.body, joint, opening / 2, 0.0, physicsClientId=self.client)
        self.move_to(position, yaw)
        self.set_opening(opening)

    def move_to(self, position, yaw: float) -> None:
        """Set the target pose of the holding constraint."""
        import pybullet as p

        orn = p.getQuaternionFromEuler([0, 0, yaw])
        p.changeConstraint(self.anchor, list(position), orn, maxForce=self.spec.hold_force_n, physicsClientId=self.client)

    def park(self) -> None:
        self.teleport(self.PARK, 0.0, self.spec.max_opening_m)

    def position(self) -> np.ndarray:
        import pybullet as p

        return np.asarray(p.getBasePositionAndOrientation(self.body, physicsClientId=self.client)[0])

    # -- fingers ---------------------------------------------------------------------
    def set_opening(self, opening: float, force: float | None = None) -> None:
        """Drive both fingers towards a total ``opening`` (m) with a force limit (N; default the spec's)."""
        import pybullet as p

        target = float(np.clip(opening, 0.0, self.spec.max_opening_m)) / 2
        force = self.spec.finger_force_n if force is None else force
        for joint in (0, 1):
            p.setJointMotorControl2(
                self.body, joint, p.POSITION_CONTROL, targetPosition=target, force=force,
                maxVelocity=self.spec.finger_speed_mps, physicsClientId=self.client,
            )

    def opening(self) -> float:
        """Current distance between the finger pads (m)."""
        import pybullet as p

        states = p.getJointStates(self.body, [0, 1], physicsClientId=self.client)
        return states[0][0] + states[1][0]

    def finger_speed(self) -> float:
        import pybullet as p

        states = p.getJointStates(self.body, [0, 1], physicsClientId=self.client)
        return max(abs(states[0][1]), abs(states[1][1]))

    # -- contacts --------------------------------------------------------------------
    def contacts(self) -> list[tuple[int, int]]:
        """(gripper link, other body) pairs in contact now (link -1 is the palm).

        PyBullet also reports manifold points a little apart (up to its contact
        threshold); only points closer than CONTACT_DISTANCE count as contact.
        """
        import pybullet as p

        points = p.getContactPoints(self.body, physicsClientId=self.client)
        return sorted({(c[3], c[2]) for c in points if c[8] < CONTACT_DISTANCE})


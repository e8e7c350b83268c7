"""A floating parallel-jaw gripper with Franka-hand geometry.

Frame: the gripper frame's origin is the tool centre point (TCP), midway
between the fingertips at their lowest point; its z axis points up (away from
the fingers) and its x axis is the closing direction. A top-down grasp with
yaw ψ therefore puts the gripper frame at (x, y, z) rotated by ψ about world z.

Geometry (metres): palm 0.204 x 0.063 x 0.058 (Franka hand), fingers
0.018 x 0.022 x 0.054, opening 0 to 0.08. The two prismatic finger joints
(position = half the opening) are coupled by a gear constraint and driven with
a force limit; the hand is held by a fixed constraint with a force limit.
"""

from __future__ import annotations

import numpy as np

MAX_OPENING = 0.08
FINGER_LENGTH = 0.054
FINGER_THICKNESS = 0.018  # along the closing direction
FINGER_WIDTH = 0.022  # across the closing direction: the jaw size
PALM_HALF = (0.102, 0.0315, 0.029)
FINGER_FORCE = 40.0  # N per finger
HOLD_FORCE = 400.0  # N, constraint holding the hand
FINGER_SPEED = 0.1  # m/s
CONTACT_DISTANCE = 0.0  # m: touching or penetrating


class Gripper:
    """The gripper body in a world; created on demand, parked out of view."""

    PARK = (0.0, 0.0, 3.0)

    def __init__(self, client: int):
        import pybullet as p

        self.client = client
        c = client
        palm_col = p.createCollisionShape(
            p.GEOM_BOX, halfExtents=PALM_HALF, collisionFramePosition=[0, 0, FINGER_LENGTH + PALM_HALF[2]], physicsClientId=c
        )
        palm_vis = p.createVisualShape(
            p.GEOM_BOX, halfExtents=PALM_HALF, visualFramePosition=[0, 0, FINGER_LENGTH + PALM_HALF[2]],
            rgbaColor=[0.9, 0.9, 0.92, 1], physicsClientId=c,
        )
        fhalf = [FINGER_THICKNESS / 2, FINGER_WIDTH / 2, FINGER_LENGTH / 2]
        fingers_col, fingers_vis = [], []
        for sign in (-1, 1):
            offset = [sign * FINGER_THICKNESS / 2, 0, 0]
            fingers_col.append(p.createCollisionShape(p.GEOM_BOX, halfExtents=fhalf, collisionFramePosition=offset, physicsClientId=c))
            fingers_vis.append(
                p.createVisualShape(p.GEOM_BOX, halfExtents=fhalf, visualFramePosition=offset, rgbaColor=[0.25, 0.25, 0.28, 1], physicsClientId=c)
            )
        self.body = p.createMultiBody(
            baseMass=0.7,
            baseCollisionShapeIndex=palm_col,
            baseVisualShapeIndex=palm_vis,
            basePosition=self.PARK,
            linkMasses=[0.05, 0.05],
            linkCollisionShapeIndices=fingers_col,
            linkVisualShapeIndices=fingers_vis,
            linkPositions=[[0, 0, FINGER_LENGTH / 2]] * 2,
            linkOrientations=[[0, 0, 0, 1]] * 2,
            linkInertialFramePositions=[[0, 0, 0]] * 2,
            linkInertialFrameOrientations=[[0, 0, 0, 1]] * 2,
            linkParentIndices=[0, 0],
            linkJointTypes=[p.JOINT_PRISMATIC] * 2,
            linkJointAxis=[[-1, 0, 0], [1, 0, 0]],
            physicsClientId=c,
        )
        for link in (-1, 0, 1):
            p.changeDynamics(self.body, link, lateralFriction=1.0, spinningFriction=0.01, physicsClientId=c)
        for joint in (0, 1):
            p.changeDynamics(self.body, joint, jointLowerLimit=0.0, jointUpperLimit=MAX_OPENING / 2, physicsClientId=c)
        gear = p.createConstraint(self.body, 0, self.body, 1, p.JOINT_GEAR, [1, 0, 0], [0, 0, 0], [0, 0, 0], physicsClientId=c)
        p.changeConstraint(gear, gearRatio=-1, erp=0.1, maxForce=2 * FINGER_FORCE, physicsClientId=c)
        self.anchor = p.createConstraint(
            self.body, -1, -1, -1, p.JOINT_FIXED, [0, 0, 0], [0, 0, 0], self.PARK, physicsClientId=c
        )
        p.changeConstraint(self.anchor, self.PARK, maxForce=HOLD_FORCE, physicsClientId=c)

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
        p.changeConstraint(self.anchor, list(position), orn, maxForce=HOLD_FORCE, physicsClientId=self.client)

    def park(self) -> None:
        self.teleport(self.PARK, 0.0, MAX_OPENING)

    def position(self) -> np.ndarray:
        import pybullet as p

        return np.asarray(p.getBasePositionAndOrientation(self.body, physicsClientId=self.client)[0])

    # -- fingers ---------------------------------------------------------------------
    def set_opening(self, opening: float, force: float = FINGER_FORCE) -> None:
        """Drive both fingers towards a total ``opening`` (m) with a force limit (N)."""
        import pybullet as p

        target = float(np.clip(opening, 0.0, MAX_OPENING)) / 2
        for joint in (0, 1):
            p.setJointMotorControl2(
                self.body, joint, p.POSITION_CONTROL, targetPosition=target, force=force,
                maxVelocity=FINGER_SPEED, physicsClientId=self.client,
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


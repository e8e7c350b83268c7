"""The physics world: one PyBullet client in DIRECT mode with a table, objects and a gripper.

The world owns the gripper's spec (:class:`graspsim.grippers.GripperSpec`,
``gripper_spec``); the executor builds its body on first use.

Objects are addressed by their *object index* (their position in the scene
spec), never by PyBullet body id, so that ids are stable across rebuilds.
Rendered instance masks use ``object index + 1`` (0 is the table/background).
Physics runs at 240 Hz with deterministic contact ordering.
"""

from __future__ import annotations

import numpy as np

from graspsim.camera import Camera
from graspsim.grippers import GripperSpec, get_gripper

TIME_STEP = 1.0 / 240.0
#: Half-size of the square workspace on the table (metres): 30 x 30 cm.
WORKSPACE_HALF = 0.15
TABLE_COLOUR = (0.72, 0.70, 0.66, 1.0)


class World:
    """A PyBullet client holding a table and the objects of one scene.

    ``World`` owns its client; call :meth:`close` (or use it as a context
    manager) to free it.
    """

    def __init__(self, camera: Camera | None = None, solver_iterations: int = 150,
                 gripper: "str | GripperSpec | None" = None):
        import pybullet as p

        self.camera = camera or Camera()
        self.gripper_spec = get_gripper(gripper)
        self.solver_iterations = solver_iterations
        self.client = p.connect(p.DIRECT)
        self.objects: dict[int, int] = {}  # object index -> body id
        self.names: dict[int, str] = {}  # object index -> catalogue name
        self.gripper = None
        self.reset()

    # -- lifecycle -------------------------------------------------------------------
    def reset(self) -> None:
        """Empty the world: only the table (and no gripper) remains."""
        import pybullet as p

        c = self.client
        p.resetSimulation(physicsClientId=c)
        p.setGravity(0, 0, -9.81, physicsClientId=c)
        p.setPhysicsEngineParameter(
            fixedTimeStep=TIME_STEP,
            numSolverIterations=self.solver_iterations,
            deterministicOverlappingPairs=1,
            physicsClientId=c,
        )
        plane = p.createCollisionShape(p.GEOM_PLANE, physicsClientId=c)
        top = p.createVisualShape(
            p.GEOM_BOX, halfExtents=[0.5, 0.5, 0.005], visualFramePosition=[0, 0, -0.005],
            rgbaColor=TABLE_COLOUR, physicsClientId=c,
        )
        self.table = p.createMultiBody(0, plane, top, physicsClientId=c)
        p.changeDynamics(self.table, -1, lateralFriction=0.8, physicsClientId=c)
        self.objects.clear()
        self.names.clear()
        self.gripper = None

    def close(self) -> None:
        import pybullet as p

        if self.client is not None:
            p.disconnect(physicsClientId=self.client)
            self.client = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- objects ---------------------------------------------------------------------
    def add_object(self, object_set, name: str, scale: float, position, orientation) -> int:
        """Load ``name`` from ``object_set`` with its centre of mass at ``position``
        and quaternion ``orientation`` (x, y, z, w); returns its object index."""
        import pybullet as p

        body = object_set.load(self.client, name, scale)
        p.resetBasePositionAndOrientation(body, list(position), list(orientation), physicsClientId=self.client)
        index = len(self.objects) if not self.objects else max(self.objects) + 1
        self.objects[index] = body
        self.names[index] = name
        return index

    def remove_object(self, index: int) -> None:
        import pybullet as p

        p.removeBody(self.objects.pop(index), physicsClientId=self.client)
        self.names.pop(index)

    def pose(self, index: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Centre-of-mass position (m) and quaternion (x, y, z, w) of an object."""
        import pybullet as p

        pos, orn = p.getBasePositionAndOrientation(self.objects[index], physicsClientId=self.client)
        return tuple(pos), tuple(orn)

    def aabb(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        import pybullet as p

        lo, hi = p.getAABB(self.objects[index], physicsClientId=self.client)
        return np.asarray(lo), np.asarray(hi)

    def out_of_workspace(self, margin: float = 0.02) -> list[int]:
        """Indices of objects whose centre left the workspace or fell off the table."""
        gone = []
        for index in sorted(self.objects):
            (x, y, z), _ = self.pose(index)
            if abs(x) > WORKSPACE_HALF + margin or abs(y) > WORKSPACE_HALF + margin or z < -0.05:
                gone.append(index)
        return gone

    # -- simulation ------------------------------------------------------------------
    def step(self, n: int = 1) -> None:
        import pybullet as p

        for _ in range(n):
            p.stepSimulation(physicsClientId=self.client)

    def settle(self, max_time: float = 4.0, linear_tol: float = 0.005, angular_tol: float = 0.05) -> float:
        """Step until every object is at rest or ``max_time`` seconds have passed.

        At rest: linear speed below ``linear_tol`` m/s and angular speed below
        ``angular_tol`` rad/s, checked every 1/20 s. Returns the simulated time.
        """
        import pybullet as p

        chunk = 12
        steps = 0
        max_steps = int(max_time / TIME_STEP)
        while steps < max_steps:
            self.step(chunk)
            steps += chunk
            at_rest = True
            for body in self.objects.values():
                lin, ang = p.getBaseVelocity(body, physicsClientId=self.client)
                if np.linalg.norm(lin) > linear_tol or np.linalg.norm(ang) > angular_tol:
                    at_rest = False
                    break
            if at_rest:
                break
        return steps * TIME_STEP

    # -- sensing ---------------------------------------------------------------------
    def render(self, rng: np.random.Generator | None = None) -> dict[str, np.ndarray]:
        """Top-down RGB-D image; ``segmentation`` holds object index + 1 (0 elsewhere)."""
        out = self.camera.render(self.client, rng)
        raw = out["segmentation"]
        lut = np.zeros(max([raw.max(), *self.objects.values(), 0]) + 2, dtype=np.int32)
        for index, body in self.objects.items():
            lut[body + 1] = index + 1
        out["segmentation"] = lut[np.clip(raw, -1, None) + 1]
        return out

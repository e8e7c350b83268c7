"""The physics world: one PyBullet client in DIRECT mode with a table, objects and a gripper.

The world owns the gripper's spec (:class:`graspsim.grippers.GripperSpec`,
``gripper_spec``); the executor builds its body on first use.

Objects are addressed by their *object index* (their position in the scene
spec), never by PyBullet body id, so that ids are stable across rebuilds.
Rendered instance masks use ``object index + 1`` (0 is the table/background).
Physics runs at 240 Hz with deterministic contact ordering.

Appearance (:mod:`graspsim.appearance`): :meth:`World.reset` takes the
table's appearance (a textured table gets a flat visual quad with its own UV
coordinates in place of the box, at the same body id; physics is unchanged),
and :meth:`World.apply_appearance` colours and textures the objects and sets
the scene's light (``lighting``) and camera (``camera``: the base camera
raised or lowered by the appearance's height offset). ``reset`` restores the
base camera and PyBullet's default light, and forgets the texture ids
(``resetSimulation`` invalidates them).
"""

from __future__ import annotations

from dataclasses import replace

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

        #: the camera the world was made with; ``camera`` is the current scene's
        #: (the base camera, raised or lowered by the scene's appearance)
        self.base_camera = camera or Camera()
        self.camera = self.base_camera
        #: the current scene's light (graspsim.appearance.Lighting), None: PyBullet's default
        self.lighting = None
        self._light_set = False  # whether this client ever rendered with a light of its own
        self._textures: dict[tuple[str, int], int] = {}
        self.gripper_spec = get_gripper(gripper)
        self.solver_iterations = solver_iterations
        self.client = p.connect(p.DIRECT)
        self.objects: dict[int, int] = {}  # object index -> body id
        self.names: dict[int, str] = {}  # object index -> catalogue name
        self.gripper = None
        self.step_hook = None  # called after every physics step when set (replay recording)
        self.reset()

    # -- lifecycle -------------------------------------------------------------------
    def reset(self, table=None) -> None:
        """Empty the world: only the table (and no gripper) remains.

        ``table``: a :class:`graspsim.appearance.TableAppearance`, or None for
        the catalogue table (grey-beige box). The camera returns to the base
        camera and the light to PyBullet's default.
        """
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
        self._textures = {}  # resetSimulation invalidates texture ids
        self.camera = self.base_camera
        self.lighting = None
        plane = p.createCollisionShape(p.GEOM_PLANE, physicsClientId=c)
        if table is None or table.texture is None:
            top = p.createVisualShape(
                p.GEOM_BOX, halfExtents=[0.5, 0.5, 0.005], visualFramePosition=[0, 0, -0.005],
                rgbaColor=TABLE_COLOUR if table is None else list(table.rgba), physicsClientId=c,
            )
        else:
            top = self._table_quad()
        self.table = p.createMultiBody(0, plane, top, physicsClientId=c)
        p.changeDynamics(self.table, -1, lateralFriction=0.8, physicsClientId=c)
        if table is not None and table.texture is not None:
            from graspsim.appearance import TABLE_TEXTURE_PX

            texture = self.texture_id(table.texture, TABLE_TEXTURE_PX)
            p.changeVisualShape(self.table, -1, textureUniqueId=texture, rgbaColor=list(table.rgba), physicsClientId=c)
        self.objects.clear()
        self.names.clear()
        self.gripper = None

    def _table_quad(self) -> int:
        """A 1 x 1 m visual quad at z = 0 whose texture repeats every TABLE_TEXTURE_M metres
        (PyBullet's box maps textures through a cube atlas, too coarse for a table)."""
        import pybullet as p

        from graspsim.appearance import TABLE_TEXTURE_M

        h, uv = 0.5, 1.0 / TABLE_TEXTURE_M
        return p.createVisualShape(
            p.GEOM_MESH, vertices=[[-h, -h, 0.0], [h, -h, 0.0], [h, h, 0.0], [-h, h, 0.0]], indices=[0, 1, 2, 0, 2, 3],
            uvs=[[0.0, 0.0], [uv, 0.0], [uv, uv], [0.0, uv]], normals=[[0.0, 0.0, 1.0]] * 4, physicsClientId=self.client,
        )

    def texture_id(self, spec, size: int) -> int:
        """The PyBullet texture id of a :class:`graspsim.appearance.TextureSpec` at ``size``
        pixels: its cached PNG loaded once per world reset."""
        import pybullet as p

        from graspsim.textures import texture_file

        key = (spec.key(), size)
        if key not in self._textures:
            path = texture_file(spec, size)
            texture = p.loadTexture(str(path), physicsClientId=self.client)
            if texture < 0:
                raise ValueError(f"pybullet could not load the texture {str(path)!r}")
            self._textures[key] = texture
        return self._textures[key]

    def apply_appearance(self, appearance) -> None:
        """Colour and texture every object (``appearance.objects[i]`` for object index
        ``i``, on every link), and set the scene's light and camera (the base camera
        with its height raised by ``appearance.camera_height_offset_m``; never tilted).
        The table's appearance is applied by :meth:`reset`."""
        import pybullet as p

        from graspsim.appearance import OBJECT_TEXTURE_PX

        if len(appearance.objects) != len(self.objects):
            raise ValueError(f"appearance has {len(appearance.objects)} object(s) for {len(self.objects)} in the world")
        c = self.client
        for index, look in zip(sorted(self.objects), appearance.objects):
            body = self.objects[index]
            # -1 removes an asset's own texture, so an untextured appearance is a flat colour
            texture = -1 if look.texture is None else self.texture_id(look.texture, OBJECT_TEXTURE_PX)
            for link in range(-1, p.getNumJoints(body, physicsClientId=c)):
                p.changeVisualShape(body, link, textureUniqueId=texture, rgbaColor=list(look.rgba),
                                    specularColor=[look.specular] * 3, physicsClientId=c)
        self.lighting = appearance.lighting
        self.camera = replace(self.base_camera, height_m=self.base_camera.height_m + appearance.camera_height_offset_m)

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
    def add_object(self, object_set, name: str, scale: float, position, orientation, uv_visuals: bool = False) -> int:
        """Load ``name`` from ``object_set`` with its centre of mass at ``position``
        and quaternion ``orientation`` (x, y, z, w); returns its object index.
        ``uv_visuals``: visual meshes with texture coordinates (for a texture;
        see ``ObjectSet.load``)."""
        import pybullet as p

        body = object_set.load(self.client, name, scale, uv_visuals=True) if uv_visuals else \
            object_set.load(self.client, name, scale)
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
        """Advance the physics ``n`` steps of TIME_STEP; ``step_hook`` (when set, e.g. a
        :class:`graspsim.sim.replay.ReplayRecorder`) is called after each step."""
        import pybullet as p

        hook = self.step_hook
        for _ in range(n):
            p.stepSimulation(physicsClientId=self.client)
            if hook is not None:
                hook()

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
        """Top-down RGB-D image of the current scene's camera and light; ``segmentation``
        holds object index + 1 (0 elsewhere)."""
        lighting = self.lighting
        if lighting is not None:
            self._light_set = True
        elif self._light_set:
            # PyBullet keeps a client's last light: restore its default explicitly (bit-identical
            # to a client that never had another light)
            from graspsim.appearance import Lighting

            lighting = Lighting()
        out = self.camera.render(self.client, rng, lighting)
        raw = out["segmentation"]
        lut = np.zeros(max([raw.max(), *self.objects.values(), 0]) + 2, dtype=np.int32)
        for index, body in self.objects.items():
            lut[body + 1] = index + 1
        out["segmentation"] = lut[np.clip(raw, -1, None) + 1]
        return out

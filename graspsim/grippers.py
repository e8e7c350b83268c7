"""Parallel-jaw grippers as data: :class:`GripperSpec` and the registry of named grippers.

A gripper is one frozen :class:`GripperSpec`; everything that needs its
numbers (the physical body, the executor, the clearance checks, the grasp
conversions, the candidate generator, the environments) takes the spec, so a
new gripper is one ``register_gripper(GripperSpec(...))``.

Geometry convention (metres), in the gripper frame of :mod:`graspsim.sim.gripper`:
the tool centre point (TCP) is midway between the fingertips at their lowest
point, z points up (away from the fingers), x is the closing direction.
Each finger is a box ``finger_thickness_m`` along x (the closing line),
``finger_width_m`` along y (the jaw size: the rectangle's "h") and
``finger_length_m`` tall; the palm is a box of half-extents ``palm_half_m``
sitting on top of the fingers. ``max_opening_m`` is the stroke: the largest
distance between the fingers' inner faces.

Shipped grippers (:func:`get_gripper`):

- ``franka`` (the default): the Franka Emika hand: 8 cm stroke, fingers
  18 × 22 × 54 mm, palm 204 × 63 × 58 mm, 40 N per finger.
- ``robotiq-2f85``: the Robotiq 2F-85 modelled with boxes: 85 mm stroke and
  22 mm wide fingertip pads (manufacturer's datasheet and its public CAD-derived
  model), fingers 60 mm below a 125 × 75 × 90 mm body, grip force 40 N (the
  datasheet's range is 20-235 N: in PyBullet larger forces squeeze light objects
  out of the fingers; on 40 primitives-test scenes with the analytic policy
  100 N lifted 0.60 and 235 N 0.43 against 0.78 at 40 N), closing speed
  150 mm/s (75 mm/s per finger, the datasheet's maximum). The real finger is a four-bar linkage whose pads stay
  parallel; a prismatic finger is the usual simulation stand-in.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np


@dataclass(frozen=True)
class GripperSpec:
    """Geometry (metres), forces (newtons), speed (m/s) and friction of a
    parallel-jaw gripper. Frozen and hashable: caches key on it."""

    name: str
    max_opening_m: float
    finger_length_m: float
    finger_thickness_m: float
    finger_width_m: float
    palm_half_m: tuple[float, float, float]
    finger_force_n: float
    hold_force_n: float = 400.0
    finger_speed_mps: float = 0.1
    lateral_friction: float = 1.0
    spinning_friction: float = 0.01
    palm_mass_kg: float = 0.7
    finger_mass_kg: float = 0.05

    def __post_init__(self):
        object.__setattr__(self, "palm_half_m", tuple(float(x) for x in self.palm_half_m))
        self.check()

    def check(self) -> None:
        """Raise ValueError naming the field when a value is not usable."""
        if not (isinstance(self.name, str) and self.name):
            raise ValueError(f"gripper name must be a non-empty string, got {self.name!r}")
        for f in fields(self):
            if f.name == "name":
                continue
            value = getattr(self, f.name)
            values = value if isinstance(value, tuple) else (value,)
            if f.name == "palm_half_m" and len(values) != 3:
                raise ValueError(f"gripper palm_half_m must have 3 values, got {value!r}")
            for x in values:
                if isinstance(x, bool) or not isinstance(x, (int, float, np.floating, np.integer)) \
                        or not math.isfinite(x) or x <= 0:
                    raise ValueError(f"gripper {f.name} must be a positive finite number, got {value!r}")
        if self.palm_half_m[0] < self.max_opening_m / 2 + self.finger_thickness_m:
            raise ValueError(
                f"gripper palm_half_m[0] ({self.palm_half_m[0]}) must cover half the stroke plus a finger "
                f"({self.max_opening_m / 2 + self.finger_thickness_m})"
            )

    # -- serialisation ---------------------------------------------------------------
    def to_dict(self) -> dict:
        d = asdict(self)
        d["palm_half_m"] = list(self.palm_half_m)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "GripperSpec":
        try:
            return cls(**d)
        except TypeError as exc:
            raise ValueError(f"malformed gripper spec: {exc}") from None

    #: order of :meth:`geometry_vector` (the environments' ``gripper`` observation)
    GEOMETRY_FIELDS = ("max_opening_m", "finger_length_m", "finger_thickness_m", "finger_width_m",
                       "palm_half_x_m", "palm_half_y_m", "palm_half_z_m")

    def geometry_vector(self) -> np.ndarray:
        """float32 (7,): the geometry a policy needs, in :attr:`GEOMETRY_FIELDS` order."""
        return np.array([self.max_opening_m, self.finger_length_m, self.finger_thickness_m, self.finger_width_m,
                         *self.palm_half_m], np.float32)


FRANKA = GripperSpec(
    name="franka", max_opening_m=0.08, finger_length_m=0.054, finger_thickness_m=0.018, finger_width_m=0.022,
    palm_half_m=(0.102, 0.0315, 0.029), finger_force_n=40.0, hold_force_n=400.0, finger_speed_mps=0.1,
)

ROBOTIQ_2F85 = GripperSpec(
    name="robotiq-2f85", max_opening_m=0.085, finger_length_m=0.060, finger_thickness_m=0.012,
    finger_width_m=0.022, palm_half_m=(0.0625, 0.0375, 0.045), finger_force_n=40.0, hold_force_n=400.0,
    finger_speed_mps=0.075, palm_mass_kg=0.8, finger_mass_kg=0.06,
)

DEFAULT_GRIPPER = "franka"

_REGISTRY: dict[str, GripperSpec] = {}


def register_gripper(spec: GripperSpec) -> None:
    """Make ``spec`` available by its name (replaces a spec of the same name)."""
    if not isinstance(spec, GripperSpec):
        raise ValueError(f"register_gripper takes a GripperSpec, got {type(spec).__name__}")
    _REGISTRY[spec.name] = spec


def available_grippers() -> tuple[str, ...]:
    """Names of the registered grippers, sorted."""
    return tuple(sorted(_REGISTRY))


def get_gripper(gripper: "str | GripperSpec | None" = None) -> GripperSpec:
    """The spec called ``gripper`` (None: the default, ``franka``), a spec itself,
    or ``"package.module:name"`` naming a GripperSpec (or a factory returning
    one) in an importable module. Raises ValueError naming the value otherwise."""
    if gripper is None:
        return _REGISTRY[DEFAULT_GRIPPER]
    if isinstance(gripper, GripperSpec):
        return gripper
    if isinstance(gripper, str) and gripper in _REGISTRY:
        return _REGISTRY[gripper]
    if isinstance(gripper, str) and ":" in gripper:
        from graspsim.plugins import load_attribute

        value = load_attribute(gripper, "gripper")
        spec = value() if callable(value) and not isinstance(value, GripperSpec) else value
        if not isinstance(spec, GripperSpec):
            raise ValueError(f"gripper {gripper!r} is a {type(spec).__name__}, not a GripperSpec")
        return spec
    raise ValueError(f"unknown gripper {gripper!r}; available: {', '.join(available_grippers())} (or module:name)")


def gripper_from_observation(observation: dict) -> GripperSpec:
    """The gripper an environment observation describes (its ``gripper`` geometry
    vector); a registered spec when the vector is that spec's, else a spec built
    from the vector (forces and friction: the default gripper's). Observations
    without the key: the default gripper."""
    vector = observation.get("gripper") if hasattr(observation, "get") else None
    if vector is None:
        return get_gripper()
    vector = np.asarray(vector, np.float32).reshape(-1)
    if vector.shape != (len(GripperSpec.GEOMETRY_FIELDS),):
        raise ValueError(f"observation gripper must have {len(GripperSpec.GEOMETRY_FIELDS)} values, got shape {vector.shape}")
    for spec in _REGISTRY.values():
        if np.array_equal(spec.geometry_vector(), vector):
            return spec
    v = [float(x) for x in vector]
    base = get_gripper()
    return GripperSpec(
        name="observed", max_opening_m=v[0], finger_length_m=v[1], finger_thickness_m=v[2], finger_width_m=v[3],
        palm_half_m=tuple(v[4:7]), finger_force_n=base.finger_force_n,
    )


register_gripper(FRANKA)
register_gripper(ROBOTIQ_2F85)

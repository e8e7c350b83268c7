"""Plug-ins used by tests/test_plugins.py through 'file.py:name' (a third, test-only gripper, an object set, a loader)."""

from graspsim.grippers import GripperSpec

NARROW = GripperSpec(
    name="test-narrow", max_opening_m=0.05, finger_length_m=0.05, finger_thickness_m=0.01, finger_width_m=0.015,
    palm_half_m=(0.05, 0.03, 0.03), finger_force_n=30.0,
)


def primitives_subset():
    """An object set of one's own: the primitives set under another name."""
    from graspsim.objects.primitives import PrimitiveSet

    return PrimitiveSet()


def jacquard_loader(root, **kwargs):
    from graspsim.datasets.jacquard import JacquardDataset

    return JacquardDataset(root, **kwargs)

"""placeholder until the helper writes it"""
from .catalogue import ObjectInfo, ObjectSet
_sets = {}
def get_object_set(name):
    from .primitives import PrimitiveSet
    if name != "primitives":
        raise ValueError(f"unknown object set {name!r}")
    if name not in _sets:
        _sets[name] = PrimitiveSet()
    return _sets[name]

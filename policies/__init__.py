"""Grasp policies (installed as ``graspsim.policies``).

``make(name, **kwargs)`` builds a registered policy: ``random``,
``analytic`` or ``graspsam`` (needs torch; see graspsim.policies.graspsam.policy). Policies follow the
:class:`Policy` protocol: ``reset(seed)`` and ``act(observation) -> action``.
"""

from __future__ import annotations

from typing import Callable

from .base import BasePolicy, Policy

_REGISTRY: dict[str, Callable[..., Policy]] = {}


def register(name: str, factory: Callable[..., Policy]) -> None:
    """Register a policy factory under ``name``."""
    _REGISTRY[name] = factory


def available() -> tuple[str, ...]:
    """Names of the registered policies, sorted."""
    return tuple(sorted(_REGISTRY))


def make(name: str, **kwargs) -> Policy:
    """Build the policy called ``name`` with keyword arguments for its constructor."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown policy {name!r}; available: {', '.join(available())}")
    return _REGISTRY[name](**kwargs)


def _random(**kw):
    from .random_policy import RandomPolicy

    return RandomPolicy(**kw)


def _analytic(**kw):
    from .analytic import AnalyticPolicy

    return AnalyticPolicy(**kw)


def _graspsam(**kw):
    from .graspsam.policy import GraspSAMPolicy

    return GraspSAMPolicy(**kw)


register("random", _random)
register("analytic", _analytic)
register("graspsam", _graspsam)

__all__ = ["BasePolicy", "Policy", "available", "make", "register"]

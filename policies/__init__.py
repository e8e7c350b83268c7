"""Grasp policies (installed as ``graspsim.policies``).

``make(name, **kwargs)`` builds a registered policy: ``random``,
``analytic``, ``graspsam`` (needs torch; see graspsim.policies.graspsam.policy),
``graspsam-model`` (the same model with the plain published decoding: every
geometric selection step off, so its rows show what the learned model does by
itself) or
``redmon-direct`` / ``redmon-classify`` / ``redmon-multigrasp`` (needs torch; see
graspsim.policies.redmon.policy), ``sb3-ppo`` / ``sb3-sac`` (a Stable-Baselines3
agent trained on the image environment, ``checkpoint=`` its model.zip; see
graspsim.policies.sb3_agent). Policies follow the
:class:`Policy` protocol: ``reset(seed)`` and ``act(observation) -> action``.
"""

from __future__ import annotations

from typing import Callable

from graspsim.plugins import Registry

from .base import BasePolicy, Policy

REGISTRY = Registry("policy")


def register(name: str, factory: Callable[..., Policy]) -> None:
    """Register a policy factory under ``name``."""
    REGISTRY.register(name, factory)


def available() -> tuple[str, ...]:
    """Names of the registered policies, sorted."""
    return REGISTRY.available()


def make(name: str, **kwargs) -> Policy:
    """Build the policy called ``name`` with keyword arguments for its constructor.

    ``name`` is a registered name, ``"package.module:factory"`` or
    ``"path/to/file.py:factory"`` (how worker processes of ``graspsim benchmark``
    build a user's own policy; see :mod:`graspsim.plugins`)."""
    return REGISTRY.make(name, **kwargs)


def _random(**kw):
    from .random_policy import RandomPolicy

    return RandomPolicy(**kw)


def _analytic(**kw):
    from .analytic import AnalyticPolicy

    return AnalyticPolicy(**kw)


def _graspsam(**kw):
    from .graspsam.policy import GraspSAMPolicy

    return GraspSAMPolicy(**kw)


#: GraspSAMPolicy options that ``graspsam-model`` fixes to False (the plain published decoding)
MODEL_ALONE_OFF = ("fit_opening", "collision_check", "fallback", "depth_refine", "colour_refine")


def _graspsam_model(**kw):
    from .graspsam.policy import GraspSAMPolicy

    on = sorted(k for k in MODEL_ALONE_OFF if kw.get(k))
    if on:
        raise ValueError(f"graspsam-model is GraspSAM's plain decoding; it cannot turn on {', '.join(on)} "
                         "(use the graspsam policy for the selection steps)")
    policy = GraspSAMPolicy(**{**kw, **{k: False for k in MODEL_ALONE_OFF}})
    policy.name = "graspsam-model"
    return policy


register("random", _random)
register("analytic", _analytic)
register("graspsam", _graspsam)
register("graspsam-model", _graspsam_model)


def _redmon(model: str):
    def factory(**kw):
        from .redmon.policy import RedmonPolicy

        return RedmonPolicy(model=model, **kw)

    return factory


for _model in ("direct", "classify", "multigrasp"):
    register(f"redmon-{_model}", _redmon(_model))


def _sb3(algo: str):
    def factory(**kw):
        from .sb3_agent import SB3Policy

        return SB3Policy(algo=algo, **kw)

    return factory


for _algo in ("ppo", "sac"):
    register(f"sb3-{_algo}", _sb3(_algo))

__all__ = ["BasePolicy", "Policy", "available", "make", "register"]

"""Per-grasp metrics: what is measured on every executed grasp besides lifting.

A :class:`GraspMetric` turns a :class:`GraspContext` (the executed grasp, its
outcome, the target's simulated-trial labels, the camera) into entries of the
environment's step ``info``. Registering one is the only change needed for a
new measurement to reach every consumer: the environments put its entries in
``info``, ``graspsim benchmark`` writes them into each episode record
(rounded as the metric says), and the summary and the report give, per
policy and prompt, the rate of its ``rate_key`` (when it has one) and its
2 × 2 agreement with physical success.

Metrics are computed where the environment runs: the worker processes of
``graspsim benchmark`` see the metrics registered when graspsim is imported
(this module) and those registered by a module the worker imports (e.g. the
module of a ``module:factory`` policy); ``--backend serial`` runs in the
calling process.

The shipped metric is ``rect``: the rectangle metric (:func:`graspsim.metric.match`)
of the executed grasp's rectangle against the target's positive labels:
``rect_success``, ``rect_iou`` (best IoU among labels within the angle
threshold), ``rect_angle_error_deg``. It applies only to labelled targets.

>>> from graspsim.grasp_metrics import GraspMetric, register
>>> register("wide", lambda: GraspMetric(
...     "wide", keys=("wide_opening",), rate_key="wide_opening",
...     compute=lambda ctx: None if ctx.grasp is None else {"wide_opening": ctx.grasp.opening_px > 40}))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from graspsim.camera import Camera
from graspsim.grasp import ImageGrasp
from graspsim.labels import ObjectLabels
from graspsim.plugins import Registry


@dataclass(frozen=True)
class GraspContext:
    """What a per-grasp metric sees.

    grasp: the executed grasp's image rectangle (jaw = the gripper's finger
    width at the grasp's depth), None when the policy found no grasp.
    success: the physical outcome (target lifted and held).
    labels: the target's simulated-trial labels, None when it is unlabelled.
    camera: the camera the image rectangles are in.
    """

    grasp: ImageGrasp | None
    success: bool
    labels: ObjectLabels | None
    camera: Camera


@dataclass(frozen=True)
class GraspMetric:
    """A named per-grasp measurement.

    keys: the ``info`` / record entries it produces (records hold None for a
    key the metric did not produce); compute: context -> {key: value} or None
    (not applicable, e.g. an unlabelled target); rate_key: a boolean entry
    summarised as a rate (``<name>_accuracy`` in the summary) and tabulated
    against lifting; round_digits: decimals of float entries in records.
    """

    name: str
    keys: tuple[str, ...]
    compute: Callable[[GraspContext], dict | None]
    rate_key: str | None = None
    title: str = ""
    round_digits: dict = field(default_factory=dict)

    def record_fields(self, info: dict) -> dict:
        """The metric's entries of a step ``info`` as JSON values for a record."""
        out = {}
        for key in self.keys:
            value = info.get(key)
            if value is not None and key in self.round_digits:
                value = round(float(value), self.round_digits[key])
            elif hasattr(value, "item"):
                value = value.item()
            out[key] = value
        return out


REGISTRY = Registry("grasp metric")


def register(name: str, factory: Callable[[], GraspMetric]) -> None:
    """Register a per-grasp metric: ``factory()`` returns the :class:`GraspMetric`."""
    REGISTRY.register(name, factory)


def unregister(name: str) -> None:
    REGISTRY.unregister(name)


def available() -> tuple[str, ...]:
    return REGISTRY.available()


def get_metric(name: str) -> GraspMetric:
    metric = REGISTRY.make(name)
    if not isinstance(metric, GraspMetric):
        raise ValueError(f"grasp metric {name!r}: the factory returned a {type(metric).__name__}, not a GraspMetric")
    return metric


def active_metrics() -> list[GraspMetric]:
    """Every registered metric, in registration order (``rect`` first)."""
    return [get_metric(name) for name in REGISTRY]


def measure(context: GraspContext) -> dict:
    """The info entries of every registered metric for one executed grasp."""
    out: dict = {}
    for metric in active_metrics():
        values = metric.compute(context)
        if values:
            out.update(values)
    return out


def _rect(context: GraspContext) -> dict | None:
    if context.labels is None:
        return None
    if context.grasp is None:
        return {"rect_success": False, "rect_iou": 0.0, "rect_angle_error_deg": float("nan")}
    from graspsim.metric import match

    positives, _ = context.labels.rects(context.camera)
    m = match(context.grasp.as_rect(), positives)
    return {"rect_success": bool(m.success), "rect_iou": float(m.iou), "rect_angle_error_deg": float(m.angle_error_deg)}


register("rect", lambda: GraspMetric(
    "rect", ("rect_success", "rect_iou", "rect_angle_error_deg"), _rect, rate_key="rect_success",
    title="rectangle-metric accuracy", round_digits={"rect_iou": 4, "rect_angle_error_deg": 3},
))

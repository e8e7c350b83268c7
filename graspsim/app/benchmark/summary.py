"""Aggregate episode records into the benchmark summary (per policy and prompt kind).

``summarise(records, elapsed_s)`` returns ``{"groups": {"<policy>/<prompt>":
group}, "episodes", "errors", "elapsed_s"}``. A group holds: ``policy``,
``prompt``, ``episodes`` (finished), ``errors`` (episodes that crashed or
raised; not in any rate), ``successes``, ``success_rate`` and
``success_ci95`` (Wilson), ``failure_modes`` (counts of every mode),
``labelled_episodes``, ``rect_accuracy``, ``agreement`` (2 × 2 counts of the
rectangle metric against lifting: ``rect_yes_lift_yes`` ...),
``agreement_rate``, ``per_category``, ``per_appearance`` (by the target's
colour group: achromatic-light, achromatic-dark, chromatic, textured; "?"
for records written before it existed) and ``per_object`` (episodes,
successes, rate, ci95), ``episodes_per_second_per_worker`` (finished
episodes over the summed wall time of their episodes in the workers),
``policy_latency_ms`` (p50, p95), and
for ``Declutter-v0`` rounds ``attempts``, ``grasp_success_rate`` (successes
/ attempts) and ``declutter_rate`` (objects removed / presented), pooled
over rounds.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from graspsim.sim.executor import FAILURE_MODES

from .stats import wilson_interval


def _rate(episodes: int, successes: int) -> dict:
    lo, hi = wilson_interval(successes, episodes)
    return {"episodes": episodes, "successes": successes, "rate": successes / episodes if episodes else 0.0,
            "ci95": [lo, hi]}


def agreement(records: list[dict], metric: str = "rect", key: str = "rect_success") -> dict | None:
    """2 × 2 counts of a per-grasp metric's boolean ``key`` against physical success
    over the episodes where it was measured (``<metric>_yes_lift_no`` ...), or None
    when it never was."""
    pairs = [(r[key], r["success"]) for r in records if r.get(key) is not None]
    if not pairs:
        return None
    counts = Counter(pairs)
    return {
        f"{metric}_{'yes' if a else 'no'}_lift_{'yes' if b else 'no'}": counts.get((a, b), 0)
        for a in (True, False) for b in (True, False)
    }


def metric_summaries(records: list[dict]) -> dict:
    """Per registered per-grasp metric with a rate key: episodes measured, the
    rate (``accuracy``) and its 2 × 2 agreement with lifting."""
    from graspsim.grasp_metrics import active_metrics

    out = {}
    for metric in active_metrics():
        if not metric.rate_key:
            continue
        table = agreement(records, metric.name, metric.rate_key)
        if table is None:
            continue
        n = sum(table.values())
        yes = table[f"{metric.name}_yes_lift_yes"] + table[f"{metric.name}_yes_lift_no"]
        agree = table[f"{metric.name}_yes_lift_yes"] + table[f"{metric.name}_no_lift_no"]
        out[metric.name] = {"title": metric.title or metric.name, "episodes": n, "accuracy": yes / n,
                            "agreement": table, "agreement_rate": agree / n}
    return out


def _by(records: list[dict], field: str) -> dict:
    groups = defaultdict(list)
    for r in records:
        groups[r.get(field) or "?"].append(bool(r["success"]))
    return {k: _rate(len(v), int(sum(v))) for k, v in sorted(groups.items())}


def summarise_group(records: list[dict], errors: int = 0) -> dict:
    n = len(records)
    successes = int(sum(bool(r["success"]) for r in records))
    modes = Counter(r["failure_mode"] for r in records if not r["success"])
    latencies = [r["timings_ms"]["policy_ms"] for r in records]
    worker_s = sum(r["timings_ms"].get("episode_ms", 0.0) for r in records) / 1e3
    overall = _rate(n, successes)
    group = {
        "policy": records[0]["policy"] if records else None,
        "prompt": records[0]["prompt_kind"] if records else None,
        "episodes": n,
        "errors": errors,
        "successes": successes,
        "success_rate": overall["rate"],
        "success_ci95": overall["ci95"],
        "failure_modes": {m: modes.get(m, 0) for m in FAILURE_MODES},
        "per_category": _by(records, "target_category"),
        "per_appearance": _by(records, "target_appearance"),
        "per_object": _by(records, "target_name"),
        "episodes_per_second_per_worker": n / worker_s if worker_s > 0 else 0.0,
        "policy_latency_ms": {
            "p50": float(np.percentile(latencies, 50)) if latencies else 0.0,
            "p95": float(np.percentile(latencies, 95)) if latencies else 0.0,
        },
    }
    metrics = metric_summaries(records)
    if metrics:
        group["metrics"] = metrics
    if "rect" in metrics:  # the headline metric, also under its long-standing names
        rect = metrics["rect"]
        group["labelled_episodes"] = rect["episodes"]
        group["rect_accuracy"] = rect["accuracy"]
        group["agreement"] = rect["agreement"]
        group["agreement_rate"] = rect["agreement_rate"]
    if records:
        group["gripper"] = records[0].get("gripper", "franka")
    ious = [r["target_mask_iou"] for r in records if r.get("target_mask_iou") is not None]
    if ious:  # policies that predict the target's mask: how often it is the target (IoU >= 0.5)
        from graspsim.metric import PICK_IOU

        group["pick_rate"] = float(np.mean([v >= PICK_IOU for v in ious]))
        group["mean_target_mask_iou"] = float(np.mean(ious))
    if records and records[0].get("grounder") is not None:
        from graspsim.grounding import ORACLE_GROUNDERS

        group["grounder"] = records[0]["grounder"]
        group["oracle"] = group["grounder"] in ORACLE_GROUNDERS
    if records and "attempts" in records[0]:
        attempts = sum(r["attempts"] for r in records)
        group["attempts"] = attempts
        group["grasp_success_rate"] = sum(r["successes"] for r in records) / attempts if attempts else 0.0
        presented = sum(r["objects_presented"] for r in records)
        group["declutter_rate"] = sum(r["objects_removed"] for r in records) / presented if presented else 0.0
    return group


def grounder_label(group: dict) -> str | None:
    """A text group's grounder as tables show it ("catalogue, oracle", "model"), or None."""
    if group.get("grounder") is None:
        return None
    from graspsim.grounding import ORACLE_GROUNDERS

    return group["grounder"] + (", oracle" if group["grounder"] in ORACLE_GROUNDERS else "")


def prompt_label(group: dict) -> str:
    """A group's prompt as tables show it: text prompts name their grounder, and an
    oracle grounder says so ("text (catalogue, oracle)")."""
    grounder = grounder_label(group)
    return str(group["prompt"]) if grounder is None else f"{group['prompt']} ({grounder})"


def summarise(records: list[dict], elapsed_s: float) -> dict:
    """The summary of a run's records (see the module docstring); ``elapsed_s`` is
    the run's wall time (``episodes_per_second`` of the whole run)."""
    by_group: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        by_group[f"{r['policy']}/{r['prompt_kind']}"].append(r)
    finished = sum(r.get("error") is None for r in records)
    groups = {}
    for name, rs in by_group.items():
        ok = [r for r in rs if r.get("error") is None]
        groups[name] = summarise_group(ok, len(rs) - len(ok))
        groups[name]["policy"], groups[name]["prompt"] = rs[0]["policy"], rs[0]["prompt_kind"]
        if rs[0].get("grounder") is not None and "grounder" not in groups[name]:
            groups[name]["grounder"] = rs[0]["grounder"]
    return {
        "episodes": finished,
        "errors": len(records) - finished,
        "elapsed_s": elapsed_s,
        "episodes_per_second": finished / elapsed_s if elapsed_s > 0 else 0.0,
        "groups": groups,
    }

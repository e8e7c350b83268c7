"""``graspsim compare``: grasp-quality regression check between two benchmark summaries.

For every (policy, prompt) group found in both summaries, and every object
category within it, the success rates are compared with
:func:`graspsim.app.benchmark.stats.drop_test`: a *regression* is a group or
category whose rate fell by more than ``max_drop`` with one-sided p-value
below ``alpha`` (H0: the fall is at most ``max_drop``). Groups present in
only one summary are listed but never fail the check.

When both runs posed the same episodes (same scene, target and prompt under
the same key, e.g. one suite run twice with another checkpoint or executor
schedule), :func:`paired_outcomes` also counts, per group, the episodes whose
success agrees and those lifted in one run only. The verdict does not use them.
"""

from __future__ import annotations

import json
from pathlib import Path

from .stats import drop_test


def load_summary(path) -> dict:
    path = Path(path)
    if path.is_dir():
        path = path / "summary.json"
    if not path.is_file():
        raise ValueError(f"summary {str(path)!r} does not exist (give a benchmark summary.json or its folder)")
    try:
        summary = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"summary {str(path)!r} is not JSON ({exc})") from None
    if "groups" not in summary:
        raise ValueError(f"summary {str(path)!r} has no 'groups': is it a graspsim benchmark summary?")
    return summary


def _row(name: str, base: dict, new: dict, max_drop: float, alpha: float) -> dict:
    t = drop_test(base["successes"], base["episodes"], new["successes"], new["episodes"], max_drop)
    return {
        "name": name,
        "base_rate": base["successes"] / base["episodes"], "base_episodes": base["episodes"],
        "new_rate": new["successes"] / new["episodes"], "new_episodes": new["episodes"],
        "drop": t["drop"], "p_value": t["p_value"],
        "regression": t["drop"] > max_drop and t["p_value"] < alpha,
    }


def compare_summaries(base: dict, new: dict, max_drop: float = 0.05, alpha: float = 0.05) -> dict:
    """Rows for every shared group and category; ``regressions`` counts the failing rows."""
    if not (isinstance(alpha, (int, float)) and 0.0 < alpha < 1.0):
        raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")
    rows, only = [], []
    for name in sorted(set(base["groups"]) | set(new["groups"])):
        b, n = base["groups"].get(name), new["groups"].get(name)
        if b is None or n is None:
            only.append(f"{name} (only in {'new' if b is None else 'base'})")
            continue
        if b["episodes"] == 0 or n["episodes"] == 0:
            only.append(f"{name} (no finished episodes in {'base' if b['episodes'] == 0 else 'new'})")
            continue
        rows.append(_row(name, b, n, max_drop, alpha))
        for category in sorted(set(b["per_category"]) & set(n["per_category"])):
            rows.append(_row(f"{name} [{category}]", b["per_category"][category], n["per_category"][category],
                             max_drop, alpha))
    if not rows:
        raise ValueError(
            f"no (policy, prompt) group with finished episodes in both summaries: base has "
            f"{sorted(base['groups']) or 'none'}, new has {sorted(new['groups']) or 'none'}; to compare a policy under "
            "a new checkpoint with its old self, run it with --as NAME (e.g. --policy graspsam@new.pt --as graspsam)")
    return {"rows": rows, "unmatched": only, "regressions": sum(r["regression"] for r in rows),
            "max_drop": max_drop, "alpha": alpha}


def format_comparison(result: dict) -> str:
    lines = [f"{'group':<44} {'base':>12} {'new':>12} {'drop':>7} {'p':>7}  verdict"]
    for r in result["rows"]:
        verdict = "REGRESSION" if r["regression"] else "ok"
        lines.append(f"{r['name']:<44} {r['base_rate']:>6.3f} ({r['base_episodes']:>3}) {r['new_rate']:>6.3f} ({r['new_episodes']:>3}) "
                     f"{r['drop']:>+7.3f} {r['p_value']:>7.3f}  {verdict}")
    for u in result["unmatched"]:
        lines.append(f"not compared: {u}")
    lines.append(f"{result['regressions']} regression(s): success rate fell by more than {result['max_drop']:g} "
                 f"(one-sided Wald test with Agresti–Caffo adjustment, alpha {result['alpha']:g})")
    return "\n".join(lines)


def paired_outcomes(base_records: dict[str, dict], new_records: dict[str, dict]) -> dict[str, dict]:
    """Per (policy, prompt) group: of the episodes that both runs finished with the same
    scene, target and prompt under the same key, how many had the same success
    (``same``), succeeded only in base (``only_base``) or only in new (``only_new``);
    ``paired`` counts them all. Episodes that errored or posed a different question are left out."""
    groups: dict[str, dict] = {}
    for key in sorted(set(base_records) & set(new_records)):
        b, n = base_records[key], new_records[key]
        if b.get("error") or n.get("error"):
            continue
        if any(b.get(field) != n.get(field) for field in ("scene", "target_id", "prompt")):
            continue
        g = groups.setdefault(f"{b['policy']}/{b['prompt_kind']}", {"paired": 0, "same": 0, "only_base": 0, "only_new": 0})
        g["paired"] += 1
        if bool(b["success"]) == bool(n["success"]):
            g["same"] += 1
        else:
            g["only_base" if b["success"] else "only_new"] += 1
    return groups


def format_paired(groups: dict[str, dict]) -> str:
    if not groups:
        return "paired episodes: none (the runs posed no episode alike)"
    return "\n".join(
        f"paired episodes of {name}: {g['paired']}, same outcome {g['same']} ({g['same'] / g['paired']:.3f}), "
        f"lifted only in base {g['only_base']}, only in new {g['only_new']}" for name, g in groups.items())

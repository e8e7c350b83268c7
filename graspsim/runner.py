"""Running episodes of ``graspsim/PromptedGrasp-v0`` with a policy and recording them.

Episode ``i`` of a run with seed ``s`` uses ``reset(seed=s + i)`` and the
policy is reset with the same seed, so any single episode can be replayed on
its own. With a suite, episode ``i`` replays the suite's scene ``i`` (its
labels give the rectangle metric of every grasp). Records are JSON lines
written (and flushed) as episodes finish.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from graspsim.executor import FAILURE_MODES


@dataclass
class RunConfig:
    policy: str = "analytic"
    objects: str = "primitives"
    layout: str = "pile"
    prompt: str = "point"
    episodes: int = 20
    seed: int = 0
    split: str = "all"
    object_count: tuple[int, int] | None = None
    shake: bool = False
    suite: str | None = None  # a shipped suite name or a suite file; episodes default to its size
    label_targets: bool = False  # label generated scenes' targets on the fly (rectangle metric)
    policy_kwargs: dict = field(default_factory=dict)

    def check(self) -> None:
        if self.episodes is not None and not (isinstance(self.episodes, int) and self.episodes >= 1):
            raise ValueError(f"episodes must be a positive integer, got {self.episodes!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def run_episodes(config: RunConfig, out: Path | None = None, figures: bool = True, progress: bool = True) -> dict:
    """Run ``config.episodes`` episodes; write records, figures and a summary to ``out``.

    Returns the summary dict. Refuses to write into a folder that already
    holds results, so two runs never share a file.
    """
    import gymnasium as gym
    from tqdm import tqdm

    import graspsim  # noqa: F401  (registers the environments)
    from graspsim import policies
    from graspsim.figures import episode_figure, model_figure, save_png

    config.check()
    scenes = None
    if config.suite is not None:
        from graspsim import suites

        scenes = suites.load(config.suite)
        if not scenes:
            raise ValueError(f"suite {config.suite!r} holds no scenes")
    episodes = config.episodes if config.episodes is not None else (len(scenes) if scenes else 20)
    if scenes is not None and episodes > len(scenes):
        raise ValueError(f"episodes ({episodes}) exceeds the {len(scenes)} scenes of suite {config.suite!r}")
    policy = policies.make(config.policy, **config.policy_kwargs)
    env = gym.make(
        "graspsim/PromptedGrasp-v0", objects=config.objects, layout=config.layout, prompt=config.prompt,
        split=config.split, object_count=config.object_count, shake=config.shake, render_mode="rgb_array",
        label_targets=config.label_targets,
    ).unwrapped
    records_file = None
    if out is not None:
        out = Path(out)
        if (out / "episodes.jsonl").exists() or (out / "summary.json").exists():
            raise ValueError(f"output folder {str(out)!r} already holds results; choose another --out")
        out.mkdir(parents=True, exist_ok=True)
        if figures:
            (out / "figures").mkdir(exist_ok=True)
        records_file = open(out / "episodes.jsonl", "x")

    records = []
    started = time.perf_counter()
    where = config.suite if scenes is not None else f"{config.objects}/{config.layout}"
    bar = tqdm(range(episodes), desc=f"{config.policy} {where}/{config.prompt}", unit="ep", disable=not progress)
    try:
        for i in bar:
            seed = config.seed + i
            options = {"scene": scenes[i]} if scenes is not None else None
            obs, reset_info = env.reset(seed=seed, options=options)
            policy.reset(seed)
            if config.prompt == "text" and hasattr(policy, "set_context"):
                policy.set_context(_grounding_context(env))
            t0 = time.perf_counter()
            action = policy.act(obs)
            latency_ms = (time.perf_counter() - t0) * 1e3
            _, reward, _, _, info = env.step(action)
            record = {
                "episode": i,
                "seed": seed,
                "policy": config.policy,
                "objects": reset_info["scene"]["object_set"],
                "layout": reset_info["scene"]["layout"],
                "suite": config.suite,
                "target_id": reset_info["target_id"],
                "target_name": reset_info["target_name"],
                "prompt": reset_info["prompt"],
                "action": np.asarray(action, float).round(4).tolist(),
                "grasp": None if np.isnan(info["grasp"]).any() else info["grasp"].round(5).tolist(),
                "success": info["success"],
                "failure_mode": info["failure_mode"] or None,
                "lifted_ids": info["lifted_ids"].tolist(),
                "rect_success": info.get("rect_success"),
                "rect_iou": round(info["rect_iou"], 4) if "rect_iou" in info else None,
                "rect_angle_error_deg": round(info["rect_angle_error_deg"], 3) if "rect_iou" in info else None,
                "timings_ms": {**{k: round(v, 2) for k, v in env.timings.items()}, "policy_ms": round(latency_ms, 2)},
                "scene": reset_info["scene"],
            }
            records.append(record)
            if records_file is not None:
                records_file.write(json.dumps(record, default=_jsonable) + "\n")
                records_file.flush()
                if figures:
                    maps = getattr(policy, "last_maps", {}) or {}
                    if "mask" in maps and "quality" in maps:  # a model's figure: RGB | prompt | mask | grasp | quality
                        fig = model_figure(obs["rgb"], env.prompt, maps["mask"], env.last_grasp, maps["quality"], info["success"])
                    else:
                        fig = episode_figure(obs["rgb"], env.prompt, env.last_grasp, info["success"])
                    save_png(out / "figures" / f"episode_{i:04d}.png", fig)
            postfix = {"success": f"{np.mean([r['success'] for r in records]):.2f}"}
            rect = [r["rect_success"] for r in records if r["rect_success"] is not None]
            if rect:
                postfix["rect"] = f"{np.mean(rect):.2f}"
            bar.set_postfix(postfix)
    finally:
        env.close()
        if records_file is not None:
            records_file.close()
    elapsed = time.perf_counter() - started
    summary = summarise(records, elapsed)
    summary["config"] = {k: v for k, v in vars(config).items()}
    if out is not None:
        tmp = out / "summary.json.tmp"
        tmp.write_text(json.dumps(summary, indent=2, default=_jsonable))
        tmp.replace(out / "summary.json")
    return summary


def agreement(records: list[dict]) -> dict | None:
    """2 x 2 counts of rectangle metric against physical success over labelled episodes
    (keys "rect_yes_lift_yes", "rect_yes_lift_no", "rect_no_lift_yes", "rect_no_lift_no"),
    or None when no episode was labelled."""
    pairs = [(r["rect_success"], r["success"]) for r in records if r.get("rect_success") is not None]
    if not pairs:
        return None
    counts = Counter(pairs)
    return {
        f"rect_{'yes' if a else 'no'}_lift_{'yes' if b else 'no'}": counts.get((a, b), 0)
        for a in (True, False) for b in (True, False)
    }


def _grounding_context(env) -> dict:
    """What the simulator's grounder may know of the scene: the segmentation of the
    current frame and the catalogue names, categories and colours of its objects."""
    from graspsim.objects import get_object_set
    from graspsim.grounding import catalogue_context

    return catalogue_context(env.frame["segmentation"], env.world.names, get_object_set(env.spec_scene.object_set))


def summarise(records: list[dict], elapsed_s: float) -> dict:
    """Episodes, successes, success rate, failure-mode counts, throughput, latency, and
    (for labelled episodes) rectangle-metric accuracy and its agreement with physics."""
    n = len(records)
    successes = sum(r["success"] for r in records)
    modes = Counter(r["failure_mode"] for r in records if not r["success"])
    latencies = [r["timings_ms"]["policy_ms"] for r in records]
    summary = {
        "episodes": n,
        "successes": successes,
        "success_rate": successes / n if n else 0.0,
        "failure_modes": {m: modes.get(m, 0) for m in FAILURE_MODES},
        "episodes_per_second": n / elapsed_s if elapsed_s > 0 else 0.0,
        "policy_latency_ms_p50": float(np.median(latencies)) if latencies else 0.0,
    }
    table = agreement(records)
    if table is not None:
        labelled = sum(table.values())
        summary["labelled_episodes"] = labelled
        summary["rect_accuracy"] = (table["rect_yes_lift_yes"] + table["rect_yes_lift_no"]) / labelled
        summary["agreement"] = table
        summary["agreement_rate"] = (table["rect_yes_lift_yes"] + table["rect_no_lift_no"]) / labelled
    return summary


def format_agreement(table: dict) -> str:
    """The 2 x 2 agreement table as aligned text."""
    rows = [
        "                 lifted   not lifted",
        f"rect correct   {table['rect_yes_lift_yes']:>7d}   {table['rect_yes_lift_no']:>10d}",
        f"rect wrong     {table['rect_no_lift_yes']:>7d}   {table['rect_no_lift_no']:>10d}",
    ]
    return "\n".join(rows)


def format_summary(summary: dict) -> str:
    lines = [
        f"episodes: {summary['episodes']}",
        f"success rate: {summary['success_rate']:.3f} ({summary['successes']}/{summary['episodes']})",
        "failure modes: " + ", ".join(f"{k}={v}" for k, v in summary["failure_modes"].items()),
        f"episodes per second: {summary['episodes_per_second']:.2f}",
        f"policy latency p50: {summary['policy_latency_ms_p50']:.1f} ms",
    ]
    if "agreement" in summary:
        lines += [
            f"rectangle-metric accuracy: {summary['rect_accuracy']:.3f} over {summary['labelled_episodes']} labelled episode(s)",
            f"agreement of the two metrics: {summary['agreement_rate']:.3f}",
            format_agreement(summary["agreement"]),
        ]
    return "\n".join(lines)


def summary_table(run_dirs) -> str:
    """A markdown table (one row per run folder) from each folder's summary.json."""
    rows = [
        "| policy | scenes | prompt | episodes | success rate | rect-metric accuracy | main failure modes | episodes/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in run_dirs:
        path = Path(run) / "summary.json"
        if not path.is_file():
            raise ValueError(f"{str(path)!r} does not exist: is {str(run)!r} a finished run folder?")
        s = json.loads(path.read_text())
        c = s["config"]
        modes = sorted(((n, m) for m, n in s["failure_modes"].items() if n), reverse=True)[:2]
        scenes = f"suite {c['suite']}" if c.get("suite") else f"{c['objects']} {c['layout']}"
        rect = f"{s['rect_accuracy']:.2f}" if "rect_accuracy" in s else "-"
        rows.append(
            f"| {c['policy']} | {scenes} | {c['prompt']} | {s['episodes']} "
            f"| {s['success_rate']:.2f} ({s['successes']}/{s['episodes']}) | {rect} "
            f"| {', '.join(f'{m} {n}' for n, m in modes) or '-'} | {s['episodes_per_second']:.2f} |"
        )
    return "\n".join(rows)

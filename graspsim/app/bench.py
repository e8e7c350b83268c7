"""Performance benchmarks printed by ``graspsim bench``."""

from __future__ import annotations

import time

import numpy as np


def bench_sim(objects="primitives", layout="pile", prompt="point", episodes=20, seed=0, split="all", object_count=None,
              appearance="catalogue", render_after_grasp: bool = True, schedule: str = "full") -> dict:
    """Whole-episode throughput with the random policy, and the median cost of
    each part: build + settle, render, grasp execution (milliseconds).
    ``render_after_grasp=False``: the environment option that skips the post-grasp render;
    ``schedule``: the environment's executor schedule ("full" or "fast")."""
    import gymnasium as gym

    import graspsim  # noqa: F401
    from graspsim import policies

    if not (isinstance(episodes, int) and episodes >= 1):
        raise ValueError(f"episodes must be a positive integer, got {episodes!r}")
    env = gym.make("graspsim/PromptedGrasp-v0", objects=objects, layout=layout, prompt=prompt, split=split,
                   object_count=object_count, appearance=appearance, render_after_grasp=render_after_grasp,
                   schedule=schedule).unwrapped
    policy = policies.make("random")
    parts = {"build_ms": [], "render_ms": [], "execute_ms": [], "episode_ms": []}
    env.reset(seed=seed)  # warm-up (imports, first client)
    try:
        for i in range(episodes):
            t0 = time.perf_counter()
            obs, _ = env.reset(seed=seed + i)
            policy.reset(seed + i)
            render_ms = env.timings["render_ms"]
            env.step(policy.act(obs))
            parts["episode_ms"].append((time.perf_counter() - t0) * 1e3)
            parts["build_ms"].append(env.timings["build_ms"])
            parts["render_ms"].append(render_ms)
            parts["execute_ms"].append(env.timings["execute_ms"])
    finally:
        env.close()
    result = {k: float(np.median(v)) for k, v in parts.items()}
    result["episodes_per_second"] = 1e3 / float(np.mean(parts["episode_ms"]))
    result.update(episodes=episodes, objects=objects, layout=layout, appearance=appearance,
                  render_after_grasp=render_after_grasp, schedule=schedule)
    return result


def bench_vector(counts=(1, 2), episodes: int = 16, objects="primitives", layout="pile", seed=0,
                 autoreset: str = "next-step", schedule: str = "full") -> dict:
    """Episodes per second of ``gymnasium.make_vec("graspsim/PromptedGrasp-v0", num_envs=n,
    vectorization_mode="async")`` with random actions, for each n in ``counts``, and the
    scaling efficiency against the first count (episodes/s ratio divided by the env ratio).
    ``autoreset``: Gymnasium's mode. "next-step" (its default) resets a finished
    sub-environment on its next step, so a one-grasp episode takes two vector steps;
    "same-step" resets it inside the step that finished it (one vector step per episode,
    half the waits on the slowest sub-environment). An episode is counted when it terminates."""
    import gymnasium as gym

    import graspsim  # noqa: F401

    if not counts or any(not (isinstance(n, int) and n >= 1) for n in counts):
        raise ValueError(f"vector env counts must be positive integers, got {counts!r}")
    modes = {"next-step": gym.vector.AutoresetMode.NEXT_STEP, "same-step": gym.vector.AutoresetMode.SAME_STEP}
    if autoreset not in modes:
        raise ValueError(f"autoreset must be one of {tuple(modes)}, got {autoreset!r}")
    rows = []
    for n in counts:
        envs = gym.make_vec("graspsim/PromptedGrasp-v0", num_envs=n, vectorization_mode="async",
                            vector_kwargs={"autoreset_mode": modes[autoreset]}, objects=objects, layout=layout,
                            schedule=schedule)
        try:
            envs.action_space.seed(seed)
            envs.reset(seed=[seed + k for k in range(n)])
            envs.step(envs.action_space.sample())  # warm-up: imports and first episodes in every worker
            done, t0 = 0, time.perf_counter()
            while done < episodes:
                _, _, terminated, truncated, _ = envs.step(envs.action_space.sample())
                done += int(np.sum(terminated | truncated))
            elapsed = time.perf_counter() - t0
        except BaseException:
            envs.close(terminate=True)  # a plain close would wait forever on the failed step
            raise
        envs.close()
        rows.append({"envs": n, "episodes": done, "seconds": elapsed, "episodes_per_second": done / elapsed})
    base = rows[0]
    for r in rows:
        r["efficiency"] = (r["episodes_per_second"] / base["episodes_per_second"]) / (r["envs"] / base["envs"])
    return {"rows": rows, "objects": objects, "layout": layout, "autoreset": autoreset, "schedule": schedule}


def format_bench_vector(r: dict) -> str:
    lines = [f"graspsim bench sim --vector: AsyncVectorEnv of PromptedGrasp-v0, random actions, {r['objects']}/{r['layout']}, "
             f"{r['autoreset']} autoreset" + _schedule_note(r)]
    lines += [f"{row['envs']} env(s): {row['episodes_per_second']:.2f} episodes/s ({row['episodes']} episodes in "
              f"{row['seconds']:.1f} s), scaling efficiency {row['efficiency']:.2f}" for row in r["rows"]]
    return "\n".join(lines)


def bench_declutter(episodes: int = 5, objects="primitives", layout="pile", seed=0, schedule: str = "full") -> dict:
    """Rounds per second and grasps per second of Declutter-v0 with the analytic policy."""
    import gymnasium as gym

    import graspsim  # noqa: F401
    from graspsim import policies

    env = gym.make("graspsim/Declutter-v0", objects=objects, layout=layout, prompt="mask", schedule=schedule)
    policy = policies.make("analytic")
    grasps, t0 = 0, time.perf_counter()
    try:
        for i in range(episodes):
            obs, _ = env.reset(seed=seed + i)
            done = False
            while not done:
                obs, _, terminated, truncated, _ = env.step(policy.act(obs))
                grasps += 1
                done = terminated or truncated
    finally:
        env.close()
    elapsed = time.perf_counter() - t0
    return {"rounds": episodes, "grasps": grasps, "seconds": elapsed, "rounds_per_second": episodes / elapsed,
            "grasps_per_second": grasps / elapsed}


def _schedule_note(r: dict) -> str:
    return "" if r.get("schedule", "full") == "full" else f", {r['schedule']} executor schedule"


def format_bench(r: dict) -> str:
    return "\n".join(
        [
            f"graspsim bench sim: random policy, {r['objects']}/{r['layout']}, {r.get('appearance', 'catalogue')} "
            f"appearance, {r['episodes']} episodes, 1 process"
            + ("" if r.get("render_after_grasp", True) else ", render_after_grasp=False") + _schedule_note(r),
            f"whole episode: {r['episodes_per_second']:.2f} episodes/s (median {r['episode_ms']:.1f} ms)",
            f"build + settle: {r['build_ms']:.1f} ms (median)",
            f"render: {r['render_ms']:.1f} ms (median)",
            f"grasp execution: {r['execute_ms']:.1f} ms (median)",
        ]
    )


def _metric_data(n_entries, per_entry, n_ground_truth, rng):
    """Synthetic detections: per entry, ground truths scattered around an object
    centre in a 640×480 image and ranked predictions near it (pixels, radians)."""
    def rects(centres, k, spread):
        c = np.repeat(centres, k, axis=0) + rng.uniform(-spread, spread, (len(centres) * k, 2))
        n = len(c)
        angle = rng.uniform(-np.pi / 2, np.pi / 2, n)
        return np.column_stack([c, angle, rng.uniform(20, 80, n), rng.uniform(10, 30, n)])

    centres = rng.uniform((60, 60), (580, 420), (n_entries, 2))
    gt = rects(centres, n_ground_truth, 15).reshape(n_entries, n_ground_truth, 5)
    pred = rects(centres, per_entry, 20).reshape(n_entries, per_entry, 5)
    return list(pred), list(gt)


def bench_metric(n_predictions=10000, n_ground_truth=20, seed=0, repeats=5, per_entry=5) -> dict:
    """Time :func:`graspsim.metric.evaluate` with the exact IoU on synthetic data:
    ``n_predictions`` ranked predictions in entries of ``per_entry``, each entry
    with ``n_ground_truth`` ground-truth rectangles; every prediction is scored
    (top_k = (1, per_entry)). Median and best wall time over ``repeats`` runs
    after one warm-up (seconds). ``evaluate`` computes IoUs only for pairs within
    the angle threshold; ``all_pairs_seconds`` times the exact IoU of every
    (prediction, ground truth) pair, the cost without that shortcut."""
    from graspsim.metric import evaluate, iou_exact_pairs

    for name, value in (("n_predictions", n_predictions), ("n_ground_truth", n_ground_truth),
                        ("repeats", repeats), ("per_entry", per_entry)):
        if not (isinstance(value, int) and value >= 1):
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    n_entries = -(-n_predictions // per_entry)
    pred, gt = _metric_data(n_entries, per_entry, n_ground_truth, np.random.default_rng(seed))
    pred[-1] = pred[-1][: n_predictions - per_entry * (n_entries - 1)]
    top_k = (1, per_entry)
    report = evaluate(pred, gt, top_k=top_k)  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        report = evaluate(pred, gt, top_k=top_k)
        times.append(time.perf_counter() - t0)
    seconds = float(np.median(times))
    flat_pred = np.repeat(np.concatenate(pred), n_ground_truth, axis=0)
    flat_gt = np.concatenate([np.tile(g, (len(p), 1)) for p, g in zip(pred, gt)])
    all_pairs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        iou_exact_pairs(flat_pred, flat_gt)
        all_pairs.append(time.perf_counter() - t0)
    return {
        "seconds": seconds,
        "seconds_min": float(min(times)),
        "predictions_per_second": n_predictions / seconds,
        "pairs_per_second": n_predictions * n_ground_truth / seconds,
        "all_pairs_seconds": float(np.median(all_pairs)),
        "n_predictions": n_predictions,
        "n_entries": n_entries,
        "n_ground_truth": n_ground_truth,
        "per_entry": per_entry,
        "repeats": repeats,
        "iou": "exact",
        "top1": report.top1,
        "topk": {int(k): v for k, v in report.topk.items()},
    }


def format_bench_metric(r: dict) -> str:
    topk = ", ".join(f"top-{k} {v:.3f}" for k, v in r["topk"].items())
    return "\n".join(
        [
            f"graspsim bench metric: evaluate(), exact IoU, {r['n_predictions']} predictions in "
            f"{r['n_entries']} entries × {r['n_ground_truth']} ground truths "
            f"({r['n_predictions'] * r['n_ground_truth']} pairs)",
            f"time: {r['seconds'] * 1e3:.1f} ms median, {r['seconds_min'] * 1e3:.1f} ms best of {r['repeats']}",
            f"throughput: {r['predictions_per_second']:.0f} predictions/s, {r['pairs_per_second']:.0f} pairs/s",
            f"exact IoU of all pairs (no angle shortcut): {r['all_pairs_seconds'] * 1e3:.1f} ms median",
            f"accuracy on the synthetic data (sanity only): {topk}",
        ]
    )


def bench_policy(policy="graspsam", objects="primitives", layout="pile", episodes=20, seed=0, threads=None, policy_kwargs=None) -> dict:
    """Policy latency (ms, medians and p95) on ``episodes`` scenes: ``new_image_ms`` is the
    first prompt on a new image (a point), ``same_image_ms`` a further prompt (a box) on
    the same image, which a model may answer from its cached image embedding."""
    import gymnasium as gym

    import graspsim  # noqa: F401
    from graspsim import policies

    if not (isinstance(episodes, int) and episodes >= 1):
        raise ValueError(f"episodes must be a positive integer, got {episodes!r}")
    if threads is not None:
        import torch

        torch.set_num_threads(int(threads))
    pol = policies.make(policy, **(policy_kwargs or {}))
    env = gym.make("graspsim/PromptedGrasp-v0", objects=objects, layout=layout, prompt="point").unwrapped
    first, further = [], []
    try:
        obs, info = env.reset(seed=seed)
        pol.act(obs)  # warm-up
        for i in range(episodes):
            obs, info = env.reset(seed=seed + i + 1)
            t0 = time.perf_counter()
            pol.act(obs)
            first.append((time.perf_counter() - t0) * 1e3)
            obs2, _ = env.reset(seed=seed + i + 1, options={"scene": env.spec_scene, "prompt": "box", "target": info["target_id"]})
            t0 = time.perf_counter()
            pol.act(obs2)
            further.append((time.perf_counter() - t0) * 1e3)
    finally:
        env.close()
    return {
        "policy": policy, "episodes": episodes, "threads": threads,
        "new_image_ms": float(np.median(first)), "new_image_p95_ms": float(np.percentile(first, 95)),
        "same_image_ms": float(np.median(further)), "same_image_p95_ms": float(np.percentile(further, 95)),
    }


def format_bench_policy(r: dict) -> str:
    return "\n".join([
        f"graspsim bench policy: {r['policy']}, {r['episodes']} images, batch 1, torch threads {r['threads'] or 'default'}",
        f"new image (first prompt): {r['new_image_ms']:.1f} ms median, {r['new_image_p95_ms']:.1f} ms p95",
        f"same image (further prompt): {r['same_image_ms']:.1f} ms median, {r['same_image_p95_ms']:.1f} ms p95",
    ])


def bench_scaling(policy="analytic", worker_counts=(1, 2), episodes=16, repeats=3, objects="primitives",
                  layout="pile", seed=0) -> dict:
    """Benchmark throughput (episodes per second, wall clock, worker start-up
    included) with each worker count, as the median over ``repeats`` runs of
    ``episodes`` episodes on the local process pool; scaling efficiency of N
    workers = throughput(N) / (N x throughput(1))."""
    from graspsim.app.benchmark import BenchmarkConfig, run_benchmark

    counts = list(worker_counts)
    if not counts or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in counts):
        raise ValueError(f"worker counts must be positive integers, got {worker_counts!r}")
    for name, value in (("episodes", episodes), ("repeats", repeats)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    config = BenchmarkConfig(policies=[policy], prompts=["point"], objects=objects, layout=layout,
                             episodes=episodes, seed=seed, figures=False)
    rates = {}
    for n in counts:
        runs = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            summary = run_benchmark(config, None, workers=n, backend="local", progress=False)
            runs.append(summary["episodes"] / (time.perf_counter() - t0))
        rates[n] = float(np.median(runs))
    base = rates[counts[0]] / counts[0]
    return {
        "policy": policy, "episodes": episodes, "repeats": repeats, "objects": objects, "layout": layout,
        "episodes_per_second": rates,
        "episodes_per_second_per_worker": {n: r / n for n, r in rates.items()},
        "efficiency": {n: rates[n] / (n * base) for n in counts},
    }


def format_bench_scaling(r: dict) -> str:
    lines = [f"graspsim bench scaling: {r['policy']}, {r['objects']}/{r['layout']}, {r['episodes']} episodes per run, "
             f"median of {r['repeats']} runs, local process pool"]
    for n, rate in r["episodes_per_second"].items():
        lines.append(f"{n} worker(s): {rate:.2f} episodes/s ({r['episodes_per_second_per_worker'][n]:.2f} per worker), "
                     f"scaling efficiency {r['efficiency'][n]:.2f}")
    return "\n".join(lines)

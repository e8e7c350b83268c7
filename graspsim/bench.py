"""Performance benchmarks printed by ``graspsim bench``."""

from __future__ import annotations

import time

import numpy as np


def bench_sim(objects="primitives", layout="pile", prompt="point", episodes=20, seed=0, split="all", object_count=None) -> dict:
    """Whole-episode throughput with the random policy, and the median cost of
    each part: build + settle, render, grasp execution (milliseconds)."""
    import gymnasium as gym

    import graspsim  # noqa: F401
    from graspsim import policies

    if not (isinstance(episodes, int) and episodes >= 1):
        raise ValueError(f"episodes must be a positive integer, got {episodes!r}")
    env = gym.make("graspsim/PromptedGrasp-v0", objects=objects, layout=layout, prompt=prompt, split=split,
                   object_count=object_count).unwrapped
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
    result.update(episodes=episodes, objects=objects, layout=layout)
    return result


def format_bench(r: dict) -> str:
    return "\n".join(
        [
            f"graspsim bench sim: random policy, {r['objects']}/{r['layout']}, {r['episodes']} episodes, 1 process",
            f"whole episode: {r['episodes_per_second']:.2f} episodes/s (median {r['episode_ms']:.1f} ms)",
            f"build + settle: {r['build_ms']:.1f} ms (median)",
            f"render: {r['render_ms']:.1f} ms (median)",
            f"grasp execution: {r['execute_ms']:.1f} ms (median)",
        ]
    )

"""Frames per second of the Redmon policies at batch 1 (``python -m graspsim.policies.redmon.speed``).

One frame = one ``policy.act(observation)`` on a rendered pile scene with a point
prompt: prompt checks, RGD conversion of the 320 × 320 image, the crop, the
network and the decoding back to the image. Observations are rendered first
(not timed); each policy is warmed up on 3 frames, then timed on ``frames``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def observations(count: int, seed: int = 0, layout: str = "pile", prompt: str = "point") -> list[dict]:
    import gymnasium as gym

    import graspsim  # noqa: F401 - registers the environments

    env = gym.make("graspsim/PromptedGrasp-v0", layout=layout, prompt=prompt).unwrapped
    out = [env.reset(seed=seed + i)[0] for i in range(count)]
    env.close()
    return out


def measure_fps(model: str, obs: list[dict], checkpoint=None, threads: int | None = 1, repeats: int = 1) -> dict:
    import torch

    from graspsim.policies import make

    if threads is not None:
        torch.set_num_threads(threads)
    policy = make(f"redmon-{model}", **({} if checkpoint is None else {"checkpoint": checkpoint}))
    for o in obs[:3]:
        policy.act(o)
    times = []
    for _ in range(repeats):
        for o in obs:
            t0 = time.perf_counter()
            policy.act(o)
            times.append(time.perf_counter() - t0)
    t = np.array(times)
    return {"model": model, "frames": len(t), "threads": torch.get_num_threads(), "mean_ms": float(t.mean() * 1e3),
            "median_ms": float(np.median(t) * 1e3), "fps": float(1.0 / t.mean())}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m graspsim.policies.redmon.speed", description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["direct", "classify", "multigrasp"])
    p.add_argument("--frames", type=int, default=50)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    obs = observations(args.frames, args.seed)
    for m in args.models:
        r = measure_fps(m, obs, threads=args.threads, repeats=args.repeats)
        print(f"redmon-{m}: {r['fps']:.0f} fps at batch 1 ({r['mean_ms']:.2f} ms mean, {r['median_ms']:.2f} ms median "
              f"per frame over {r['frames']} frames, {r['threads']} torch thread(s))")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

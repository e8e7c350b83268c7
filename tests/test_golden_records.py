"""The analytic policy's records on the first scenes of the shipped suites, pinned.

The simulator is deterministic (same seed, same bits, in any process), so a
change that claims to leave episodes alone -- a speed-up, a refactor -- must
leave these records identical: observation digests, actions, executed
grasps, outcomes and rectangle-metric results, timings aside. A change that
means to alter episodes regenerates the file on purpose and says so:

    python tests/test_golden_records.py --write
"""

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

GOLDEN = Path(__file__).parent / "golden" / "analytic_suite_records.json"
CASES = [("primitives-test", "point", 4), ("primitives-test", "box", 2), ("appearance-test", "point", 2),
         ("procedural-test", "point", 2)]
KEPT = ("key", "seed", "target_id", "prompt", "action", "grasp", "success", "failure_mode", "lifted_ids",
        "rect_success", "rect_iou", "rect_angle_error_deg")


def _observation_digest(suite: str, prompt: str, index: int) -> str:
    """sha256 of the reset observation (rgb, depth, prompt arrays) and of the step's observation."""
    import gymnasium as gym

    import graspsim  # noqa: F401
    from graspsim import policies, suites

    env = gym.make("graspsim/PromptedGrasp-v0", prompt=prompt)
    obs, _ = env.reset(seed=index, options={"scene": suites.load(suite)[index]})
    after, *_ = env.step(policies.make("analytic").act(obs))
    env.close()
    h = hashlib.sha256()
    for a in (obs["rgb"], obs["depth"], obs["prompt"]["points"], obs["prompt"]["box"], obs["prompt"]["mask"],
              after["rgb"], after["depth"]):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def current_records() -> dict:
    from graspsim.app.benchmark import BenchmarkConfig, run_benchmark
    from graspsim.app.benchmark.store import read_records
    import tempfile

    result = {}
    for suite, prompt, episodes in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "run"
            run_benchmark(BenchmarkConfig(policies=["analytic"], prompts=[prompt], suite=suite, episodes=episodes,
                                          figures=False), out, workers=1, backend="serial", progress=False)
            records = read_records(out / "episodes.jsonl")
        for key, record in sorted(records.items()):
            result[f"{suite}/{key}"] = {k: record[k] for k in KEPT}
        result[f"{suite}/{prompt}/observations of episode 0"] = _observation_digest(suite, prompt, 0)
    return json.loads(json.dumps(result))  # tuples as lists, as in the file


def test_the_analytic_policy_s_suite_records_are_unchanged():
    expected = json.loads(GOLDEN.read_text())
    current = current_records()
    assert sorted(current) == sorted(expected)
    changed = [k for k in expected if current[k] != expected[k]]
    assert not changed, f"episodes changed: {changed} (regenerate only on purpose: python {__file__} --write)"


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit(f"usage: python {sys.argv[0]} --write   (rewrites {GOLDEN})")
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps(current_records(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")

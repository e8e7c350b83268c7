"""The selection-step ablation of docs/evaluate_graspsam.sh as one table: one row per
object set and step, lift success (95% Wilson interval) for point and box prompts.

    python docs/ablation_table.py runs/v9/ablation
"""
import json
import sys
from pathlib import Path

from graspsim.app.benchmark.stats import wilson_interval

STEPS = ("plain", "fit", "fit-check", "fallback", "depth-refine", "colour-refine", "analytic")


def cell(group) -> str:
    lo, hi = wilson_interval(group["successes"], group["episodes"])
    return f"{group['success_rate']:.2f} ({lo:.2f}–{hi:.2f})"


def main(folder: str) -> None:
    root = Path(folder)
    print("| objects | policy steps | point | box | mean |")
    print("|---|---|---|---|---|")
    for objects in ("primitives", "random-urdfs", "procedural"):
        for step in STEPS:
            path = root / f"{objects}-{step}" / "summary.json"
            if not path.is_file():
                continue
            groups = json.loads(path.read_text())["groups"]
            by_prompt = {g["prompt"]: g for g in groups.values()}
            mean = sum(g["success_rate"] for g in by_prompt.values()) / len(by_prompt)
            print(f"| {objects} | {step} | {cell(by_prompt['point'])} | {cell(by_prompt['box'])} | {mean:.3f} |")


if __name__ == "__main__":
    main(sys.argv[1])

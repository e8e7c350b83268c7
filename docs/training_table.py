"""Print a markdown table of GraspSAM training runs from their summary.json / last.pt files.

    python docs/training_table.py runs/ablate/rgbd runs/ablate/rgb ...

One row per run folder: the configuration that differs between the runs, the
best epoch and its validation top-1 (point, box, their mean; text and its
pick rate when the run trained text), and the epochs done so far.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def run_row(folder: Path) -> dict:
    import torch

    state = torch.load(folder / "last.pt", map_location="cpu", weights_only=False)
    best, config = state["best"], state["config"]
    val = best.get("val", {})
    return {
        "run": folder.name, "variant": config["variant"], "prompt kinds": ",".join(config["prompt_kinds"]),
        "untried weight": config.get("untried_weight", 1.0), "text": config.get("text", False),
        "examples": config.get("max_examples") or "all", "epochs done": f"{state['epoch'] + 1}/{config['epochs']}",
        "best epoch": best["epoch"] + 1, "val point": val.get("point", {}).get("top1"),
        "val box": val.get("box", {}).get("top1"), "val mean": best["top1"],
        "val text (pick)": (f"{val['text']['top1']:.3f} ({val['text']['pick']:.3f})" if "text" in val else "-"),
    }


def main(folders: list[str]) -> None:
    rows = [run_row(Path(f)) for f in folders]
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for r in rows:
        print("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in r.values()) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])

"""Render the appearance-variety figure: docs/figures/appearance.png.

A 2 x 4 grid of randomised pile scenes of the train split, as
``graspsim/PromptedGrasp-v0`` with ``appearance="randomised"`` shows them
(top row: primitives, seeds 0-3; bottom row: random-urdfs, seeds 4-7), each
labelled with its seed, table texture and whether shadows are on.

    python docs/make_appearance_figure.py [--out docs/figures/appearance.png] [--size 256]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import gymnasium as gym
import numpy as np

import graspsim  # noqa: F401  (registers the environments)
from graspsim.figures import save_png

SETS = {"primitives": (0, 1, 2, 3), "random-urdfs": (4, 5, 6, 7)}


def render_grid(size: int = 320) -> np.ndarray:
    rows = []
    for objects, seeds in SETS.items():
        env = gym.make("graspsim/PromptedGrasp-v0", objects=objects, layout="pile", split="train",
                       appearance="randomised", width=size, height=size).unwrapped
        tiles = []
        for seed in seeds:
            obs, info = env.reset(seed=seed)
            look = info["scene"]["appearance"]
            table = (look["table"]["texture"] or {}).get("pattern", "plain")
            shadows = "shadows" if look["lighting"]["shadows"] else "no shadows"
            tile = np.ascontiguousarray(obs["rgb"])
            text = f"{objects} {seed}: {table}, {shadows}"
            cv2.rectangle(tile, (0, 0), (size - 1, 17), (0, 0, 0), -1)
            cv2.putText(tile, text, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
            tiles.append(tile)
        env.close()
        rows.append(np.concatenate(tiles, axis=1))
    return np.concatenate(rows, axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "figures" / "appearance.png")
    parser.add_argument("--size", type=int, default=320, help="side of each image in pixels (default 320)")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_png(args.out, render_grid(args.size))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()

"""The ``graspsim`` command line.

    graspsim run --policy analytic --objects primitives --layout pile --prompt point \\
                 --episodes 20 --seed 0 --out runs/demo
    graspsim bench sim [--episodes 20]
    graspsim table runs/a runs/b ...
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _count_range(text: str):
    parts = text.split(",") if "," in text else text.split("-")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"object count must be N or MIN,MAX, got {text!r}") from None
    if len(values) == 1:
        return (values[0], values[0])
    if len(values) == 2:
        return tuple(values)
    raise argparse.ArgumentTypeError(f"object count must be N or MIN,MAX, got {text!r}")


def _add_scene_args(p: argparse.ArgumentParser) -> None:
    from graspsim.objects import OBJECT_SETS
    from graspsim.prompts import PROMPT_KINDS
    from graspsim.scene import LAYOUTS

    p.add_argument("--objects", default="primitives", help=f"object set ({', '.join(OBJECT_SETS)}) or a folder of meshes")
    p.add_argument("--layout", default="pile", choices=LAYOUTS)
    p.add_argument("--prompt", default="point", choices=PROMPT_KINDS)
    p.add_argument("--split", default="all", choices=("all", "train", "test"))
    p.add_argument("--object-count", type=_count_range, default=None, help="N or MIN,MAX objects per scene")
    p.add_argument("--seed", type=int, default=0, help="episode i uses seed + i")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="graspsim", description="Simulation-in-the-loop grasp evaluation.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a policy on generated scenes and record the episodes")
    run.add_argument("--policy", default="analytic", help="policy name (graspsim.policies.available())")
    _add_scene_args(run)
    run.add_argument("--episodes", type=int, default=20)
    run.add_argument("--out", type=Path, default=None, help="output folder (episodes.jsonl, summary.json, figures/)")
    run.add_argument("--no-figures", action="store_true", help="do not save a figure per episode")
    run.add_argument("--shake", action="store_true", help="shake the gripper while holding")
    run.add_argument("--quiet", action="store_true", help="no progress bar")

    table = sub.add_parser("table", help="print a markdown table of run summaries")
    table.add_argument("runs", nargs="+", type=Path, help="run folders (each with summary.json)")

    bench = sub.add_parser("bench", help="performance benchmarks")
    bench_sub = bench.add_subparsers(dest="bench", required=True)
    sim = bench_sub.add_parser("sim", help="whole-episode throughput of the random policy and its parts")
    _add_scene_args(sim)
    sim.add_argument("--episodes", type=int, default=20)
    return parser


def _run(args) -> int:
    from graspsim.runner import RunConfig, format_summary, run_episodes

    config = RunConfig(
        policy=args.policy, objects=args.objects, layout=args.layout, prompt=args.prompt, episodes=args.episodes,
        seed=args.seed, split=args.split, object_count=args.object_count, shake=args.shake,
    )
    summary = run_episodes(config, args.out, figures=not args.no_figures, progress=not args.quiet)
    print(format_summary(summary))
    if args.out is not None:
        print(f"results: {args.out / 'episodes.jsonl'}, {args.out / 'summary.json'}")
    return 0


def _bench_sim(args) -> int:
    from graspsim.bench import bench_sim, format_bench

    print(format_bench(bench_sim(args.objects, args.layout, args.prompt, args.episodes, args.seed, args.split, args.object_count)))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "table":
            from graspsim.runner import summary_table

            print(summary_table(args.runs))
            return 0
        if args.command == "bench":
            return _bench_sim(args)
    except ValueError as exc:
        print(f"graspsim: error: {exc}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())

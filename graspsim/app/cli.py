"""The ``graspsim`` command line.

    graspsim run --policy analytic --objects primitives --layout pile --prompt point \\
                 --episodes 20 --seed 0 --out runs/demo
    graspsim label --objects primitives --layout pile --scenes 200 --out data/sim-train --workers 2 --seed 0
    graspsim export --format jacquard --data data/sim-train --out data/sim-train-jacquard
    graspsim train graspsam --variant tiny --data data/sim-train --out checkpoints/x [--val data/sim-val]
    graspsim train redmon --model direct --data data/sim-train --folds 5 --split image --out runs/redmon-cv
    graspsim eval graspsam --checkpoint checkpoints/x/best.pt --data data/sim-val
    graspsim benchmark --policy graspsam --policy analytic --suite primitives-test --prompt point --workers 2 --out runs/b1
    graspsim compare runs/base runs/new --max-drop 0.05
    graspsim bench sim [--episodes 20]
    graspsim bench metric
    graspsim bench scaling --workers 1,2
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


def _add_scene_args(p: argparse.ArgumentParser, repeat_prompt: bool = False) -> None:
    from graspsim.objects import available as object_sets
    from graspsim.prompts import PROMPT_KINDS
    from graspsim.scene import LAYOUTS

    p.add_argument("--objects", default="primitives", help=f"object set ({', '.join(object_sets())}), a folder of meshes, or module:factory")
    p.add_argument("--layout", default="pile", choices=LAYOUTS, help="scene layout")
    if repeat_prompt:
        p.add_argument("--prompt", action="append", default=None, choices=PROMPT_KINDS,
                       help="prompt kind; repeat for several (default: point)")
    else:
        p.add_argument("--prompt", default="point", choices=PROMPT_KINDS, help="prompt kind")
    p.add_argument("--split", default="all", choices=("all", "train", "test"), help="object split")
    p.add_argument("--object-count", type=_count_range, default=None, help="N or MIN,MAX objects per scene")
    p.add_argument("--seed", type=int, default=0, help="episode i uses seed + i")


def _add_episode_args(p: argparse.ArgumentParser, repeat_prompt: bool = False) -> None:
    """Scenes, episodes and output options shared by ``run`` and ``benchmark``."""
    _add_scene_args(p, repeat_prompt)
    p.add_argument("--episodes", type=int, default=None, help="episodes (default: 20, or every scene of --suite)")
    p.add_argument("--policy-kwargs", default=None, help='JSON keyword arguments for the policies, e.g. \'{"top_k": 3}\'')
    from graspsim.suites import SUITES

    p.add_argument("--suite", default=None, help=f"replay a labelled suite ({', '.join(SUITES)}, or a .jsonl file)")
    p.add_argument("--label-targets", action="store_true",
                   help="label each generated scene's target by trials on the fly (rectangle metric; slow)")
    p.add_argument("--out", type=Path, default=None, help="output folder (episodes.jsonl, summary.json, report.md, figures/)")
    p.add_argument("--resume", action="store_true", help="complete an interrupted run in --out (same settings)")
    p.add_argument("--no-figures", action="store_true", help="do not save a figure per episode")
    p.add_argument("--shake", action="store_true", help="shake the gripper while holding")
    from graspsim.sim.executor import SCHEDULES

    p.add_argument("--schedule", default="full", choices=tuple(SCHEDULES),
                   help="the grasp's timing: full (default; 1 s hold) or fast (the labeller's: kinematic approach "
                        "test, lift twice as fast, 0.25 s hold; grasps about 2.5x faster, outcomes not identical)")
    p.add_argument("--video", nargs="?", const="all", default=None, choices=("all", "failures"),
                   help="write an MP4 replay of each grasp (or only of failures) from an oblique camera under "
                        "OUT/videos/ (about 1 s more per episode)")
    p.add_argument("--gripper", default="franka",
                   help="gripper: franka (default), robotiq-2f85, or module:name of a GripperSpec")
    p.add_argument("--appearance", default="catalogue", choices=("catalogue", "randomised"),
                   help="catalogue colours (default), or randomised object colours/textures, table, light and "
                        "camera height per scene (--split applies the held-out rule)")
    p.add_argument("--grounder", default=None,
                   help="how text prompts are grounded: catalogue (the default; an oracle: it reads the simulator's "
                        "ground truth), model (GraspSAM's own learned language path), or owlvit:FOLDER")
    p.add_argument("--phrasing", default="name", choices=("name", "train", "held_out"),
                   help="text prompts: the catalogue name (default), or a referring phrase in the training or "
                        "the held-out wording (graspsim.phrases)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


POLICY_FORMS = ("policy: a registered NAME (analytic, random, graspsam, graspsam-model (its learned model alone: "
                "plain decoding, no selection steps), redmon-direct, redmon-classify, "
                "redmon-multigrasp, or one you registered), NAME@CHECKPOINT (a model file), "
                "package.module:factory, or ./file.py:factory")


class _DefaultsFormatter(argparse.HelpFormatter):
    """Help that ends each option with its default, unless the text already names one."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or not action.option_strings or action.default is None or action.default is False \
                or action.default == argparse.SUPPRESS:
            return text
        return text + " (default: %(default)s)"


def _with_defaults_in_help(subparsers):
    """Subparsers whose --help shows every option's default."""
    from functools import partial

    subparsers.add_parser = partial(subparsers.add_parser, formatter_class=_DefaultsFormatter)
    return subparsers


def build_parser() -> argparse.ArgumentParser:
    from graspsim.sim.trials import TRIALS_PER_OBJECT
    from graspsim.scene import LAYOUTS

    parser = argparse.ArgumentParser(prog="graspsim", description="Simulation-in-the-loop grasp evaluation.")
    sub = _with_defaults_in_help(parser.add_subparsers(dest="command", required=True))

    run = sub.add_parser("run", help="run one policy in this process and record the episodes (a one-worker benchmark)")
    run.add_argument("--policy", default="analytic", help=POLICY_FORMS)
    run.add_argument("--as", dest="labels", action="append", default=None, metavar="NAME",
                     help="the policy's name in the results (e.g. its old name, to compare a new checkpoint with it)")
    _add_episode_args(run)
    run.add_argument("--checkpoint", default=None, help="model checkpoint for learned policies (default: the shipped one)")

    bm = sub.add_parser("benchmark", help="run policies on identical scenes in parallel; results, report and figures")
    bm.add_argument("--policy", action="append", default=None,
                    help=POLICY_FORMS + "; repeat to compare policies (default: analytic)")
    bm.add_argument("--as", dest="labels", action="append", default=None, metavar="NAME",
                    help="names of the policies in the results, one per --policy in order (e.g. --policy "
                         "graspsam@new.pt --as graspsam, to compare with a run of the old checkpoint)")
    _add_episode_args(bm, repeat_prompt=True)
    bm.add_argument("--env", default="prompted", choices=("prompted", "declutter"),
                    help="PromptedGrasp-v0 (one grasp per episode) or Declutter-v0 (clutter-removal rounds)")
    bm.add_argument("--workers", type=int, default=None, help="parallel workers (default: the number of CPUs)")
    bm.add_argument("--backend", default="local", choices=("local", "ray", "serial"),
                    help="local process pool (default), Ray, or this process")
    bm.add_argument("--ray-address", default=None, help="Ray cluster address (default: a local Ray instance)")
    bm.add_argument("--timeout", type=float, default=600.0, help="seconds before an episode counts as an error (default 600)")

    cmp = sub.add_parser("compare", help="exit 1 when a success rate fell significantly by more than --max-drop",
                         epilog="exit status: 0 no significant regression; 1 a significant regression; "
                                "2 bad input, or no (policy, prompt) group in common")
    cmp.add_argument("base", type=Path, help="baseline summary.json or benchmark folder")
    cmp.add_argument("new", type=Path, help="new summary.json or benchmark folder")
    cmp.add_argument("--max-drop", type=float, default=0.05, help="tolerated fall of a success rate (default 0.05)")
    cmp.add_argument("--alpha", type=float, default=0.05, help="significance level of the one-sided test (default 0.05)")

    table = sub.add_parser("table", help="print a markdown results table of benchmark or run folders")
    table.add_argument("runs", nargs="+", type=Path, help="folders (each with summary.json)")
    table.add_argument("--by-scenes", action="store_true",
                       help="one row per policy and prompt, one column per scene set: lift (rectangle-metric accuracy)")

    label = sub.add_parser("label", help="label generated scenes by simulated grasp trials and write a data set")
    label.add_argument("--objects", default="primitives",
                       help="object set, a folder of meshes, or several sets separated by commas (scene n uses set n mod k)")
    label.add_argument("--layout", default="pile", choices=LAYOUTS)
    label.add_argument("--split", default="train", choices=("all", "train", "test"), help="object split (default train)")
    label.add_argument("--object-count", type=_count_range, default=None, help="N or MIN,MAX objects per scene")
    label.add_argument("--scenes", type=int, default=200, help="number of scenes (scene n uses seed + n)")
    label.add_argument("--seed", type=int, default=0)
    label.add_argument("--trials-per-object", type=int, default=TRIALS_PER_OBJECT, help="physics trials per object")
    label.add_argument("--gripper", default="franka", help="gripper of the trials (franka, robotiq-2f85)")
    label.add_argument("--suite", default=None,
                       help="label the scenes of this suite (name or .jsonl) again instead of generating scenes")
    label.add_argument("--appearance", default="catalogue", choices=("catalogue", "randomised"),
                       help="catalogue colours (default) or a randomised appearance per scene (split's held-out rule)")
    label.add_argument("--text-scenes", action="store_true",
                       help="keep only scenes that ask for language: every visible object shares its category or "
                            "colour with another, and a referring phrase singles each out (the text-test suite)")
    label.add_argument("--workers", type=int, default=1, help="worker processes")
    label.add_argument("--backend", default="local", choices=("local", "ray", "serial"), help="as graspsim benchmark")
    label.add_argument("--ray-address", default=None, help="Ray cluster address (default: a local Ray instance)")
    label.add_argument("--out", type=Path, required=True, help="data set folder (re-run the same command to resume)")
    label.add_argument("--quiet", action="store_true", help="no progress bar")

    export = sub.add_parser("export", help="write a data set in another format")
    export.add_argument("--format", required=True, choices=("jacquard",))
    export.add_argument("--data", type=Path, required=True, help="source data set folder")
    export.add_argument("--data-format", default="sim", help="format of the source data set (default sim)")
    export.add_argument("--out", type=Path, required=True)
    export.add_argument("--image-size", type=int, default=1024, help="exported image side in pixels (Jacquard: 1024)")
    export.add_argument("--quiet", action="store_true", help="no progress bar")

    train = sub.add_parser("train", help="train a learned policy")
    train_sub = _with_defaults_in_help(train.add_subparsers(dest="model", required=True))
    tg = train_sub.add_parser("graspsam", help="train GraspSAM on a grasp data set (re-run the same command to resume)")
    tg.add_argument("--variant", default="tiny",
                    help="tiny | tiny_rgbd (tiny + depth as heights above the table) | vit_t | vit_b | vit_l | vit_h")
    tg.add_argument("--sam-checkpoint", default=None, help="official SAM / MobileSAM weights for vit_* variants")
    tg.add_argument("--data", required=True, help="training data set folder (several: comma-separated)")
    tg.add_argument("--init", "--init-from", dest="init", default=None,
                    help="GraspSAM checkpoint to start from (fine-tuning); for tiny_rgbd also a tiny checkpoint "
                         "(its weights loaded, the depth stem starting at zero)")
    tg.add_argument("--data-format", default="sim", help="sim | cornell | jacquard | grasp-anything | ocid")
    tg.add_argument("--val", default=None, help="validation data set (default: an object-wise 10%% hold-out of --data)")
    tg.add_argument("--val-format", default=None)
    tg.add_argument("--out", required=True, help="output folder: best.pt, last.pt, summary.json")
    tg.add_argument("--epochs", type=int, default=30)
    tg.add_argument("--batch-size", type=int, default=8)
    tg.add_argument("--lr", type=float, default=1e-3)
    tg.add_argument("--seed", type=int, default=0)
    tg.add_argument("--prompt-kinds", default="points,point,box",
                    help="training prompt kinds, one drawn per batch: points (10 points), point, box")
    tg.add_argument("--text", action="store_true",
                    help="give the model its own language path and train it on referring phrases too "
                         "(add text to --prompt-kinds)")
    tg.add_argument("--text-grounding", action="store_true",
                    help="the language path also gets its grounding map, matched against the image and trained on "
                         "the target's mask (implies --text)")
    tg.add_argument("--untried-weight", type=float, default=1.0,
                    help="quality-loss weight on object pixels no physics-tried rectangle covers (1: the published loss)")
    tg.add_argument("--max-examples", type=int, default=None,
                    help="use only the first N training objects (and N/4 validation objects): quick ablations")
    tg.add_argument("--save-every", type=int, default=200,
                    help="also save last.pt every N steps within an epoch (an interrupted run loses at most N steps)")
    tg.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    tg.add_argument("--quiet", action="store_true", help="no progress bars")
    tgr = train_sub.add_parser("grounding", help="train the grounding map of a GraspSAM checkpoint's language path "
                               "(the grasp model frozen; re-run the same command to resume)")
    tgr.add_argument("--checkpoint", required=True, help="GraspSAM checkpoint with a language path (trained with --text)")
    tgr.add_argument("--data", required=True, help="training data set folder(s), comma-separated (sim sets: phrases need scene specs)")
    tgr.add_argument("--val", required=True, help="validation data set folder (train-split objects)")
    tgr.add_argument("--out", required=True, help="output folder: best.pt (a GraspSAM checkpoint), last.pt, summary.json")
    tgr.add_argument("--epochs", type=int, default=20)
    tgr.add_argument("--batch-size", type=int, default=16)
    tgr.add_argument("--lr", type=float, default=1e-3)
    tgr.add_argument("--seed", type=int, default=0)
    tgr.add_argument("--max-examples", type=int, default=None,
                     help="use only the first N training objects (and N/4 validation objects): quick trials")
    tgr.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    tgr.add_argument("--quiet", action="store_true", help="no progress bars")
    tr = train_sub.add_parser("redmon", help="k-fold cross-validation (or, with --folds 0, the final model) of a Redmon & Angelova 2015 baseline")
    tr.add_argument("--model", dest="redmon_model", required=True, choices=("direct", "classify", "multigrasp"))
    tr.add_argument("--data", required=True, help="data set folder")
    tr.add_argument("--format", "--data-format", dest="data_format", default="sim", help="sim | cornell | jacquard | grasp-anything | ocid")
    tr.add_argument("--folds", type=int, default=5, help="folds of the cross-validation; 0: train on all data and save the checkpoint")
    tr.add_argument("--split", default="image", choices=("image", "object"))
    tr.add_argument("--epochs", type=int, default=25)
    tr.add_argument("--batch-size", type=int, default=32)
    tr.add_argument("--lr", type=float, default=1e-3)
    tr.add_argument("--width", type=float, default=0.125, help="fraction of AlexNet's channels (default 0.125)")
    tr.add_argument("--hidden", type=int, default=256, help="units of the two hidden fully connected layers")
    tr.add_argument("--class-weight", type=float, default=1.0, help="classify: weight of the category cross entropy")
    tr.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    tr.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--out", required=True, help="output folder: fold_<j>.json and summary.json, or redmon_<model>.pt")
    tr.add_argument("--quiet", action="store_true", help="no progress bars")

    ev = sub.add_parser("eval", help="offline rectangle-metric accuracy of a learned model")
    ev_sub = _with_defaults_in_help(ev.add_subparsers(dest="model", required=True))
    eg = ev_sub.add_parser("graspsam", help="top-1 rectangle accuracy of a GraspSAM checkpoint per prompt kind")
    eg.add_argument("--checkpoint", required=True)
    eg.add_argument("--variant", default=None,
                    help="the variant the checkpoint must hold (default: whatever it holds; tiny_rgbd reads depth)")
    eg.add_argument("--data", required=True)
    eg.add_argument("--data-format", default="sim")
    eg.add_argument("--seed", type=int, default=0, help="seed of the prompt draws")
    eg.add_argument("--colour-refine", action="store_true",
                    help="decode after the policy's colour refinement of the predicted mask (default: the model alone)")
    eg.add_argument("--quiet", action="store_true")

    bench = sub.add_parser("bench", help="performance benchmarks")
    bench_sub = _with_defaults_in_help(bench.add_subparsers(dest="bench", required=True))
    from graspsim.sim.executor import SCHEDULES

    sim = bench_sub.add_parser("sim", help="whole-episode throughput of the random policy and its parts")
    _add_scene_args(sim)
    sim.add_argument("--episodes", type=int, default=20, help="episodes")
    sim.add_argument("--appearance", default="catalogue", choices=("catalogue", "randomised"), help="scene appearance")
    sim.add_argument("--vector", default=None, metavar="N,M",
                     help="instead: episodes/s of AsyncVectorEnv with N, M, ... environments and the scaling efficiency")
    sim.add_argument("--autoreset", default="next-step", choices=("next-step", "same-step"),
                     help="with --vector: Gymnasium's autoreset mode (same-step: one vector step per episode)")
    sim.add_argument("--no-render-after-grasp", dest="render_after_grasp", action="store_false",
                     help="measure with the environment option render_after_grasp=False (the step returns the "
                          "frame the policy acted on: a render less per episode)")
    sim.add_argument("--schedule", default="full", choices=tuple(SCHEDULES),
                     help="the environments' executor schedule (fast: the labeller's; outcomes not identical)")
    sim.add_argument("--declutter", type=int, default=0, metavar="ROUNDS",
                     help="also: rounds/s and grasps/s of Declutter-v0 (analytic policy) over ROUNDS rounds")
    bp = bench_sub.add_parser("policy", help="policy latency: a new image, and a further prompt on the same image")
    bp.add_argument("--policy", default="graspsam")
    bp.add_argument("--checkpoint", default=None)
    bp.add_argument("--objects", default="primitives")
    bp.add_argument("--layout", default="pile")
    bp.add_argument("--episodes", type=int, default=20)
    bp.add_argument("--seed", type=int, default=0)
    bp.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    sc = bench_sub.add_parser("scaling", help="episodes per second with 1..N workers and the scaling efficiency")
    sc.add_argument("--policy", default="analytic")
    sc.add_argument("--workers", default="1,2", help="comma-separated worker counts (default 1,2)")
    sc.add_argument("--episodes", type=int, default=16, help="episodes per measurement")
    sc.add_argument("--repeats", type=int, default=3, help="repeated runs per worker count (medians)")
    sc.add_argument("--objects", default="primitives")
    sc.add_argument("--layout", default="pile")
    sc.add_argument("--seed", type=int, default=0)
    bl = bench_sub.add_parser("label", help="labelling engine: physics trials per second per core, and --validate "
                                            "its agreement with the full executor")
    bl.add_argument("--objects", default="primitives", help="object set of the speed measurement (default primitives)")
    bl.add_argument("--layout", default="pile", choices=LAYOUTS)
    bl.add_argument("--split", default="train", choices=("all", "train", "test"))
    bl.add_argument("--scenes", type=int, default=10, help="scenes labelled for the speed measurement (default 10)")
    bl.add_argument("--seed", type=int, default=0)
    bl.add_argument("--trials-per-object", type=int, default=TRIALS_PER_OBJECT)
    bl.add_argument("--validate", type=int, default=None, metavar="N",
                    help="instead: run N sampled trials on both schedules and print their agreement (e.g. 500)")
    bl.add_argument("--validate-sets", default="primitives,random-urdfs,household",
                    help="object sets the validation samples in turn (comma-separated)")
    bl.add_argument("--quiet", action="store_true", help="no progress bar")
    metric = bench_sub.add_parser("metric", help="rectangle-metric evaluation speed")
    metric.add_argument("--predictions", type=int, default=10000)
    metric.add_argument("--ground-truth", type=int, default=20, help="ground-truth rectangles per prediction")
    return parser


def _policy_kwargs(args) -> dict:
    import json

    kwargs = {}
    if args.policy_kwargs:
        try:
            kwargs = json.loads(args.policy_kwargs)
        except json.JSONDecodeError as exc:
            raise ValueError(f"--policy-kwargs must be a JSON object, got {args.policy_kwargs!r} ({exc})") from None
        if not isinstance(kwargs, dict):
            raise ValueError(f"--policy-kwargs must be a JSON object, got {args.policy_kwargs!r}")
    if getattr(args, "checkpoint", None) is not None:
        kwargs["checkpoint"] = args.checkpoint
    return kwargs


def _benchmark_config(args, policies: list[str], prompts: list[str], env: str = "prompted"):
    from graspsim.app.benchmark import BenchmarkConfig

    return BenchmarkConfig(
        policies=policies, prompts=prompts, suite=args.suite, objects=args.objects, layout=args.layout,
        split=args.split, object_count=args.object_count, episodes=args.episodes, seed=args.seed, env=env,
        shake=args.shake, label_targets=args.label_targets, gripper=args.gripper, appearance=args.appearance,
        labels=args.labels, video=args.video, grounder=args.grounder, phrasing=args.phrasing, schedule=args.schedule,
        policy_kwargs=_policy_kwargs(args),
        figures=not args.no_figures,
    )


def _print_results(summary: dict, out) -> None:
    from graspsim.app.benchmark.report import format_summary

    print(format_summary(summary))
    if out is not None:
        print(f"results: {out / 'episodes.jsonl'}, {out / 'summary.json'}, {out / 'report.md'}")


def _run(args) -> int:
    from graspsim.app.benchmark import run_benchmark

    config = _benchmark_config(args, [args.policy], [args.prompt])
    summary = run_benchmark(config, args.out, workers=1, backend="serial", resume=args.resume, progress=not args.quiet)
    _print_results(summary, args.out)
    return _all_failed(summary, args.out)


def _benchmark(args) -> int:
    from graspsim.app.benchmark import default_workers, run_benchmark

    config = _benchmark_config(args, args.policy or ["analytic"], args.prompt or ["point"], env=args.env)
    workers = args.workers if args.workers is not None else default_workers()
    summary = run_benchmark(config, args.out, workers=workers, backend=args.backend, resume=args.resume,
                            timeout_s=args.timeout, ray_address=args.ray_address, progress=not args.quiet)
    _print_results(summary, args.out)
    return _all_failed(summary, args.out)


def _all_failed(summary: dict, out) -> int:
    """1 (and the first error on stderr) when no episode finished because every one errored, else 0."""
    if summary["episodes"] or not summary["errors"]:
        return 0
    first = None
    if out is not None and (Path(out) / "episodes.jsonl").is_file():
        import json

        for line in (Path(out) / "episodes.jsonl").read_text().splitlines():
            try:
                first = json.loads(line).get("error")
            except json.JSONDecodeError:
                continue
            if first:
                break
    detail = f": {first.strip().splitlines()[-1]}" if first else ""
    print(f"graspsim: error: every episode failed ({summary['errors']} errors){detail}", file=sys.stderr)
    return 1


def _compare(args) -> int:
    from graspsim.app.benchmark.compare import compare_summaries, format_comparison, load_summary

    result = compare_summaries(load_summary(args.base), load_summary(args.new), args.max_drop, args.alpha)
    print(format_comparison(result))
    if all((folder / "episodes.jsonl").is_file() for folder in (args.base, args.new)):
        from graspsim.app.benchmark.compare import format_paired, paired_outcomes
        from graspsim.app.benchmark.store import read_records

        print(format_paired(paired_outcomes(read_records(args.base / "episodes.jsonl"),
                                            read_records(args.new / "episodes.jsonl"))))
    return 1 if result["regressions"] else 0


def _bench(args) -> int:
    if args.bench == "label":
        from graspsim.app.bench_label import bench_label, format_bench_label, format_validate_label, validate_label

        if args.validate is not None:
            sets = tuple(x.strip() for x in args.validate_sets.split(",") if x.strip())
            print(format_validate_label(validate_label(args.validate, sets, args.seed, args.layout, args.split,
                                                       progress=not args.quiet)))
        else:
            print(format_bench_label(bench_label(args.objects, args.layout, args.scenes, args.seed, args.split,
                                                 args.trials_per_object, progress=not args.quiet)))
        return 0
    if args.bench == "policy":
        from graspsim.app.bench import bench_policy, format_bench_policy

        kwargs = {} if args.checkpoint is None else {"checkpoint": args.checkpoint}
        print(format_bench_policy(bench_policy(args.policy, args.objects, args.layout, args.episodes, args.seed, args.threads, kwargs)))
        return 0
    if args.bench == "scaling":
        from graspsim.app.bench import bench_scaling, format_bench_scaling

        try:
            counts = [int(w) for w in args.workers.split(",")]
        except ValueError:
            raise ValueError(f"--workers must be comma-separated integers, got {args.workers!r}") from None
        print(format_bench_scaling(bench_scaling(args.policy, counts, args.episodes, args.repeats, args.objects,
                                                 args.layout, args.seed)))
        return 0
    if args.bench == "metric":
        from graspsim.app.bench import bench_metric, format_bench_metric

        print(format_bench_metric(bench_metric(args.predictions, args.ground_truth)))
        return 0
    from graspsim.app.bench import bench_sim, format_bench

    if args.vector is not None:
        from graspsim.app.bench import bench_vector, format_bench_vector

        try:
            counts = tuple(int(n) for n in args.vector.split(","))
        except ValueError:
            raise ValueError(f"--vector must be comma-separated integers, got {args.vector!r}") from None
        print(format_bench_vector(bench_vector(counts, args.episodes, args.objects, args.layout, args.seed, args.autoreset,
                                                      args.schedule)))
        return 0
    print(format_bench(bench_sim(args.objects, args.layout, args.prompt, args.episodes, args.seed, args.split,
                                 args.object_count, args.appearance, args.render_after_grasp, args.schedule)))
    if args.declutter:
        from graspsim.app.bench import bench_declutter

        d = bench_declutter(args.declutter, args.objects, args.layout, args.seed, args.schedule)
        print(f"Declutter-v0 (analytic, mask prompts): {d['rounds_per_second']:.2f} rounds/s, "
              f"{d['grasps_per_second']:.2f} grasps/s ({d['rounds']} rounds, {d['grasps']} grasps, {d['seconds']:.1f} s)")
    return 0


def _label(args) -> int:
    from graspsim.app.labelling import LabelConfig, format_label_summary, label_dataset

    config = LabelConfig(
        objects=args.objects, layout=args.layout, scenes=args.scenes, seed=args.seed, split=args.split,
        object_count=args.object_count, trials_per_object=args.trials_per_object, gripper=args.gripper,
        appearance=args.appearance, suite=args.suite, text_scenes=args.text_scenes,
    )
    print(format_label_summary(label_dataset(config, args.out, workers=args.workers, progress=not args.quiet,
                                             backend=args.backend, ray_address=args.ray_address)))
    return 0


def _train(args) -> int:
    if args.model == "redmon":
        from graspsim.policies.redmon.train import RedmonConfig, run

        run(RedmonConfig(
            model=args.redmon_model, data=str(args.data), out=str(args.out),
            data_format=args.data_format, folds=args.folds, split=args.split, epochs=args.epochs, batch_size=args.batch_size,
            lr=args.lr, width=args.width, hidden=args.hidden, class_weight=args.class_weight, seed=args.seed, threads=args.threads, device=args.device,
        ), progress=not args.quiet)
        return 0
    if args.model == "grounding":
        from graspsim.policies.graspsam.train_grounding import GroundingConfig, train_grounding

        s = train_grounding(GroundingConfig(
            checkpoint=str(args.checkpoint), data=str(args.data), val=str(args.val), out=str(args.out),
            epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
            max_examples=args.max_examples, device=args.device,
        ), progress=not args.quiet)
        best = s["best"]["val"]
        print(f"best epoch {s['best']['epoch'] + 1}: validation text pick {best['text']['pick']:.3f} "
              f"(hit {best['text']['hit']:.3f}), held-out phrasing pick {best['text_held_out']['pick']:.3f}; "
              f"checkpoint {s['best_checkpoint']}")
        print(f"{s['train_examples']} training / {s['val_examples']} validation objects, {s['seconds_this_run']:.0f} s on {s['device']}")
        return 0
    from graspsim.policies.graspsam.train import TrainConfig, train_graspsam

    config = TrainConfig(
        data=str(args.data), out=str(args.out), val=args.val, data_format=args.data_format, val_format=args.val_format,
        variant=args.variant, sam_checkpoint=args.sam_checkpoint, epochs=args.epochs, batch_size=args.batch_size,
        lr=args.lr, seed=args.seed, device=args.device, init=args.init, untried_weight=args.untried_weight,
        prompt_kinds=tuple(k.strip() for k in args.prompt_kinds.split(",") if k.strip()), max_examples=args.max_examples,
        text=args.text or args.text_grounding,
        text_grounding=args.text_grounding,
        save_every_steps=args.save_every,
    )
    s = train_graspsam(config, progress=not args.quiet)
    best = s["best"]
    print(f"best epoch {best['epoch'] + 1}: validation top-1 {best['top1']:.3f} "
          f"(point {best['val']['point']['top1']:.3f}, box {best['val']['box']['top1']:.3f}); checkpoint {s['best_checkpoint']}")
    print(f"{s['train_examples']} training / {s['val_examples']} validation objects, {s['seconds_this_run']:.0f} s on {s['device']}")
    return 0


def _eval(args) -> int:
    from graspsim.policies.graspsam.train import evaluate_checkpoint

    r = evaluate_checkpoint(args.checkpoint, args.data, args.data_format, args.seed, progress=not args.quiet,
                            colour_refine=args.colour_refine, variant=args.variant)
    print(f"{r['examples']} labelled objects of {r['data']} ({r['variant']})"
          + (", after colour refinement" if r["colour_refine"] else ""))
    for kind in r["kinds"]:
        print(f"{kind:>5}: top-1 {r[kind]['top1']:.3f}, top-5 {r[kind]['top5']:.3f}, "
              f"pick {r[kind]['pick']:.3f} (mask IoU >= 0.5; {r[kind]['n']} objects)")
    print(f"mean top-1: {r['top1']:.3f}")
    return 0


def _export(args) -> int:
    from graspsim.datasets import open_dataset
    from graspsim.datasets.jacquard import write_jacquard

    dataset = open_dataset(args.data_format, args.data)
    count = write_jacquard(dataset, args.out, image_size=args.image_size, progress=not args.quiet)
    print(f"exported {count} object image(s) of {len(dataset)} sample(s) to {args.out} (Jacquard layout)")
    return 0


def main(argv: list[str] | None = None) -> int:
    import os

    args = build_parser().parse_args(argv)
    quiet_before = os.environ.get("GRASPSIM_QUIET")
    if getattr(args, "quiet", False):
        from graspsim.plugins import import_pybullet_quietly

        os.environ["GRASPSIM_QUIET"] = "1"  # for this run's worker processes only (restored below)
        import_pybullet_quietly()
    try:
        return _dispatch(args)
    finally:
        if quiet_before is None:
            os.environ.pop("GRASPSIM_QUIET", None)
        else:
            os.environ["GRASPSIM_QUIET"] = quiet_before


def _dispatch(args) -> int:
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "benchmark":
            return _benchmark(args)
        if args.command == "compare":
            return _compare(args)
        if args.command == "table":
            from graspsim.app.benchmark.report import summary_table

            print(summary_table(args.runs, pivot=args.by_scenes))
            return 0
        if args.command == "bench":
            return _bench(args)
        if args.command == "label":
            return _label(args)
        if args.command == "export":
            return _export(args)
        if args.command == "train":
            return _train(args)
        if args.command == "eval":
            return _eval(args)
    except ValueError as exc:
        print(f"graspsim: error: {exc}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())

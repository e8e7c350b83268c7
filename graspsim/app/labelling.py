"""``graspsim label``: generate scenes, label them by simulated trials, write a data set.

Scene ``n`` of a run is generated from seed ``seed + n`` (of object set ``n mod k``
when several are given; with ``appearance="randomised"`` its appearance is
drawn from ``default_rng([seed + n, APPEARANCE_STREAM])`` with the run's split,
so held-out appearance stays out of train sets), labelled by
:func:`graspsim.sim.trials.label_scene` and written by
:func:`graspsim.datasets.sim.write_scene`; every scene is a function of the
configuration and its number alone, so the data set is the same whatever
the number of worker processes. Scenes run as tasks of
:func:`graspsim.app.benchmark.pool.run_tasks` (local processes or Ray, as
``graspsim benchmark``): a scene whose worker crashes is reported and left
out, the others go on. Scenes already complete in the output folder are
skipped, which is how an interrupted (or partly failed) run resumes (run the
same command again).

With ``text_scenes`` (``--text-scenes``), scene ``n`` is the first of the scenes
drawn from ``default_rng([seed + n, TEXT_SCENE_STREAM, attempt])`` (attempt 0,
1, ...; appearance from ``[seed + n, APPEARANCE_STREAM, attempt]``) whose
visible objects ask for language (:func:`graspsim.phrases.needs_language`:
each shares its category or colour with another, and a referring phrase
singles each out): the scenes of the ``text-test`` suite.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

from graspsim.sim.trials import MIN_VISIBLE_PX, TRIALS_PER_OBJECT


@dataclass(frozen=True)
class LabelConfig:
    objects: str = "primitives"
    layout: str = "pile"
    scenes: int = 200
    seed: int = 0
    split: str = "train"
    object_count: int | tuple[int, int] | None = None
    trials_per_object: int = TRIALS_PER_OBJECT
    min_visible_px: int = MIN_VISIBLE_PX
    gripper: str = "franka"
    appearance: str = "catalogue"
    #: a suite (name or .jsonl file) whose scenes are labelled again instead of generated ones:
    #: scene n is the suite's scene n as it stands (objects, poses, appearance)
    suite: str | None = None
    #: keep only scenes that ask for language (module docstring)
    text_scenes: bool = False

    def object_sets(self) -> list[str]:
        """The object sets of the run: scene ``n`` uses set ``n mod len(sets)``
        (``objects`` names one set, or several separated by commas)."""
        return [name.strip() for name in self.objects.split(",")] if "," in self.objects else [self.objects]

    def check(self) -> None:
        from graspsim.objects import OBJECT_SETS, get_object_set
        from graspsim.scene import LAYOUTS, check_count_range

        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {self.layout!r}")
        for name in ("scenes", "trials_per_object", "min_visible_px"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not (isinstance(self.seed, int) and 0 <= self.seed < 2**63 - 2**32):
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if self.object_count is not None:
            check_count_range(self.object_count)
        from graspsim.appearance import check_mode
        from graspsim.grippers import available_grippers

        check_mode(self.appearance)
        if self.text_scenes and self.suite is not None:
            raise ValueError("text_scenes draws new scenes: it cannot relabel a suite")
        if self.suite is not None:
            from graspsim import suites

            n = len(suites.load(self.suite))
            if self.scenes > n:
                raise ValueError(f"scenes ({self.scenes}) exceeds the {n} scenes of suite {self.suite!r}")

        if self.gripper not in available_grippers():
            raise ValueError(f"gripper must be one of {available_grippers()}, got {self.gripper!r}")
        if not isinstance(self.objects, str) or not all(self.object_sets()):
            raise ValueError(f"objects must name object sets separated by commas, got {self.objects!r}")
        for name in self.object_sets():
            try:
                object_set = get_object_set(name)
            except (KeyError, ValueError) as exc:
                raise ValueError(f"objects must be one of {sorted(OBJECT_SETS)} or a folder of meshes: {exc}") from None
            if not object_set.objects(self.split):
                raise ValueError(f"object set {name!r} has no objects in split {self.split!r}")

    def header(self) -> dict:
        d = asdict(self)
        if isinstance(d["object_count"], tuple):
            d["object_count"] = list(d["object_count"])
        for key, default in (("gripper", "franka"), ("appearance", "catalogue"), ("suite", None),
                             ("text_scenes", False)):
            if d[key] == default:
                del d[key]  # data sets written before these options existed stay resumable
        return d


_WORKER: dict = {}
#: second seed word of a scene's appearance draws (the first is the scene's seed)
APPEARANCE_STREAM = 1
#: second seed word of the draws of text scenes (``text_scenes``)
TEXT_SCENE_STREAM = 2
#: draws tried per text scene before giving up
TEXT_SCENE_ATTEMPTS = 500


def _text_scene(world, config: "LabelConfig", number: int, object_set):
    """The first drawn scene of number ``number`` that asks for language (module docstring)."""
    import numpy as np

    from graspsim.phrases import needs_language, scene_facts
    from graspsim.sim.scene_builder import build_scene, generate_scene, randomise_spec
    from graspsim.sim.trials import visible_objects

    for attempt in range(TEXT_SCENE_ATTEMPTS):
        spec = generate_scene(world, object_set, config.layout, config.object_count, config.split,
                              rng=np.random.default_rng([config.seed + number, TEXT_SCENE_STREAM, attempt]))
        if config.appearance == "randomised":
            spec = randomise_spec(spec, np.random.default_rng([config.seed + number, APPEARANCE_STREAM, attempt]),
                                  config.split)
        build_scene(world, spec, object_set)
        seg = world.render(None)["segmentation"]
        visible = visible_objects(seg, world.objects, config.min_visible_px)
        if needs_language(scene_facts(spec, {i: seg == i + 1 for i in visible})):
            return spec
    raise RuntimeError(f"scene {number}: none of {TEXT_SCENE_ATTEMPTS} drawn scenes asks for language")


def _label_one(args) -> dict:
    """Generate, label and write scene ``number``; return its counts."""
    config, out, number = args
    from graspsim.datasets.sim import write_scene
    from graspsim.sim.trials import label_scene
    from graspsim.objects import get_object_set
    from graspsim.sim.scene_builder import generate_scene

    if _WORKER.get("gripper") != config.gripper:
        from graspsim.sim.world import World

        if "world" in _WORKER:
            _WORKER["world"].close()
        _WORKER["world"], _WORKER["gripper"] = World(gripper=config.gripper), config.gripper
    world = _WORKER["world"]
    if config.suite is not None:
        if _WORKER.get("suite_name") != config.suite:
            from graspsim import suites

            _WORKER["suite_name"], _WORKER["suite"] = config.suite, suites.load(config.suite)
        spec = _WORKER["suite"][number].with_labels(None)
        object_set = get_object_set(spec.object_set)
    elif config.text_scenes:
        sets = config.object_sets()
        object_set = get_object_set(sets[number % len(sets)])
        spec = _text_scene(world, config, number, object_set)
    else:
        sets = config.object_sets()
        object_set = get_object_set(sets[number % len(sets)])
        spec = generate_scene(world, object_set, config.layout, config.object_count, config.split, seed=config.seed + number)
    if config.appearance == "randomised" and config.suite is None and not config.text_scenes:
        import numpy as np

        from graspsim.sim.scene_builder import randomise_spec

        spec = randomise_spec(spec, np.random.default_rng([config.seed + number, APPEARANCE_STREAM]), config.split)
    frame, labels, stats = label_scene(world, spec, config.trials_per_object, config.min_visible_px, object_set)
    write_scene(Path(out), number, spec, frame, labels, world.camera, object_set)
    return {
        "scene": number,
        "objects": len(labels),
        "trials": stats.trials,
        "positives": int(sum(len(l.positive) for l in labels.values())),
        "negatives": int(sum(len(l.negative) for l in labels.values())),
        "trial_seconds": stats.trial_seconds,
        "candidate_seconds": stats.candidate_seconds,
    }


def label_dataset(config: LabelConfig, out, workers: int = 1, progress: bool = True, backend: str = "local",
                  ray_address: str | None = None, timeout_s: float | None = None) -> dict:
    """Label ``config.scenes`` scenes into ``out`` with ``workers`` processes; resumable.

    Returns a summary: scenes done this run and in total, scenes that failed
    (``failed``: scene number -> error text), trials, positives,
    negatives, wall seconds, and trial throughput (trials per second per core,
    i.e. trials / summed trial seconds of the workers).
    """
    from graspsim.app.benchmark.pool import check_pool_args, check_script_guard, run_tasks
    from graspsim.camera import Camera
    from graspsim.datasets.sim import camera_dict, completed_scenes, write_dataset_header, write_suite_file

    config.check()
    check_pool_args(workers, backend, timeout_s)
    check_script_guard(backend, workers)
    out = Path(out)
    write_dataset_header(out, {**config.header(), "camera": camera_dict(Camera())})
    done = set(completed_scenes(out))
    todo = [n for n in range(config.scenes) if n not in done]
    totals = {"trials": 0, "positives": 0, "negatives": 0, "trial_seconds": 0.0, "candidate_seconds": 0.0, "objects": 0}
    t0 = time.perf_counter()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=config.scenes, initial=len(done), desc="label", unit="scene", dynamic_ncols=True)
    tasks = [(config, str(out), n) for n in todo]
    if workers == 1 and backend == "local":
        backend = "serial"  # one worker: no process to spawn
    failed: dict[int, str] = {}
    try:
        for result in run_tasks(_label_one, tasks, workers=workers, backend=backend, timeout_s=timeout_s,
                                ray_address=ray_address):
            if result.error is not None:
                failed[todo[result.index]] = result.error
                if bar is not None:
                    bar.write(f"scene {todo[result.index]} failed: {result.error.strip().splitlines()[-1]}")
                    bar.update(1)
                continue
            r = result.value
            for k in totals:
                totals[k] += r[k]
            if bar is not None:
                rate = totals["trials"] / totals["trial_seconds"] if totals["trial_seconds"] else 0.0
                bar.set_postfix(trials=totals["trials"], pos=totals["positives"], neg=totals["negatives"], per_core=f"{rate:.2f}/s")
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    suite = write_suite_file(out)
    wall = time.perf_counter() - t0
    return {
        "out": str(out),
        "suite": str(suite),
        "scenes_total": len(completed_scenes(out)),
        "scenes_this_run": len(todo) - len(failed),
        "scenes_skipped": len(done & set(range(config.scenes))),
        "failed": failed,
        **totals,
        "wall_seconds": wall,
        "trials_per_second_per_core": totals["trials"] / totals["trial_seconds"] if totals["trial_seconds"] else 0.0,
        "trials_per_second": totals["trials"] / wall if wall > 0 and totals["trials"] else 0.0,
        "workers": workers,
    }


def format_label_summary(s: dict) -> str:
    return (
        f"labelled {s['scenes_this_run']} scene(s) ({s['scenes_skipped']} already done, {s['scenes_total']} in {s['out']})\n"
        f"objects {s['objects']}, trials {s['trials']}: {s['positives']} positive, {s['negatives']} negative\n"
        f"trial throughput {s['trials_per_second_per_core']:.2f} trials/s per core "
        f"({s['trials_per_second']:.2f} trials/s wall with {s['workers']} worker(s), {s['wall_seconds']:.1f} s)\n"
        f"labelled suite: {s['suite']}"
        + (f"\n{len(s['failed'])} scene(s) failed ({', '.join(map(str, sorted(s['failed'])))}); "
           "run the same command again to retry them" if s["failed"] else "")
    )

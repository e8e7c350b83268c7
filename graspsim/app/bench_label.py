"""``graspsim bench label``: the labelling engine's speed, and its agreement with the full executor.

Speed: scenes are generated and labelled as ``graspsim label`` does (one
process); it prints physics trials per second per core and where the time
goes (candidate generation per object, scene rebuild and attempt per trial).

Agreement (``--validate N``): N labeller trials sampled across object sets
(pile scenes of each set in turn, up to ``PER_OBJECT`` spread-out grasps per
visible object, as the labeller chooses them) are each run twice on exact
rebuilds of their scene: once on the labeller's :data:`~graspsim.sim.executor.FAST`
schedule and once on the environments' :data:`~graspsim.sim.executor.FULL`
schedule. It prints the share of trials whose success agrees, the 2 × 2
confusion table and the agreement per object set.
"""

from __future__ import annotations

import time
from collections import Counter

import numpy as np

PER_OBJECT = 4


def _scenes(objects: str, layout: str, split: str, seed: int):
    """Endless (spec, object set) of generated scenes, seeds ``seed``, ``seed + 1``, ..."""
    from graspsim.objects import get_object_set
    from graspsim.sim.scene_builder import generate_scene
    from graspsim.sim.world import World

    object_set = get_object_set(objects)
    with World() as world:
        n = 0
        while True:
            yield world, generate_scene(world, object_set, layout, None, split, seed=seed + n), object_set
            n += 1


def bench_label(objects: str = "primitives", layout: str = "pile", scenes: int = 10, seed: int = 0,
                split: str = "train", trials_per_object: int | None = None, progress: bool = True) -> dict:
    """Label ``scenes`` generated scenes in this process; trials/s per core and its parts."""
    from graspsim.sim.trials import TRIALS_PER_OBJECT, LabelStats, label_scene

    if not (isinstance(scenes, int) and scenes >= 1):
        raise ValueError(f"scenes must be a positive integer, got {scenes!r}")
    trials_per_object = TRIALS_PER_OBJECT if trials_per_object is None else trials_per_object
    total, objects_labelled, positives = LabelStats(), 0, 0
    bar = _bar(scenes, "label", progress)
    t0 = time.perf_counter()
    source = _scenes(objects, layout, split, seed)
    for _ in range(scenes):
        world, spec, object_set = next(source)
        _, labels, stats = label_scene(world, spec, trials_per_object, object_set=object_set)
        total.add(stats)
        objects_labelled += len(labels)
        positives += sum(len(lab.positive) for lab in labels.values())
        if bar is not None:
            bar.set_postfix(trials=total.trials, per_core=f"{total.trials / max(total.trial_seconds + total.candidate_seconds, 1e-9):.1f}/s")
            bar.update(1)
    source.close()
    wall = time.perf_counter() - t0
    if bar is not None:
        bar.close()
    busy = total.trial_seconds + total.candidate_seconds
    return {
        "objects": objects, "layout": layout, "scenes": scenes, "labelled_objects": objects_labelled,
        "trials": total.trials, "positives": positives,
        "trials_per_object": total.trials / objects_labelled if objects_labelled else 0.0,
        "trials_per_second_per_core": total.trials / busy if busy > 0 else 0.0,
        "wall_seconds": wall,
        "candidate_ms_per_object": 1e3 * total.candidate_seconds / max(objects_labelled, 1),
        "build_ms_per_trial": 1e3 * total.build_seconds / max(total.trials, 1),
        "attempt_ms_per_trial": 1e3 * (total.trial_seconds - total.build_seconds) / max(total.trials, 1),
    }


def format_bench_label(r: dict) -> str:
    return "\n".join([
        f"graspsim bench label: {r['objects']}/{r['layout']}, {r['scenes']} scenes, 1 process",
        f"trials: {r['trials']} on {r['labelled_objects']} objects ({r['trials_per_object']:.1f} per object), "
        f"{r['positives']} positive",
        f"throughput: {r['trials_per_second_per_core']:.1f} trials/s per core (candidates + rebuilds + attempts)",
        f"candidates: {r['candidate_ms_per_object']:.1f} ms per object",
        f"rebuild: {r['build_ms_per_trial']:.1f} ms per trial;  attempt (FAST schedule): {r['attempt_ms_per_trial']:.1f} ms per trial",
    ])


def validate_label(trials: int = 500, object_sets=("primitives", "random-urdfs", "household"), seed: int = 0,
                   layout: str = "pile", split: str = "train", progress: bool = True) -> dict:
    """Agreement of the labeller's FAST trials with the FULL executor on ``trials`` sampled trials."""
    from graspsim.sim.executor import FAST, FULL, Executor
    from graspsim.sim.scene_builder import build_scene
    from graspsim.sim.trials import trial_grasps, visible_objects

    if not (isinstance(trials, int) and trials >= 1):
        raise ValueError(f"trials must be a positive integer, got {trials!r}")
    if not object_sets:
        raise ValueError("object_sets: give at least one object set")
    sources = [_scenes(name, layout, split, seed) for name in object_sets]
    pairs: list[tuple[str, bool, bool, str | None, str | None]] = []
    bar = _bar(trials, "validate", progress)
    turn = 0
    while len(pairs) < trials:
        name = object_sets[turn % len(object_sets)]
        world, spec, object_set = next(sources[turn % len(object_sets)])
        turn += 1
        build_scene(world, spec, object_set)
        frame = world.render(None)
        for index in visible_objects(frame["segmentation"], world.objects):
            grasps, _, _ = trial_grasps(world, frame, index, PER_OBJECT)
            for grasp in grasps:
                if len(pairs) >= trials:
                    break
                results = []
                for schedule in (FAST, FULL):
                    build_scene(world, spec, object_set)
                    results.append(Executor(world, schedule=schedule).execute(grasp, index))
                pairs.append((name, results[0].success, results[1].success,
                              results[0].failure_mode, results[1].failure_mode))
                if bar is not None:
                    bar.update(1)
    for source in sources:
        source.close()
    if bar is not None:
        bar.close()
    confusion = Counter((fast, full) for _, fast, full, _, _ in pairs)
    per_set = {}
    for name in object_sets:
        rows = [p for p in pairs if p[0] == name]
        if rows:
            per_set[name] = {"trials": len(rows), "agreement": sum(p[1] == p[2] for p in rows) / len(rows)}
    return {
        "trials": len(pairs),
        "agreement": sum(fast == full for _, fast, full, _, _ in pairs) / len(pairs),
        "mode_agreement": sum(fm == fl for _, _, _, fm, fl in pairs) / len(pairs),
        "confusion": {f"fast_{'ok' if a else 'fail'}_full_{'ok' if b else 'fail'}": confusion.get((a, b), 0)
                      for a in (True, False) for b in (True, False)},
        "full_success_rate": sum(p[2] for p in pairs) / len(pairs),
        "disagreements": {f"{fm or 'success'} vs {fl or 'success'}": n for (fm, fl), n in
                          Counter((p[3], p[4]) for p in pairs if p[1] != p[2]).most_common()},
        "per_set": per_set,
    }


def format_validate_label(r: dict) -> str:
    c = r["confusion"]
    lines = [
        f"graspsim bench label --validate: {r['trials']} trials, labeller (FAST) vs full executor (FULL), exact rebuilds",
        f"agreement on success: {r['agreement']:.3f}   (failure mode too: {r['mode_agreement']:.3f}; "
        f"FULL success rate {r['full_success_rate']:.3f})",
        "                 FULL lifted   FULL failed",
        f"FAST lifted      {c['fast_ok_full_ok']:>11d}   {c['fast_ok_full_fail']:>11d}",
        f"FAST failed      {c['fast_fail_full_ok']:>11d}   {c['fast_fail_full_fail']:>11d}",
    ]
    lines += [f"{name}: {v['agreement']:.3f} over {v['trials']} trials" for name, v in r["per_set"].items()]
    if r["disagreements"]:
        lines.append("disagreements (FAST vs FULL outcome): "
                     + ", ".join(f"{k} {n}" for k, n in r["disagreements"].items()))
    return "\n".join(lines)


def _bar(total: int, desc: str, progress: bool):
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, dynamic_ncols=True)

"""``graspsim benchmark``: run policies on identical scenes and record every episode.

Episode ``i`` of every policy and prompt kind uses seed ``seed + i`` (the
environment's and the policy's) and, with a suite, the suite's scene ``i``,
so all policies meet the same scenes and any episode can be replayed alone.
Tasks run through :func:`graspsim.app.benchmark.pool.run_tasks` (serial, a local
process pool, or Ray); the records do not depend on the backend or the
number of workers (apart from the timings).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .episode import (ENVS, EpisodeTask, error_record, forget_policy, preload_policy, run_episode, safe_name,
                      set_torch_threads)
from .pool import BACKENDS, check_pool_args, check_script_guard, run_tasks
from .store import ResultsStore
from .summary import summarise

DEFAULT_TIMEOUT_S = 600.0


@dataclass
class BenchmarkConfig:
    """What to run. ``policies``: registered names (or ``module:factory``), each
    optionally ``name@checkpoint`` to load a checkpoint file; ``policy_kwargs``
    go to every policy; ``labels``: the policies' names in the results (default:
    the entries themselves), e.g. to compare ``graspsam@new.pt`` as ``graspsam``;
    ``gripper``: a gripper name (:mod:`graspsim.grippers`). Scenes come from ``suite`` (a shipped suite name or a
    .jsonl file; ``episodes`` defaults to its size) or are generated from
    ``objects``/``layout``/``split``/``object_count`` (``episodes`` default 20).
    ``appearance``: "catalogue" (default) or "randomised" (object colours and
    textures, table, light and camera height drawn per scene with ``split``'s
    held-out rule; see :mod:`graspsim.appearance`); left out of ``to_dict``
    when "catalogue", so folders of earlier runs still resume."""

    policies: list[str] = field(default_factory=lambda: ["analytic"])
    prompts: list[str] = field(default_factory=lambda: ["point"])
    suite: str | None = None
    objects: str = "primitives"
    layout: str = "pile"
    split: str = "all"
    object_count: tuple[int, int] | int | None = None
    episodes: int | None = None
    seed: int = 0
    env: str = "prompted"
    shake: bool = False
    label_targets: bool = False
    gripper: str = "franka"
    appearance: str = "catalogue"
    labels: list[str] | None = None
    video: str | None = None
    policy_kwargs: dict = field(default_factory=dict)
    figures: bool = True
    #: text prompts: the policies' grounder ("catalogue", "model", "owlvit:FOLDER"; None: each policy's default)
    grounder: str | None = None
    #: text prompts: "name" (catalogue names), or graspsim.phrases' "train" / "held_out" referring phrases
    phrasing: str = "name"
    #: the executor's schedule: "full" (default; the published figures) or "fast" (graspsim.sim.executor.SCHEDULES)
    schedule: str = "full"

    def check(self) -> None:
        from graspsim.prompts import check_kind

        if not self.policies:
            raise ValueError("policies: give at least one policy")
        if len(set(self.policies)) != len(self.policies):
            raise ValueError(f"policies: each policy once, got {self.policies!r}")
        if not self.prompts or len(set(self.prompts)) != len(self.prompts):
            raise ValueError(f"prompts: give distinct prompt kinds, got {self.prompts!r}")
        for p in self.prompts:
            check_kind(p)
        if self.env not in ENVS:
            raise ValueError(f"env must be one of {tuple(ENVS)}, got {self.env!r}")
        if self.episodes is not None and (isinstance(self.episodes, bool) or not isinstance(self.episodes, int) or self.episodes < 1):
            raise ValueError(f"episodes must be a positive integer, got {self.episodes!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**31:
            raise ValueError(f"seed must be a non-negative integer below 2**31, got {self.seed!r}")
        from graspsim.grippers import get_gripper

        if self.labels is not None:
            if len(self.labels) != len(self.policies) or len(set(self.labels)) != len(self.labels) \
                    or not all(isinstance(x, str) and x for x in self.labels):
                raise ValueError(f"labels must name each of the {len(self.policies)} policies once, got {self.labels!r}")

        if not isinstance(self.gripper, str):
            raise ValueError(f"gripper must be a gripper name, got {self.gripper!r}")
        get_gripper(self.gripper)  # ValueError naming the value
        if self.video not in (None, "all", "failures"):
            raise ValueError(f"video must be None, 'all' or 'failures', got {self.video!r}")
        if not isinstance(self.policy_kwargs, dict):
            raise ValueError(f"policy_kwargs must be a dict, got {self.policy_kwargs!r}")
        from graspsim.appearance import check_mode

        check_mode(self.appearance)  # ValueError naming the value
        from graspsim.envs.scene_env import TEXT_PHRASINGS
        from graspsim.grounding import GROUNDER_NAMES

        from graspsim.sim.executor import schedule_named

        schedule_named(self.schedule)  # ValueError naming the value
        if self.phrasing not in TEXT_PHRASINGS:
            raise ValueError(f"phrasing must be one of {TEXT_PHRASINGS}, got {self.phrasing!r}")
        if self.grounder is not None and (not isinstance(self.grounder, str)
                                          or self.grounder.partition(":")[0] not in GROUNDER_NAMES):
            raise ValueError(f"grounder must be one of {GROUNDER_NAMES} (owlvit as owlvit:FOLDER), got {self.grounder!r}")

    def common_policy_kwargs(self) -> dict:
        """Keyword arguments of every policy: ``policy_kwargs``, plus the grounder when text prompts run."""
        kwargs = dict(self.policy_kwargs)
        if self.grounder is not None and "text" in self.prompts:
            kwargs["grounder"] = self.grounder
        return kwargs

    def to_dict(self) -> dict:
        d = asdict(self)
        for key, default in (("gripper", "franka"), ("appearance", "catalogue"), ("labels", None), ("video", None),
                             ("grounder", None), ("phrasing", "name"), ("schedule", "full")):
            if d[key] == default:
                del d[key]  # folders written before these options existed stay resumable
        if isinstance(d["object_count"], tuple):
            d["object_count"] = list(d["object_count"])
        return d


def policy_spec(entry: str, common_kwargs: dict) -> tuple[str, dict]:
    """``name`` or ``name@checkpoint`` -> (name, keyword arguments)."""
    name, _, checkpoint = entry.partition("@")
    kwargs = dict(common_kwargs)
    if checkpoint:
        kwargs["checkpoint"] = checkpoint
    return name, kwargs


def make_tasks(config: BenchmarkConfig, figures_dir: Path | None, preloaded: tuple = ()) -> list[EpisodeTask]:
    """The run's episodes in order: episode-major, so policies meet each scene together.
    ``preloaded``: labels of policy objects given to the run (not looked up in the registry)."""
    from graspsim import policies

    config.check()
    scenes = None
    if config.suite is not None:
        from graspsim import suites

        scenes = suites.load(config.suite)
        if not scenes:
            raise ValueError(f"suite {config.suite!r} holds no scenes")
    episodes = config.episodes if config.episodes is not None else (len(scenes) if scenes else 20)
    if scenes is not None and episodes > len(scenes):
        raise ValueError(f"episodes ({episodes}) exceeds the {len(scenes)} scenes of suite {config.suite!r}")
    from graspsim.envs.scene_env import EnvConfig

    for prompt in config.prompts:  # bad settings fail here, not in every episode
        EnvConfig(config.objects, config.layout, prompt, config.object_count, config.split).validated()
    env_kwargs = {"objects": config.objects, "layout": config.layout, "split": config.split,
                  "object_count": list(config.object_count) if isinstance(config.object_count, tuple) else config.object_count,
                  "shake": config.shake, "label_targets": config.label_targets, "gripper": config.gripper}
    if config.appearance != "catalogue":
        env_kwargs["appearance"] = config.appearance
    if config.phrasing != "name":
        env_kwargs["phrasing"] = config.phrasing
    if config.schedule != "full":
        env_kwargs["schedule"] = config.schedule
    specs = []
    for entry in config.policies:
        name, kwargs = policy_spec(entry, config.common_policy_kwargs())
        if name not in policies.available() and ":" not in name and entry not in preloaded:
            raise ValueError(f"unknown policy {name!r}; available: {', '.join(policies.available())} (or module:factory)")
        label = entry if config.labels is None else config.labels[config.policies.index(entry)]
        specs.append((label, name, json.dumps(kwargs, sort_keys=True)))
    suite_name = None if config.suite is None else Path(config.suite).stem if config.suite.endswith(".jsonl") else config.suite
    tasks = []
    for i in range(episodes):
        seed = config.seed + i
        scene = None if scenes is None else scenes[i].to_dict()
        scene_id = f"{suite_name}:{i}" if scenes is not None else f"seed:{seed}"
        for label, name, kwargs in specs:
            for prompt in config.prompts:
                figure = video = None
                if figures_dir is not None and config.figures:
                    figure = str(figures_dir / "episodes" / safe_name(label) / prompt / f"episode_{i:04d}.png")
                if figures_dir is not None and config.video is not None:
                    video = str(figures_dir.parent / "videos" / safe_name(label) / prompt / f"episode_{i:04d}.mp4")
                tasks.append(EpisodeTask(
                    policy=name, policy_kwargs=kwargs, label=label, env=config.env,
                    env_kwargs=json.dumps(env_kwargs, sort_keys=True), prompt=prompt,
                    episode=i, seed=seed, scene_id=scene_id, suite=suite_name, scene=scene, figure=figure,
                    video=video, video_mode=config.video or "all",
                ))
    return tasks


class _RunningRates:
    """Running success rate per policy (and error count) for the progress bar."""

    def __init__(self, records):
        self.counts = defaultdict(lambda: [0, 0])  # policy -> [successes, finished]
        self.errors = 0
        for r in records:
            self.add(r)

    def add(self, record: dict) -> None:
        if record.get("error") is None:
            c = self.counts[record["policy"]]
            c[0] += bool(record["success"])
            c[1] += 1
        else:
            self.errors += 1

    def postfix(self) -> dict:
        post = {label[:16]: f"{s / n:.2f}" for label, (s, n) in self.counts.items()}
        if self.errors:
            post["errors"] = self.errors
        return post


def check_policies(config: BenchmarkConfig, instances: dict) -> None:
    """Build each policy once in this process before any episode, so that a policy
    that cannot be built (a missing or broken checkpoint, an unimportable
    ``module:factory``) fails the run at once with one ValueError naming it;
    and refuse text prompts for a policy without a language path."""
    from graspsim import policies

    for entry in config.policies:
        policy = instances.get(entry)
        if policy is None:
            name, kwargs = policy_spec(entry, config.common_policy_kwargs())
            try:
                policy = policies.make(name, **kwargs)
            except Exception as exc:  # noqa: BLE001 - whatever the factory raised, the run cannot go on
                raise ValueError(f"policy {entry!r} cannot be built: {type(exc).__name__}: {exc}") from None
        if "text" in config.prompts and not getattr(policy, "accepts_text", True):
            raise ValueError(
                f"policy {entry!r} cannot take text prompts (it has no language path): use a policy with a "
                "grounder (analytic, graspsam, redmon-direct, redmon-classify, redmon-multigrasp) or another prompt kind")


def run_benchmark(config: BenchmarkConfig, out=None, workers: int = 1, backend: str = "local",
                  resume: bool = False, timeout_s: float | None = DEFAULT_TIMEOUT_S, ray_address: str | None = None,
                  progress: bool = True, report: bool = True, policy_instances: dict | None = None) -> dict:
    """Run the benchmark; returns the summary (see :mod:`graspsim.app.benchmark.summary`).

    With ``out``, records are written as they arrive, then ``summary.json``,
    ``report.md`` and figures. ``resume=True`` completes a folder left by an
    interrupted (or partly failed) run of the same configuration: only the
    episodes without a finished record run. ``policy_instances`` maps a
    policy label to an already built policy object (``serial`` backend only).
    """
    check_pool_args(workers, backend, timeout_s)
    check_script_guard(backend, workers)
    if policy_instances and backend != "serial":
        raise ValueError(f"policy objects can only run in this process: use backend 'serial', not {backend!r}")
    out = None if out is None else Path(out)
    if out is not None and out.exists() and not out.is_dir():
        raise ValueError(f"--out {str(out)!r} is a file: give a folder for the results")
    tasks = make_tasks(config, None if out is None else out / "figures", tuple(policy_instances or ()))
    check_policies(config, policy_instances or {})
    preloaded = set()
    for task in tasks:
        if policy_instances and task.label in policy_instances:
            preloaded.add(preload_policy(task.policy, task.policy_kwargs, policy_instances[task.label]))
    try:
        return _run(config, tasks, out, workers, backend, resume, timeout_s, ray_address, progress, report)
    finally:
        for key in preloaded:
            forget_policy(key)


def _run(config, tasks, out, workers, backend, resume, timeout_s, ray_address, progress, report) -> dict:
    records: dict[str, dict] = {}
    store = ResultsStore(out, config.to_dict(), resume=resume) if out is not None else None
    started = time.perf_counter()
    previous_s = 0.0
    with (store if store is not None else contextlib.nullcontext()):
        if store is not None:
            records.update(store.records)
            done = store.done()
            if resume and (out / "summary.json").is_file():
                previous_s = json.loads((out / "summary.json").read_text()).get("elapsed_s", 0.0)
        else:
            done = set()
        todo = [t for t in tasks if t.key not in done]
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(tasks), initial=len(tasks) - len(todo), desc="benchmark", unit="ep", dynamic_ncols=True)
        rates = _RunningRates(records[t.key] for t in tasks if t.key in done)  # errors are retried
        threads = set_torch_threads(None) if backend == "serial" else None
        try:
            for result in run_tasks(run_episode, todo, workers=workers, backend=backend, timeout_s=timeout_s,
                                    ray_address=ray_address):
                task = todo[result.index]
                record = result.value if result.error is None else error_record(task, result.error)
                records[task.key] = record
                if store is not None:
                    store.append(record)
                rates.add(record)
                if bar is not None:
                    bar.set_postfix(rates.postfix(), refresh=False)
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
            if threads is not None:
                set_torch_threads(threads)
        ordered = [records[t.key] for t in tasks if t.key in records]
        summary = summarise(ordered, previous_s + time.perf_counter() - started)
        summary["config"] = config.to_dict()
        summary["workers"], summary["backend"] = workers, backend
        if store is not None:
            store.write_json("summary.json", summary)
            if report:
                from .report import write_report

                write_report(out, summary, ordered)
    return summary


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


__all__ = ["BACKENDS", "BenchmarkConfig", "DEFAULT_TIMEOUT_S", "default_workers", "make_tasks", "run_benchmark"]

"""Grasp-quality regression tests for users' pytest suites.

    from graspsim.app.testing import assert_success_rate

    def test_my_policy_still_grasps():
        assert_success_rate("graspsam", suite="primitives-test", prompt="point", episodes=50, min_rate=0.40)

The policy runs through the benchmark harness (:func:`graspsim.app.benchmark.run_benchmark`)
on fixed scenes and seeds, so the check is deterministic: the same policy gives
the same rate on every run.
"""

from __future__ import annotations

from graspsim.app.benchmark import BenchmarkConfig, run_benchmark


def assert_success_rate(policy, min_rate: float, suite: str | None = None, episodes: int | None = None,
                        prompt: str = "point", objects: str = "primitives", layout: str = "pile",
                        object_count=None, seed: int = 0, use_lower_bound: bool = False, workers: int = 1,
                        policy_kwargs: dict | None = None, out=None) -> dict:
    """Run ``policy`` and raise AssertionError when its success rate is below ``min_rate``.

    policy: a registered name, ``"module:factory"``, or a policy object (then
        it runs in this process and ``workers`` must be 1).
    min_rate: the lowest acceptable success rate in [0, 1]; with
        ``use_lower_bound`` the Wilson 95% lower bound must reach it instead
        (a stricter check that accounts for the number of episodes).
    suite / episodes / prompt / objects / layout / object_count / seed: the
        scenes, as ``graspsim benchmark``. out: optional results folder.
    Episodes that crash count as failures of the check. Returns the
    (policy, prompt) group of the summary.
    """
    if isinstance(min_rate, bool) or not isinstance(min_rate, (int, float)) or not 0.0 <= min_rate <= 1.0:
        raise ValueError(f"min_rate must lie in [0, 1], got {min_rate!r}")
    instances = None
    if isinstance(policy, str):
        label = policy
    else:
        label = getattr(policy, "name", type(policy).__name__)
        instances = {label: policy}
        if workers != 1:
            raise ValueError(f"a policy object runs in this process: workers must be 1, got {workers!r}")
    config = BenchmarkConfig(policies=[label], prompts=[prompt], suite=suite, objects=objects, layout=layout,
                             object_count=object_count, episodes=episodes, seed=seed,
                             policy_kwargs=dict(policy_kwargs or {}), figures=False)
    backend = "serial" if instances is not None or workers == 1 else "local"
    summary = run_benchmark(config, out, workers=workers, backend=backend, progress=False,
                            report=out is not None, policy_instances=instances)
    group = summary["groups"][f"{label}/{prompt}"]
    lo, hi = group["success_ci95"]
    measured = lo if use_lower_bound else group["success_rate"]
    what = "Wilson 95% lower bound" if use_lower_bound else "success rate"
    if group["errors"]:
        raise AssertionError(f"{label}/{prompt}: {group['errors']} episode(s) crashed; see the errors in the benchmark records")
    if measured < min_rate:
        raise AssertionError(
            f"{label}/{prompt}: {what} {measured:.3f} is below min_rate {min_rate:.3f} "
            f"({group['successes']}/{group['episodes']} lifted, 95% CI {lo:.3f}–{hi:.3f}; "
            f"failure modes: {', '.join(f'{m} {n}' for m, n in group['failure_modes'].items() if n) or '-'})"
        )
    return group

"""The benchmark summary (graspsim/app/benchmark/summary.py) on constructed records: every field of a
group and of the run, with exact values worked out by hand (written for the survivors of the
module's mutation run, docs/tests.md "Mutation testing")."""

from __future__ import annotations

import pytest

from graspsim import grasp_metrics
from graspsim.app.benchmark.stats import wilson_interval
from graspsim.app.benchmark.summary import agreement, grounder_label, metric_summaries, prompt_label, summarise, summarise_group

NO_FAILURES = {"collision_on_approach": 0, "no_contact": 0, "missed_target": 0, "wrong_object": 0, "slipped": 0, "no_grasp": 0}


def rec(success, mode=None, *, policy="p", prompt="point", category="cube", appearance="chromatic", name="red cube",
        policy_ms=1.0, episode_ms=100.0, **extra):
    r = {"policy": policy, "prompt_kind": prompt, "success": success, "failure_mode": None if success else mode,
         "target_category": category, "target_appearance": appearance, "target_name": name,
         "timings_ms": {"policy_ms": policy_ms, "episode_ms": episode_ms}, "error": None}
    r.update(extra)
    return r


def rate(episodes, successes):
    lo, hi = wilson_interval(successes, episodes)
    return {"episodes": episodes, "successes": successes, "rate": successes / episodes, "ci95": [lo, hi]}


def test_a_group_of_plain_records_field_by_field():
    records = [
        rec(True, policy_ms=1.0, episode_ms=100.0),
        rec(True, category="cylinder", name="yellow cylinder", policy_ms=2.0, episode_ms=300.0),
        rec(False, "slipped", appearance="textured", policy_ms=3.0, episode_ms=200.0),
        rec(False, "wrong_object", category="cylinder", name="yellow cylinder", policy_ms=4.0, episode_ms=400.0),
        rec(True, policy_ms=100.0, episode_ms=1000.0, appearance=None),
    ]
    group = summarise_group(records, errors=2)
    lo, hi = wilson_interval(3, 5)
    assert group == {
        "policy": "p",
        "prompt": "point",
        "episodes": 5,
        "errors": 2,
        "successes": 3,
        "success_rate": 0.6,
        "success_ci95": [lo, hi],
        "failure_modes": {**NO_FAILURES, "slipped": 1, "wrong_object": 1},
        "per_category": {"cube": rate(3, 2), "cylinder": rate(2, 1)},
        "per_appearance": {"?": rate(1, 1), "chromatic": rate(3, 2), "textured": rate(1, 0)},
        "per_object": {"red cube": rate(3, 2), "yellow cylinder": rate(2, 1)},
        "episodes_per_second_per_worker": 5 / 2.0,  # 2 s of episodes in the workers
        "policy_latency_ms": {"p50": 3.0, "p95": pytest.approx(80.8)},  # linear interpolation: 4 + 0.8 * (100 - 4)
        "gripper": "franka",  # records written before grippers were recorded
    }
    assert list(group["per_appearance"]) == ["?", "chromatic", "textured"]  # sorted
    assert summarise_group([rec(True, gripper="robotiq-2f85")])["gripper"] == "robotiq-2f85"
    assert summarise_group(records)["errors"] == 0  # by default


def test_records_without_an_episode_time_add_no_worker_time():
    old = rec(True)
    del old["timings_ms"]["episode_ms"]
    assert summarise_group([old, rec(True, episode_ms=500.0)])["episodes_per_second_per_worker"] == 4.0
    assert summarise_group([old])["episodes_per_second_per_worker"] == 0.0


def test_failure_modes_count_only_failed_records():
    # a success that carries a stale failure mode is not counted as a failure
    records = [rec(False, "no_contact"), rec(False, "no_contact"), {**rec(True), "failure_mode": "slipped"}]
    assert summarise_group(records)["failure_modes"] == {**NO_FAILURES, "no_contact": 2}


def test_an_empty_group():
    group = summarise_group([], errors=3)
    assert group == {
        "policy": None, "prompt": None, "episodes": 0, "errors": 3, "successes": 0, "success_rate": 0.0,
        "success_ci95": [0.0, 1.0], "failure_modes": NO_FAILURES, "per_category": {}, "per_appearance": {},
        "per_object": {}, "episodes_per_second_per_worker": 0.0, "policy_latency_ms": {"p50": 0.0, "p95": 0.0},
    }


def test_rectangle_metric_accuracy_and_agreement_with_lifting():
    records = [
        rec(True, rect_success=True), rec(True, rect_success=True), rec(True, rect_success=False),
        rec(False, "slipped", rect_success=True), rec(False, "slipped", rect_success=False),
        rec(False, "slipped", rect_success=False), rec(False, "slipped", rect_success=False),
        rec(True, rect_success=None), rec(False, "no_grasp"),  # not measured
    ]
    table = {"rect_yes_lift_yes": 2, "rect_yes_lift_no": 1, "rect_no_lift_yes": 1, "rect_no_lift_no": 3}
    assert agreement(records) == table
    assert list(agreement(records)) == ["rect_yes_lift_yes", "rect_yes_lift_no", "rect_no_lift_yes", "rect_no_lift_no"]
    group = summarise_group(records)
    assert group["labelled_episodes"] == 7
    assert group["rect_accuracy"] == pytest.approx(3 / 7)
    assert group["agreement"] == table
    assert group["agreement_rate"] == pytest.approx(5 / 7)
    assert group["metrics"] == {"rect": {"title": "rectangle-metric accuracy", "episodes": 7, "accuracy": 3 / 7,
                                         "agreement": table, "agreement_rate": 5 / 7}}
    for key in ("metrics", "labelled_episodes", "rect_accuracy", "agreement", "agreement_rate"):
        assert key not in summarise_group([rec(True), rec(False, "slipped", rect_success=None)])


def test_agreement_of_another_key_and_of_nothing():
    records = [rec(True, wide=False), rec(False, "slipped", wide=True)]
    assert agreement(records, "wide", "wide") == {"wide_yes_lift_yes": 0, "wide_yes_lift_no": 1,
                                                  "wide_no_lift_yes": 1, "wide_no_lift_no": 0}
    assert agreement(records) is None


@pytest.fixture
def extra_metrics():
    """Two registered metrics after ``rect``: one without a rate key, then one with a rate key and no title."""
    grasp_metrics.register("depth", lambda: grasp_metrics.GraspMetric("depth", ("depth",), lambda ctx: None))
    grasp_metrics.register("wide", lambda: grasp_metrics.GraspMetric("wide", ("wide",), lambda ctx: None, rate_key="wide"))
    yield
    grasp_metrics.unregister("wide")
    grasp_metrics.unregister("depth")


def test_every_metric_with_a_rate_key_is_summarised(extra_metrics):
    records = [rec(True, wide=True, depth=1.0), rec(False, "slipped", wide=True, depth=2.0), rec(True, wide=False)]
    out = metric_summaries(records)
    assert out == {"wide": {"title": "wide", "episodes": 3, "accuracy": 2 / 3,
                            "agreement": {"wide_yes_lift_yes": 1, "wide_yes_lift_no": 1, "wide_no_lift_yes": 1,
                                          "wide_no_lift_no": 0},
                            "agreement_rate": 1 / 3}}
    group = summarise_group(records)
    assert group["metrics"] == out and "rect_accuracy" not in group and "labelled_episodes" not in group


def test_pick_rate_counts_target_masks_with_iou_at_least_one_half():
    records = [rec(True, target_mask_iou=0.5), rec(True, target_mask_iou=0.49), rec(False, "slipped", target_mask_iou=0.9),
               rec(True, target_mask_iou=None), rec(True)]
    group = summarise_group(records)
    assert group["pick_rate"] == pytest.approx(2 / 3)
    assert group["mean_target_mask_iou"] == pytest.approx((0.5 + 0.49 + 0.9) / 3)
    assert "pick_rate" not in summarise_group([rec(True, target_mask_iou=None)])


@pytest.mark.parametrize("grounder, oracle, label", [("catalogue", True, "text (catalogue, oracle)"),
                                                     ("model", False, "text (model)")])
def test_text_groups_name_their_grounder_and_whether_it_is_an_oracle(grounder, oracle, label):
    group = summarise_group([rec(True, prompt="text", grounder=grounder)])
    assert group["grounder"] == grounder and group["oracle"] is oracle
    assert prompt_label(group) == label
    assert grounder_label(group) == label[len("text ("):-1]
    plain = summarise_group([rec(True, grounder=None)])
    assert "grounder" not in plain and "oracle" not in plain
    assert grounder_label(plain) is None and prompt_label(plain) == "point"


def test_declutter_rounds_pool_attempts_over_rounds():
    rounds = [rec(True, attempts=4, successes=3, objects_presented=5, objects_removed=3),
              rec(False, "slipped", attempts=2, successes=0, objects_presented=3, objects_removed=1)]
    group = summarise_group(rounds)
    assert group["attempts"] == 6
    assert group["grasp_success_rate"] == pytest.approx(3 / 6)
    assert group["declutter_rate"] == pytest.approx(4 / 8)
    empty = summarise_group([rec(False, "no_grasp", attempts=0, successes=0, objects_presented=0, objects_removed=0)])
    assert (empty["attempts"], empty["grasp_success_rate"], empty["declutter_rate"]) == (0, 0.0, 0.0)
    assert "attempts" not in summarise_group([rec(True)])


def test_a_run_summary_groups_by_policy_and_prompt_and_counts_errors():
    records = [
        rec(True), rec(False, "slipped"), {**rec(True), "error": "Traceback ..."},
        rec(True, policy="q", prompt="box"),
        {**rec(True, policy="q", prompt="text", grounder="catalogue"), "error": "timeout"},  # only errors
    ]
    summary = summarise(records, elapsed_s=2.0)
    assert summary["episodes"] == 3 and summary["errors"] == 2 and summary["elapsed_s"] == 2.0
    assert summary["episodes_per_second"] == 1.5
    assert list(summary["groups"]) == ["p/point", "q/box", "q/text"]
    pp = summary["groups"]["p/point"]
    assert (pp["episodes"], pp["errors"], pp["successes"]) == (2, 1, 1)
    only_errors = summary["groups"]["q/text"]
    assert (only_errors["policy"], only_errors["prompt"], only_errors["episodes"], only_errors["errors"]) == ("q", "text", 0, 1)
    assert only_errors["grounder"] == "catalogue"  # named from the failed records, for the tables
    assert prompt_label(only_errors) == "text (catalogue, oracle)"
    assert summarise(records, elapsed_s=0.5)["episodes_per_second"] == 6.0


def test_a_groups_grounder_comes_from_its_finished_records():
    records = [{**rec(True, prompt="text", grounder="model"), "error": "timeout"}, rec(True, prompt="text", grounder="catalogue")]
    group = summarise(records, 1.0)["groups"]["p/text"]
    assert group["grounder"] == "catalogue" and group["oracle"] is True


def test_an_empty_run():
    assert summarise([], 0.0) == {"episodes": 0, "errors": 0, "elapsed_s": 0.0, "episodes_per_second": 0.0, "groups": {}}

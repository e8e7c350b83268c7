"""The benchmark harness: identical results across backends, crashes, resume, statistics, compare."""

import json
import os
import textwrap

import pytest

from graspsim.app.benchmark import BenchmarkConfig, run_benchmark
from graspsim.app.benchmark.compare import compare_summaries
from graspsim.app.benchmark.stats import drop_test, wilson_interval
from graspsim.app.benchmark.store import read_records
from graspsim.app.benchmark.summary import summarise
from graspsim.app.cli import main

SMALL = dict(policies=["analytic", "random"], prompts=["point", "box"], episodes=2, object_count=(2, 3), seed=3,
             figures=False)


def _outcomes(folder) -> dict:
    """Records without the timings (which are the only part allowed to vary)."""
    records = read_records(folder / "episodes.jsonl")
    for r in records.values():
        r.pop("timings_ms", None)
    return records


@pytest.fixture(scope="module")
def serial_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "serial"
    summary = run_benchmark(BenchmarkConfig(**SMALL), out, workers=1, backend="serial", progress=False)
    return out, summary


def test_wilson_interval_known_values():
    lo, hi = wilson_interval(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(0, 10)[1] == pytest.approx(0.2775, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(11, 10)


def test_drop_test_needs_a_significant_fall_beyond_the_tolerance():
    assert drop_test(90, 100, 60, 100, 0.05)["p_value"] < 0.001
    assert drop_test(9, 10, 7, 10, 0.05)["p_value"] > 0.05  # a fall, but ten episodes cannot show it
    assert drop_test(90, 100, 88, 100, 0.05)["p_value"] > 0.5
    with pytest.raises(ValueError, match="max_drop"):
        drop_test(1, 2, 1, 2, 1.5)


def test_summary_report_and_figures(serial_run):
    out, summary = serial_run
    assert set(summary["groups"]) == {"analytic/point", "analytic/box", "random/point", "random/box"}
    g = summary["groups"]["analytic/point"]
    assert g["episodes"] == 2 and 0 <= g["successes"] <= 2
    lo, hi = g["success_ci95"]
    assert lo <= g["success_rate"] <= hi
    assert sum(v["episodes"] for v in g["per_category"].values()) == 2
    assert sum(g["failure_modes"].values()) == 2 - g["successes"]
    assert g["policy_latency_ms"]["p50"] <= g["policy_latency_ms"]["p95"]
    report = (out / "report.md").read_text()
    assert "| analytic | franka | primitives pile | point | 2 |" in report
    assert (out / "figures" / "success_by_category.png").is_file() and (out / "figures" / "failure_modes.png").is_file()


def test_local_pool_gives_the_same_records_as_serial(serial_run, tmp_path):
    out, _ = serial_run
    run_benchmark(BenchmarkConfig(**SMALL), tmp_path / "pool", workers=2, backend="local", progress=False)
    assert _outcomes(tmp_path / "pool") == _outcomes(out)


def test_ray_backend_gives_the_same_records_as_the_local_pool(serial_run, tmp_path):
    pytest.importorskip("ray")
    out, _ = serial_run
    summary = run_benchmark(BenchmarkConfig(**SMALL), tmp_path / "ray", workers=2, backend="ray", progress=False)
    assert summary["backend"] == "ray" and summary["errors"] == 0
    assert _outcomes(tmp_path / "ray") == _outcomes(out)


CRASHY = '''
import os, signal, time
from graspsim.policies.analytic import AnalyticPolicy

class Crashy(AnalyticPolicy):
    """Dies of SIGSEGV on seed 1, hangs on seed 2, raises on seed 3."""
    def reset(self, seed=None):
        super().reset(seed)
        self.seed = seed
    def act(self, observation):
        if self.seed == 1:
            os.kill(os.getpid(), signal.SIGSEGV)
        if self.seed == 2:
            time.sleep(60)
        if self.seed == 3:
            raise RuntimeError("policy bug")
        return super().act(observation)
'''


def test_a_crashing_episode_is_an_error_and_the_run_goes_on(tmp_path, monkeypatch):
    (tmp_path / "crashy_policy.py").write_text(textwrap.dedent(CRASHY))
    monkeypatch.syspath_prepend(str(tmp_path))  # spawned workers inherit sys.path
    config = BenchmarkConfig(policies=["crashy_policy:Crashy"], episodes=5, object_count=(1, 2), figures=False)
    summary = run_benchmark(config, tmp_path / "out", workers=2, backend="local", timeout_s=8, progress=False)
    records = read_records(tmp_path / "out" / "episodes.jsonl")
    errors = {r["seed"]: r["error"] for r in records.values() if r["error"]}
    assert set(errors) == {1, 2, 3}
    assert "SIGSEGV" in errors[1] and "timed out" in errors[2] and "policy bug" in errors[3]
    assert summary["errors"] == 3 and summary["episodes"] == 2
    assert "## Errors" in (tmp_path / "out" / "report.md").read_text()


def test_resume_completes_only_what_is_missing(serial_run, tmp_path):
    out, _ = serial_run
    partial = tmp_path / "partial"
    partial.mkdir()
    lines = (out / "episodes.jsonl").read_text().splitlines(keepends=True)
    (partial / "config.json").write_text((out / "config.json").read_text())
    (partial / "episodes.jsonl").write_text("".join(lines[:3]) + lines[3][:40])  # interrupted mid-line
    with pytest.raises(ValueError, match="--resume"):
        run_benchmark(BenchmarkConfig(**SMALL), partial, backend="serial", progress=False)
    first = read_records(partial / "episodes.jsonl")
    summary = run_benchmark(BenchmarkConfig(**SMALL), partial, backend="serial", resume=True, progress=False)
    assert summary["episodes"] == len(lines)
    text = (partial / "episodes.jsonl").read_text().splitlines()
    assert len(text) == len(lines)  # the cut line was dropped, three kept, the rest run once
    kept = read_records(partial / "episodes.jsonl")
    assert all(kept[k]["timings_ms"] == first[k]["timings_ms"] for k in first)  # not re-run
    assert _outcomes(partial) == _outcomes(out)
    with pytest.raises(ValueError, match="other settings"):
        run_benchmark(BenchmarkConfig(**{**SMALL, "seed": 9}), partial, backend="serial", resume=True, progress=False)


def test_two_runs_never_share_a_folder(tmp_path):
    out = tmp_path / "locked"
    out.mkdir()
    (out / ".lock").write_text(json.dumps({"host": os.uname().nodename, "pid": os.getpid()}))
    with pytest.raises(ValueError, match="in use by another run"):
        run_benchmark(BenchmarkConfig(**SMALL), out, backend="serial", progress=False)
    assert not (out / "episodes.jsonl").exists()
    # a lock left by a process that is gone is taken over
    (out / ".lock").write_text(json.dumps({"host": os.uname().nodename, "pid": 2**22 + 12345}))
    run_benchmark(BenchmarkConfig(**{**SMALL, "policies": ["random"], "prompts": ["point"], "episodes": 1}), out,
                  backend="serial", progress=False)
    assert not (out / ".lock").exists()


def _fake_summary(successes: int, episodes: int) -> dict:
    records = [{"policy": "p", "prompt_kind": "point", "success": i < successes, "failure_mode": None if i < successes else "slipped",
                "target_category": "cube", "target_name": "red cube", "timings_ms": {"policy_ms": 1.0, "episode_ms": 10.0},
                "error": None} for i in range(episodes)]
    return summarise(records, 1.0)


@pytest.mark.parametrize("new, code", [((60, 100), 1), ((88, 100), 0), ((100, 100), 0)])
def test_compare_exit_codes(tmp_path, capsys, new, code):
    (tmp_path / "base.json").write_text(json.dumps(_fake_summary(90, 100)))
    (tmp_path / "new.json").write_text(json.dumps(_fake_summary(*new)))
    assert main(["compare", str(tmp_path / "base.json"), str(tmp_path / "new.json"), "--max-drop", "0.05"]) == code
    text = capsys.readouterr().out
    assert "p/point" in text and "p/point [cube]" in text
    assert ("REGRESSION" in text) == (code == 1)


def test_compare_small_samples_and_bad_input(tmp_path, capsys):
    result = compare_summaries(_fake_summary(9, 10), _fake_summary(7, 10), max_drop=0.05)
    assert result["regressions"] == 0 and result["rows"][0]["drop"] == pytest.approx(0.2)
    assert main(["compare", str(tmp_path / "none.json"), str(tmp_path / "none.json")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_assert_success_rate():
    from graspsim.app.testing import assert_success_rate

    group = assert_success_rate("analytic", min_rate=0.0, episodes=1, object_count=(1, 1), layout="single")
    assert group["episodes"] == 1
    with pytest.raises(AssertionError, match="below min_rate"):
        assert_success_rate("random", min_rate=0.9, episodes=2, object_count=(1, 1), layout="single")
    from graspsim import policies

    policy = policies.make("analytic")
    assert assert_success_rate(policy, min_rate=0.0, episodes=1, layout="single")["policy"] == "analytic"
    with pytest.raises(ValueError, match="min_rate"):
        assert_success_rate("analytic", min_rate=1.5)


def test_declutter_rounds_report_grasp_success_and_declutter_rates(tmp_path, capsys):
    out = tmp_path / "d"
    assert main(["benchmark", "--env", "declutter", "--policy", "analytic", "--object-count", "2", "--episodes", "1",
                 "--workers", "1", "--backend", "serial", "--out", str(out), "--no-figures", "--quiet"]) == 0
    group = json.loads((out / "summary.json").read_text())["groups"]["analytic/point"]
    record = next(iter(read_records(out / "episodes.jsonl").values()))
    assert group["attempts"] == record["attempts"] == len(record["steps"]) >= 1
    assert group["declutter_rate"] == record["objects_removed"] / record["objects_presented"]
    assert "declutter rate" in capsys.readouterr().out


def test_benchmark_cli_rejects_bad_values(tmp_path, capsys):
    assert main(["benchmark", "--policy", "no-such-policy", "--episodes", "1", "--quiet"]) == 2
    assert "no-such-policy" in capsys.readouterr().err
    assert main(["benchmark", "--workers", "0", "--episodes", "1", "--quiet"]) == 2
    assert "workers" in capsys.readouterr().err
    assert main(["benchmark", "--objects", "nothing-here", "--episodes", "1", "--quiet"]) == 2


def test_bench_scaling_reports_efficiency():
    from graspsim.app.bench import bench_scaling

    r = bench_scaling("random", [1, 2], episodes=4, repeats=1, layout="single")
    eps = r["episodes_per_second"]
    assert eps[1] > 0 and eps[2] > 0
    # efficiency = the rate with N workers over N times the rate with one
    assert r["efficiency"][2] == pytest.approx(eps[2] / (2 * eps[1]))


def test_a_plain_script_without_main_guard_is_told_what_to_do(tmp_path):
    """run_benchmark called at the top level of a script with worker processes says at once how
    to fix it (instead of every worker re-running the script); under the guard it runs."""
    import subprocess
    import sys

    body = ("from graspsim.app.benchmark import BenchmarkConfig, run_benchmark\n"
            "{indent}s = run_benchmark(BenchmarkConfig(layout='single', episodes=2, figures=False), workers=2, progress=False)\n"
            "{indent}print('rate', s['groups']['analytic/point']['episodes'])\n")
    unguarded = tmp_path / "plain.py"
    unguarded.write_text(body.format(indent=""))
    out = subprocess.run([sys.executable, str(unguarded)], capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and 'if __name__ == "__main__":' in out.stderr and "line 2" in out.stderr
    guarded = tmp_path / "guarded.py"
    guarded.write_text("if __name__ == '__main__':\n" + body.format(indent="    ").replace("from graspsim", "    from graspsim", 1))
    out = subprocess.run([sys.executable, str(guarded)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "rate 2" in out.stdout, out.stderr[-2000:]


def test_replay_videos_change_nothing_but_add_a_film(tmp_path):
    """--video writes an MP4 per grasp (or per failed grasp) from the oblique camera; the
    records are otherwise those of a run without it, and report.md links failed grasps' films."""
    import cv2

    from graspsim.app.benchmark import BenchmarkConfig, run_benchmark

    def records(folder):
        out = {}
        for line in (folder / "episodes.jsonl").read_text().splitlines():
            r = json.loads(line)
            r.pop("timings_ms"), r.pop("video", None)
            out[r["key"]] = r
        return out

    base = dict(policies=["random"], prompts=["point"], layout="single", episodes=2, figures=False)
    run_benchmark(BenchmarkConfig(**base), out=tmp_path / "plain", backend="serial", progress=False)
    run_benchmark(BenchmarkConfig(**base, video="all"), out=tmp_path / "film", backend="serial", progress=False)
    assert records(tmp_path / "plain") == records(tmp_path / "film")
    films = sorted((tmp_path / "film" / "videos").rglob("*.mp4"))
    assert len(films) == 2
    capture = cv2.VideoCapture(str(films[0]))
    assert capture.get(cv2.CAP_PROP_FRAME_COUNT) >= 5 and capture.get(cv2.CAP_PROP_FRAME_WIDTH) == 320
    report = (tmp_path / "film" / "report.md").read_text()
    failed = [r for r in records(tmp_path / "film").values() if not r["success"]]
    assert ("Replays of failed grasps" in report) == bool(failed)
    with pytest.raises(ValueError, match="video must be"):
        BenchmarkConfig(video="sometimes").check()


def test_the_fast_schedule_reaches_every_episode_and_is_named_in_the_report(tmp_path, capsys):
    from graspsim.app.benchmark.run import make_tasks

    config = BenchmarkConfig(policies=["analytic"], episodes=2, layout="single", figures=False, schedule="fast")
    assert all(json.loads(t.env_kwargs)["schedule"] == "fast" for t in make_tasks(config, None))
    assert "schedule" not in BenchmarkConfig().to_dict()  # the default stays out: earlier folders resume
    assert "schedule" not in json.loads(make_tasks(BenchmarkConfig(episodes=1, figures=False), None)[0].env_kwargs)
    with pytest.raises(ValueError, match="schedule must be one of .* got 'quick'"):
        BenchmarkConfig(schedule="quick").check()
    out = tmp_path / "fast"
    assert main(["benchmark", "--policy", "analytic", "--layout", "single", "--episodes", "1", "--schedule", "fast",
                 "--workers", "1", "--backend", "serial", "--out", str(out), "--no-figures", "--quiet"]) == 0
    assert json.loads((out / "summary.json").read_text())["config"]["schedule"] == "fast"
    assert "fast executor schedule" in (out / "report.md").read_text()


def test_paired_outcomes_count_only_episodes_that_posed_the_same_question():
    from graspsim.app.benchmark.compare import format_paired, paired_outcomes

    def record(i, success, scene="s", error=None):
        return {"key": f"p/point/{i}", "policy": "p", "prompt_kind": "point", "scene": scene, "target_id": 0,
                "prompt": {"kind": "point"}, "success": success, "error": error}

    base = {r["key"]: r for r in [record(0, True), record(1, True), record(2, False), record(3, True), record(4, False),
                                  record(5, True)]}
    new = {r["key"]: r for r in [record(0, True), record(1, False), record(2, True), record(3, True, scene="other"),
                                 record(4, False, error="boom"), record(6, True)]}
    groups = paired_outcomes(base, new)
    assert groups == {"p/point": {"paired": 3, "same": 1, "only_base": 1, "only_new": 1}}
    assert "same outcome 1 (0.333), lifted only in base 1, only in new 1" in format_paired(groups)
    assert "none" in format_paired(paired_outcomes(base, {}))


def test_compare_prints_paired_outcomes_of_two_runs_of_the_same_episodes(serial_run, capsys):
    out, _ = serial_run
    assert main(["compare", str(out), str(out)]) == 0
    assert "paired episodes of analytic/point: 2, same outcome 2 (1.000)" in capsys.readouterr().out

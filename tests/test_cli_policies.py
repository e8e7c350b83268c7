import json

import numpy as np
import pytest

from graspsim import policies
from graspsim.app.cli import main


def test_run_writes_records_summary_and_figures(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["run", "--policy", "analytic", "--prompt", "mask", "--episodes", "2", "--seed", "4",
                 "--object-count", "2,3", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "success rate" in printed and "episodes/s" in printed
    records = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    group = json.loads((out / "summary.json").read_text())["groups"]["analytic/mask"]
    assert [r["seed"] for r in records] == [4, 5]
    assert group["episodes"] == 2 and group["successes"] == sum(r["success"] for r in records)
    assert sum(group["failure_modes"].values()) == 2 - group["successes"]
    episodes = out / "figures" / "episodes" / "analytic" / "mask"
    assert sorted(p.name for p in episodes.iterdir()) == ["episode_0000.png", "episode_0001.png"]
    assert (out / "report.md").is_file()
    # a second run never writes into the same files
    assert main(["run", "--episodes", "1", "--out", str(out), "--quiet"]) == 2
    assert "already holds results" in capsys.readouterr().err


def test_run_rejects_bad_values(capsys):
    assert main(["run", "--objects", "no-such-set", "--episodes", "1", "--quiet"]) == 2
    assert "no-such-set" in capsys.readouterr().err
    assert main(["run", "--episodes", "0", "--quiet"]) == 2
    with pytest.raises(SystemExit):
        main(["run", "--prompt", "telepathy"])


def test_bench_sim_prints_the_parts(capsys):
    assert main(["bench", "sim", "--episodes", "2", "--object-count", "2"]) == 0
    out = capsys.readouterr().out
    for part in ("episodes/s", "build + settle", "render", "grasp execution"):
        assert part in out


def test_policy_registry():
    assert {"analytic", "random"} <= set(policies.available())
    with pytest.raises(ValueError, match="no-such-policy"):
        policies.make("no-such-policy")


def test_random_policy_is_seeded():
    obs = {"depth": np.zeros((320, 320), np.float32)}
    a, b = policies.make("random", seed=3), policies.make("random", seed=3)
    np.testing.assert_array_equal(a.act(obs), b.act(obs))


def test_analytic_refuses_text_prompts():
    import gymnasium as gym

    env = gym.make("graspsim/PromptedGrasp-v0", prompt="text")
    obs, _ = env.reset(seed=0)
    with pytest.raises(ValueError, match="text"):
        policies.make("analytic").act(obs)


def test_table_of_run_summaries(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", "--episodes", "1", "--object-count", "1", "--out", str(out), "--no-figures", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["table", str(out)]) == 0
    row = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| analytic")]
    assert len(row) == 1 and row[0].startswith("| analytic | franka | primitives pile | point | 1 | ")
    assert row[0].split("|")[7].strip() == "-"  # no labels, no rectangle-metric accuracy
    assert main(["table", "--by-scenes", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "| policy, prompt | primitives pile |"
    assert any(line.startswith("| analytic, point | ") and line.endswith(" |") for line in lines[2:])
    assert main(["table", str(tmp_path / "missing")]) == 2
    assert main(["table", str(tmp_path / "missing")]) == 2


@pytest.mark.parametrize("argv, message", [
    (["run", "--policy", "graspsam@/nonexistent/broken.pt"], "policy 'graspsam@/nonexistent/broken.pt' cannot be built"),
    (["benchmark", "--policy", "no_such_module_xyz:make", "--workers", "1"], "cannot import 'no_such_module_xyz'"),
    (["run", "--policy", "analytic", "--prompt", "text", "--grounder", "model"], "has no language path of its own"),
])
def test_a_policy_that_cannot_run_fails_the_run_before_any_episode(tmp_path, capsys, argv, message):
    from graspsim.app.cli import main

    out = tmp_path / "r"
    assert main(argv + ["--episodes", "2", "--out", str(out), "--no-figures", "--quiet"]) == 2
    assert message in capsys.readouterr().err
    assert not (out / "episodes.jsonl").exists()  # nothing ran


def test_a_run_whose_every_episode_errors_exits_non_zero(tmp_path, capsys):
    from graspsim.app.cli import main

    policy_file = tmp_path / "failing.py"
    policy_file.write_text("class P:\n    accepts_text = False\n    def reset(self, seed=None): pass\n"
                           "    def act(self, obs): raise RuntimeError('boom in act')\n"
                           "def make(**kw): return P()\n")
    rc = main(["run", "--policy", f"{policy_file}:make", "--episodes", "2", "--out", str(tmp_path / "r"),
               "--no-figures", "--quiet"])
    assert rc == 1 and "every episode failed (2 errors): RuntimeError: boom in act" in capsys.readouterr().err


def test_out_naming_a_file_is_one_clear_line(tmp_path, capsys):
    from graspsim.app.cli import main

    f = tmp_path / "results.txt"
    f.write_text("not a folder")
    assert main(["run", "--episodes", "1", "--out", str(f), "--quiet", "--no-figures"]) == 2
    err = capsys.readouterr().err
    assert "is a file: give a folder" in err and "Traceback" not in err


def test_compare_without_common_groups_exits_2_and_as_renames_a_policy(tmp_path, capsys):
    from graspsim.app.cli import main

    common = ["--episodes", "2", "--layout", "single", "--quiet", "--no-figures"]
    assert main(["run", "--policy", "random", "--out", str(tmp_path / "a")] + common) == 0
    assert main(["run", "--policy", "analytic", "--out", str(tmp_path / "b")] + common) == 0
    capsys.readouterr()
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 2
    assert "no (policy, prompt) group" in capsys.readouterr().err
    assert main(["run", "--policy", "analytic", "--as", "random", "--out", str(tmp_path / "c")] + common) == 0
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "c"), "--max-drop", "0.5"]) == 0
    assert "random/point" in capsys.readouterr().out


def test_help_shows_defaults_and_policy_forms(capsys):
    from graspsim.app.cli import main

    with pytest.raises(SystemExit):
        main(["benchmark", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: pile)" in text and "NAME@CHECKPOINT" in text and "file.py:factory" in text
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    assert "exit status: 0 no significant regression" in " ".join(capsys.readouterr().out.split())


def test_bench_sim_vector_and_declutter_report_their_counts(capsys):
    from graspsim.app.bench import bench_declutter, bench_vector

    for mode in ("next-step", "same-step"):
        r = bench_vector((1, 2), episodes=3, layout="single", autoreset=mode)
        assert [row["envs"] for row in r["rows"]] == [1, 2] and all(row["episodes"] >= 3 for row in r["rows"])
        assert r["autoreset"] == mode
    with pytest.raises(ValueError, match="autoreset must be one of"):
        bench_vector((1,), episodes=1, autoreset="sometimes")
    d = bench_declutter(1, layout="packed")
    assert d["rounds"] == 1 and d["grasps"] >= 1 and d["grasps_per_second"] == pytest.approx(d["grasps"] / d["seconds"])
    assert main(["bench", "sim", "--vector", "1,x"]) == 2
    assert "--vector must be comma-separated integers" in capsys.readouterr().err


def test_a_policy_module_in_the_current_folder_and_its_import_errors(tmp_path):
    import subprocess
    import sys

    (tmp_path / "mymod.py").write_text("from graspsim.policies.random_policy import RandomPolicy\n"
                                       "def make(**kw):\n    return RandomPolicy(**kw)\n")
    (tmp_path / "broken_mod.py").write_text("import numpy\nx = 1\nraise RuntimeError('broken at import')\n")
    import shutil

    cli = [shutil.which("graspsim")] if shutil.which("graspsim") else [sys.executable, "-m", "graspsim.app.cli"]
    ok = subprocess.run(cli + ["run", "--policy", "mymod:make", "--layout", "single",
                         "--episodes", "1", "--out", "r", "--quiet", "--no-figures"],
                        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr[-2000:]
    bad = subprocess.run(cli + ["run", "--policy", "broken_mod:make",
                          "--episodes", "1", "--out", "b", "--quiet", "--no-figures"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert "RuntimeError: broken at import" in bad.stderr and "broken_mod.py, line 3" in bad.stderr


def test_quiet_silences_the_pybullet_banner_in_workers_too(tmp_path):
    import shutil
    import subprocess
    import sys

    cli = [shutil.which("graspsim")] if shutil.which("graspsim") else [sys.executable, "-m", "graspsim.app.cli"]
    args = ["benchmark", "--layout", "single", "--episodes", "2", "--workers", "2", "--no-figures"]
    loud = subprocess.run(cli + args + ["--out", "a"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    quiet = subprocess.run(cli + args + ["--out", "b", "--quiet"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert loud.returncode == quiet.returncode == 0
    assert "pybullet build time" in loud.stderr and "pybullet build time" not in quiet.stderr

"""Every code block of the README runs, so the README cannot rot.

Blocks run in order in one temporary folder: a block preceded by
``<!-- file: NAME -->`` is written to NAME; a Python block defining
``test_*`` functions runs under pytest; other Python blocks run as scripts;
in a bash block every ``graspsim ...`` command runs (the set-up lines, pip
and the test suite itself, do not).
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"(?:<!-- file: (?P<file>[\w./-]+) -->\n)?```(?P<lang>\w+)\n(?P<body>.*?)```", re.S)


def blocks():
    return [(m.group("file"), m.group("lang"), m.group("body")) for m in BLOCK.finditer(README.read_text())]


def _commands(body: str) -> list[str]:
    """The graspsim commands of a bash block (continuation lines joined)."""
    joined = body.replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if line.strip().startswith("graspsim ")]


def test_readme_has_the_expected_blocks():
    kinds = [(f is not None, lang) for f, lang, _ in blocks()]
    assert (True, "python") in kinds and kinds.count((False, "python")) >= 3 and (False, "bash") in kinds


def test_every_readme_block_runs(tmp_path):
    env_python = sys.executable
    for index, (file, lang, body) in enumerate(blocks()):
        if file:
            (tmp_path / file).write_text(body)
            continue
        if lang == "python":
            script = tmp_path / (f"test_readme_block_{index}.py" if "def test_" in body else f"block_{index}.py")
            script.write_text(body)
            argv = [env_python, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(script)] if "def test_" in body \
                else [env_python, str(script)]
            out = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=600)
            assert out.returncode == 0, f"README python block {index} failed:\n{body}\n{out.stdout[-3000:]}{out.stderr[-3000:]}"
        elif lang == "bash":
            for command in _commands(body):
                if command.startswith("graspsim run --episodes 20"):
                    command = command.replace("--episodes 20", "--episodes 2")  # the set-up line, smaller
                out = subprocess.run(command + " --quiet" if command.split()[1] in ("run", "benchmark") else command,
                                     shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=600)
                assert out.returncode == 0, f"README command failed: {command}\n{out.stdout[-3000:]}{out.stderr[-3000:]}"
        else:
            pytest.fail(f"README block {index} has an unknown language {lang!r}")

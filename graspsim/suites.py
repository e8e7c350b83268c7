"""Shipped labelled test suites: fixed scenes of test-split objects with their labels.

Every benchmark and every user evaluates on the same scenes. A suite is a
JSON-lines file of scene specs (graspsim.scene) whose ``labels`` hold the
simulated-trial ground truth of every visible object (graspsim.labels).
Images are not shipped: they are rendered from the specs, bit for bit.

Made with (see docs/architecture.md, "Labelled test suites"):

    graspsim label --suite primitives-test --scenes 100 --workers 2 --out data/suite-primitives-test-v2
    graspsim label --suite random-urdfs-test --scenes 100 --workers 2 --out data/suite-random-urdfs-test-v2
    graspsim label --objects primitives,random-urdfs --layout pile --split test --appearance randomised \\
        --scenes 100 --seed 300000 --workers 2 --out data/suite-appearance-test
    graspsim label --objects procedural --layout pile --split test --appearance randomised \\
        --scenes 100 --seed 400000 --workers 2 --out data/suite-procedural-test
    graspsim label --objects primitives,procedural --layout pile --split test --appearance randomised \\
        --text-scenes --scenes 100 --seed 500000 --workers 1 --out data/suite-text-test
    cp data/suite-<name>[-v2]/suite.jsonl graspsim/data/suites/<name>.jsonl
"""

from __future__ import annotations

from pathlib import Path

SUITE_DIR = Path(__file__).parent / "data" / "suites"
SUITES = ("primitives-test", "random-urdfs-test", "appearance-test", "procedural-test", "text-test")


def suite_path(name_or_path) -> Path:
    """The file of a shipped suite name, or the given path of a suite file."""
    if str(name_or_path) in SUITES:
        return SUITE_DIR / f"{name_or_path}.jsonl"
    path = Path(name_or_path)
    if path.is_file():
        return path
    raise ValueError(f"suite must be one of {SUITES} or a suite file (.jsonl), got {str(name_or_path)!r}")


def load(name_or_path) -> list:
    """The scene specs (with labels) of a shipped suite or a suite file."""
    from graspsim.scene import load_suite

    path = suite_path(name_or_path)
    if not path.is_file():
        raise ValueError(f"suite file {str(path)!r} is missing from this installation")
    return load_suite(path)

"""Shipped labelled test suites: fixed scenes of test-split objects with their labels.

Every benchmark and every user evaluates on the same scenes. A suite is a
JSON-lines file of scene specs (graspsim.scene) whose ``labels`` hold the
simulated-trial ground truth of every visible object (graspsim.labels).
Images are not shipped: they are rendered from the specs, bit for bit.

Regenerate (see README, "Labelled test suites"):

    graspsim label --objects primitives --layout pile --split test --scenes 100 \\
        --seed 100000 --workers 2 --out data/suite-primitives-test
    cp data/suite-primitives-test/suite.jsonl graspsim/data/suites/primitives-test.jsonl
    (and the same with random-urdfs)
"""

from __future__ import annotations

from pathlib import Path

SUITE_DIR = Path(__file__).parent / "data" / "suites"
SUITES = ("primitives-test", "random-urdfs-test")


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

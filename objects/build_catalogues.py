"""Measure the pybullet_data object sets and write their catalogues.

Run it again after changing a scale table or upgrading pybullet_data::

    python -m graspsim.objects.build_catalogues [--only random-urdfs|household]

Measurement (:mod:`.measure`): ``size`` is the extent of the collision geometry
itself (mesh vertices, analytic primitives), in metres.
"""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> None:
    from . import household, random_urdfs

    builders = {"random-urdfs": random_urdfs.build_catalogue, "household": household.build_catalogue}
    parser = argparse.ArgumentParser(prog="python -m graspsim.objects.build_catalogues", description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=sorted(builders), help="build one catalogue only")
    args = parser.parse_args(argv)
    for name, build in builders.items():
        if args.only in (None, name):
            path = build()
            print(f"{name}: wrote {path}")


if __name__ == "__main__":
    main()

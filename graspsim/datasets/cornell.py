"""The Cornell grasping data set (Jiang, Moseson & Saxena 2011; Lenz et al. 2015).

Each image ``pcdNNNN`` has an RGB image ``pcdNNNNr.png``, optionally a float
depth image ``pcdNNNNd.tiff`` (the one GG-CNN generates from the point
cloud ``pcdNNNN.txt``; its units are kept as stored), and positive and
negative rectangles ``pcdNNNNcpos.txt`` / ``pcdNNNNcneg.txt`` (4 lines
``x y`` per rectangle, corners in order; rectangles holding NaN are skipped,
see :func:`graspsim.rectangles.parse_cornell`).

Every image shows one object (key ``"0"``). Its identity, used by
object-wise splits, comes from an optional ``z.txt`` at the root, one line
per image: ``<image number> <object id> [<object name> ...]`` (the image
number as in the file names, leading zeros optional). This is our reading
of the file shipped with the data set; only the first three fields are
used. Without ``z.txt`` (or for images it does not list) the identity is
the image id, so an object-wise split degrades to an image-wise one; a
warning says so.

The small image readers here (:func:`read_rgb`, :func:`read_depth_tiff`)
are shared by the other public-format loaders.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np

from graspsim.datasets.image_io import check_unique, read_depth_tiff, read_rgb
from graspsim.datasets.sample import GraspDataset, GraspObject, GraspSample
from graspsim.rectangles import parse_cornell


class CornellDataset(GraspDataset):
    """Cornell images found recursively under ``root`` (sorted by id, e.g. ``"pcd0100"``).

    Samples: rgb uint8; depth float32 from ``pcdNNNNd.tiff`` in the units it
    was stored in (``meta["depth_units"] == "as stored"``) or None; one
    object ``"0"`` with positives, negatives (None without ``cneg.txt``), no
    mask, and name/category the object name from ``z.txt`` ("" without it).
    """

    format = "cornell"
    layout = """\
<root>/
  z.txt                  optional: "<image number> <object id> <name>" per line
  01/                    any folder names, searched recursively
    pcd0100r.png         RGB
    pcd0100d.tiff        depth, float (optional)
    pcd0100cpos.txt      positive rectangles, 4 lines "x y" each
    pcd0100cneg.txt      negative rectangles (optional)
"""

    def __init__(self, root):
        super().__init__(root)
        pos = sorted(self.root.rglob("*cpos.txt"), key=lambda p: (p.name, str(p)))
        if not pos:
            raise ValueError(self.layout_error(f"no pcdNNNNcpos.txt files under {str(self.root)!r}"))
        self._dirs = [p.parent for p in pos]
        self.ids = [p.name[: -len("cpos.txt")] for p in pos]
        check_unique(self.ids, pos, "cornell")
        self._z = self._read_z()
        unlisted = 0
        for sid in self.ids:
            num = _image_number(sid)
            obj = self._z.get(num) if num is not None else None
            unlisted += obj is None
            self._objects.append([("0", obj[0] if obj else sid)])
        if unlisted:
            warnings.warn(
                f"cornell: {unlisted} of {len(self.ids)} images have no object id (no z.txt at the root, "
                f"or not listed in it); their identity is the image id, so object-wise splits of them "
                f"are image-wise",
                stacklevel=2,
            )

    def _read_z(self) -> dict[int, tuple[str, str]]:
        """image number -> (object id, object name) from ``root/z.txt`` (empty without it)."""
        z = self.root / "z.txt"
        if not z.is_file():
            return {}
        out = {}
        for lineno, line in enumerate(z.read_text().splitlines(), 1):
            parts = line.split()
            if not parts:
                continue
            try:
                if len(parts) < 2:
                    raise ValueError
                num = int(parts[0])
            except ValueError:
                raise ValueError(
                    f"{z}:{lineno}: expected '<image number> <object id> [<name>]', got {line.strip()!r}"
                ) from None
            out[num] = (parts[1], parts[2] if len(parts) > 2 else "")
        return out

    def load(self, i: int) -> GraspSample:
        sid, d = self.ids[i], self._dirs[i]
        paths = {k: d / f"{sid}{suffix}" for k, suffix in
                 (("rgb", "r.png"), ("depth", "d.tiff"), ("cpos", "cpos.txt"), ("cneg", "cneg.txt"))}
        rgb = read_rgb(paths["rgb"], sid)
        depth = read_depth_tiff(paths["depth"]) if paths["depth"].is_file() else None
        grasps = parse_cornell(paths["cpos"].read_text(), source=str(paths["cpos"]))
        negatives = (parse_cornell(paths["cneg"].read_text(), source=str(paths["cneg"]))
                     if paths["cneg"].is_file() else None)
        num = _image_number(sid)
        name = self._z.get(num, ("", ""))[1] if num is not None else ""
        key, identity = self._objects[i][0]
        obj = GraspObject(key, identity, grasps, negatives=negatives, name=name, category=name)
        meta = {k: str(p) if p.is_file() else None for k, p in paths.items()}
        meta["depth_units"] = "as stored"
        return GraspSample(sid, rgb, depth, [obj], meta)


def _image_number(sample_id: str) -> int | None:
    """``"pcd0100"`` -> 100 (None when the id holds no number)."""
    digits = sample_id[3:] if sample_id.startswith("pcd") else sample_id
    return int(digits) if digits.isdigit() else None

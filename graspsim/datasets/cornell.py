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

Corner rounding (``integer_corners``). The GG-CNN and GR-ConvNet code
reads each corner line with ``int(round(float(x)))``, i.e. rounds every
corner coordinate to the nearest integer (halves to even, Python's
``round``) before making rectangles of them, and draws them with
``skimage.draw.polygon`` for the IoU. ``CornellDataset(root,
integer_corners=True)`` (or ``open_dataset("cornell", root,
integer_corners=True)``) rounds the corners the same way, in both the
positive and the negative files, before converting them to ``(u, v,
angle, opening, jaw)`` rectangles; the default (False) keeps the corners as
written. The setting that matches the evaluation behind their published
Cornell numbers is ``integer_corners=True`` with the pixel-counting IoU of
:mod:`graspsim.metric` (``match(..., iou="raster")`` /
``evaluate(..., iou="raster")``) and the default thresholds (angle within
30°, inclusive; IoU > 0.25). One difference remains: their IoU draws the
rounded quadrilateral itself, here it becomes the rectangle with the same
centre (mean of the corners), angle and opening (edge 0 → 1) and jaw (edge
1 → 2), which can cover a few different pixels along its edges. Their
cropping and resizing of images (and of the rectangles with them) belong to
the evaluation pipeline, not to this loader.

The small image readers here (:func:`read_rgb`, :func:`read_depth_tiff`)
are shared by the other public-format loaders.
"""

from __future__ import annotations

import math
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

    integer_corners: round every corner coordinate to the nearest integer
    (as GG-CNN / GR-ConvNet do; see the module docstring) before making
    rectangles of them. Default False: corners as written.
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

    def __init__(self, root, integer_corners: bool = False):
        super().__init__(root)
        self.integer_corners = bool(integer_corners)
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
        grasps = self._rectangles(paths["cpos"])
        negatives = self._rectangles(paths["cneg"]) if paths["cneg"].is_file() else None
        num = _image_number(sid)
        name = self._z.get(num, ("", ""))[1] if num is not None else ""
        key, identity = self._objects[i][0]
        obj = GraspObject(key, identity, grasps, negatives=negatives, name=name, category=name)
        meta = {k: str(p) if p.is_file() else None for k, p in paths.items()}
        meta["depth_units"] = "as stored"
        return GraspSample(sid, rgb, depth, [obj], meta)


    def _rectangles(self, path: Path) -> np.ndarray:
        """The rectangles of a cpos/cneg file, corners rounded first with ``integer_corners``."""
        text = path.read_text()
        if self.integer_corners:
            text = round_corner_text(text)
        return parse_cornell(text, source=str(path))


def round_corner_text(text: str) -> str:
    """Cornell text with every finite corner coordinate rounded to an integer.

    Rounds as GG-CNN's ``int(round(float(x)))`` does (Python's ``round``:
    to the nearest integer, halves to even). Lines keep their places, and
    lines that are not two finite numbers are left as they are, so that
    :func:`graspsim.rectangles.parse_cornell` still skips NaN blocks (as
    GG-CNN does) and reports malformed lines by their line numbers."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        try:
            if len(parts) != 2:
                raise ValueError
            xy = [float(p) for p in parts]
            if not all(map(math.isfinite, xy)):
                raise ValueError
        except ValueError:
            out.append(line)
            continue
        out.append(" ".join(str(int(round(c))) for c in xy))
    return "\n".join(out) + "\n"


def _image_number(sample_id: str) -> int | None:
    """``"pcd0100"`` -> 100 (None when the id holds no number)."""
    digits = sample_id[3:] if sample_id.startswith("pcd") else sample_id
    return int(digits) if digits.isdigit() else None

"""OCID-Grasp (Ainetter & Fraundorfer 2021): grasp rectangles on the OCID clutter scenes.

Every folder named ``Annotations`` (found recursively) is a sequence
``<seq>``; each annotation file ``<seq>/Annotations/<name>.txt`` holds
Cornell-style rectangles (4 lines ``x y`` each) for the image
``<seq>/rgb/<name>.png`` (640 × 480), with depth ``<seq>/depth/<name>.png``
(uint16 millimetres, optional) and the object label image
``<seq>/seg_mask_labeled_combi/<name>.png`` (0 = background).

OCID-Grasp does not say which object a rectangle belongs to: each rectangle
goes to the label under its rounded centre. Rectangles whose centre is on
the background (or outside the image) are dropped and counted in
``meta["unassigned_grasps"]``. Objects are the labels holding at least one
rectangle, keyed by the label (``"3"``); their identity is
``f"{sequence path relative to root}:{label}"``: labels name the same object
throughout a sequence (OCID adds objects one at a time), not across
sequences.

Objects are only known once each image's annotation and label image are
read, so :meth:`OcidGraspDataset.items` reads them all on its first call
and caches the result; opening the data set only lists files.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from graspsim.datasets.image_io import read_rgb
from graspsim.datasets.sample import GraspDataset, GraspObject, GraspSample, Item
from graspsim.rectangles import parse_cornell


class OcidGraspDataset(GraspDataset):
    """OCID-Grasp images under ``root``, ids ``"<sequence path>/<name>"`` (sorted).

    Samples: rgb uint8; depth float32 metres (None without the depth
    image); objects with positive rectangles, no negatives (None) and bool
    masks (label image == label). ``meta``: source paths,
    ``unassigned_grasps``, ``depth_units`` ``"m"``.
    """

    format = "ocid"
    layout = """\
<root>/
  ARID20/table/top/seq01/              any sequence folders, searched recursively
    Annotations/<name>.txt             rectangles, 4 lines "x y" each
    rgb/<name>.png                     RGB, 640x480
    depth/<name>.png                   uint16 millimetres (optional)
    seg_mask_labeled_combi/<name>.png  object labels, 0 = background
"""

    def __init__(self, root):
        super().__init__(root)
        files = [f for d in self.root.rglob("Annotations") if d.is_dir() for f in d.glob("*.txt")]
        if not files:
            raise ValueError(self.layout_error(f"no Annotations/*.txt files under {str(self.root)!r}"))
        entries = sorted((_join(self._sequence(f), f.stem), f) for f in files)
        self.ids = [sid for sid, _ in entries]
        self._annotations = [f for _, f in entries]
        self._objects = None  # filled by items() on first call

    def _sequence(self, annotation: Path) -> str:
        return annotation.parent.parent.relative_to(self.root).as_posix()

    def _read(self, i: int):
        """(rectangles of each label, unassigned count, label image, paths) of sample ``i``."""
        ann = self._annotations[i]
        seq, name = ann.parent.parent, ann.stem
        paths = {"annotation": ann, "rgb": seq / "rgb" / f"{name}.png", "depth": seq / "depth" / f"{name}.png",
                 "mask": seq / "seg_mask_labeled_combi" / f"{name}.png"}
        if not paths["mask"].is_file():
            raise ValueError(f"sample {self.ids[i]!r}: label image {str(paths['mask'])!r} is missing")
        labels = cv2.imread(str(paths["mask"]), cv2.IMREAD_UNCHANGED)
        if labels is None or labels.ndim != 2:
            raise ValueError(f"sample {self.ids[i]!r}: {str(paths['mask'])!r} is not a single-channel label image")
        rects = parse_cornell(ann.read_text(), source=str(ann))
        uv = np.rint(rects[:, :2]).astype(np.int64)
        h, w = labels.shape
        inside = (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h)
        owner = np.zeros(len(rects), np.int64)
        owner[inside] = labels[uv[inside, 1], uv[inside, 0]]
        by_label = {int(lab): rects[owner == lab] for lab in np.unique(owner) if lab != 0}
        return by_label, int((owner == 0).sum()), labels, paths

    def _keys(self, i: int, by_label) -> list[tuple[str, str]]:
        seq = self._sequence(self._annotations[i])
        return [(str(lab), f"{seq}:{lab}") for lab in sorted(by_label)]

    def items(self) -> list[Item]:
        """Every (sample, object) pair; reads all annotations and label images on the first call."""
        if self._objects is None:
            self._objects = [self._keys(i, self._read(i)[0]) for i in range(len(self))]
        return super().items()

    def load(self, i: int) -> GraspSample:
        sid = self.ids[i]
        by_label, unassigned, labels, paths = self._read(i)
        rgb = read_rgb(paths["rgb"], sid)
        if rgb.shape[:2] != labels.shape:
            raise ValueError(f"sample {sid!r}: label image is {labels.shape[::-1]}, RGB is {rgb.shape[1::-1]} (w, h)")
        depth = None
        if paths["depth"].is_file():
            raw = cv2.imread(str(paths["depth"]), cv2.IMREAD_UNCHANGED)
            if raw is None or raw.ndim != 2:
                raise ValueError(f"sample {sid!r}: cannot read depth image {str(paths['depth'])!r}")
            depth = raw.astype(np.float32) / 1000.0
        objects = [GraspObject(key, ident, by_label[int(key)], mask=labels == int(key))
                   for key, ident in self._keys(i, by_label)]
        meta = {k: str(p) if p.is_file() else None for k, p in paths.items()}
        meta.update(unassigned_grasps=unassigned, depth_units="m")
        return GraspSample(sid, rgb, depth, objects, meta)


def _join(sequence: str, name: str) -> str:
    return name if sequence == "." else f"{sequence}/{name}"

"""OCID-Grasp (Ainetter & Fraundorfer 2021): grasp rectangles on the OCID clutter scenes.

Every folder named ``Annotations`` (found recursively) is a sequence
``<seq>``; each annotation file ``<seq>/Annotations/<name>.txt`` holds
Cornell-style rectangles (4 lines ``x y`` each) for the image
``<seq>/rgb/<name>.png`` (640 × 480), with depth ``<seq>/depth/<name>.png``
(uint16 millimetres, optional), OCID's instance label image
``<seq>/label/<name>.png`` and OCID-Grasp's class image
``<seq>/seg_mask_labeled_combi/<name>.png``.

Objects are instances, not classes. ``seg_mask_labeled_combi`` holds
semantic class ids (0 = background, 1–31 the data set authors' classes),
so two objects of one class in an image share a value there; the objects
come from OCID's ``label/`` images instead (16-bit PNGs, one instance id
per pixel). Ids 0 (unlabelled) and 1 (the supporting surface) are never
objects. Each other instance gets the class that most of its pixels carry
in ``seg_mask_labeled_combi`` (majority vote, background 0 included; ties
go to the smaller class id); an instance whose class is 0 is not an object
(such as the table, which OCID labels as an instance in its table scenes
and OCID-Grasp as background). The class id, as a string (``"7"``; no
class dictionary is shipped), is the object's ``name`` and ``category``:
two objects of one class in an image are two objects with the same name.
Sequences without a ``label/`` folder are refused when the data set is
opened.

OCID-Grasp does not say which object a rectangle belongs to: each rectangle
goes to the instance under its rounded centre. Rectangles whose centre is
on no object (background, floor, table, or outside the image) are dropped
and counted in ``meta["unassigned_grasps"]``. Objects are the instances
holding at least one rectangle, keyed by the instance id (``"3"``); their
identity is ``f"{sequence path relative to root}:{instance id}"``: an
instance id names the same object throughout a sequence (OCID adds objects
one at a time), not across sequences.

Objects are only known once each image's annotation and label images are
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
    image); one object per instance holding rectangles (see the module
    docstring), with positive rectangles, no negatives (None), a bool mask
    (instance image == id) and name/category its class id. ``meta``: source
    paths, ``unassigned_grasps``, ``depth_units`` ``"m"``, ``classes``
    (instance id -> class id of every object instance in the image, with or
    without rectangles).
    """

    format = "ocid"
    layout = """\
<root>/
  ARID20/table/top/seq01/              any sequence folders, searched recursively
    Annotations/<name>.txt             rectangles, 4 lines "x y" each
    rgb/<name>.png                     RGB, 640x480
    depth/<name>.png                   uint16 millimetres (optional)
    label/<name>.png                   instance ids (16-bit), 0 = unlabelled, 1 = floor/table
    seg_mask_labeled_combi/<name>.png  class ids, 0 = background
"""

    def __init__(self, root):
        super().__init__(root)
        files = [f for d in self.root.rglob("Annotations") if d.is_dir() for f in d.glob("*.txt")]
        if not files:
            raise ValueError(self.layout_error(f"no Annotations/*.txt files under {str(self.root)!r}"))
        for seq in sorted({f.parent.parent for f in files}):
            if not (seq / "label").is_dir():
                raise ValueError(self.layout_error(
                    f"sequence {str(seq)!r} has no instance label folder {str(seq / 'label')!r} "
                    f"(OCID's label/ images are needed to tell objects of one class apart)"))
        entries = sorted((_join(self._sequence(f), f.stem), f) for f in files)
        self.ids = [sid for sid, _ in entries]
        self._annotations = [f for _, f in entries]
        self._objects = None  # filled by items() on first call

    def _sequence(self, annotation: Path) -> str:
        return annotation.parent.parent.relative_to(self.root).as_posix()

    def _label_image(self, i: int, path: Path, what: str) -> np.ndarray:
        if not path.is_file():
            raise ValueError(f"sample {self.ids[i]!r}: {what} {str(path)!r} is missing")
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is None or image.ndim != 2:
            raise ValueError(f"sample {self.ids[i]!r}: {str(path)!r} is not a single-channel {what}")
        return image

    def _read(self, i: int):
        """(rectangles of each object instance, class of each object instance,
        unassigned count, instance image, paths) of sample ``i``."""
        ann = self._annotations[i]
        seq, name = ann.parent.parent, ann.stem
        paths = {"annotation": ann, "rgb": seq / "rgb" / f"{name}.png", "depth": seq / "depth" / f"{name}.png",
                 "label": seq / "label" / f"{name}.png", "mask": seq / "seg_mask_labeled_combi" / f"{name}.png"}
        instances = self._label_image(i, paths["label"], "instance label image")
        classes = self._label_image(i, paths["mask"], "class label image")
        if instances.shape != classes.shape:
            raise ValueError(f"sample {self.ids[i]!r}: instance image is {instances.shape[::-1]}, "
                             f"class image is {classes.shape[::-1]} (w, h)")
        class_of = _instance_classes(instances, classes)
        rects = parse_cornell(ann.read_text(), source=str(ann))
        uv = np.rint(rects[:, :2]).astype(np.int64)
        h, w = instances.shape
        inside = (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h)
        owner = np.full(len(rects), -1, np.int64)
        owner[inside] = instances[uv[inside, 1], uv[inside, 0]]
        by_instance = {inst: rects[owner == inst] for inst in sorted(class_of) if (owner == inst).any()}
        unassigned = len(rects) - sum(len(r) for r in by_instance.values())
        return by_instance, class_of, unassigned, instances, paths

    def _keys(self, i: int, by_instance) -> list[tuple[str, str]]:
        seq = self._sequence(self._annotations[i])
        return [(str(inst), f"{seq}:{inst}") for inst in sorted(by_instance)]

    def items(self) -> list[Item]:
        """Every (sample, object) pair; reads all annotations and label images on the first call."""
        if self._objects is None:
            self._objects = [self._keys(i, self._read(i)[0]) for i in range(len(self))]
        return super().items()

    def load(self, i: int) -> GraspSample:
        sid = self.ids[i]
        by_instance, class_of, unassigned, instances, paths = self._read(i)
        rgb = read_rgb(paths["rgb"], sid)
        if rgb.shape[:2] != instances.shape:
            raise ValueError(f"sample {sid!r}: label image is {instances.shape[::-1]}, "
                             f"RGB is {rgb.shape[1::-1]} (w, h)")
        depth = None
        if paths["depth"].is_file():
            raw = cv2.imread(str(paths["depth"]), cv2.IMREAD_UNCHANGED)
            if raw is None or raw.ndim != 2:
                raise ValueError(f"sample {sid!r}: cannot read depth image {str(paths['depth'])!r}")
            depth = raw.astype(np.float32) / 1000.0
        objects = []
        for key, ident in self._keys(i, by_instance):
            inst = int(key)
            cls = str(class_of[inst])
            objects.append(GraspObject(key, ident, by_instance[inst], mask=instances == inst, name=cls, category=cls))
        meta = {k: str(p) if p.is_file() else None for k, p in paths.items()}
        meta.update(unassigned_grasps=unassigned, depth_units="m", classes=dict(class_of))
        return GraspSample(sid, rgb, depth, objects, meta)


def _instance_classes(instances: np.ndarray, classes: np.ndarray) -> dict[int, int]:
    """Instance id -> class id of the object instances of one image.

    Instances are the ids >= 2 of the instance image (0 unlabelled, 1 the
    supporting surface); each takes the class most of its pixels carry in
    the class image (0 included, ties to the smaller class id) and is kept
    when that class is not 0."""
    inst = instances.ravel().astype(np.int64)
    cls = classes.ravel().astype(np.int64)
    keep = inst >= 2
    if not keep.any():
        return {}
    inst, cls = inst[keep], cls[keep]
    base = int(cls.max()) + 1
    keys, counts = np.unique(inst * base + cls, return_counts=True)
    ids, labels = keys // base, keys % base
    out = {}
    # keys are sorted by instance, then class: argmax gives each instance's smallest most frequent class
    for iid in np.unique(ids):
        rows = ids == iid
        best = labels[rows][np.argmax(counts[rows])]
        if best != 0:
            out[int(iid)] = int(best)
    return out


def _join(sequence: str, name: str) -> str:
    return name if sequence == "." else f"{sequence}/{name}"

"""The Jacquard data set (Depierre, Dellandréa & Chen 2018): reader and writer.

Each image ``<id>`` (e.g. ``0_1a2b3c``) lies in its object's folder with
``<id>_RGB.png``, ``<id>_perfect_depth.tiff`` (float32 metres; the noisy
``<id>_stereo_depth.tiff`` is used when the perfect one is missing),
``<id>_mask.png`` (the object, pixels > 0) and ``<id>_grasps.txt`` (lines
``x;y;θ;w;h``, θ in degrees clockwise on screen, w the opening, h the jaw
size; see :func:`graspsim.rectangles.parse_jacquard`). Published images are
1024 × 1024.

:func:`write_jacquard` exports any :class:`GraspDataset` in this layout, one
Jacquard image per (sample, object) pair, so that tools written for Jacquard
can read our data.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import cv2
import numpy as np

from graspsim.datasets.image_io import check_unique, read_depth_tiff, read_rgb
from graspsim.datasets.sample import GraspDataset, GraspObject, GraspSample
from graspsim.rectangles import format_jacquard, parse_jacquard, scale_rects

SUFFIX = "_grasps.txt"


class JacquardDataset(GraspDataset):
    """Jacquard images found recursively under ``root`` (sorted by id).

    Samples: rgb uint8; depth float32 metres (perfect, else stereo, else
    None; ``meta["depth_type"]`` says which); one object ``"0"`` whose
    identity is the name of the folder holding the files (Jacquard's object
    folder), with positive rectangles, no negatives (None) and the mask
    (None when ``_mask.png`` is missing).
    """

    format = "jacquard"
    layout = """\
<root>/
  1a2b3c/                         one folder per object (any depth below root)
    0_1a2b3c_RGB.png              RGB
    0_1a2b3c_perfect_depth.tiff   float32 metres (or 0_1a2b3c_stereo_depth.tiff)
    0_1a2b3c_mask.png             object mask (> 0)
    0_1a2b3c_grasps.txt           one "x;y;theta_deg;w;h" line per grasp
"""

    def __init__(self, root):
        super().__init__(root)
        files = sorted(self.root.rglob("*" + SUFFIX), key=lambda p: (p.name, str(p)))
        if not files:
            raise ValueError(self.layout_error(f"no *{SUFFIX} files under {str(self.root)!r}"))
        self._dirs = [p.parent for p in files]
        self.ids = [p.name[: -len(SUFFIX)] for p in files]
        check_unique(self.ids, files, "jacquard")
        self._objects = [[("0", d.name)] for d in self._dirs]

    def load(self, i: int) -> GraspSample:
        sid, d = self.ids[i], self._dirs[i]
        names = ("RGB.png", "perfect_depth.tiff", "stereo_depth.tiff", "mask.png", "grasps.txt")
        path = {k: d / f"{sid}_{k}" for k in names}
        rgb = read_rgb(path["RGB.png"], sid)
        depth, depth_type = None, None
        for kind in ("perfect", "stereo"):
            if path[f"{kind}_depth.tiff"].is_file():
                depth, depth_type = read_depth_tiff(path[f"{kind}_depth.tiff"]), kind
                break
        mask = None
        if path["mask.png"].is_file():
            m = cv2.imread(str(path["mask.png"]), cv2.IMREAD_GRAYSCALE)
            if m is None:
                raise ValueError(f"sample {sid!r}: cannot read mask {str(path['mask.png'])!r}")
            mask = m > 0
        grasps = parse_jacquard(path["grasps.txt"].read_text(), source=str(path["grasps.txt"]))
        key, identity = self._objects[i][0]
        meta = {k: str(p) for k, p in path.items() if p.is_file()}
        meta.update(depth_units="m", depth_type=depth_type)
        return GraspSample(sid, rgb, depth, [GraspObject(key, identity, grasps, mask=mask)], meta)


def sanitise(name: str) -> str:
    """A file-name-safe version of ``name`` (runs of other characters become ``_``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "object"


def _write_atomic(path: Path, write) -> None:
    """Call ``write(tmp)`` on a temporary name in the same folder, then rename to ``path``.

    The temporary name keeps the extension (OpenCV picks the format from it)
    and does not end like a Jacquard file, so a crash leaves nothing a reader picks up."""
    tmp = path.with_name(f"{path.stem}.tmp{os.getpid()}{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _imwrite(path: Path, image: np.ndarray) -> None:
    if not cv2.imwrite(str(path), image):
        raise OSError(f"OpenCV could not write {str(path)!r}")


def write_jacquard(dataset: GraspDataset, out, image_size: int = 1024, progress: bool = True) -> int:
    """Export ``dataset`` in the Jacquard layout under ``out``; return the number of (sample, object) pairs written.

    Each object that has a mask and at least one positive rectangle becomes
    ``<out>/<identity>/<sample id>_<key>_{RGB.png, perfect_depth.tiff,
    mask.png, grasps.txt}`` (names sanitised). Images are resized to
    ``image_size`` × ``image_size`` (RGB bilinear, depth and mask nearest)
    and rectangles scaled to match (:func:`graspsim.rectangles.scale_rects`);
    samples must be square (ValueError otherwise). Depth is float32 metres,
    0 where missing (all 0 when the sample has none); the mask is uint8 0/255.
    Negative rectangles are not exported (Jacquard has none). Each file is
    written atomically.
    """
    from tqdm import tqdm

    if not (isinstance(image_size, (int, np.integer)) and image_size > 0):
        raise ValueError(f"image_size must be a positive integer, got {image_size!r}")
    out = Path(out)
    size = (int(image_size), int(image_size))
    count = 0
    for i in tqdm(range(len(dataset)), desc="jacquard export", unit="image", disable=not progress):
        sample = dataset[i]
        objects = [o for o in sample.objects if o.mask is not None and len(o.grasps)]
        if not objects:
            continue
        h, w = sample.rgb.shape[:2]
        if h != w:
            raise ValueError(f"sample {sample.id!r} is {w}×{h} pixels; write_jacquard needs square images")
        factor = image_size / w
        bgr = cv2.resize(cv2.cvtColor(sample.rgb, cv2.COLOR_RGB2BGR), size, interpolation=cv2.INTER_LINEAR)
        depth = np.zeros((h, w), np.float32) if sample.depth is None else sample.depth.astype(np.float32)
        depth = cv2.resize(depth, size, interpolation=cv2.INTER_NEAREST)
        for obj in objects:
            folder = out / sanitise(obj.identity)
            folder.mkdir(parents=True, exist_ok=True)
            stem = folder / sanitise(f"{sample.id}_{obj.key}")
            mask = cv2.resize(obj.mask.astype(np.uint8) * 255, size, interpolation=cv2.INTER_NEAREST)
            text = format_jacquard(scale_rects(obj.grasps, factor))
            _write_atomic(Path(f"{stem}_RGB.png"), lambda p: _imwrite(p, bgr))
            _write_atomic(Path(f"{stem}_perfect_depth.tiff"), lambda p: _imwrite(p, depth))
            _write_atomic(Path(f"{stem}_mask.png"), lambda p: _imwrite(p, mask))
            _write_atomic(Path(f"{stem}{SUFFIX}"), lambda p: p.write_text(text))
            count += 1
    return count

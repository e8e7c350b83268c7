"""Grasp-Anything (Vuong et al. 2023) and Grasp-Anything++ (2024).

One sample per image ``image/<sha>.jpg`` (416 × 416, synthetic); object
``k`` of the image has a mask ``mask/<sha>_<k>.npy`` and positive (and
optionally negative) grasps ``grasp_label_positive/<sha>_<k>.pt``: a torch
tensor of (N, 6) rows ``_, x, y, w, h, θ°`` (see
:func:`graspsim.rectangles.from_grasp_anything_rows`). The scene
description ``scene_description/<sha>.pkl`` is a pickle; where it is a
string, or a dict or list holding one, that string is kept in
``meta["description"]``.

Grasp-Anything++ adds part masks and grasp instructions. We could not
confirm its exact folder names; this loader expects, when present,
``part_mask/<sha>_<k>_<part>.npy`` (GraspObject.parts[part]) and
``grasp_instructions/<sha>_<k>_<part>.pkl`` (strings, or a dict/list of
strings, appended to GraspObject.instructions in part order).
File names are split at underscores: ``<sha>`` (a hex digest) holds none,
``<k>`` is the object index, ``<part>`` is the rest.

Grasp-Anything has no object identities across images (every image is a
new generated scene), so an object's identity is ``f"{sha}_{k}"`` and an
object-wise split is an image-wise one at object granularity.

The ``.pt`` and ``.pkl`` files are unpickled: only open data you trust.
"""

from __future__ import annotations

import os
import pickle
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np

from graspsim.datasets.image_io import read_rgb
from graspsim.datasets.sample import GraspDataset, GraspObject, GraspSample
from graspsim.rectangles import from_grasp_anything_rows

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
DESCRIPTION_KEYS = ("description", "scene_description", "caption", "prompt", "text")


class GraspAnythingDataset(GraspDataset):
    """Grasp-Anything(++) images under ``root/image`` (sorted by sha).

    Samples: rgb uint8 (416 × 416 in the published data), depth None
    (the data set has none); objects keyed ``str(k)`` (those with a positive
    label file, in numeric order) with positives, negatives (None without a
    negative file), mask bool (None without one), GA++ parts and
    instructions. ``meta``: source paths and ``description`` when found.
    """

    format = "grasp-anything"
    layout = """\
<root>/
  image/<sha>.jpg                          RGB, 416x416
  mask/<sha>_<k>.npy                       mask of object k (bool or 0/1)
  grasp_label_positive/<sha>_<k>.pt        (N, 6) tensor: _, x, y, w, h, theta_deg
  grasp_label_negative/<sha>_<k>.pt        optional, same format
  scene_description/<sha>.pkl              optional, pickled description
  part_mask/<sha>_<k>_<part>.npy           optional (Grasp-Anything++)
  grasp_instructions/<sha>_<k>_<part>.pkl  optional (Grasp-Anything++)
"""

    def __init__(self, root):
        super().__init__(root)
        images = sorted(p for p in _listdir(self.root / "image") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            raise ValueError(self.layout_error(f"no images in {str(self.root / 'image')!r}"))
        self._images = images
        self.ids = [p.stem for p in images]
        keys = defaultdict(set)
        for p in _listdir(self.root / "grasp_label_positive"):
            if p.suffix == ".pt" and "_" in p.stem:
                sha, k = p.stem.split("_", 1)
                keys[sha].add(k)
        self._parts = _index_parts(self.root / "part_mask", ".npy")
        self._instructions = _index_parts(self.root / "grasp_instructions", ".pkl")
        self._objects = [
            [(k, f"{sha}_{k}") for k in sorted(keys.get(sha, ()), key=_key_order)]
            for sha in self.ids
        ]

    def load(self, i: int) -> GraspSample:
        sha = self.ids[i]
        rgb = read_rgb(self._images[i], sha)
        meta = {"rgb": str(self._images[i])}
        objects = []
        for key, identity in self._objects[i]:
            stem = f"{sha}_{key}"
            pos = self.root / "grasp_label_positive" / f"{stem}.pt"
            neg = self.root / "grasp_label_negative" / f"{stem}.pt"
            mask = self.root / "mask" / f"{stem}.npy"
            obj = GraspObject(
                key, identity,
                from_grasp_anything_rows(_load_tensor(pos), source=str(pos)),
                negatives=from_grasp_anything_rows(_load_tensor(neg), source=str(neg)) if neg.is_file() else None,
                mask=_load_mask(mask) if mask.is_file() else None,
            )
            for part in self._parts.get((sha, key), ()):
                obj.parts[part] = _load_mask(self.root / "part_mask" / f"{stem}_{part}.npy")
            for part in self._instructions.get((sha, key), ()):
                obj.instructions += _strings(_load_pickle(self.root / "grasp_instructions" / f"{stem}_{part}.pkl"))
            objects.append(obj)
        desc_path = self.root / "scene_description" / f"{sha}.pkl"
        if desc_path.is_file():
            meta["scene_description"] = str(desc_path)
            desc = _description(_load_pickle(desc_path))
            if desc is not None:
                meta["description"] = desc
        return GraspSample(sha, rgb, None, objects, meta)


def _key_order(k: str):
    """Numeric object keys in numeric order, then any others by name."""
    return (0, int(k), "") if k.isdigit() else (1, 0, k)


def _listdir(folder: Path) -> list[Path]:
    return [folder / n for n in sorted(os.listdir(folder))] if folder.is_dir() else []


def _index_parts(folder: Path, suffix: str) -> dict[tuple[str, str], list[str]]:
    """(sha, k) -> sorted part names, from files ``<sha>_<k>_<part><suffix>``."""
    out = defaultdict(list)
    for p in _listdir(folder):
        fields = p.stem.split("_", 2)
        if p.suffix == suffix and len(fields) == 3:
            out[fields[0], fields[1]].append(fields[2])
    return dict(out)


def _load_tensor(path: Path) -> np.ndarray:
    """A ``.pt`` file holding a tensor (or a numpy array) -> float64 numpy array."""
    import torch

    obj = torch.load(path, map_location="cpu", weights_only=False)
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().double().numpy()
    if isinstance(obj, np.ndarray):
        return obj.astype(np.float64)
    raise ValueError(f"{path}: expected a tensor or numpy array of grasp rows, got {type(obj).__name__}")


def _load_mask(path: Path) -> np.ndarray:
    """A ``.npy`` mask (bool or numbers, optionally with a leading axis of 1) -> bool (H, W)."""
    m = np.squeeze(np.load(path, allow_pickle=False))
    if m.ndim != 2:
        raise ValueError(f"{path}: expected a 2-D mask, got shape {m.shape}")
    return m > 0


def _load_pickle(path: Path):
    """Unpickle ``path``; on failure warn and return None (text extras are optional)."""
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except Exception as e:  # noqa: BLE001 - any broken pickle is skipped the same way
        warnings.warn(f"{path}: cannot unpickle ({type(e).__name__}: {e}); skipped", stacklevel=3)
        return None


def _strings(obj) -> list[str]:
    """Every string in ``obj`` (a string, or dicts/lists/tuples of them), in order."""
    if isinstance(obj, str):
        return [obj] if obj.strip() else []
    if isinstance(obj, dict):
        obj = list(obj.values())
    if isinstance(obj, (list, tuple)):
        return [s for x in obj for s in _strings(x)]
    return []


def _description(obj) -> str | None:
    """The scene description in an unpickled object: a string, a dict entry with a
    description-like key, or else the first string found."""
    if isinstance(obj, dict):
        for k in DESCRIPTION_KEYS:
            if isinstance(obj.get(k), str):
                return obj[k]
    found = _strings(obj)
    return found[0] if found else None

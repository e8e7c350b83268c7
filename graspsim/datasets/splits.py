"""Seeded image-wise and object-wise splits of a data set's items.

Image-wise: the groups are images, so all objects of an image fall on the
same side. Object-wise: the groups are object identities (Cornell object,
Jacquard object folder, catalogue name), so an object seen in training is
never a validation target. In cluttered images an object-wise split can put
two objects of one image on different sides: the held-out object then never
is a training *target*, though it may be visible as clutter in a training
image.
"""

from __future__ import annotations

import numpy as np

from graspsim.datasets.sample import Item

SPLIT_KINDS = ("image", "object")


def _groups(items: list[Item], by: str) -> tuple[list, np.ndarray]:
    if by not in SPLIT_KINDS:
        raise ValueError(f"split kind must be one of {SPLIT_KINDS}, got {by!r}")
    keys = [it.sample if by == "image" else it.identity for it in items]
    unique = sorted(set(keys), key=lambda k: (str(type(k)), k))
    index = {k: j for j, k in enumerate(unique)}
    return unique, np.array([index[k] for k in keys], dtype=np.int64)


def kfold(items: list[Item], k: int = 5, by: str = "image", seed: int = 0) -> list[tuple[list[Item], list[Item]]]:
    """``k`` (train, validation) pairs; every group is validated exactly once."""
    if not (isinstance(k, (int, np.integer)) and k >= 2):
        raise ValueError(f"folds must be an integer >= 2, got {k!r}")
    unique, group_of = _groups(items, by)
    if len(unique) < k:
        raise ValueError(f"cannot make {k} {by}-wise folds from {len(unique)} {by} group(s)")
    order = np.random.default_rng(seed).permutation(len(unique))
    fold_of_group = np.empty(len(unique), dtype=np.int64)
    fold_of_group[order] = np.arange(len(unique)) % k
    folds = fold_of_group[group_of]
    return [
        ([it for it, f in zip(items, folds) if f != j], [it for it, f in zip(items, folds) if f == j]) for j in range(k)
    ]


def split(items: list[Item], val_fraction: float = 0.2, by: str = "image", seed: int = 0) -> tuple[list[Item], list[Item]]:
    """One seeded (train, validation) split with about ``val_fraction`` of the groups held out."""
    if not (0.0 < float(val_fraction) < 1.0):
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
    unique, group_of = _groups(items, by)
    if len(unique) < 2:
        raise ValueError(f"cannot split {len(unique)} {by} group(s) into train and validation")
    n_val = min(max(int(round(len(unique) * val_fraction)), 1), len(unique) - 1)
    val_groups = np.zeros(len(unique), bool)
    val_groups[np.random.default_rng(seed).permutation(len(unique))[:n_val]] = True
    is_val = val_groups[group_of]
    return [it for it, v in zip(items, is_val) if not v], [it for it, v in zip(items, is_val) if v]

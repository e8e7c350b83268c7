"""Training and k-fold cross-validation of the Redmon & Angelova (2015) baselines
(``graspsim train redmon``).

Examples: every (image, object) pair of a data set (:mod:`graspsim.datasets`)
whose object has at least one positive rectangle. Each time an example is
seen, a training prompt is drawn on it (one point, ten points or a jittered
box from the object mask, via
:func:`graspsim.policies.prompting.sample_training_prompt`; objects
without a mask, as in Cornell, use the box around their rectangles), its crop
window placed by :func:`.inputs.prompt_window` exactly as the policy places it,
then shifted, scaled and rotated (:func:`.inputs.jitter_window`), and the
rectangles mapped into the crop frame. Targets: ``direct`` / ``classify`` a
randomly chosen rectangle whose centre lies in the crop (each time the image
is seen), ``multigrasp`` up to 5 such rectangles.

Cross-validation (``folds >= 2``): seeded image-wise or object-wise folds
(:func:`graspsim.datasets.kfold`); each fold trains a fresh model for the
configured epochs and scores the last epoch (no model selection on the
held-out fold) with fixed seeded prompts, one point and a box per object:
top-1 (and top-5) rectangle accuracy by :func:`graspsim.metric.evaluate` in
full-image pixels, and the category accuracy of ``classify``. A finished fold
is written to ``fold_<j>.json``; re-running the same command skips it.
``folds = 0`` trains one model on every example and writes the checkpoint
``redmon_<model>.pt`` (float16 weights).

Randomness comes from ``(seed, fold, epoch)`` generators; torch's CPU threads
are set to ``threads`` (1 by default, so training leaves the other cores free).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from graspsim.policies.devices import pick_device

from .inputs import INPUT_SIZE, crop, jitter_window, network_input, prompt_window, rects_from_crop, rects_to_crop, rgd
from .model import CLASS_WEIGHT, DEFAULT_HIDDEN, DEFAULT_WIDTH, MAX_GRASPS, RedmonNet, check_model, encode_grasp, encode_grid, loss_fn, predictions, save_checkpoint

TRAIN_PROMPT_KINDS = ("point", "points", "box")
EVAL_PROMPT_KINDS = ("point", "box")


@dataclass
class RedmonConfig:
    model: str
    data: str
    out: str
    data_format: str = "sim"
    folds: int = 5
    split: str = "image"
    epochs: int = 25
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-3
    width: float = DEFAULT_WIDTH
    hidden: int = DEFAULT_HIDDEN
    class_weight: float = CLASS_WEIGHT  # classify: weight of the cross entropy
    seed: int = 0
    threads: int | None = 1
    device: str | None = None
    max_examples: int | None = None

    def check(self) -> None:
        check_model(self.model)
        if self.split not in ("image", "object"):
            raise ValueError(f"split must be 'image' or 'object', got {self.split!r}")
        if not (isinstance(self.folds, int) and (self.folds == 0 or self.folds >= 2)):
            raise ValueError(f"folds must be 0 (train on all data) or an integer >= 2, got {self.folds!r}")
        for name in ("epochs", "batch_size", "hidden"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 1):
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        for name in ("lr", "weight_decay", "class_weight"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be a finite non-negative number, got {v!r}")
        if not (isinstance(self.width, (int, float)) and 0 < self.width <= 1):
            raise ValueError(f"width must be a number in (0, 1], got {self.width!r}")
        if self.threads is not None and not (isinstance(self.threads, int) and self.threads >= 1):
            raise ValueError(f"threads must be a positive integer, got {self.threads!r}")
        if self.max_examples is not None and not (isinstance(self.max_examples, int) and self.max_examples >= 1):
            raise ValueError(f"max_examples must be a positive integer, got {self.max_examples!r}")


# -- examples ----------------------------------------------------------------------------
@dataclass
class RedmonExample:
    """One object: its image's RGD (shared between the objects of an image), mask
    (or None), positive rectangles (image pixels), category label (-1: unknown)."""

    rgd: np.ndarray
    mask: np.ndarray | None
    grasps: np.ndarray
    label: int
    category: str
    identity: str
    sample_id: str


def catalogue_categories() -> tuple[str, ...]:
    """The object categories of our built-in catalogues, sorted."""
    from graspsim.objects import OBJECT_SETS, get_object_set

    return tuple(sorted({o.category for name in OBJECT_SETS for o in get_object_set(name).objects("all")}))


def class_names(dataset, items) -> tuple[str, ...]:
    """Our catalogue's categories, then any further category the data set names (sorted)."""
    base = catalogue_categories()
    extra: set[str] = set()
    by_sample: dict[int, list[str]] = {}
    for it in items:
        by_sample.setdefault(it.sample, []).append(it.key)
    for i in by_sample:
        extra |= {o.category for o in dataset[i].objects if o.category and o.category not in base}
    return base + tuple(sorted(extra))


def load_examples(dataset, items, classes=(), progress: bool = False) -> list[RedmonExample]:
    """Examples for ``items`` of ``dataset`` (objects with positive rectangles); each image read once."""
    from tqdm import tqdm

    from graspsim.rectangles import as_rects

    index = {c: i for i, c in enumerate(classes)}
    by_sample: dict[int, list[str]] = {}
    for it in items:
        by_sample.setdefault(it.sample, []).append(it.key)
    out = []
    for i in tqdm(sorted(by_sample), desc="load", unit="img", disable=not progress, leave=False):
        sample = dataset[i]
        image = None
        for key in by_sample[i]:
            obj = sample.object(key)
            grasps = as_rects(obj.grasps)
            if len(grasps) == 0:
                continue
            if image is None:
                image = rgd(sample.rgb, sample.depth)
            mask = None if obj.mask is None or not np.any(obj.mask) else np.asarray(obj.mask, bool)
            out.append(RedmonExample(image, mask, grasps, index.get(obj.category, -1), obj.category, obj.identity, sample.id))
    return out


def _rect_box(grasps: np.ndarray, shape) -> np.ndarray:
    from graspsim.rectangles import to_corners

    c = to_corners(grasps).reshape(-1, 2)
    h, w = shape[:2]
    lo = np.clip(c.min(0), 0, [w - 1, h - 1])
    hi = np.clip(c.max(0), 0, [w - 1, h - 1])
    return np.array([lo[0], lo[1], max(hi[0], lo[0]), max(hi[1], lo[1])], np.float32)


def example_prompt(ex: RedmonExample, kind: str, rng: np.random.Generator) -> dict:
    """A prompt on the example: from its mask (GraspSAM's training prompts) or, without a
    mask, the box around its rectangles / that box's centre as a point."""
    from graspsim.policies.prompting import sample_training_prompt

    if ex.mask is not None:
        return sample_training_prompt(ex.mask, rng, kind)
    box = _rect_box(ex.grasps, ex.rgd.shape)
    if kind == "box":
        return {"points": None, "labels": None, "box": box, "mask": None}
    centre = np.array([[(box[0] + box[2]) / 2, (box[1] + box[3]) / 2]], np.float32)
    return {"points": centre, "labels": np.ones(1, np.int64), "box": None, "mask": None}


def _inside(rects: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    return (rects[:, 0] >= -0.5) & (rects[:, 0] < size - 0.5) & (rects[:, 1] >= -0.5) & (rects[:, 1] < size - 0.5)


def training_batch(kind: str, examples: list[RedmonExample], rng: np.random.Generator, augment: bool = True) -> tuple[np.ndarray, dict]:
    """(input (B, 3, S, S), targets) for one batch (module docstring)."""
    crops, grasp_t, grid_t, labels = [], [], [], []
    for ex in examples:
        p_kind = TRAIN_PROMPT_KINDS[int(rng.integers(len(TRAIN_PROMPT_KINDS)))]
        window = prompt_window(example_prompt(ex, p_kind, rng), ex.rgd.shape)
        if augment:
            window = jitter_window(window, rng)
        crops.append(crop(ex.rgd, window))
        rects = rects_to_crop(ex.grasps, window)
        inside = rects[_inside(rects)]
        pool = inside if len(inside) else rects
        if kind == "multigrasp":
            grid_t.append(encode_grid(pool[rng.permutation(len(pool))[:MAX_GRASPS]]))
        else:
            grasp_t.append(encode_grasp(pool[int(rng.integers(len(pool)))])[0])
            labels.append(ex.label)
    x = network_input(np.stack(crops))
    if kind == "multigrasp":
        return x, {"grid": torch.from_numpy(np.stack(grid_t))}
    return x, {"grasp": torch.from_numpy(np.stack(grasp_t)), "label": torch.tensor(labels, dtype=torch.int64)}


# -- evaluation --------------------------------------------------------------------------
@torch.no_grad()
def predict_examples(net: RedmonNet, examples, prompt_kind: str, seed: int = 0, batch_size: int = 64, device="cpu"):
    """(image-frame ranked rectangles (K, 6) per example, class predictions or None)
    with a fixed seeded prompt of ``prompt_kind`` per example."""
    rng = np.random.default_rng(seed)
    windows = [prompt_window(example_prompt(e, prompt_kind, rng), e.rgd.shape) for e in examples]
    net.eval()
    rects, classes = [], []
    for s in range(0, len(examples), batch_size):
        chunk = range(s, min(s + batch_size, len(examples)))
        x = torch.from_numpy(network_input(np.stack([crop(examples[i].rgd, windows[i]) for i in chunk]))).to(device)
        out = net(x)
        for i, r in zip(chunk, predictions(out)):
            rects.append(rects_from_crop(r, windows[i]))
        if "logits" in out:
            classes.extend(out["logits"].argmax(1).cpu().numpy().tolist())
    return rects, (np.array(classes) if classes else None)


def evaluate_net(net: RedmonNet, examples, seed: int = 0, device="cpu") -> dict:
    """Top-1 / top-5 rectangle accuracy per evaluation prompt kind (and their mean as
    "top1"); "class_accuracy" for classify (objects with a known category)."""
    from graspsim.metric import evaluate

    result = {}
    class_hits = []
    for kind in EVAL_PROMPT_KINDS:
        rects, classes = predict_examples(net, examples, kind, seed=seed, device=device)
        report = evaluate(rects, [e.grasps for e in examples], top_k=(1, 5))
        result[kind] = {"top1": report.top1, "top5": report.topk[5], "n": report.n}
        if classes is not None:
            labels = np.array([e.label for e in examples])
            known = labels >= 0
            acc = float((classes[known] == labels[known]).mean()) if known.any() else math.nan
            result[kind]["class_accuracy"] = acc
            class_hits.append(acc)
    result["top1"] = float(np.mean([result[k]["top1"] for k in EVAL_PROMPT_KINDS]))
    if class_hits:
        result["class_accuracy"] = float(np.mean(class_hits))
    return result


# -- training ----------------------------------------------------------------------------
def train_net(config: RedmonConfig, examples, classes, fold: int = -1, progress: bool = True) -> tuple[RedmonNet, list]:
    """A fresh network trained on ``examples`` for ``config.epochs``; returns (net, history)."""
    from tqdm import tqdm

    device = pick_device(config.device)
    torch.manual_seed(config.seed * 1000 + fold + 1)
    net = RedmonNet(config.model, config.width, config.hidden, classes).to(device)
    optimiser = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps = math.ceil(len(examples) / config.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=config.lr, total_steps=config.epochs * steps, pct_start=0.15)
    history = []
    where = "all data" if fold < 0 else f"fold {fold + 1}/{config.folds}"
    bar = tqdm(total=config.epochs * steps, desc=f"{config.model} {where}", unit="step", disable=not progress, leave=False)
    for epoch in range(config.epochs):
        net.train()
        rng = np.random.default_rng([config.seed, fold + 1, epoch])
        order = rng.permutation(len(examples))
        losses = []
        for step in range(steps):
            batch = [examples[j] for j in order[step * config.batch_size : (step + 1) * config.batch_size]]
            x, targets = training_batch(config.model, batch, rng)
            out = net(torch.from_numpy(x).to(device))
            loss, parts = loss_fn(config.model, out, {k: v.to(device) for k, v in targets.items()}, config.class_weight)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            scheduler.step()
            losses.append(parts)
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{parts['loss']:.4f}")
        history.append({"epoch": epoch, **{k: float(np.mean([p[k] for p in losses if k in p])) for k in losses[-1]}})
    bar.close()
    return net.eval(), history


def _key(config: RedmonConfig) -> dict:
    d = asdict(config)
    for k in ("out", "threads", "device"):
        d.pop(k)
    return d


def run(config: RedmonConfig, progress: bool = True, log=print) -> dict:
    """Cross-validate (folds >= 2) or train the final model (folds == 0); returns the summary
    (also written to ``out/summary.json``). ``log`` receives one line per finished fold."""
    from graspsim.datasets import kfold, open_dataset

    config.check()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    dataset = open_dataset(config.data_format, config.data)
    items = dataset.items()
    if config.max_examples is not None:
        items = items[: config.max_examples]
    if not items:
        raise ValueError(f"data {config.data!r}: the data set has no objects")
    classes = class_names(dataset, items) if config.model == "classify" else ()
    t0 = time.perf_counter()
    if config.folds == 0:
        examples = load_examples(dataset, items, classes, progress)
        if not examples:
            raise ValueError(f"data {config.data!r}: no object has a positive grasp rectangle")
        net, history = train_net(config, examples, classes, progress=progress)
        seconds = time.perf_counter() - t0
        path = out / f"redmon_{config.model}.pt"
        meta = {"config": asdict(config), "examples": len(examples), "train_seconds": round(seconds, 1),
                "history": history, "classes": list(classes)}
        save_checkpoint(net, path, metadata=meta)
        summary = {"checkpoint": str(path), "examples": len(examples), "seconds": seconds, "history": history,
                   "config": asdict(config)}
        log(f"trained {config.model} on {len(examples)} objects in {seconds:.0f} s; checkpoint {path}")
    else:
        folds = kfold(items, k=config.folds, by=config.split, seed=config.seed)
        results = []
        for j, (train_items, val_items) in enumerate(folds):
            path = out / f"fold_{j}.json"
            if path.exists():
                saved = json.loads(path.read_text())
                if saved.get("key") != _key(config):
                    raise ValueError(f"{path} was written by a different configuration; use another --out")
                results.append(saved)
                log(_fold_line(saved, config))
                continue
            tf = time.perf_counter()
            train_ex = load_examples(dataset, train_items, classes, progress)
            val_ex = load_examples(dataset, val_items, classes, progress)
            if not train_ex or not val_ex:
                raise ValueError(f"fold {j + 1}: no training or validation object with positive grasps")
            net, history = train_net(config, train_ex, classes, fold=j, progress=progress)
            result = {"fold": j, "key": _key(config), "train_examples": len(train_ex), "val_examples": len(val_ex),
                      "val": evaluate_net(net, val_ex, seed=config.seed), "seconds": time.perf_counter() - tf,
                      "final_loss": history[-1]["loss"]}
            path.write_text(json.dumps(result, indent=1))
            results.append(result)
            log(_fold_line(result, config))
            del train_ex, val_ex
        summary = {"config": asdict(config), "folds": results, **_means(results), "seconds": sum(r["seconds"] for r in results)}
        log(format_cv(summary))
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def evaluate_checkpoint(checkpoint, data, data_format: str = "sim", seed: int = 0, model: str | None = None) -> dict:
    """:func:`evaluate_net` of a checkpoint on every object with positive rectangles of a data set."""
    from graspsim.datasets import open_dataset

    from .model import load_checkpoint

    net, _ = load_checkpoint(checkpoint, model=model)
    ds = open_dataset(data_format, data)
    examples = load_examples(ds, ds.items(), net.classes)
    if not examples:
        raise ValueError(f"data {str(data)!r}: no object has a positive grasp rectangle")
    return {"checkpoint": str(checkpoint), "data": str(data), "examples": len(examples), **evaluate_net(net, examples, seed=seed)}


def _means(results: list) -> dict:
    m = {
        "top1": float(np.mean([r["val"]["top1"] for r in results])),
        **{f"{k}_top1": float(np.mean([r["val"][k]["top1"] for r in results])) for k in EVAL_PROMPT_KINDS},
    }
    if "class_accuracy" in results[0]["val"]:
        m["class_accuracy"] = float(np.mean([r["val"]["class_accuracy"] for r in results]))
    return m


def _fold_line(r: dict, config: RedmonConfig) -> str:
    v = r["val"]
    line = (f"fold {r['fold'] + 1}/{config.folds} ({config.split}-wise): top-1 {v['top1']:.3f} "
            f"(point {v['point']['top1']:.3f}, box {v['box']['top1']:.3f}); "
            f"{r['train_examples']} train / {r['val_examples']} val objects, {r['seconds']:.0f} s")
    if "class_accuracy" in v:
        line += f"; class accuracy {v['class_accuracy']:.3f}"
    return line


def format_cv(summary: dict) -> str:
    c = summary["config"]
    line = (f"{c['model']} {c['folds']}-fold {c['split']}-wise mean top-1 {summary['top1']:.3f} "
            f"(point {summary['point_top1']:.3f}, box {summary['box_top1']:.3f})")
    if "class_accuracy" in summary:
        line += f"; mean class accuracy {summary['class_accuracy']:.3f}"
    return line + f"; {summary['seconds']:.0f} s"


__all__ = ["RedmonConfig", "catalogue_categories", "evaluate_checkpoint", "evaluate_net", "format_cv", "load_examples", "run", "training_batch"]

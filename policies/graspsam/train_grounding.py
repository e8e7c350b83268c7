"""Training the language path's grounding map on a trained GraspSAM
(``graspsim train grounding``).

The grasp model stays frozen: only the text encoder and its grounding head
(:mod:`.grounding_head`) learn. Each training image is therefore encoded once,
at the start, and its embedding and cells are kept in memory (about 135 KB an
image for ``tiny``/``tiny_rgbd``: 2,600 images fit in 350 MB), which makes an
epoch over ten thousand objects take seconds rather than an hour.

Per step: a batch of (image, object) pairs, a referring phrase for each in the
*training* phrasing (:func:`.train.text_prompt`; objects no phrase singles out
are skipped), and :func:`.grounding_head.grounding_loss` against the fraction
of each embedding cell the object covers. Randomness per epoch comes from
``(seed, epoch)``, so a resumed run continues as an uninterrupted one would.

Validation after every epoch, on the validation objects, through the path the
policy takes (:func:`.inference.predict`: the map's arg-max decoded as a
point): the rate at which the grounded point lies on the named object
("hit"), the pick rate (predicted mask IoU >= 0.5 with the object's mask) and
top-1, for the training and the held-out phrasing. The epoch with the best
training-phrasing pick rate is saved as ``best.pt``, a complete GraspSAM
checkpoint; ``last.pt`` (text encoder, optimiser, history) after every epoch,
from which a re-run of the same command resumes.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from graspsim.policies.devices import pick_device


@dataclass
class GroundingConfig:
    """checkpoint: a GraspSAM checkpoint with a language path (trained with ``--text``);
    data / val: data set folders (``data`` may list several, comma-separated) whose
    samples store their scene spec (our sim sets: the phrases need the objects' facts)."""

    checkpoint: str
    data: str
    val: str
    out: str
    data_format: str = "sim"
    epochs: int = 20
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0
    max_examples: Optional[int] = None
    device: Optional[str] = None

    def check(self) -> None:
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("lr", "weight_decay"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0 or (name == "lr" and value == 0):
                raise ValueError(f"{name} must be a {'positive' if name == 'lr' else 'non-negative'} number, got {value!r}")
        if self.max_examples is not None and (not isinstance(self.max_examples, int) or self.max_examples < 1):
            raise ValueError(f"max_examples must be a positive integer or None, got {self.max_examples!r}")
        if not Path(self.checkpoint).is_file():
            raise ValueError(f"checkpoint {self.checkpoint!r} does not exist")


#: options that do not change what a training computes (a run may resume with other values)
_NOT_IN_RESUME_KEY = ("epochs", "device")


def _grounding_model(config: GroundingConfig, device):
    """The checkpoint's model, frozen but for its text encoder, which gains a new
    grounding head when it has none."""
    from .build import load_graspsam_checkpoint

    model, meta = load_graspsam_checkpoint(config.checkpoint, device=device)
    if not model.has_text:
        raise ValueError(f"checkpoint {config.checkpoint!r} has no language path to ground; train one with "
                         "graspsim train graspsam --text")
    model.float()
    if not model.text_encoder.grounding:
        model.text_encoder.add_grounding(4 if model.uses_depth else 3)
        model.build_config["text_grounding"] = True
    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith("text_encoder."))
    return model, meta


@torch.no_grad()
def _cache(model, examples, progress: bool, desc: str) -> list[tuple]:
    """(example, image index, coverage) per example and the per-image (embedding, cells),
    one encoding per image."""
    from tqdm import tqdm

    from .grounding_head import mask_coverage

    model.eval()
    images, items, index = [], [], {}
    for e in tqdm(examples, desc=desc, unit="obj", disable=not progress, leave=False):
        if e.sample_id not in index:
            emb = model.encode(e.rgb[None], e.heights[None] if model.uses_depth else None)
            index[e.sample_id] = len(images)
            images.append((emb.image_embedding[0], emb.cells[0], emb.input_size, emb.image_size))
        _, _, input_size, image_size = images[index[e.sample_id]]
        grid = images[0][0].shape[-1]
        items.append((e, index[e.sample_id], mask_coverage(e.mask, input_size, image_size, grid)))
    return items, images


def _load_examples(config: GroundingConfig, variant: str):
    """(train, validation) examples with object facts (and heights for a depth model), read as
    ``graspsim train graspsam`` reads them (:func:`.train.load_examples`)."""
    from .train import TrainConfig, load_examples

    return load_examples(TrainConfig(data=config.data, out=config.out, val=config.val, data_format=config.data_format,
                                     variant=variant, text=True, max_examples=config.max_examples))


@torch.no_grad()
def grounding_validation(model, examples, seed: int = 0, progress: bool = False) -> dict:
    """Per phrasing ("text": training, "text_held_out"): the rate at which the grounded
    point lies on the named object ("hit"), the pick rate and top-1 (module docstring),
    with ``n`` phrases; "pick" of the training phrasing chooses the best epoch."""
    from graspsim.metric import PICK_IOU, evaluate, mask_iou

    from .inference import predict
    from .train import text_prompt

    model.eval()
    result = {}
    for kind, phrasing in (("text", "train"), ("text_held_out", "held_out")):
        rng = np.random.default_rng(seed)
        hits, picks, preds, truths = [], [], [], []
        cache_id, emb = None, None
        for e in examples:
            phrase = text_prompt(e, rng, phrasing)
            if phrase is None:
                continue
            if e.sample_id != cache_id:
                emb, cache_id = model.encode(e.rgb[None], e.heights[None] if model.uses_depth else None), e.sample_id
            p = predict(model, emb, {"text": phrase}, e.mask.shape, jaw_px=e.jaw_px)
            u, v = (int(round(float(x))) for x in p.grounded_point)
            hits.append(bool(e.mask[v, u]))
            picks.append(mask_iou(p.mask, e.mask) >= PICK_IOU)
            preds.append(p.rects)
            truths.append(e.grasps)
        report = evaluate(preds, truths, top_k=(1,)) if preds else None
        result[kind] = {"hit": float(np.mean(hits)) if hits else 0.0, "pick": float(np.mean(picks)) if picks else 0.0,
                        "top1": report.top1 if report else 0.0, "n": len(hits)}
    return result


def _save_last(path: Path, model, optimiser, epoch, best, history, config) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"text_encoder": model.text_encoder.state_dict(), "optimiser": optimiser.state_dict(), "epoch": epoch,
                "best": best, "history": history, "config": asdict(config)}, tmp)
    os.replace(tmp, path)


def train_grounding(config: GroundingConfig, progress: bool = True) -> dict:
    """Train (or resume) the grounding map; returns the summary (history, best epoch, time)."""
    from tqdm import tqdm

    from .build import save_graspsam_checkpoint
    from .grounding_head import grounding_loss
    from .train import text_prompt

    config.check()
    device = pick_device(config.device)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed)
    model, source_meta = _grounding_model(config, device)
    train, val = _load_examples(config, model.variant)
    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    start, best, history = 0, {"epoch": -1, "pick": -1.0}, []
    last = out / "last.pt"
    if last.exists():
        state = torch.load(last, map_location=device, weights_only=False)
        key = {k: v for k, v in asdict(config).items() if k not in _NOT_IN_RESUME_KEY}
        if {k: v for k, v in state["config"].items() if k not in _NOT_IN_RESUME_KEY} != key:
            raise ValueError(f"{last} was written by a different grounding configuration; use another --out")
        model.text_encoder.load_state_dict(state["text_encoder"])
        optimiser.load_state_dict(state["optimiser"])
        start, best, history = state["epoch"] + 1, state["best"], state["history"]
        if progress:
            print(f"resuming at epoch {start + 1} of {config.epochs} ({last})")
    t0 = time.perf_counter()
    items, images = _cache(model, train, progress, "encode training images")
    pe = model.prompt_encoder.get_dense_pe().detach()
    te = model.text_encoder
    for epoch in range(start, config.epochs):
        te.train()
        rng = np.random.default_rng([config.seed, epoch])
        torch.manual_seed(config.seed * 1000 + epoch)
        order = rng.permutation(len(items))
        losses = []
        steps = range(0, len(order), config.batch_size)
        for s in tqdm(steps, desc=f"epoch {epoch + 1}/{config.epochs}", unit="step", disable=not progress, leave=False):
            batch = [items[j] for j in order[s: s + config.batch_size]]
            phrases = [text_prompt(e, rng) for e, _, _ in batch]
            keep = [i for i, p in enumerate(phrases) if p is not None]
            if not keep:
                continue
            emb = torch.stack([images[batch[i][1]][0] for i in keep])
            cells = torch.stack([images[batch[i][1]][1] for i in keep])
            coverage = torch.stack([batch[i][2] for i in keep]).to(device)
            logits = te.ground_texts([phrases[i] for i in keep], emb, cells, pe)
            loss = grounding_loss(logits, coverage)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            losses.append(float(loss.detach()))
        val_result = grounding_validation(model, val, seed=config.seed)
        record = {"epoch": epoch, "loss": float(np.mean(losses)) if losses else float("nan"), "val": val_result}
        history.append(record)
        if val_result["text"]["pick"] > best["pick"]:
            best = {"epoch": epoch, "pick": val_result["text"]["pick"], "val": val_result}
            save_graspsam_checkpoint(model, out / "best.pt", metadata={
                **source_meta,
                "grounding": {"epoch": epoch, "val": val_result, "config": asdict(config),
                              "train_examples": len(train), "val_examples": len(val)},
                "source_checkpoint": str(config.checkpoint),
            })
        _save_last(last, model, optimiser, epoch, best, history, config)
        if progress:
            t, h = val_result["text"], val_result["text_held_out"]
            print(f"epoch {epoch + 1}: loss {record['loss']:.4f}; val text hit {t['hit']:.3f}, pick {t['pick']:.3f}, "
                  f"top-1 {t['top1']:.3f} (n={t['n']}); held-out phrasing hit {h['hit']:.3f}, pick {h['pick']:.3f}; "
                  f"best pick {best['pick']:.3f} at epoch {best['epoch'] + 1}", flush=True)
    summary = {"out": str(out), "best_checkpoint": str(out / "best.pt"), "best": best, "history": history,
               "train_examples": len(train), "val_examples": len(val), "device": str(device),
               "seconds_this_run": time.perf_counter() - t0}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


__all__ = ["GroundingConfig", "grounding_validation", "train_grounding"]

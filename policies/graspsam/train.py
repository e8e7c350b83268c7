"""Training and evaluating GraspSAM (``graspsim train graspsam`` / ``graspsim eval graspsam``).

Training data: any data set of :mod:`graspsim.datasets` (our sim sets, Jacquard,
Grasp-Anything, ...) whose objects have masks; each (image, object) pair is an
example (:mod:`.examples`). Per step: exact rotation / flip augmentation, one
prompt kind for the batch (10 points, 1 point or a jittered box, drawn from the
object's mask), targets in the model's output frame, and the published loss

    loss = 2 × grasp + 1 × mask
    grasp = Σ over quality, cos 2θ, sin 2θ, width of mean(w · (pred − target)²),
            w = 1 inside the object mask, 0.01 outside
    mask = BCE(logits) + Dice(sigmoid(logits))

plus, for a language path with a grounding map (``text_grounding``), the
grounding loss on text-prompted batches (:func:`.grounding_head.grounding_loss`
against the fraction of each embedding cell the target covers), weight
:data:`GROUNDING_LOSS_WEIGHT`;
and one option for data sets that record physics-tried negatives (our sim
sets): ``untried_weight`` < 1 lowers the quality term's weight on the object's
pixels that no tried rectangle (positive or negative) covers, so the quality
map's zeros are taught mostly where physics saw a grasp fail rather than
wherever no grasp happened to be tried (1, the default, is the published loss).

Validation after every epoch: fixed seeded prompts (1 point and a box) on the
validation examples with positives, top-1 rectangle accuracy by
:func:`graspsim.metric.evaluate`; the best epoch is saved as ``best.pt`` (a
GraspSAM checkpoint), every epoch and every ``save_every_steps`` steps within
one as ``last.pt`` (with the optimiser and, mid-epoch, the random state), from
which a re-run of the same command resumes. Randomness per epoch comes from
``(seed, epoch)`` and is saved with a mid-epoch checkpoint, so a resumed run
continues bit for bit as an uninterrupted one would.

Variants that use depth (``tiny_rgbd``): every example carries its image's
heights above the table (:func:`.depth.sample_heights`: exact from each sim
scene's camera, approximated for depth in metres without a camera, refused
for data sets without usable depth), augmented with the image, and training,
validation and evaluation pass them to the model. ``init`` may then also be a
checkpoint of the variant's RGB variant (``tiny`` for ``tiny_rgbd``,
:func:`.build.init_from_checkpoint`): every shared weight is loaded and the
depth stem starts at zero, so training starts from exactly the RGB model.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from graspsim.policies.devices import pick_device  # noqa: F401 - re-exported

VAL_PROMPT_KINDS = ("point", "box")
GRASP_LOSS_WEIGHT = 2.0
GROUNDING_LOSS_WEIGHT = 1.0
OUTSIDE_WEIGHT = 0.01


@dataclass
class TrainConfig:
    """``data``: one data set folder, or several separated by commas (all in
    ``data_format``; their objects are pooled). ``init``: a GraspSAM checkpoint
    whose weights start the training (fine-tuning; the variant must match, or be
    the variant's RGB variant: a ``tiny`` checkpoint starts ``tiny_rgbd``)."""

    data: str
    out: str
    val: str | None = None
    data_format: str = "sim"
    val_format: str | None = None  # default: data_format
    variant: str = "tiny"
    sam_checkpoint: str | None = None
    epochs: int = 30
    batch_size: int = 8
    lr: float = 1e-3
    weight_decay: float = 1e-4
    val_fraction: float = 0.1  # object-wise hold-out when no --val is given
    seed: int = 0
    max_examples: int | None = None  # cap on training examples (smoke tests)
    device: str | None = None
    prompt_kinds: tuple[str, ...] = ("points", "point", "box")
    init: str | None = None
    untried_weight: float = 1.0  # quality-loss weight on object pixels no tried rectangle covers
    save_every_steps: int = 200  # mid-epoch checkpoints (last.pt); does not change the result
    text: bool = False  # give the model its language path and train it on "text" prompts too
    text_grounding: bool = False  # the language path also gets its grounding map and loss (implies text)

    def check(self) -> None:
        from .build import VARIANTS

        if self.variant not in VARIANTS:
            raise ValueError(f"unknown GraspSAM variant {self.variant!r}; available: {', '.join(VARIANTS)}")
        for name in ("epochs", "batch_size", "save_every_steps"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 1):
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        for name in ("lr", "weight_decay"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be a finite non-negative number, got {v!r}")
        if not (isinstance(self.untried_weight, (int, float)) and 0 <= self.untried_weight <= 1):
            raise ValueError(f"untried_weight must be a number in [0, 1], got {self.untried_weight!r}")
        from graspsim.policies.prompting import TRAINING_PROMPT_KINDS

        kinds = TRAINING_PROMPT_KINDS + (("text",) if self.text else ())
        bad = [k for k in self.prompt_kinds if k not in kinds]
        if not self.prompt_kinds or bad:
            hint = " (text prompts need text=True / --text)" if "text" in bad else ""
            raise ValueError(f"prompt_kinds must be a non-empty choice of {kinds}, got {self.prompt_kinds!r}{hint}")
        if self.text_grounding and not self.text:
            raise ValueError("text_grounding needs text=True (--text-grounding implies --text on the command line)")
        if self.max_examples is not None and not (isinstance(self.max_examples, int) and self.max_examples >= 1):
            raise ValueError(f"max_examples must be a positive integer, got {self.max_examples!r}")


def load_examples(config: TrainConfig):
    """(train examples, validation examples) from the configured data sets; with heights
    above the table when the configured variant uses depth."""
    from graspsim.datasets import open_dataset, split

    from .build import VARIANTS
    from .examples import examples_from

    heights = VARIANTS[config.variant].uses_depth
    facts = bool(config.text)

    folders = [f.strip() for f in str(config.data).split(",") if f.strip()]
    if not folders:
        raise ValueError(f"data: give at least one data set folder, got {config.data!r}")
    train, val = [], []
    for folder in folders:
        train_ds = open_dataset(config.data_format, folder)
        items = train_ds.items()
        if not config.val:
            items, val_items = split(items, val_fraction=config.val_fraction, by="object", seed=config.seed)
            if config.max_examples is not None:
                val_items = val_items[: max(config.max_examples // 4, 1)]
            val += [e for e in examples_from(train_ds, val_items, heights=heights, facts=facts) if len(e.grasps)]
        if config.max_examples is not None:
            items = items[: config.max_examples]
        train += examples_from(train_ds, items, heights=heights, facts=facts)
    if config.val:
        val_ds = open_dataset(config.val_format or config.data_format, config.val)
        val_items = val_ds.items()
        if config.max_examples is not None:
            val_items = val_items[: max(config.max_examples // 4, 1)]
        val = [e for e in examples_from(val_ds, val_items, heights=heights, facts=facts) if len(e.grasps)]
    if not train:
        raise ValueError(f"{config.data}: no training examples (objects with masks)")
    if not val:
        raise ValueError(f"{config.val or config.data}: no validation examples (objects with masks and positive grasps)")
    return train, val


def text_prompt(example, rng: np.random.Generator, phrasing: str = "train") -> str | None:
    """A referring phrase for the example's object among its image's visible objects
    (:func:`graspsim.phrases.refer`), or None when none singles it out."""
    from graspsim.phrases import refer

    if example.facts is None:
        raise ValueError(f"example of sample {example.sample_id!r} has no object facts for a text prompt "
                         "(examples_from(..., facts=True))")
    try:
        return refer(example.index, list(example.facts), rng, phrasing)
    except ValueError:
        return None


def _batch_prompts(examples, kind: str, rng: np.random.Generator) -> dict:
    from graspsim.policies.prompting import sample_training_prompt

    if kind == "text":
        texts = [text_prompt(e, rng) for e in examples]
        if all(t is not None for t in texts):
            return {"texts": texts}
        kind = "box"  # an object no phrase singles out: this batch takes boxes
    prompts = [sample_training_prompt(e.mask, rng, kind) for e in examples]
    if kind == "box":
        return {"boxes": np.stack([p["box"] for p in prompts])}
    return {"points": np.stack([p["points"] for p in prompts]), "point_labels": np.stack([p["labels"] for p in prompts]).astype(np.float32)}


def grasp_loss(output, targets: dict[str, torch.Tensor], untried_weight: float = 1.0) -> tuple[torch.Tensor, dict]:
    """The published loss (module docstring), with the quality term's weight on untried
    object pixels lowered to ``untried_weight`` (needs ``targets["tried"]`` when < 1);
    returns (loss, parts as floats)."""
    mask_t = targets["mask"]
    weight = torch.where(mask_t > 0.5, 1.0, OUTSIDE_WEIGHT)
    quality_weight = weight
    if untried_weight != 1.0:
        untried = (mask_t > 0.5) & (targets["tried"] < 0.5)
        quality_weight = torch.where(untried, float(untried_weight), weight)
    grasp = sum(
        ((quality_weight if name == "quality" else weight) * (output.grasp_maps[:, i] - targets[name]) ** 2).mean()
        for i, name in enumerate(("quality", "cos2", "sin2", "width"))
    )
    bce, dice = _mask_loss(output.mask_logits[:, 0], mask_t)
    loss = GRASP_LOSS_WEIGHT * grasp + bce + dice
    parts = [("grasp", grasp), ("bce", bce), ("dice", dice)]
    if output.grounding_logits is not None:
        from .grounding_head import grounding_loss, target_cells

        ground = grounding_loss(output.grounding_logits, target_cells(mask_t, output.grounding_logits.shape[-1]))
        loss = loss + GROUNDING_LOSS_WEIGHT * ground
        parts.append(("ground", ground))
    return loss, {k: float(v.detach()) for k, v in [("loss", loss)] + parts}


def _mask_loss(logits: torch.Tensor, mask_t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(BCE, Dice) of ``B×S×S`` mask logits against ``B×S×S`` targets in [0, 1]."""
    bce = F.binary_cross_entropy_with_logits(logits, mask_t)
    prob = torch.sigmoid(logits)
    inter = (prob * mask_t).sum(dim=(1, 2))
    dice = 1 - ((2 * inter + 1) / (prob.sum(dim=(1, 2)) + mask_t.sum(dim=(1, 2)) + 1)).mean()
    return bce, dice


def _targets(model, examples, device) -> dict[str, torch.Tensor]:
    from .examples import map_targets

    s = model.output_size
    maps = [map_targets(e, s, model.width_scale_px(s)) for e in examples]
    return {k: torch.from_numpy(np.stack([m[k] for m in maps])).to(device) for k in maps[0]}


def val_prompt(example, kind: str, rng: np.random.Generator) -> dict:
    """The fixed validation prompt of an example: one point or its (jittered) box."""
    from graspsim.policies.prompting import sample_training_prompt

    return sample_training_prompt(example.mask, rng, "point" if kind == "point" else "box")


@torch.no_grad()
def validate(model, examples, kinds=VAL_PROMPT_KINDS, seed: int = 0, progress: bool = False,
             colour_refine: bool = False) -> dict:
    """Top-1 / top-5 rectangle accuracy and the pick rate (predicted mask IoU >= 0.5 with
    the object's mask) per prompt kind on ``examples`` (mean top-1 over the point and
    box kinds as "top1", the figure that chooses the best epoch). Kinds: "point", "box", and for a model with a language path "text" /
    "text_held_out" (a referring phrase in the training / held-out phrasing; only
    objects a phrase singles out, ``n`` per kind). ``colour_refine``: decode as the
    policy does after its colour refinement (:func:`.colour_refine.refine_prediction`)
    instead of the model's plain decoding."""
    from tqdm import tqdm

    from graspsim.metric import PICK_IOU, evaluate, mask_iou
    from graspsim.policies.prompting import text_prompt_arrays

    from .colour_refine import refine_prediction
    from .inference import QUALITY_THRESHOLD, TOP_K, predict

    model.eval()
    if model.uses_depth and any(e.heights is None for e in examples):
        raise ValueError(f"GraspSAM variant {model.variant!r} uses depth: the examples need heights "
                         "(examples_from(..., heights=True))")
    if any(k.startswith("text") for k in kinds) and not model.has_text:
        raise ValueError(f"text validation needs a model with a language path; this {model.variant} model has none")
    preds = {k: [] for k in kinds}
    truths = {k: [] for k in kinds}
    picks = {k: [] for k in kinds}
    rng = np.random.default_rng(seed)
    cache_id, emb = None, None
    for e in tqdm(examples, desc="validate", unit="obj", disable=not progress, leave=False):
        if e.sample_id != cache_id or emb is None:
            heights = e.heights[None] if model.uses_depth else None
            emb, cache_id = model.encode(e.rgb[None], heights), e.sample_id  # one encoding per image
        for k in kinds:
            if k.startswith("text"):
                phrase = text_prompt(e, rng, "held_out" if k == "text_held_out" else "train")
                if phrase is None:
                    continue
                prompt = text_prompt_arrays(phrase)
            else:
                prompt = val_prompt(e, k, rng)
            p = predict(model, emb, prompt, e.mask.shape, jaw_px=e.jaw_px)
            if colour_refine and not k.startswith("text"):
                refine_prediction(model, p, e.rgb, prompt, TOP_K, QUALITY_THRESHOLD, jaw_px=e.jaw_px)
            preds[k].append(p.rects)
            truths[k].append(e.grasps)
            picks[k].append(mask_iou(p.mask, e.mask) >= PICK_IOU)
    result = {}
    for k in kinds:
        if not preds[k]:
            result[k] = {"top1": 0.0, "top5": 0.0, "pick": 0.0, "n": 0}
            continue
        report = evaluate(preds[k], truths[k], top_k=(1, 5))
        result[k] = {"top1": report.top1, "top5": report.topk[5], "pick": float(np.mean(picks[k])), "n": report.n}
    # the selection figure: point and box prompts (text is reported beside it, not mixed in)
    chosen = [k for k in kinds if not k.startswith("text")] or list(kinds)
    result["top1"] = float(np.mean([result[k]["top1"] for k in chosen]))
    return result


def _save_last(path: Path, model, optimiser, scheduler, epoch, best, history, config, partial=None) -> None:
    """``epoch``: the last finished epoch; ``partial``: where a mid-epoch save stands
    (epoch, next step, numpy and torch random states, the step losses so far), or None."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save({
        "model": model.state_dict(), "optimiser": optimiser.state_dict(), "scheduler": scheduler.state_dict(),
        "epoch": epoch, "best": best, "history": history, "config": asdict(config), "partial": partial,
    }, tmp)
    os.replace(tmp, path)


#: options that do not change what a training computes (a run may resume with other values)
_NOT_IN_RESUME_KEY = ("epochs", "device", "save_every_steps")


def _resume_key(config: TrainConfig) -> dict:
    d = asdict(config)
    for k in _NOT_IN_RESUME_KEY:
        d.pop(k)
    d["prompt_kinds"] = list(d["prompt_kinds"])
    return d


def _initial_model(config: TrainConfig, device, progress: bool):
    """The model that starts a training from ``config.init``: the checkpoint itself
    when it holds ``config.variant``; for a variant with an RGB variant
    (``tiny_rgbd``), a checkpoint of that one loaded into a new model of
    ``config.variant`` (new keys, the depth stem, keep their zero start)."""
    from .build import VARIANTS, build_graspsam, init_from_checkpoint, load_graspsam_checkpoint

    model, _ = load_graspsam_checkpoint(config.init, device=device)
    grounded = model.has_text and model.text_encoder.grounding
    if model.variant == config.variant and (model.has_text or not config.text) and (grounded or not config.text_grounding):
        return model
    rgb = VARIANTS[config.variant].rgb_variant
    if model.variant not in (rgb, config.variant):
        also = f" or {rgb!r}" if rgb else ""
        raise ValueError(f"init checkpoint {config.init!r} holds variant {model.variant!r}, not {config.variant!r}{also}")
    vocabulary = (model.text_encoder.vocabulary if model.has_text else True) if config.text else None
    new = build_graspsam(config.variant, device=device, freeze_sam=bool(model.build_config.get("freeze_sam", False)),
                         text_vocabulary=vocabulary, text_grounding=config.text_grounding)
    report, _ = init_from_checkpoint(new, config.init)
    if progress:
        print(f"initialised {config.variant}{' with a language path' if config.text else ''} from the {model.variant} "
              f"checkpoint {config.init}: {len(new.state_dict()) - len(report.skipped)} keys loaded, "
              f"{len(report.skipped)} new (depth stem, language path, grounding map)")
    return new


def train_graspsam(config: TrainConfig, progress: bool = True) -> dict:
    """Train (or resume) and return the summary (history, best epoch and accuracy, time)."""
    from tqdm import tqdm

    from .build import build_graspsam, save_graspsam_checkpoint
    from .examples import augment

    config.check()
    device = pick_device(config.device)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    train, val = load_examples(config)
    torch.manual_seed(config.seed)
    if config.init is not None:
        model = _initial_model(config, device, progress)
        model.float()
    else:
        model = build_graspsam(config.variant, sam_checkpoint=config.sam_checkpoint, device=device,
                               text_vocabulary=True if config.text else None, text_grounding=config.text_grounding)
    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(train) / config.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=config.lr, total_steps=config.epochs * steps_per_epoch, pct_start=0.1
    )
    start, best, history = 0, {"epoch": -1, "top1": -1.0}, []
    last = out / "last.pt"
    if last.exists():
        state = torch.load(last, map_location=device, weights_only=False)
        old = state["config"]
        old["prompt_kinds"] = list(old["prompt_kinds"])
        old.setdefault("untried_weight", 1.0)  # checkpoints from before the options
        old.setdefault("text", False)
        old.setdefault("text_grounding", False)
        if {k: v for k, v in old.items() if k not in _NOT_IN_RESUME_KEY} != _resume_key(config):
            raise ValueError(f"{last} was written by a different training configuration; use another --out")
        if old["epochs"] != config.epochs:
            raise ValueError(f"{last} was trained for {old['epochs']} epochs; resume with --epochs {old['epochs']}")
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        scheduler.load_state_dict(state["scheduler"])
        start, best, history = state["epoch"] + 1, state["best"], state["history"]
        partial = state.get("partial")
        if progress:
            where = f"step {partial['step']} of epoch {partial['epoch'] + 1}" if partial else f"epoch {start + 1}"
            print(f"resuming at {where} of {config.epochs} ({last})")
    else:
        partial = None
    t0 = time.perf_counter()
    for epoch in range(start, config.epochs):
        model.train()
        rng = np.random.default_rng([config.seed, epoch])
        torch.manual_seed(config.seed * 1000 + epoch)
        order = rng.permutation(len(train))
        losses, first = [], 0
        if partial is not None and partial["epoch"] == epoch:
            rng.bit_generator.state = partial["rng"]
            torch.set_rng_state(partial["torch_rng"])
            losses, first = list(partial["losses"]), int(partial["step"])
        partial = None
        bar = tqdm(range(first, steps_per_epoch), initial=first, total=steps_per_epoch,
                   desc=f"epoch {epoch + 1}/{config.epochs}", unit="step", disable=not progress)
        for step in bar:
            batch = [augment(train[j], rng) for j in order[step * config.batch_size : (step + 1) * config.batch_size]]
            kind = config.prompt_kinds[int(rng.integers(len(config.prompt_kinds)))]
            prompts = _batch_prompts(batch, kind, rng)
            heights = np.stack([e.heights for e in batch]) if model.uses_depth else None
            output = model(np.stack([e.rgb for e in batch]), heights=heights, **prompts)
            loss, parts = grasp_loss(output, _targets(model, batch, device), config.untried_weight)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            scheduler.step()
            losses.append(parts)
            bar.set_postfix(loss=f"{parts['loss']:.4f}")
            if (step + 1) % config.save_every_steps == 0 and step + 1 < steps_per_epoch:
                _save_last(last, model, optimiser, scheduler, epoch - 1, best, history, config, partial={
                    "epoch": epoch, "step": step + 1, "rng": rng.bit_generator.state,
                    "torch_rng": torch.get_rng_state(), "losses": losses})
        bar.close()
        val_result = validate(model, val, kinds=VAL_PROMPT_KINDS + (("text",) if config.text else ()),
                              seed=config.seed, progress=progress)
        names = dict.fromkeys(k for parts in losses for k in parts)  # "ground" only on text batches
        record = {"epoch": epoch, **{k: float(np.mean([p[k] for p in losses if k in p])) for k in names}, "val": val_result}
        history.append(record)
        if val_result["top1"] > best["top1"]:
            best = {"epoch": epoch, "top1": val_result["top1"], "val": val_result}
            save_graspsam_checkpoint(model, out / "best.pt", metadata={
                "epoch": epoch, "val": val_result, "config": {**asdict(config), "prompt_kinds": list(config.prompt_kinds)},
                "train_examples": len(train), "val_examples": len(val),
            })
        _save_last(last, model, optimiser, scheduler, epoch, best, history, config)
        if progress:
            text = (f", text {val_result['text']['top1']:.3f} (pick {val_result['text']['pick']:.3f})"
                    if "text" in val_result else "")
            ground = f", grounding {record['ground']:.3f}" if "ground" in record else ""
            print(f"epoch {epoch + 1}: loss {record['loss']:.4f} (grasp {record['grasp']:.4f}, dice {record['dice']:.3f}{ground}); "
                  f"val top-1 point {val_result['point']['top1']:.3f}, box {val_result['box']['top1']:.3f}{text}; "
                  f"best {best['top1']:.3f} at epoch {best['epoch'] + 1}")
    summary = {
        "out": str(out), "best_checkpoint": str(out / "best.pt"), "best": best, "history": history,
        "train_examples": len(train), "val_examples": len(val), "device": str(device),
        "seconds_this_run": time.perf_counter() - t0,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def evaluate_checkpoint(checkpoint, data, data_format: str = "sim", seed: int = 0, progress: bool = True,
                        colour_refine: bool = False, variant: str | None = None, kinds=None) -> dict:
    """Top-1 rectangle accuracy and pick rate of a GraspSAM checkpoint on every labelled
    object of a data set, per prompt kind (:func:`validate`; default kinds: one point and
    a box, and for a model with a language path also "text" and "text_held_out");
    ``colour_refine`` as in :func:`validate`. The variant is the checkpoint's;
    ``variant``, when given, must be it (ValueError otherwise). A depth-using checkpoint
    reads the data set's heights above the table (as training does)."""
    from graspsim.datasets import open_dataset

    from .build import load_graspsam_checkpoint
    from .examples import examples_from

    model, meta = load_graspsam_checkpoint(checkpoint, device=pick_device(None))
    if variant is not None and model.variant != variant:
        raise ValueError(f"checkpoint {str(checkpoint)!r} holds variant {model.variant!r}, not {variant!r}")
    if kinds is None:
        kinds = VAL_PROMPT_KINDS + (("text", "text_held_out") if model.has_text else ())
    kinds = tuple(kinds)
    ds = open_dataset(data_format, data)
    uses_text = any(k.startswith("text") for k in kinds)
    examples = [e for e in examples_from(ds, ds.items(), heights=model.uses_depth, facts=uses_text) if len(e.grasps)]
    if not examples:
        raise ValueError(f"{data}: no objects with masks and positive grasps to evaluate")
    result = validate(model, examples, kinds=kinds, seed=seed, progress=progress, colour_refine=colour_refine)
    return {"checkpoint": str(checkpoint), "variant": model.variant, "data": str(data), "examples": len(examples),
            "colour_refine": bool(colour_refine), "kinds": list(kinds), **result}


__all__ = ["TrainConfig", "evaluate_checkpoint", "grasp_loss", "pick_device", "text_prompt", "train_graspsam", "validate"]

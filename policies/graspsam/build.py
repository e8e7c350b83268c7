"""Builders and checkpoints for GraspSAM.

Variants (:data:`VARIANTS`; ``build_graspsam(name)``):

=============  ==============================================  ========  ======  =====  ======
name           image encoder                                   input     size    emb.   maps
=============  ==============================================  ========  ======  =====  ======
``tiny``       small SAM-style ViT trained from scratch         RGB       256     16²    64²
``tiny_rgbd``  ``tiny`` + a depth stem (heights above table)    RGB + H   256     16²    64²
``vit_t``      MobileSAM TinyViT (``mobile_sam.pt``) + LoRA     RGB       1024    64²    256²
``vit_b``      SAM ViT-B (``sam_vit_b_01ec64.pth``) + Rein       RGB       1024    64²    256²
``vit_l``      SAM ViT-L (``sam_vit_l_0b3195.pth``) + Rein       RGB       1024    64²    256²
``vit_h``      SAM ViT-H (``sam_vit_h_4b8939.pth``) + Rein       RGB       1024    64²    256²
=============  ==============================================  ========  ======  =====  ======

``tiny`` (3.26 M parameters, all trainable) exists for CPU-only training
and tests; it has no official weights and no adapters (everything trains).
``tiny_rgbd`` is ``tiny`` with depth as an extra input (``model.uses_depth``):
the heights of the image's pixels above the table (metres, normalised by a
fixed 0.1 m and clipped to [0, 4], resized and padded as the image; see
:mod:`.depth`) go through a :class:`~.image_encoder.DepthStem` (3×3 convs
with stride 2 to 16 and 32 channels, GELU, then a 4×4 conv with stride 4 to the
encoder width 160: a patch embedding of 16 × 16 pixels, +87 k parameters)
whose output is added to the RGB patch embedding. The stem's last conv starts
at zero, so a ``tiny`` checkpoint initialises it exactly (same outputs at step 0: ``init_from_checkpoint``,
``graspsim train graspsam --variant tiny_rgbd --init tiny.pt``); every other
key is ``tiny``'s. Heights rather than depth, so that the input does not
change with the camera's height (randomised per scene) or the table's
distance; the stem's keys (``image_encoder.depth_stem.*``) count as GraspSAM
additions (``model.is_graspsam_addition``: trainable when SAM is frozen,
skipped when official SAM weights are loaded).

The others use SAM's exact encoder / prompt-encoder / decoder sizes; given the
official file they load it key for key, freeze every SAM weight and leave the
GraspSAM additions trainable (adapters or LoRA, HQ token, grasp tokens, fused
path, grasp head; see ``model.is_graspsam_addition``). ``vit_t`` needs the
optional extra ``pip install graspsim[mobilesam]``.

Checkpoint files
----------------
* Official SAM / MobileSAM files: a plain state dict with keys
  ``image_encoder.*``, ``prompt_encoder.*``, ``mask_decoder.*``; load with
  ``build_graspsam(name, sam_checkpoint=path)`` or :func:`load_sam_weights`.
* Ours (:func:`save_graspsam_checkpoint`): a dict
  ``{"format": "graspsam", "format_version": 1, "variant": name,
  "config": build_graspsam kwargs, "state_dict": ..., "metadata": {...}}``
  (metadata: JSON-like values only, so that ``torch.load(weights_only=True)``
  reads it). :func:`load_graspsam_checkpoint` rebuilds the model from config.

Loading reports missing and unexpected keys by name (:class:`LoadReport`); with
``strict=True`` any of them -- except, for an official file, the GraspSAM-only
keys it cannot contain -- raises ValueError listing them. A checkpoint of
another variant raises ValueError naming both variants; a file that is
neither format raises ValueError.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

import torch
from segment_anything.modeling import PromptEncoder, TwoWayTransformer
from torch import nn

from .decoder import GraspMaskDecoder
from .image_encoder import AdaptedImageEncoder
from .model import GraspSAM, is_graspsam_addition

__all__ = [
    "VariantSpec",
    "VARIANTS",
    "LoadReport",
    "build_graspsam",
    "load_sam_weights",
    "load_graspsam_weights",
    "load_graspsam_checkpoint",
    "save_graspsam_checkpoint",
    "init_from_checkpoint",
    "official_variant_of",
    "MOBILESAM_INSTALL_HINT",
]

CHECKPOINT_FORMAT = "graspsam"
CHECKPOINT_FORMAT_VERSION = 1
MOBILESAM_INSTALL_HINT = "pip install graspsim[mobilesam]"

PathOrDict = Union[str, os.PathLike, Mapping[str, Any]]


@dataclass(frozen=True)
class VariantSpec:
    """Sizes of one variant. ``encoder``: AdaptedImageEncoder kwargs (``vit``
    backbone) or AdaptedTinyViT kwargs (``tinyvit``); ``adapter``: adapter
    kwargs; ``transformer``: TwoWayTransformer kwargs."""

    name: str
    backbone: str  # "vit" or "tinyvit"
    image_size: int
    prompt_dim: int
    encoder: Mapping[str, Any] = field(default_factory=dict)
    adapter: Mapping[str, Any] = field(default_factory=dict)
    transformer: Mapping[str, Any] = field(default_factory=dict)
    iou_head_hidden_dim: int = 256
    official_checkpoint: Optional[str] = None
    description: str = ""
    #: the RGB variant whose checkpoints can initialise this one (:func:`init_from_checkpoint`)
    rgb_variant: Optional[str] = None

    @property
    def uses_depth(self) -> bool:
        """True when the model takes heights above the table (a depth stem)."""
        return bool(self.encoder.get("depth_stem", False))


def _sam_vit(name, embed_dim, depth, heads, global_idx, ckpt) -> VariantSpec:
    return VariantSpec(
        name=name,
        backbone="vit",
        image_size=1024,
        prompt_dim=256,
        encoder=dict(
            img_size=1024,
            patch_size=16,
            embed_dim=embed_dim,
            depth=depth,
            num_heads=heads,
            mlp_ratio=4.0,
            out_chans=256,
            qkv_bias=True,
            use_rel_pos=True,
            window_size=14,
            global_attn_indexes=tuple(global_idx),
        ),
        adapter=dict(adapter_tokens=16, adapter_rank=16, adapter_scale=1.0),
        transformer=dict(depth=2, mlp_dim=2048, num_heads=8),
        iou_head_hidden_dim=256,
        official_checkpoint=ckpt,
        description=f"SAM {name.replace('_', '-').upper()} encoder with Rein adapters",
    )


_TINY_ENCODER = dict(
    img_size=256,
    patch_size=16,
    embed_dim=160,
    depth=6,
    num_heads=5,
    mlp_ratio=4.0,
    out_chans=128,
    qkv_bias=True,
    use_rel_pos=True,
    window_size=8,
    global_attn_indexes=(2, 5),
)

VARIANTS: dict[str, VariantSpec] = {
    "tiny": VariantSpec(
        name="tiny",
        backbone="vit",
        image_size=256,
        prompt_dim=128,
        encoder=dict(_TINY_ENCODER),
        adapter=dict(adapter_tokens=0),
        transformer=dict(depth=2, mlp_dim=512, num_heads=4),
        iou_head_hidden_dim=128,
        official_checkpoint=None,
        description="small SAM-style ViT trained from scratch (CPU-friendly)",
    ),
    "tiny_rgbd": VariantSpec(
        name="tiny_rgbd",
        backbone="vit",
        image_size=256,
        prompt_dim=128,
        encoder=dict(_TINY_ENCODER, depth_stem=True, depth_stem_hidden=16),
        adapter=dict(adapter_tokens=0),
        transformer=dict(depth=2, mlp_dim=512, num_heads=4),
        iou_head_hidden_dim=128,
        official_checkpoint=None,
        description="tiny + a depth stem: heights above the table added to the patch embedding",
        rgb_variant="tiny",
    ),
    "vit_t": VariantSpec(
        name="vit_t",
        backbone="tinyvit",
        image_size=1024,
        prompt_dim=256,
        encoder=dict(),  # MobileSAM's fixed configuration (tinyvit_encoder.MOBILESAM_TINYVIT_KWARGS)
        adapter=dict(lora_rank=8, lora_alpha=8.0),
        transformer=dict(depth=2, mlp_dim=2048, num_heads=8),
        iou_head_hidden_dim=256,
        official_checkpoint="mobile_sam.pt",
        description="MobileSAM TinyViT encoder with LoRA on attention qkv",
    ),
    "vit_b": _sam_vit("vit_b", 768, 12, 12, [2, 5, 8, 11], "sam_vit_b_01ec64.pth"),
    "vit_l": _sam_vit("vit_l", 1024, 24, 16, [5, 11, 17, 23], "sam_vit_l_0b3195.pth"),
    "vit_h": _sam_vit("vit_h", 1280, 32, 16, [7, 15, 23, 31], "sam_vit_h_4b8939.pth"),
}


@dataclass
class LoadReport:
    """Outcome of a load: keys by name.

    ``missing``: model keys absent from the file (not counting ``skipped``);
    ``unexpected``: file keys the model does not have; ``skipped``: GraspSAM-only
    keys an official SAM file cannot contain (left at their initialisation).
    """

    source: str
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.unexpected


# ---------------------------------------------------------------- building
def _build_encoder(spec: VariantSpec) -> nn.Module:
    if spec.backbone == "vit":
        return AdaptedImageEncoder(norm_layer=partial(nn.LayerNorm, eps=1e-6), **spec.encoder, **spec.adapter)
    if spec.backbone == "tinyvit":
        try:
            from .tinyvit_encoder import build_tinyvit_encoder
        except ImportError as exc:  # mobile_sam or timm missing
            raise ImportError(
                f"GraspSAM variant {spec.name!r} needs MobileSAM's TinyViT: {MOBILESAM_INSTALL_HINT} ({exc})"
            ) from exc
        return build_tinyvit_encoder(**spec.adapter)
    raise ValueError(f"unknown backbone {spec.backbone!r}")


def build_graspsam(
    variant: str,
    sam_checkpoint: Optional[PathOrDict] = None,
    device: Optional[Union[str, torch.device]] = None,
    freeze_sam: Optional[bool] = None,
    text_vocabulary: Optional[Sequence[str]] = None,
    text_grounding: bool = False,
) -> GraspSAM:
    """Build GraspSAM ``variant`` (a key of :data:`VARIANTS`).

    Args:
        variant: ``tiny``, ``tiny_rgbd``, ``vit_t``, ``vit_b``, ``vit_l`` or ``vit_h``.
        sam_checkpoint: official SAM / MobileSAM weights (path or state dict)
            for the SAM parts; not for ``tiny``.
        device: where the model goes (default: the ambient default device, so
            ``with torch.device("meta"):`` builds without allocating).
        freeze_sam: freeze SAM's weights; default True when ``sam_checkpoint``
            is given, else False (training from scratch).
        text_vocabulary: give the model its own language path, a
            :class:`~.text_encoder.TextEncoder` over these words (``True``: the
            training vocabulary of :func:`~.text_encoder.training_vocabulary`);
            None: no language path.
        text_grounding: give the language path its grounding map
            (:mod:`.text_encoder`); needs ``text_vocabulary``.

    The returned model is in eval mode; ``model.build_config`` holds the
    keyword arguments stored in our checkpoints.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown GraspSAM variant {variant!r}; available: {', '.join(VARIANTS)}")
    spec = VARIANTS[variant]
    if sam_checkpoint is not None and spec.official_checkpoint is None:
        raise ValueError(f"GraspSAM variant {variant!r} has no official SAM weights to load")

    encoder = _build_encoder(spec)
    e = spec.image_size // 16
    out_size = 4 * e
    early_side = encoder.embedding_size * 2 if spec.backbone == "tinyvit" else encoder.embedding_size
    steps = int(round(math.log2(out_size / early_side)))
    prompt_encoder = PromptEncoder(
        embed_dim=spec.prompt_dim,
        image_embedding_size=(e, e),
        input_image_size=(spec.image_size, spec.image_size),
        mask_in_chans=16,
    )
    decoder = GraspMaskDecoder(
        transformer_dim=spec.prompt_dim,
        transformer=TwoWayTransformer(embedding_dim=spec.prompt_dim, **spec.transformer),
        early_dim=encoder.embed_dim,
        early_upsample_steps=steps,
        num_multimask_outputs=3,
        iou_head_depth=3,
        iou_head_hidden_dim=spec.iou_head_hidden_dim,
    )
    text_encoder = None
    if text_grounding and text_vocabulary is None:
        raise ValueError("text_grounding needs a language path (text_vocabulary)")
    if text_vocabulary is not None:
        from .text_encoder import TextEncoder, training_vocabulary

        vocabulary = training_vocabulary() if text_vocabulary is True else tuple(text_vocabulary)
        text_encoder = TextEncoder(vocabulary, spec.prompt_dim, grounding=bool(text_grounding),
                                   cell_channels=4 if spec.uses_depth else 3)
    model = GraspSAM(encoder, prompt_encoder, decoder, variant=variant, text_encoder=text_encoder)
    if device is not None:
        model.to(device)
    model.eval()
    if freeze_sam is None:
        freeze_sam = sam_checkpoint is not None
    if sam_checkpoint is not None:
        load_sam_weights(model, sam_checkpoint, freeze=False)
    model.freeze_sam(bool(freeze_sam))
    model.build_config = {"variant": variant, "freeze_sam": bool(freeze_sam)}
    if text_encoder is not None:
        model.build_config["text_vocabulary"] = list(text_encoder.vocabulary)
        if text_encoder.grounding:
            model.build_config["text_grounding"] = True
    return model


# ------------------------------------------------------------- reading files
def _read(path_or_dict: PathOrDict) -> tuple[Mapping[str, Any], str]:
    if isinstance(path_or_dict, Mapping):
        return path_or_dict, "<state dict>"
    path = Path(path_or_dict)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unreadable, not a torch file, or unsafe pickle
        raise ValueError(f"{path}: not a readable GraspSAM or SAM checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(obj, Mapping):
        raise ValueError(f"{path}: neither a GraspSAM checkpoint nor a SAM/MobileSAM state dict ({type(obj).__name__})")
    return obj, str(path)


_SAM_PREFIXES = ("image_encoder.", "prompt_encoder.", "mask_decoder.")


def _is_graspsam(obj: Mapping[str, Any]) -> bool:
    return obj.get("format") == CHECKPOINT_FORMAT


def _official_state_dict(obj: Mapping[str, Any]) -> Optional[Mapping[str, Any]]:
    """The state dict if ``obj`` is (or wraps in "model"/"state_dict") an
    official SAM / MobileSAM state dict, else None."""
    for cand in (obj, obj.get("model"), obj.get("state_dict")):
        if (
            isinstance(cand, Mapping)
            and cand
            and all(isinstance(k, str) for k in cand)
            and any(k.startswith(_SAM_PREFIXES) for k in cand)
            and all(isinstance(v, torch.Tensor) for v in cand.values())
        ):
            return cand
    return None


def official_variant_of(state_dict: Mapping[str, Any]) -> str:
    """Which official model a SAM-format state dict comes from: ``vit_t``,
    ``vit_b``, ``vit_l``, ``vit_h`` or ``unknown``."""
    if any(k.startswith("image_encoder.layers.") for k in state_dict):
        return "vit_t"
    w = state_dict.get("image_encoder.patch_embed.proj.weight")
    if w is None:
        return "unknown"
    return {768: "vit_b", 1024: "vit_l", 1280: "vit_h"}.get(int(w.shape[0]), "unknown")


def _fmt(keys: list[str], limit: int = 40) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f", ... ({len(keys) - limit} more)" if len(keys) > limit else "")


def _apply_state_dict(model: nn.Module, sd: Mapping[str, torch.Tensor], source: str) -> None:
    own = model.state_dict()
    bad = [
        f"{k}: file {tuple(v.shape)} vs model {tuple(own[k].shape)}"
        for k, v in sd.items()
        if k in own and tuple(v.shape) != tuple(own[k].shape)
    ]
    if bad:
        raise ValueError(f"{source}: shape mismatch for {len(bad)} keys: {_fmt(bad, 10)}")
    assign = any(t.is_meta for t in own.values())
    grads = {n: p.requires_grad for n, p in model.named_parameters()}
    model.load_state_dict({k: v for k, v in sd.items() if k in own}, strict=False, assign=assign)
    for n, p in model.named_parameters():
        p.requires_grad_(grads[n])
    # caches derived from weights (TinyViT's attention-bias table, rebuilt by .train())
    for mod in model.modules():
        if hasattr(mod, "attention_biases") and hasattr(mod, "attention_bias_idxs"):
            mod.train(mod.training)


def load_sam_weights(model: GraspSAM, path_or_state_dict: PathOrDict, strict: bool = True, freeze: bool = True) -> LoadReport:
    """Load official SAM / MobileSAM weights into the SAM parts of ``model``.

    Every official key must map onto the model with the same shape; the
    model's GraspSAM-only keys are reported as ``skipped``. With ``strict``,
    other missing or unexpected keys raise ValueError listing them. With
    ``freeze``, SAM's weights are then frozen (additions stay trainable).
    """
    obj, source = _read(path_or_state_dict)
    if _is_graspsam(obj):
        raise ValueError(f"{source}: a GraspSAM checkpoint, not official SAM weights; use load_graspsam_checkpoint")
    sd = _official_state_dict(obj)
    if sd is None:
        raise ValueError(f"{source}: neither a GraspSAM checkpoint nor a SAM/MobileSAM state dict")
    file_variant = official_variant_of(sd)
    model_variant = getattr(model, "variant", "custom")
    if model_variant in VARIANTS and file_variant != model_variant:
        raise ValueError(
            f"{source}: official weights of variant {file_variant!r} cannot be loaded into GraspSAM variant {model_variant!r}"
        )
    own = model.state_dict()
    absent = sorted(k for k in own if k not in sd)
    report = LoadReport(
        source=source,
        missing=[k for k in absent if not is_graspsam_addition(k)],
        unexpected=sorted(k for k in sd if k not in own),
        skipped=[k for k in absent if is_graspsam_addition(k)],
    )
    if strict and not report.ok:
        raise ValueError(
            f"{source}: key mismatch loading SAM weights into {model_variant!r}: "
            f"missing [{_fmt(report.missing)}]; unexpected [{_fmt(report.unexpected)}]"
        )
    _apply_state_dict(model, sd, source)
    if freeze:
        model.freeze_sam(True)
        if hasattr(model, "build_config"):
            model.build_config["freeze_sam"] = True
    return report


def load_graspsam_weights(model: GraspSAM, path_or_checkpoint: PathOrDict, strict: bool = True) -> tuple[LoadReport, dict]:
    """Load one of our checkpoints into an existing model of the same variant.

    Returns (report, metadata). ValueError for another variant (naming both),
    for key mismatches with ``strict`` (listing them), or for a file that is
    not a GraspSAM checkpoint.
    """
    obj, source = _read(path_or_checkpoint)
    if not _is_graspsam(obj):
        if _official_state_dict(obj) is not None:
            raise ValueError(
                f"{source}: official SAM/MobileSAM weights ({official_variant_of(_official_state_dict(obj))}), "
                "not a GraspSAM checkpoint; use load_sam_weights or build_graspsam(..., sam_checkpoint=...)"
            )
        raise ValueError(f"{source}: neither a GraspSAM checkpoint nor a SAM/MobileSAM state dict")
    ck_variant = obj.get("variant")
    model_variant = getattr(model, "variant", "custom")
    if ck_variant != model_variant:
        raise ValueError(
            f"{source}: checkpoint is for GraspSAM variant {ck_variant!r} but the model is variant {model_variant!r}"
        )
    sd = obj.get("state_dict")
    if not isinstance(sd, Mapping):
        raise ValueError(f"{source}: GraspSAM checkpoint without a state_dict")
    own = model.state_dict()
    report = LoadReport(
        source=source,
        missing=sorted(k for k in own if k not in sd),
        unexpected=sorted(k for k in sd if k not in own),
    )
    if strict and not report.ok:
        raise ValueError(
            f"{source}: key mismatch for variant {model_variant!r}: "
            f"missing [{_fmt(report.missing)}]; unexpected [{_fmt(report.unexpected)}]"
        )
    _apply_state_dict(model, sd, source)
    return report, dict(obj.get("metadata") or {})


def save_graspsam_checkpoint(
    model: GraspSAM, path: Union[str, os.PathLike], metadata: Optional[Mapping[str, Any]] = None, half: bool = False
) -> Path:
    """Write our checkpoint format (see module doc) atomically; returns the path.

    ``metadata`` must be JSON-like (str, numbers, bools, None, lists, dicts).
    ``half`` stores floating-point tensors as float16 (half the file size, for
    shipping); loading casts them back to the model's dtype.
    """
    meta = json.loads(json.dumps(dict(metadata or {})))  # validates JSON-likeness
    config = dict(getattr(model, "build_config", {"variant": model.variant}))
    ckpt = {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_FORMAT_VERSION,
        "variant": model.variant,
        "config": config,
        "state_dict": {
            k: (v.detach().to("cpu").half() if half and v.is_floating_point() else v.detach().to("cpu"))
            for k, v in model.state_dict().items()
        },
        "metadata": meta,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(ckpt, tmp)
    os.replace(tmp, path)
    return path


def load_graspsam_checkpoint(
    path: PathOrDict, device: Optional[Union[str, torch.device]] = None, strict: bool = True
) -> tuple[GraspSAM, dict]:
    """Rebuild a model from one of our checkpoints: returns (model, metadata).

    The model comes back in eval mode with SAM's weights frozen as they were
    when saved (``config["freeze_sam"]``).
    """
    obj, source = _read(path)
    if not _is_graspsam(obj):
        if _official_state_dict(obj) is not None:
            v = official_variant_of(_official_state_dict(obj))
            raise ValueError(
                f"{source}: official SAM/MobileSAM weights ({v}), not a GraspSAM checkpoint; "
                f"use build_graspsam({v!r}, sam_checkpoint=...)"
            )
        raise ValueError(f"{source}: neither a GraspSAM checkpoint nor a SAM/MobileSAM state dict")
    config = dict(obj.get("config") or {"variant": obj.get("variant")})
    variant = config.pop("variant", obj.get("variant"))
    freeze = bool(config.pop("freeze_sam", False))
    vocabulary = config.pop("text_vocabulary", None)
    grounding = bool(config.pop("text_grounding", False))
    if config:
        raise ValueError(f"{source}: unknown build options in checkpoint config: {sorted(config)}")
    model = build_graspsam(variant, device=device, freeze_sam=freeze, text_vocabulary=vocabulary,
                           text_grounding=grounding)
    _, metadata = load_graspsam_weights(model, obj, strict=strict)
    return model, metadata


def init_from_checkpoint(model: GraspSAM, path_or_checkpoint: PathOrDict) -> tuple[LoadReport, dict]:
    """Start ``model`` from one of our checkpoints of its own variant or of its RGB
    variant (``VARIANTS[model.variant].rgb_variant``: a ``tiny`` checkpoint for
    ``tiny_rgbd``).

    Every key of the file must exist in the model with the same shape; the
    model's keys the file lacks must all be GraspSAM additions the file's model
    does not have -- the depth stem of an RGB variant's file, a language path
    (``text_encoder``) -- which keep their initialisation (the stem's last layer
    is zero, so the model computes exactly what the file's model does; the
    language path only acts on text prompts). They are returned as ``report.skipped`` ("new"). Anything else --
    another variant, missing keys that are not new, unexpected keys, a shape
    mismatch -- raises ValueError naming it. Returns (report, metadata).
    """
    obj, source = _read(path_or_checkpoint)
    if not _is_graspsam(obj):
        raise ValueError(f"{source}: not a GraspSAM checkpoint (official SAM weights go through sam_checkpoint)")
    model_variant = getattr(model, "variant", "custom")
    ck_variant = obj.get("variant")
    spec = VARIANTS.get(model_variant)
    if ck_variant != model_variant and (spec is None or spec.rgb_variant != ck_variant):
        allowed = [model_variant] + ([spec.rgb_variant] if spec is not None and spec.rgb_variant else [])
        raise ValueError(
            f"{source}: checkpoint is for GraspSAM variant {ck_variant!r} but the model is variant {model_variant!r} "
            f"(it can start from variant {' or '.join(repr(v) for v in allowed)})"
        )
    sd = obj.get("state_dict")
    if not isinstance(sd, Mapping):
        raise ValueError(f"{source}: GraspSAM checkpoint without a state_dict")
    own = model.state_dict()
    absent = sorted(k for k in own if k not in sd)
    new_prefixes = ("text_encoder.",) + (("image_encoder.depth_stem.",) if ck_variant != model_variant else ())
    new = [k for k in absent if k.startswith(new_prefixes)]
    report = LoadReport(
        source=source,
        missing=[k for k in absent if k not in new],
        unexpected=sorted(k for k in sd if k not in own),
        skipped=new,
    )
    if not report.ok:
        raise ValueError(
            f"{source}: variant {ck_variant!r} does not map onto {model_variant!r}: "
            f"missing [{_fmt(report.missing)}]; unexpected [{_fmt(report.unexpected)}]"
        )
    _apply_state_dict(model, sd, source)
    return report, dict(obj.get("metadata") or {})

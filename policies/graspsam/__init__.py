"""GraspSAM: Segment Anything extended for grasp detection (installed as
``graspsim.policies.graspsam``; needs torch and segment-anything).

Modules: ``adapter`` (Rein adapter, LoRA), ``image_encoder`` (SAM ViT +
adapters), ``tinyvit_encoder`` (MobileSAM TinyViT + LoRA; optional extra
``graspsim[mobilesam]``), ``decoder`` (SAM mask decoder + HQ and grasp tokens),
``model`` (``GraspSAM``, prompt/output conventions), ``build`` (variants and
checkpoints), ``depth`` (heights above the table, the extra input of
``tiny_rgbd``). See ``model``'s docstring for frames, units and map conventions.

Typical use::

    from graspsim.policies.graspsam import build_graspsam
    model = build_graspsam("vit_b", sam_checkpoint="sam_vit_b_01ec64.pth")
    emb = model.encode(images_uint8_bhw3)             # once per image
    out = model.decode(emb, points=uv, point_labels=labels)
    out.mask_logits, out.grasp_maps                   # B×1×S×S, B×4×S×S
"""

from .adapter import LoRALinear, ReinAdapter
from .build import (
    VARIANTS,
    LoadReport,
    VariantSpec,
    build_graspsam,
    init_from_checkpoint,
    load_graspsam_checkpoint,
    load_graspsam_weights,
    load_sam_weights,
    official_variant_of,
    save_graspsam_checkpoint,
)
from .decoder import GraspMaskDecoder
from .image_encoder import AdaptedImageEncoder
from .model import (
    MASK_PROMPT_LOGIT,
    WIDTH_SCALE,
    Embedding,
    GraspOutput,
    GraspSAM,
    decode_angle,
    describe,
    is_graspsam_addition,
    opening_to_width,
    width_to_opening,
)

__all__ = [
    "AdaptedImageEncoder",
    "Embedding",
    "GraspMaskDecoder",
    "GraspOutput",
    "GraspSAM",
    "LoRALinear",
    "LoadReport",
    "MASK_PROMPT_LOGIT",
    "ReinAdapter",
    "VARIANTS",
    "VariantSpec",
    "WIDTH_SCALE",
    "build_graspsam",
    "decode_angle",
    "describe",
    "init_from_checkpoint",
    "is_graspsam_addition",
    "load_graspsam_checkpoint",
    "load_graspsam_weights",
    "load_sam_weights",
    "official_variant_of",
    "opening_to_width",
    "save_graspsam_checkpoint",
    "width_to_opening",
]

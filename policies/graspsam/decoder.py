"""GraspSAM's mask decoder: SAM's MaskDecoder + an HQ mask token + 4 grasp tokens.

:class:`GraspMaskDecoder` subclasses ``segment_anything.modeling.MaskDecoder``,
so SAM's decoder weights keep their names (``transformer.*``, ``iou_token``,
``mask_tokens``, ``output_upscaling.*``, ``output_hypernetworks_mlps.*``,
``iou_prediction_head.*``) and ``mask_decoder.*`` of an official checkpoint
loads key for key. The GraspSAM additions (see :data:`ADDED_MODULES`):

``hq_token`` (1×C), ``hq_mlp``
    the object-mask token (SAM-HQ style) and its hypernetwork MLP.
``grasp_tokens`` (4×C), ``grasp_mlps`` (4 MLPs)
    one token per grasp map, each with its hypernetwork MLP.
``refine_upscaled``, ``compress_embedding``, ``compress_early``
    the fused feature path (C/8 channels at ``S×S``):
    ``fused = refine_upscaled(output_upscaling(src))
    + compress_embedding(image_embedding) + compress_early(early_feature)``,
    where ``src`` is the two-way transformer's image output, the
    embedding is upsampled 4× by two transposed convolutions and the early
    encoder feature by as many 2× transposed convolutions as its resolution
    needs (``early_upsample_steps``: 2 for SAM's ViTs, 1 for TinyViT).
``grasp_refine``, ``grasp_head``
    a separate small conv branch on the fused features for the grasp maps,
    and the 1×1 convolution mixing the 4 token maps into the output maps.

Token order fed to the two-way transformer (per prompt set)::

    [IoU, SAM mask ×4, HQ mask, grasp ×4, prompt tokens...]

Shapes (``C`` transformer dim, ``h×w`` embedding grid, ``S = 4h``):

* inputs: ``image_embeddings`` ``Be×C×h×w``; ``early_features``
  ``Be×D×h_e×w_e``; ``image_pe`` ``1×C×h×w``; sparse prompts ``B×N×C``;
  dense prompts ``B×C×h×w``. ``Be`` is ``B`` or 1 (one image, B prompt sets:
  the image tensors are broadcast).
* outputs (:class:`DecoderOutput`): ``mask_logits`` ``B×1×S×S`` (HQ token,
  logits); ``grasp_maps`` ``B×4×S×S`` = (quality, cos 2θ, sin 2θ, width);
  ``iou_pred`` ``B×1`` (SAM's IoU head for its single-mask token);
  ``sam_mask_logits`` ``B×1×S×S`` (SAM's own single-mask output).

The grasp head applies ReLU to quality and width (as published; no sigmoid),
cos 2θ and sin 2θ are left linear. See ``model.py`` for the map conventions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Type

import torch
from segment_anything.modeling import MaskDecoder
from segment_anything.modeling.common import LayerNorm2d
from segment_anything.modeling.mask_decoder import MLP
from torch import nn
from torch.nn import functional as F

__all__ = ["GraspMaskDecoder", "DecoderOutput", "ADDED_MODULES", "NUM_GRASP_MAPS"]

NUM_GRASP_MAPS = 4  # quality, cos 2θ, sin 2θ, width

# Child modules / parameters that GraspMaskDecoder adds to SAM's MaskDecoder.
ADDED_MODULES = (
    "hq_token",
    "hq_mlp",
    "grasp_tokens",
    "grasp_mlps",
    "refine_upscaled",
    "compress_embedding",
    "compress_early",
    "grasp_refine",
    "grasp_head",
)


@dataclass
class DecoderOutput:
    mask_logits: torch.Tensor  # B×1×S×S
    grasp_maps: torch.Tensor  # B×4×S×S
    iou_pred: torch.Tensor  # B×1
    sam_mask_logits: torch.Tensor  # B×1×S×S


def _upsampler(in_ch: int, out_ch: int, mid_ch: int, steps: int, activation: Type[nn.Module]) -> nn.Sequential:
    """``steps`` 2× transposed convolutions (LayerNorm2d + activation between);
    a 1×1 convolution when ``steps == 0``."""
    if steps == 0:
        return nn.Sequential(nn.Conv2d(in_ch, out_ch, kernel_size=1))
    layers: list[nn.Module] = []
    ch = in_ch
    for _ in range(steps - 1):
        layers += [nn.ConvTranspose2d(ch, mid_ch, kernel_size=2, stride=2), LayerNorm2d(mid_ch), activation()]
        ch = mid_ch
    layers.append(nn.ConvTranspose2d(ch, out_ch, kernel_size=2, stride=2))
    return nn.Sequential(*layers)


def _conv_block(ch: int, mid_ch: int, activation: Type[nn.Module]) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(ch, mid_ch, kernel_size=3, padding=1),
        LayerNorm2d(mid_ch),
        activation(),
        nn.Conv2d(mid_ch, ch, kernel_size=3, padding=1),
    )


class GraspMaskDecoder(MaskDecoder):
    """SAM's mask decoder extended for grasps (see module doc).

    Args (besides MaskDecoder's ``transformer_dim``, ``transformer``,
    ``num_multimask_outputs``, ``activation``, ``iou_head_depth``,
    ``iou_head_hidden_dim``):
        early_dim: channels ``D`` of the early encoder feature.
        early_upsample_steps: 2× upsamplings bringing the early feature to
            ``S×S`` (``log2(S / h_e)``).
    """

    def __init__(
        self,
        *,
        transformer_dim: int,
        transformer: nn.Module,
        early_dim: int,
        early_upsample_steps: int = 2,
        num_multimask_outputs: int = 3,
        activation: Type[nn.Module] = nn.GELU,
        iou_head_depth: int = 3,
        iou_head_hidden_dim: int = 256,
    ) -> None:
        super().__init__(
            transformer_dim=transformer_dim,
            transformer=transformer,
            num_multimask_outputs=num_multimask_outputs,
            activation=activation,
            iou_head_depth=iou_head_depth,
            iou_head_hidden_dim=iou_head_hidden_dim,
        )
        c, c8 = transformer_dim, transformer_dim // 8
        self.early_dim = early_dim
        self.early_upsample_steps = early_upsample_steps
        self.num_grasp_tokens = NUM_GRASP_MAPS

        self.hq_token = nn.Embedding(1, c)
        self.hq_mlp = MLP(c, c, c8, 3)
        self.grasp_tokens = nn.Embedding(NUM_GRASP_MAPS, c)
        self.grasp_mlps = nn.ModuleList([MLP(c, c, c8, 3) for _ in range(NUM_GRASP_MAPS)])

        self.refine_upscaled = _conv_block(c8, c // 4, activation)
        self.compress_embedding = _upsampler(c, c8, c // 4, 2, activation)
        self.compress_early = _upsampler(early_dim, c8, c, early_upsample_steps, activation)
        self.grasp_refine = _conv_block(c8, c // 4, activation)
        self.grasp_head = nn.Conv2d(NUM_GRASP_MAPS, NUM_GRASP_MAPS, kernel_size=1)

    @property
    def num_output_tokens(self) -> int:
        """IoU + SAM mask tokens + HQ token + grasp tokens."""
        return 1 + self.num_mask_tokens + 1 + self.num_grasp_tokens

    def output_tokens(self) -> torch.Tensor:
        """``num_output_tokens×C`` in the documented order."""
        return torch.cat(
            [self.iou_token.weight, self.mask_tokens.weight, self.hq_token.weight, self.grasp_tokens.weight], dim=0
        )

    def image_features(self, image_embeddings: torch.Tensor, early_features: torch.Tensor) -> torch.Tensor:
        """The per-image high-resolution features (compressed embedding + early feature),
        ``B×C/8×S×S``; they do not depend on the prompt."""
        return self.compress_embedding(image_embeddings) + self.compress_early(early_features)

    def forward(  # type: ignore[override]
        self,
        image_embeddings: torch.Tensor,
        early_features: torch.Tensor,
        image_pe: torch.Tensor,
        sparse_prompt_embeddings: torch.Tensor,
        dense_prompt_embeddings: torch.Tensor,
        hq_features: Optional[torch.Tensor] = None,
    ) -> DecoderOutput:
        b = sparse_prompt_embeddings.shape[0]
        be = image_embeddings.shape[0]
        if be not in (1, b):
            raise ValueError(f"image batch {be} does not match prompt batch {b} (must be equal, or 1 image)")

        # Per-image high-resolution features (given when computed at encoding; broadcast over prompts).
        if hq_features is None:
            hq_features = self.image_features(image_embeddings, early_features)

        tokens = self.output_tokens().unsqueeze(0).expand(b, -1, -1)
        tokens = torch.cat([tokens, sparse_prompt_embeddings], dim=1)
        src = image_embeddings.expand(b, -1, -1, -1) + dense_prompt_embeddings
        pos_src = image_pe.expand(b, -1, -1, -1)
        _, c, h, w = src.shape

        hs, src = self.transformer(src, pos_src, tokens)
        n_mask = self.num_mask_tokens
        iou_token_out = hs[:, 0]
        sam_token_out = hs[:, 1]
        hq_token_out = hs[:, 1 + n_mask]
        grasp_tokens_out = hs[:, 2 + n_mask : 2 + n_mask + self.num_grasp_tokens]

        src = src.transpose(1, 2).reshape(b, c, h, w)
        upscaled = self.output_upscaling(src)  # b × C/8 × S × S
        fused = self.refine_upscaled(upscaled) + hq_features.expand(b, -1, -1, -1)
        grasp_features = self.grasp_refine(fused)
        _, c8, s1, s2 = fused.shape

        sam_mask = (self.output_hypernetworks_mlps[0](sam_token_out).unsqueeze(1) @ upscaled.reshape(b, c8, s1 * s2))
        hq_mask = self.hq_mlp(hq_token_out).unsqueeze(1) @ fused.reshape(b, c8, s1 * s2)
        hyper = torch.stack([mlp(grasp_tokens_out[:, i]) for i, mlp in enumerate(self.grasp_mlps)], dim=1)
        raw = self.grasp_head((hyper @ grasp_features.reshape(b, c8, s1 * s2)).reshape(b, NUM_GRASP_MAPS, s1, s2))
        grasp_maps = torch.cat([F.relu(raw[:, :1]), raw[:, 1:3], F.relu(raw[:, 3:])], dim=1)

        iou_pred = self.iou_prediction_head(iou_token_out)[:, :1]
        return DecoderOutput(
            mask_logits=hq_mask.reshape(b, 1, s1, s2),
            grasp_maps=grasp_maps,
            iou_pred=iou_pred,
            sam_mask_logits=sam_mask.reshape(b, 1, s1, s2),
        )

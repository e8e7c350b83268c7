"""MobileSAM's TinyViT encoder with LoRA adapters (GraspSAM's ``vit_t``).

Needs the optional extra: ``pip install graspsim[mobilesam]`` (the
``mobilesam-mirror`` distribution, import name ``mobile_sam``, which itself
imports ``timm``). Importing this module raises ImportError without it.

:class:`AdaptedTinyViT` subclasses ``mobile_sam.modeling.TinyViT``, so
``mobile_sam.pt``'s ``image_encoder.*`` keys map onto it key for key
(``patch_embed.*``, ``layers.N.*``, ``norm_head.*``, ``head.*``, ``neck.*``;
the unused ImageNet head is kept only so that the checkpoint loads strictly).
Adapters: every attention ``qkv`` projection of the transformer stages
(``layers.1..3.blocks.N.attn.qkv``) becomes a
:class:`~.adapter.LoRALinear`, which keeps ``weight``/``bias`` under the same
names and adds ``lora_down.weight`` / ``lora_up.weight``. (The published
GraspSAM describes the TinyViT adapter as LoRA-style; this is our reading.)

Shapes (``img_size`` must be 1024, as MobileSAM's stages are sized for it):

* input ``B×3×1024×1024`` normalised image,
* output ``(embedding, early)``: ``embedding`` ``B×256×64×64`` (neck output)
  and ``early`` ``B×128×128×128``: the output of the first stage
  (``layers[0]``: MBConv blocks and its patch merging), i.e. at 1/8 of the
  input resolution -- twice the embedding's resolution.

Construction note: TinyViT's ``__init__`` calls ``Tensor.item()``, which fails
on the meta device; :func:`build_tinyvit_encoder` therefore constructs it on
the CPU (about 6 M parameters) and then moves it to the requested device.
"""

from __future__ import annotations

import math

import torch
from mobile_sam.modeling import TinyViT  # optional dependency, see module doc

from .adapter import add_lora_to_linears

__all__ = ["AdaptedTinyViT", "build_tinyvit_encoder", "refresh_attention_bias_cache", "MOBILESAM_TINYVIT_KWARGS"]

# MobileSAM's own TinyViT configuration (mobile_sam.build_sam.build_sam_vit_t).
MOBILESAM_TINYVIT_KWARGS = dict(
    img_size=1024,
    in_chans=3,
    num_classes=1000,
    embed_dims=[64, 128, 160, 320],
    depths=[2, 2, 6, 2],
    num_heads=[2, 4, 5, 10],
    window_sizes=[7, 7, 14, 7],
    mlp_ratio=4.0,
    drop_rate=0.0,
    drop_path_rate=0.0,
    use_checkpoint=False,
    mbconv_expand_ratio=4.0,
    local_conv_size=3,
    layer_lr_decay=0.8,
)


class AdaptedTinyViT(TinyViT):
    """TinyViT + LoRA on attention qkv + first-stage early feature (see module doc)."""

    def __init__(self, *, lora_rank: int = 8, lora_alpha: float = 8.0, **tinyvit_kwargs) -> None:
        super().__init__(**tinyvit_kwargs)
        self.lora_rank = lora_rank
        self.lora_targets = add_lora_to_linears(self, "attn.qkv", rank=lora_rank, alpha=lora_alpha) if lora_rank > 0 else []
        self.embed_dim = tinyvit_kwargs.get("embed_dims", [96, 192, 384, 768])[1]  # early-feature channels
        self.out_chans = self.neck[0].out_channels

    @property
    def embedding_size(self) -> int:
        return self.img_size // 16

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[override]
        """``x`` ``B×3×1024×1024`` -> (``B×256×64×64``, ``B×128×128×128``)."""
        x = self.patch_embed(x)
        x = self.layers[0](x)  # B × N0 × C1 (patch merging flattens)
        b, n0, c1 = x.shape
        s0 = math.isqrt(n0)
        early = x.transpose(1, 2).reshape(b, c1, s0, s0)
        for layer in self.layers[1:]:
            x = layer(x)
        b, n, c = x.shape
        s = math.isqrt(n)
        x = x.view(b, s, s, c).permute(0, 3, 1, 2)
        return self.neck(x), early


def build_tinyvit_encoder(lora_rank: int = 8, lora_alpha: float = 8.0, device=None) -> AdaptedTinyViT:
    """MobileSAM's TinyViT (its exact configuration) with LoRA adapters.

    Built on the CPU (see module doc), then moved to ``device`` or, when None,
    to the ambient default device (so ``with torch.device("meta"):`` works).
    """
    target = torch.device(device) if device is not None else torch.get_default_device()
    with torch.device("cpu"):
        enc = AdaptedTinyViT(lora_rank=lora_rank, lora_alpha=lora_alpha, **MOBILESAM_TINYVIT_KWARGS)
    return enc.to(target)


def refresh_attention_bias_cache(encoder: torch.nn.Module) -> None:
    """TinyViT's attention caches ``attention_biases`` as buffer ``ab`` when put
    in eval mode; after loading weights the cache must be rebuilt."""
    for mod in encoder.modules():
        if hasattr(mod, "attention_biases") and hasattr(mod, "attention_bias_idxs"):
            mod.train(mod.training)


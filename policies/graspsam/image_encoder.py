"""GraspSAM's image encoder: segment_anything's ViT with Rein adapters.

:class:`AdaptedImageEncoder` *is* a ``segment_anything.modeling.ImageEncoderViT``
(a subclass), so SAM's weights keep SAM's own key names: inside a
:class:`~graspsim.policies.graspsam.model.GraspSAM` they are
``image_encoder.patch_embed.*``, ``image_encoder.pos_embed``,
``image_encoder.blocks.N.*`` and ``image_encoder.neck.*``, exactly as in
``sam_vit_b_01ec64.pth`` & co. The only additions live under
``image_encoder.adapters.N.*`` (one :class:`~.adapter.ReinAdapter` per block,
applied to that block's output; none when ``adapter_tokens=0``).

Shapes (``S_in`` = ``img_size``, ``p`` = ``patch_size``, ``h = w = S_in / p``):

* input: ``B×3×S_in×S_in`` normalised image (see ``GraspSAM.preprocess``),
* output ``(embedding, early)``:
  ``embedding`` ``B×out_chans×h×w`` (the neck's output, as SAM's encoder) and
  ``early`` ``B×embed_dim×h×w``: the (adapted) output of block ``early_index``,
  by default the first global-attention block (SAM-HQ's choice), or block 0
  when the encoder has no global block, permuted from ``B×h×w×D`` to
  ``B×D×h×w``.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from segment_anything.modeling import ImageEncoderViT
from torch import nn

from .adapter import ReinAdapter

__all__ = ["AdaptedImageEncoder"]


class AdaptedImageEncoder(ImageEncoderViT):
    """``ImageEncoderViT`` + per-block Rein adapters + an early feature.

    Keyword args are ``ImageEncoderViT``'s (``img_size``, ``patch_size``,
    ``embed_dim``, ``depth``, ``num_heads``, ``out_chans``, ``use_rel_pos``,
    ``window_size``, ``global_attn_indexes``, …) plus:

    Args:
        adapter_tokens: learnable tokens per block; 0 disables the adapters
            (``self.adapters`` is then an empty ModuleList).
        adapter_rank: rank of the tokens / bottleneck.
        adapter_scale: multiplier of the adapters' refinement.
        early_index: block whose output is returned as the early feature;
            default the first of ``global_attn_indexes`` (0 if there is none).
    """

    def __init__(
        self,
        *,
        adapter_tokens: int = 16,
        adapter_rank: int = 16,
        adapter_scale: float = 1.0,
        early_index: Optional[int] = None,
        global_attn_indexes: Sequence[int] = (),
        **vit_kwargs,
    ) -> None:
        super().__init__(global_attn_indexes=tuple(global_attn_indexes), **vit_kwargs)
        depth = len(self.blocks)
        self.global_attn_indexes = tuple(int(i) for i in global_attn_indexes)
        if early_index is None:
            early_index = self.global_attn_indexes[0] if self.global_attn_indexes else 0
        if not 0 <= early_index < depth:
            raise ValueError(f"early_index {early_index} outside 0..{depth - 1}")
        self.early_index = int(early_index)
        self.embed_dim = self.patch_embed.proj.out_channels
        self.out_chans = self.neck[0].out_channels
        self.adapters = nn.ModuleList(
            [ReinAdapter(self.embed_dim, adapter_tokens, adapter_rank, adapter_scale) for _ in range(depth)]
            if adapter_tokens > 0
            else []
        )

    @property
    def embedding_size(self) -> int:
        """Side ``h`` of the (square) embedding grid."""
        return self.img_size // self.patch_embed.proj.stride[0]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[override]
        """``x`` ``B×3×S_in×S_in`` -> (``B×out_chans×h×w``, ``B×embed_dim×h×w``)."""
        x = self.patch_embed(x)
        if self.pos_embed is not None:
            x = x + self.pos_embed
        early = None
        for i, blk in enumerate(self.blocks):
            x = blk(x)
            if len(self.adapters):
                x = self.adapters[i](x)
            if i == self.early_index:
                early = x
        embedding = self.neck(x.permute(0, 3, 1, 2))
        return embedding, early.permute(0, 3, 1, 2)

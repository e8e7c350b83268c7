"""GraspSAM's image encoder: segment_anything's ViT with Rein adapters.

:class:`AdaptedImageEncoder` *is* a ``segment_anything.modeling.ImageEncoderViT``
(a subclass), so SAM's weights keep SAM's own key names: inside a
:class:`~graspsim.policies.graspsam.model.GraspSAM` they are
``image_encoder.patch_embed.*``, ``image_encoder.pos_embed``,
``image_encoder.blocks.N.*`` and ``image_encoder.neck.*``, exactly as in
``sam_vit_b_01ec64.pth`` & co. The only additions live under
``image_encoder.adapters.N.*`` (one :class:`~.adapter.ReinAdapter` per block,
applied to that block's output; none when ``adapter_tokens=0``) and, for the
variants that use depth (``depth_stem=True``, e.g. ``tiny_rgbd``), under
``image_encoder.depth_stem.*`` (:class:`DepthStem`; absent otherwise, so an RGB
encoder keeps exactly its keys).

Shapes (``S_in`` = ``img_size``, ``p`` = ``patch_size``, ``h = w = S_in / p``):

* input: ``B×3×S_in×S_in`` normalised image (see ``GraspSAM.preprocess``) and,
  with a depth stem, ``heights`` ``B×1×S_in×S_in`` normalised heights above the
  table (see ``GraspSAM.preprocess_heights``),
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

__all__ = ["AdaptedImageEncoder", "DepthStem"]


class DepthStem(nn.Module):
    """Patch embedding of the height image, added to the RGB patch embedding.

    ``B×1×S_in×S_in`` normalised heights -> ``B×D×h×w`` (``h = S_in / p``).
    With ``hidden = c > 0`` a small convolutional stem (as the "early
    convolutions" ViT stems): 3×3 conv stride 2 (1 -> c), GELU, 3×3 conv
    stride 2 (c -> 2c), GELU, then a conv with kernel = stride = ``p / 4`` to
    ``embed_dim``; together a patch embedding with kernel = stride = ``p`` in
    effect, that sees local shape (edges, slopes, steps) before it is
    flattened, for few parameters (c = 16, D = 160: 87 k). ``hidden = 0``: the
    plain patch conv (1 -> D, kernel = stride = ``p``).

    The last conv starts at **zero** (weight and bias), so at initialisation
    the stem adds exactly nothing: an encoder initialised from an RGB
    checkpoint computes exactly the RGB model's output until training moves it
    (the zero-initialised branch of LoRA / ControlNet). The earlier convs keep
    PyTorch's default initialisation, so gradients reach them once the last
    conv has moved (from the second step on).
    """

    def __init__(self, patch_size: int, embed_dim: int, hidden: int = 16) -> None:
        super().__init__()
        self.hidden = int(hidden)
        if self.hidden > 0:
            if patch_size % 4:
                raise ValueError(f"a depth stem with hidden convs needs a patch size divisible by 4, got {patch_size}")
            c = self.hidden
            self.pre = nn.Sequential(
                nn.Conv2d(1, c, kernel_size=3, stride=2, padding=1), nn.GELU(),
                nn.Conv2d(c, 2 * c, kernel_size=3, stride=2, padding=1), nn.GELU(),
            )
            self.proj = nn.Conv2d(2 * c, embed_dim, kernel_size=patch_size // 4, stride=patch_size // 4)
        else:
            self.pre = nn.Identity()
            self.proj = nn.Conv2d(1, embed_dim, kernel_size=patch_size, stride=patch_size)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, heights: torch.Tensor) -> torch.Tensor:
        return self.proj(self.pre(heights))


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
        depth_stem: add a :class:`DepthStem` (``self.depth_stem``; None
            without): ``forward`` then needs ``heights``.
        depth_stem_hidden: channels ``c`` of the stem's first conv (0: the patch conv alone).
    """

    def __init__(
        self,
        *,
        adapter_tokens: int = 16,
        adapter_rank: int = 16,
        adapter_scale: float = 1.0,
        early_index: Optional[int] = None,
        global_attn_indexes: Sequence[int] = (),
        depth_stem: bool = False,
        depth_stem_hidden: int = 16,
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
        patch = int(self.patch_embed.proj.stride[0])
        # registered only when used, so that an RGB encoder's state dict is unchanged
        self.depth_stem = DepthStem(patch, self.embed_dim, depth_stem_hidden) if depth_stem else None

    @property
    def uses_depth(self) -> bool:
        """True when ``forward`` takes (and needs) ``heights``."""
        return self.depth_stem is not None

    @property
    def embedding_size(self) -> int:
        """Side ``h`` of the (square) embedding grid."""
        return self.img_size // self.patch_embed.proj.stride[0]

    def forward(  # type: ignore[override]
        self, x: torch.Tensor, heights: Optional[torch.Tensor] = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` ``B×3×S_in×S_in`` (and, with a depth stem, ``heights``
        ``B×1×S_in×S_in``) -> (``B×out_chans×h×w``, ``B×embed_dim×h×w``).

        The depth stem's output is added to the RGB patch embedding (before the
        position embedding). ValueError when a depth stem has no ``heights``, or
        when ``heights`` are given to an encoder without one (at this level a
        mismatch is a caller's bug; :meth:`GraspSAM.encode` decides what RGB
        models do with heights).
        """
        if self.depth_stem is None and heights is not None:
            raise ValueError("this image encoder has no depth stem: it takes no heights")
        if self.depth_stem is not None and heights is None:
            raise ValueError("this image encoder has a depth stem: forward needs heights (B×1×S_in×S_in)")
        x = self.patch_embed(x)
        if self.depth_stem is not None:
            p = int(self.patch_embed.proj.stride[0])
            want = (int(x.shape[0]), 1, int(x.shape[1]) * p, int(x.shape[2]) * p)
            if tuple(heights.shape) != want:
                raise ValueError(f"heights must be {want} (B×1×S_in×S_in) for this image batch, got {tuple(heights.shape)}")
            x = x + self.depth_stem(heights.to(x.dtype)).permute(0, 2, 3, 1)
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

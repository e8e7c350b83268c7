"""Parameter-efficient adapters for GraspSAM's image encoder.

Two kinds, both written so that an *untrained* adapter leaves the frozen
backbone's output exactly unchanged (their last projection is zero-initialised):

``ReinAdapter`` (used on SAM's ViT encoders, one per transformer block)
    A small set of learnable tokens refines the block's output features, in
    the spirit of Rein (Wei et al., CVPR 2024). For features ``x`` of shape
    ``B×H×W×D`` (the layout of segment_anything's ``Block``):

    * tokens ``T = A @ B`` (``num_tokens×D``; low rank: ``A`` is
      ``num_tokens×rank``, ``B`` is ``rank×D``),
    * every feature attends to the tokens: ``w = softmax(x Tᵀ / √D)``
      (``B×HW×num_tokens``, softmax over the tokens),
    * ``delta = up(GELU(down(w T)))`` with ``down: D→rank``, ``up: rank→D``,
    * output ``x + scale · delta``. ``up`` starts at zero, so ``delta = 0``.

    Parameters per block: ``num_tokens·rank + 3·rank·D + rank + D`` (about 62 k
    for ViT-H with the default 16 tokens, rank 16).

``LoRALinear`` (used on MobileSAM's TinyViT attention ``qkv`` projections)
    A drop-in ``nn.Linear`` subclass: ``y = x Wᵀ + b + (alpha/rank) · up(down(x))``
    with ``up`` zero-initialised. It keeps ``weight`` and ``bias`` under
    nn.Linear's own names, so a checkpoint of the plain layer loads key for key;
    the low-rank pair adds ``lora_down.weight`` and ``lora_up.weight``.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["ReinAdapter", "LoRALinear", "add_lora_to_linears"]


class ReinAdapter(nn.Module):
    """Learnable-token refinement of one encoder block's output (see module doc).

    Args:
        dim: feature channels ``D`` of the block.
        num_tokens: learnable tokens per block.
        rank: rank of the token matrix and of the output bottleneck.
        scale: fixed multiplier of the refinement.
    """

    def __init__(self, dim: int, num_tokens: int = 16, rank: int = 16, scale: float = 1.0) -> None:
        super().__init__()
        self.dim = dim
        self.num_tokens = num_tokens
        self.rank = rank
        self.scale = float(scale)
        self.token_a = nn.Parameter(torch.empty(num_tokens, rank))
        self.token_b = nn.Parameter(torch.empty(rank, dim))
        self.down = nn.Linear(dim, rank)
        self.up = nn.Linear(rank, dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.token_a, std=1.0 / math.sqrt(self.rank))
        nn.init.normal_(self.token_b, std=1.0)
        nn.init.kaiming_uniform_(self.down.weight, a=math.sqrt(5))
        nn.init.zeros_(self.down.bias)
        nn.init.zeros_(self.up.weight)  # untrained adapter = identity
        nn.init.zeros_(self.up.bias)

    def tokens(self) -> torch.Tensor:
        """The ``num_tokens×D`` token matrix."""
        return self.token_a @ self.token_b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``B×H×W×D`` (or any ``…×D``); returns the same shape."""
        t = self.tokens().to(x.dtype)
        w = torch.softmax((x @ t.t()) * (self.dim**-0.5), dim=-1)
        delta = self.up(F.gelu(self.down(w @ t)))
        return x + self.scale * delta

    def extra_repr(self) -> str:
        return f"dim={self.dim}, num_tokens={self.num_tokens}, rank={self.rank}, scale={self.scale}"


class LoRALinear(nn.Linear):
    """``nn.Linear`` plus a zero-initialised low-rank update (see module doc)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        rank: int = 8,
        alpha: float = 8.0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(in_features, out_features, bias=bias, device=device, dtype=dtype)
        self.rank = rank
        self.alpha = float(alpha)
        self.lora_down = nn.Linear(in_features, rank, bias=False, device=device, dtype=dtype)
        self.lora_up = nn.Linear(rank, out_features, bias=False, device=device, dtype=dtype)
        nn.init.kaiming_uniform_(self.lora_down.weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_up.weight)

    @classmethod
    def from_linear(cls, linear: nn.Linear, rank: int = 8, alpha: float = 8.0) -> "LoRALinear":
        """Wrap ``linear``, sharing (not copying) its weight and bias parameters."""
        new = cls(
            linear.in_features,
            linear.out_features,
            bias=linear.bias is not None,
            rank=rank,
            alpha=alpha,
            device=linear.weight.device,
            dtype=linear.weight.dtype,
        )
        new.weight = linear.weight
        if linear.bias is not None:
            new.bias = linear.bias
        return new

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias) + (self.alpha / self.rank) * self.lora_up(self.lora_down(x))

    def extra_repr(self) -> str:
        return super().extra_repr() + f", rank={self.rank}, alpha={self.alpha}"


def add_lora_to_linears(root: nn.Module, suffix: str, rank: int = 8, alpha: float = 8.0) -> list[str]:
    """Replace every ``nn.Linear`` in ``root`` whose qualified name ends with
    ``suffix`` (e.g. ``"attn.qkv"``) by a :class:`LoRALinear` sharing its weights.

    Returns the qualified names that were replaced, sorted.
    """
    targets = [
        name
        for name, mod in root.named_modules()
        if name.endswith(suffix) and isinstance(mod, nn.Linear) and not isinstance(mod, LoRALinear)
    ]
    for name in targets:
        parent_name, _, attr = name.rpartition(".")
        parent = root.get_submodule(parent_name) if parent_name else root
        setattr(parent, attr, LoRALinear.from_linear(getattr(parent, attr), rank=rank, alpha=alpha))
    return sorted(targets)

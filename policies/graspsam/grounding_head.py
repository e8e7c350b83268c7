"""The language path's grounding head: where in the image is the object a phrase names?

GraspSAM's decoder reads points and boxes well but, given only the text
encoder's prompt tokens, answered every phrase with all the objects (pick rate
about 1 % on the validation scenes through epoch 8 of the main run). The
phrase is therefore matched against the image first, as referring-segmentation
models do, and the decoder gets the result as a point prompt.

Cell features (one per cell of SAM's embedding grid, ``h × w``, in the padded
model-input frame): the image embedding (``C`` channels) and the model input
averaged over the cell (``cell_channels``: the normalised RGB, plus the
normalised heights for a model that uses depth; :attr:`.model.Embedding.cells`),
each channel standardised (a BatchNorm without affine parameters: batch
statistics in training, running statistics after), then the positional
encoding of the cell beside them, and two 1×1 convolutions to ``C`` channels.
Standardising is what makes the head learn: on cached embeddings of the main
run's model, the arg-max cell fell on the named object 0.28–0.33 of the time
without it and 0.64–0.78 with it (``docs/grounding_probe.py``, session 8).

Phrase: a vector per phrase (:meth:`.text_encoder.TextEncoder.phrase_vectors`:
the mean of the text encoder's prompt tokens plus a bag of word vectors) gives
a per-channel scale and shift of every cell (FiLM), followed by two 3×3
convolutions to one logit per cell: ``B × h × w``.

Loss (:func:`grounding_loss`): BCE of each cell's logit against the fraction
of the cell the named object covers, plus the cross-entropy of the softmax over
all cells toward the object's cells (weights proportional to coverage), so that
the arg-max -- what the policy reads -- is what training sharpens.

Reading (:func:`grounded_points`): the map upsampled bilinearly to the
model-input frame, cut to the image (no padding), its arg-max pixel mapped to
original-image pixels (u, v) with the pixel-centre convention of
:meth:`.model.Embedding.to_input_coords`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class GroundingHead(nn.Module):
    """Phrase vector ``B × C`` + image cells -> logits ``B × h × w`` (module docstring)."""

    def __init__(self, dim: int, cell_channels: int):
        super().__init__()
        if cell_channels < 1:
            raise ValueError(f"cell_channels must be at least 1, got {cell_channels}")
        self.cell_channels = int(cell_channels)
        self.norm = nn.BatchNorm2d(dim + cell_channels, affine=False)
        self.cell = nn.Sequential(nn.Conv2d(2 * dim + cell_channels, dim, 1), nn.ReLU(), nn.Conv2d(dim, dim, 1))
        self.film = nn.Linear(dim, 2 * dim)
        self.out = nn.Sequential(nn.Conv2d(dim, dim, 3, padding=1), nn.ReLU(), nn.Conv2d(dim, 1, 3, padding=1))

    def forward(self, phrase: torch.Tensor, image_embedding: torch.Tensor, cells: torch.Tensor,
                image_pe: torch.Tensor) -> torch.Tensor:
        """phrase ``B × C``; image_embedding ``Be × C × h × w`` and cells ``Be × L × h × w``
        with ``Be`` = B or 1 (one image, B phrases); image_pe ``1 × C × h × w``."""
        if cells is None:
            raise ValueError("the grounding head needs the embedding's cells (GraspSAM.encode computes them)")
        if cells.shape[1] != self.cell_channels:
            raise ValueError(f"the grounding head takes {self.cell_channels} cell channels, got {cells.shape[1]}")
        x = self.norm(torch.cat([image_embedding, cells.to(image_embedding.dtype)], 1))
        x = self.cell(torch.cat([x, image_pe.expand(x.shape[0], -1, -1, -1)], 1))
        x = x.expand(phrase.shape[0], -1, -1, -1)
        scale, shift = self.film(phrase).chunk(2, dim=1)
        x = torch.relu(x * (1 + scale[:, :, None, None]) + shift[:, :, None, None])
        return self.out(x)[:, 0]


def target_cells(mask: torch.Tensor, grid: int) -> torch.Tensor:
    """The fraction of each of the ``grid × grid`` cells that ``mask`` covers: ``mask``
    ``B × S × S`` in [0, 1] (the padded model-input frame at any side ``S`` that ``grid``
    divides, e.g. the training targets' output frame)."""
    if mask.shape[-1] % grid or mask.shape[-2] % grid:
        raise ValueError(f"a mask of side {tuple(mask.shape[-2:])} does not divide into a {grid}×{grid} grid")
    return F.adaptive_avg_pool2d(mask.float().unsqueeze(1), grid)[:, 0]


def mask_coverage(mask, input_size: tuple[int, int], image_size: int, grid: int) -> torch.Tensor:
    """``grid × grid`` coverage of an object's mask (bool ``H × W``, original frame), mapped
    into the padded model input as the image is (resized to ``input_size``, zero-padded
    to ``image_size``)."""
    m = torch.as_tensor(mask).float()[None, None]
    m = F.interpolate(m, size=tuple(input_size), mode="area")
    m = F.pad(m, (0, image_size - input_size[1], 0, image_size - input_size[0]))
    return target_cells(m[:, 0], grid)[0]


def grounding_loss(logits: torch.Tensor, coverage: torch.Tensor) -> torch.Tensor:
    """BCE against the coverage plus the cross-entropy over cells toward the covered
    ones (module docstring); logits and coverage ``B × h × w``. A prompt whose object
    covers no cell contributes only its BCE."""
    bce = F.binary_cross_entropy_with_logits(logits, coverage)
    flat = coverage.flatten(1)
    weights = flat / flat.sum(1, keepdim=True).clamp_min(1e-6)
    cross_entropy = -(weights * F.log_softmax(logits.flatten(1), 1)).sum(1).mean()
    return bce + cross_entropy


def grounded_points(logits: torch.Tensor, input_size: tuple[int, int], image_size: int,
                    original_size: tuple[int, int]) -> torch.Tensor:
    """The arg-max of each map as (u, v) original-image pixels, ``B × 2`` (module
    docstring): logits ``B × h × w`` over the padded ``image_size`` model input, of which
    the image fills ``input_size`` (h', w'); ``original_size`` (H, W)."""
    hi, wi = input_size
    up = F.interpolate(logits.unsqueeze(1).float(), size=(image_size, image_size), mode="bilinear",
                       align_corners=False)[:, 0, :hi, :wi]
    index = up.flatten(1).argmax(1)
    v_in, u_in = (index // wi).float(), (index % wi).float()
    su, sv = wi / original_size[1], hi / original_size[0]
    u = ((u_in + 0.5) / su - 0.5).clamp(0, original_size[1] - 1)
    v = ((v_in + 0.5) / sv - 0.5).clamp(0, original_size[0] - 1)
    return torch.stack([u, v], 1)


__all__ = ["GroundingHead", "grounded_points", "grounding_loss", "mask_coverage", "target_cells"]

"""GraspSAM: a promptable Segment Anything model that also predicts grasp maps.

One forward pass gives, for a prompted object, its mask and four dense grasp
maps. The image is encoded once (:meth:`GraspSAM.encode` -> :class:`Embedding`);
any number of prompts on that image are then decoded cheaply with
:meth:`GraspSAM.decode`, reusing the embedding (no re-encoding)::

    emb = model.encode(images)                       # expensive, once per image
    out1 = model.decode(emb, points=pts, point_labels=lbl)
    out2 = model.decode(emb, boxes=box)              # same image, new prompt

Variants that use depth (``model.uses_depth``; ``tiny_rgbd``) also take the
heights of the image's pixels above the table (:mod:`.depth`)::

    emb = model.encode(images, heights=heights_m)    # B×H×W metres, 0 = missing

Frames and units
----------------
* Images: ``B×H×W×3`` uint8 RGB (numpy or torch), or float ``B×3×H×W`` RGB
  on the 0–255 scale. All images of a batch share one size ``(H, W)``.
* Model input frame (SAM's): the image is resized so that its longest side is
  ``image_size`` (``S_in``; 1024 for SAM/MobileSAM, 256 for ``tiny``), keeping
  the aspect ratio, normalised with SAM's pixel mean/std and zero-padded at the
  bottom/right to ``S_in×S_in``.
* Pixel-centre convention (as ``graspsim.rectangles`` / ``targets``): pixel
  (row i, column j) is centred on (u, v) = (j, i); resizing by ``f`` maps
  ``u' = (u + 0.5)·f − 0.5``.
* Prompts are given in **pixels of the original image**: ``u`` = column
  (right), ``v`` = row (down). Points ``B×N×2`` as (u, v) with labels ``B×N``
  (1 positive, 0 negative, -1 padding: ignored, lets prompt sets of different
  lengths share a batch); boxes ``B×4`` as (u0, v0, u1, v1); mask prompts
  ``B×1×H×W`` in the original frame (or ``B×1×S×S`` in the output frame, e.g. a
  previous ``mask_logits``). Boolean masks become ±:data:`MASK_PROMPT_LOGIT`
  logits; float masks are taken as logits (as SAM's mask input).
* Heights (depth-using variants only): ``B×H×W`` (or ``B×1×H×W``) float, the
  height above the table in **metres** of each pixel of the images (same
  frame and size; NaN or 0 where depth is missing, read as the table), e.g.
  :func:`.depth.heights_from_camera`. :meth:`GraspSAM.preprocess_heights`
  divides them by :data:`.depth.HEIGHT_SCALE_M` (0.1 m), clips them to
  ``[0, HEIGHT_CLIP]`` and resizes / pads them exactly as the image (bilinear,
  zero padding: the padding reads as table). ``encode`` of a depth model
  without heights raises ValueError; an RGB model (``uses_depth`` False)
  ignores heights, so that a caller holding RGB-D data (the policy's
  observation, a sim data set) can pass them to any variant.
* Outputs are ``S×S`` maps with ``S = 4 × embedding side`` (256 for the SAM
  variants, 64 for ``tiny``), covering the padded model input frame: output
  pixel (i, j) is centred on the input-frame point
  ((j + 0.5)·S_in/S − 0.5, (i + 0.5)·S_in/S − 0.5); the output frame is the
  input frame resized by ``S/S_in`` (and the original image resized by
  ``S/max(H, W)``, then padded). :meth:`GraspSAM.postprocess` crops the
  padding and resizes to ``H×W``.

Grasp maps (``GraspOutput.grasp_maps``, channels in this order)
---------------------------------------------------------------
0. quality  – ReLU output, trained towards a target in [0, 1] (1 on the centre
   third of each positive grasp rectangle, 0 elsewhere).
1. cos 2θ, 2. sin 2θ – of the grasp angle θ, where θ is the direction of the
   closing line (finger to finger) measured from +u towards −v (the project's
   ``ImageGrasp.angle`` convention; in image coordinates the closing direction
   is (cos θ, −sin θ)). Decode with ``θ = atan2(sin 2θ, cos 2θ) / 2`` in
   (−π/2, π/2] (:func:`decode_angle`).
3. width    – ReLU output: ``width = opening_input_px / (WIDTH_SCALE · S_in)``,
   the gripper opening measured in model-input pixels divided by half the
   input side. Equivalently ``width = opening_px / (WIDTH_SCALE · max(H, W))``
   with ``opening_px`` in original-image pixels, so a target does not depend
   on the variant's input size. For ``S_in = 1024`` this is opening / 512, the
   published GraspSAM convention; for rectangles drawn in output-map pixels
   the scale is ``WIDTH_SCALE · S`` (128 at S = 256, 32 for ``tiny``'s S = 64):
   ``GraspSAM.width_scale_px(frame_side)`` and ``targets.grasp_targets(...,
   width_scale=model.width_scale_px(model.output_size))`` match. Targets are
   clipped to [0, 1]. Helpers: :func:`opening_to_width`, :func:`width_to_opening`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Optional, Sequence, Union

import numpy as np
import torch
from segment_anything.modeling import PromptEncoder
from torch import nn
from torch.nn import functional as F

from .decoder import ADDED_MODULES, GraspMaskDecoder

__all__ = [
    "GraspSAM",
    "Embedding",
    "GraspOutput",
    "WIDTH_SCALE",
    "MASK_PROMPT_LOGIT",
    "PIXEL_MEAN",
    "PIXEL_STD",
    "decode_angle",
    "opening_to_width",
    "width_to_opening",
    "is_graspsam_addition",
]

#: width map unit, as a fraction of the model input side (see module doc).
WIDTH_SCALE = 0.5
#: logit magnitude given to boolean mask prompts.
MASK_PROMPT_LOGIT = 10.0
PIXEL_MEAN = (123.675, 116.28, 103.53)
PIXEL_STD = (58.395, 57.12, 57.375)

ArrayLike = Union[torch.Tensor, np.ndarray, Sequence]


def decode_angle(cos2: Any, sin2: Any):
    """Grasp angle θ = atan2(sin 2θ, cos 2θ) / 2 in (−π/2, π/2] (torch or numpy)."""
    if isinstance(cos2, torch.Tensor):
        return 0.5 * torch.atan2(sin2, cos2)
    return 0.5 * np.arctan2(sin2, cos2)


def opening_to_width(opening_px: Any, image_side: float) -> Any:
    """Width-map target for an opening of ``opening_px`` original-image pixels;
    ``image_side`` = the original image's longest side ``max(H, W)`` (or, for an
    opening in model-input pixels, the model input size). Not clipped."""
    return opening_px / (WIDTH_SCALE * image_side)


def width_to_opening(width: Any, image_side: float) -> Any:
    """Inverse of :func:`opening_to_width`: opening in pixels of the frame whose
    longest side is ``image_side``."""
    return width * (WIDTH_SCALE * image_side)


def is_graspsam_addition(key: str) -> bool:
    """True for state-dict keys that GraspSAM adds to SAM / MobileSAM
    (adapters, LoRA, depth stem, HQ token, grasp tokens, fused path, grasp head)."""
    if key.startswith(("image_encoder.adapters.", "image_encoder.depth_stem.", "text_encoder.")):
        return True
    if key.startswith("image_encoder.") and (".lora_down." in key or ".lora_up." in key):
        return True
    return any(key == f"mask_decoder.{m}" or key.startswith(f"mask_decoder.{m}.") for m in ADDED_MODULES)


@dataclass
class Embedding:
    """An encoded image batch, reusable for any number of prompts.

    Attributes:
        image_embedding: ``B×C×h×w`` (SAM's image embedding).
        early_feature: ``B×D×h_e×w_e`` early encoder feature.
        original_size: ``(H, W)`` of the original images, pixels.
        input_size: ``(h', w')`` of the resized image inside the padded
            ``image_size×image_size`` model input.
        image_size: the model input side ``S_in``.
        hq_features: ``B×C/8×S×S`` the decoder's per-image high-resolution
            features (compressed embedding + early feature), computed once at
            encoding so that further prompts skip them.
        image_pe: ``1×C×h×w`` the prompt encoder's dense positional encoding of
            the embedding grid (prompt-independent; kept so further prompts skip it).
        cells: ``B×L×h×w`` the model input averaged over each embedding cell
            (normalised RGB, then normalised heights for a model that uses depth):
            what the language path's grounding head reads beside the embedding.
    """

    image_embedding: torch.Tensor
    early_feature: torch.Tensor
    original_size: tuple[int, int]
    input_size: tuple[int, int]
    image_size: int
    hq_features: Optional[torch.Tensor] = None
    image_pe: Optional[torch.Tensor] = None
    cells: Optional[torch.Tensor] = None

    @property
    def batch_size(self) -> int:
        return int(self.image_embedding.shape[0])

    @property
    def scale(self) -> tuple[float, float]:
        """(su, sv): model-input pixels per original pixel along u and v."""
        return self.input_size[1] / self.original_size[1], self.input_size[0] / self.original_size[0]

    def to_input_coords(self, coords: torch.Tensor) -> torch.Tensor:
        """``…×2`` (u, v) original pixels -> model-input pixels (pixel-centre
        convention: ``u' = (u + 0.5)·su − 0.5``)."""
        su, sv = self.scale
        return (coords + 0.5) * coords.new_tensor([su, sv]) - 0.5

    def select(self, index: Union[int, slice, Sequence[int], torch.Tensor]) -> "Embedding":
        """The embedding of a subset of the batch (an int keeps a batch of 1)."""
        if isinstance(index, int):
            index = slice(index, index + 1)
        hq = None if self.hq_features is None else self.hq_features[index]
        cells = None if self.cells is None else self.cells[index]
        return replace(self, image_embedding=self.image_embedding[index], early_feature=self.early_feature[index],
                       hq_features=hq, cells=cells)


@dataclass
class GraspOutput:
    """Decoder outputs, all in the padded model-input frame at ``S×S``.

    Attributes:
        mask_logits: ``B×1×S×S`` object-mask logits (HQ token).
        grasp_maps: ``B×4×S×S`` (quality, cos 2θ, sin 2θ, width); see module doc.
        iou_pred: ``B×1`` SAM's IoU prediction for its single-mask output.
        sam_mask_logits: ``B×1×S×S`` SAM's own single-mask logits.
        grounding_logits: ``B×h×w`` the language path's grounding map (text
            prompts to a model whose text encoder has one), else None.
    """

    mask_logits: torch.Tensor
    grasp_maps: torch.Tensor
    iou_pred: torch.Tensor
    sam_mask_logits: torch.Tensor
    grounding_logits: Optional[torch.Tensor] = None

    @property
    def quality(self) -> torch.Tensor:
        return self.grasp_maps[:, 0:1]

    @property
    def cos2(self) -> torch.Tensor:
        return self.grasp_maps[:, 1:2]

    @property
    def sin2(self) -> torch.Tensor:
        return self.grasp_maps[:, 2:3]

    @property
    def width(self) -> torch.Tensor:
        return self.grasp_maps[:, 3:4]

    @property
    def angle(self) -> torch.Tensor:
        """``B×1×S×S`` grasp angle, radians, in (−π/2, π/2]."""
        return decode_angle(self.cos2, self.sin2)


class GraspSAM(nn.Module):
    """SAM image encoder (+adapters) + SAM prompt encoder + grasp mask decoder.

    Attributes ``image_encoder``, ``prompt_encoder``, ``mask_decoder`` hold
    SAM's weights under SAM's key names (see ``build.py``); ``pixel_mean`` /
    ``pixel_std`` are non-persistent buffers, as in SAM.

    Args:
        image_encoder: returns ``(embedding B×C×h×w, early B×D×h_e×w_e)`` and
            has ``img_size`` (an :class:`~.image_encoder.AdaptedImageEncoder`
            or :class:`~.tinyvit_encoder.AdaptedTinyViT`).
        prompt_encoder: segment_anything ``PromptEncoder``.
        mask_decoder: :class:`~.decoder.GraspMaskDecoder`.
        variant: the builder variant name (``build.VARIANTS``), recorded in
            checkpoints.
        text_encoder: an optional :class:`~.text_encoder.TextEncoder` (the
            learned language path): ``decode(..., texts=[...])`` then adds its
            tokens to the sparse prompt tokens; None (the default) for models
            without one (``has_text``).
    """

    def __init__(
        self,
        image_encoder: nn.Module,
        prompt_encoder: PromptEncoder,
        mask_decoder: GraspMaskDecoder,
        variant: str = "custom",
        pixel_mean: Sequence[float] = PIXEL_MEAN,
        pixel_std: Sequence[float] = PIXEL_STD,
        text_encoder: Optional[nn.Module] = None,
    ) -> None:
        super().__init__()
        self.image_encoder = image_encoder
        self.prompt_encoder = prompt_encoder
        self.mask_decoder = mask_decoder
        self.text_encoder = text_encoder
        self.variant = variant
        #: keyword arguments of build.build_graspsam that rebuild this model
        self.build_config: dict = {"variant": variant}
        self.register_buffer("pixel_mean", torch.tensor(pixel_mean, dtype=torch.float32).view(-1, 1, 1), False)
        self.register_buffer("pixel_std", torch.tensor(pixel_std, dtype=torch.float32).view(-1, 1, 1), False)

    # ------------------------------------------------------------------ sizes
    @property
    def device(self) -> torch.device:
        return self.pixel_mean.device

    @property
    def uses_depth(self) -> bool:
        """True for variants whose encoder has a depth stem (``tiny_rgbd``):
        :meth:`encode` then needs ``heights``."""
        return bool(getattr(self.image_encoder, "uses_depth", False))

    @property
    def image_size(self) -> int:
        """Side ``S_in`` of the square model input, pixels."""
        return int(self.image_encoder.img_size)

    @property
    def embedding_size(self) -> int:
        """Side ``h`` of the image embedding grid."""
        return int(self.prompt_encoder.image_embedding_size[0])

    @property
    def has_text(self) -> bool:
        """True when the model has its own language path (``decode(..., texts=...)``)."""
        return self.text_encoder is not None

    @property
    def output_size(self) -> int:
        """Side ``S = 4h`` of the output maps."""
        return 4 * self.embedding_size

    @staticmethod
    def width_scale_px(frame_side: float) -> float:
        """Pixels (of a frame whose longest side is ``frame_side``: the model
        input, the output maps, or the original image) that width 1 stands for."""
        return WIDTH_SCALE * float(frame_side)

    # ------------------------------------------------------------- freezing
    def sam_parameters(self):
        """(name, parameter) pairs of the SAM / MobileSAM weights."""
        return [(n, p) for n, p in self.named_parameters() if not is_graspsam_addition(n)]

    def added_parameters(self):
        """(name, parameter) pairs of the GraspSAM additions."""
        return [(n, p) for n, p in self.named_parameters() if is_graspsam_addition(n)]

    def freeze_sam(self, frozen: bool = True) -> None:
        """Freeze (or unfreeze) every SAM weight; additions stay trainable."""
        for _, p in self.sam_parameters():
            p.requires_grad_(not frozen)
        self.train(self.training)

    def train(self, mode: bool = True) -> "GraspSAM":
        """As nn.Module.train, but BatchNorm layers whose parameters are all
        frozen stay in eval mode (their running statistics belong to SAM)."""
        super().train(mode)
        if mode:
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    params = list(m.parameters())
                    if params and not any(p.requires_grad for p in params):
                        m.eval()
        return self

    # ------------------------------------------------------------ encoding
    def input_size_for(self, original_size: tuple[int, int]) -> tuple[int, int]:
        """``(h', w')``: the resized image inside the model input (longest side
        ``image_size``, SAM's rounding)."""
        h, w = original_size
        s = self.image_size / max(h, w)
        return int(h * s + 0.5), int(w * s + 0.5)

    def preprocess(self, images: ArrayLike) -> tuple[torch.Tensor, tuple[int, int], tuple[int, int]]:
        """Images -> (``B×3×S_in×S_in`` normalised padded input, original (H, W),
        resized (h', w')). See the module doc for accepted layouts."""
        x = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images)
        if x.ndim != 4:
            raise ValueError(f"images must be a batch (4-D), got shape {tuple(x.shape)}")
        if x.dtype == torch.uint8:
            if x.shape[-1] != 3:
                raise ValueError(f"uint8 images must be B×H×W×3, got {tuple(x.shape)}")
            x = x.permute(0, 3, 1, 2)
        elif x.shape[1] != 3:
            raise ValueError(f"float images must be B×3×H×W on the 0-255 scale, got {tuple(x.shape)}")
        x = x.to(device=self.device, dtype=torch.float32)
        original = (int(x.shape[-2]), int(x.shape[-1]))
        resized = self.input_size_for(original)
        if resized != original:
            x = F.interpolate(x, size=resized, mode="bilinear", align_corners=False, antialias=True)
        x = (x - self.pixel_mean) / self.pixel_std
        x = F.pad(x, (0, self.image_size - resized[1], 0, self.image_size - resized[0]))
        return x, original, resized

    def preprocess_heights(self, heights: ArrayLike) -> tuple[torch.Tensor, tuple[int, int], tuple[int, int]]:
        """Heights above the table in metres (``B×H×W`` or ``B×1×H×W``; NaN =
        missing) -> (``B×1×S_in×S_in`` normalised padded input, original (H, W),
        resized (h', w')): normalised by :func:`.depth.normalise_heights`, then
        resized and zero-padded exactly as :meth:`preprocess` does the image."""
        from .depth import normalise_heights

        h = torch.as_tensor(np.asarray(heights) if not isinstance(heights, torch.Tensor) else heights)
        if h.ndim == 3:
            h = h.unsqueeze(1)
        if h.ndim != 4 or h.shape[1] != 1:
            raise ValueError(f"heights must be B×H×W (or B×1×H×W) metres above the table, got {tuple(h.shape)}")
        h = normalise_heights(h.to(device=self.device, dtype=torch.float32))
        original = (int(h.shape[-2]), int(h.shape[-1]))
        resized = self.input_size_for(original)
        if resized != original:
            h = F.interpolate(h, size=resized, mode="bilinear", align_corners=False, antialias=True)
        h = F.pad(h, (0, self.image_size - resized[1], 0, self.image_size - resized[0]))
        return h, original, resized

    def encode(self, images: ArrayLike, heights: Optional[ArrayLike] = None) -> Embedding:
        """Encode a batch of images once; reuse the result for any prompts.

        ``heights``: the images' heights above the table in metres (module doc,
        "Heights"); required when :attr:`uses_depth` (ValueError without them),
        ignored by RGB models.
        """
        x, original, resized = self.preprocess(images)
        if self.uses_depth:
            if heights is None:
                raise ValueError(
                    f"GraspSAM variant {self.variant!r} uses depth: encode needs heights "
                    "(B×H×W metres above the table, see graspsim.policies.graspsam.depth)"
                )
            h, h_original, _ = self.preprocess_heights(heights)
            if h.shape[0] != x.shape[0] or h_original != original:
                raise ValueError(
                    f"heights {tuple(h.shape[:1]) + h_original} do not match the images {tuple(x.shape[:1]) + original} "
                    "(batch, H, W)"
                )
            embedding, early = self.image_encoder(x, heights=h)
            x = torch.cat([x, h], 1)
        else:
            embedding, early = self.image_encoder(x)
        hq = self.mask_decoder.image_features(embedding, early)
        cells = F.adaptive_avg_pool2d(x, tuple(embedding.shape[-2:]))
        return Embedding(embedding, early, original, resized, self.image_size, hq, self.prompt_encoder.get_dense_pe(),
                         cells)

    # ------------------------------------------------------------ decoding
    def _as_tensor(self, value: ArrayLike, dtype=torch.float32) -> torch.Tensor:
        return torch.as_tensor(np.asarray(value) if not isinstance(value, torch.Tensor) else value).to(
            device=self.device, dtype=dtype
        )

    def _mask_prompt(self, masks: ArrayLike, embedding: Embedding) -> torch.Tensor:
        """Mask prompts -> ``B×1×S×S`` logits in the output frame."""
        m = masks if isinstance(masks, torch.Tensor) else torch.as_tensor(np.asarray(masks))
        if m.ndim == 3:
            m = m.unsqueeze(1)
        if m.ndim != 4 or m.shape[1] != 1:
            raise ValueError(f"mask prompts must be B×1×H×W, got {tuple(m.shape)}")
        m = m.to(self.device)
        m = torch.where(m, MASK_PROMPT_LOGIT, -MASK_PROMPT_LOGIT) if m.dtype == torch.bool else m.float()
        s = self.output_size
        hw = tuple(m.shape[-2:])
        if hw == tuple(embedding.original_size):
            hs = max(1, round(embedding.input_size[0] * s / self.image_size))
            ws = max(1, round(embedding.input_size[1] * s / self.image_size))
            if (hs, ws) != hw:
                m = F.interpolate(m, size=(hs, ws), mode="bilinear", align_corners=False)
            m = F.pad(m, (0, s - ws, 0, s - hs), value=-MASK_PROMPT_LOGIT)
        elif hw != (s, s):
            raise ValueError(
                f"mask prompt of size {hw}: expected the original image size {tuple(embedding.original_size)} "
                f"or the output size {(s, s)}"
            )
        return m

    def decode(
        self,
        embedding: Embedding,
        points: Optional[ArrayLike] = None,
        point_labels: Optional[ArrayLike] = None,
        boxes: Optional[ArrayLike] = None,
        mask_prompts: Optional[ArrayLike] = None,
        mask_decoder=None,
        texts: Optional[Sequence[str]] = None,
    ) -> GraspOutput:
        """Decode prompts against an encoded image batch (no re-encoding).

        Args:
            embedding: from :meth:`encode`, batch ``Be``.
            points: ``B×N×2`` (u, v), original-image pixels.
            point_labels: ``B×N``: 1 positive, 0 negative, -1 padding; default
                all positive.
            boxes: ``B×4`` (u0, v0, u1, v1), original-image pixels.
            mask_prompts: ``B×1×H×W`` (original frame) or ``B×1×S×S`` (output
                frame); bool -> ±MASK_PROMPT_LOGIT, float = logits.
            texts: ``B`` phrases (models with a language path, ``has_text``):
                their :class:`~.text_encoder.TextEncoder` tokens join the sparse
                prompt tokens; when it has a grounding map, the output also
                carries the map (``grounding_logits``, for training: a policy
                reads a phrase through :meth:`ground` and a point instead).

        ``B`` must equal ``Be``, or ``Be`` is 1 (one image, ``B`` prompt sets).
        With no prompt at all, one unprompted decode per image. ``mask_decoder``:
        a stand-in for ``self.mask_decoder`` with its call signature (the
        policy's :class:`.frozen_decoder.FrozenDecoder`).
        """
        pe = self.prompt_encoder
        point_arg = None
        batches = []
        if points is not None:
            p = self._as_tensor(points)
            if p.ndim == 2:
                p = p.unsqueeze(0)
            if p.ndim != 3 or p.shape[-1] != 2:
                raise ValueError(f"points must be B×N×2, got {tuple(p.shape)}")
            if point_labels is None:
                lab = torch.ones(p.shape[:2], device=self.device)
            else:
                lab = self._as_tensor(point_labels)
                if lab.ndim == 1:
                    lab = lab.unsqueeze(0)
                if tuple(lab.shape) != tuple(p.shape[:2]):
                    raise ValueError(f"point_labels shape {tuple(lab.shape)} does not match points {tuple(p.shape)}")
            point_arg = (embedding.to_input_coords(p), lab)
            batches.append(p.shape[0])
        elif point_labels is not None:
            raise ValueError("point_labels given without points")
        box_arg = None
        if boxes is not None:
            bx = self._as_tensor(boxes)
            if bx.ndim == 1:
                bx = bx.unsqueeze(0)
            if bx.ndim != 2 or bx.shape[-1] != 4:
                raise ValueError(f"boxes must be B×4, got {tuple(bx.shape)}")
            box_arg = embedding.to_input_coords(bx.reshape(-1, 2, 2)).reshape(-1, 4)
            batches.append(bx.shape[0])
        mask_arg = None
        if mask_prompts is not None:
            mask_arg = self._mask_prompt(mask_prompts, embedding)
            batches.append(mask_arg.shape[0])
        text_tokens = None
        if texts is not None:
            if self.text_encoder is None:
                raise ValueError(f"this GraspSAM model ({self.variant}) has no language path: it cannot take texts "
                                 "(train one with --text, or ground the text to a box)")
            text_tokens = self.text_encoder.encode_texts(list(texts), self.device)
            batches.append(text_tokens.shape[0])
        if len(set(batches)) > 1:
            raise ValueError(f"prompt batch sizes differ: {batches}")
        b = batches[0] if batches else embedding.batch_size
        if embedding.batch_size not in (1, b):
            raise ValueError(f"embedding batch {embedding.batch_size} does not match prompt batch {b}")

        sparse, dense = pe(points=point_arg, boxes=box_arg, masks=mask_arg)
        if sparse.shape[0] != b:
            sparse = sparse.expand(b, -1, -1)
        if text_tokens is not None:
            sparse = torch.cat([sparse, text_tokens.to(sparse.dtype)], dim=1)
        if dense.shape[0] != b:
            dense = dense.expand(b, -1, -1, -1)
        image_pe = pe.get_dense_pe() if embedding.image_pe is None else embedding.image_pe
        grounding = None
        if text_tokens is not None and self.text_encoder.grounding:
            grounding = self.text_encoder.ground_texts(list(texts), embedding.image_embedding, embedding.cells, image_pe)
        out = (mask_decoder or self.mask_decoder)(
            image_embeddings=embedding.image_embedding,
            early_features=embedding.early_feature,
            image_pe=image_pe,
            sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense,
            hq_features=embedding.hq_features,
        )
        return GraspOutput(out.mask_logits, out.grasp_maps, out.iou_pred, out.sam_mask_logits, grounding)

    def ground(self, embedding: Embedding, texts: Sequence[str]) -> torch.Tensor:
        """``B × h × w`` grounding logits of ``B`` phrases against an encoded image (batch
        1 or B): where each phrase's object is (:mod:`.grounding_head`). ValueError for a
        model without a grounding map."""
        if self.text_encoder is None or not self.text_encoder.grounding:
            raise ValueError(f"this GraspSAM model ({self.variant}) has no grounding map: it cannot ground texts "
                             "(train one with graspsim train grounding)")
        image_pe = self.prompt_encoder.get_dense_pe() if embedding.image_pe is None else embedding.image_pe
        return self.text_encoder.ground_texts(list(texts), embedding.image_embedding, embedding.cells, image_pe)

    def forward(self, images: ArrayLike, heights: Optional[ArrayLike] = None, **prompts) -> GraspOutput:
        """``decode(encode(images, heights), **prompts)``; prompts as in :meth:`decode`."""
        return self.decode(self.encode(images, heights), **prompts)

    # -------------------------------------------------------- postprocess
    def postprocess(self, maps: torch.Tensor, embedding: Embedding, mode: str = "bilinear") -> torch.Tensor:
        """``B×C×S×S`` output-frame maps -> ``B×C×H×W`` original-image frame
        (padding cropped). Values are unchanged: width stays in width-map units
        (:func:`width_to_opening` with ``max(H, W)`` gives original pixels)."""
        h, w = embedding.input_size
        s = self.output_size
        # crop the valid part at output resolution (fractional edge handled by
        # resampling through the input frame only when needed)
        hs, ws = h * s / self.image_size, w * s / self.image_size
        if float(hs).is_integer() and float(ws).is_integer():
            maps = maps[..., : int(hs), : int(ws)]
        else:
            maps = F.interpolate(maps, size=(self.image_size, self.image_size), mode=mode, align_corners=False)
            maps = maps[..., :h, :w]
        kwargs = {} if mode == "nearest" else {"align_corners": False}
        return F.interpolate(maps, size=tuple(embedding.original_size), mode=mode, **kwargs)


def _num_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def describe(model: GraspSAM) -> dict:
    """Parameter counts of a model (total, trainable, SAM, additions)."""
    total = _num_params(model)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    added = sum(p.numel() for _, p in model.added_parameters())
    return {"variant": model.variant, "total": total, "trainable": trainable, "sam": total - added, "added": added}


__all__ += ["describe"]

"""From a GraspSAM output to ranked grasp rectangles in the original image.

Shared by validation during training, ``graspsim eval graspsam`` and the
policy, so all three read the model the same way.

The model's maps cover the padded model-input frame at ``S × S``
(:mod:`.model`); the original image (H × W) maps onto it resized by
``S / max(H, W)``. Rectangles are decoded in map pixels
(:func:`.decoding.decode_grasps`, restricted to the predicted mask) and
scaled back with the pixel-centre convention of :mod:`graspsim.rectangles`.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import torch
import torch.nn.functional as F

from graspsim.rectangles import scale_rects

from .decoding import decode_grasps
from .model import GraspOutput, GraspSAM

TOP_K = 5
#: quality a peak needs to count as a grasp (GraspSAM's decoding threshold)
QUALITY_THRESHOLD = 0.2


class Prediction:
    """One prompt's result in original-image pixels.

    rects: (K, 6) u, v, angle, opening, jaw, score, best first (K may be 0: "no grasp").
        Given, or decoded from the maps the first time it is read (``decode``), so that
        a caller that first cuts the mask (:func:`.colour_refine.refine_prediction`)
        decodes only once; assigning it replaces the pending decoding.
    mask: bool (H, W) predicted object mask.
    maps: float32 (4, S, S) quality, cos 2θ, sin 2θ, width in the model's output frame.
    grounded_point: float (2,) the (u, v) a phrase was grounded to (:func:`predict`), else None.
    """

    def __init__(self, rects, mask: np.ndarray, maps: np.ndarray, decode=None):
        if rects is None and decode is None:
            raise ValueError("Prediction needs rects or a decode function")
        self._rects = None if rects is None else np.asarray(rects)
        self._decode = decode
        self.mask = mask
        self.maps = maps
        self.grounded_point = None

    @property
    def rects(self) -> np.ndarray:
        if self._rects is None:
            self._rects, self._decode = self._decode(), None
        return self._rects

    @rects.setter
    def rects(self, value) -> None:
        self._rects, self._decode = np.asarray(value), None

    @property
    def quality(self) -> np.ndarray:
        return self.maps[0]


def to_predictions(model: GraspSAM, output: GraspOutput, original_size, jaw_px: float = 0.0, top_k: int = TOP_K,
                   threshold: float = QUALITY_THRESHOLD) -> list[Prediction]:
    """Decode every prompt of ``output`` (batch B) into a :class:`Prediction`; peaks of
    quality below ``threshold`` are dropped."""
    h, w = original_size
    s = model.output_size
    factor = max(h, w) / s
    mask_small = (output.mask_logits[:, 0] > 0).cpu().numpy()
    maps = output.grasp_maps.detach().float().cpu().numpy()
    logits = output.mask_logits.detach().float()
    # mask in the original frame: upsample the output frame to max side, crop the padding
    side = max(h, w)
    full = F.interpolate(logits, size=(side, side), mode="bilinear", align_corners=False)[:, 0, :h, :w] > 0
    full = full.cpu().numpy()
    return [Prediction(None, full[b], maps[b], decode=partial(_rects, model, maps[b], mask_small[b], factor, jaw_px,
                                                             top_k, threshold))
            for b in range(maps.shape[0])]


def _rects(model: GraspSAM, maps: np.ndarray, mask_small: np.ndarray, factor: float, jaw_px: float, top_k: int,
           threshold: float) -> np.ndarray:
    """Decoded rectangles (K, 6) of one prompt's maps (4, S, S), peaks restricted to
    ``mask_small`` (S, S), scaled to the original image by ``factor``."""
    q, c, sn, wd = maps
    rects = decode_grasps(q, c, sn, wd, mask=mask_small, width_scale=model.width_scale_px(maps.shape[-1]),
                          top_k=top_k, threshold=threshold)
    if len(rects):
        geo = scale_rects(rects[:, :5], factor)
        geo[:, 4] = jaw_px
        rects = np.column_stack([geo, rects[:, 5]])
    return rects.reshape(-1, 6)


def decode_in_mask(model: GraspSAM, pred: Prediction, mask: np.ndarray, jaw_px: float = 0.0, top_k: int = TOP_K,
                   threshold: float = QUALITY_THRESHOLD) -> np.ndarray:
    """Rectangles (K, 6) decoded from ``pred``'s maps with peaks restricted to ``mask``
    (bool H×W, original frame) instead of the predicted mask: the output-frame cells
    at least a quarter covered by it."""
    import cv2

    h, w = mask.shape
    side, s = max(h, w), pred.maps.shape[-1]
    square = np.zeros((side, side), np.float32)
    square[:h, :w] = mask
    small = cv2.resize(square, (s, s), interpolation=cv2.INTER_AREA) >= 0.25
    return _rects(model, pred.maps, small, side / s, jaw_px, top_k, threshold)


def cut_prediction(model: GraspSAM, pred: Prediction, region: np.ndarray, top_k: int, threshold: float,
                   jaw_px: float = 0.0) -> None:
    """Cut ``pred`` in place to ``region`` (bool H×W, original frame) and decode its
    rectangles again with their peaks inside it (:func:`decode_in_mask`); unchanged
    when ``region`` is empty or equals the predicted mask."""
    if region.any() and not np.array_equal(region, pred.mask):
        pred.mask = region
        pred.rects = decode_in_mask(model, pred, region, jaw_px=jaw_px, top_k=top_k, threshold=threshold)


@torch.no_grad()
def predict(model: GraspSAM, embedding, prompt: dict, original_size, jaw_px: float = 0.0, top_k: int = TOP_K,
            threshold: float = QUALITY_THRESHOLD, mask_decoder=None) -> Prediction:
    """One prompt (``dict(points, labels, box, mask)`` as :func:`.prompting.prompt_arrays`
    gives it, or with ``text``: a phrase for a model with a language path) against an
    encoded image (batch 1); ``mask_decoder`` as in
    :meth:`.model.GraspSAM.decode`.

    A phrase to a model with a grounding map is read through it: the map's arg-max
    (:func:`.grounding_head.grounded_points`) is decoded as one positive point, and the
    prediction's ``grounded_point`` is that (u, v); a model with only the text tokens
    decodes the phrase as sparse tokens."""
    grounded = None
    if prompt.get("text") is not None and model.has_text and model.text_encoder.grounding:
        from .grounding_head import grounded_points

        logits = model.ground(embedding, [prompt["text"]])
        grounded = grounded_points(logits, embedding.input_size, embedding.image_size,
                                   embedding.original_size)[0].cpu().numpy()
        prompt = {"points": grounded[None], "labels": np.ones(1, np.int64)}
    kwargs = {}
    if prompt.get("points") is not None:
        kwargs["points"] = np.asarray(prompt["points"], np.float32)[None]
        kwargs["point_labels"] = np.asarray(prompt["labels"], np.float32)[None]
    if prompt.get("box") is not None:
        kwargs["boxes"] = np.asarray(prompt["box"], np.float32)[None]
    if prompt.get("mask") is not None:
        kwargs["mask_prompts"] = np.asarray(prompt["mask"], bool)[None, None]
    if prompt.get("text") is not None:
        kwargs["texts"] = [prompt["text"]]
    if not kwargs:
        raise ValueError("the prompt has no points, box, mask or text")
    output = model.decode(embedding, mask_decoder=mask_decoder, **kwargs)
    pred = to_predictions(model, output, original_size, jaw_px, top_k, threshold)[0]
    pred.grounded_point = grounded
    return pred

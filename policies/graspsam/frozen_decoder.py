"""A faster stand-in for the mask decoder at inference on the CPU.

Further prompts on an encoded image run only the decoder, so its speed is
the per-prompt latency. :class:`FrozenDecoder` runs a TorchScript-traced,
frozen and inference-optimised copy of the decoder (convolutions with
prepacked weights, no Python per module), traced once per input shape
(the number of prompt tokens differs between 1 point, 10 points and a box)
and about a quarter faster than the eager module on this CPU. Its outputs
equal the eager decoder's to float rounding (about 1e-6).

TorchScript is deprecated in recent PyTorch: if tracing fails, or a future
PyTorch lacks it, the eager decoder is used instead (``self.failed`` holds
the reason), so the policy never depends on it.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from .decoder import DecoderOutput


class _Outputs(nn.Module):
    """The decoder with a tuple output (what tracing needs)."""

    def __init__(self, decoder: nn.Module):
        super().__init__()
        self.decoder = decoder

    def forward(self, image_embeddings, early_features, image_pe, sparse, dense, hq_features):
        out = self.decoder(image_embeddings, early_features, image_pe, sparse, dense, hq_features)
        return out.mask_logits, out.grasp_maps, out.iou_pred, out.sam_mask_logits


class FrozenDecoder:
    """Callable like the decoder (keyword arguments of ``GraspDecoder.forward``,
    ``hq_features`` given), eval mode, no gradients."""

    def __init__(self, decoder: nn.Module):
        self.decoder = decoder
        self.failed: str | None = None
        self._traced: dict[tuple, torch.jit.ScriptModule] = {}

    def __call__(self, image_embeddings, early_features, image_pe, sparse_prompt_embeddings,
                 dense_prompt_embeddings, hq_features) -> DecoderOutput:
        args = (image_embeddings, early_features, image_pe, sparse_prompt_embeddings, dense_prompt_embeddings,
                hq_features)
        if self.failed is None and hq_features is not None and not torch.is_grad_enabled():
            key = tuple(tuple(a.shape) for a in args)
            module = self._traced.get(key)
            if module is None:
                module = self._trace(args)
            if module is not None:
                self._traced[key] = module
                return DecoderOutput(*module(*args))
        return self.decoder(*args)

    def _trace(self, args):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                traced = torch.jit.trace(_Outputs(self.decoder).eval(), args)
                return torch.jit.optimize_for_inference(torch.jit.freeze(traced))
        except Exception as exc:  # noqa: BLE001 - any failure means: use the eager decoder
            self.failed = f"{type(exc).__name__}: {exc}"
            return None

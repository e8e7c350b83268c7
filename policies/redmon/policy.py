"""``redmon-direct`` / ``redmon-classify`` / ``redmon-multigrasp``: the Redmon &
Angelova (2015) baselines as prompt-driven policies.

The models assume one object per image, so the policy crops the scene around
the prompt (:func:`.inputs.prompt_window`: a box, a mask's box or a grounded
text box with a margin; a fixed window around the points or the gaze point),
predicts in the crop and maps the grasps back to the full image. The action
is the best grasp ``(u, v, angle, opening_px)`` (clipped to the image);
``last_maps`` holds the ranked ``rects`` (K × 6, image pixels, score last:
1 for the single-grasp models, the cell likelihood for MultiGrasp), the
``crop_box`` (u0, v0, u1, v1) of the window, the ``prompt_box`` of box /
text prompts (else None), ``heatmap`` (G × G likelihoods) for MultiGrasp and
``category`` (the predicted class name) for the classifier.

``make("redmon-direct")`` loads the shipped checkpoint
(``checkpoints/redmon_direct.pt``); ``make("redmon-direct", checkpoint=path)``
one written by ``graspsim train redmon --folds 0``. A checkpoint of another
model is refused. Text prompts are grounded as GraspSAM grounds them
(``grounder=``, default :class:`graspsim.grounding.CatalogueGrounder`, with
the context given by :meth:`RedmonPolicy.set_context`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from graspsim.policies.base import GroundedPolicy
from graspsim.prompts import Prompt

CHECKPOINT_DIR = Path(__file__).parent / "checkpoints"


def shipped_checkpoint(model: str) -> Path:
    return CHECKPOINT_DIR / f"redmon_{model}.pt"


class RedmonPolicy(GroundedPolicy):
    name = "redmon"

    def __init__(self, model: str = "direct", checkpoint=None, grounder=None, top_k: int = 5,
                 device: str | None = None, seed: int | None = None):
        import torch

        from graspsim.policies.devices import pick_device
        from graspsim.policies.prompting import prompt_arrays  # imported here: the first act stays fast

        from .model import check_model, load_checkpoint

        check_model(model)
        if not (isinstance(top_k, int) and top_k >= 1):
            raise ValueError(f"top_k must be a positive integer, got {top_k!r}")
        path = Path(checkpoint) if checkpoint is not None else shipped_checkpoint(model)
        if checkpoint is None and not path.is_file():
            raise ValueError(f"the shipped checkpoint {str(path)!r} is missing from this installation")
        self.device = pick_device(device)
        self.model, self.metadata = load_checkpoint(path, model=model, device=self.device)
        self.kind = model
        self.name = f"redmon-{model}"
        self.top_k = top_k
        self._torch = torch
        self._prompt_arrays = prompt_arrays
        super().__init__(grounder, seed)

    def act(self, observation: dict) -> np.ndarray:
        from .inputs import crop, network_input, prompt_window, rects_from_crop, rgd, window_box
        from .model import predictions

        rgb = np.asarray(observation["rgb"], np.uint8)
        depth = observation.get("depth")
        prompt = Prompt.from_observation(observation["prompt"])
        arrays = self._prompt_arrays(prompt, rgb.shape[:2], self.grounder, self.context, rgb)
        window = prompt_window(arrays, rgb.shape[:2])
        x = self._torch.from_numpy(network_input(crop(rgd(rgb, depth), window)[None])).to(self.device)
        with self._torch.no_grad():
            out = self.model(x)
        rects = rects_from_crop(predictions(out)[0][: self.top_k], window)
        self.last_maps = {"rects": rects.astype(np.float32), "crop_box": window_box(window), "prompt_box": arrays.get("box")}
        if "grid" in out:
            self.last_maps["heatmap"] = self._torch.sigmoid(out["grid"][0, 0]).cpu().numpy()
        if "logits" in out:
            self.last_maps["category"] = self.model.classes[int(out["logits"][0].argmax())]
        h, w = rgb.shape[:2]
        if len(rects) == 0:
            return np.array([window[0], window[1], 0.0, 0.0], np.float32)
        u, v, angle, opening = rects[0, :4]
        return np.array([np.clip(u, 0, w - 1), np.clip(v, 0, h - 1), angle, min(opening, max(h, w))], np.float32)


__all__ = ["RedmonPolicy", "shipped_checkpoint"]

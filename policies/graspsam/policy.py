"""``graspsam``: the GraspSAM policy (prompt -> mask + grasp maps -> ranked grasps -> action).

``graspsim.policies.make("graspsam")`` loads the shipped ``tiny_rgbd`` checkpoint
(:data:`SHIPPED_CHECKPOINT`; the earlier RGB ``tiny`` one is :data:`TINY_RGB_CHECKPOINT`);
``make("graspsam", checkpoint="path/best.pt")`` a trained one;
``make("graspsam", variant="vit_b", sam_checkpoint="sam_vit_b_01ec64.pth")``
builds the model around an official SAM file (SAM frozen, the GraspSAM parts
untrained: the starting point for fine-tuning, not a useful grasp policy).

The variant comes from the checkpoint (``variant=``, when given, must match
it), so a ``tiny_rgbd`` checkpoint just works: a model that uses depth
(``model.uses_depth``) gets the observation's heights above the table,
computed from its ``depth``, ``intrinsics`` and ``extrinsics``
(:func:`graspsim.geometry.clearance.heights_above_table`, missing depth read
as the table; see :mod:`.depth`).

The image is encoded once and the embedding reused while observations show
the same RGB image -- and, for a model that uses depth, the same depth image
and camera (further prompts cost only the decoder; on the CPU a frozen
TorchScript copy of it, ``frozen_decoder=True``, see :mod:`.frozen_decoder`).

``colour_refine`` (off by default: a heuristic that works only because
catalogue objects are uniformly coloured; a textured object's mask would be
cut to one of its colours) cuts a predicted mask that has bled onto a
touching neighbour of another colour: the mask keeps the part with the
colour under the prompt's positive points (point, points, gaze), or in its
box's centre (box, text through its grounded box)
(:func:`.colour_refine.colour_region`), and the grasps are decoded again with
their peaks inside it (its validation on catalogue colours: docs/results.md).

Choosing the action among the decoded grasps (each step can be switched off
for the plain published decoding):

- ``fallback``: when no quality peak inside the predicted mask reaches the
  decoding threshold (0.2), the best peak below it is used instead of
  giving up;
- ``fit_opening``: each grasp is re-centred on the predicted mask's extent
  along its closing line and opened to at least that extent plus
  :data:`graspsim.geometry.clearance.MARGIN_M` per side
  (:func:`graspsim.geometry.clearance.fit_to_mask`): the width map under-estimates
  openings, which puts a finger on the object;
- ``collision_check``: the first grasp, in score order, whose fingers and
  palm clear the depth image's orthographic height map
  (:func:`graspsim.geometry.clearance.grasp_clear`, the analytic policy's test) is
  taken; when none is clear, each decoded grasp in turn is turned by
  ``TURNS`` (±15° steps, nearest first) and the first clear one taken;
  when still none is, the analytic policy's synthesis on the predicted
  mask (:func:`graspsim.geometry.selection.region_grasp`) is tried, and the
  grasp that comes nearest to clearing the scene is taken;
- ``depth_refine`` (on by default since session 9): cut the predicted mask to
  the depth segment the prompt designates (the analytic policy's segmentation)
  and decode the grasps again inside it. On randomised-appearance validation
  scenes of train-split objects it added 0.5–2.5 points of lift on each of the
  three object sets, for the shipped model and for its epoch-5 predecessor
  (docs/results.md, "Selection steps"); with the old ``tiny`` model it had not
  helped.

The action is the chosen grasp ``(u, v, angle, opening_px)``; when the model
finds no grasp the action has ``opening_px = 0``, which the environment records
as a ``no_grasp`` failure. ``last_maps`` holds the predicted ``mask`` (bool
H×W), the ``quality`` map (output frame), the ranked ``rects`` (K×6), the
``prompt_box`` used for text prompts, the ``grounded_point`` (u, v) a phrase was
grounded to by the model's own grounding map (else None) and ``choice``, which step chose the
action: ``"decoded"``, ``"turned"``, ``"region"``, ``"nearest"``, or None
for no grasp.

Text prompts go through a grounder (``grounder=``, see :mod:`graspsim.grounding`;
default: the simulator's :class:`graspsim.grounding.CatalogueGrounder`, an oracle
that needs the scene's segmentation and names through
:meth:`GraspSAMPolicy.set_context`; ``graspsim run`` sets it from the
environment) -- or, with ``grounder="model"`` and a checkpoint trained with text
prompts (``model.has_text``), through the model's own language path, with no
box and no ground truth: a model with a grounding map (``graspsim train
grounding``) finds the phrase's object with it and decodes that point
(:mod:`.grounding_head`); one without decodes the phrase's tokens directly
(:mod:`.text_encoder`).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from graspsim.policies.base import GroundedPolicy
from graspsim.prompts import Prompt

#: the default model: tiny_rgbd with its language path and grounding head (checkpoints/MODEL_CARD.md)
SHIPPED_CHECKPOINT = Path(__file__).parent / "checkpoints" / "graspsam_tiny_rgbd_sim.pt"
#: the earlier default, RGB only (variant tiny): kept for comparison and as the tiny_rgbd training's starting point
TINY_RGB_CHECKPOINT = Path(__file__).parent / "checkpoints" / "graspsam_tiny_sim.pt"
#: angle changes (radians) tried on each decoded grasp when none is clear as decoded: ±15°, ±30°, ... 90°
TURNS = tuple(sign * math.radians(step) for step in range(15, 90, 15) for sign in (1, -1)) + (math.pi / 2,)


class GraspSAMPolicy(GroundedPolicy):
    name = "graspsam"

    def __init__(self, checkpoint=None, variant: str | None = None, sam_checkpoint=None, grounder=None,
                 top_k: int = 5, fit_opening: bool = True, collision_check: bool = True,
                 fallback: bool = True, depth_refine: bool = True, frozen_decoder: bool = True,
                 colour_refine: bool = False,
                 device: str | None = None, seed: int | None = None):
        import torch

        from .build import VARIANTS, build_graspsam, load_graspsam_checkpoint
        from .frozen_decoder import FrozenDecoder
        from .train import pick_device

        if variant is not None and variant not in VARIANTS:
            raise ValueError(f"variant must be one of {tuple(VARIANTS)}, got {variant!r}")
        dev = pick_device(device)
        if checkpoint is None and sam_checkpoint is not None:
            self.model = build_graspsam(variant or "vit_b", sam_checkpoint=sam_checkpoint, device=dev)
            self.metadata = {"sam_checkpoint": str(sam_checkpoint)}
        else:
            path = Path(checkpoint) if checkpoint is not None else SHIPPED_CHECKPOINT
            if not path.is_file():
                raise ValueError(f"GraspSAM checkpoint {str(path)!r} does not exist"
                                 + ("" if checkpoint is not None else " (the shipped checkpoint is missing from this installation)"))
            self.model, self.metadata = load_graspsam_checkpoint(path, device=dev)
            if variant is not None and self.model.variant != variant:
                raise ValueError(f"checkpoint {str(path)!r} holds variant {self.model.variant!r}, not {variant!r}")
        self.model.eval()
        # further prompts run only the decoder: on the CPU a frozen TorchScript copy is a quarter faster
        self.decoder = FrozenDecoder(self.model.mask_decoder) if frozen_decoder and dev.type == "cpu" else None
        self.top_k = int(top_k)
        self.fit_opening = bool(fit_opening)
        self.collision_check = bool(collision_check)
        self.fallback = bool(fallback)
        self.depth_refine = bool(depth_refine)
        self.colour_refine = bool(colour_refine)
        self._embedding = None
        self._image = None  # the encoded image, compared to tell a further prompt from a new image
        self._encoded_scene = None  # for a model that uses depth: the _scene key its heights came from
        self._scene_cache, self._scene_key = {}, None
        self._torch = torch
        super().__init__(grounder, seed)

    def _use_own_language_path(self) -> None:
        if not self.model.has_text:
            raise ValueError(f"grounder 'model' needs a GraspSAM checkpoint with a language path; this {self.model.variant} "
                             "model has none (train one with graspsim train graspsam --text)")

    def _encode(self, rgb: np.ndarray, observation: dict):
        """The embedding of the observation's image (and heights, for a model that
        uses depth), reused while rgb (and depth, intrinsics, extrinsics) are unchanged.
        For depth the scene cache's key (:meth:`_scene`, renewed whenever the depth or
        the camera changes) tells whether the encoded heights are still current."""
        heights = None
        if self.model.uses_depth:
            missing = [k for k in ("depth", "intrinsics", "extrinsics") if observation.get(k) is None]
            if missing:
                raise ValueError(f"GraspSAM variant {self.model.variant!r} uses depth: the observation needs "
                                 f"{', '.join(missing)}")
            # metres above the table, NaN = no depth
            heights = self._scene(np.asarray(observation["depth"], np.float32), observation["intrinsics"],
                                  observation["extrinsics"], "heights")
        same = self._image is not None and np.array_equal(rgb, self._image)
        if heights is not None:
            same = same and self._encoded_scene is self._scene_key
        if not same:
            with self._torch.no_grad():
                if heights is None:
                    self._embedding = self.model.encode(rgb[None])
                else:
                    self._embedding = self.model.encode(rgb[None], heights=heights[None])
            self._image = rgb.copy()
            self._encoded_scene = self._scene_key if heights is not None else None
        return self._embedding


    def act(self, observation: dict) -> np.ndarray:
        from .colour_refine import refine_prediction
        from .inference import QUALITY_THRESHOLD, predict
        from graspsim.policies.prompting import prompt_arrays, text_prompt_arrays

        rgb = np.asarray(observation["rgb"], np.uint8)
        prompt = Prompt.from_observation(observation["prompt"])
        if prompt.kind == "text" and self.grounder_name == "model":
            arrays = text_prompt_arrays(prompt.text)
        else:
            arrays = prompt_arrays(prompt, rgb.shape[:2], self.grounder, self.context, rgb)
        embedding = self._encode(rgb, observation)
        threshold = 0.0 if self.fallback else QUALITY_THRESHOLD
        pred = predict(self.model, embedding, arrays, rgb.shape[:2], top_k=self.top_k, threshold=threshold,
                       mask_decoder=self.decoder)
        if pred.grounded_point is not None:  # the phrase, read by the model's grounding map, is now a point
            arrays = {**arrays, "points": pred.grounded_point[None].astype(np.float32), "labels": np.ones(1, np.int64)}
        if self.depth_refine:
            self._refine_with_depth(pred, observation, prompt, arrays, threshold)
        if self.colour_refine:
            refine_prediction(self.model, pred, rgb, arrays, self.top_k, threshold)
        if self.fallback and len(pred.rects):
            good = pred.rects[:, 5] >= QUALITY_THRESHOLD
            pred.rects = pred.rects[good] if good.any() else pred.rects[:1]
        self.last_maps = {"mask": pred.mask, "quality": pred.quality, "rects": pred.rects, "prompt_box": arrays.get("box"),
                          "grounded_point": pred.grounded_point, "choice": None}
        if len(pred.rects) == 0 and not ((self.depth_refine or self.colour_refine) and self.collision_check
                                        and pred.mask.any()):
            u, v = _anchor(arrays, rgb.shape[:2])
            return np.array([u, v, 0.0, 0.0], np.float32)
        u, v, angle, opening = self._choose(pred, observation)
        h, w = rgb.shape[:2]
        return np.array([np.clip(u, 0, w - 1), np.clip(v, 0, h - 1), angle, min(opening, max(h, w))], np.float32)

    def _refine_with_depth(self, pred, observation: dict, prompt: Prompt, arrays: dict, threshold: float) -> None:
        """Cut the predicted mask to the depth segment the prompt designates (as the
        analytic policy finds it) and decode the grasps again with their peaks in what
        is left; unchanged when the two do not overlap."""
        from graspsim.geometry.segmentation import prompt_region

        from .inference import cut_prediction

        scene = (np.asarray(observation["depth"], np.float32), observation["intrinsics"], observation["extrinsics"])
        if prompt.kind == "text":  # the grounder's box, or the grounding map's point, stands for the phrase
            if arrays.get("box") is not None:
                prompt = Prompt("box", box=np.asarray(arrays["box"], np.float32))
            elif arrays.get("points") is not None:
                prompt = Prompt("point", points=np.asarray(arrays["points"], np.float32), labels=np.ones(1, np.int64))
            else:
                return  # the model's text tokens alone: nothing to find a depth segment with
        refined = pred.mask & prompt_region(prompt, self._scene(*scene, "segments"), self._scene(*scene, "heights"))
        cut_prediction(self.model, pred, refined, self.top_k, threshold)

    def _scene(self, depth: np.ndarray, k, t, part: str):
        """What the depth image gives, kept while further prompts show the same image and
        computed when first asked for: ``"heights"`` above the table, their depth
        ``"segments"`` (:func:`graspsim.geometry.segmentation.segment`) and the ``"hmap"``
        (:func:`graspsim.geometry.clearance.height_map`)."""
        from graspsim.geometry.clearance import height_map, heights_above_table
        from graspsim.geometry.segmentation import segment

        key = self._scene_key
        k, t = np.asarray(k, np.float64), np.asarray(t, np.float64)
        if key is None or not (np.array_equal(depth, key[0]) and np.array_equal(k, key[1]) and np.array_equal(t, key[2])):
            self._scene_cache, self._scene_key = {}, (depth.copy(), k.copy(), t.copy())
        cache = self._scene_cache
        if part not in cache:
            if "heights" not in cache:
                cache["heights"] = heights_above_table(depth, k, t)
            if part == "segments":
                cache[part] = segment(cache["heights"])
            elif part == "hmap":
                cache[part] = height_map(depth, k, t, heights=cache["heights"])
        return cache[part]

    def _choose(self, pred, observation) -> tuple[float, float, float, float]:
        from graspsim.geometry.clearance import fit_to_points, grasp_margin, surface_points
        from graspsim.geometry.selection import region_grasp
        from graspsim.grasp import wrap_angle
        from graspsim.grippers import gripper_from_observation

        depth = np.asarray(observation["depth"], np.float32) if (self.fit_opening or self.collision_check) else None
        k, t = observation.get("intrinsics"), observation.get("extrinsics")
        points = surface_points(depth, k, t, pred.mask) if self.fit_opening else None
        gripper = gripper_from_observation(observation)

        def fitted(u, v, angle, opening):
            if self.fit_opening:
                u, v, opening = fit_to_points(points, pred.mask.shape, depth, k, t, u, v, angle, opening, gripper=gripper)
            return u, v, angle, opening

        self.last_maps["choice"] = "decoded"
        if not self.collision_check:
            return fitted(*(float(x) for x in pred.rects[0, :4]))
        hmap = self._scene(depth, k, t, "hmap")
        tried = []  # (clearance margin, grasp), in the order tried
        for rect in pred.rects:  # fitted one at a time: the first clear one is usually the best-scored
            grasp = fitted(*(float(x) for x in rect[:4]))
            tried.append((grasp_margin(hmap, depth, k, t, *grasp, gripper=gripper), grasp))
            if tried[-1][0] >= 0:
                return grasp
        # none is clear: turn each peak's grasp, nearest angles first
        for rect in pred.rects:
            u, v, angle, opening = (float(x) for x in rect[:4])
            for turn in TURNS:
                grasp = fitted(u, v, wrap_angle(angle + turn), opening)
                tried.append((grasp_margin(hmap, depth, k, t, *grasp, gripper=gripper), grasp))
                if tried[-1][0] >= 0:
                    self.last_maps["choice"] = "turned"
                    return grasp
        # still none: the analytic synthesis on the predicted mask, else the grasp nearest to clear
        if pred.mask.any():
            action, margin = region_grasp(pred.mask, depth, k, t, hmap, gripper)
            tried.append((margin, tuple(float(x) for x in action)))
            if margin >= 0:
                self.last_maps["choice"] = "region"
                return tried[-1][1]
        self.last_maps["choice"] = "nearest"
        return max(tried, key=lambda item: item[0])[1]  # the first such on ties: the best-scored


def _anchor(arrays: dict, shape) -> tuple[float, float]:
    """Where a no-grasp action points: the prompt's first point or box centre."""
    if arrays.get("points") is not None and len(arrays["points"]):
        return float(arrays["points"][0, 0]), float(arrays["points"][0, 1])
    if arrays.get("box") is not None:
        b = arrays["box"]
        return float((b[0] + b[2]) / 2), float((b[1] + b[3]) / 2)
    return (shape[1] - 1) / 2, (shape[0] - 1) / 2

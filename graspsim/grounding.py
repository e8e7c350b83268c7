"""Grounding: from a phrase ("the red cylinder") to a box prompt.

GraspSAM takes language through a grounding model that turns the text into a
box, then prompts SAM with that box. A :class:`Grounder` does the first step.

Box convention (the one of :mod:`graspsim.prompts` box prompts and of SAM's
``batched_mask_to_box``): ``(u0, v0, u1, v1)`` float32, pixel indices of the
first and the last column / row the object covers (inclusive), u = column
(right), v = row (down); pixel (row i, column j) is centred on (u, v) = (j, i).

Implementations:

- :class:`CatalogueGrounder`: the simulator's grounder. It matches the
  phrase's words against the catalogue names, categories and colour names
  of the objects visible in the segmentation, and returns the tight box of
  the best match's visible pixels. Needs no model.
- :class:`OwlVitGrounder`: an open-vocabulary detector (OWL-ViT, HuggingFace
  ``transformers``, an optional dependency) loaded from a local folder.

:func:`ground_prompt` runs a grounder on a text prompt and raises a clear
error when nothing is found.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Grounder(Protocol):
    """Turns a phrase into a box.

    ``ground(text, rgb, context)`` returns the box (u0, v0, u1, v1), float
    pixels of ``rgb`` (module docstring), or None when nothing matches.
    ``rgb`` is uint8 (H, W, 3); ``context`` carries extra facts a grounder may
    use (the simulator's segmentation and object names, for example).
    """

    def ground(self, text: str, rgb: np.ndarray, context: dict | None = None) -> np.ndarray | None: ...


def _check_text(text) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"grounding needs a non-empty phrase, got {text!r}")
    return text


# -- catalogue grounder -----------------------------------------------------------------
#: words that name no property of an object; dropped before matching
STOPWORDS = frozenset(
    """a an the this that these those some something anything thing things object objects item items one
    of to for from me please pick up grab grasp get take hold lift and or with on in at it its is which
    can you i want would like""".split()
)
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


def _normalise(word: str) -> str:
    """Crude singular: 'cylinders' -> 'cylinder', 'boxes' -> 'box', 'glass' stays."""
    if len(word) > 4 and word.endswith("es") and word[:-2].endswith(("x", "s", "z", "ch", "sh")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    """Lower-case, normalised words of ``text`` in order (stopwords kept)."""
    return [_normalise(w) for w in _WORD.findall(text.lower())]


def _vocabulary(*texts) -> set[str]:
    """Content words of ``texts``; hyphenated words also give their parts of 3+ letters."""
    out: set[str] = set()
    for t in texts:
        if not t:
            continue
        for w in words(t):
            if w in STOPWORDS:
                continue
            out.add(w)
            if "-" in w:
                out.update(_normalise(p) for p in w.split("-") if len(p) >= 3)
    return out


def _contains(seq: list[str], sub: list[str]) -> bool:
    n = len(sub)
    return n > 0 and any(seq[i : i + n] == sub for i in range(len(seq) - n + 1))


def catalogue_context(segmentation, names: dict, object_set=None, scene=None) -> dict:
    """The ``context`` :class:`CatalogueGrounder` needs.

    ``segmentation``: int (H, W), object index + 1 per pixel (0 = none), as in
    the environments' observations; ``names``: object index -> catalogue name
    (``World.names``); ``object_set``: the scene's :class:`ObjectSet`, whose
    entries give each name's category and colour name (names it does not
    know get neither); ``scene``: the scene's spec (or its dict), from which
    the visible objects' facts (:func:`graspsim.phrases.scene_facts`: category,
    drawn colour, size, position) are added as ``facts``, so that referring
    phrases of :mod:`graspsim.phrases` are read with the scene's true colours."""
    context = {"segmentation": np.asarray(segmentation), "names": dict(names), "categories": {}, "colour_names": {}}
    if scene is not None:
        from graspsim.phrases import scene_facts

        seg = np.asarray(segmentation)
        context["facts"] = scene_facts(scene, {int(i): seg == int(i) + 1 for i in names})
    if object_set is not None:
        for index, name in names.items():
            try:
                info = object_set.get(name)
            except ValueError:
                continue
            context["categories"][index] = info.category
            context["colour_names"][index] = info.colour_name
    return context


class CatalogueGrounder:
    """Grounds a phrase on the visible objects of a simulated scene by their words.

    ``context`` keys: ``segmentation`` int (H, W) with object index + 1 per
    pixel (0 or less = no object); ``names`` {index: catalogue name};
    optional ``categories`` {index: category} and ``colour_names``
    {index: colour word or None} (see :func:`catalogue_context`). ``rgb`` is
    not used.

    Scoring, per object with at least ``min_pixels`` visible pixels:

    - exact name match: the name's words appear consecutively in the phrase
      ("red cylinder" in "pick up the red cylinder"): 1000 + the number of
      name words, so it beats any overlap and a longer name beats a shorter
      one it contains;
    - otherwise the number of the phrase's content words (stopwords such as
      "the", "something", "pick" dropped; crude singulars, so "cylinders"
      matches "cylinder") found among the object's name, category and colour
      words ("the cylinder", "something red", "blue box").

    The best-scoring object wins; ties go to the lowest object index. A best
    score of 0 (no word in common) gives None. The box is the tight box of
    the winner's visible pixels (module docstring), float32.

    When the context holds the scene's ``facts`` (``catalogue_context(...,
    scene=)``), a referring phrase of :mod:`graspsim.phrases` is first read
    with them (:func:`graspsim.phrases.resolve`: synonyms of both phrasings, the
    drawn colours, size, position and relation words); the word scoring above
    is the fallback. Either way the grounder reads the simulator's ground
    truth: results with it are *oracle*-grounded.
    """

    def __init__(self, min_pixels: int = 1):
        self.min_pixels = int(min_pixels)

    def scores(self, text: str, context: dict | None) -> dict[int, int]:
        """Score of every visible object (see the class docstring), by object index."""
        _check_text(text)
        seg, names, categories, colours = self._unpack(context)
        counts = np.bincount(np.clip(seg, 0, None).ravel().astype(np.int64), minlength=max(names, default=-1) + 2)
        phrase = words(text)
        content = {w for w in phrase if w not in STOPWORDS}
        out = {}
        for index in sorted(names):
            if index < 0 or index + 1 >= len(counts) or counts[index + 1] < max(self.min_pixels, 1):
                continue
            name_words = words(names[index] or "")
            if name_words and _contains(phrase, name_words):
                out[index] = 1000 + len(name_words)
            else:
                vocab = _vocabulary(names[index], categories.get(index), colours.get(index))
                out[index] = len(content & vocab)
        return out

    def ground(self, text: str, rgb: np.ndarray | None = None, context: dict | None = None) -> np.ndarray | None:
        scores = self.scores(text, context)
        index = None
        if context.get("facts"):
            from graspsim.phrases import resolve

            index = resolve(text, context["facts"])
            if index is not None and index not in scores:
                index = None  # fewer visible pixels than min_pixels
        if index is None:
            if not scores:
                return None
            best = max(scores.values())
            if best <= 0:
                return None
            index = min(i for i, s in scores.items() if s == best)
        vs, us = np.nonzero(np.asarray(context["segmentation"]) == index + 1)
        return np.array([us.min(), vs.min(), us.max(), vs.max()], np.float32)

    @staticmethod
    def _unpack(context):
        if not isinstance(context, dict) or "segmentation" not in context or "names" not in context:
            raise ValueError(
                "CatalogueGrounder needs context={'segmentation': int (H, W) object index + 1, "
                "'names': {index: name}, optional 'categories', 'colour_names'} (see catalogue_context)"
            )
        seg = np.asarray(context["segmentation"])
        if seg.ndim != 2 or not np.issubdtype(seg.dtype, np.integer):
            raise ValueError(f"context['segmentation'] must be an integer (H, W) array, got {seg.dtype} {seg.shape}")
        names = {int(k): v for k, v in context["names"].items()}
        categories = {int(k): v for k, v in (context.get("categories") or {}).items()}
        colours = {int(k): v for k, v in (context.get("colour_names") or {}).items()}
        return seg, names, categories, colours


# -- OWL-ViT grounder -------------------------------------------------------------------
class OwlVitGrounder:
    """Open-vocabulary grounding with OWL-ViT (``transformers``' OwlViTProcessor +
    OwlViTForObjectDetection), loaded from a local folder.

    ``model_name_or_path`` must be a local directory holding a processor and
    a model saved with ``save_pretrained`` (for example a copy of
    google/owlvit-base-patch32 made on a machine with internet access);
    nothing is downloaded. ``threshold``: the smallest detection score
    (sigmoid of the class logit, in [0, 1]) to accept, compared strictly.
    ``device``: a torch device; None picks "cuda" when available, else "cpu".

    ``ground`` returns the highest-scoring box above the threshold in the
    pixels of the given ``rgb`` (the module's inclusive pixel-index
    convention: a detection covering the normalised span [x0, x1] of the
    width W gives u0 = x0·W, u1 = x1·W - 1, clipped to [0, W - 1]; the same
    for rows), or None. OWL-ViT (v1) resizes the whole image to its square
    input without padding, so normalised boxes are fractions of the original
    width and height. OWLv2 (which pads) is not supported.

    The phrase is tokenised with padding to, and truncation at, the text
    model's ``max_position_embeddings`` (16 for the published models).
    """

    def __init__(self, model_name_or_path, threshold: float = 0.1, device=None):
        try:
            import torch
            from transformers import OwlViTForObjectDetection, OwlViTProcessor
        except ImportError as e:
            raise ImportError(
                "OwlVitGrounder needs the optional dependency 'transformers' (and torch): "
                "pip install transformers"
            ) from e
        path = Path(str(model_name_or_path)).expanduser()
        if not path.is_dir():
            raise ValueError(
                f"OwlVitGrounder loads models from a local folder only (nothing is downloaded here); "
                f"{str(model_name_or_path)!r} is not a directory. Save a model and its processor with "
                f"save_pretrained(folder) where internet access exists and pass that folder"
            )
        threshold = float(threshold)
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be a score in [0, 1], got {threshold!r}")
        self.threshold = threshold
        self.device = torch.device(device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu"))
        self.processor = OwlViTProcessor.from_pretrained(str(path), local_files_only=True)
        self.model = OwlViTForObjectDetection.from_pretrained(str(path), local_files_only=True).to(self.device).eval()
        self.max_length = int(getattr(self.model.config.text_config, "max_position_embeddings", 16))
        self._torch = torch

    def detect(self, text: str, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """All of OWL-ViT's boxes for ``text`` on ``rgb``: (P, 4) float32 boxes
        (module convention, original pixels, clipped) and (P,) float64 scores."""
        _check_text(text)
        img = np.asarray(rgb)
        if img.ndim != 3 or img.shape[2] != 3 or img.shape[0] < 1 or img.shape[1] < 1:
            raise ValueError(f"rgb must be an (H, W, 3) image, got shape {img.shape}")
        if img.dtype != np.uint8:
            raise ValueError(f"rgb must be uint8, got {img.dtype}")
        h, w = img.shape[:2]
        torch = self._torch
        tokens = self.processor.tokenizer(
            [text], padding="max_length", truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        pixels = self.processor.image_processor(images=[img], return_tensors="pt")["pixel_values"]
        with torch.no_grad():
            out = self.model(
                input_ids=tokens["input_ids"].to(self.device),
                attention_mask=tokens["attention_mask"].to(self.device),
                pixel_values=pixels.to(self.device, dtype=next(self.model.parameters()).dtype),
            )
        logits = out.logits[0].max(dim=-1).values.double().cpu().numpy()  # (P,)
        scores = 1.0 / (1.0 + np.exp(-logits))
        cx, cy, bw, bh = out.pred_boxes[0].double().cpu().numpy().T  # normalised centre and size
        boxes = np.stack([(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w - 1, (cy + bh / 2) * h - 1], 1)
        boxes = np.clip(boxes, 0.0, [w - 1, h - 1, w - 1, h - 1])
        return boxes.astype(np.float32), scores

    def ground(self, text: str, rgb: np.ndarray, context: dict | None = None) -> np.ndarray | None:
        if rgb is None:
            raise ValueError("OwlVitGrounder needs the rgb image to ground a phrase")
        boxes, scores = self.detect(text, rgb)
        ok = np.isfinite(scores) & np.isfinite(boxes).all(axis=1) & (scores > self.threshold)
        if not ok.any():
            return None
        i = int(np.flatnonzero(ok)[np.argmax(scores[ok])])  # ties: the first box
        return boxes[i].copy()


# -- choosing one ------------------------------------------------------------------------
#: the names ``make_grounder`` takes ("owlvit" as "owlvit:FOLDER"); "model" is a policy's own language path
GROUNDER_NAMES = ("catalogue", "model", "owlvit")
#: grounders that read the simulator's ground truth: their results are labelled oracle
ORACLE_GROUNDERS = ("catalogue",)


def grounder_name(grounder) -> str:
    """The name a grounder goes by in records: ``catalogue``, ``owlvit`` or its class name."""
    if isinstance(grounder, CatalogueGrounder):
        return "catalogue"
    if isinstance(grounder, OwlVitGrounder):
        return "owlvit"
    return type(grounder).__name__


def make_grounder(spec):
    """A grounder from ``"catalogue"`` or ``"owlvit:FOLDER"`` (a local OWL-ViT copy); a
    :class:`Grounder` object is returned as is. ``"model"`` (a policy's own language
    path) is not a grounder: policies that have one handle it (ValueError here)."""
    if spec is None or spec == "catalogue":
        return CatalogueGrounder()
    if not isinstance(spec, str):
        if not isinstance(spec, Grounder):
            raise ValueError(f"grounder must be one of {GROUNDER_NAMES} or a Grounder object, got {spec!r}")
        return spec
    name, _, folder = spec.partition(":")
    if name == "owlvit":
        if not folder:
            raise ValueError("grounder 'owlvit' needs a local model folder: owlvit:FOLDER")
        return OwlVitGrounder(folder)
    if name == "model":
        raise ValueError("grounder 'model' is a policy's own language path, not a grounder of its own")
    raise ValueError(f"grounder must be one of {GROUNDER_NAMES} (owlvit as owlvit:FOLDER), got {spec!r}")


# -- helper ------------------------------------------------------------------------------
def ground_prompt(prompt_or_text, grounder: Grounder, rgb: np.ndarray | None, context: dict | None = None) -> np.ndarray:
    """The float32 box (u0, v0, u1, v1) for a text prompt (a ``Prompt`` of kind
    "text" or a string); ValueError when the grounder finds nothing."""
    from graspsim.prompts import Prompt

    if isinstance(prompt_or_text, Prompt):
        if prompt_or_text.kind != "text":
            raise ValueError(f"ground_prompt needs a text prompt, got a {prompt_or_text.kind!r} prompt")
        text = prompt_or_text.text
    else:
        text = prompt_or_text
    _check_text(text)
    if grounder is None:
        raise ValueError(f"text prompt {text!r} needs a grounder (e.g. CatalogueGrounder or OwlVitGrounder)")
    box = grounder.ground(text, rgb, context)
    if box is None:
        raise ValueError(f"text prompt {text!r} could not be grounded: {type(grounder).__name__} found no matching object")
    box = np.asarray(box, np.float32).reshape(-1)
    if box.shape != (4,) or not np.isfinite(box).all():
        raise ValueError(f"{type(grounder).__name__} returned an invalid box for {text!r}: {box.tolist()}")
    return box

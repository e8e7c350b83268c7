"""Referring phrases for text prompts, generated from what a scene shows.

A phrase names one object of a scene so that a reader can tell it from the
others: "pick up the small red box", "grasp the leftmost cylinder", "the mug
next to the green sphere". :func:`refer` builds one from :class:`ObjectFacts`
(category, colour name, size, image position) of every visible object; the
words come from two disjoint *phrasings*:

- ``"train"``: the category synonyms and templates a learned text path may
  train on;
- ``"held_out"``: other synonyms and templates, never used in training, to
  test whether a model understood the phrase rather than its wording.

How the object is singled out (the first rule that leaves it alone among the
visible objects): its category word (with its colour half of the time); its
colour and category; its size among the objects of its category and colour
("small" / "large", when it is at least :data:`SIZE_RATIO` smaller or larger
than every other one); its position among them ("leftmost" / "rightmost" /
"topmost" / "bottommost" in the image, when it leads the next one by at
least :data:`POSITION_MARGIN_PX`); else a relation to the nearest object that
its own colour and category name alone, when that object lies at least
:data:`RELATION_RATIO` times farther from every rival ("next to the green sphere").

Colour names (:func:`colour_name`) come from the object's drawn RGB
(randomised appearance) or catalogue colour; textured objects have none.
Conventions: image coordinates in pixels, u right, v down; sizes in metres.
"""

from __future__ import annotations

import colorsys
import re
from dataclasses import dataclass

import numpy as np

PHRASINGS = ("train", "held_out")

#: category -> (training synonyms, held-out synonyms); the first training word is the plain name
CATEGORY_WORDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "box": (("box", "block"), ("cube",)),
    "cylinder": (("cylinder", "can"), ("tube",)),
    "sphere": (("sphere", "ball"), ("orb",)),
    "mug": (("mug", "cup"), ("beaker",)),
    "bowl": (("bowl", "dish"), ("basin",)),
    "capsule": (("capsule", "pill"), ("lozenge",)),
    "L-bracket": (("bracket", "angle piece"), ("elbow",)),
    "T-bar": (("T-bar", "tee"), ("crossbar",)),
    "compound": (("compound shape", "assembly"), ("cluster",)),
    "plate": (("plate", "slab"), ("tile",)),
    "prism": (("prism", "bar"), ("beam",)),
    "ring": (("ring", "loop"), ("hoop",)),
    "rod": (("rod", "stick"), ("pole",)),
    "superquadric": (("rounded shape", "blob"), ("pebble",)),
    "ball": (("ball", "sphere"), ("orb",)),
    "block": (("block", "brick"), ("cube",)),
    "toy": (("toy", "figure"), ("plaything",)),
    "procedural": (("object", "shape"), ("item",)),  # random-urdfs: no finer category
}
#: how a phrase starts and ends around the description ("{}")
TEMPLATES: dict[str, tuple[str, ...]] = {
    "train": ("pick up the {}", "grasp the {}", "get the {}", "the {}", "lift the {}", "take the {}"),
    "held_out": ("hand me the {}", "could you grab the {}", "i need the {}"),
}
#: every colour word :func:`colour_name` gives
COLOUR_WORDS = ("red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "white", "grey", "black")
#: the size, position and relation words of descriptions
SIZE_WORDS = ("small", "large")
POSITION_WORDS = ("leftmost", "rightmost", "topmost", "bottommost")
QUALIFIER_WORDS = SIZE_WORDS + POSITION_WORDS + ("next", "to", "the")
#: each position word's image axis (0: u, 1: v) and direction (-1: smallest first)
_POSITION_RULES = tuple(zip(POSITION_WORDS, (0, 0, 1, 1), (-1, 1, -1, 1)))
_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def words(text: str) -> list[str]:
    """The lower-cased words of a phrase (letters, digits, inner hyphens: "t-bar");
    punctuation dropped. The one reading of phrases: :func:`resolve` and GraspSAM's
    tokenizer both use it."""
    return _WORD.findall(str(text).lower())
#: a size word needs the object this many times smaller / larger than every rival
SIZE_RATIO = 1.3
#: a position word needs the object this many pixels ahead of the next rival
POSITION_MARGIN_PX = 12.0
#: a relation needs its anchor this many times farther from every rival than from the target
RELATION_RATIO = 1.5
#: chroma (max - min of RGB) below which a colour is named by lightness alone
CHROMA_MIN = 0.12

#: hue bands (degrees, start inclusive) of the chromatic colour names
_HUES = ((15.0, "red"), (40.0, "orange"), (70.0, "yellow"), (165.0, "green"), (255.0, "blue"), (290.0, "purple"),
         (340.0, "pink"), (360.0, "red"))


def colour_name(rgba) -> str:
    """A basic colour word for an RGB(A) colour in [0, 1]: white, grey, black by
    lightness when the chroma is below :data:`CHROMA_MIN`; else by hue (red, orange,
    yellow, green, blue, purple, pink), with dark oranges and reds named brown."""
    r, g, b = (float(c) for c in np.asarray(rgba, np.float64).reshape(-1)[:3])
    if not all(np.isfinite([r, g, b])) or min(r, g, b) < 0 or max(r, g, b) > 1:
        raise ValueError(f"colour must be RGB(A) values in [0, 1], got {rgba!r}")
    hi, lo = max(r, g, b), min(r, g, b)
    if hi - lo < CHROMA_MIN:
        return "white" if hi >= 0.75 else "black" if hi < 0.25 else "grey"
    hue, _, value = colorsys.rgb_to_hsv(r, g, b)
    hue *= 360.0
    if 10.0 <= hue < 40.0 and value < 0.55:
        return "brown"
    for end, name in _HUES:
        if hue < end:
            return name
    return "red"


@dataclass(frozen=True)
class ObjectFacts:
    """What a phrase may say of one visible object: ``index`` in the scene,
    ``category`` (a key of :data:`CATEGORY_WORDS`), ``colour`` (a colour word, or
    None when textured), ``size_m`` (largest extent, metres), ``centre_uv``
    (the visible mask's centroid, pixels)."""

    index: int
    category: str
    colour: str | None
    size_m: float
    centre_uv: tuple[float, float]


def _word(category: str, phrasing: str, rng: np.random.Generator) -> str:
    if category not in CATEGORY_WORDS:
        raise ValueError(f"no words for category {category!r}; known: {sorted(CATEGORY_WORDS)}")
    options = CATEGORY_WORDS[category][PHRASINGS.index(phrasing)]
    return options[int(rng.integers(len(options)))]


def _named(facts: ObjectFacts, word: str) -> str:
    return f"{facts.colour} {word}" if facts.colour else word


def _superlative(target: ObjectFacts, rivals: list[ObjectFacts]) -> str | None:
    sizes = [r.size_m for r in rivals]
    if target.size_m * SIZE_RATIO <= min(sizes):
        return SIZE_WORDS[0]
    if target.size_m >= SIZE_RATIO * max(sizes):
        return SIZE_WORDS[1]
    u, v = target.centre_uv
    for word, key, sign in _POSITION_RULES:
        mine = sign * (u, v)[key]
        if all(mine >= sign * r.centre_uv[key] + POSITION_MARGIN_PX for r in rivals):
            return word
    return None


def refer(target: int, objects: list[ObjectFacts], rng: np.random.Generator, phrasing: str = "train") -> str:
    """A phrase that singles out the object with index ``target`` among ``objects``
    (module docstring), drawing synonyms and the template from ``rng``; ValueError
    when the target is not among the objects or no rule singles it out."""
    if phrasing not in PHRASINGS:
        raise ValueError(f"phrasing must be one of {PHRASINGS}, got {phrasing!r}")
    by_index = {o.index: o for o in objects}
    if target not in by_index:
        raise ValueError(f"target {target} is not among the objects {sorted(by_index)}")
    me = by_index[target]
    others = [o for o in objects if o.index != target]
    word = _word(me.category, phrasing, rng)
    template = TEMPLATES[phrasing][int(rng.integers(len(TEMPLATES[phrasing])))]
    same_category = [o for o in others if o.category == me.category]
    if not same_category:
        with_colour = me.colour is not None and rng.random() < 0.5
        return template.format(_named(me, word) if with_colour else word)
    # the objects the plain description fits too: same category and colour (textured: same category)
    rivals = [o for o in same_category if o.colour == me.colour] if me.colour is not None else same_category
    if not rivals:
        return template.format(_named(me, word))
    extra = _superlative(me, rivals)
    if extra is not None:
        return template.format(f"{extra} {_named(me, word)}")
    # a relation to the nearest object that its own colour and category single out, when
    # that object is clearly nearer to the target than to every rival
    anchors = [o for o in others if o.colour is not None
               and not any(r.index != o.index and r.category == o.category and r.colour == o.colour for r in objects)]
    if anchors:
        def dist(a, b):
            return float(np.hypot(a.centre_uv[0] - b.centre_uv[0], a.centre_uv[1] - b.centre_uv[1]))

        near = min(anchors, key=lambda o: dist(o, me))
        if all(dist(near, r) >= RELATION_RATIO * dist(near, me) for r in rivals):
            anchor = _named(near, _word(near.category, phrasing, rng))
            return template.format(f"{_named(me, word)} next to the {anchor}")
    raise ValueError(f"no phrase singles out object {target} among {len(objects)} objects")


def _mentions(text_words: list[str], phrase: str) -> bool:
    w = words(phrase)
    return any(text_words[i:i + len(w)] == w for i in range(len(text_words) - len(w) + 1))


def _described(text_words: list[str], objects: list[ObjectFacts]) -> list[ObjectFacts]:
    """The objects a description (words without a relation) fits: category words of
    either phrasing, then a colour word, then a size or position word."""
    fits = [o for o in objects
            if any(_mentions(text_words, w) for ws in CATEGORY_WORDS.get(o.category, ((), ())) for w in ws)]
    colours = [w for w in text_words if w in COLOUR_WORDS]
    if colours:
        fits = [o for o in fits if o.colour in colours]
    if len(fits) > 1:
        if SIZE_WORDS[0] in text_words:
            fits = [min(fits, key=lambda o: o.size_m)]
        elif SIZE_WORDS[1] in text_words:
            fits = [max(fits, key=lambda o: o.size_m)]
        for word, key, sign in _POSITION_RULES:
            if word in text_words:
                fits = [max(fits, key=lambda o: sign * o.centre_uv[key])]
    return fits


def resolve(text: str, objects: list[ObjectFacts]) -> int | None:
    """The index of the object a phrase of :func:`refer` (either phrasing) names among
    ``objects``, read with the scene's true facts -- an oracle, for the simulator's
    grounder --, or None when no object fits. A relation ("... next to the green
    sphere") picks, among the objects the first part fits, the one nearest to the
    object the second part names. Ties: the first object in ``objects`` order."""
    text_words = words(text)
    if "next" in text_words and text_words[text_words.index("next") + 1:text_words.index("next") + 2] == ["to"]:
        cut = text_words.index("next")
        fits = _described(text_words[:cut], objects)
        anchors = _described(text_words[cut + 2:], objects)
        if fits and anchors:
            a = anchors[0]
            fits = [min(fits, key=lambda o: np.hypot(o.centre_uv[0] - a.centre_uv[0], o.centre_uv[1] - a.centre_uv[1]))]
    else:
        fits = _described(text_words, objects)
    return fits[0].index if fits else None


def needs_language(objects: list[ObjectFacts]) -> bool:
    """True when a scene asks for language: at least two objects, every one sharing its
    category or its colour with another (so no single word picks it out), and
    every one singled out by a phrase of :func:`refer` in both phrasings."""
    if len(objects) < 2:
        return False
    for o in objects:
        if not any(r.index != o.index and (r.category == o.category or (o.colour is not None and r.colour == o.colour))
                   for r in objects):
            return False
        for phrasing in PHRASINGS:
            try:
                refer(o.index, objects, np.random.default_rng(0), phrasing)
            except ValueError:
                return False
    return True


def scene_facts(scene, masks) -> list[ObjectFacts]:
    """The facts of the visible objects of a scene: ``scene`` a
    :class:`graspsim.scene.SceneSpec` or its dict; ``masks`` object index -> bool
    (H, W) visible mask (objects without pixels are left out). Category and size
    come from the object set's catalogue (size: the largest catalogue extent times
    the object's scale); the colour from the scene's appearance when it has one
    (None for a textured object), else the catalogue colour."""
    from graspsim.objects import get_object_set

    d = scene.to_dict() if hasattr(scene, "to_dict") else dict(scene)
    catalogue = get_object_set(d["object_set"])
    looks = (d.get("appearance") or {}).get("objects")
    out = []
    for i, obj in enumerate(d["objects"]):
        mask = masks.get(i)
        if mask is None or not np.any(mask):
            continue
        info = catalogue.get(obj["name"])
        if looks is not None:
            look = looks[i]
            colour = None if look.get("texture") else colour_name(look["rgba"])
        else:
            colour = None if info.colour is None else colour_name(info.colour)
        vs, us = np.nonzero(mask)
        out.append(ObjectFacts(i, info.category, colour, float(max(info.size)) * float(obj.get("scale", 1.0)),
                               (float(us.mean()), float(vs.mean()))))
    return out


__all__ = ["CATEGORY_WORDS", "COLOUR_WORDS", "POSITION_WORDS", "QUALIFIER_WORDS", "SIZE_WORDS", "ObjectFacts", "PHRASINGS", "TEMPLATES", "colour_name", "needs_language", "refer", "resolve",
           "scene_facts", "words"]

"""Referring phrases: colour names, each rule that singles an object out, phrasings kept apart."""

import numpy as np
import pytest

from graspsim.phrases import CATEGORY_WORDS, TEMPLATES, ObjectFacts, colour_name, refer


@pytest.mark.parametrize("rgb, name", [
    ((0.95, 0.95, 0.95), "white"), ((0.5, 0.52, 0.5), "grey"), ((0.1, 0.1, 0.12), "black"),
    ((0.85, 0.1, 0.1), "red"), ((0.95, 0.55, 0.1), "orange"), ((0.9, 0.85, 0.1), "yellow"),
    ((0.1, 0.7, 0.2), "green"), ((0.12, 0.3, 0.85), "blue"), ((0.5, 0.2, 0.8), "purple"),
    ((0.95, 0.4, 0.7), "pink"), ((0.45, 0.25, 0.1), "brown"),
])
def test_colour_names(rgb, name):
    assert colour_name(rgb + (1.0,)) == name


def test_colour_name_refuses_out_of_range_values():
    with pytest.raises(ValueError, match="colour must be RGB"):
        colour_name((1.2, 0.0, 0.0))


def facts(i, category, colour, size=0.05, uv=(100.0, 100.0)):
    return ObjectFacts(i, category, colour, size, uv)


def words_of(phrasing):
    k = 0 if phrasing == "train" else 1
    return {w for ws in CATEGORY_WORDS.values() for w in ws[k]}


def test_each_rule_singles_out_the_target():
    rng = np.random.default_rng(0)
    alone = [facts(0, "box", "red"), facts(1, "sphere", "red", uv=(200, 100))]
    phrase = refer(0, alone, rng)
    assert phrase.endswith(("box", "block")), phrase
    by_colour = [facts(0, "box", "red"), facts(1, "box", "blue", uv=(200, 100))]
    assert "red " in refer(0, by_colour, rng) and "blue" not in refer(0, by_colour, rng)
    by_size = [facts(0, "box", "red", size=0.03), facts(1, "box", "red", size=0.06, uv=(200, 100))]
    assert "small red" in refer(0, by_size, rng) and "large red" in refer(1, by_size, rng)
    by_place = [facts(0, "box", "red", uv=(50, 100)), facts(1, "box", "red", uv=(200, 100))]
    assert "leftmost red" in refer(0, by_place, rng) and "rightmost red" in refer(1, by_place, rng)
    # two alike boxes side by side (no size or position word): a relation to a green sphere beside one
    by_relation = [facts(0, "box", "red", uv=(100, 100)), facts(1, "box", "red", uv=(105, 100)),
                   facts(2, "sphere", "green", uv=(100, 160))]
    with pytest.raises(ValueError, match="no phrase singles out object 0"):
        refer(0, by_relation, rng)  # the sphere is as near to both boxes
    by_relation = [facts(0, "box", "red", uv=(100, 100)), facts(1, "box", "red", uv=(108, 108)),
                   facts(2, "sphere", "green", uv=(90, 90))]
    phrase = refer(0, by_relation, rng)
    assert "next to the green" in phrase and phrase.split(" next to")[0].endswith(("red box", "red block"))


def test_phrasings_never_share_words_or_templates():
    assert not words_of("train") & words_of("held_out")
    assert not set(TEMPLATES["train"]) & set(TEMPLATES["held_out"])
    rng = np.random.default_rng(1)
    scene = [facts(0, "box", "red"), facts(1, "cylinder", "blue", uv=(200, 100)), facts(2, "mug", None, uv=(20, 20))]
    for target in range(3):
        for _ in range(20):
            held = refer(target, scene, rng, phrasing="held_out")
            assert any(held.startswith(t.split("{}")[0]) for t in TEMPLATES["held_out"])
            assert not any(f" {w}" in held for w in ("box", "block", "cylinder", "can", "mug", "cup"))


def test_same_rng_same_phrase_and_bad_input():
    scene = [facts(0, "box", "red"), facts(1, "box", "blue", uv=(200, 100))]
    assert refer(0, scene, np.random.default_rng(5)) == refer(0, scene, np.random.default_rng(5))
    with pytest.raises(ValueError, match="target 7 is not among"):
        refer(7, scene, np.random.default_rng(0))
    with pytest.raises(ValueError, match="phrasing must be one of"):
        refer(0, scene, np.random.default_rng(0), phrasing="test")
    with pytest.raises(ValueError, match="no words for category 'spaceship'"):
        refer(0, [facts(0, "spaceship", "red")], np.random.default_rng(0))


def test_resolve_reads_back_every_phrase_refer_makes():
    """The oracle reading finds the object each generated phrase names, in both phrasings."""
    from graspsim.phrases import resolve

    rng = np.random.default_rng(2)
    colours = ("red", "blue", None, "grey")
    for trial in range(200):
        n = int(rng.integers(2, 6))
        scene = [facts(i, str(rng.choice(["box", "cylinder", "mug", "sphere"])), colours[int(rng.integers(4))],
                       size=float(rng.uniform(0.03, 0.08)), uv=tuple(rng.uniform(0, 320, 2))) for i in range(n)]
        for target in range(n):
            for phrasing in ("train", "held_out"):
                try:
                    phrase = refer(target, scene, rng, phrasing)
                except ValueError:
                    continue
                assert resolve(phrase, scene) == target, (phrase, scene)
    assert resolve("the purple spaceship", [facts(0, "box", "red")]) is None


def test_needs_language():
    from graspsim.phrases import needs_language

    assert needs_language([facts(0, "box", "red"), facts(1, "box", "blue", uv=(200, 100))])  # same category
    assert needs_language([facts(0, "box", "red"), facts(1, "sphere", "red", uv=(200, 100))])  # same colour
    assert not needs_language([facts(0, "box", "red"), facts(1, "sphere", "blue", uv=(200, 100))])  # one word each
    assert not needs_language([facts(0, "box", "red")])
    twins = [facts(0, "box", "red", uv=(100, 100)), facts(1, "box", "red", uv=(105, 104))]
    assert not needs_language(twins)  # no phrase tells them apart

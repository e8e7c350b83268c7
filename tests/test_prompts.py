"""Prompts as data: text codes, the fixed-size observation form and back, the record form, making prompts."""

import numpy as np
import pytest
from gymnasium import spaces

from graspsim.prompts import (MAX_POINTS, PROMPT_KINDS, TEXT_CHARSET, TEXT_MAX_LENGTH, Prompt, check_kind, decode_text,
                              encode_text, make_prompt, prompt_space)


def test_text_codes_round_trip_and_limits():
    codes = encode_text("red box")
    assert codes.dtype == np.uint8 and codes.shape == (TEXT_MAX_LENGTH,)
    assert codes[:7].tolist() == [ord(c) for c in "red box"] and not codes[7:].any()
    assert decode_text(codes) == "red box"
    assert decode_text(encode_text("")) == ""
    longest = "a" * TEXT_MAX_LENGTH
    assert decode_text(encode_text(longest)) == longest
    every = TEXT_CHARSET[:TEXT_MAX_LENGTH]
    assert decode_text(encode_text(every)) == every
    with pytest.raises(ValueError, match=f"must have at most {TEXT_MAX_LENGTH} characters"):
        encode_text("a" * (TEXT_MAX_LENGTH + 1))
    with pytest.raises(ValueError, match="'red box!' must have at most"):
        encode_text("red box!")
    # zeros anywhere are padding, and codes come back as ASCII text
    assert decode_text(np.array([0, 104, 0, 105, 0], np.uint8)) == "hi"


def test_check_kind():
    for kind in PROMPT_KINDS:
        assert check_kind(kind) == kind
    with pytest.raises(ValueError, match="prompt must be one of .* got 'wave'"):
        check_kind("wave")


def _prompts():
    mask = np.zeros((6, 8), bool)
    mask[1:3, 2:5] = True
    return [
        Prompt("point", np.array([[3.0, 4.5]], np.float32), np.array([1])),
        Prompt("points", np.array([[1.0, 2.0], [5.25, 0.5], [7.0, 5.0]], np.float32), np.array([1, 0, 1])),
        Prompt("box", box=np.array([1.0, 2.0, 6.0, 5.0], np.float32)),
        Prompt("mask", mask=mask),
        Prompt("text", text="the red box"),
        Prompt("gaze", np.array([[2.5, 3.5]], np.float32), np.array([1])),
    ]


def test_observation_form_is_fixed_size_padded_and_inside_the_space():
    space = prompt_space(6, 8)
    for p in _prompts():
        obs = p.to_observation((6, 8))
        assert space.contains(obs), p.kind
        assert obs["kind"] == PROMPT_KINDS.index(p.kind)
        n = len(p.points)
        np.testing.assert_array_equal(obs["points"][:n], p.points)
        assert (obs["points"][n:] == -1).all() and (obs["labels"][n:] == -1).all()
        np.testing.assert_array_equal(obs["labels"][:n], p.labels)
        if p.box is None:
            assert obs["box"].tolist() == [-1.0] * 4
        else:
            np.testing.assert_array_equal(obs["box"], p.box)
        if p.mask is None:
            assert obs["mask"].shape == (6, 8) and not obs["mask"].any()
        else:
            np.testing.assert_array_equal(obs["mask"], p.mask.astype(np.uint8))
        assert decode_text(obs["text"]) == p.text
    assert isinstance(space["kind"], spaces.Discrete) and space["kind"].n == len(PROMPT_KINDS)
    assert space["points"].shape == (MAX_POINTS, 2) and space["points"].high.max() == 8.0
    assert space["box"].low.min() == -1.0 and space["mask"].shape == (6, 8)
    assert space["labels"].low.min() == -1 and space["labels"].high.max() == 1
    assert space["text"].shape == (TEXT_MAX_LENGTH,) and space["text"].high.max() == 127


def test_observation_form_round_trips_and_never_aliases():
    for p in _prompts():
        obs = p.to_observation((6, 8))
        back = Prompt.from_observation(obs)
        assert back.kind == p.kind and back.text == p.text
        np.testing.assert_array_equal(back.points, p.points)
        np.testing.assert_array_equal(back.labels, p.labels)
        assert back.points.dtype == np.float32 and back.labels.dtype == np.int64
        assert (back.box is None) == (p.kind != "box") and (back.mask is None) == (p.kind != "mask")
        if p.box is not None:
            np.testing.assert_array_equal(back.box, p.box)
            obs["box"][0] = 99.0
            assert p.box[0] != 99.0  # the observation holds a copy
        if p.mask is not None:
            assert back.mask.dtype == bool
            np.testing.assert_array_equal(back.mask, p.mask)
            obs["mask"][:] = 1
            assert not p.mask.all()
    # padding entries (label -1) are dropped; negative points (label 0) kept
    obs = _prompts()[1].to_observation((6, 8))
    assert len(Prompt.from_observation(obs).points) == 3


def test_record_form():
    point, points, box, mask, text, gaze = _prompts()
    assert point.to_dict() == {"kind": "point", "points": [[3.0, 4.5]], "labels": [1]}
    assert points.to_dict() == {"kind": "points", "points": [[1.0, 2.0], [5.25, 0.5], [7.0, 5.0]], "labels": [1, 0, 1]}
    assert box.to_dict() == {"kind": "box", "box": [1.0, 2.0, 6.0, 5.0]}
    assert mask.to_dict() == {"kind": "mask", "mask_pixels": 6}
    assert text.to_dict() == {"kind": "text", "text": "the red box"}
    rounded = Prompt("point", np.array([[1.234, 2.987]], np.float32), np.array([1])).to_dict()["points"]
    assert np.allclose(rounded, [[1.23, 2.99]], atol=1e-6)  # two decimals (float32)
    assert Prompt("text").to_dict() == {"kind": "text"}


def test_make_prompt_every_kind():
    mask = np.zeros((20, 30), bool)
    mask[5:9, 10:16] = True
    rng = np.random.default_rng(0)
    pt = make_prompt("point", mask, "", rng)
    assert pt.points.shape == (1, 2) and pt.labels.tolist() == [1]
    assert mask[int(pt.points[0, 1]), int(pt.points[0, 0])]
    pts = make_prompt("points", mask, "", rng, n_points=4)
    assert pts.points.shape == (4, 2) and all(mask[int(v), int(u)] for u, v in pts.points)
    assert len({tuple(x) for x in pts.points.tolist()}) == 4  # drawn without replacement when the mask allows
    assert make_prompt("box", mask, "", rng).box.tolist() == [10.0, 5.0, 15.0, 8.0]  # inclusive pixel indices
    np.testing.assert_array_equal(make_prompt("mask", mask, "", rng).mask, mask)
    assert make_prompt("text", mask, "red box", rng).text == "red box"
    gaze = make_prompt("gaze", mask, "", np.random.default_rng(1), gaze_noise_px=0.0)
    assert gaze.points.tolist() == [[12.5, 6.5]]  # the mask's centroid without noise
    far = make_prompt("gaze", mask, "", np.random.default_rng(1), gaze_noise_px=1000.0)
    assert 0 <= far.points[0, 0] <= 29 and 0 <= far.points[0, 1] <= 19  # clipped into the image
    one = np.zeros((4, 4), bool)
    one[2, 3] = True
    assert make_prompt("points", one, "", rng, n_points=3).points.tolist() == [[3.0, 2.0]] * 3  # with replacement
    with pytest.raises(ValueError, match="not visible"):
        make_prompt("point", np.zeros((4, 4), bool), "", rng)
    with pytest.raises(ValueError, match=f"n_points must be in \\[1, {MAX_POINTS}\\], got 11"):
        make_prompt("points", mask, "", rng, n_points=11)
    with pytest.raises(ValueError, match="must have at most"):
        make_prompt("text", mask, "red box?", rng)
    with pytest.raises(ValueError, match="prompt must be one of"):
        make_prompt("wave", mask, "", rng)


def test_make_prompt_exact_rules():
    """Kinds, dtypes, defaults and sampling rules that decide a prompt, one by one."""
    mask = np.zeros((20, 30), np.uint8)  # an integer mask is read as bool
    mask[5:9, 10:16] = 1
    rng = np.random.default_rng(3)
    pt = make_prompt("point", mask, "", rng)
    assert pt.kind == "point" and pt.points.dtype == np.float32 and pt.labels.dtype == np.int64
    assert (pt.points == np.round(pt.points)).all()  # a mask pixel, not a noisy centroid
    assert make_prompt("mask", mask, "", rng).mask.dtype == bool
    assert len(make_prompt("points", mask, "", rng).points) == 3  # the default n_points
    assert len(make_prompt("points", mask, "", rng, n_points=MAX_POINTS).points) == MAX_POINTS
    ten = np.zeros((4, 4), bool)
    ten.flat[:10] = True
    for seed in range(5):  # as many points as pixels: each pixel once
        pts = make_prompt("points", ten, "", np.random.default_rng(seed), n_points=10).points
        assert len({tuple(p) for p in pts.tolist()}) == 10
    # gaze: the visible centroid plus N(0, gaze_noise_px) per axis, 8 px by default
    gaze = make_prompt("gaze", mask, "", np.random.default_rng(7))
    expected = np.array([12.5, 6.5]) + np.random.default_rng(7).normal(0.0, 8.0, size=2)
    np.testing.assert_allclose(gaze.points[0], np.clip(expected, 0, [29, 19]), atol=1e-4)
    assert gaze.kind == "gaze" and gaze.labels.tolist() == [1]
    with pytest.raises(ValueError, match="^make_prompt: the target is not visible \\(empty mask\\)$"):
        make_prompt("box", np.zeros((4, 4), bool), "", rng)


def test_observation_dtypes_space_bounds_and_kinds_made():
    space = prompt_space(6, 8)
    for key, dtype in (("points", np.float32), ("labels", np.int64), ("box", np.float32), ("mask", np.uint8),
                       ("text", np.uint8)):
        assert space[key].dtype == dtype, key
    assert space["points"].low.min() == -1.0 and space["mask"].high.max() == 1
    for p in _prompts():
        obs = p.to_observation((6, 8))
        assert obs["points"].dtype == np.float32 and obs["labels"].dtype == np.int64
        assert obs["box"].dtype == np.float32 and obs["mask"].dtype == np.uint8
    back = Prompt.from_observation({**_prompts()[2].to_observation((6, 8)),
                                    "points": np.zeros((MAX_POINTS, 2)), "box": np.array([1, 2, 6, 5], np.int64)})
    assert back.points.dtype == np.float32 and back.box.dtype == np.float32
    mask = np.zeros((20, 30), bool)
    mask[5:9, 10:16] = True
    rng = np.random.default_rng(0)
    for kind in ("box", "mask", "text"):
        made = make_prompt(kind, mask, "red box", rng)
        assert made.kind == kind
    assert make_prompt("box", mask, "", rng).box.dtype == np.float32
    gaze = make_prompt("gaze", mask, "", rng)
    assert gaze.points.dtype == np.float32 and gaze.labels.dtype == np.int64
    # a gaze far outside lands on the image's last pixel centre, or on its first
    corner = np.zeros((20, 30), bool)
    corner[19, 29] = True
    far = make_prompt("gaze", corner, "", np.random.default_rng(0), gaze_noise_px=1e6)
    assert far.points[0].tolist() in ([0.0, 0.0], [29.0, 0.0], [0.0, 19.0], [29.0, 19.0])
    ends = {tuple(make_prompt("gaze", corner, "", np.random.default_rng(s), gaze_noise_px=1e6).points[0].tolist())
            for s in range(40)}
    assert ends == {(0.0, 0.0), (29.0, 0.0), (0.0, 19.0), (29.0, 19.0)}


def test_observation_copies_and_casts_what_it_is_given():
    wide = Prompt("box", box=np.array([1.0, 2.0, 6.0, 5.0], np.float64))
    assert wide.to_observation((6, 8))["box"].dtype == np.float32  # cast to the space's dtype
    as_uint8 = np.zeros((6, 8), np.uint8)
    as_uint8[2, 3] = 1
    p = Prompt("mask", mask=as_uint8)
    obs = p.to_observation((6, 8))
    obs["mask"][:] = 1
    assert as_uint8.sum() == 1  # a copy even when no cast is needed
    assert decode_text([104, 105, 0, 0]) == "hi"  # a list of codes reads as bytes

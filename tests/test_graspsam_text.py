"""GraspSAM's language path: tokenizer, text encoder, grounding head, its loss, reading and checkpoints."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from graspsim.policies.graspsam.build import (
    build_graspsam,
    init_from_checkpoint,
    load_graspsam_checkpoint,
    save_graspsam_checkpoint,
)
from graspsim.policies.graspsam.grounding_head import grounded_points, grounding_loss, mask_coverage, target_cells
from graspsim.policies.graspsam.text_encoder import MAX_WORDS, tokenize, training_vocabulary
from graspsim.policies.graspsam.train import GROUNDING_LOSS_WEIGHT, TrainConfig, grasp_loss

PHRASES = ["the red box", "pick up the leftmost cylinder"]


@pytest.fixture(scope="module")
def grounded():
    torch.manual_seed(0)
    return build_graspsam("tiny", text_vocabulary=True, text_grounding=True)


def _images(n=2, seed=0):
    return np.random.default_rng(seed).integers(0, 255, (n, 64, 64, 3), dtype=np.uint8)


def test_tokenizer_maps_unknown_words_to_unk_and_truncates():
    vocab = training_vocabulary()
    ids = tokenize(["the red box", "hand me the beaker"], vocab)
    assert ids.shape == (2, MAX_WORDS)
    assert [vocab[i] for i in ids[0, :3]] == ["the", "red", "box"] and ids[0, 3:].eq(0).all()
    assert [vocab[i] for i in ids[1, :4]] == ["<unk>", "<unk>", "the", "<unk>"]  # held-out words
    assert tokenize([" ".join(["red"] * 40)], vocab).ne(0).sum() == MAX_WORDS
    with pytest.raises(ValueError, match="has no words"):
        tokenize(["  "], vocab)
    with pytest.raises(ValueError, match="list of phrases"):
        tokenize("the red box", vocab)


def test_embedding_cells_are_the_model_input_averaged_over_each_embedding_cell(grounded):
    images = _images()
    emb = grounded.encode(images)
    x, _, _ = grounded.preprocess(images)
    h = grounded.embedding_size
    assert emb.cells.shape == (2, 3, h, h)
    side = x.shape[-1] // h
    torch.testing.assert_close(emb.cells, x.reshape(2, 3, h, side, h, side).mean(dim=(3, 5)))
    torch.testing.assert_close(emb.select(1).cells, emb.cells[1:2])


def test_grounding_map_depends_on_the_phrase_and_broadcasts_one_image(grounded):
    m = grounded
    with torch.no_grad():
        emb = m.encode(_images(1))
        both = m.ground(emb, PHRASES)
        each = torch.cat([m.ground(emb, [p]) for p in PHRASES])
        decoded = m.decode(emb, texts=PHRASES).grounding_logits
    h = m.embedding_size
    assert both.shape == (2, h, h)
    torch.testing.assert_close(both, each)
    torch.testing.assert_close(decoded, both)  # decode carries the same map, for training
    assert not torch.allclose(both[0], both[1])  # the phrase changes the map
    assert m.decode(emb, boxes=np.array([[5, 5, 30, 30]])).grounding_logits is None  # only texts ground
    plain = build_graspsam("tiny", text_vocabulary=True)
    with pytest.raises(ValueError, match="has no grounding map"):
        plain.ground(plain.encode(_images(1)), PHRASES[:1])


def test_the_map_does_not_enter_the_decoder(grounded):
    """The decoder's output for a phrase is the same with or without a grounding head."""
    m = grounded
    plain = build_graspsam("tiny", text_vocabulary=True)
    plain.load_state_dict({k: v for k, v in m.state_dict().items() if ".head." not in k and ".ground_words." not in k})
    with torch.no_grad():
        mine = m.decode(m.encode(_images()), texts=PHRASES).mask_logits
        theirs = plain.decode(plain.encode(_images()), texts=PHRASES).mask_logits
        with_mask = m.decode(m.encode(_images(1)), texts=PHRASES[:1], mask_prompts=np.ones((1, 1, 64, 64), bool))
    torch.testing.assert_close(mine, theirs)
    assert with_mask.grounding_logits.shape[0] == 1  # texts and a mask prompt combine


def test_grounding_loss_is_bce_plus_cross_entropy_over_cells():
    logits = torch.tensor([[[2.0, -1.0], [0.5, -3.0]]])
    coverage = torch.tensor([[[1.0, 0.0], [0.5, 0.0]]])
    bce = F.binary_cross_entropy_with_logits(logits, coverage)
    log_p = torch.log_softmax(logits.flatten(), 0)
    ce = -(log_p[0] * 1.0 + log_p[2] * 0.5) / 1.5
    assert float(grounding_loss(logits, coverage)) == pytest.approx(float(bce + ce), rel=1e-6)
    empty = torch.zeros_like(coverage)  # an object that covers no cell: BCE only
    assert float(grounding_loss(logits, empty)) == pytest.approx(float(F.binary_cross_entropy_with_logits(logits, empty)))


def test_training_adds_the_grounding_loss_on_the_map(grounded):
    m = grounded
    with torch.no_grad():
        out = m(_images(), texts=PHRASES)
    s, h = m.output_size, m.embedding_size
    mask = torch.zeros(2, s, s)
    mask[:, 10:30, 20:40] = 1
    targets = {"mask": mask, **{k: torch.zeros(2, s, s) for k in ("quality", "cos2", "sin2", "width")}}
    with_map, parts = grasp_loss(out, targets)
    without, _ = grasp_loss(type(out)(out.mask_logits, out.grasp_maps, out.iou_pred, out.sam_mask_logits), targets)
    expected = float(grounding_loss(out.grounding_logits, target_cells(mask, h)))
    assert parts["ground"] == pytest.approx(expected, rel=1e-5)
    assert float(with_map - without) == pytest.approx(GROUNDING_LOSS_WEIGHT * expected, rel=1e-5)


def test_target_cells_and_mask_coverage():
    mask = torch.zeros(1, 8, 8)
    mask[0, :4, :2] = 1
    cells = target_cells(mask, 2)
    torch.testing.assert_close(cells, torch.tensor([[[0.5, 0.0], [0.0, 0.0]]]))
    with pytest.raises(ValueError, match="does not divide"):
        target_cells(torch.zeros(1, 10, 10), 4)
    # a 20 x 40 image fills the top half of a 64-pixel model input: its right half is the grid's top-right
    image_mask = np.zeros((20, 40), bool)
    image_mask[:, 20:] = True
    cov = mask_coverage(image_mask, (32, 64), 64, 4)
    torch.testing.assert_close(cov, torch.tensor([[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0.0]]))


def test_grounded_points_are_the_maps_peak_in_original_pixels_never_in_the_padding():
    logits = torch.full((2, 4, 4), -5.0)
    logits[0, 1, 2] = 5.0  # cell row 1, column 2
    logits[1, 3, 0] = 9.0  # in the padding (the image fills the top half)
    logits[1, 0, 3] = 1.0
    # a 20 x 40 image, resized to 32 x 64 in a 64-pixel input: 1.6 input pixels per original pixel
    points = grounded_points(logits, (32, 64), 64, (20, 40)).numpy()
    u, v = points[0]
    assert 2 * 16 / 1.6 - 0.5 <= u <= 3 * 16 / 1.6 - 0.5 and 16 / 1.6 - 0.5 <= v <= 2 * 16 / 1.6 - 0.5
    u, v = points[1]
    assert 0 <= v <= 19 and u >= 3 * 16 / 1.6 - 1  # the best cell inside the image, top right
    assert (points[:, 0] <= 39).all() and (points[:, 1] <= 19).all()


def test_grounding_survives_checkpoints_and_old_language_paths_gain_it(grounded, tmp_path):
    save_graspsam_checkpoint(grounded, tmp_path / "g.pt")
    back, _ = load_graspsam_checkpoint(tmp_path / "g.pt")
    assert back.text_encoder.grounding and back.build_config["text_grounding"] is True
    for (name, a), b in zip(grounded.state_dict().items(), back.state_dict().values()):
        assert torch.equal(a, b), name

    old = build_graspsam("tiny", text_vocabulary=True)  # a language path from before the grounding map
    save_graspsam_checkpoint(old, tmp_path / "old.pt")
    reloaded, _ = load_graspsam_checkpoint(tmp_path / "old.pt")
    assert reloaded.has_text and not reloaded.text_encoder.grounding
    new = build_graspsam("tiny", text_vocabulary=True, text_grounding=True)
    report, _ = init_from_checkpoint(new, tmp_path / "old.pt")
    assert sorted(report.skipped) == sorted(k for k in new.state_dict() if ".head." in k or ".ground_words." in k)
    torch.testing.assert_close(new.text_encoder.embed.weight, old.text_encoder.embed.weight)


def test_grounding_needs_a_language_path():
    with pytest.raises(ValueError, match="text_grounding needs a language path"):
        build_graspsam("tiny", text_grounding=True)
    with pytest.raises(ValueError, match="text_grounding needs text=True"):
        TrainConfig(data="d", out="o", text_grounding=True).check()


def test_phrase_vectors_are_the_mean_token_plus_a_bag_of_words(grounded):
    te = grounded.text_encoder
    ids = tokenize(["the red box", "red"], te.vocabulary)
    with torch.no_grad():
        got = te.phrase_vectors(ids)
        tokens = te(ids).mean(dim=1)
        words = te.ground_words.weight
        red, the, box = (te.vocabulary.index(w) for w in ("red", "the", "box"))
        torch.testing.assert_close(got[0], tokens[0] + (words[the] + words[red] + words[box]) / 3)
        torch.testing.assert_close(got[1], tokens[1] + words[red])  # padding counts for nothing
    plain = build_graspsam("tiny", text_vocabulary=True)
    with pytest.raises(ValueError, match="has no grounding map"):
        plain.text_encoder.phrase_vectors(ids)

"""GraspSAM's language path: tokenizer, text encoder, grounding map, its loss and checkpoints."""

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


def test_grounding_map_is_the_scaled_dot_product_of_phrase_and_image(grounded):
    m = grounded
    with torch.no_grad():
        emb = m.encode(_images())
        out = m.decode(emb, texts=PHRASES)
        te = m.text_encoder
        tokens = te.encode_texts(PHRASES)
        q = te.ground_query(tokens.mean(dim=1))
        k = te.ground_key(emb.image_embedding + m.prompt_encoder.get_dense_pe())
        c = q.shape[1]
        expected = torch.stack([(q[b, :, None, None] * k[b]).sum(0) for b in range(2)]) / c**0.5 + te.ground_bias
    h = m.embedding_size
    assert out.grounding_logits.shape == (2, h, h)
    torch.testing.assert_close(out.grounding_logits, expected)
    assert not torch.allclose(out.grounding_logits[0], out.grounding_logits[1])  # the phrase changes the map
    assert m.decode(emb, boxes=np.array([[5, 5, 30, 30]] * 2)).grounding_logits is None  # only texts ground


def test_grounding_reaches_the_decoder_only_through_its_learned_vector(grounded):
    """``ground_embed`` starts at zero: the map does not change the decoder's output until it is learned."""
    m = grounded
    with torch.no_grad():
        emb = m.encode(_images())
        before = m.decode(emb, texts=PHRASES).mask_logits
        plain = build_graspsam("tiny", text_vocabulary=True)
        plain.load_state_dict({k: v for k, v in m.state_dict().items() if ".ground_" not in k})
        torch.testing.assert_close(plain.decode(plain.encode(_images()), texts=PHRASES).mask_logits, before)
        m.text_encoder.ground_embed.fill_(0.5)
        try:
            after = m.decode(emb, texts=PHRASES).mask_logits
        finally:
            m.text_encoder.ground_embed.zero_()
    assert not torch.allclose(before, after)


def test_texts_do_not_combine_with_a_mask_prompt_when_grounding(grounded):
    emb = grounded.encode(_images(1))
    with pytest.raises(ValueError, match="texts and mask_prompts cannot be combined"):
        grounded.decode(emb, texts=["the red box"], mask_prompts=np.ones((1, 1, 64, 64), bool))


def test_grounding_loss_is_bce_plus_dice_of_the_upsampled_map(grounded):
    m = grounded
    with torch.no_grad():
        out = m(_images(), texts=PHRASES)
    s = m.output_size
    mask = torch.zeros(2, s, s)
    mask[:, 10:30, 20:40] = 1
    targets = {"mask": mask, **{k: torch.zeros(2, s, s) for k in ("quality", "cos2", "sin2", "width")}}
    with_map, parts = grasp_loss(out, targets)
    without, _ = grasp_loss(type(out)(out.mask_logits, out.grasp_maps, out.iou_pred, out.sam_mask_logits), targets)
    g = F.interpolate(out.grounding_logits.unsqueeze(1), size=(s, s), mode="bilinear", align_corners=False)[:, 0]
    bce = F.binary_cross_entropy_with_logits(g, mask)
    p = torch.sigmoid(g)
    dice = 1 - ((2 * (p * mask).sum(dim=(1, 2)) + 1) / (p.sum(dim=(1, 2)) + mask.sum(dim=(1, 2)) + 1)).mean()
    assert parts["ground"] == pytest.approx(float(bce + dice), rel=1e-5)
    assert float(with_map - without) == pytest.approx(GROUNDING_LOSS_WEIGHT * float(bce + dice), rel=1e-5)


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
    assert sorted(report.skipped) == sorted(k for k in new.state_dict() if ".ground_" in k)
    torch.testing.assert_close(new.text_encoder.embed.weight, old.text_encoder.embed.weight)


def test_grounding_needs_a_language_path():
    with pytest.raises(ValueError, match="text_grounding needs a language path"):
        build_graspsam("tiny", text_grounding=True)
    with pytest.raises(ValueError, match="text_grounding needs text=True"):
        TrainConfig(data="d", out="o", text_grounding=True).check()

"""GraspSAM model: shapes, prompt handling, embedding reuse, checkpoints and
key-for-key compatibility with official SAM / MobileSAM weights.

Big variants are only ever built on the meta device (no memory, no weights).
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import torch

pytest.importorskip("segment_anything")

from segment_anything import sam_model_registry  # noqa: E402
from segment_anything.modeling import ImageEncoderViT  # noqa: E402

from graspsim.policies.graspsam import (  # noqa: E402
    VARIANTS,
    AdaptedImageEncoder,
    build_graspsam,
    describe,
    is_graspsam_addition,
    load_graspsam_checkpoint,
    load_graspsam_weights,
    load_sam_weights,
    save_graspsam_checkpoint,
)
from graspsim.policies.graspsam.decoder import ADDED_MODULES  # noqa: E402


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).integers(0, 256, size=(2, 256, 256, 3), dtype=np.uint8)


def _check_output(out, b, s):
    assert out.mask_logits.shape == (b, 1, s, s)
    assert out.grasp_maps.shape == (b, 4, s, s)
    assert out.iou_pred.shape == (b, 1)
    assert torch.isfinite(out.grasp_maps).all() and torch.isfinite(out.mask_logits).all()
    assert (out.quality >= 0).all() and (out.width >= 0).all()


def _points(n):
    rng = np.random.default_rng(n)
    pts = rng.uniform(0, 255, size=(2, n, 2)).astype(np.float32)
    labels = np.ones((2, n), dtype=np.int64)
    if n >= 3:
        labels[:, 1] = 0  # negative
        labels[1, -1] = -1  # padding in the second prompt set
    return pts, labels


@pytest.mark.parametrize("n", [1, 3, 10])
def test_tiny_point_prompts(tiny, images, n):
    pts, labels = _points(n)
    with torch.no_grad():
        out = tiny(images, points=pts, point_labels=labels)
    _check_output(out, 2, tiny.output_size)
    assert tiny.output_size == 64 and tiny.image_size == 256


def test_tiny_box_mask_and_mixed_prompts(tiny, images):
    s = tiny.output_size
    boxes = np.array([[10, 20, 120, 140], [100, 90, 250, 200]], dtype=np.float32)
    masks = np.zeros((2, 1, 256, 256), dtype=bool)
    masks[0, 0, 30:90, 40:100] = True
    masks[1, 0, 120:200, 50:60] = True
    with torch.no_grad():
        emb = tiny.encode(images)
        _check_output(tiny.decode(emb, boxes=boxes), 2, s)
        _check_output(tiny.decode(emb, mask_prompts=masks), 2, s)
        prev = tiny.decode(emb, boxes=boxes)
        _check_output(tiny.decode(emb, mask_prompts=prev.mask_logits), 2, s)  # output-frame logits
        pts, labels = _points(3)
        _check_output(tiny.decode(emb, points=pts, point_labels=labels, boxes=boxes, mask_prompts=masks), 2, s)
        _check_output(tiny.decode(emb), 2, s)  # unprompted
    with pytest.raises(ValueError):
        tiny.decode(emb, mask_prompts=np.zeros((2, 1, 100, 100), dtype=bool))
    with pytest.raises(ValueError):
        tiny.decode(emb, points=pts, point_labels=labels[:, :2])


def test_encode_once_decode_twice_equals_forward(tiny, images):
    pts, labels = _points(3)
    boxes = np.array([[10, 20, 120, 140], [100, 90, 250, 200]], dtype=np.float32)
    with torch.no_grad():
        emb = tiny.encode(images)
        a = tiny.decode(emb, points=pts, point_labels=labels)
        b = tiny.decode(emb, boxes=boxes)
        fa = tiny(images, points=pts, point_labels=labels)
        fb = tiny(images, boxes=boxes)
    for x, y in ((a, fa), (b, fb)):
        torch.testing.assert_close(x.grasp_maps, y.grasp_maps)
        torch.testing.assert_close(x.mask_logits, y.mask_logits)
    assert not torch.allclose(a.mask_logits, b.mask_logits)  # the prompt matters


def test_one_image_many_prompts_broadcasts(tiny, images):
    pts = np.array([[[30.0, 40.0]], [[200.0, 100.0]], [[128.0, 128.0]]], dtype=np.float32)
    with torch.no_grad():
        emb = tiny.encode(images[:1])
        many = tiny.decode(emb, points=pts)
        one = tiny.decode(emb, points=pts[1:2])
    _check_output(many, 3, tiny.output_size)
    torch.testing.assert_close(many.grasp_maps[1:2], one.grasp_maps, rtol=1e-4, atol=1e-5)


def test_non_square_image_frames(tiny):
    img = np.random.default_rng(1).integers(0, 256, size=(1, 120, 200, 3), dtype=np.uint8)
    with torch.no_grad():
        emb = tiny.encode(img)
        assert emb.original_size == (120, 200) and emb.input_size == (154, 256)
        torch.testing.assert_close(emb.to_input_coords(torch.tensor([[199.5, 119.5]])), torch.tensor([[255.5, 153.5]]))
        out = tiny.decode(emb, points=[[[50.0, 60.0]]], mask_prompts=np.ones((1, 1, 120, 200), dtype=bool))
    _check_output(out, 1, tiny.output_size)
    assert tiny.postprocess(out.grasp_maps, emb).shape == (1, 4, 120, 200)


def test_tiny_parameter_count(tiny):
    info = describe(tiny)
    assert 2_000_000 <= info["total"] <= 8_000_000, info
    assert info["trainable"] == info["total"]


def test_backward_reaches_the_graspsam_additions(images):
    torch.manual_seed(1)
    model = build_graspsam("tiny").train()
    out = model(images[:1], points=[[[60.0, 70.0]]])
    (out.grasp_maps.square().mean() + out.mask_logits.square().mean()).backward()
    for name in ("hq_mlp", "grasp_mlps", "grasp_head", "compress_early", "compress_embedding", "grasp_refine"):
        grads = [p.grad for p in getattr(model.mask_decoder, name).parameters()]
        assert all(g is not None for g in grads) and any(g.abs().sum() > 0 for g in grads), name
    assert model.image_encoder.patch_embed.proj.weight.grad is not None  # tiny trains everything


def test_save_load_round_trip(tiny, images, tmp_path):
    path = save_graspsam_checkpoint(tiny, tmp_path / "tiny.pt", metadata={"epoch": 3, "note": "test"})
    model, meta = load_graspsam_checkpoint(path)
    assert meta == {"epoch": 3, "note": "test"} and model.variant == "tiny"
    pts, labels = _points(3)
    with torch.no_grad():
        a = tiny(images, points=pts, point_labels=labels)
        b = model(images, points=pts, point_labels=labels)
    assert torch.equal(a.grasp_maps, b.grasp_maps) and torch.equal(a.mask_logits, b.mask_logits)


def test_checkpoint_errors(tiny, tmp_path):
    fake_vit_b = {"format": "graspsam", "variant": "vit_b", "config": {"variant": "vit_b"}, "state_dict": {}}
    with pytest.raises(ValueError, match="vit_b.*tiny"):
        load_graspsam_weights(tiny, fake_vit_b)
    torch.save(fake_vit_b, tmp_path / "b.pt")
    with pytest.raises(ValueError, match="vit_b.*tiny"):
        load_graspsam_weights(tiny, tmp_path / "b.pt")
    # official SAM weights of another size
    official_b = {"image_encoder.patch_embed.proj.weight": torch.empty(768, 3, 16, 16, device="meta")}
    with pytest.raises(ValueError, match="vit_b.*tiny"):
        load_sam_weights(tiny, official_b)
    with pytest.raises(ValueError, match="official"):
        load_graspsam_checkpoint(official_b)
    # neither format
    torch.save({"weights": [1, 2, 3]}, tmp_path / "junk.pt")
    with pytest.raises(ValueError, match="neither"):
        load_graspsam_checkpoint(tmp_path / "junk.pt")
    (tmp_path / "text.pt").write_text("not a checkpoint")
    with pytest.raises(ValueError):
        load_graspsam_checkpoint(tmp_path / "text.pt")
    # missing / unexpected keys are named
    sd = {k: v for k, v in tiny.state_dict().items() if k != "mask_decoder.hq_token.weight"}
    sd["mask_decoder.bogus"] = torch.zeros(1)
    ck = {"format": "graspsam", "variant": "tiny", "config": {"variant": "tiny"}, "state_dict": sd}
    with pytest.raises(ValueError, match="hq_token.*bogus"):
        load_graspsam_weights(tiny, ck)
    report, _ = load_graspsam_weights(tiny, ck, strict=False)
    assert report.missing == ["mask_decoder.hq_token.weight"] and report.unexpected == ["mask_decoder.bogus"]


def _expected_additions(keys):
    return {k for k in keys if is_graspsam_addition(k)}


@pytest.mark.parametrize("name", ["vit_b", "vit_l", "vit_h"])
def test_official_sam_keys_map_key_for_key(name):
    with torch.device("meta"):
        model = build_graspsam(name)
        official = sam_model_registry[name]().state_dict()
    ours = model.state_dict()
    for k, v in official.items():
        assert k in ours, k
        assert ours[k].shape == v.shape, k
    extra = set(ours) - set(official)
    assert extra == _expected_additions(ours)
    # every kind of addition is present, and nothing else
    assert {k.split(".")[1] for k in extra} == {"adapters", *ADDED_MODULES}
    assert sum(k.startswith("image_encoder.adapters.") for k in extra) > 0
    assert model.image_size == 1024 and model.output_size == 256

    report = load_sam_weights(model, official)
    assert report.ok and set(report.skipped) == extra
    for n, p in model.named_parameters():
        assert p.requires_grad == is_graspsam_addition(n), n


@pytest.mark.parametrize("name", ["vit_b", "vit_t"])
def test_full_size_forward_shapes_on_meta(name):
    if name == "vit_t":
        pytest.importorskip("mobile_sam")
    with torch.device("meta"):
        model = build_graspsam(name)
    images = np.zeros((2, 480, 640, 3), dtype=np.uint8)
    with torch.no_grad():
        emb = model.encode(images)  # shapes only: meta tensors compute nothing
        assert emb.image_embedding.shape == (2, 256, 64, 64) and emb.input_size == (768, 1024)
        assert emb.early_feature.shape == ((2, 768, 64, 64) if name == "vit_b" else (2, 128, 128, 128))
        # (point prompts need boolean indexing, which meta tensors cannot do)
        out = model.decode(emb, boxes=[[0, 0, 100, 100], [10, 10, 200, 300]])
    assert out.mask_logits.shape == (2, 1, 256, 256) and out.grasp_maps.shape == (2, 4, 256, 256)


def test_build_with_checkpoint_freezes_sam_parts():
    spec = VARIANTS["vit_b"]
    assert spec.encoder["global_attn_indexes"] == (2, 5, 8, 11)
    with torch.device("meta"):
        official = sam_model_registry["vit_b"]().state_dict()
        model = build_graspsam("vit_b", sam_checkpoint=official)
    assert model.build_config == {"variant": "vit_b", "freeze_sam": True}
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {n for n, _ in model.named_parameters() if is_graspsam_addition(n)}
    with torch.device("meta"):
        wrong = sam_model_registry["vit_l"]().state_dict()
    with pytest.raises(ValueError, match="vit_l.*vit_b"):
        load_sam_weights(model, wrong)


def test_vit_t_mobilesam_keys_map_key_for_key():
    mobile_sam = pytest.importorskip("mobile_sam")
    with torch.device("meta"):
        model = build_graspsam("vit_t")
    # MobileSAM's TinyViT cannot be constructed on meta (it calls .item()); it is small
    official = mobile_sam.sam_model_registry["vit_t"]().state_dict()
    ours = model.state_dict()
    for k, v in official.items():
        assert k in ours, k
        assert ours[k].shape == v.shape, k
    extra = set(ours) - set(official)
    assert extra == _expected_additions(ours)
    assert any(".attn.qkv.lora_up." in k for k in extra)
    assert model.image_size == 1024 and model.output_size == 256
    report = load_sam_weights(model, {k: v.to("meta") for k, v in official.items()})
    assert report.ok and set(report.skipped) == extra
    for n, p in model.named_parameters():
        assert p.requires_grad == is_graspsam_addition(n), n
    model.train()
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and not any(m.training for m in bns)  # frozen BN statistics stay fixed
    assert model.mask_decoder.training


def test_vit_t_without_package_says_how_to_install(monkeypatch):
    import sys

    for name in [m for m in sys.modules if m == "mobile_sam" or m.startswith("mobile_sam.")] + ["mobile_sam"]:
        monkeypatch.setitem(sys.modules, name, None)  # makes `import mobile_sam...` fail
    monkeypatch.delitem(sys.modules, "graspsim.policies.graspsam.tinyvit_encoder", raising=False)
    with pytest.raises(ImportError, match=r"graspsim\[mobilesam\]"):
        with torch.device("meta"):
            build_graspsam("vit_t")


def test_untrained_adapter_leaves_sam_features_unchanged():
    kw = dict(
        img_size=64,
        patch_size=8,
        embed_dim=48,
        depth=4,
        num_heads=4,
        out_chans=32,
        use_rel_pos=True,
        window_size=4,
        global_attn_indexes=(1, 3),
        norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
    )
    torch.manual_seed(0)
    plain = ImageEncoderViT(**kw)
    adapted = AdaptedImageEncoder(adapter_tokens=8, adapter_rank=4, **kw)
    missing, unexpected = adapted.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and missing and all(k.startswith("adapters.") for k in missing)
    with torch.no_grad():
        # pretend SAM's relative position tables were trained (they start at zero)
        for blk in plain.blocks:
            blk.attn.rel_pos_h.normal_()
        adapted.load_state_dict(plain.state_dict(), strict=False)
        x = torch.randn(2, 3, 64, 64)
        emb, early = adapted(x)
        assert early.shape == (2, 48, 8, 8)
        torch.testing.assert_close(emb, plain(x), rtol=0, atol=0)
        adapted.adapters[0].up.weight.normal_()
        assert not torch.allclose(adapted(x)[0], plain(x))


def test_frozen_decoder_matches_the_eager_decoder_and_falls_back():
    from graspsim.policies.graspsam.build import build_graspsam
    from graspsim.policies.graspsam.frozen_decoder import FrozenDecoder

    torch.manual_seed(0)
    model = build_graspsam("tiny").eval()
    frozen = FrozenDecoder(model.mask_decoder)
    with torch.no_grad():
        emb = model.encode(np.random.default_rng(0).integers(0, 255, (1, 96, 128, 3), dtype=np.uint8))
        three = [[[40.0, 30.0], [50.0, 40.0], [20.0, 20.0]]]
        for prompt in ({"points": [[[40.0, 30.0]]]}, {"boxes": [[10.0, 10.0, 60.0, 50.0]]}, {"points": three}):
            ref = model.decode(emb, **prompt)
            out = model.decode(emb, mask_decoder=frozen, **prompt)
            torch.testing.assert_close(out.grasp_maps, ref.grasp_maps, atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(out.mask_logits, ref.mask_logits, atol=1e-5, rtol=1e-5)
    # one trace per input shape: a point (+ padding) and a box are two tokens, three points four
    assert frozen.failed is None and len(frozen._traced) == 2
    broken = FrozenDecoder(model.mask_decoder)
    broken._trace = lambda args: (setattr(broken, "failed", "no TorchScript"), None)[1]
    with torch.no_grad():
        out = model.decode(emb, mask_decoder=broken, points=[[[40.0, 30.0]]])
    torch.testing.assert_close(out.grasp_maps, model.decode(emb, points=[[[40.0, 30.0]]]).grasp_maps)
    assert broken.failed == "no TorchScript"

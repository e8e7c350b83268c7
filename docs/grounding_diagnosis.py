"""Diagnose GraspSAM's language path on the validation set (session 8, issue 17).

    python docs/grounding_diagnosis.py CHECKPOINT N_ITEMS

For the first N_ITEMS objects of data/val-rgbd with a training-phrasing phrase
that singles them out: the text pick rate (predicted mask IoU >= 0.5 with the
target's); for a model with a grounding map also how often the map's arg-max
cell (its centre pixel) lies on the target, and the pick rate when that pixel
is given to the model as a point prompt instead of the phrase.
"""
import sys, numpy as np, torch
from graspsim.datasets import open_dataset
from graspsim.policies.graspsam.build import load_graspsam_checkpoint
from graspsim.policies.graspsam.examples import examples_from
from graspsim.policies.graspsam.train import text_prompt
from graspsim.policies.graspsam.inference import predict
from graspsim.policies.prompting import text_prompt_arrays
from graspsim.metric import mask_iou
torch.set_num_threads(1)
ck, n = sys.argv[1], int(sys.argv[2])
model, _ = load_graspsam_checkpoint(ck); model.eval()
ds = open_dataset("sim", "data/val-rgbd")
ex = [e for e in examples_from(ds, ds.items()[:n], heights=True, facts=True) if len(e.grasps)]
rng = np.random.default_rng(0)
hits, picks_pt, picks_txt, cover = [], [], [], []
for i, e in enumerate(ex):
    ph = text_prompt(e, rng)
    if ph is None: continue
    if i < 12: print(repr(ph))
    with torch.no_grad():
        emb = model.encode(e.rgb[None], e.heights[None])
        p = predict(model, emb, text_prompt_arrays(ph), e.mask.shape, jaw_px=e.jaw_px)
        picks_txt.append(mask_iou(p.mask, e.mask) >= 0.5)
        if model.text_encoder.grounding:
            out = model.decode(emb, texts=[ph])
            g = out.grounding_logits[0]
            h = g.shape[0]
            # embedding cell -> original pixel (input is the image scaled to 256 on its long side, padded)
            H, W = e.mask.shape; s = max(H, W) / h
            r, c = divmod(int(g.argmax()), h)
            u, v = min(int((c + 0.5) * s), W - 1), min(int((r + 0.5) * s), H - 1)
            hits.append(bool(e.mask[v, u]))
            pp = predict(model, emb, {"points": np.array([[u, v]], np.float32), "labels": np.array([1]), "box": None, "mask": None}, e.mask.shape, jaw_px=e.jaw_px)
            picks_pt.append(mask_iou(pp.mask, e.mask) >= 0.5)
print(f"n={len(picks_txt)} text pick {np.mean(picks_txt):.3f}" + (f"; map argmax in target {np.mean(hits):.3f}; point-from-map pick {np.mean(picks_pt):.3f}" if hits else ""))

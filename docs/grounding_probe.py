"""Probe (session 8, issue 17): can a grounding head learn phrases from a frozen model's image embedding?

    python docs/grounding_probe.py CHECKPOINT N_TRAIN N_VAL EPOCHS     (ORACLE_COLOUR=1: "the <colour> object";
                                                                   LR=1e-3, BS=16: learning rate, batch;
                                                                   WORD_VECTORS=1: mean word vectors, no text encoder;
                                                                   NORM=1: standardised cell features)

Caches the image embedding of the first N_TRAIN objects of data/train-rgbd and
N_VAL of data/val-rgbd, plus each embedding cell's mean RGB and height, and
trains only a text encoder and a FiLM head (cell features modulated by the
phrase, two 3x3 convolutions to one logit per cell) with BCE + a cross-entropy
over cells toward the target's; prints per epoch how often the arg-max cell is
one of the target's (coverage at least half its best cell's).
"""
import os, sys, time, numpy as np, torch, torch.nn.functional as F
from graspsim.datasets import open_dataset
from graspsim.policies.graspsam.build import load_graspsam_checkpoint, build_graspsam
from graspsim.policies.graspsam.examples import examples_from
from graspsim.policies.graspsam.train import text_prompt as _tp
def text_prompt(e, rng):
    if os.environ.get("ORACLE_COLOUR"):
        me = next(f for f in e.facts if f.index == e.index)
        return f"the {me.colour} object" if me.colour else None
    return _tp(e, rng)
from graspsim.policies.graspsam.text_encoder import TextEncoder, tokenize, training_vocabulary
torch.set_num_threads(1); torch.manual_seed(0)
ck, ntrain, nval, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
model, _ = load_graspsam_checkpoint(ck); model.eval()
pe = model.prompt_encoder.get_dense_pe().detach()
def cache(folder, n):
    ds = open_dataset("sim", folder)
    ex = examples_from(ds, ds.items()[:n], heights=True, facts=True)
    embs, low, out, cur = {}, {}, [], None
    t = time.time()
    with torch.no_grad():
        for e in ex:
            if e.sample_id not in embs:
                embs[e.sample_id] = model.encode(e.rgb[None], e.heights[None]).image_embedding[0]
            m = torch.from_numpy(e.mask.astype(np.float32))[None, None]
            H, W = e.mask.shape; side = max(H, W)
            m = F.pad(m, (0, side - W, 0, side - H))
            h = pe.shape[-1]
            if e.sample_id not in low:
                rgb = torch.from_numpy(e.rgb.astype(np.float32) / 255).permute(2, 0, 1)[None]
                hh = torch.from_numpy(np.asarray(e.heights, np.float32))[None, None] * 10
                x = F.pad(torch.cat([rgb, hh], 1), (0, side - W, 0, side - H))
                low[e.sample_id] = F.adaptive_avg_pool2d(x, h)[0]
            out.append((e, torch.cat([embs[e.sample_id], low[e.sample_id]]), F.adaptive_avg_pool2d(m, h)[0, 0]))
    print(f"cached {len(out)} objects of {len(embs)} images from {folder} in {time.time()-t:.0f}s", flush=True)
    return out
train, val = cache("data/train-rgbd", ntrain), cache("data/val-rgbd", nval)
if os.environ.get("NORM"):  # standardise every cell feature channel over the training cells
    feats = torch.stack([t[1] for t in train])
    mu, sd = feats.mean(dim=(0, 2, 3), keepdim=True)[0], feats.std(dim=(0, 2, 3), keepdim=True)[0] + 1e-6
    train = [(e, (f - mu) / sd, m) for e, f, m in train]
    val = [(e, (f - mu) / sd, m) for e, f, m in val]
C = pe.shape[1]
class Head(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.te = TextEncoder(training_vocabulary(), C)
        self.cell = torch.nn.Sequential(torch.nn.Conv2d(2 * C + 4, C, 1), torch.nn.ReLU(), torch.nn.Conv2d(C, C, 1))
        self.film = torch.nn.Linear(C, 2 * C)
        self.out = torch.nn.Sequential(torch.nn.Conv2d(C, C, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(C, 1, 3, padding=1))
        self.words = torch.nn.Embedding(len(training_vocabulary()), C)
    def encode_texts(self, ph):
        if os.environ.get("WORD_VECTORS"):  # no text encoder: the mean of learned word vectors
            ids = tokenize(ph, training_vocabulary())
            v = self.words(ids) * (ids > 0).unsqueeze(-1)
            return (v.sum(1) / (ids > 0).sum(1, keepdim=True)).unsqueeze(1)
        return self.te.encode_texts(ph)
    def grounding_logits(self, tok, emb, pe):
        x = self.cell(torch.cat([emb, pe.expand(emb.shape[0], -1, -1, -1)], 1))
        a, b = self.film(tok.mean(1)).chunk(2, 1)
        x = torch.relu(x * (1 + a[:, :, None, None]) + b[:, :, None, None])
        return self.out(x)[:, 0]
te = Head()
opt = torch.optim.AdamW(te.parameters(), lr=float(os.environ.get("LR", "1e-3")), weight_decay=1e-4)
def evaluate(items, seed=0):
    rng = np.random.default_rng(seed); hits = []
    with torch.no_grad():
        for e, emb, m in items:
            ph = text_prompt(e, rng)
            if ph is None: continue
            g = te.grounding_logits(te.encode_texts([ph]), emb[None], pe)[0]
            mf = m.flatten()
            hits.append(float(mf[g.argmax()] >= 0.5 * float(mf.max()) and float(mf.max()) > 0))
    return np.mean(hits), len(hits)
rng = np.random.default_rng(1); BS = int(os.environ.get("BS", "16"))
for ep in range(epochs):
    order = rng.permutation(len(train)); losses = []
    for s in range(0, len(order), BS):
        b = [train[j] for j in order[s:s+BS]]
        phr = [text_prompt(e, rng) for e, _, _ in b]
        keep = [i for i, p in enumerate(phr) if p is not None]
        if not keep: continue
        emb = torch.stack([b[i][1] for i in keep]); tgt = torch.stack([b[i][2] for i in keep])
        g = te.grounding_logits(te.encode_texts([phr[i] for i in keep]), emb, pe)
        bce = F.binary_cross_entropy_with_logits(g, tgt)
        # cross-entropy over cells: the target's cells share the probability
        logp = F.log_softmax(g.flatten(1), 1)
        w = tgt.flatten(1) / tgt.flatten(1).sum(1, keepdim=True).clamp_min(1e-6)
        ce = -(w * logp).sum(1).mean()
        loss = bce + ce
        opt.zero_grad(); loss.backward(); opt.step(); losses.append(float(loss))
    acc, n = evaluate(val)
    tr, _ = evaluate(train[:500], 5)
    print(f"epoch {ep+1}: loss {np.mean(losses):.3f}; argmax in target: val {acc:.3f} (n={n}), train {tr:.3f}", flush=True)
torch.save(te.state_dict(), "runs/ground/probe_te.pt")

"""Validation of how to read the grounding map (session 9): the arg-max pixel against the deepest pixel of
the peak region (above 50/70/85 % of the peak probability), each decoded as a point prompt.

    python docs/grounding_readout.py     (the shipped checkpoint, data/val-rgbd, training phrasing)
"""
import numpy as np, torch, torch.nn.functional as F, cv2, sys
from graspsim.datasets import open_dataset
from graspsim.policies.graspsam.build import load_graspsam_checkpoint
from graspsim.policies.graspsam.examples import examples_from
from graspsim.policies.graspsam.train import text_prompt
from graspsim.policies.graspsam.inference import to_predictions
from graspsim.metric import mask_iou
torch.set_num_threads(1)
model,_=load_graspsam_checkpoint("policies/graspsam/checkpoints/graspsam_tiny_rgbd_sim.pt"); model.eval()
ds=open_dataset("sim","data/val-rgbd"); ex=[e for e in examples_from(ds, ds.items(), heights=True, facts=True) if len(e.grasps)]
rng=np.random.default_rng(0)
res={k:[[],[]] for k in ("argmax","region50","region70","region85")}
cid=None
with torch.no_grad():
  for e in ex:
    ph=text_prompt(e,rng)
    if ph is None: continue
    if e.sample_id!=cid: emb=model.encode(e.rgb[None], e.heights[None]); cid=e.sample_id
    lg=model.ground(emb,[ph])
    hi,wi=emb.input_size; H,W=e.mask.shape
    up=F.interpolate(lg[:,None],size=(emb.image_size,)*2,mode="bilinear",align_corners=False)[0,0,:hi,:wi]
    up=F.interpolate(up[None,None],size=(H,W),mode="bilinear",align_corners=False)[0,0].numpy()
    i=np.unravel_index(up.argmax(), up.shape)
    pts={"argmax":(i[1],i[0])}
    p=1/(1+np.exp(-up))
    for name,fr in (("region50",0.5),("region70",0.7),("region85",0.85)):
        m=(p>=fr*p.max()).astype(np.uint8)
        n,lab=cv2.connectedComponents(m)
        reg=lab==lab[i]
        # the region's pixel farthest from its border (inside it), via distance transform
        d=cv2.distanceTransform(reg.astype(np.uint8),cv2.DIST_L2,3)
        j=np.unravel_index(d.argmax(),d.shape); pts[name]=(j[1],j[0])
    for k,(u,v) in pts.items():
        out=model.decode(emb,points=np.array([[[u,v]]],np.float32),point_labels=np.ones((1,1),np.float32))
        pr=to_predictions(model,out,(H,W))[0]
        res[k][0].append(bool(e.mask[int(v),int(u)])); res[k][1].append(mask_iou(pr.mask,e.mask)>=0.5)
for k,(h,pk) in res.items(): print(k, "hit %.3f pick %.3f n=%d"%(np.mean(h),np.mean(pk),len(h)))

"""The Redmon & Angelova (2015) grasp-detection baselines (installed as
``graspsim.policies.redmon``; needs torch): direct regression, regression +
classification and MultiGrasp on one AlexNet-like backbone.

Modules: ``inputs`` (RGD image, crop window around a prompt, crop-frame maps
of rectangles), ``model`` (``RedmonNet``, target encodings, losses,
checkpoints), ``train`` (training and k-fold cross-validation,
``graspsim train redmon``), ``policy`` (``RedmonPolicy``:
``graspsim.policies.make("redmon-direct" | "redmon-classify" | "redmon-multigrasp")``).
"""

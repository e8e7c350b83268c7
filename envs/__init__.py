"""Gymnasium environments of graspsim (installed as ``graspsim.envs``)."""

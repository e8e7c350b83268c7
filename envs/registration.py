"""Registration of the graspsim environments with Gymnasium (run on ``import graspsim``)."""

from __future__ import annotations

ENV_IDS = ("graspsim/PromptedGrasp-v0", "graspsim/Declutter-v0", "graspsim/PromptedGraspImage-v0",
           "graspsim/PromptedGraspFlat-v0")


def register_envs() -> None:
    """Register the environments by entry-point string (their modules load lazily)."""
    from gymnasium.envs.registration import register, registry

    entries = {
        "graspsim/PromptedGrasp-v0": "graspsim.envs.prompted_grasp:PromptedGraspEnv",
        "graspsim/Declutter-v0": "graspsim.envs.declutter:DeclutterEnv",
        # RL-library-ready compositions (graspsim.envs.wrappers)
        "graspsim/PromptedGraspImage-v0": "graspsim.envs.wrappers:make_image_env",
        "graspsim/PromptedGraspFlat-v0": "graspsim.envs.wrappers:make_flat_env",
    }
    for env_id, entry_point in entries.items():
        if env_id not in registry:
            register(id=env_id, entry_point=entry_point)

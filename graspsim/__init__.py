"""graspsim: simulation-in-the-loop evaluation of prompt-driven top-down grasps.

``import graspsim`` registers the Gymnasium environments
``graspsim/PromptedGrasp-v0`` and ``graspsim/Declutter-v0``; it imports
neither torch nor pybullet.
"""

__version__ = "0.1.0"

from graspsim.envs.registration import register_envs as _register_envs

_register_envs()

"""Generating the next episode's scene ahead of time, in a background thread.

An environment reset without a seed or options (what Gymnasium's vector
environments do on autoreset, and Stable-Baselines3 after every episode)
continues the environment's random stream, so the scene the *next* such reset
will generate is already determined. :class:`ScenePrefetcher` generates it in a
second PyBullet world on a background thread while the current episode runs.
The next reset takes the result when it was asked for exactly that stream
state and configuration, and otherwise generates as usual.

Why it pays: PyBullet holds the GIL while it steps, so the thread gains nothing
while the environment is busy, but in a vector environment's worker the
environment spends part of every step waiting for the slowest copy, and
the next pile settles in that wait. Exactness: generation starts from
``World.reset()`` (``resetSimulation``) and draws only from the scene stream,
so a scene generated in the second world is bit-identical to one generated in
the environment's own (tested), and the environment rebuilds every episode
from the spec either way.
"""

from __future__ import annotations

import threading
from typing import Callable


class ScenePrefetcher:
    """One background generation at a time, in its own :class:`graspsim.sim.world.World`.

    ``generate(world, stream_state, config)`` is the environment's own generation
    from a copy of its stream, returning ``(spec, scene_rng_state)``.
    ``start(stream_state, config)`` begins generating the scene of a reset that
    will find the environment's ``np_random`` in ``stream_state``;
    ``take(stream_state, config)`` returns ``generate``'s result when the pending
    job was for exactly that, else None (a pending job is waited for and dropped;
    a job that raised gives None too, and the reset then generates, and raises,
    in the foreground).
    """

    def __init__(self, generate: Callable, solver_iterations: int):
        self.generate = generate
        self.solver_iterations = solver_iterations
        self._world = None
        self._thread: threading.Thread | None = None
        self._key = None
        self._result = None
        #: resets served from a prefetched scene
        self.hits = 0

    @property
    def pending(self) -> bool:
        return self._thread is not None

    def start(self, stream_state: dict, config) -> None:
        self._wait()
        self._key, self._result = (stream_state, config), None
        self._thread = threading.Thread(target=self._run, args=(stream_state, config), daemon=True,
                                        name="graspsim-scene-prefetch")
        self._thread.start()

    def take(self, stream_state: dict, config):
        if self._thread is None:
            return None
        self._wait()
        key, result = self._key, self._result
        self._key = self._result = None
        if result is None or key != (stream_state, config):
            return None
        self.hits += 1
        return result

    def close(self) -> None:
        self._wait()
        if self._world is not None:
            self._world.close()
            self._world = None

    def _wait(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self, stream_state: dict, config) -> None:
        from graspsim.sim.world import World

        try:
            if self._world is None:
                self._world = World(solver_iterations=self.solver_iterations)
            self._result = self.generate(self._world, stream_state, config)
        except Exception:  # noqa: BLE001 - see the class docstring
            self._result = None

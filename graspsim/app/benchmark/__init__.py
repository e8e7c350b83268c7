"""The benchmark harness: parallel and distributed episodes, statistics, reports, regression checks.

- :mod:`.run`: :class:`BenchmarkConfig` and :func:`run_benchmark` (``graspsim benchmark``);
- :mod:`.episode`: one episode as a task and its record;
- :mod:`.pool`: serial, local-process and Ray execution that survives crashed workers;
- :mod:`.store`: the results folder (lock, append, resume);
- :mod:`.summary`, :mod:`.stats`: aggregation, Wilson intervals, the drop test;
- :mod:`.report`: ``report.md``, figures and results tables;
- :mod:`.compare`: ``graspsim compare``.
"""

from .run import BenchmarkConfig, default_workers, run_benchmark

__all__ = ["BenchmarkConfig", "default_workers", "run_benchmark"]

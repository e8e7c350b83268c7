"""Run independent tasks on worker processes or a Ray cluster, surviving crashed workers.

``run_tasks(fn, tasks, workers, backend)`` calls ``fn(task)`` for every task
and yields a :class:`TaskResult` per task as it finishes (in completion
order; ``index`` is the task's position in ``tasks``). ``fn`` must be a
module-level function and tasks picklable, so that other processes can run
them. Backends:

- ``serial``: in this process, one task after another (no crash isolation);
- ``local`` (default): ``workers`` spawned processes. A worker that dies
  while running a task (a segfault in the physics engine, ``os._exit``, the
  OOM killer) or exceeds ``timeout_s`` is killed if needed and replaced; its
  task yields an error and the other tasks go on;
- ``ray``: Ray tasks (``pip install graspsim[ray]``), on the cluster at
  ``ray_address`` or on a local Ray instance started with ``workers`` CPUs
  (and shut down afterwards). Crashed and timed-out tasks yield errors.

A task's result must not depend on where it runs: workers keep caches
(environments, policies) but every task is a function of its own fields.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
import traceback
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any, Callable, Iterable, Iterator

BACKENDS = ("serial", "local", "ray")


@dataclass
class TaskResult:
    """The outcome of one task: ``value`` when it ran, ``error`` (text) when it did not."""

    index: int
    value: Any = None
    error: str | None = None


def check_pool_args(workers, backend: str, timeout_s) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 4096:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    if timeout_s is not None and not (isinstance(timeout_s, (int, float)) and timeout_s > 0):
        raise ValueError(f"timeout_s must be None or a positive number of seconds, got {timeout_s!r}")


def check_script_guard(backend: str, workers: int) -> None:
    """Raise ValueError, before anything runs, when worker processes would be
    spawned from a call at the top level of a script outside an
    ``if __name__ == "__main__":`` block: each spawned worker re-imports the
    script, which would start the run again inside every worker."""
    import ast
    import inspect
    import sys

    if backend != "local" or workers <= 1:
        return
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not path or not str(path).endswith(".py") or not os.path.isfile(path):
        return
    frame, line = inspect.currentframe(), None
    while frame is not None:
        if frame.f_globals is vars(main) and frame.f_code.co_name == "<module>":
            line = frame.f_lineno
            break
        frame = frame.f_back
    if line is None:
        return
    try:
        tree = ast.parse(open(path).read())
    except (OSError, SyntaxError):
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test) and "__name__" in ast.unparse(node.test) \
                and node.lineno <= line <= (node.end_lineno or node.lineno):
            return
    raise ValueError(
        f"{path}, line {line}: worker processes re-import this script, so a run started at its top level would "
        "start again in every worker; put the call under `if __name__ == \"__main__\":` (or use backend=\"serial\", "
        "or workers=1)")


def run_tasks(fn: Callable, tasks: Iterable, workers: int = 1, backend: str = "local",
              timeout_s: float | None = None, ray_address: str | None = None) -> Iterator[TaskResult]:
    """Yield one :class:`TaskResult` per task, as tasks finish (see the module docstring)."""
    check_pool_args(workers, backend, timeout_s)
    tasks = list(tasks)
    if backend == "serial":
        return _run_serial(fn, tasks)
    if backend == "ray":
        return _run_ray(fn, tasks, workers, timeout_s, ray_address)
    return _run_local(fn, tasks, workers, timeout_s)


def _error_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-8)).strip()


def _run_serial(fn, tasks) -> Iterator[TaskResult]:
    for i, task in enumerate(tasks):
        try:
            value = fn(task)
        except Exception as exc:  # an episode's exception is its result, not the run's end
            yield TaskResult(i, error=_error_text(exc))
        else:
            yield TaskResult(i, value=value)


# -- local process pool ---------------------------------------------------------------

def _worker_main(conn, fn) -> None:
    # the parent handles Ctrl-C; a worker must not die of it mid-task
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if os.environ.get("GRASPSIM_QUIET") == "1":
        from graspsim.plugins import import_pybullet_quietly

        import_pybullet_quietly()
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        index, task = message
        try:
            reply = (index, True, fn(task))
        except Exception as exc:
            reply = (index, False, _error_text(exc))
        conn.send(reply)


class _Worker:
    def __init__(self, ctx, fn):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, fn), daemon=True)
        self.process.start()
        child.close()
        self.index: int | None = None
        self.started = 0.0

    def submit(self, index: int, task) -> None:
        self.index, self.started = index, time.monotonic()
        self.conn.send((index, task))

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        else:
            try:
                self.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


def _death_text(process) -> str:
    code = process.exitcode
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"worker process died of {name} while running this task"
    return f"worker process exited (code {code}) while running this task"


def _run_local(fn, tasks, workers, timeout_s) -> Iterator[TaskResult]:
    ctx = mp.get_context("spawn")
    queue = deque(enumerate(tasks))
    pool = [_Worker(ctx, fn) for _ in range(min(workers, len(tasks)))]
    try:
        while queue or any(w.index is not None for w in pool):
            for w in pool:
                if w.index is None and queue:
                    w.submit(*queue.popleft())
            busy = [w for w in pool if w.index is not None]
            wait_s = None
            if timeout_s is not None:
                wait_s = max(0.0, min(w.started + timeout_s for w in busy) - time.monotonic())
            ready = set(wait([x for w in busy for x in (w.conn, w.process.sentinel)], timeout=wait_s))
            for k, w in enumerate(pool):
                if w.index is None:
                    continue
                index = w.index
                if w.conn in ready:
                    try:
                        _, ok, payload = w.conn.recv()
                    except (EOFError, OSError):
                        ready.add(w.process.sentinel)
                    else:
                        w.index = None
                        yield TaskResult(index, value=payload) if ok else TaskResult(index, error=payload)
                        continue
                timed_out = timeout_s is not None and time.monotonic() - w.started >= timeout_s
                if w.process.sentinel in ready or timed_out:
                    w.process.join(timeout=1 if not timed_out else 0)
                    text = f"timed out after {timeout_s:g} s; worker killed" if timed_out and w.process.is_alive() else None
                    w.stop(kill=True)
                    pool[k] = _Worker(ctx, fn)
                    yield TaskResult(index, error=text or _death_text(w.process))
    finally:
        for w in pool:
            w.stop(kill=w.index is not None)


# -- Ray ------------------------------------------------------------------------------

def _ray_call(fn, task):
    return fn(task)


def _run_ray(fn, tasks, workers, timeout_s, ray_address) -> Iterator[TaskResult]:
    try:
        import ray
    except ImportError:
        raise ValueError("backend 'ray' needs Ray: pip install 'graspsim[ray]'") from None
    started_here = False
    if not ray.is_initialized():
        kwargs = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
        if ray_address:
            ray.init(address=ray_address, **kwargs)
        else:
            # a private local instance: never join a cluster by accident through RAY_ADDRESS
            os.environ.pop("RAY_ADDRESS", None)
            ray.init(num_cpus=workers, **kwargs)
        started_here = True
    remote = ray.remote(num_cpus=1, max_retries=0)(_ray_call)
    fn_ref = ray.put(fn)
    queue = deque(enumerate(tasks))
    in_flight: dict = {}
    try:
        while queue or in_flight:
            while queue and len(in_flight) < workers:
                index, task = queue.popleft()
                in_flight[remote.remote(fn_ref, task)] = (index, time.monotonic())
            wait_s = None
            if timeout_s is not None:
                wait_s = max(0.0, min(t for _, t in in_flight.values()) + timeout_s - time.monotonic())
            done, _ = ray.wait(list(in_flight), num_returns=1, timeout=wait_s)
            for ref in done:
                index, _ = in_flight.pop(ref)
                try:
                    yield TaskResult(index, value=ray.get(ref))
                except ray.exceptions.RayTaskError as exc:
                    yield TaskResult(index, error=str(exc.cause if exc.cause is not None else exc))
                except ray.exceptions.RayError as exc:
                    yield TaskResult(index, error=f"{type(exc).__name__}: {exc}")
            if timeout_s is not None:
                now = time.monotonic()
                for ref, (index, t0) in list(in_flight.items()):
                    if now - t0 >= timeout_s:
                        ray.cancel(ref, force=True)
                        in_flight.pop(ref)
                        yield TaskResult(index, error=f"timed out after {timeout_s:g} s; Ray task cancelled")
    finally:
        for ref in in_flight:
            ray.cancel(ref, force=True)
        if started_here:
            ray.shutdown()

"""One registry style for everything a user can plug in: policies, object sets,
data-set loaders, grippers and per-grasp metrics.

A :class:`Registry` maps names to factories: ``register(name, factory)`` adds
one, ``make(name, **kwargs)`` calls it, ``available()`` lists the names. Any
registry also accepts ``"package.module:factory"`` (an importable module) or
``"path/to/file.py:factory"`` (a Python file) in place of a name, which is
how a user's own piece reaches worker processes without touching the
package. Modules in the current folder are importable too.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any, Callable


def load_attribute(spec: str, kind: str) -> Any:
    """The attribute ``name`` of ``"module:name"`` or ``"file.py:name"``.

    Raises ValueError naming the ``kind`` (e.g. "policy"), the spec and the
    cause (the module's own error line when importing it fails)."""
    module_name, sep, attribute = str(spec).rpartition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"{kind} {spec!r}: expected 'package.module:name' or 'file.py:name'")
    try:
        if module_name.endswith(".py"):
            path = Path(module_name).expanduser().resolve()
            if not path.is_file():
                raise ValueError(f"{kind} {spec!r}: file {str(path)!r} does not exist")
            key = f"graspsim_user_{abs(hash(str(path)))}"
            module = sys.modules.get(key)
            if module is None:
                loader_spec = importlib.util.spec_from_file_location(key, path)
                module = importlib.util.module_from_spec(loader_spec)
                sys.modules[key] = module
                try:
                    loader_spec.loader.exec_module(module)
                except BaseException:
                    sys.modules.pop(key, None)
                    raise
        else:
            if os.getcwd() not in sys.path and "" not in sys.path:
                sys.path.append(os.getcwd())  # a user's module in the current folder
            module = importlib.import_module(module_name)
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - any import-time error is the user's module's
        where = _innermost_frame(exc)
        raise ValueError(f"{kind} {spec!r}: cannot import {module_name!r}: {type(exc).__name__}: {exc}"
                         + (f" ({where})" if where else "")) from None
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ValueError(f"{kind} {spec!r}: module {module_name!r} has no attribute {attribute!r}") from None


def _innermost_frame(exc: BaseException) -> str:
    """``file, line N`` of the innermost traceback frame outside Python's import machinery."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "importlib" not in f.filename
              and not f.filename.endswith("plugins.py")]
    return f"{frames[-1].filename}, line {frames[-1].lineno}" if frames else ""


def import_pybullet_quietly() -> None:
    """Import pybullet with its build-time banner (written to stderr) silenced.

    ``graspsim ... --quiet`` calls it, and sets ``GRASPSIM_QUIET=1`` so that
    worker processes do the same."""
    if "pybullet" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import pybullet  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class Registry:
    """Named factories of one kind of plug-in (see the module docstring)."""

    def __init__(self, kind: str):
        self.kind = kind
        self._factories: dict[str, Callable[..., Any]] = {}

    def register(self, name: str, factory: Callable[..., Any]) -> None:
        """Register ``factory`` under ``name`` (replacing an earlier one)."""
        if not (isinstance(name, str) and name) or ":" in name:
            raise ValueError(f"{self.kind} name must be a non-empty string without ':', got {name!r}")
        if not callable(factory):
            raise ValueError(f"{self.kind} {name!r}: factory must be callable, got {type(factory).__name__}")
        self._factories[name] = factory

    def unregister(self, name: str) -> None:
        """Remove ``name`` (ValueError when it is not registered)."""
        if name not in self._factories:
            raise ValueError(f"{self.kind} {name!r} is not registered")
        del self._factories[name]

    def available(self) -> tuple[str, ...]:
        """The registered names, sorted."""
        return tuple(sorted(self._factories))

    def __iter__(self):
        """The registered names, in registration order."""
        return iter(tuple(self._factories))

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    def factory(self, name: str) -> Callable[..., Any]:
        """The factory of ``name`` (registered, or ``module:factory`` / ``file.py:factory``)."""
        if isinstance(name, str) and name in self._factories:
            return self._factories[name]
        if isinstance(name, str) and ":" in name:
            value = load_attribute(name, self.kind)
            if not callable(value):
                raise ValueError(f"{self.kind} {name!r} is not callable")
            return value
        raise ValueError(f"unknown {self.kind} {name!r}; available: {', '.join(self.available())} "
                         "(or module:factory, file.py:factory)")

    def make(self, name: str, *args, **kwargs) -> Any:
        """Build the ``name`` plug-in: its factory called with the arguments."""
        return self.factory(name)(*args, **kwargs)

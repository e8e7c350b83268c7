"""The results folder of a benchmark: episode lines written as they arrive, a lock, resume.

Layout: ``config.json`` (what was asked), ``episodes.jsonl`` (one record per
line, appended and flushed as each episode finishes), ``summary.json`` and
``report.md`` (rewritten atomically), ``figures/``. A lock file
(``.lock``, holding the writer's host and process id) keeps two runs from
writing into one folder; a lock left by a process that no longer exists is
taken over. A line cut short by an interruption is dropped on resume. When
one key appears more than once (an error, then a successful retry), the
last line wins.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import numpy as np


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value, **kwargs) -> str:
    return json.dumps(value, default=_jsonable, **kwargs)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``."""
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(text)
    tmp.replace(path)


def write_json_atomic(path: Path, value) -> None:
    write_text_atomic(path, dumps(value, indent=2) + "\n")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_records(path: Path) -> dict[str, dict]:
    """Records of an ``episodes.jsonl`` by key (the last line of a key wins); a
    final line without its newline (an interrupted write) is ignored."""
    records: dict[str, dict] = {}
    if not path.is_file():
        return records
    text = path.read_text()
    lines = text.split("\n")
    for number, line in enumerate(lines[:-1], 1):  # the part after the last newline is incomplete
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not a JSON record ({exc})") from None
        records[record["key"]] = record
    return records


class ResultsStore:
    """Owns one results folder for the duration of a run (use as a context manager)."""

    def __init__(self, out, config: dict, resume: bool = False):
        self.out = Path(out)
        self.config = config
        self.resume = resume
        self.records: dict[str, dict] = {}
        self._file = None
        self._locked = False

    def __enter__(self) -> "ResultsStore":
        self.out.mkdir(parents=True, exist_ok=True)
        self._lock()
        try:
            self._open()
        except BaseException:
            self._unlock()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self._file is not None:
            self._file.close()
        self._unlock()

    def _lock(self) -> None:
        lock = self.out / ".lock"
        me = {"host": socket.gethostname(), "pid": os.getpid()}
        for _ in range(2):
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                try:
                    owner = json.loads(lock.read_text() or "{}")
                except (OSError, json.JSONDecodeError):
                    owner = {}
                stale = owner.get("host") == me["host"] and isinstance(owner.get("pid"), int) and not _pid_alive(owner["pid"])
                if not stale:
                    raise ValueError(f"output folder {str(self.out)!r} is in use by another run "
                                     f"(host {owner.get('host')!r}, pid {owner.get('pid')!r}); choose another --out") from None
                lock.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w") as f:
                json.dump(me, f)
            self._locked = True
            return
        raise ValueError(f"could not lock output folder {str(self.out)!r}")

    def _unlock(self) -> None:
        if self._locked:
            (self.out / ".lock").unlink(missing_ok=True)
            self._locked = False

    def _open(self) -> None:
        episodes = self.out / "episodes.jsonl"
        config_file = self.out / "config.json"
        if episodes.exists() or config_file.exists():
            if not self.resume:
                raise ValueError(f"output folder {str(self.out)!r} already holds results; "
                                 "pass --resume to complete it, or choose another --out")
            old = json.loads(config_file.read_text()) if config_file.exists() else {}
            changed = sorted(k for k in set(old) | set(self.config) if old.get(k) != self.config.get(k))
            if changed:
                raise ValueError(f"cannot resume {str(self.out)!r}: its run had other settings ({', '.join(changed)}); "
                                 f"was {', '.join(f'{k}={old.get(k)!r}' for k in changed)}")
            self.records = read_records(episodes)
            self._truncate_partial_line(episodes)
        write_json_atomic(config_file, self.config)
        self._file = open(episodes, "a")

    @staticmethod
    def _truncate_partial_line(path: Path) -> None:
        if not path.is_file():
            return
        data = path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end != len(data):
            with open(path, "r+b") as f:
                f.truncate(end)

    def done(self) -> set[str]:
        """Keys of episodes that finished without an error (resume skips them)."""
        return {k for k, r in self.records.items() if r.get("error") is None}

    def append(self, record: dict) -> None:
        self._file.write(dumps(record) + "\n")
        self._file.flush()
        self.records[record["key"]] = record

    def write_json(self, name: str, value) -> None:
        write_json_atomic(self.out / name, value)

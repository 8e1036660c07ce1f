"""Start and stop the local processes of a dev cluster, and never leave one behind.

Every process gets its own session (so a terminal's Ctrl-C reaches only us), a log file
and a pid file under the state directory; ``stop`` and ``stop_all`` read those files, so
``kuorum dev down`` in another shell stops what ``kuorum dev up`` started. When
``tie_to_parent`` is set (tests), the kernel also kills the child if we die, even by
SIGKILL (``PR_SET_PDEATHSIG``), so an interrupted test run leaves nothing running.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PR_SET_PDEATHSIG = 1
STOP_TIMEOUT = 20.0
"""Seconds between SIGTERM and SIGKILL, as envtest does."""


@dataclass(frozen=True)
class Record:
    """What a pid file holds: enough to recognise our process and to order shutdown."""

    name: str
    pid: int
    executable: str
    started: float


class Supervisor:
    """Processes of one state directory: ``logs/NAME.log`` and ``pids/NAME.json``."""

    def __init__(self, state_dir: Path, *, tie_to_parent: bool = False) -> None:
        self.state_dir = state_dir
        self.tie_to_parent = tie_to_parent
        self.logs = state_dir / "logs"
        self.pids = state_dir / "pids"

    def start(
        self, name: str, argv: Sequence[str], *, env: Mapping[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` as process ``name`` (stopping a stale one of that name first)."""
        self.stop(name)
        self.logs.mkdir(parents=True, exist_ok=True)
        self.pids.mkdir(parents=True, exist_ok=True)
        log = (self.logs / f"{name}.log").open("ab")
        try:
            process = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                start_new_session=True,
                preexec_fn=_die_with_parent if self.tie_to_parent else None,
            )
        finally:
            log.close()
        record = Record(name, process.pid, str(argv[0]), time.time())
        (self.pids / f"{name}.json").write_text(json.dumps(record.__dict__))
        return process

    def log_path(self, name: str) -> Path:
        """Return the log file of process ``name``."""
        return self.logs / f"{name}.log"

    def records(self) -> list[Record]:
        """Return the records of every process started here, oldest first."""
        if not self.pids.is_dir():
            return []
        records = [Record(**json.loads(path.read_text())) for path in self.pids.glob("*.json")]
        return sorted(records, key=lambda record: record.started)

    def running(self, name: str) -> bool:
        """Tell whether process ``name`` is alive and still ours."""
        path = self.pids / f"{name}.json"
        return path.exists() and _alive(Record(**json.loads(path.read_text())))

    def stop(self, name: str, *, timeout: float = STOP_TIMEOUT, kill: bool = False) -> bool:
        """Stop process ``name`` (SIGTERM, then SIGKILL; ``kill`` sends SIGKILL at once)."""
        path = self.pids / f"{name}.json"
        if not path.exists():
            return False
        record = Record(**json.loads(path.read_text()))
        stopped = _terminate(record, timeout=timeout, kill=kill)
        path.unlink(missing_ok=True)
        return stopped

    def stop_all(self, *, timeout: float = STOP_TIMEOUT) -> list[str]:
        """Stop every process, newest first (components before the apiserver and etcd)."""
        return [
            record.name
            for record in reversed(self.records())
            if self.stop(record.name, timeout=timeout)
        ]


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(
    check: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    interval: float = 0.1,
    log: Path | None = None,
) -> None:
    """Poll ``check`` until it is true; on timeout raise with the tail of ``log``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    tail = ""
    if log is not None and log.exists():
        tail = (
            "\n--- last lines of "
            + str(log)
            + " ---\n"
            + "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        )
    raise TimeoutError(f"{what} not ready after {timeout:.0f} s{tail}")


def _alive(record: Record) -> bool:
    """A pid is ours only while it runs the executable we started (pids get reused)."""
    try:
        cmdline = Path(f"/proc/{record.pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{record.pid}/stat").read_text()
    except OSError:
        return False
    zombie = stat.rsplit(")", 1)[-1].split()[0] == "Z"
    return not zombie and cmdline.split(b"\0", 1)[0].decode(errors="replace") == record.executable


def _terminate(record: Record, *, timeout: float, kill: bool) -> bool:
    if not _alive(record):
        return False
    _signal_group(record.pid, signal.SIGKILL if kill else signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(record) and time.monotonic() < deadline:
        _reap(record.pid)
        time.sleep(0.05)
    if _alive(record):
        _signal_group(record.pid, signal.SIGKILL)
        while _alive(record):
            _reap(record.pid)
            time.sleep(0.05)
    _reap(record.pid)
    return True


def _signal_group(pid: int, signum: int) -> None:
    """Signal the process group (our children run in their own session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)


def _reap(pid: int) -> None:
    """Collect the exit status if the process is our child, so it is not left a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _die_with_parent() -> None:
    """In the child before exec: ask the kernel for SIGKILL when the parent dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

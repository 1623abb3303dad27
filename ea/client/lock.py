"""One EA per device: an exclusive lock beside the state file while a client runs.

Two EAs with the same device id (two charts, two processes) would each execute every command
the server delivers, and overwrite each other's state file: doubles. The second one refuses
to start instead. The lock is the operating system's (``flock`` on POSIX, ``msvcrt.locking``
on Windows), so a crashed EA never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import IO


class AlreadyRunning(RuntimeError):
    """Another EA holds the lock of this state file (the same device)."""


class InstanceLock:
    """``acquire()`` or :class:`AlreadyRunning`; ``release()`` when the EA stops."""

    def __init__(self, state_path: Path) -> None:
        self.path = state_path.with_name(state_path.name + ".lock")
        self._handle: IO[bytes] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+b")
        try:
            _lock(handle)
        except OSError:
            handle.close()
            msg = (
                f"another EA is already running with {self.path.with_suffix('')} (the same "
                "device id on two charts or in two processes): stop it first"
            )
            raise AlreadyRunning(msg) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n".encode())
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                _unlock(self._handle)
            self._handle.close()
            self._handle = None


if sys.platform == "win32":  # pragma: no cover - the MT5 Python EA runs on Windows
    import msvcrt

    def _lock(handle: IO[bytes]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)

    def _unlock(handle: IO[bytes]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

"""File locks between server processes: fcntl locks, which the kernel frees when the process
holding one ends, however it ends (so a crashed worker never blocks the others). Used by the
search writer and rebuilds, and by plugins' background workers."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path


class FileLock:
    """An exclusive fcntl lock on a file, held by one process at a time and freed by the
    kernel when that process ends, however it ends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._thread_lock = threading.Lock()  # fcntl locks are per process, not per thread

    def acquire(self, blocking: bool = False) -> bool:
        if not self._thread_lock.acquire(blocking=blocking):
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except OSError:
            os.close(fd)
            self._thread_lock.release()
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
            self._thread_lock.release()

    def __enter__(self) -> FileLock:
        self.acquire(blocking=True)
        return self

    def __exit__(self, *exc) -> None:
        self.release()

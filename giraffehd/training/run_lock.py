"""One training process per run folder: an advisory lock on ``<run_dir>/.lock``, held for the whole run.

The lock is ``flock`` on an open file, so the operating system releases it whenever the holder ends,
however it ends (a normal exit, an error, SIGKILL, a crashed machine's reboot): a lock file left by a
killed run holds no lock, and the next run simply takes it over. The file records who holds it (process
id, host, start time) so that a refused second run can say which process to wait for.
"""

import fcntl
import json
import os
import socket
import time
from pathlib import Path


class RunFolderBusy(ValueError):
    """The run folder is being trained by another process; the message is one line."""


class RunLock:
    """``with RunLock(run_dir):`` holds the run folder for this process (created if missing)."""

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / ".lock"
        self._file = None

    def acquire(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 (held open for the life of the lock)
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = _describe(handle.read())
            handle.close()
            raise RunFolderBusy(
                f"run folder {self.path.parent} is in use by another giraffehd-train ({holder}): wait for it to "
                f"finish or stop it, or choose another run_dir"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}))
        handle.flush()
        self._file = handle
        return self

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _describe(text: str) -> str:
    try:
        holder = json.loads(text)
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(holder["started"])))
        return f"process {int(holder['pid'])} on {holder['host']}, started {started}"
    except (ValueError, KeyError, TypeError):
        return "a process that did not say who it is"

"""SIGTERM and Ctrl-C (SIGINT) stop training cleanly: the step in progress finishes, a checkpoint of that
step is written, and the command exits non-zero with one line.

SIGTERM is what ``kill``, container stops and job schedulers send; without this, Lightning notes it and
training ends as if it had finished, and Ctrl-C ends it without a checkpoint. A second Ctrl-C stops at
once (Python's KeyboardInterrupt), for when the current step hangs.
"""

import signal
import sys

import lightning

HANDLED = (signal.SIGTERM, signal.SIGINT)


class TrainingStopped(RuntimeError):
    """Training was stopped by a signal after saving; ``signum`` gives the exit status (128 + signum)."""

    def __init__(self, signum: int, message: str) -> None:
        super().__init__(message)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        """The shell's status for a process ended by that signal."""
        return 128 + self.signum


class StopOnSignal(lightning.Callback):
    """Turns SIGTERM and SIGINT into ``trainer.should_stop`` at the end of the current step."""

    def __init__(self) -> None:
        self.received: int | None = None  # the first signal received
        self._previous: dict[int, object] = {}

    def on_train_start(self, trainer, pl_module) -> None:
        # After Lightning's own handlers are in place (it installs one for SIGTERM when fit starts).
        for signum in HANDLED:
            self._previous[signum] = signal.getsignal(signum)
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame) -> None:
        if self.received is not None:
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            return
        self.received = signum
        name = signal.Signals(signum).name
        print(
            f"giraffehd-train: {name} received: stopping after this step and saving a checkpoint"
            + (" (Ctrl-C again to stop at once, without saving)" if signum == signal.SIGINT else ""),
            file=sys.stderr,
            flush=True,
        )

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.received is not None:
            trainer.should_stop = True

    def on_train_end(self, trainer, pl_module) -> None:
        self.restore()

    def on_exception(self, trainer, pl_module, exception) -> None:
        self.restore()

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

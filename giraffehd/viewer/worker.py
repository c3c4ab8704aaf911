"""Renders off the request path: the page's knobs post views, one thread renders them.

The newest posted view always wins: a view posted while another waits replaces it (the waiting one is
cancelled, never rendered), so a fast drag renders only the latest pose whenever the renderer frees
up. The render in progress finishes and is shown; it is at most one frame behind. Results reach
``publish`` in the order they were posted, on the worker thread.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

View = TypeVar("View")
Picture = TypeVar("Picture")


@dataclass
class WorkerStats:
    posted: int = 0  # views posted
    rendered: int = 0  # views rendered (then published)
    cancelled: int = 0  # views replaced by a newer one before their render started
    failed: int = 0  # renders or publishes that raised (reported through ``on_error``)
    seconds: float = 0.0  # time spent rendering the rendered views


class RenderWorker(Generic[View, Picture]):
    """One daemon thread running ``render(view)`` for the newest posted view and passing the result to
    ``publish(number, view, picture)``; ``number`` counts posts from 1."""

    def __init__(
        self,
        render: Callable[[View], Picture],
        publish: Callable[[int, View, Picture], None],
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self._render, self._publish, self._on_error = render, publish, on_error
        self._condition = threading.Condition()
        self._pending: tuple[int, View] | None = None
        self._busy = False
        self._stopped = False
        self.stats = WorkerStats()
        self._thread = threading.Thread(target=self._run, name="giraffehd-view-render", daemon=True)
        self._thread.start()

    def post(self, view: View) -> int:
        """Queue ``view`` for rendering, replacing any view still waiting; returns its number."""
        with self._condition:
            self.stats.posted += 1
            if self._pending is not None:
                self.stats.cancelled += 1
            self._pending = (self.stats.posted, view)
            self._condition.notify()
            return self.stats.posted

    @property
    def has_pending(self) -> bool:
        """Whether a posted view waits for its render."""
        with self._condition:
            return self._pending is not None

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing waits and nothing renders; False when ``timeout`` seconds pass first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._condition:
            while self._pending is not None or self._busy:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._condition.wait(remaining)
            return True

    def stop(self) -> None:
        with self._condition:
            self._stopped = True
            self._condition.notify_all()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            with self._condition:
                while self._pending is None and not self._stopped:
                    self._condition.wait()
                if self._stopped:
                    return
                number, view = self._pending
                self._pending = None
                self._busy = True
            start = time.perf_counter()
            try:
                picture = self._render(view)
                self.stats.seconds += time.perf_counter() - start
                self.stats.rendered += 1
                self._publish(number, view, picture)
            except Exception as error:  # a failed frame must not end the viewer: report it and go on
                self.stats.failed += 1
                if self._on_error is not None:
                    self._on_error(error)
            finally:
                with self._condition:
                    self._busy = False
                    self._condition.notify_all()

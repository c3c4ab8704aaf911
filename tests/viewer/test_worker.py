"""The render worker: the newest posted view wins, waiting views are cancelled, failures are reported."""

import threading

from giraffehd.viewer.worker import RenderWorker


def test_views_posted_while_rendering_collapse_to_the_newest():
    gate, started = threading.Event(), threading.Event()
    rendered, published = [], []

    def render(view):
        started.set()
        if view == 0:
            gate.wait(10)  # hold the first render while more views arrive
        rendered.append(view)
        return view * 10

    worker = RenderWorker(render, lambda number, view, picture: published.append((number, view, picture)))
    worker.post(0)
    assert started.wait(10)
    for view in (1, 2, 3):  # 1 and 2 are replaced before their render starts
        worker.post(view)
    gate.set()
    assert worker.wait_idle(10.0)
    assert rendered == [0, 3] and published == [(1, 0, 0), (4, 3, 30)]
    assert (worker.stats.posted, worker.stats.rendered, worker.stats.cancelled) == (4, 2, 2)
    worker.stop()


def test_a_failed_render_is_reported_and_the_worker_goes_on():
    errors, published = [], []

    def render(view):
        if view == "bad":
            raise ValueError("broken view")
        return view

    worker = RenderWorker(render, lambda n, v, p: published.append(p), errors.append)
    worker.post("bad")
    assert worker.wait_idle(10.0)
    worker.post("good")
    assert worker.wait_idle(10.0)
    assert [str(e) for e in errors] == ["broken view"] and published == ["good"] and worker.stats.failed == 1
    worker.stop()

"""OpenMP's wait policy, chosen before torch starts its thread pool.

PyTorch's CPU kernels run on GNU OpenMP, whose idle threads by default spin for a while after each
parallel region before they sleep. The generator runs many small operations, so on a machine where any
other process competes for the cores, the spinning threads take turns with that process and every
operation waits for a thread that has been descheduled: the whole run slows several-fold, not by the
fair share. Passive waiting (threads sleep at once) keeps the fair share. libgomp reads its settings once,
when torch loads it, so :func:`prefer_passive_wait` must run before the first ``import torch``; the
package's ``__init__`` calls it, so the entry points and scripts that import giraffehd first get it. A
value the user set (``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT``) is kept, and ``GIRAFFEHD_OMP_DEFAULT=1``
keeps OpenMP's own default. docs/benchmarks.md compares the settings on an idle and a loaded machine.
"""

import os
import sys
from collections.abc import MutableMapping

POLICY = "PASSIVE"


def prefer_passive_wait(environ: MutableMapping[str, str] = os.environ, modules=sys.modules) -> bool:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` in ``environ`` unless the user chose otherwise or torch is already
    loaded (then it would have no effect). Returns whether it set it."""
    if environ.get("GIRAFFEHD_OMP_DEFAULT") == "1":
        return False
    if "OMP_WAIT_POLICY" in environ or "GOMP_SPINCOUNT" in environ:
        return False
    if "torch" in modules:
        return False
    environ["OMP_WAIT_POLICY"] = POLICY
    return True
